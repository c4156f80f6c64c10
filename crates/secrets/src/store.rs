//! Managing secrets: the [`SecretStore`] trait, its data types, and the rules every
//! implementation shares (name/value/tag validation and the idempotent-create rule).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{SecretSource, SecretString, SecretsError};

/// The tag key that marks a secret as belonging to a deployment ("stack").
///
/// [`SecretStore::create`] reuses an existing secret of the same name only when both the
/// request and the existing secret carry this tag with the same value.
pub const STACK_TAG_KEY: &str = "dmsrs:stack";

/// Secrets Manager's limit on a secret's value (`SecretString`), in bytes.
pub const MAX_SECRET_BYTES: usize = 65_536;

/// A resource tag (`Key`/`Value`, as the AWS APIs spell them).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    /// Tag key (1-128 characters; the `aws:` prefix is reserved).
    #[serde(rename = "Key")]
    pub key: String,
    /// Tag value (0-256 characters).
    #[serde(rename = "Value")]
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    /// The [`STACK_TAG_KEY`] tag for `stack`.
    pub fn stack(stack: impl Into<String>) -> Self {
        Tag::new(STACK_TAG_KEY, stack)
    }
}

/// Where a secret is: its full ARN and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretRef {
    /// Full ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`).
    pub arn: String,
    /// Friendly name.
    pub name: String,
}

/// What [`SecretStore::describe`] tells about a secret (never its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDescription {
    /// Full ARN.
    pub arn: String,
    /// Friendly name.
    pub name: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<Tag>,
    /// Creation time, when the store knows it.
    pub created: Option<SystemTime>,
    /// Last change of the value or metadata, when the store knows it.
    pub last_changed: Option<SystemTime>,
}

/// Creates, rotates, describes and deletes secrets (the deploy and teardown steps use it;
/// the replication engine only reads, through [`SecretSource`]).
///
/// Contract, for every implementation:
/// * `secret_id` arguments accept the full ARN or the name.
/// * Values never appear in `Debug` output, logs or errors.
/// * Errors are classified: `NotFound` for an unknown secret, `AlreadyExists` for a name
///   taken by a secret of another stack, `InvalidRequest` for bad input, `Service` (retryable)
///   for throttling, 5xx and network failures.
#[async_trait::async_trait]
pub trait SecretStore: SecretSource {
    /// Creates the secret `name` with `value`, `description` and `tags`.
    ///
    /// Idempotent: when a secret called `name` already exists and both it and `tags` carry
    /// the same [`STACK_TAG_KEY`] tag, it is reused and its value replaced if different
    /// (its description and tags are left as they are). Without a matching stack tag the
    /// call fails with [`SecretsError::AlreadyExists`].
    async fn create(
        &self,
        name: &str,
        value: &SecretString,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<SecretRef, SecretsError>;

    /// Replaces the value of an existing secret (rotation).
    async fn put_value(
        &self,
        secret_id: &str,
        value: &SecretString,
    ) -> Result<SecretRef, SecretsError>;

    /// The secret's metadata.
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, SecretsError>;

    /// Deletes the secret at once, without a recovery window (`ForceDeleteWithoutRecovery`).
    /// Fails with [`SecretsError::NotFound`] when it does not exist (see
    /// [`SecretsError::is_not_found`]).
    async fn delete(&self, secret_id: &str) -> Result<SecretRef, SecretsError>;
}

/// Checks a secret name against the Secrets Manager rules: 1-512 characters out of
/// `A-Z a-z 0-9 / _ + = . @ -`.
pub fn validate_name(name: &str) -> Result<(), SecretsError> {
    if name.is_empty() || name.len() > 512 {
        return Err(SecretsError::InvalidRequest(format!(
            "secret name {name:?} must be 1 to 512 characters long"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c)))
    {
        return Err(SecretsError::InvalidRequest(format!(
            "secret name {name:?} contains {c:?}: use only letters, digits and / _ + = . @ -"
        )));
    }
    Ok(())
}

/// Checks a secret value's size (never prints the value).
pub fn validate_value(name: &str, value: &SecretString) -> Result<(), SecretsError> {
    let len = value.expose().len();
    if len == 0 || len > MAX_SECRET_BYTES {
        return Err(SecretsError::InvalidRequest(format!(
            "the value of secret {name} is {len} bytes long; it must be 1 to {MAX_SECRET_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Checks tags: keys 1-128 characters, not starting with `aws:`, values up to 256, no
/// duplicate keys.
pub fn validate_tags(tags: &[Tag]) -> Result<(), SecretsError> {
    let mut seen = std::collections::BTreeSet::new();
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(SecretsError::InvalidRequest(format!(
                "tag key {:?} must be 1 to 128 characters long",
                t.key
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(SecretsError::InvalidRequest(format!(
                "tag key {:?} uses the reserved prefix aws:; pick another key",
                t.key
            )));
        }
        if t.value.chars().count() > 256 {
            return Err(SecretsError::InvalidRequest(format!(
                "the value of tag {:?} is longer than 256 characters",
                t.key
            )));
        }
        if !seen.insert(t.key.as_str()) {
            return Err(SecretsError::InvalidRequest(format!(
                "tag key {:?} is given twice",
                t.key
            )));
        }
    }
    Ok(())
}

/// The idempotent-create rule: may an existing secret with `existing` tags be reused by a
/// create request with `requested` tags?
pub fn same_stack(existing: &[Tag], requested: &[Tag]) -> bool {
    let stack_of = |tags: &[Tag]| {
        tags.iter()
            .find(|t| t.key == STACK_TAG_KEY)
            .map(|t| t.value.clone())
    };
    match (stack_of(existing), stack_of(requested)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("DMsSampleSetupStack-mariadbaccesssecret40AD7-611fcbcd").is_ok());
        assert!(validate_name("rds!db-1").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name(&"a".repeat(513)).is_err());
        assert!(validate_name("a/b_c+d=e.f@g-h").is_ok());
    }

    #[test]
    fn values_are_not_printed() {
        let err = validate_value("n", &SecretString::new("x".repeat(MAX_SECRET_BYTES + 1))).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("65537 bytes") && !msg.contains("xxxx"),
            "{msg}"
        );
        assert!(validate_value("n", &SecretString::new("")).is_err());
    }

    #[test]
    fn tags() {
        assert!(validate_tags(&[Tag::stack("s"), Tag::new("k", "v")]).is_ok());
        assert!(validate_tags(&[Tag::new("aws:cloudformation:stack-name", "s")]).is_err());
        assert!(validate_tags(&[Tag::new("", "v")]).is_err());
        assert!(validate_tags(&[Tag::new("k", "a"), Tag::new("k", "b")]).is_err());
    }

    #[test]
    fn stack_rule() {
        assert!(same_stack(
            &[Tag::stack("a"), Tag::new("x", "y")],
            &[Tag::stack("a")]
        ));
        assert!(!same_stack(&[Tag::stack("a")], &[Tag::stack("b")]));
        assert!(!same_stack(&[], &[Tag::stack("a")]));
        assert!(!same_stack(&[Tag::stack("a")], &[]));
    }
}
