//! [`EmbeddedMariaDb`]: the embedded twin of RDS, a private `mariadbd` that
//! outlives the process that started it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dmsrs_secrets::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::{DatabaseError, Result};
use crate::password::generate_password;
use crate::spec::{DatabaseId, DatabaseInstance, DatabaseSpec, DestroyReport};
use crate::sql::SqlClient;

const HOST: &str = "127.0.0.1";
const STATE_FILE: &str = "server.json";
const STATE_VERSION: u32 = 1;
const PROGRAM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];
const START_ATTEMPTS: usize = 4;

/// Small, fast server settings (the binlog settings follow in `write_cnf`).
const BASE_CNF: &str = "\
[mysqld]
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
innodb_log_buffer_size=4M
innodb_data_file_path=ibdata1:12M:autoextend
innodb_temp_data_file_path=ibtmp1:4M:autoextend
innodb_use_native_aio=0
innodb_buffer_pool_dump_at_shutdown=OFF
innodb_buffer_pool_load_at_startup=OFF
performance_schema=OFF
skip-name-resolve
max_connections=200
";

/// What the folder remembers about its server (`server.json`, mode 0600:
/// it holds the master password).
#[derive(Clone, Serialize, Deserialize)]
struct ServerState {
    version: u32,
    stack: String,
    name: String,
    port: u16,
    pid: Option<u32>,
    server_id: u32,
    db_name: String,
    username: String,
    password: String,
    socket: PathBuf,
    /// The spec's server parameters (written into `server.cnf` at each start).
    #[serde(default)]
    parameters: std::collections::BTreeMap<String, String>,
}

/// Embedded twin of RDS: a private `mariadbd` per database, kept under the
/// deployment's state folder in `<state>/databases/<name>/`:
///
/// | file | what |
/// |---|---|
/// | `data/` | the MariaDB datadir (binlogs `mysql-bin.*` too) |
/// | `server.cnf` | its configuration |
/// | `server.json` | port, pid, server id, user and password (mode 0600) |
/// | `error.log`, `mariadbd.out` | its logs |
///
/// The server listens on 127.0.0.1 only and has the binlog settings DMS CDC
/// needs: `log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`,
/// `binlog_row_metadata=FULL`, `binlog_checksum=NONE`, a random non-zero
/// `server_id` (kept across restarts), plus the spec's `parameters`.
///
/// It runs detached (its own session via `setsid`, or its own process
/// group) and keeps running after the process that started it exits, so a
/// later process finds it: `ensure`/`wait_available` reuse the recorded
/// server if its pid is alive, is this folder's `mariadbd` and answers on
/// the recorded port; otherwise they start it again on the recorded port
/// (or a new free one if that is taken), keeping the data. `destroy` stops
/// it (SIGTERM, then SIGKILL) and removes the folder. A lock file
/// `<state>/databases/<name>.lock` serialises concurrent callers.
#[derive(Debug, Clone)]
pub struct EmbeddedMariaDb {
    state_dir: PathBuf,
    startup_timeout: Duration,
    stop_timeout: Duration,
}

