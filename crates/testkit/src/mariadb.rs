//! Private MariaDB servers.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::process::{
    ManagedProcess, find_program, free_port, is_root, log_tail, looks_like_addr_in_use,
};
use crate::{Result, TestkitError};

const USER: &str = "dmsrs";
const PASSWORD: &str = "dmsrs-pass";
const HOST: &str = "127.0.0.1";
/// Bumped whenever [`BOOTSTRAP_CNF`] or [`BOOTSTRAP_SQL`] change meaning.
const TEMPLATE_REV: u32 = 1;
const START_ATTEMPTS: usize = 5;
const STOP_GRACE: Duration = Duration::from_secs(10);
const SERVER_ID_FILE: &str = "dmsrs-testkit-server-id";
const PROGRAM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

/// Server settings shared by `mariadb-install-db` and `mariadbd`: small and fast.
const BOOTSTRAP_CNF: &str = "\
[mysqld]
innodb_buffer_pool_size=64M
innodb_log_file_size=4M
innodb_log_buffer_size=2M
innodb_data_file_path=ibdata1:12M:autoextend
innodb_temp_data_file_path=ibtmp1:4M:autoextend
innodb_undo_tablespaces=0
innodb_use_native_aio=0
innodb_buffer_pool_dump_at_shutdown=OFF
innodb_buffer_pool_load_at_startup=OFF
performance_schema=OFF
skip-name-resolve
";

/// Run by `mariadb-install-db --extra-file`. Bootstrap runs without grant
/// tables, so the user is inserted the way the install scripts insert root.
const BOOTSTRAP_SQL: &str = "\
INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'dmsrs', \
CONCAT('{\"access\":18446744073709551615,\"plugin\":\"mysql_native_password\",\"authentication_string\":\"', \
PASSWORD('dmsrs-pass'), '\"}'));
CREATE DATABASE dms_sample;
";

#[derive(Debug, Clone)]
struct Programs {
    mariadbd: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
}

impl Programs {
    fn find() -> Result<Self> {
        let find = |name: &'static str| {
            find_program(name, PROGRAM_DIRS).ok_or(TestkitError::MariaDbNotFound { program: name })
        };
        Ok(Programs {
            mariadbd: find("mariadbd")?,
            install_db: find("mariadb-install-db")?,
            client: find("mariadb")?,
        })
    }
}

/// Options for a [`MariaDbServer`]; create with [`MariaDbServer::builder`].
#[derive(Debug, Clone)]
pub struct MariaDbServerBuilder {
    server_id: Option<u32>,
    binlog_checksum: Option<String>,
    binlog_row_metadata: String,
    log_bin: bool,
    data_dir: Option<PathBuf>,
    port: Option<u16>,
    extra_args: Vec<String>,
    startup_timeout: Duration,
}

impl Default for MariaDbServerBuilder {
    fn default() -> Self {
        MariaDbServerBuilder {
            server_id: None,
            binlog_checksum: None,
            binlog_row_metadata: "FULL".into(),
            log_bin: true,
            data_dir: None,
            port: None,
            extra_args: Vec::new(),
            startup_timeout: Duration::from_secs(30),
        }
    }
}

impl MariaDbServerBuilder {
    /// `server_id` of the server. Default: the id stored in a persistent
    /// data dir by an earlier start, else the server's port (unique among
    /// servers running at the same time).
    pub fn server_id(mut self, id: u32) -> Self {
        self.server_id = Some(id);
        self
    }

    /// `binlog_checksum`: `"NONE"` or `"CRC32"`. Default: the server default (CRC32).
    pub fn binlog_checksum(mut self, checksum: impl Into<String>) -> Self {
        self.binlog_checksum = Some(checksum.into());
        self
    }

