//! Errors of the secrets crate.

use thiserror::Error;

/// Errors of the secrets crate.
///
/// Messages name the secret (its ARN or name) and say what to do; they never contain a
/// secret value. Classify with [`is_retryable`](SecretsError::is_retryable) and
/// [`is_user_error`](SecretsError::is_user_error).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// No secret with this ARN or name.
    #[error("secret {0} not found: check the ARN or name, or run `scenario deploy`")]
    NotFound(String),
    /// The local secret store (a file, a lock) could not be read or written.
    #[error("secret store: {0}")]
    Store(String),
    /// The service failed or could not be reached (throttling, 5xx, network); retrying may help.
    #[error("secrets service: {0}")]
    Service(String),
    /// A secret with this name exists and does not belong to this deployment.
    #[error(
        "secret {0} already exists and is not tagged as this stack's: delete it, or pick another stack name"
    )]
    AlreadyExists(String),
    /// The request was refused as invalid (bad name, value, tag, or a secret scheduled for deletion).
    #[error("invalid secrets request: {0}")]
    InvalidRequest(String),
    /// The credentials may not do this.
    #[error("access denied: {0}: check the AWS credentials and their secretsmanager:* permissions")]
    AccessDenied(String),
    /// A bug or an incompatible service (unreadable response, no random source, ...).
    #[error("internal error: {0}")]
    Internal(String),
}

impl SecretsError {
    /// True when retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretsError::Service(_))
    }

    /// True when the caller's input, configuration or permissions are at fault (fix and retry),
    /// false for service, environment and internal failures.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            SecretsError::NotFound(_)
                | SecretsError::AlreadyExists(_)
                | SecretsError::InvalidRequest(_)
                | SecretsError::AccessDenied(_)
        )
    }

    /// True for [`SecretsError::NotFound`] (teardown code treats it as "already gone").
    pub fn is_not_found(&self) -> bool {
        matches!(self, SecretsError::NotFound(_))
    }
}

/// Replaces every occurrence of `value` in `message` by `***` (defence in depth for messages
/// that come from a service and might echo the request).
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(crate) fn redact(message: &str, value: &str) -> String {
    if value.is_empty() {
        message.to_owned()
    } else {
        message.replace(value, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(SecretsError::Service("x".into()).is_retryable());
        assert!(!SecretsError::Service("x".into()).is_user_error());
        for e in [
            SecretsError::NotFound("a".into()),
            SecretsError::AlreadyExists("a".into()),
            SecretsError::InvalidRequest("a".into()),
            SecretsError::AccessDenied("a".into()),
        ] {
            assert!(e.is_user_error() && !e.is_retryable(), "{e}");
        }
        assert!(!SecretsError::Store("x".into()).is_user_error());
        assert!(!SecretsError::Internal("x".into()).is_retryable());
        assert!(SecretsError::NotFound("a".into()).is_not_found());
    }

    #[test]
    fn redacts() {
        assert_eq!(redact("bad value hunter2!", "hunter2"), "bad value ***!");
        assert_eq!(redact("m", ""), "m");
    }
}
