//! # dmsrs-secrets
//!
//! Database credentials for DMS source endpoints, stored as Secrets Manager secrets of the
//! DMS shape `{"host", "port", "username", "password", "dbname"}`.
//!
//! * [`SecretString`]: a value that never shows in `Debug`, `Display`, logs or errors.
//! * [`SecretSource`]: reads a secret by ARN or name; implemented by [`MemorySecrets`] here
//!   (and by the file store and AWS Secrets Manager implementations).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use thiserror::Error;

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

/// Errors of the secrets crate. Messages name the secret (its ARN or name), never its value.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// No secret with this id.
    #[error("secret {0} not found: check the ARN or name, or run `scenario deploy`")]
    NotFound(String),
    /// The store could not be read or written.
    #[error("secret store: {0}")]
    Store(String),
    /// A remote service failed; retrying may help.
    #[error("secrets service: {0}")]
    Service(String),
}

impl SecretsError {
    /// True when retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretsError::Service(_))
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
#[derive(Clone, Default)]
pub struct MemorySecrets {
    inner: Arc<Mutex<BTreeMap<String, SecretString>>>,
}

impl fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.inner.lock().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        f.debug_struct("MemorySecrets").field("secrets", &names).finish()
    }
}

impl MemorySecrets {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores (or replaces) a secret.
    pub fn put(&self, secret_id: impl Into<String>, value: impl Into<String>) {
        if let Ok(mut m) = self.inner.lock() {
            m.insert(secret_id.into(), SecretString::new(value));
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for MemorySecrets {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, SecretsError> {
        let m = self.inner.lock().map_err(|_| SecretsError::Store("lock poisoned".into()))?;
        m.get(secret_id).cloned().ok_or_else(|| SecretsError::NotFound(secret_id.to_owned()))
    }
}

/// The DMS secret shape for MySQL/MariaDB endpoints, serialised with the seed's key order
/// `{host, port, username, password, dbname}`.
pub fn dms_secret_json(host: &str, port: u16, username: &str, password: &SecretString, dbname: &str) -> String {
    serde_json::json!({
        "host": host,
        "port": port,
        "username": username,
        "password": password.expose(),
        "dbname": dbname,
    })
    .to_string()
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
        assert!(matches!(s.secret_string("b").await, Err(SecretsError::NotFound(_))));
    }
}
