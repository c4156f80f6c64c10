//! Errors of the database crate.

use std::path::PathBuf;
use std::time::Duration;

/// Who can fix an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The caller's input, credentials, permissions, quotas or machine setup:
    /// fix and run again.
    User,
    /// A temporary condition (throttling, network, a resource still changing
    /// state): running the same call again later may succeed.
    Transient,
    /// A bug or an unexpected answer: report it.
    Internal,
}

/// Errors of [`Database`](crate::Database) implementations and [`SqlClient`](crate::SqlClient).
///
/// Messages say what failed and what to do. They never contain a password:
/// connection targets are shown as `user@host:port/db`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// A [`DatabaseSpec`](crate::DatabaseSpec) value is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidSpec {
        /// The offending field.
        field: &'static str,
        /// Why, and what is expected.
        reason: String,
    },

    /// An existing resource does not match the spec and cannot be reused.
    #[error(
        "{what}: run `destroy` for this database (or delete the resource by hand) and deploy again"
    )]
    Conflict {
        /// What is wrong, naming the resource.
        what: String,
    },

    /// The database does not exist.
    #[error("database {identifier} does not exist: run `deploy` first")]
    NotFound {
        /// Its identifier.
        identifier: String,
    },

    /// The database is in a state it will not leave by itself.
    #[error(
        "database {identifier} is {status}: check it in the RDS console or its error log, fix the cause, or destroy and deploy it again"
    )]
    Failed {
        /// Its identifier.
        identifier: String,
        /// Its status.
        status: String,
    },

    /// The database did not become available in time.
    #[error(
        "database {identifier} is not available after {waited:?} (last status: {last_status}): wait longer (RDS creation often takes 5-15 minutes) and run the command again"
    )]
    Timeout {
        /// Its identifier.
        identifier: String,
        /// How long was waited.
        waited: Duration,
        /// The status seen last.
        last_status: String,
    },

    /// An AWS call failed.
    #[error(
        "{service} {operation} failed{}: {message}{}",
        code_suffix(code),
        hint_suffix(hint)
    )]
    Aws {
        /// `RDS`.
        service: &'static str,
        /// The API operation.
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

    /// Connecting to the database failed.
    #[error("cannot connect to {target}: {source}{}", connect_hint(source))]
    Connect {
        /// `user@host:port/db` (never the password).
        target: String,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },

    /// A statement failed.
    #[error("SQL on {target} failed: {source}; statement: {statement}")]
    Sql {
        /// `user@host:port/db`.
        target: String,
        /// The statement (shortened).
        statement: String,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },

    /// A statement of [`SqlClient::execute_batch`](crate::SqlClient::execute_batch)
    /// failed; the whole batch was rolled back (except DDL, which MariaDB commits
    /// implicitly).
    #[error(
        "statement {index} of the batch on {target} failed, transaction rolled back: {source}; statement: {statement}"
    )]
    Batch {
        /// `user@host:port/db`.
        target: String,
        /// 0-based index in the batch.
        index: usize,
        /// The statement (shortened).
        statement: String,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },

    /// A MariaDB program is missing.
    #[error(
        "{program} not found: install MariaDB (scripts/setup.sh, or apt-get install mariadb-server mariadb-client)"
    )]
    ProgramMissing {
        /// The program.
        program: &'static str,
    },

    /// The embedded server could not be started.
    #[error("embedded MariaDB in {} did not start: {detail}; last lines of its error log:\n{log_tail}", dir.display())]
    ServerStart {
        /// Its folder.
        dir: PathBuf,
        /// What happened.
        detail: String,
        /// Tail of `error.log`.
        log_tail: String,
    },

    /// A state file of the embedded server is unreadable.
    #[error("state file {} is damaged ({detail}): run `destroy` for this database, or remove the folder by hand", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random source failed.
    #[error("cannot read random bytes from the operating system: {0}")]
    Random(String),

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

fn connect_hint(e: &sqlx::Error) -> &'static str {
    match sql_class(e) {
        ErrorClass::Transient => {
            " - check that the server runs, that host and port are right and reachable (security group, public access), then retry"
        }
        ErrorClass::User => " - check the user name, the password and the database name",
        ErrorClass::Internal => "",
    }
}

/// Classifies a driver error.
fn sql_class(e: &sqlx::Error) -> ErrorClass {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorClass::Transient,
        sqlx::Error::Database(db) => {
            // Lock wait timeout, deadlock, too many connections, server shutdown.
            match db.code().as_deref() {
                Some("HY000" | "40001" | "08S01" | "08004") => match db.message() {
                    m if m.contains("Lock wait timeout")
                        || m.contains("Deadlock")
                        || m.contains("Too many connections")
                        || m.contains("shutdown") =>
                    {
                        ErrorClass::Transient
                    }
                    _ => ErrorClass::User,
                },
                _ => ErrorClass::User,
            }
        }
        sqlx::Error::Configuration(_)
        | sqlx::Error::RowNotFound
        | sqlx::Error::ColumnNotFound(_) => ErrorClass::User,
        _ => ErrorClass::Internal,
    }
}