impl EmbeddedMariaDb {
    /// Databases under `<state_dir>/databases/`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        EmbeddedMariaDb {
            state_dir: state_dir.into(),
            startup_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(30),
        }
    }

    /// How long a start may take (including `mariadb-install-db` on first
    /// use). Default: 60 s.
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// How long `stop`/`destroy` wait after SIGTERM before SIGKILL. Default: 30 s.
    pub fn with_stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// The folder of database `id`: `<state>/databases/<name>`.
    pub fn folder(&self, id: &DatabaseId) -> PathBuf {
        self.state_dir.join("databases").join(&id.name)
    }

    /// Pid of the running server of `id`, if it runs.
    pub fn running_pid(&self, id: &DatabaseId) -> Option<u32> {
        let dir = self.folder(id);
        let state = read_state(&dir).ok().flatten()?;
        state.pid.filter(|pid| is_our_server(*pid, &dir))
    }

    /// Stops the server of `id` (keeping its data). `Ok(false)` if it was
    /// not running.
    pub async fn stop(&self, id: &DatabaseId) -> Result<bool> {
        id.validate()?;
        let _lock = self.lock(id).await?;
        let dir = self.folder(id);
        let stop_timeout = self.stop_timeout;
        blocking(move || stop_server(&dir, stop_timeout)).await
    }

    async fn lock(&self, id: &DatabaseId) -> Result<File> {
        let parent = self.state_dir.join("databases");
        let path = parent.join(format!("{}.lock", id.name));
        blocking(move || {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&parent)
                .map_err(|e| DatabaseError::io(format!("creating {}", parent.display()), e))?;
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| DatabaseError::io(format!("opening {}", path.display()), e))?;
            file.lock()
                .map_err(|e| DatabaseError::io(format!("locking {}", path.display()), e))?;
            Ok(file)
        })
        .await
    }

    /// Starts the server of `dir` if it does not run; returns its state and
    /// the server version.
    async fn run(
        &self,
        dir: &Path,
        mut state: ServerState,
        wanted_port: Option<u16>,
    ) -> Result<(ServerState, String)> {
        if let Some(pid) = state.pid
            && is_our_server(pid, dir)
            && greets(state.port)
            && let Ok(version) = verify(dir, &state).await
        {
            tracing::debug!(pid, port = state.port, "reusing embedded MariaDB");
            return Ok((state, version));
        }
        // Not running (or not answering): make sure no stale process is left.
        let d = dir.to_path_buf();
        let stop_timeout = self.stop_timeout;
        blocking(move || stop_server(&d, stop_timeout)).await?;

        let mut last_err = None;
        for attempt in 0..START_ATTEMPTS {
            let preferred = wanted_port.or((attempt == 0).then_some(state.port));
            // A just-killed server's listening socket can outlive its
            // process for a moment: give the recorded port a short grace.
            let port = match preferred {
                Some(p) if p != 0 && port_becomes_free(p, Duration::from_secs(2)).await => p,
                Some(p) if wanted_port == Some(p) => {
                    return Err(DatabaseError::ServerStart {
                        dir: dir.to_path_buf(),
                        detail: format!(
                            "port {p} of the spec is in use by another program: free it or pick another port"
                        ),
                        log_tail: String::new(),
                    });
                }
                _ => free_port()?,
            };
            state.port = port;
            write_cnf(dir, &state)?;
            let d = dir.to_path_buf();
            let st = state.clone();
            let timeout = self.startup_timeout;
            match blocking(move || start_server(&d, &st, timeout)).await {
                Ok(pid) => {
                    state.pid = Some(pid);
                    write_state(dir, &state)?;
                    let version = verify(dir, &state).await?;
                    tracing::info!(pid, port, dir = %dir.display(), "embedded MariaDB started");
                    return Ok((state, version));
                }
                Err(e) => {
                    let in_use = matches!(&e, DatabaseError::ServerStart { log_tail, .. }
                        if log_tail.contains("Address already in use") || log_tail.contains("Do you already have another"));
                    if !in_use || wanted_port.is_some() {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| DatabaseError::ServerStart {
            dir: dir.to_path_buf(),
            detail: "no free port".into(),
            log_tail: String::new(),
        }))
    }

    fn instance(
        id: &DatabaseId,
        state: &ServerState,
        version: String,
        status: &str,
        created: bool,
    ) -> DatabaseInstance {
        DatabaseInstance {
            identifier: id.identifier(),
            host: HOST.into(),
            port: state.port,
            master_username: state.username.clone(),
            password: Some(SecretString::new(state.password.clone())),
            db_name: state.db_name.clone(),
            engine: "mariadb".into(),
            engine_version: version,
            status: status.into(),
            arn: None,
            created,
        }
    }

    fn check_owner(id: &DatabaseId, dir: &Path, state: &ServerState) -> Result<()> {
        if state.stack != id.stack || state.name != id.name {
            return Err(DatabaseError::Conflict {
                what: format!(
                    "{} holds database {:?} of stack {:?}, not {:?} of {:?}",
                    dir.display(),
                    state.name,
                    state.stack,
                    id.name,
                    id.stack
                ),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::Database for EmbeddedMariaDb {
    async fn ensure(&self, spec: &DatabaseSpec) -> Result<DatabaseInstance> {
        spec.validate()?;
        let id = &spec.id;
        let _lock = self.lock(id).await?;
        let dir = self.folder(id);
        let (state, created) = match read_state(&dir)? {
            Some(state) => {
                Self::check_owner(id, &dir, &state)?;
                if state.db_name != spec.db_name || state.username != spec.master_username {
                    return Err(DatabaseError::Conflict {
                        what: format!(
                            "the embedded database in {} has database {:?} and user {:?}, the spec wants {:?} and {:?}",
                            dir.display(),
                            state.db_name,
                            state.username,
                            spec.db_name,
                            spec.master_username
                        ),
                    });
                }
                if spec
                    .master_password
                    .as_ref()
                    .is_some_and(|p| p.expose() != state.password)
                {
                    return Err(DatabaseError::Conflict {
                        what: format!(
                            "the embedded database in {} has another master password than the spec",
                            dir.display()
                        ),
                    });
                }
                (state, false)
            }
            None => {
                let password = match &spec.master_password {
                    Some(p) => p.clone(),
                    None => generate_password()?,
                };
                let state = ServerState {
                    version: STATE_VERSION,
                    stack: id.stack.clone(),
                    name: id.name.clone(),
                    port: spec.port.unwrap_or(0),
                    pid: None,
                    server_id: random_server_id()?,
                    db_name: spec.db_name.clone(),
                    username: spec.master_username.clone(),
                    password: password.expose().to_owned(),
                    socket: socket_path(&dir),
                    parameters: spec.parameters.clone(),
                };
                let d = dir.clone();
                let st = state.clone();
                let timeout = self.startup_timeout;
                blocking(move || init_folder(&d, &st, timeout)).await?;
                (state, true)
            }
        };
        let mut state = state;
        if state.parameters != spec.parameters {
            // Applied at the next start of the server.
            state.parameters = spec.parameters.clone();
            write_state(&dir, &state)?;
        }
        let (state, version) = self.run(&dir, state, spec.port).await?;
        Ok(Self::instance(id, &state, version, "available", created))
    }

    async fn wait_available(&self, id: &DatabaseId, timeout: Duration) -> Result<DatabaseInstance> {
        id.validate()?;
        let _lock = self.lock(id).await?;
        let dir = self.folder(id);
        let state = read_state(&dir)?.ok_or_else(|| DatabaseError::NotFound {
            identifier: id.identifier(),
        })?;
        Self::check_owner(id, &dir, &state)?;
        let me = self.clone().with_startup_timeout(timeout);
        let (state, version) = me.run(&dir, state, None).await?;
        Ok(Self::instance(id, &state, version, "available", false))
    }

    async fn describe(&self, id: &DatabaseId) -> Result<Option<DatabaseInstance>> {
        id.validate()?;
        let dir = self.folder(id);
        let Some(state) = read_state(&dir)? else {
            return Ok(None);
        };
        Self::check_owner(id, &dir, &state)?;
        let running = state.pid.is_some_and(|pid| is_our_server(pid, &dir)) && greets(state.port);
        if running && let Ok(version) = verify(&dir, &state).await {
            return Ok(Some(Self::instance(
                id,
                &state,
                version,
                "available",
                false,
            )));
        }
        Ok(Some(Self::instance(
            id,
            &state,
            String::new(),
            "stopped",
            false,
        )))
    }

    async fn destroy(&self, id: &DatabaseId) -> Result<DestroyReport> {
        id.validate()?;
        let lock = self.lock(id).await?;
        let dir = self.folder(id);
        let mut report = DestroyReport::default();
        if let Ok(Some(state)) = read_state(&dir) {
            Self::check_owner(id, &dir, &state)?;
        }
        let d = dir.clone();
        let stop_timeout = self.stop_timeout;
        let pid = self.running_pid(id);
        if blocking(move || stop_server(&d, stop_timeout)).await? {
            report.push(
                "embedded-server",
                pid.map(|p| format!("pid {p}")).unwrap_or_default(),
            );
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => report.push("state-folder", dir.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(DatabaseError::io(format!("removing {}", dir.display()), e)),
        }
        let sock = socket_path(&dir);
        if !sock.starts_with(&dir) {
            let _ = std::fs::remove_file(sock);
        }
        drop(lock);
        let _ = std::fs::remove_file(
            self.state_dir
                .join("databases")
                .join(format!("{}.lock", id.name)),
        );
        Ok(report)
    }
}

async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        DatabaseError::io(
            "a background task failed",
            std::io::Error::other(e.to_string()),
        )
    })?
}

fn find_program(name: &'static str) -> Result<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(PROGRAM_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
        .ok_or(DatabaseError::ProgramMissing { program: name })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A unix socket path short enough for `sun_path` (108 bytes).
fn socket_path(dir: &Path) -> PathBuf {
    let inside = dir.join("mysqld.sock");
    if inside.as_os_str().len() < 100 {
        return inside;
    }
    let hash = dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    std::env::temp_dir().join(format!("dmsrs-mariadb-{hash:016x}.sock"))
}

fn random_server_id() -> Result<u32> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| DatabaseError::Random(e.to_string()))?;
    // 1..=2^31-1: non-zero, and positive for tools that read it as i32.
    Ok((u32::from_le_bytes(b) & 0x7fff_ffff).max(1))
}

fn read_state(dir: &Path) -> Result<Option<ServerState>> {
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.join("data").exists() {
                return Err(DatabaseError::State {
                    path,
                    detail: "missing, but the folder holds a datadir".into(),
                });
            }
            return Ok(None);
        }
        Err(e) => return Err(DatabaseError::io(format!("reading {}", path.display()), e)),
    };
    let state: ServerState = serde_json::from_str(&text).map_err(|e| DatabaseError::State {
        path: path.clone(),
        // serde_json's message names the position, not the content.
        detail: e.to_string(),
    })?;
    if state.version != STATE_VERSION {
        return Err(DatabaseError::State {
            path,
            detail: format!(
                "version {} is not the supported {STATE_VERSION}",
                state.version
            ),
        });
    }
    Ok(Some(state))
}

/// Writes `server.json` atomically with mode 0600.
fn write_state(dir: &Path, state: &ServerState) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
    let text = serde_json::to_string_pretty(state).map_err(|e| {
        DatabaseError::io("encoding server.json", std::io::Error::other(e.to_string()))
    })?;
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| DatabaseError::io(format!("writing {}", tmp.display()), e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| DatabaseError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| DatabaseError::io(format!("writing {}", path.display()), e))
}

