//! # dmsrs-database
//!
//! The source databases of a dmsrs deployment, behind one trait,
//! [`Database`], plus SQL access:
//!
//! * `RdsDatabase` (feature `aws`, aws-sdk-rds): the seed's RDS MariaDB
//!   instance with its DB parameter group (binlog settings for DMS CDC) and
//!   DB subnet group.
//! * [`EmbeddedMariaDb`]: the embedded twin, a private `mariadbd` under the
//!   deployment's state folder with the same binlog settings, which keeps
//!   running between commands.
//! * [`SqlClient`] (sqlx, MySQL driver): batches in one transaction, text
//!   rows for checks, binlog status.
//!
//! Master passwords are generated like the seed's CDK secret
//! ([`generate_password`]: 30 characters, the seed's excluded characters)
//! and returned in [`DatabaseInstance::password`] as a
//! [`SecretString`](dmsrs_secrets::SecretString), so the caller stores them
//! (e.g. as the DMS secret, [`DatabaseInstance::dms_secret_json`]). They never
//! appear in `Debug` output, logs or errors.
//!
//! ```no_run
//! use dmsrs_database::{Database, DatabaseSpec, EmbeddedMariaDb, SqlClient};
//! # async fn demo() -> dmsrs_database::Result<()> {
//! let db = EmbeddedMariaDb::new("/var/lib/dmsrs/my-deployment");
//! let instance = db.ensure(&DatabaseSpec::new("DMsSampleSetupStack", "rds_instance")).await?;
//! let mut sql = SqlClient::connect_instance(&instance).await?;
//! sql.execute_batch(&["CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)"]).await?;
//! assert_eq!(sql.query_u64("SELECT COUNT(*) FROM t").await?, 1);
//! # Ok(()) }
//! ```

mod embedded;
mod error;
mod password;
mod spec;
mod sql;

#[cfg(feature = "aws")]
mod rds;

use std::time::Duration;

pub use embedded::EmbeddedMariaDb;
pub use error::{DatabaseError, ErrorClass, Result};
pub use password::{EXCLUDED_CHARACTERS, PASSWORD_LENGTH, generate_password, generate_password_of};
pub use spec::{
    DatabaseId, DatabaseInstance, DatabaseSpec, DeletedResource, DestroyReport, STACK_TAG,
    dms_binlog_parameters,
};
pub use sql::{BinlogStatus, CONNECT_TIMEOUT, ColumnInfo, SqlClient, SqlRow};

#[cfg(feature = "aws")]
pub use rds::RdsDatabase;

/// A MariaDB source database of a deployment.
///
/// Contract, for every implementation:
///
/// * [`ensure`](Database::ensure) is idempotent: it finds the database of
///   `spec.id` (and its companions, e.g. parameter and subnet groups) and
///   reuses it, or creates what is missing. It may return before the
///   database accepts connections ([`DatabaseInstance::status`] tells);
///   [`wait_available`](Database::wait_available) waits for that. When it
///   creates the database with a generated password, the password is in
///   [`DatabaseInstance::password`] and `created` is true: store it then.
/// * [`wait_available`](Database::wait_available) returns once the database
///   is `available`, or fails with [`DatabaseError::Timeout`] (naming the
///   last status), [`DatabaseError::Failed`] for states it will not leave,
///   or [`DatabaseError::NotFound`].
/// * [`describe`](Database::describe) changes nothing; `Ok(None)`: no such
///   database.
/// * [`destroy`](Database::destroy) deletes the database and its companions
///   without a final snapshot, tolerating parts that are already gone; a
///   second call deletes nothing and succeeds.
/// * Passwords never appear in errors, logs or `Debug` output.
#[async_trait::async_trait]
pub trait Database: Send + Sync + std::fmt::Debug {
    /// Creates or finds the database of `spec`.
    async fn ensure(&self, spec: &DatabaseSpec) -> Result<DatabaseInstance>;

    /// Waits up to `timeout` until the database of `id` is available.
    async fn wait_available(&self, id: &DatabaseId, timeout: Duration) -> Result<DatabaseInstance>;

    /// The database of `id`, if it exists (changes nothing).
    async fn describe(&self, id: &DatabaseId) -> Result<Option<DatabaseInstance>>;

    /// Deletes the database of `id` and its companions.
    async fn destroy(&self, id: &DatabaseId) -> Result<DestroyReport>;
}
