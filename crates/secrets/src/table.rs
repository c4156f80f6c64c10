//! The secret records shared by the in-memory and the file store: lookup by ARN or name,
//! and the create/put/describe/delete rules of Secrets Manager.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::password::random_alnum;
use crate::store::{same_stack, validate_name, validate_tags, validate_value};
use crate::{SecretDescription, SecretRef, SecretString, SecretsError, Tag};

/// The account id the local stores put in their ARNs (LocalStack's).
pub(crate) const LOCAL_ACCOUNT_ID: &str = "000000000000";

/// A stored value: serialised as a plain string, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct StoredValue(String);

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// One secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredSecret {
    arn: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    value: StoredValue,
    /// Milliseconds since the epoch.
    created_ms: u64,
    /// Milliseconds since the epoch.
    last_changed_ms: u64,
}

impl StoredSecret {
    fn reference(&self) -> SecretRef {
        SecretRef {
            arn: self.arn.clone(),
            name: self.name.clone(),
        }
    }
}

/// What a mutation did (the file store writes only when something changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A new secret.
    Created,
    /// The value was replaced.
    Updated,
    /// Nothing to do.
    Unchanged,
    /// The secret was removed.
    Deleted,
}

/// All secrets of a store; the file store's on-disk JSON document.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct SecretTable {
    /// Format version (1).
    #[serde(default = "format_version")]
    version: u32,
    #[serde(default)]
    secrets: Vec<StoredSecret>,
}