fn write_cnf(dir: &Path, state: &ServerState) -> Result<()> {
    let tmp = dir.join("tmp");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&tmp)
        .map_err(|e| DatabaseError::io(format!("creating {}", tmp.display()), e))?;
    let mut cnf = String::from(BASE_CNF);
    let mut set = |k: &str, v: &dyn std::fmt::Display| cnf.push_str(&format!("{k}={v}\n"));
    set("datadir", &dir.join("data").display());
    set("socket", &state.socket.display());
    set("pid-file", &dir.join("mysqld.pid").display());
    set("log-error", &dir.join("error.log").display());
    set("tmpdir", &dir.join("tmp").display());
    set("port", &state.port);
    set("bind-address", &HOST);
    set("server-id", &state.server_id);
    set("log-bin", &"mysql-bin");
    set("log-bin-compress", &"OFF");
    set("binlog-format", &"ROW");
    set("binlog-row-image", &"FULL");
    set("binlog-row-metadata", &"FULL");
    set("binlog-checksum", &"NONE");
    for (k, v) in &state.parameters {
        // RDS-only names (with '.') mean nothing to mariadbd.
        if k.contains('.') {
            tracing::warn!(
                parameter = k,
                "ignoring an RDS-only parameter for the embedded server"
            );
            continue;
        }
        set(k, v);
    }
    let path = dir.join("server.cnf");
    std::fs::write(&path, cnf)
        .map_err(|e| DatabaseError::io(format!("writing {}", path.display()), e))
}

