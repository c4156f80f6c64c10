//! What a database should look like ([`DatabaseSpec`]), how it is named
//! ([`DatabaseId`]) and what exists ([`DatabaseInstance`]).

use std::collections::BTreeMap;

use dmsrs_secrets::SecretString;

use crate::error::{DatabaseError, Result};

/// Tag key put on every RDS resource this crate creates; its value is the stack name.
pub const STACK_TAG: &str = "dmsrs:stack";

/// Which database of which stack: the key every [`Database`](crate::Database)
/// method works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatabaseId {
    /// The stack (letters, digits, `-`; a letter first).
    pub stack: String,
    /// The database's logical name in the stack, e.g. `rds-instance`
    /// (letters, digits, `-`, `_`; a letter first).
    pub name: String,
}

impl DatabaseId {
    /// A database id.
    pub fn new(stack: impl Into<String>, name: impl Into<String>) -> Self {
        DatabaseId {
            stack: stack.into(),
            name: name.into(),
        }
    }

    /// Checks stack and name.
    pub fn validate(&self) -> Result<()> {
        let ok_stack = !self.stack.is_empty()
            && self.stack.len() <= 128
            && self.stack.starts_with(|c: char| c.is_ascii_alphabetic())
            && self
                .stack
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok_stack {
            return Err(DatabaseError::invalid(
                "stack",
                format!(
                    "{:?}: use 1-128 letters, digits and '-', starting with a letter",
                    self.stack
                ),
            ));
        }
        let ok_name = !self.name.is_empty()
            && self.name.len() <= 40
            && self.name.starts_with(|c: char| c.is_ascii_alphabetic())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name {
            return Err(DatabaseError::invalid(
                "name",
                format!(
                    "{:?}: use 1-40 letters, digits, '-' and '_', starting with a letter",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// The RDS DB instance identifier: `<stack>-<name>` in lower case, `_`
    /// as `-`, at most 63 characters (longer ones keep a prefix and get a
    /// hash suffix), as RDS requires.
    pub fn identifier(&self) -> String {
        let raw = format!("{}-{}", self.stack, self.name)
            .to_ascii_lowercase()
            .replace('_', "-");
        let mut id = String::with_capacity(raw.len());
        for c in raw.chars() {
            if !(c == '-' && id.ends_with('-')) {
                id.push(c);
            }
        }
        let id = id.trim_end_matches('-').to_owned();
        if id.len() <= 63 {
            return id;
        }
        let hash = raw.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        format!("{}-{:08x}", id[..54].trim_end_matches('-'), hash as u32)
    }

    /// The DB parameter group name: `<identifier>-params`.
    pub fn parameter_group_name(&self) -> String {
        format!("{}-params", self.identifier())
    }

    /// The DB subnet group name: `<identifier>-subnets`.
    pub fn subnet_group_name(&self) -> String {
        format!("{}-subnets", self.identifier())
    }
}

/// A MariaDB source database. [`DatabaseSpec::new`] gives the seed's RDS
/// instance: MariaDB 10.11, `db.m5.large`, 100 GB gp2, database
/// `dms_sample`, publicly accessible, master user `admin` with a generated
/// 30-character password, and the parameter group (family `mariadb10.11`)
/// with `binlog_format=ROW`, `binlog_row_image=FULL`, `binlog_checksum=NONE`.
///
/// `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSpec {
    /// Stack and logical name.
    pub id: DatabaseId,
    /// Engine version (seed: `10.11`; moto only knows 10.0-10.6).
    pub engine_version: String,
    /// Parameter group family; `None`: `mariadb<major>.<minor>` of
    /// [`engine_version`](Self::engine_version).
    pub parameter_group_family: Option<String>,
    /// Instance class (seed: `db.m5.large`).
    pub instance_class: String,
    /// Storage in GiB (seed: 100).
    pub allocated_storage_gb: u32,
    /// Storage type (seed: `gp2`).
    pub storage_type: String,
    /// Initial database (seed: `dms_sample`).
    pub db_name: String,
    /// Master user (seed: `admin`).
    pub master_username: String,
    /// Master password; `None`: a new one is generated when the database is
    /// created ([`generate_password`](crate::generate_password)).
    pub master_password: Option<SecretString>,
    /// Public endpoint (seed: true).
    pub publicly_accessible: bool,
    /// Subnets of the DB subnet group (the network's public subnets). Empty:
    /// no subnet group (the account's default VPC).
    pub subnet_ids: Vec<String>,
    /// VPC security groups.
    pub security_group_ids: Vec<String>,
    /// Server parameters (names as in RDS parameter groups).
    pub parameters: BTreeMap<String, String>,
    /// TCP port; `None`: the engine default (3306) on RDS, the recorded or a
    /// free port for the embedded server.
    pub port: Option<u16>,
}

impl DatabaseSpec {
    /// The seed's database `name` of `stack`.
    pub fn new(stack: impl Into<String>, name: impl Into<String>) -> Self {
        DatabaseSpec {
            id: DatabaseId::new(stack, name),
            engine_version: "10.11".into(),
            parameter_group_family: None,
            instance_class: "db.m5.large".into(),
            allocated_storage_gb: 100,
            storage_type: "gp2".into(),
            db_name: "dms_sample".into(),
            master_username: "admin".into(),
            master_password: None,
            publicly_accessible: true,
            subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
            parameters: dms_binlog_parameters(),
            port: None,
        }
    }

    /// Sets the engine version.
    pub fn with_engine_version(mut self, version: impl Into<String>) -> Self {
        self.engine_version = version.into();
        self
    }

    /// Sets the subnets of the DB subnet group and the security groups.
    pub fn with_network(
        mut self,
        subnet_ids: impl IntoIterator<Item = impl Into<String>>,
        security_group_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.subnet_ids = subnet_ids.into_iter().map(Into::into).collect();
        self.security_group_ids = security_group_ids.into_iter().map(Into::into).collect();
        self
    }

    /// Uses a known master password instead of generating one.
    pub fn with_master_password(mut self, password: SecretString) -> Self {
        self.master_password = Some(password);
        self
    }

    /// The parameter group family: the explicit one, else
    /// `mariadb<major>.<minor>` of the engine version.
    pub fn family(&self) -> String {
        if let Some(f) = &self.parameter_group_family {
            return f.clone();
        }
        let mut parts = self.engine_version.split('.');
        match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) => format!("mariadb{major}.{minor}"),
            _ => format!("mariadb{}", self.engine_version),
        }
    }

    /// Checks the spec; the error names the field and what is expected.
    pub fn validate(&self) -> Result<()> {
        self.id.validate()?;
        let version_ok = {
            let parts: Vec<&str> = self.engine_version.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        if !version_ok {
            return Err(DatabaseError::invalid(
                "engine_version",
                format!(
                    "{:?} is not a MariaDB version like 10.11 or 10.6.14",
                    self.engine_version
                ),
            ));
        }
        let ident = |field: &'static str, v: &str, max: usize| {
            let ok = !v.is_empty()
                && v.len() <= max
                && v.starts_with(|c: char| c.is_ascii_alphabetic())
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(())
            } else {
                Err(DatabaseError::invalid(
                    field,
                    format!("{v:?}: use 1-{max} letters, digits and '_', starting with a letter"),
                ))
            }
        };
        ident("db_name", &self.db_name, 64)?;
        ident("master_username", &self.master_username, 16)?;
        if let Some(p) = &self.master_password {
            let s = p.expose();
            if s.len() < 8
                || s.len() > 41
                || s.chars()
                    .any(|c| !c.is_ascii_graphic() || "/\"@'\\".contains(c))
            {
                return Err(DatabaseError::invalid(
                    "master_password",
                    "must be 8-41 printable ASCII characters without / \" @ ' \\ or spaces (value not shown)",
                ));
            }
        }
        if !(20..=65536).contains(&self.allocated_storage_gb) {
            return Err(DatabaseError::invalid(
                "allocated_storage_gb",
                format!("{} is outside 20..=65536 GiB", self.allocated_storage_gb),
            ));
        }
        for (k, v) in &self.parameters {
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                || v.contains(['\n', '\r'])
            {
                return Err(DatabaseError::invalid(
                    "parameters",
                    format!("{k:?}: names use letters, digits, '_', '-', '.'; values are one line"),
                ));
            }
        }
        if self.port == Some(0) {
            return Err(DatabaseError::invalid("port", "0 is not a valid port"));
        }
        Ok(())
    }
}

/// The binlog parameters DMS CDC needs, as the seed sets them:
/// `binlog_format=ROW`, `binlog_row_image=FULL`, `binlog_checksum=NONE`.
pub fn dms_binlog_parameters() -> BTreeMap<String, String> {
    [
        ("binlog_checksum", "NONE"),
        ("binlog_format", "ROW"),
        ("binlog_row_image", "FULL"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A database that exists. `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInstance {
    /// RDS identifier (embedded: the same `<stack>-<name>` form).
    pub identifier: String,
    /// Endpoint host (embedded: `127.0.0.1`). Empty while RDS has not
    /// assigned one yet.
    pub host: String,
    /// Endpoint port (0 while RDS has not assigned one yet).
    pub port: u16,
    /// Master user.
    pub master_username: String,
    /// Master password, when known: generated or given on creation, given in
    /// the spec, or (embedded) remembered in the server's folder. `None` for
    /// an existing RDS instance whose password the caller did not pass:
    /// it was returned when the instance was created; if it was lost, reset
    /// it with `RdsDatabase::reset_master_password` (feature `aws`).
    pub password: Option<SecretString>,
    /// Initial database.
    pub db_name: String,
    /// `mariadb`.
    pub engine: String,
    /// Engine version as reported (RDS: `10.11.x`; embedded: the server's
    /// `VERSION()`).
    pub engine_version: String,
    /// Status: RDS's (`creating`, `available`, ...); embedded: `available`
    /// or `stopped`.
    pub status: String,
    /// ARN (RDS only).
    pub arn: Option<String>,
    /// True if this `ensure` call created the database.
    pub created: bool,
}

impl DatabaseInstance {
    /// Whether the status is `available`.
    pub fn is_available(&self) -> bool {
        self.status == "available"
    }

    /// The DMS secret JSON `{host, port, username, password, dbname}` for a
    /// source endpoint, if the password is known. The result contains the
    /// password: store it in a secret store, never log it.
    pub fn dms_secret_json(&self) -> Option<SecretString> {
        let password = self.password.as_ref()?;
        Some(SecretString::new(dmsrs_secrets::dms_secret_json(
            &self.host,
            self.port,
            &self.master_username,
            password,
            &self.db_name,
        )))
    }
}

/// One resource deleted by [`Database::destroy`](crate::Database::destroy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedResource {
    /// `db-instance`, `db-subnet-group`, `db-parameter-group`,
    /// `embedded-server`, `state-folder`.
    pub kind: String,
    /// Its name or path.
    pub id: String,
}

/// What [`Database::destroy`](crate::Database::destroy) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestroyReport {
    /// Deleted resources, in order. Empty when nothing was left.
    pub deleted: Vec<DeletedResource>,
}

impl DestroyReport {
    pub(crate) fn push(&mut self, kind: &str, id: impl Into<String>) {
        self.deleted.push(DeletedResource {
            kind: kind.into(),
            id: id.into(),
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seed_spec() {
        let s = DatabaseSpec::new("DMsSampleSetupStack", "rds_instance");
        assert!(s.validate().is_ok());
        assert_eq!(s.family(), "mariadb10.11");
        assert_eq!(s.id.identifier(), "dmssamplesetupstack-rds-instance");
        assert_eq!(
            s.id.parameter_group_name(),
            "dmssamplesetupstack-rds-instance-params"
        );
        assert_eq!(
            s.clone().with_engine_version("10.6.14").family(),
            "mariadb10.6"
        );
        assert_eq!(
            s.parameters.get("binlog_row_image").map(String::as_str),
            Some("FULL")
        );
    }

    #[test]
    fn identifiers_fit_rds_rules() {
        let id = DatabaseId::new("A".repeat(100), "db");
        let ident = id.identifier();
        assert!(
            ident.len() <= 63 && !ident.ends_with('-') && !ident.contains("--"),
            "{ident}"
        );
        assert_ne!(ident, DatabaseId::new("A".repeat(99), "db").identifier());
        assert_eq!(DatabaseId::new("a-", "_b").identifier(), "a-b");
    }

    #[test]
    fn invalid_specs() {
        let bad = |f: fn(&mut DatabaseSpec)| {
            let mut s = DatabaseSpec::new("s", "db");
            f(&mut s);
            s.validate().unwrap_err()
        };
        assert!(bad(|s| s.id.name = "1x".into()).is_user_error());
        bad(|s| s.engine_version = "latest".into());
        bad(|s| s.db_name = "dms-sample".into());
        bad(|s| s.allocated_storage_gb = 5);
        bad(|s| s.port = Some(0));
        let e = bad(|s| s.master_password = Some(SecretString::new("has space x")));
        assert!(!e.to_string().contains("has space"));
        let s =
            DatabaseSpec::new("s", "db").with_master_password(SecretString::new("hunter2hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
