//! # dmsrs-stack
//!
//! Deploys and destroys the seed's stack (seed-scenario.md section 1): two MariaDB sources,
//! their secrets, the Kinesis stream, the DMS endpoints and the four replication tasks, and
//! writes the stack outputs with the seed's names.
//!
//! [`EmbeddedStack`] deploys the embedded twins: private `mariadbd` servers and a secrets
//! file under the deployment's state folder, an in-memory stream and the in-process engine.
//! Deploying is idempotent: a second deploy finds the servers and secrets and reuses them;
//! task ARNs are derived from the stack name, so they stay the same across runs.
//!
//! `AwsStack` (feature `aws`) deploys the same stack on AWS or an AWS-compatible endpoint
//! (LocalStack, moto, kinesis-local), with every component selectable for hybrid setups
//! (`AwsStackOptions`): the VPC and IAM roles, the source databases (RDS, an external
//! MariaDB, or embedded servers), and DMS (AWS DMS or the embedded engine writing to Kinesis).
//! Both stacks write the outputs to `<state>/<stack>/outputs.json`.

mod embedded;

#[cfg(feature = "aws")]
pub mod aws;

pub use embedded::{CDC_DATABASE, Deployment, EmbeddedStack, FULL_LOAD_DATABASE, ResourceEvent};

#[cfg(feature = "aws")]
pub use aws::{
    AwsDeployment, AwsStack, AwsStackOptions, AwsStatus, DatabaseMode, DeployPhase, DmsMode,
    ExternalMariaDb, SourceEndpoint, Timeouts,
};

use thiserror::Error;

/// What a deploy or destroy step failed on.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StackError {
    /// A database could not be created, started or reached.
    #[error("database {name}: {source}")]
    Database {
        /// The database's logical name.
        name: String,
        /// Why.
        #[source]
        source: Box<dmsrs_database::DatabaseError>,
    },
    /// A secret could not be stored or read.
    #[error("secret {name}: {source}")]
    Secret {
        /// The secret's name.
        name: String,
        /// Why.
        #[source]
        source: Box<dmsrs_secrets::SecretsError>,
    },
    /// The replication service refused a resource.
    #[error("{what}: {source}")]
    Dms {
        /// The resource.
        what: String,
        /// Why.
        #[source]
        source: Box<dmsrs_tasks::DmsError>,
    },
    /// The state folder or the outputs file could not be used.
    #[error("{0}")]
    State(String),
    /// The VPC or an IAM role could not be created, found or deleted.
    #[cfg(feature = "aws")]
    #[error("{what}: {source}")]
    Network {
        /// The resource.
        what: String,
        /// Why.
        #[source]
        source: Box<dmsrs_network::NetworkError>,
    },
    /// The target stream could not be created, found, read or deleted.
    #[error("stream {name}: {source}")]
    Stream {
        /// The stream's name or ARN.
        name: String,
        /// Why.
        #[source]
        source: Box<dmsrs_streams::StreamError>,
    },
    /// Existing resources do not match what the stack needs (they cannot be reused safely).
    #[error("{0}")]
    Conflict(String),
    /// A deploy stopped on purpose after a phase (`AwsStackOptions::fail_after`, for tests
    /// of `destroy` after a failed deploy).
    #[error("deploy stopped on request after the {0} phase: run `scenario destroy` to clean up")]
    Injected(&'static str),
}

impl StackError {
    pub(crate) fn database(name: &str, source: dmsrs_database::DatabaseError) -> Self {
        StackError::Database {
            name: name.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn secret(name: &str, source: dmsrs_secrets::SecretsError) -> Self {
        StackError::Secret {
            name: name.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn dms(what: &str, source: dmsrs_tasks::DmsError) -> Self {
        StackError::Dms {
            what: what.to_owned(),
            source: Box::new(source),
        }
    }

    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub(crate) fn stream(name: &str, source: dmsrs_streams::StreamError) -> Self {
        StackError::Stream {
            name: name.to_owned(),
            source: Box::new(source),
        }
    }

    #[cfg(feature = "aws")]
    pub(crate) fn network(what: &str, source: dmsrs_network::NetworkError) -> Self {
        StackError::Network {
            what: what.to_owned(),
            source: Box::new(source),
        }
    }

    /// True when retrying later may work.
    pub fn is_retryable(&self) -> bool {
        match self {
            StackError::Database { source, .. } => source.is_retryable(),
            StackError::Secret { source, .. } => source.is_retryable(),
            StackError::Dms { source, .. } => source.is_retryable(),
            #[cfg(feature = "aws")]
            StackError::Network { source, .. } => source.is_retryable(),
            StackError::Stream { source, .. } => source.is_retryable(),
            StackError::State(_) | StackError::Conflict(_) | StackError::Injected(_) => false,
        }
    }

    /// True when the user must act (input, credentials, permissions, existing resources);
    /// false for service faults, timeouts and internal errors.
    pub fn is_user_error(&self) -> bool {
        match self {
            StackError::Database { source, .. } => source.is_user_error(),
            StackError::Secret { source, .. } => source.is_user_error(),
            StackError::Dms { source, .. } => source.is_user_error(),
            #[cfg(feature = "aws")]
            StackError::Network { source, .. } => source.is_user_error(),
            StackError::Stream { source, .. } => source.is_user_error(),
            StackError::State(_) | StackError::Conflict(_) => true,
            StackError::Injected(_) => false,
        }
    }
}

/// The seed's hand-made secret `{"host", "port" (a string), "username", "password",
/// "dbname"}`, in that key order (seed-scenario.md 1.6). Contains the password.
pub fn mariadb_access_secret(
    host: &str,
    port: u16,
    username: &str,
    password: &dmsrs_secrets::SecretString,
    dbname: &str,
) -> dmsrs_secrets::SecretString {
    let s = |v: &str| serde_json::Value::String(v.to_owned()).to_string();
    dmsrs_secrets::SecretString::new(format!(
        "{{\"host\":{},\"port\":{},\"username\":{},\"password\":{},\"dbname\":{}}}",
        s(host),
        s(&port.to_string()),
        s(username),
        s(password.expose()),
        s(dbname)
    ))
}
