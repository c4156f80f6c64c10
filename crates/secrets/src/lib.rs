//! # dmsrs-secrets
//!
//! Database credentials for DMS source endpoints, stored as Secrets Manager secrets of the
//! DMS shape `{"host", "port", "username", "password", "dbname"}`.
//!
//! * [`SecretString`]: a value that never shows in `Debug`, `Display`, logs or errors.
//! * [`SecretSource`]: reads a secret by ARN or name (what the replication engine needs).
//! * [`SecretStore`]: creates (idempotently, per stack tag), rotates, describes and deletes
//!   secrets (what the deploy and teardown steps need).
//! * Implementations: [`MemorySecrets`] (tests, one process), [`FileSecrets`] (the embedded
//!   twin: one `0600` JSON file per deployment, shared safely by its processes) and, with
//!   the `aws` feature, `AwsSecrets` (AWS Secrets Manager, LocalStack, moto).
//! * [`generate_password`]: random passwords like Secrets Manager's `GenerateSecretString`.

mod error;
mod file;
mod password;
mod store;
mod table;

#[cfg(feature = "aws")]
mod aws;

#[cfg(feature = "aws")]
pub use aws::AwsSecrets;
pub use error::SecretsError;
pub use file::{FileSecrets, SECRETS_FILE_NAME, SECRETS_LOCK_FILE_NAME};
pub use password::{RDS_EXCLUDE_CHARACTERS, RDS_PASSWORD_LENGTH, generate_password};
pub use store::{
    MAX_SECRET_BYTES, STACK_TAG_KEY, SecretDescription, SecretRef, SecretStore, Tag, same_stack,
    validate_name, validate_tags, validate_value,
};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use table::SecretTable;

/// A secret string: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }

    /// The secret itself; call only where it is handed to the server that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}

/// Reads secrets by ARN or name.
///
/// Contract: returns the current `SecretString` of the secret; implementations never log or
/// put the value into errors.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// The secret's value.
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, SecretsError>;
}

/// An in-memory secret store (tests and single-process embedded runs).
///
/// Two kinds of entries: raw ones stored with [`put`](MemorySecrets::put) under any id
/// (an ARN or a name, exactly as given), and managed ones created through [`SecretStore`]
/// (ARNs `arn:aws:secretsmanager:<region>:000000000000:secret:<name>-<6 chars>`, looked up
/// by ARN or name). Clones share the same secrets.
#[derive(Clone, Default)]
pub struct MemorySecrets {
    inner: Arc<Mutex<MemoryState>>,
}

#[derive(Default)]
struct MemoryState {
    raw: BTreeMap<String, SecretString>,
    managed: SecretTable,
    region: Option<String>,
}

impl fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .inner
            .lock()
            .map(|m| m.raw.keys().cloned().chain(m.managed.names()).collect())
            .unwrap_or_default();
        f.debug_struct("MemorySecrets")
            .field("secrets", &names)
            .finish()
    }
}

impl MemorySecrets {
    /// An empty store whose managed secrets get `us-east-1` ARNs.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose managed secrets get ARNs in `region`.
    pub fn with_region(region: impl Into<String>) -> Self {
        let s = Self::default();
        if let Ok(mut m) = s.inner.lock() {
            m.region = Some(region.into());
        }
        s
    }

    /// Stores (or replaces) a raw secret under `secret_id`.
    pub fn put(&self, secret_id: impl Into<String>, value: impl Into<String>) {
        if let Ok(mut m) = self.inner.lock() {
            m.raw.insert(secret_id.into(), SecretString::new(value));
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut MemoryState) -> Result<T, SecretsError>,
    ) -> Result<T, SecretsError> {
        let mut m = self
            .inner
            .lock()
            .map_err(|_| SecretsError::Internal("memory secret store lock poisoned".into()))?;
        f(&mut m)
    }
}

#[async_trait::async_trait]
impl SecretSource for MemorySecrets {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, SecretsError> {
        self.with(|m| match m.raw.get(secret_id) {
            Some(v) => Ok(v.clone()),
            None => m.managed.get(secret_id),
        })
    }
}

