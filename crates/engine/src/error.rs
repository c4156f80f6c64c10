//! The engine's error type. Control-plane errors mirror the DMS faults so callers match on
//! them the same way whether they talk to AWS DMS or to the embedded engine.

use thiserror::Error;

/// Result alias.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Bad task input: mappings, settings, endpoints (`InvalidParameterValue` on the API).
    #[error("{0}")]
    InvalidParameter(String),
    /// The source database refused or failed (connection, privileges, SQL).
    #[error("source database: {message}")]
    Source {
        /// What happened and what to do.
        message: String,
        /// True when retrying later may work (connection lost, server restarting).
        retryable: bool,
    },
    /// The source's binlog no longer holds the position the task needs.
    #[error(
        "the binlog position {position} is no longer on the source (purged): restart the task with reload-target to copy the tables again"
    )]
    BinlogPurged {
        /// The missing position.
        position: String,
    },
    /// The target stream failed.
    #[error("target stream: {0}")]
    Target(#[from] dmsrs_streams::StreamError),
    /// A secret could not be read or has the wrong shape.
    #[error("secret {secret_id}: {reason}")]
    Secret {
        /// The secret's ARN or name (never its value).
        secret_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A bug or an impossible state inside the engine.
    #[error("internal error: {0} (please report this)")]
    Internal(String),
}

impl EngineError {
    /// True when the same call may succeed later without any change.
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Source { retryable, .. } => *retryable,
            EngineError::Target(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// True when the caller's input or configuration is at fault (not the engine).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            EngineError::InvalidParameter(_)
                | EngineError::Secret { .. }
                | EngineError::BinlogPurged { .. }
        )
    }
}

impl From<EngineError> for dmsrs_tasks::DmsError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::InvalidParameter(m) => dmsrs_tasks::DmsError::InvalidParameterValue(m),
            other => dmsrs_tasks::DmsError::Service {
                retryable: other.is_retryable(),
                message: other.to_string(),
            },
        }
    }
}

impl From<dmsrs_secrets::SecretsError> for EngineError {
    fn from(e: dmsrs_secrets::SecretsError) -> Self {
        let retryable = e.is_retryable();
        match e {
            dmsrs_secrets::SecretsError::NotFound(id) => EngineError::Secret {
                secret_id: id,
                reason: "not found: check the endpoint's SecretsManagerSecretId".into(),
            },
            other => EngineError::Source {
                message: other.to_string(),
                retryable,
            },
        }
    }
}

impl From<mysql_async::Error> for EngineError {
    fn from(e: mysql_async::Error) -> Self {
        use mysql_async::Error as E;
        let retryable = matches!(e, E::Io(_) | E::Driver(_));
        let message = match &e {
            E::Server(s) if s.code == 1045 => {
                format!(
                    "{e}: check the user name and password of the source endpoint (or its secret)"
                )
            }
            E::Server(s) if s.code == 1227 || s.code == 1044 || s.code == 1142 => {
                format!(
                    "{e}: grant the source user SELECT, REPLICATION SLAVE and REPLICATION CLIENT (BINLOG MONITOR on MariaDB)"
                )
            }
            E::Io(_) => format!("{e}: is the source server running and reachable?"),
            _ => e.to_string(),
        };
        EngineError::Source { message, retryable }
    }
}
