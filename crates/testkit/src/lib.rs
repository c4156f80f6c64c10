//! dmsrs-testkit: private servers for dmsrs tests.
//!
//! Dev-only. Starts throw-away (or, on request, persistent) local servers
//! that tests talk to over the loopback interface:
//!
//! * [`MariaDbServer`]: a private `mariadbd` with the binlog settings AWS DMS
//!   needs (`log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`,
//!   `binlog_row_metadata=FULL`, a unique `server_id`), a password user with
//!   all privileges and a `dms_sample` database.
//! * [`MotoServer`]: `moto_server` 5.2.5 (through `scripts/moto_launcher.py`,
//!   which renders DMS dates as epoch seconds so the Rust AWS SDK accepts them)
//!   for DMS, RDS, EC2, Secrets Manager, IAM and Kinesis control-plane tests.
//! * [`KinesisMock`]: `kinesis-local` 0.6.2 (kinesis-mock) for the Kinesis
//!   data plane, with stream state transitions set to 0 ms.
//!
//! Everything is synchronous `std` code (no async runtime), binds loopback
//! addresses only, and cleans up on drop, also when a test panics. Child
//! processes run in their own process group and are additionally guarded by a
//! tiny watchdog (`sh`) that kills them when the test process dies without
//! running destructors (e.g. SIGKILL or a test-harness timeout).
//!
//! Prerequisites are installed by the idempotent `scripts/setup.sh`: MariaDB
//! server and client (apt), a Python venv in `<repo>/.tools/venv` with moto,
//! and `kinesis-local` in `<repo>/.tools/node`.
//!
//! ```no_run
//! use dmsrs_testkit::MariaDbServer;
//!
//! let db = MariaDbServer::builder().binlog_checksum("NONE").start()?;
//! db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY)")?;
//! let url = db.url_for_db("dms_sample"); // mysql://dmsrs:...@127.0.0.1:PORT/dms_sample
//! # let _ = url;
//! # Ok::<(), dmsrs_testkit::TestkitError>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

mod http;
mod kinesis;
mod mariadb;
mod moto;
mod process;

pub use http::{HttpResponse, aws_json_request, aws_query_request, http_get};
pub use kinesis::{KinesisMock, KinesisMockBuilder};
pub use mariadb::{MariaDbServer, MariaDbServerBuilder};
pub use moto::MotoServer;
pub use process::free_port;

/// Errors of the test kit. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A MariaDB program (`mariadbd`, `mariadb-install-db`, `mariadb`) is missing.
    #[error(
        "{program} not found: run scripts/setup.sh (or apt-get install mariadb-server mariadb-client)"
    )]
    MariaDbNotFound {
        /// The missing program.
        program: &'static str,
    },

    /// The moto venv (`.tools/venv`) is missing or incomplete.
    #[error("moto_server not installed (missing {}): run scripts/setup.sh", path.display())]
    MotoNotInstalled {
        /// The file that was looked for.
        path: PathBuf,
    },

    /// `node` or the `kinesis-local` npm package is missing.
    #[error("kinesis-local not installed (missing {what}): run scripts/setup.sh")]
    KinesisLocalNotInstalled {
        /// What was missing (`node` or the package's `main.js` path).
        what: String,
    },

    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// `mariadb-install-db` failed.
    #[error(
        "mariadb-install-db failed ({status}); check the MariaDB installation (scripts/setup.sh). Output:\n{output}"
    )]
    InstallDbFailed {
        /// Exit status.
        status: String,
        /// Its combined stdout/stderr (tail).
        output: String,
    },

    /// A server process exited before it became ready.
    #[error("{server} exited during startup ({status}); last lines of its log:\n{log_tail}")]
    ExitedEarly {
        /// Which server.
        server: &'static str,
        /// Exit status.
        status: String,
        /// Tail of its log (for MariaDB: the error log).
        log_tail: String,
    },

    /// A server did not become ready in time (it has been killed).
    #[error(
        "{server} did not become ready within {timeout:?} (the machine may be overloaded; a builder may allow a longer startup_timeout); last lines of its log:\n{log_tail}"
    )]
    StartTimeout {
        /// Which server.
        server: &'static str,
        /// The timeout that expired.
        timeout: Duration,
        /// Tail of its log.
        log_tail: String,
    },

    /// SQL run through the `mariadb` client failed.
    #[error("SQL failed ({status}): {stderr}\nSQL: {sql}")]
    Sql {
        /// The statement(s).
        sql: String,
        /// Exit status of the client.
        status: String,
        /// The client's error output.
        stderr: String,
    },

    /// A builder option has an unsupported value.
    #[error("invalid {option} {value:?}: expected one of {expected}")]
    InvalidOption {
        /// The option name.
        option: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },

    /// A persistent data dir exists, is not empty, and is not a MariaDB datadir.
    #[error(
        "data dir {} is not empty and holds no MariaDB datadir: pass an empty, missing or previously initialised directory",
        path.display()
    )]
    DataDirNotEmpty {
        /// The directory.
        path: PathBuf,
    },

    /// The server is stopped.
    #[error("{server} is stopped: call restart() first")]
    NotRunning {
        /// Which server.
        server: &'static str,
    },

    /// Only loopback addresses are allowed.
    #[error("refusing non-loopback address {0:?}: the test kit only talks to 127.0.0.1/localhost")]
    NotLoopback(String),

    /// A malformed HTTP response.
    #[error("bad HTTP response from {endpoint}: {detail}")]
    Http {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        detail: String,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = TestkitError> = std::result::Result<T, E>;

/// The workspace root: the nearest ancestor of this crate's manifest dir whose
/// `Cargo.toml` declares `[workspace]` (falls back to two levels up).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in manifest.ancestors() {
        let toml = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&toml)
            && text.lines().any(|l| l.trim() == "[workspace]")
        {
            return dir.to_path_buf();
        }
    }
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// A binary of this workspace that cargo built (`scenario`, `dms-server`), for end-to-end
/// tests: next to the running test's profile dir, else in `$CARGO_TARGET_DIR/debug` or
/// `<workspace>/target/debug`.
///
/// # Panics
/// When it is not built, with the `cargo build -p <package>` command that builds it.
pub fn workspace_binary(name: &str, package: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf));
    [
        profile_dir.map(|d| d.join(name)),
        Some(target.join("debug").join(name)),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("{name} is not built: run `cargo build -p {package}` first"))
}

/// The JSON a child process printed on stdout (`scenario --json`, ...).
///
/// # Panics
/// When the process failed, with its exit status, stdout and stderr; when stdout is not JSON.
pub fn json_stdout(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A clean AWS environment for a child process that talks to local emulators: static `test`
/// credentials, region us-east-1, no profile or config files (they would be read from
/// `scratch`, where none exist), no instance metadata lookups, no proxies for 127.0.0.1, and
/// none of the caller's per-service endpoint URLs, profiles or session variables.
pub fn offline_aws_env(cmd: &mut std::process::Command, scratch: &Path) {
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CA_BUNDLE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_KINESIS",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "DMS_SERVER_STATE_DIR",
        "DMSRS_STATE_DIR",
        "STACK_NAME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", scratch.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("no-aws-credentials"),
        )
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1");
}

/// The repo's tool dir: `$DMSRS_TOOLS_DIR` if set (and non-empty), else
/// `<workspace root>/.tools` (populated by `scripts/setup.sh`).
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("DMSRS_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".tools"),
    }
}