    /// `binlog_row_metadata`: `"FULL"` (default), `"MINIMAL"` or `"NO_LOG"`.
    pub fn binlog_row_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.binlog_row_metadata = metadata.into();
        self
    }

    /// Enable the binary log (`--log-bin=mysql-bin`, in the data dir). Default: true.
    pub fn log_bin(mut self, enabled: bool) -> Self {
        self.log_bin = enabled;
        self
    }

    /// Use a persistent data dir: initialised on first use (it must be
    /// missing or empty then), reused as is when it already holds a MariaDB
    /// datadir, and never deleted. Binlogs live in it too. Default: a
    /// temporary dir removed on drop.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// TCP port on 127.0.0.1. Default: a free port (a new one is tried if it
    /// turns out to be taken).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Extra `mariadbd` command-line arguments (e.g. `--gtid-domain-id=3`),
    /// appended after the kit's own settings so they override them.
    pub fn extra_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// How long to wait for the server to accept connections. Default: 30 s.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Initialises (if needed) and starts the server; returns once it
    /// accepts connections.
    pub fn start(self) -> Result<MariaDbServer> {
        MariaDbServer::launch(self)
    }

    fn validate(&mut self) -> Result<()> {
        if let Some(c) = &self.binlog_checksum {
            let upper = c.to_ascii_uppercase();
            if !matches!(upper.as_str(), "NONE" | "CRC32") {
                return Err(TestkitError::InvalidOption {
                    option: "binlog_checksum",
                    value: c.clone(),
                    expected: "NONE, CRC32",
                });
            }
            self.binlog_checksum = Some(upper);
        }
        let upper = self.binlog_row_metadata.to_ascii_uppercase();
        if !matches!(upper.as_str(), "FULL" | "MINIMAL" | "NO_LOG") {
            return Err(TestkitError::InvalidOption {
                option: "binlog_row_metadata",
                value: self.binlog_row_metadata.clone(),
                expected: "FULL, MINIMAL, NO_LOG",
            });
        }
        self.binlog_row_metadata = upper;
        if self.server_id == Some(0) {
            return Err(TestkitError::InvalidOption {
                option: "server_id",
                value: "0".into(),
                expected: "1..=4294967295 (0 disables replication)",
            });
        }
        Ok(())
    }
}

/// A private `mariadbd` bound to 127.0.0.1, for tests.
///
/// Started with `--log-bin=mysql-bin --binlog-format=ROW
/// --binlog-row-image=FULL --binlog-row-metadata=FULL --server-id=N`
/// (adjustable through [`MariaDbServerBuilder`]), small InnoDB settings,
/// `innodb_flush_log_at_trx_commit=2` and `sync_binlog=0` (committed data
/// survives a process crash, not an OS crash), and `skip-name-resolve`.
///
/// The user [`user()`](Self::user)/[`password()`](Self::password) has ALL
/// PRIVILEGES WITH GRANT OPTION from any host; the database `dms_sample`
/// exists. `root@localhost` has no password (used by [`execute`](Self::execute)
/// over the unix socket).
///
/// A fresh datadir is a copy of a template made once by
/// `mariadb-install-db` and cached in `<tools dir>/cache/` (keyed by the
/// MariaDB version and the kit's settings), so a start takes well under a
/// second. On drop (also when a test panics) the server is stopped and its
/// temporary dir removed: a server with a persistent
/// [`data_dir`](MariaDbServerBuilder::data_dir) is shut down gracefully
/// (SIGTERM, up to 10 s, then SIGKILL) and its datadir kept; a server with a
/// temporary datadir is simply SIGKILLed, since its datadir is deleted anyway.
#[derive(Debug)]
pub struct MariaDbServer {
    programs: Programs,
    options: MariaDbServerBuilder,
    /// Socket, pid file, config and logs; also the data dir unless persistent.
    run_dir: tempfile::TempDir,
    data_dir: PathBuf,
    port: u16,
    server_id: u32,
    process: Option<ManagedProcess>,
    last_start: Duration,
}

impl MariaDbServer {
    /// Starts a server with default options (see [`MariaDbServerBuilder`]).
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    /// Options for a server.
    pub fn builder() -> MariaDbServerBuilder {
        MariaDbServerBuilder::default()
    }

    fn launch(mut options: MariaDbServerBuilder) -> Result<Self> {
        let t0 = Instant::now();
        options.validate()?;
        let programs = Programs::find()?;
        let run_dir = tempfile::Builder::new()
            .prefix("dmsrs-mariadb-")
            .tempdir()
            .map_err(|e| TestkitError::io("creating a temporary dir for mariadbd", e))?;

        let (data_dir, stored_id) = match &options.data_dir {
            Some(dir) => {
                let dir = absolute(dir)?;
                if !is_initialised(&dir) {
                    if dir.exists() && !is_empty_dir(&dir)? {
                        return Err(TestkitError::DataDirNotEmpty { path: dir });
                    }
                    populate_data_dir(&programs, &dir)?;
                }
                let stored = std::fs::read_to_string(dir.join(SERVER_ID_FILE))
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok());
                (dir, stored)
            }
            None => {
                let dir = run_dir.path().join("data");
                populate_data_dir(&programs, &dir)?;
                (dir, None)
            }
        };