/// Creates the folder and the datadir (`mariadb-install-db`), with the
/// master user and the initial database.
fn init_folder(dir: &Path, state: &ServerState, timeout: Duration) -> Result<()> {
    let install_db = find_program("mariadb-install-db")?;
    find_program("mariadbd")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| DatabaseError::io(format!("creating {}", dir.display()), e))?;
    let data = dir.join("data");
    if data.exists() {
        // Left by an interrupted first ensure (no server.json yet): start over.
        std::fs::remove_dir_all(&data)
            .map_err(|e| DatabaseError::io(format!("removing {}", data.display()), e))?;
    }
    let tmp = dir.join("tmp");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&tmp)
        .map_err(|e| DatabaseError::io(format!("creating {}", tmp.display()), e))?;
    let cnf = dir.join("bootstrap.cnf");
    // A private tmpdir: concurrent bootstraps sharing /tmp can trip over
    // each other's temporary tables.
    std::fs::write(&cnf, format!("{BASE_CNF}tmpdir={}\n", tmp.display()))
        .map_err(|e| DatabaseError::io(format!("writing {}", cnf.display()), e))?;
    // The bootstrap runs without grant tables: insert the user the way the
    // install scripts insert root. The password alphabet has no quote or
    // backslash, the names are validated identifiers.
    let sql = format!(
        "INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', '{user}', \
         CONCAT('{{\"access\":18446744073709551615,\"plugin\":\"mysql_native_password\",\"authentication_string\":\"', \
         PASSWORD('{password}'), '\"}}'));\nCREATE DATABASE IF NOT EXISTS `{db}`;\n",
        user = state.username,
        password = state.password,
        db = state.db_name,
    );
    let sql_path = dir.join("bootstrap.sql");
    {
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&sql_path)
            .map_err(|e| DatabaseError::io(format!("writing {}", sql_path.display()), e))?;
        f.write_all(sql.as_bytes())
            .map_err(|e| DatabaseError::io(format!("writing {}", sql_path.display()), e))?;
    }
    let mut cmd = Command::new(install_db);
    cmd.arg(format!("--defaults-file={}", cnf.display()))
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=socket")
        .arg("--skip-test-db")
        .arg(format!("--extra-file={}", sql_path.display()));
    if is_root() {
        cmd.arg("--user=root");
    }
    let log = dir.join("install-db.log");
    let out = File::create(&log)
        .map_err(|e| DatabaseError::io(format!("creating {}", log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| DatabaseError::io("cloning a file handle", e))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| DatabaseError::io("running mariadb-install-db", e))?;
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if t0.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(DatabaseError::io("waiting for mariadb-install-db", e)),
        }
    };
    let _ = std::fs::remove_file(&sql_path);
    let _ = std::fs::remove_file(&cnf);
    let ok = status.is_some_and(|s| s.success()) && data.join("mysql").is_dir();
    if !ok {
        let detail = match status {
            Some(s) => format!("mariadb-install-db failed ({s})"),
            None => format!("mariadb-install-db did not finish within {timeout:?}"),
        };
        return Err(DatabaseError::ServerStart {
            dir: dir.to_path_buf(),
            detail,
            log_tail: error_lines_and_tail(&log, 15),
        });
    }
    let _ = std::fs::remove_file(&log);
    write_state(dir, state)
}