#[async_trait::async_trait]
impl SecretStore for MemorySecrets {
    async fn create(
        &self,
        name: &str,
        value: &SecretString,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<SecretRef, SecretsError> {
        self.with(|m| {
            let region = m.region.clone().unwrap_or_else(|| "us-east-1".to_owned());
            m.managed
                .create(&region, name, value, description, tags, SystemTime::now())
                .map(|(r, _)| r)
        })
    }

    async fn put_value(
        &self,
        secret_id: &str,
        value: &SecretString,
    ) -> Result<SecretRef, SecretsError> {
        self.with(|m| {
            m.managed
                .put_value(secret_id, value, SystemTime::now())
                .map(|(r, _)| r)
        })
    }

    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, SecretsError> {
        self.with(|m| m.managed.describe(secret_id))
    }

    async fn delete(&self, secret_id: &str) -> Result<SecretRef, SecretsError> {
        self.with(|m| m.managed.delete(secret_id).map(|(r, _)| r))
    }
}

/// The DMS secret shape for MySQL/MariaDB endpoints, serialised with the seed's key order
/// `{"host", "port", "username", "password", "dbname"}` and `port` as a JSON number (the
/// shape of an RDS-attached secret; readers accept a number or a string).
///
/// ```
/// use dmsrs_secrets::{dms_secret_json, SecretString};
/// let json = dms_secret_json("db", 3306, "admin", &SecretString::new("pw"), "dms_sample");
/// assert_eq!(json, r#"{"host":"db","port":3306,"username":"admin","password":"pw","dbname":"dms_sample"}"#);
/// ```
pub fn dms_secret_json(
    host: &str,
    port: u16,
    username: &str,
    password: &SecretString,
    dbname: &str,
) -> String {
    // Built by hand: serde_json's map sorts keys unless `preserve_order` is on.
    let s = |v: &str| serde_json::Value::String(v.to_owned()).to_string();
    format!(
        "{{\"host\":{},\"port\":{port},\"username\":{},\"password\":{},\"dbname\":{}}}",
        s(host),
        s(username),
        s(password.expose()),
        s(dbname)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_values() {
        let s = MemorySecrets::new();
        s.put("arn:x", "hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", SecretString::new("hunter2")).contains("hunter2"));
    }

    #[tokio::test]
    async fn memory_store() {
        let s = MemorySecrets::new();
        s.put("a", "v");
        assert_eq!(s.secret_string("a").await.unwrap().expose(), "v");
        assert!(matches!(
            s.secret_string("b").await,
            Err(SecretsError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn memory_store_manages_secrets() {
        let s = MemorySecrets::with_region("eu-west-1");
        let r = s
            .create(
                "db",
                &SecretString::new("hunter2"),
                Some("d"),
                &[Tag::stack("st")],
            )
            .await
            .unwrap();
        assert!(
            r.arn
                .starts_with("arn:aws:secretsmanager:eu-west-1:000000000000:secret:db-")
        );
        assert_eq!(s.secret_string(&r.arn).await.unwrap().expose(), "hunter2");
        let again = s
            .create(
                "db",
                &SecretString::new("hunter3"),
                None,
                &[Tag::stack("st")],
            )
            .await
            .unwrap();
        assert_eq!(again, r);
        assert_eq!(s.secret_string("db").await.unwrap().expose(), "hunter3");
        assert!(!format!("{s:?}").contains("hunter"));
        s.put_value("db", &SecretString::new("x")).await.unwrap();
        assert_eq!(s.describe(&r.arn).await.unwrap().name, "db");
        s.delete("db").await.unwrap();
        assert!(s.secret_string("db").await.unwrap_err().is_not_found());
    }

    #[test]
    fn secret_json_shape() {
        let j = dms_secret_json(
            "mariadb_server",
            3306,
            "admin",
            &SecretString::new("p\"w"),
            "dms_sample",
        );
        assert_eq!(
            j,
            r#"{"host":"mariadb_server","port":3306,"username":"admin","password":"p\"w","dbname":"dms_sample"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["password"], "p\"w");
    }
}