        let mut server = MariaDbServer {
            programs,
            options,
            run_dir,
            data_dir,
            port: 0,
            server_id: 0,
            process: None,
            last_start: Duration::ZERO,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            server.port = match server.options.port {
                Some(p) => p,
                None => free_port()?,
            };
            server.server_id = server
                .options
                .server_id
                .or(stored_id)
                .unwrap_or(u32::from(server.port));
            match server.spawn_and_wait() {
                Ok(()) => break,
                Err(e) => {
                    let retry = server.options.port.is_none()
                        && attempt < START_ATTEMPTS
                        && matches!(&e, TestkitError::ExitedEarly { log_tail, .. } if looks_like_addr_in_use(log_tail));
                    if !retry {
                        return Err(e);
                    }
                    tracing::debug!("dmsrs-testkit: port {} taken, retrying: {e}", server.port);
                }
            }
        }
        if server.is_persistent() {
            let _ = std::fs::write(
                server.data_dir.join(SERVER_ID_FILE),
                format!("{}\n", server.server_id),
            );
        }
        server.last_start = t0.elapsed();
        tracing::debug!(
            "dmsrs-testkit: mariadbd ready on 127.0.0.1:{} (server_id {}) in {:?}",
            server.port,
            server.server_id,
            server.last_start
        );
        Ok(server)
    }

    fn cnf_path(&self) -> PathBuf {
        self.run_dir.path().join("server.cnf")
    }

    /// Path of the server's error log (inside the temporary run dir).
    pub fn error_log_path(&self) -> PathBuf {
        self.run_dir.path().join("error.log")
    }

    fn write_cnf(&self) -> Result<()> {
        let o = &self.options;
        let mut cnf = String::from(BOOTSTRAP_CNF);
        let mut set = |k: &str, v: &dyn std::fmt::Display| cnf.push_str(&format!("{k}={v}\n"));
        set("datadir", &self.data_dir.display());
        set("socket", &self.socket_path().display());
        set(
            "pid-file",
            &self.run_dir.path().join("mysqld.pid").display(),
        );
        set("log-error", &self.error_log_path().display());
        set("port", &self.port);
        set("bind-address", &HOST);
        set("server-id", &self.server_id);
        set("innodb_flush_log_at_trx_commit", &2);
        set("sync_binlog", &0);
        set("max_connections", &200);
        set("binlog-format", &"ROW");
        set("binlog-row-image", &"FULL");
        set("binlog-row-metadata", &o.binlog_row_metadata);
        set("log-bin-compress", &"OFF");
        if o.log_bin {
            set("log-bin", &"mysql-bin");
        }
        if let Some(c) = &o.binlog_checksum {
            set("binlog-checksum", c);
        }
        std::fs::write(self.cnf_path(), cnf)
            .map_err(|e| TestkitError::io("writing mariadbd's config file", e))
    }

    fn spawn_and_wait(&mut self) -> Result<()> {
        let t0 = Instant::now();
        self.write_cnf()?;
        let out_path = self.run_dir.path().join("mariadbd.out");
        let out = std::fs::File::create(&out_path)
            .map_err(|e| TestkitError::io("creating mariadbd's output file", e))?;
        let err = out
            .try_clone()
            .map_err(|e| TestkitError::io("cloning a file handle", e))?;
        let mut cmd = Command::new(&self.programs.mariadbd);
        cmd.arg(format!("--defaults-file={}", self.cnf_path().display()));
        if is_root() {
            cmd.arg("--user=root");
        }
        cmd.args(&self.options.extra_args)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let mut process = ManagedProcess::spawn(cmd, "mariadbd", Some(self.run_dir.path()))?;

        let tail = |me: &Self| {
            let mut t = log_tail(&me.error_log_path(), 30);
            let o = log_tail(&out_path, 10);
            if !o.is_empty() {
                t.push_str("\n-- stdout/stderr --\n");
                t.push_str(&o);
            }
            t
        };
        let deadline = t0 + self.options.startup_timeout;
        loop {
            if let Some(status) = process.try_wait() {
                return Err(TestkitError::ExitedEarly {
                    server: "mariadbd",
                    status: status.to_string(),
                    log_tail: tail(self),
                });
            }
            if greets(&self.socket_path()) {
                self.process = Some(process);
                self.last_start = t0.elapsed();
                return Ok(());
            }
            if Instant::now() >= deadline {
                process.kill();
                return Err(TestkitError::StartTimeout {
                    server: "mariadbd",
                    timeout: self.options.startup_timeout,
                    log_tail: tail(self),
                });
            }
            std::thread::sleep(Duration::from_millis(15));
        }
    }

    /// `mysql://USER:PASSWORD@127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("mysql://{USER}:{PASSWORD}@{HOST}:{}/", self.port)
    }

    /// `mysql://USER:PASSWORD@127.0.0.1:PORT/DB`
    pub fn url_for_db(&self, db: &str) -> String {
        format!("{}{db}", self.url())
    }

    /// Always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The test user (ALL PRIVILEGES WITH GRANT OPTION, any host).
    pub fn user(&self) -> &str {
        USER
    }

    /// The test user's password.
    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// The unix socket (inside the temporary run dir).
    pub fn socket_path(&self) -> PathBuf {
        self.run_dir.path().join("mysqld.sock")
    }

    /// The MariaDB datadir (also where the `mysql-bin.*` binlogs are).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether the data dir is persistent (kept on drop).
    pub fn is_persistent(&self) -> bool {
        self.options.data_dir.is_some()
    }

    /// The server's `server_id`.
    pub fn server_id(&self) -> u32 {
        self.server_id
    }

    /// How long the last start (or restart) took until the server accepted
    /// connections; for the first start this includes preparing the data dir.
    pub fn startup_duration(&self) -> Duration {
        self.last_start
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.try_wait().is_none())
    }

    /// Pid of `mariadbd`, if running.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ManagedProcess::pid)
    }

    fn client(&self, extra: &[&str], sql: &str) -> Result<String> {
        if self.process.is_none() {
            return Err(TestkitError::NotRunning { server: "mariadbd" });
        }
        let mut child = Command::new(&self.programs.client)
            .arg("--no-defaults")
            .arg("--protocol=socket")
            .arg(format!("--socket={}", self.socket_path().display()))
            .arg("--user=root")
            .arg("--batch")
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TestkitError::io("running the mariadb client", e))?;
        // Feed SQL through stdin (no argument length limit) from a thread so
        // large outputs cannot dead-lock against our write.
        let mut stdin = child.stdin.take();
        let input = sql.to_string();
        let writer = std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(input.as_bytes());
            }
        });
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_end(&mut stdout);
        }
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_end(&mut stderr);
        }
        let _ = writer.join();
        let status = child
            .wait()
            .map_err(|e| TestkitError::io("waiting for the mariadb client", e))?;
        if !status.success() {
            return Err(TestkitError::Sql {
                sql: sql.to_string(),
                status: status.to_string(),
                stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    }

    /// Runs SQL (one or more `;`-separated statements) as `root` through the
    /// `mariadb` client over the unix socket, in batch mode, and returns its
    /// stdout: for each result set a tab-separated header line and rows,
    /// with `NULL` for NULL and `\t`, `\n`, `\\` escaped. No database is
    /// selected: qualify names (`dms_sample.t`) or start with `USE ...;`.
    pub fn execute(&self, sql: &str) -> Result<String> {
        self.client(&[], sql)
    }

    /// Like [`execute`](Self::execute) without header lines, split into rows
    /// of column values.
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<String>>> {
        let out = self.client(&["--skip-column-names"], sql)?;
        Ok(out
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect())
    }

    /// Stops the server gracefully (SIGTERM, up to 10 s, then SIGKILL),
    /// keeping its data dir; [`restart`](Self::restart) starts it again.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.terminate(STOP_GRACE);
        }
    }

    /// Kills the server with SIGKILL (a crash), keeping its data dir;
    /// [`restart`](Self::restart) starts it again (with crash recovery).
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    /// Stops the server if it runs, then starts it again on the same port,
    /// with the same server id and data dir (binlogs continue in a new file).
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn_and_wait()
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        if self.is_persistent() {
            // Keep the persistent datadir clean: graceful shutdown.
            self.stop();
        } else {
            // The datadir is deleted right after; a clean shutdown buys nothing.
            self.kill();
        }
        // `run_dir` (a TempDir, with a temporary datadir) is removed when the
        // fields drop, after this.
    }
}

