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

mod embedded;

pub use embedded::{Deployment, EmbeddedStack, ResourceEvent};

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
}

impl StackError {
    pub(crate) fn database(name: &str, source: dmsrs_database::DatabaseError) -> Self {
        StackError::Database { name: name.to_owned(), source: Box::new(source) }
    }

    pub(crate) fn secret(name: &str, source: dmsrs_secrets::SecretsError) -> Self {
        StackError::Secret { name: name.to_owned(), source: Box::new(source) }
    }

    pub(crate) fn dms(what: &str, source: dmsrs_tasks::DmsError) -> Self {
        StackError::Dms { what: what.to_owned(), source: Box::new(source) }
    }

    /// True when retrying later may work.
    pub fn is_retryable(&self) -> bool {
        match self {
            StackError::Database { source, .. } => source.is_retryable(),
            StackError::Secret { source, .. } => source.is_retryable(),
            StackError::Dms { source, .. } => source.is_retryable(),
            StackError::State(_) => false,
        }
    }
}