fn format_version() -> u32 {
    1
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_millis(ms: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

impl SecretTable {
    /// An empty table.
    pub(crate) fn new() -> Self {
        SecretTable {
            version: format_version(),
            secrets: Vec::new(),
        }
    }

    /// The format version of a table read from disk.
    pub(crate) fn version(&self) -> u32 {
        self.version
    }

    /// Names of all secrets (for `Debug`).
    pub(crate) fn names(&self) -> Vec<String> {
        self.secrets.iter().map(|s| s.name.clone()).collect()
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.secrets
            .iter()
            .position(|s| s.arn == id)
            .or_else(|| self.secrets.iter().position(|s| s.name == id))
    }

    fn find(&self, id: &str) -> Result<&StoredSecret, SecretsError> {
        self.position(id)
            .map(|i| &self.secrets[i])
            .ok_or_else(|| SecretsError::NotFound(id.to_owned()))
    }

    /// The value of `id` (ARN or name).
    pub(crate) fn get(&self, id: &str) -> Result<SecretString, SecretsError> {
        self.find(id).map(|s| SecretString::new(s.value.0.clone()))
    }

    /// `CreateSecret`, with the idempotent reuse rule of [`crate::SecretStore::create`].
    pub(crate) fn create(
        &mut self,
        region: &str,
        name: &str,
        value: &SecretString,
        description: Option<&str>,
        tags: &[Tag],
        now: SystemTime,
    ) -> Result<(SecretRef, Change), SecretsError> {
        validate_name(name)?;
        validate_value(name, value)?;
        validate_tags(tags)?;
        let now_ms = millis(now);
        if let Some(i) = self.secrets.iter().position(|s| s.name == name) {
            let existing = &mut self.secrets[i];
            if !same_stack(&existing.tags, tags) {
                return Err(SecretsError::AlreadyExists(name.to_owned()));
            }
            if existing.value.0 == value.expose() {
                return Ok((existing.reference(), Change::Unchanged));
            }
            existing.value = StoredValue(value.expose().to_owned());
            existing.last_changed_ms = now_ms;
            return Ok((existing.reference(), Change::Updated));
        }
        let arn = loop {
            let arn = format!(
                "arn:aws:secretsmanager:{region}:{LOCAL_ACCOUNT_ID}:secret:{name}-{}",
                random_alnum(6)?
            );
            if self.secrets.iter().all(|s| s.arn != arn) {
                break arn;
            }
        };
        let mut tags = tags.to_vec();
        tags.sort();
        let secret = StoredSecret {
            arn,
            name: name.to_owned(),
            description: description.map(str::to_owned),
            tags,
            value: StoredValue(value.expose().to_owned()),
            created_ms: now_ms,
            last_changed_ms: now_ms,
        };
        let r = secret.reference();
        self.secrets.push(secret);
        Ok((r, Change::Created))
    }

    /// `PutSecretValue`.
    pub(crate) fn put_value(
        &mut self,
        id: &str,
        value: &SecretString,
        now: SystemTime,
    ) -> Result<(SecretRef, Change), SecretsError> {
        let i = self
            .position(id)
            .ok_or_else(|| SecretsError::NotFound(id.to_owned()))?;
        let s = &mut self.secrets[i];
        validate_value(&s.name, value)?;
        if s.value.0 == value.expose() {
            return Ok((s.reference(), Change::Unchanged));
        }
        s.value = StoredValue(value.expose().to_owned());
        s.last_changed_ms = millis(now);
        Ok((s.reference(), Change::Updated))
    }

    /// `DescribeSecret`.
    pub(crate) fn describe(&self, id: &str) -> Result<SecretDescription, SecretsError> {
        let s = self.find(id)?;
        let mut tags = s.tags.clone();
        tags.sort();
        Ok(SecretDescription {
            arn: s.arn.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            tags,
            created: from_millis(s.created_ms),
            last_changed: from_millis(s.last_changed_ms),
        })
    }

    /// `DeleteSecret` with `ForceDeleteWithoutRecovery`.
    pub(crate) fn delete(&mut self, id: &str) -> Result<(SecretRef, Change), SecretsError> {
        let i = self
            .position(id)
            .ok_or_else(|| SecretsError::NotFound(id.to_owned()))?;
        let s = self.secrets.remove(i);
        Ok((s.reference(), Change::Deleted))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(s: &str) -> SecretString {
        SecretString::new(s)
    }

    #[test]
    fn lifecycle() {
        let mut t = SecretTable::new();
        let now = SystemTime::now();
        let (r, c) = t
            .create(
                "us-east-1",
                "db",
                &v("p1"),
                Some("d"),
                &[Tag::stack("s")],
                now,
            )
            .unwrap();
        assert_eq!(c, Change::Created);
        assert!(
            r.arn
                .starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-"),
            "{}",
            r.arn
        );
        let suffix = r.arn.rsplit('-').next().unwrap();
        assert_eq!(suffix.len(), 6);
        assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(t.get(&r.arn).unwrap().expose(), "p1");
        assert_eq!(t.get("db").unwrap().expose(), "p1");

        // Same stack: reused; unchanged, then updated.
        let (r2, c) = t
            .create("us-east-1", "db", &v("p1"), None, &[Tag::stack("s")], now)
            .unwrap();
        assert_eq!((r2.clone(), c), (r.clone(), Change::Unchanged));
        let (_, c) = t
            .create("us-east-1", "db", &v("p2"), None, &[Tag::stack("s")], now)
            .unwrap();
        assert_eq!(c, Change::Updated);
        assert_eq!(t.get("db").unwrap().expose(), "p2");
        // Another stack, or no stack tag: refused.
        assert!(matches!(
            t.create(
                "us-east-1",
                "db",
                &v("p3"),
                None,
                &[Tag::stack("other")],
                now
            ),
            Err(SecretsError::AlreadyExists(_))
        ));
        assert!(matches!(
            t.create("us-east-1", "db", &v("p3"), None, &[], now),
            Err(SecretsError::AlreadyExists(_))
        ));

        let (_, c) = t.put_value(&r.arn, &v("p4"), now).unwrap();
        assert_eq!(c, Change::Updated);
        let d = t.describe("db").unwrap();
        assert_eq!(
            (d.arn.as_str(), d.description.as_deref()),
            (r.arn.as_str(), Some("d"))
        );
        assert_eq!(d.tags, vec![Tag::stack("s")]);
        assert!(d.created.is_some());

        let (gone, c) = t.delete("db").unwrap();
        assert_eq!((gone, c), (r, Change::Deleted));
        assert!(t.get("db").unwrap_err().is_not_found());
        assert!(t.delete("db").unwrap_err().is_not_found());
        assert!(t.put_value("db", &v("x"), now).unwrap_err().is_not_found());
    }

    #[test]
    fn serialised_form_and_debug() {
        let mut t = SecretTable::new();
        t.create(
            "eu-west-1",
            "n",
            &v("hunter2"),
            None,
            &[],
            SystemTime::now(),
        )
        .unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"value\":\"hunter2\""), "{json}");
        let back: SecretTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("n").unwrap().expose(), "hunter2");
        assert_eq!(back.version(), 1);
    }
}