/// Spawns `mariadbd` detached and waits until it greets on its port.
fn start_server(dir: &Path, state: &ServerState, timeout: Duration) -> Result<u32> {
    let mariadbd = find_program("mariadbd")?;
    let out_path = dir.join("mariadbd.out");
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_path)
        .map_err(|e| DatabaseError::io(format!("opening {}", out_path.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| DatabaseError::io("cloning a file handle", e))?;
    let defaults = format!("--defaults-file={}", dir.join("server.cnf").display());
    // `setsid` (util-linux) execs mariadbd in a new session, so it keeps the
    // same pid and no terminal signal reaches it; without it, a new process
    // group does most of that.
    let mut cmd = match find_program("setsid") {
        Ok(setsid) => {
            let mut c = Command::new(setsid);
            c.arg(&mariadbd);
            c
        }
        Err(_) => {
            let mut c = Command::new(&mariadbd);
            c.process_group(0);
            c
        }
    };
    cmd.arg(&defaults);
    if is_root() {
        cmd.arg("--user=root");
    }
    let mut child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| DatabaseError::io(format!("spawning {}", mariadbd.display()), e))?;
    let pid = child.id();
    let t0 = Instant::now();
    let fail = |detail: String| DatabaseError::ServerStart {
        dir: dir.to_path_buf(),
        detail,
        log_tail: {
            let mut t = log_tail(&dir.join("error.log"), 30);
            let o = log_tail(&out_path, 10);
            if !o.is_empty() {
                t.push_str("\n-- mariadbd.out --\n");
                t.push_str(&o);
            }
            t
        },
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(fail(format!("mariadbd exited during startup ({status})")));
            }
            Ok(None) => {}
            Err(e) => return Err(DatabaseError::io("waiting for mariadbd", e)),
        }
        if greets(state.port) {
            break;
        }
        if t0.elapsed() > timeout {
            kill(pid, "KILL");
            let _ = child.wait();
            return Err(fail(format!(
                "mariadbd did not answer on port {} within {timeout:?}",
                state.port
            )));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    // Reap it when it exits (while this process lives), so that it never
    // lingers as a zombie that would look alive.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// Connects as the master user and checks that the server on the port is
/// the one of this folder; returns `VERSION()`.
async fn verify(dir: &Path, state: &ServerState) -> Result<String> {
    let password = SecretString::new(state.password.clone());
    let mut last = None;
    for _ in 0..20 {
        match SqlClient::connect_timeout(
            HOST,
            state.port,
            &state.username,
            &password,
            None,
            Duration::from_secs(10),
        )
        .await
        {
            Ok(mut c) => {
                let rows = c.query_rows("SELECT @@datadir, VERSION()").await?;
                let _ = c.close().await;
                let datadir = rows
                    .first()
                    .and_then(|r| r.get_index(0))
                    .unwrap_or_default();
                let ours = std::fs::canonicalize(dir.join("data")).ok();
                let theirs = std::fs::canonicalize(datadir).ok();
                if ours.is_none() || ours != theirs {
                    return Err(DatabaseError::ServerStart {
                        dir: dir.to_path_buf(),
                        detail: format!(
                            "the server on port {} serves {datadir:?}, not this folder",
                            state.port
                        ),
                        log_tail: String::new(),
                    });
                }
                return Ok(rows
                    .first()
                    .and_then(|r| r.get_index(1))
                    .unwrap_or_default()
                    .to_owned());
            }
            Err(e) if e.is_retryable() => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| DatabaseError::ServerStart {
        dir: dir.to_path_buf(),
        detail: "no connection".into(),
        log_tail: String::new(),
    }))
}

/// Stops this folder's server if it runs (recorded pid, else `mysqld.pid`).
/// Returns whether a server was stopped.
fn stop_server(dir: &Path, timeout: Duration) -> Result<bool> {
    let mut pids: Vec<u32> = Vec::new();
    if let Ok(Some(state)) = read_state(dir)
        && let Some(pid) = state.pid
    {
        pids.push(pid);
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("mysqld.pid"))
        && let Ok(pid) = text.trim().parse::<u32>()
        && !pids.contains(&pid)
    {
        pids.push(pid);
    }
    let mut stopped = false;
    for pid in pids {
        if !is_our_server(pid, dir) {
            continue;
        }
        kill(pid, "TERM");
        let t0 = Instant::now();
        while is_alive(pid) && t0.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(25));
        }
        if is_alive(pid) {
            tracing::warn!(
                pid,
                "mariadbd ignored SIGTERM for {timeout:?}; sending SIGKILL"
            );
            kill(pid, "KILL");
            let t1 = Instant::now();
            while is_alive(pid) && t1.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        stopped = true;
        tracing::info!(pid, dir = %dir.display(), "embedded MariaDB stopped");
    }
    Ok(stopped)
}

