//! DMS faults as the server sends them: `{"__type": ..., "message": ...}` with an HTTP status.

use dmsrs_tasks::DmsError;
use serde_json::json;

/// One error answer of the DMS API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `__type`: the fault's shape name (`ResourceNotFoundFault`, ...).
    pub code: &'static str,
    /// `message`: what went wrong and what to do.
    pub message: String,
    /// HTTP status (400 for the caller's mistakes, 500 for the server's).
    pub status: u16,
}

impl Fault {
    /// A fault with status 400.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Fault {
            code,
            message: message.into(),
            status: 400,
        }
    }

    /// `InvalidParameterValueException`: a member has a bad value, or a required one is
    /// missing.
    pub fn invalid(message: impl Into<String>) -> Self {
        Fault::new("InvalidParameterValueException", message)
    }

    /// `InvalidParameterCombinationException`.
    pub fn combination(message: impl Into<String>) -> Self {
        Fault::new("InvalidParameterCombinationException", message)
    }

    /// A required member is absent.
    pub fn missing(member: &str) -> Self {
        Fault::invalid(format!("the request must contain the parameter {member}"))
    }

    /// `ResourceNotFoundFault`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Fault::new("ResourceNotFoundFault", message)
    }

    /// `InvalidResourceStateFault`.
    pub fn state(message: impl Into<String>) -> Self {
        Fault::new("InvalidResourceStateFault", message)
    }

    /// `ResourceAlreadyExistsFault`.
    pub fn exists(message: impl Into<String>) -> Self {
        Fault::new("ResourceAlreadyExistsFault", message)
    }

    /// `SerializationException`: the body is not JSON of the operation's input shape.
    pub fn serialization(message: impl Into<String>) -> Self {
        Fault::new("SerializationException", message)
    }

    /// The server failed (status 500).
    pub fn internal(message: impl Into<String>) -> Self {
        Fault {
            code: "InternalFailure",
            message: message.into(),
            status: 500,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        json!({"__type": self.code, "message": self.message}).to_string()
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Fault {}

impl From<DmsError> for Fault {
    fn from(e: DmsError) -> Self {
        let message = e.message();
        match e {
            DmsError::ResourceNotFound(_) => Fault::not_found(message),
            DmsError::InvalidResourceState(_) => Fault::state(message),
            DmsError::ResourceAlreadyExists(_) => Fault::exists(message),
            DmsError::InvalidParameterValue(_) => Fault::invalid(message),
            DmsError::AccessDenied(_) => Fault::new("AccessDeniedFault", message),
            DmsError::Service {
                retryable: true, ..
            } => Fault {
                code: "ServiceUnavailable",
                message,
                status: 503,
            },
            _ => Fault::internal(message),
        }
    }
}