impl DatabaseError {
    /// Who can fix it.
    pub fn class(&self) -> ErrorClass {
        match self {
            DatabaseError::InvalidSpec { .. }
            | DatabaseError::Conflict { .. }
            | DatabaseError::NotFound { .. }
            | DatabaseError::Failed { .. }
            | DatabaseError::ProgramMissing { .. }
            | DatabaseError::State { .. } => ErrorClass::User,
            DatabaseError::Timeout { .. } | DatabaseError::ServerStart { .. } => {
                ErrorClass::Transient
            }
            DatabaseError::Aws { class, .. } => *class,
            DatabaseError::Connect { source, .. }
            | DatabaseError::Sql { source, .. }
            | DatabaseError::Batch { source, .. } => sql_class(source),
            DatabaseError::Io { .. }
            | DatabaseError::Random(_)
            | DatabaseError::Unexpected { .. } => ErrorClass::Internal,
        }
    }

    /// True when running the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// True when the caller (input, credentials, setup) must act.
    pub fn is_user_error(&self) -> bool {
        self.class() == ErrorClass::User
    }

    /// The AWS error code, if this is an AWS error that carried one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            DatabaseError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DatabaseError::InvalidSpec {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        DatabaseError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = DatabaseError> = std::result::Result<T, E>;

#[cfg(feature = "aws")]
pub(crate) mod sdk {
    //! Conversion of AWS SDK errors into [`DatabaseError`].

    use super::{DatabaseError, ErrorClass};
    use aws_sdk_rds::config::http::HttpResponse;
    use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

    /// Converts an SDK error.
    pub(crate) fn convert<E>(
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> DatabaseError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (code, message, class, hint) = match &err {
            SdkError::ServiceError(ctx) => {
                let e = ctx.err();
                let code = e.code().map(str::to_owned);
                let message = e
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
                let (mut class, mut hint) = classify_code(code.as_deref());
                if ctx.raw().status().is_server_error() && class != ErrorClass::Transient {
                    class = ErrorClass::Transient;
                    hint = Some("the service failed internally; run the command again in a minute");
                }
                (code, message, class, hint)
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (
                None,
                DisplayErrorContext(&err).to_string(),
                ErrorClass::Transient,
                Some(
                    "could not reach the AWS endpoint: check the network, the region and AWS_ENDPOINT_URL, then retry",
                ),
            ),
            SdkError::ResponseError(_) => (
                None,
                DisplayErrorContext(&err).to_string(),
                ErrorClass::Transient,
                Some(
                    "the endpoint sent an unreadable answer; retry, and check that the endpoint is AWS or a compatible emulator",
                ),
            ),
            _ => (
                None,
                DisplayErrorContext(&err).to_string(),
                ErrorClass::User,
                Some(
                    "the request could not be built: check the AWS configuration (region, credentials)",
                ),
            ),
        };
        DatabaseError::Aws {
            service: "RDS",
            operation,
            code,
            message,
            hint,
            class,
        }
    }

    fn classify_code(code: Option<&str>) -> (ErrorClass, Option<&'static str>) {
        let Some(code) = code else {
            return (ErrorClass::Internal, None);
        };
        match code {
            "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InvalidDBInstanceState"
            | "InvalidDBSubnetGroupStateFault"
            | "InvalidDBParameterGroupState"
            | "InvalidDBInstanceStateFault" => (
                ErrorClass::Transient,
                Some("a temporary condition; run the command again in a minute"),
            ),
            "AccessDenied"
            | "AccessDeniedException"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "AuthFailure" => (
                ErrorClass::User,
                Some("check the AWS credentials and that they allow this action"),
            ),
            "InstanceQuotaExceeded"
            | "StorageQuotaExceeded"
            | "DBParameterGroupQuotaExceeded"
            | "DBSubnetGroupQuotaExceeded" => (
                ErrorClass::User,
                Some("an RDS quota is reached: delete unused resources or raise the quota"),
            ),
            "InvalidParameterCombination" | "InvalidParameterValue" => (
                ErrorClass::User,
                Some("check the engine version, instance class and storage of the database spec"),
            ),
            _ => (ErrorClass::User, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let io = DatabaseError::Connect {
            target: "admin@h:1/db".into(),
            source: sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "refused",
            )),
        };
        assert!(io.is_retryable());
        assert!(io.to_string().contains("check that the server runs"));
        assert!(DatabaseError::invalid("name", "x").is_user_error());
        let t = DatabaseError::Timeout {
            identifier: "db".into(),
            waited: Duration::from_secs(1),
            last_status: "creating".into(),
        };
        assert!(t.is_retryable() && t.to_string().contains("creating"));
    }
}