fn kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Alive and not a zombie (`/proc/<pid>/stat` state).
fn is_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X' | 'x'))
}

/// `pid` is alive and is the `mariadbd` of this folder (its command line
/// names this folder's `server.cnf`).
fn is_our_server(pid: u32, dir: &Path) -> bool {
    if !is_alive(pid) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let wanted = format!("--defaults-file={}", dir.join("server.cnf").display());
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == wanted.as_bytes())
}

/// Something on 127.0.0.1:port sends a MySQL protocol greeting.
fn greets(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 64];
    // 3-byte length, 1-byte sequence, then protocol version 10.
    matches!(s.read(&mut buf), Ok(n) if n > 4 && buf[4] == 10)
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

async fn port_becomes_free(port: u16, grace: Duration) -> bool {
    let t0 = Instant::now();
    loop {
        if port_is_free(port) {
            return true;
        }
        if t0.elapsed() >= grace {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| DatabaseError::io("finding a free port on 127.0.0.1", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DatabaseError::io("finding a free port on 127.0.0.1", e))
}

/// The `ERROR` lines of a log (the real cause of a failed install is often
/// far above its generic closing text), then its last lines.
fn error_lines_and_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR"))
        .take(10)
        .collect();
    let mut out = errors.join("\n");
    if !out.is_empty() {
        out.push_str("\n...\n");
    }
    out.push_str(&log_tail(path, lines));
    out
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_folders_get_a_short_socket() {
        let short = Path::new("/tmp/x");
        assert_eq!(socket_path(short), short.join("mysqld.sock"));
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
        let s = socket_path(&long);
        assert!(s.as_os_str().len() < 100 && !s.starts_with(&long));
    }

    #[test]
    fn server_ids_are_positive() {
        for _ in 0..100 {
            let id = random_server_id().unwrap_or(0);
            assert!((1..=0x7fff_ffff).contains(&id));
        }
    }

    #[test]
    fn own_pid_is_alive_but_not_a_server() {
        assert!(is_alive(std::process::id()));
        assert!(!is_our_server(
            std::process::id(),
            Path::new("/nonexistent")
        ));
        assert!(!is_alive(u32::MAX));
    }
}