/// Whether the server's own unix socket answers with a MySQL protocol
/// greeting. (Probing the TCP port could be answered by another server that
/// already holds it; mariadbd opens its unix socket only after binding TCP.)
fn greets(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        // 3-byte length, 1-byte sequence, then protocol version 10.
        Ok(n) if n > 4 => buf[4] == 10,
        _ => false,
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(p))
        .map_err(|e| TestkitError::io("reading the current dir", e))
}

fn is_initialised(dir: &Path) -> bool {
    dir.join("mysql").is_dir() && dir.join("ibdata1").is_file()
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| TestkitError::io(format!("reading {}", dir.display()), e))?;
    Ok(entries.next().is_none())
}

/// Fills `dir` (missing or empty) with a fresh datadir copied from the template.
fn populate_data_dir(programs: &Programs, dir: &Path) -> Result<()> {
    let template = template_dir(programs)?;
    copy_dir(&template, dir).map_err(|e| {
        TestkitError::io(
            format!("copying {} to {}", template.display(), dir.display()),
            e,
        )
    })
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

fn mariadbd_version(programs: &Programs) -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            Command::new(&programs.mariadbd)
                .arg("--version")
                .stderr(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// 64-bit FNV-1a.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The cached pristine datadir for this MariaDB version and these settings,
/// created with `mariadb-install-db` on first use. Safe against concurrent
/// creation by several processes (build in a temp dir, then rename).
fn template_dir(programs: &Programs) -> Result<PathBuf> {
    let root = is_root();
    let key = format!(
        "{TEMPLATE_REV}\n{}\n{}\n{BOOTSTRAP_CNF}\n{BOOTSTRAP_SQL}\nroot={root}",
        programs.mariadbd.display(),
        mariadbd_version(programs)
    );
    let mut cache = crate::tools_dir().join("cache");
    if std::fs::create_dir_all(&cache).is_err() {
        cache = std::env::temp_dir().join("dmsrs-testkit-cache");
        std::fs::create_dir_all(&cache)
            .map_err(|e| TestkitError::io(format!("creating {}", cache.display()), e))?;
    }
    let final_dir = cache.join(format!("mariadb-template-{:016x}", fnv1a(key.as_bytes())));
    if is_initialised(&final_dir) {
        return Ok(final_dir);
    }

    let t0 = Instant::now();
    let work = tempfile::Builder::new()
        .prefix(".mariadb-template-")
        .tempdir_in(&cache)
        .map_err(|e| TestkitError::io(format!("creating a temp dir in {}", cache.display()), e))?;
    let cnf = work.path().join("bootstrap.cnf");
    let sql = work.path().join("bootstrap.sql");
    let data = work.path().join("data");
    std::fs::write(&cnf, BOOTSTRAP_CNF)
        .and_then(|()| std::fs::write(&sql, BOOTSTRAP_SQL))
        .map_err(|e| TestkitError::io("writing mariadb-install-db inputs", e))?;
    let mut cmd = Command::new(&programs.install_db);
    // --defaults-file must come first.
    cmd.arg(format!("--defaults-file={}", cnf.display()))
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg(format!("--extra-file={}", sql.display()));
    if root {
        cmd.arg("--user=root");
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestkitError::io("running mariadb-install-db", e))?;
    if !out.status.success() || !is_initialised(&data) {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = text.lines().collect();
        return Err(TestkitError::InstallDbFailed {
            status: out.status.to_string(),
            output: lines[lines.len().saturating_sub(30)..].join("\n"),
        });
    }
    if let Err(e) = std::fs::rename(&data, &final_dir)
        && !is_initialised(&final_dir)
    {
        return Err(TestkitError::io(
            format!("moving the MariaDB template to {}", final_dir.display()),
            e,
        ));
    }
    tracing::debug!(
        "dmsrs-testkit: created MariaDB template {} in {:?}",
        final_dir.display(),
        t0.elapsed()
    );
    Ok(final_dir)
}
