//! [`AwsSecrets`]: AWS Secrets Manager (or LocalStack, moto) through aws-sdk-secretsmanager.

use std::error::Error as StdError;
use std::fmt;
use std::time::SystemTime;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::primitives::DateTime;
use aws_sdk_secretsmanager::types::error as faults;

use crate::error::redact;
use crate::store::{same_stack, validate_name, validate_tags, validate_value};
use crate::{
    SecretDescription, SecretRef, SecretSource, SecretStore, SecretString, SecretsError, Tag,
};

/// AWS Secrets Manager, or any endpoint speaking its API (LocalStack, moto).
///
/// Build the client from an `SdkConfig` (region, credentials, endpoint URL, retry config):
///
/// ```no_run
/// # async fn f() {
/// let sdk = aws_config::load_from_env().await;
/// let secrets = dmsrs_secrets::AwsSecrets::from_sdk_config(&sdk);
/// # }
/// ```
///
/// Error mapping: `ResourceNotFoundException` → [`SecretsError::NotFound`];
/// `ResourceExistsException` → [`SecretsError::AlreadyExists`]; throttling, `InternalServiceError`,
/// HTTP 5xx, timeouts and connection failures → [`SecretsError::Service`] (retryable);
/// access/credential errors → [`SecretsError::AccessDenied`]; invalid parameters or requests
/// (including a name still scheduled for deletion) → [`SecretsError::InvalidRequest`].
/// Secret values are never logged, and are scrubbed from service messages.
#[derive(Clone)]
pub struct AwsSecrets {
    client: Client,
}

impl fmt::Debug for AwsSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.client.config().region().map(|r| r.to_string());
        f.debug_struct("AwsSecrets")
            .field("region", &region)
            .finish()
    }
}

