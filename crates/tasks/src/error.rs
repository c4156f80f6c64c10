//! Control-plane errors, mirroring the DMS faults so callers match on them the same way
//! whether they talk to AWS DMS or to the embedded engine.

use thiserror::Error;

/// Result alias.
pub type Result<T, E = DmsError> = std::result::Result<T, E>;

/// A DMS control-plane error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DmsError {
    /// `ResourceNotFoundFault`: no such task or endpoint.
    #[error("ResourceNotFoundFault: {0}")]
    ResourceNotFound(String),
    /// `InvalidResourceStateFault`: the resource is in the wrong state for the call.
    #[error("InvalidResourceStateFault: {0}")]
    InvalidResourceState(String),
    /// `ResourceAlreadyExistsFault`: the identifier is taken.
    #[error("ResourceAlreadyExistsFault: {0}")]
    ResourceAlreadyExists(String),
    /// `InvalidParameterValueException` / `InvalidParameterCombinationException`.
    #[error("InvalidParameterValueException: {0}")]
    InvalidParameterValue(String),
    /// `AccessDeniedFault`.
    #[error("AccessDeniedFault: {0}")]
    AccessDenied(String),
    /// A waiter gave up; carries the last status seen.
    #[error(
        "timed out after {waited_secs} s waiting for {what} to be {expected} (last status: {last_status})"
    )]
    WaitTimeout {
        /// What was awaited (a task ARN, ...).
        what: String,
        /// The awaited status.
        expected: String,
        /// The last status seen.
        last_status: String,
        /// Seconds waited.
        waited_secs: u64,
    },
    /// The service failed or could not be reached; `retryable` says whether to try again.
    #[error("{message}")]
    Service {
        /// What happened, and what to do.
        message: String,
        /// True when retrying later may work (throttling, 5xx, connection errors).
        retryable: bool,
    },
}

impl DmsError {
    /// True when retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            DmsError::Service {
                retryable: true,
                ..
            }
        )
    }

    /// True when the caller's input or the resource state is at fault.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            DmsError::Service { .. } | DmsError::WaitTimeout { .. }
        )
    }

    /// The message without the fault name (what a DMS fault's `message` member carries).
    pub fn message(&self) -> String {
        match self {
            DmsError::ResourceNotFound(m)
            | DmsError::InvalidResourceState(m)
            | DmsError::ResourceAlreadyExists(m)
            | DmsError::InvalidParameterValue(m)
            | DmsError::AccessDenied(m) => m.clone(),
            DmsError::Service { message, .. } => message.clone(),
            other @ DmsError::WaitTimeout { .. } => other.to_string(),
        }
    }

    /// The DMS fault name.
    pub fn fault_name(&self) -> &'static str {
        match self {
            DmsError::ResourceNotFound(_) => "ResourceNotFoundFault",
            DmsError::InvalidResourceState(_) => "InvalidResourceStateFault",
            DmsError::ResourceAlreadyExists(_) => "ResourceAlreadyExistsFault",
            DmsError::InvalidParameterValue(_) => "InvalidParameterValueException",
            DmsError::AccessDenied(_) => "AccessDeniedFault",
            DmsError::WaitTimeout { .. } => "WaiterTimeout",
            DmsError::Service { .. } => "ServiceError",
        }
    }
}
