//! Errors of the network crate.

use std::time::Duration;

/// Who can fix an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The caller's input, credentials, permissions or quotas: fix and run again.
    User,
    /// A temporary condition (throttling, network, a dependency still being
    /// released): running the same call again later may succeed.
    Transient,
    /// A bug or an unexpected answer from a service: report it.
    Internal,
}

/// Errors of [`Network`](crate::Network) implementations and the IAM helpers.
///
/// Messages say what failed and what to do; they never contain secrets
/// (this crate handles none).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A [`NetworkSpec`](crate::NetworkSpec) (or IAM input) value is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidSpec {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid and what is expected.
        reason: String,
    },

    /// The region has fewer availability zones than the spec needs.
    #[error(
        "the region offers {found} available availability zone(s) but the network needs {wanted}: pick another region or lower the AZ count"
    )]
    NotEnoughAzs {
        /// AZs needed.
        wanted: usize,
        /// AZs found.
        found: usize,
    },

    /// Existing resources tagged with the stack do not match the spec, or are
    /// ambiguous, so they cannot be reused safely.
    #[error(
        "{what}: run `destroy` for stack {stack:?} (or delete the listed resources by hand) and deploy again"
    )]
    Conflict {
        /// The stack.
        stack: String,
        /// What is wrong, naming the resource ids.
        what: String,
    },

    /// An AWS call failed.
    #[error(
        "{service} {operation} failed{}: {message}{}",
        code_suffix(code),
        hint_suffix(hint)
    )]
    Aws {
        /// `EC2` or `IAM`.
        service: &'static str,
        /// The API operation, e.g. `CreateVpc`.
        operation: &'static str,
        /// The AWS error code, when the service sent one.
        code: Option<String>,
        /// The service's message (or the transport error).
        message: String,
        /// What to do about it.
        hint: Option<&'static str>,
        /// Classification.
        class: ErrorClass,
    },

    /// A resource could not be deleted because something still uses it, and
    /// it kept being in use for the whole waiting time.
    #[error(
        "{resource} {id} is still in use after waiting {waited:?} ({detail}): delete what uses it first (e.g. the database and DMS replication instance of the stack), then run destroy again"
    )]
    StillInUse {
        /// Kind of resource.
        resource: &'static str,
        /// Its id.
        id: String,
        /// How long deletion was retried.
        waited: Duration,
        /// The last error message.
        detail: String,
    },

    /// A service answer lacked a field it always has.
    #[error(
        "unexpected answer from {service} {operation}: {detail} (this is a bug in dmsrs or the endpoint)"
    )]
    Unexpected {
        /// The service.
        service: &'static str,
        /// The operation.
        operation: &'static str,
        /// What was missing.
        detail: String,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default()
}

fn hint_suffix(hint: &Option<&'static str>) -> String {
    hint.map(|h| format!(" - {h}")).unwrap_or_default()
}

impl NetworkError {
    /// Who can fix it.
    pub fn class(&self) -> ErrorClass {
        match self {
            NetworkError::InvalidSpec { .. }
            | NetworkError::NotEnoughAzs { .. }
            | NetworkError::Conflict { .. } => ErrorClass::User,
            NetworkError::Aws { class, .. } => *class,
            NetworkError::StillInUse { .. } => ErrorClass::Transient,
            NetworkError::Unexpected { .. } => ErrorClass::Internal,
        }
    }

    /// True when running the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// True when the caller (input, credentials, permissions, quotas) must act.
    pub fn is_user_error(&self) -> bool {
        self.class() == ErrorClass::User
    }

    /// The AWS error code, if this is an AWS error that carried one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            NetworkError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        NetworkError::InvalidSpec {
            field,
            reason: reason.into(),
        }
    }

    #[cfg(feature = "aws")]
    pub(crate) fn unexpected(
        service: &'static str,
        operation: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        NetworkError::Unexpected {
            service,
            operation,
            detail: detail.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = NetworkError> = std::result::Result<T, E>;

#[cfg(feature = "aws")]
pub(crate) mod sdk {
    //! Conversion of AWS SDK errors (any service) into [`NetworkError`].

    use super::{ErrorClass, NetworkError};
    use aws_sdk_ec2::config::http::HttpResponse;
    use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

    /// Error codes meaning "the resource is already gone".
    pub(crate) const NOT_FOUND_CODES: &[&str] = &[
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidRouteTableId.NotFound",
        "InvalidGroup.NotFound",
        "InvalidGroupId.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidAssociationID.NotFound",
        "InvalidRoute.NotFound",
        "Gateway.NotAttached",
        "NoSuchEntity",
    ];

    /// Converts an SDK error of any AWS service.
    pub(crate) fn convert<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> NetworkError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(ctx) => {
                let e = ctx.err();
                let code = e.code().map(str::to_owned);
                let message = e
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| aws_sdk_ec2::error::DisplayErrorContext(&err).to_string());
                let (mut class, mut hint) = classify_code(code.as_deref());
                if ctx.raw().status().is_server_error() && class != ErrorClass::Transient {
                    class = ErrorClass::Transient;
                    hint = Some("the service failed internally; run the command again in a minute");
                }
                NetworkError::Aws {
                    service,
                    operation,
                    code,
                    message,
                    hint,
                    class,
                }
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => NetworkError::Aws {
                service,
                operation,
                code: None,
                message: aws_sdk_ec2::error::DisplayErrorContext(&err).to_string(),
                hint: Some(
                    "could not reach the AWS endpoint: check the network, the region and AWS_ENDPOINT_URL, then retry",
                ),
                class: ErrorClass::Transient,
            },
            SdkError::ResponseError(_) => NetworkError::Aws {
                service,
                operation,
                code: None,
                message: aws_sdk_ec2::error::DisplayErrorContext(&err).to_string(),
                hint: Some(
                    "the endpoint sent an unreadable answer; retry, and check that the endpoint is really AWS or a compatible emulator",
                ),
                class: ErrorClass::Transient,
            },
            _ => NetworkError::Aws {
                service,
                operation,
                code: None,
                message: aws_sdk_ec2::error::DisplayErrorContext(&err).to_string(),
                hint: Some(
                    "the request could not be built: check the AWS configuration (region, credentials)",
                ),
                class: ErrorClass::User,
            },
        }
    }

    fn classify_code(code: Option<&str>) -> (ErrorClass, Option<&'static str>) {
        let Some(code) = code else {
            return (ErrorClass::Internal, None);
        };
        match code {
            "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "ServiceUnavailable"
            | "Unavailable"
            | "InternalError"
            | "InternalFailure"
            | "ServiceFailure"
            | "DependencyViolation"
            | "IncorrectState"
            | "ConcurrentModification" => (
                ErrorClass::Transient,
                Some("a temporary condition; run the command again in a minute"),
            ),
            "AuthFailure"
            | "UnauthorizedOperation"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "SignatureDoesNotMatch"
            | "AccessDenied"
            | "AccessDeniedException"
            | "OptInRequired"
            | "UnrecognizedClientException" => (
                ErrorClass::User,
                Some("check the AWS credentials and that they allow this action"),
            ),
            c if c.ends_with("LimitExceeded") => (
                ErrorClass::User,
                Some("an AWS quota is reached: delete unused resources or raise the quota"),
            ),
            _ => (ErrorClass::User, None),
        }
    }

    /// Whether `err` is an AWS error with one of `codes`.
    pub(crate) fn has_code(err: &NetworkError, codes: &[&str]) -> bool {
        err.aws_code().is_some_and(|c| codes.contains(&c))
    }
}