impl AwsSecrets {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        AwsSecrets { client }
    }

    /// A client built from a shared AWS config.
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        AwsSecrets {
            client: Client::new(config),
        }
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The name of a modelled Secrets Manager error, when `e` is one (mock-built errors carry no
/// error code in their metadata; real responses do).
fn modelled_code(e: &(dyn StdError + 'static)) -> Option<&'static str> {
    let source = e.source()?;
    Some(if source.is::<faults::ResourceNotFoundException>() {
        "ResourceNotFoundException"
    } else if source.is::<faults::ResourceExistsException>() {
        "ResourceExistsException"
    } else if source.is::<faults::InvalidRequestException>() {
        "InvalidRequestException"
    } else if source.is::<faults::InvalidParameterException>() {
        "InvalidParameterException"
    } else if source.is::<faults::InternalServiceError>() {
        "InternalServiceError"
    } else if source.is::<faults::LimitExceededException>() {
        "LimitExceededException"
    } else if source.is::<faults::DecryptionFailure>() {
        "DecryptionFailure"
    } else if source.is::<faults::EncryptionFailure>() {
        "EncryptionFailure"
    } else if source.is::<faults::MalformedPolicyDocumentException>() {
        "MalformedPolicyDocumentException"
    } else if source.is::<faults::PreconditionNotMetException>() {
        "PreconditionNotMetException"
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

const ACCESS_CODES: &[&str] = &[
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

/// Maps an SDK error of operation `op` on secret `id` to a [`SecretsError`], scrubbing
/// `value` (when the call carried one) from every message.
fn map_err<E>(op: &str, id: &str, value: Option<&SecretString>, err: SdkError<E>) -> SecretsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let scrub = |m: String| match value {
        Some(v) => redact(&m, v.expose()),
        None => m,
    };
    match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let status = ctx.raw().status().as_u16();
            let code = e.code().or_else(|| modelled_code(e)).unwrap_or("");
            let detail = scrub(
                e.message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string()),
            );
            let what = format!("{op} {id}: {detail}");
            match code {
                "ResourceNotFoundException" => SecretsError::NotFound(id.to_owned()),
                "ResourceExistsException" => SecretsError::AlreadyExists(id.to_owned()),
                "InternalServiceError" | "InternalFailure" | "ServiceUnavailable" => {
                    SecretsError::Service(format!("{what} (HTTP {status}): retry later"))
                }
                c if THROTTLING_CODES.contains(&c) => {
                    SecretsError::Service(format!("{what}: throttled, retry with backoff"))
                }
                c if ACCESS_CODES.contains(&c) => {
                    SecretsError::AccessDenied(format!("{what} ({c})"))
                }
                "InvalidRequestException" if detail.contains("scheduled for deletion") => {
                    SecretsError::InvalidRequest(format!(
                        "{what}: restore the secret (RestoreSecret) or wait until its deletion completes, then retry"
                    ))
                }
                "InvalidRequestException"
                | "InvalidParameterException"
                | "ValidationException"
                | "LimitExceededException"
                | "MalformedPolicyDocumentException"
                | "PreconditionNotMetException"
                | "EncryptionFailure"
                | "DecryptionFailure" => SecretsError::InvalidRequest(format!("{what} ({code})")),
                _ if status >= 500 || status == 429 => SecretsError::Service(format!(
                    "{what} (HTTP {status}{}): retry later",
                    if code.is_empty() {
                        String::new()
                    } else {
                        format!(", {code}")
                    }
                )),
                _ => SecretsError::InvalidRequest(format!(
                    "{what} (HTTP {status}{})",
                    if code.is_empty() {
                        String::new()
                    } else {
                        format!(", {code}")
                    }
                )),
            }
        }
        SdkError::TimeoutError(_) => SecretsError::Service(format!(
            "{op} {id} timed out: check the Secrets Manager endpoint and the network, then retry"
        )),
        SdkError::DispatchFailure(_) => SecretsError::Service(format!(
            "{op} {id}: could not reach Secrets Manager ({}): check the endpoint URL, region and network, then retry",
            scrub(DisplayErrorContext(&err).to_string())
        )),
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let msg = format!(
                "{op} {id}: unreadable response (HTTP {status}): {}",
                scrub(DisplayErrorContext(&err).to_string())
            );
            if status >= 500 {
                SecretsError::Service(msg)
            } else {
                SecretsError::Internal(msg)
            }
        }
        _ => SecretsError::Internal(format!(
            "{op} {id}: could not build the request ({}): check the region, credentials and endpoint configuration",
            scrub(DisplayErrorContext(&err).to_string())
        )),
    }
}

fn to_system_time(t: Option<&DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

fn sdk_tags(tags: &[Tag]) -> Vec<aws_sdk_secretsmanager::types::Tag> {
    tags.iter()
        .map(|t| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(&t.key)
                .value(&t.value)
                .build()
        })
        .collect()
}

fn reference(
    op: &str,
    id: &str,
    arn: Option<&str>,
    name: Option<&str>,
) -> Result<SecretRef, SecretsError> {
    match (arn, name) {
        (Some(arn), Some(name)) => Ok(SecretRef {
            arn: arn.to_owned(),
            name: name.to_owned(),
        }),
        _ => Err(SecretsError::Internal(format!(
            "{op} {id}: the response lacks the secret's ARN or name"
        ))),
    }
}

#[async_trait::async_trait]
impl SecretSource for AwsSecrets {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, SecretsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| map_err("GetSecretValue", secret_id, None, e))?;
        match out.secret_string {
            Some(s) => Ok(SecretString::new(s)),
            None => Err(SecretsError::InvalidRequest(format!(
                "secret {secret_id} holds binary data; DMS secrets are JSON strings: store a SecretString"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl SecretStore for AwsSecrets {
    async fn create(
        &self,
        name: &str,
        value: &SecretString,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<SecretRef, SecretsError> {
        validate_name(name)?;
        validate_value(name, value)?;
        validate_tags(tags)?;
        let created = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value.expose())
            .set_description(description.map(str::to_owned))
            .set_tags(if tags.is_empty() {
                None
            } else {
                Some(sdk_tags(tags))
            })
            .send()
            .await;
        match created {
            Ok(out) => {
                let r = reference("CreateSecret", name, out.arn(), out.name())?;
                tracing::debug!(secret = %r.arn, "secret created");
                Ok(r)
            }
            Err(e) => match map_err("CreateSecret", name, Some(value), e) {
                SecretsError::AlreadyExists(_) => {
                    let existing = self.describe(name).await?;
                    if !same_stack(&existing.tags, tags) {
                        return Err(SecretsError::AlreadyExists(name.to_owned()));
                    }
                    let current = self.secret_string(&existing.arn).await?;
                    if current != *value {
                        self.put_value(&existing.arn, value).await?;
                        tracing::debug!(secret = %existing.arn, "existing secret reused, value updated");
                    } else {
                        tracing::debug!(secret = %existing.arn, "existing secret reused, value unchanged");
                    }
                    Ok(SecretRef {
                        arn: existing.arn,
                        name: existing.name,
                    })
                }
                other => Err(other),
            },
        }
    }

    async fn put_value(
        &self,
        secret_id: &str,
        value: &SecretString,
    ) -> Result<SecretRef, SecretsError> {
        validate_value(secret_id, value)?;
        let out = self
            .client
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value.expose())
            .send()
            .await
            .map_err(|e| map_err("PutSecretValue", secret_id, Some(value), e))?;
        let r = reference("PutSecretValue", secret_id, out.arn(), out.name())?;
        tracing::debug!(secret = %r.arn, "secret value put");
        Ok(r)
    }

    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, SecretsError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| map_err("DescribeSecret", secret_id, None, e))?;
        let r = reference("DescribeSecret", secret_id, out.arn(), out.name())?;
        let mut tags: Vec<Tag> = out
            .tags()
            .iter()
            .map(|t| Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            .collect();
        tags.sort();
        Ok(SecretDescription {
            arn: r.arn,
            name: r.name,
            description: out.description().map(str::to_owned),
            tags,
            created: to_system_time(out.created_date()),
            last_changed: to_system_time(out.last_changed_date()),
        })
    }

    async fn delete(&self, secret_id: &str) -> Result<SecretRef, SecretsError> {
        // With ForceDeleteWithoutRecovery, Secrets Manager (and moto) answers success for a
        // secret that does not exist; describe first so every store reports NotFound alike.
        let existing = self.describe(secret_id).await?;
        let secret_id = existing.arn.as_str();
        let out = self
            .client
            .delete_secret()
            .secret_id(secret_id)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(|e| map_err("DeleteSecret", secret_id, None, e))?;
        let r = reference("DeleteSecret", secret_id, out.arn(), out.name())?;
        tracing::debug!(secret = %r.arn, "secret deleted");
        Ok(r)
    }
}
