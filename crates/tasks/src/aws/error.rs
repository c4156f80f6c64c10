//! SDK errors to [`DmsError`].

use std::error::Error as StdError;

use aws_sdk_databasemigration::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_databasemigration::types::error as faults;

use crate::DmsError;

/// The name of a modelled DMS fault, when `e` wraps one. Errors deserialised from a response
/// carry their code in the metadata; errors built in code (mocks) only have the type.
fn modelled_code(e: &(dyn StdError + 'static)) -> Option<&'static str> {
    let s = e.source()?;
    Some(if s.is::<faults::ResourceNotFoundFault>() {
        "ResourceNotFoundFault"
    } else if s.is::<faults::InvalidResourceStateFault>() {
        "InvalidResourceStateFault"
    } else if s.is::<faults::ResourceAlreadyExistsFault>() {
        "ResourceAlreadyExistsFault"
    } else if s.is::<faults::AccessDeniedFault>() {
        "AccessDeniedFault"
    } else if s.is::<faults::KmsKeyNotAccessibleFault>() {
        "KMSKeyNotAccessibleFault"
    } else if s.is::<faults::ResourceQuotaExceededFault>() {
        "ResourceQuotaExceededFault"
    } else if s.is::<faults::InsufficientResourceCapacityFault>() {
        "InsufficientResourceCapacityFault"
    } else if s.is::<faults::StorageQuotaExceededFault>() {
        "StorageQuotaExceededFault"
    } else if s.is::<faults::InvalidSubnet>() {
        "InvalidSubnet"
    } else if s.is::<faults::ReplicationSubnetGroupDoesNotCoverEnoughAZs>() {
        "ReplicationSubnetGroupDoesNotCoverEnoughAZs"
    } else {
        return None;
    })
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

const CREDENTIAL_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "ExpiredToken",
    "MissingAuthenticationToken",
    "IncompleteSignature",
];

const PARAMETER_CODES: &[&str] = &[
    "InvalidParameterValueException",
    "InvalidParameterCombinationException",
    "InvalidParameterException",
    "ValidationException",
    "ValidationError",
    "MissingParameter",
];

/// Maps an SDK error of DMS operation `op` (e.g. `StartReplicationTask`) about `subject` (an
/// ARN or identifier) to a [`DmsError`] whose message says what to do.
///
/// * `ResourceNotFoundFault`, `InvalidResourceStateFault`, `ResourceAlreadyExistsFault`,
///   `AccessDeniedFault` → the matching variant (credential errors → `AccessDenied` too).
/// * `InvalidParameterValueException` / `InvalidParameterCombinationException` (not in the
///   API model: matched by error code) and other validation codes → `InvalidParameterValue`.
/// * Throttling codes, HTTP 429 and 5xx, timeouts and connection failures →
///   `Service { retryable: true }`.
/// * Anything else → `Service { retryable: false }` naming the error code.
pub(crate) fn map_sdk_error<E>(op: &str, subject: &str, err: SdkError<E>) -> DmsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let status = ctx.raw().status().as_u16();
            let code = e.code().or_else(|| modelled_code(e)).unwrap_or("");
            let detail = e
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string());
            let what = format!("{op} {subject}: {detail}");
            match code {
                "ResourceNotFoundFault" => DmsError::ResourceNotFound(format!(
                    "{what}: check the ARN or identifier (and the region and account), or deploy the stack first"
                )),
                "InvalidResourceStateFault" => DmsError::InvalidResourceState(format!(
                    "{what}: describe the resource and wait for a stable status (stop a running task before deleting it)"
                )),
                "ResourceAlreadyExistsFault" => DmsError::ResourceAlreadyExists(format!(
                    "{what}: pick another identifier, or delete the existing resource first"
                )),
                "AccessDeniedFault" => DmsError::AccessDenied(format!(
                    "{what}: check the credentials' dms:* permissions and the roles DMS assumes (iam:PassRole)"
                )),
                c if CREDENTIAL_CODES.contains(&c) => DmsError::AccessDenied(format!(
                    "{what} ({c}): check the AWS credentials, region and clock"
                )),
                c if PARAMETER_CODES.contains(&c) => {
                    DmsError::InvalidParameterValue(format!("{what} ({c}): fix the request"))
                }
                c if THROTTLING_CODES.contains(&c) || status == 429 => DmsError::Service {
                    message: format!(
                        "DMS {what} (throttled, {}): retry with backoff",
                        if c.is_empty() { "HTTP 429" } else { c }
                    ),
                    retryable: true,
                },
                c if status >= 500 => DmsError::Service {
                    message: format!(
                        "DMS {op} {subject} failed with HTTP {status}{}{}: retry later; if it keeps failing, \
                         check that the endpoint implements {op}{}",
                        if c.is_empty() {
                            String::new()
                        } else {
                            format!(" ({c})")
                        },
                        if e.message().is_some() {
                            format!(": {detail}")
                        } else {
                            String::new()
                        },
                        if op == "DescribeTableStatistics" {
                            " (moto 5 does not)"
                        } else {
                            ""
                        },
                    ),
                    retryable: true,
                },
                c => DmsError::Service {
                    message: format!(
                        "DMS {what} ({}HTTP {status}): see the message; retrying will not help",
                        if c.is_empty() {
                            String::new()
                        } else {
                            format!("{c}, ")
                        }
                    ),
                    retryable: false,
                },
            }
        }
        SdkError::TimeoutError(_) => DmsError::Service {
            message: format!(
                "DMS {op} {subject} timed out: check the DMS endpoint URL and the network, then retry"
            ),
            retryable: true,
        },
        SdkError::DispatchFailure(_) => DmsError::Service {
            message: format!(
                "DMS {op} {subject}: could not reach the service ({}): check the endpoint URL, region, credentials and network, then retry",
                DisplayErrorContext(&err)
            ),
            retryable: true,
        },
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status().as_u16();
            DmsError::Service {
                message: format!(
                    "DMS {op} {subject}: unreadable response (HTTP {status}): {}; is the endpoint an AWS DMS API (for moto, start it through scripts/moto_launcher.py)?",
                    DisplayErrorContext(&err)
                ),
                retryable: status >= 500,
            }
        }
        _ => DmsError::Service {
            message: format!(
                "DMS {op} {subject}: could not build the request ({}): check the region, credentials and endpoint configuration",
                DisplayErrorContext(&err)
            ),
            retryable: false,
        },
    }
}

/// A response that lacks a field the API always sends.
pub(crate) fn incomplete(op: &str, field: &str) -> DmsError {
    DmsError::Service {
        message: format!("DMS {op}: the response has no {field}; is the endpoint an AWS DMS API?"),
        retryable: false,
    }
}
