//! kinesis-local 0.6.2 (etspaceman/kinesis-mock, Scala.js build) under node.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::http_get;
use crate::process::{ManagedProcess, find_program, free_port, log_tail, looks_like_addr_in_use};
use crate::{Result, TestkitError};

const START_ATTEMPTS: usize = 5;
const REGION: &str = "us-east-1";
const ACCOUNT_ID: &str = "000000000000";

/// Preloaded with `node --require`: forces kinesis-local (which has no host
/// option and listens on all interfaces) onto 127.0.0.1.
const NODE_LOOPBACK_JS: &str = include_str!("node_loopback.js");

/// State-transition delays of kinesis-mock (default 500 ms each), all set to
/// 0 ms so streams are `ACTIVE` at once and SDK waiters return on the first poll.
const DURATION_VARS: &[&str] = &[
    "CREATE_STREAM_DURATION",
    "DELETE_STREAM_DURATION",
    "UPDATE_SHARD_COUNT_DURATION",
    "REGISTER_STREAM_CONSUMER_DURATION",
    "DEREGISTER_STREAM_CONSUMER_DURATION",
    "START_STREAM_ENCRYPTION_DURATION",
    "STOP_STREAM_ENCRYPTION_DURATION",
    "MERGE_SHARDS_DURATION",
    "SPLIT_SHARD_DURATION",
    "UPDATE_STREAM_MODE_DURATION",
];

/// Options for a [`KinesisMock`]; create with [`KinesisMock::builder`].
#[derive(Debug, Clone)]
pub struct KinesisMockBuilder {
    env: Vec<(String, String)>,
    startup_timeout: Duration,
}

impl Default for KinesisMockBuilder {
    fn default() -> Self {
        KinesisMockBuilder {
            env: Vec::new(),
            startup_timeout: Duration::from_secs(30),
        }
    }
}

impl KinesisMockBuilder {
    /// Sets a kinesis-mock environment variable (see its README in
    /// `.tools/node/node_modules/kinesis-local/README.md`), overriding the
    /// kit's defaults, e.g. `env("INITIALIZE_STREAMS", "cdc:2")` or
    /// `env("CREATE_STREAM_DURATION", "500ms")`. The ports are always chosen
    /// by the kit.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long to wait for the HTTP port to answer. Default: 30 s.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Starts kinesis-local and waits until its plain HTTP port answers.
    pub fn start(self) -> Result<KinesisMock> {
        KinesisMock::launch(self)
    }
}

/// A private kinesis-local (kinesis-mock) on 127.0.0.1: the full Kinesis
/// 2013-12-02 API (JSON and CBOR), in memory.
///
/// Runs `node .tools/node/node_modules/kinesis-local/main.js` with
/// `KINESIS_MOCK_PLAIN_PORT`/`KINESIS_MOCK_TLS_PORT` set to free ports, every
/// `*_DURATION` set to `0ms`, `AWS_REGION=us-east-1`,
/// `AWS_ACCOUNT_ID=000000000000` and `LOG_LEVEL=WARN`. kinesis-local itself
/// binds all interfaces; the kit preloads a small node script that forces
/// its listeners onto 127.0.0.1. Killed on drop.
#[derive(Debug)]
pub struct KinesisMock {
    process: ManagedProcess,
    port: u16,
    tls_port: u16,
    /// Working dir: the loopback preload script and `kinesis.log`.
    run_dir: tempfile::TempDir,
}

impl KinesisMock {
    /// Starts kinesis-local with the default options.
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    /// Options for kinesis-local.
    pub fn builder() -> KinesisMockBuilder {
        KinesisMockBuilder::default()
    }

    fn launch(options: KinesisMockBuilder) -> Result<Self> {
        let node = find_program("node", &["/usr/bin", "/usr/local/bin"]).ok_or_else(|| {
            TestkitError::KinesisLocalNotInstalled {
                what: "node (apt-get install nodejs)".into(),
            }
        })?;
        let pkg = crate::tools_dir().join("node/node_modules/kinesis-local");
        let main_js = pkg.join("main.js");
        if !main_js.is_file() {
            return Err(TestkitError::KinesisLocalNotInstalled {
                what: main_js.display().to_string(),
            });
        }
        let run_dir = tempfile::Builder::new()
            .prefix("dmsrs-kinesis-")
            .tempdir()
            .map_err(|e| TestkitError::io("creating a temporary dir for kinesis-local", e))?;
        let preload = run_dir.path().join("loopback.js");
        std::fs::write(&preload, NODE_LOOPBACK_JS)
            .map_err(|e| TestkitError::io("writing the node loopback preload", e))?;

        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let tls_port = free_port()?;
            let spawn = Spawn {
                node: &node,
                pkg: &pkg,
                preload: &preload,
                run_dir: run_dir.path(),
                options: &options,
            };
            match spawn.run(port, tls_port) {
                Ok(process) => {
                    return Ok(KinesisMock {
                        process,
                        port,
                        tls_port,
                        run_dir,
                    });
                }
                Err(e) => {
                    let retry = attempt < START_ATTEMPTS
                        && matches!(&e, TestkitError::ExitedEarly { log_tail, .. } if looks_like_addr_in_use(log_tail));
                    if !retry {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT` (plain HTTP): the `endpoint_url` for the
    /// Kinesis SDK client. Any credentials work; region `us-east-1`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The plain HTTP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTPS port (self-signed certificate) on 127.0.0.1.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The default region, `us-east-1`.
    pub fn region(&self) -> &str {
        REGION
    }

    /// The default account id, `000000000000`.
    pub fn account_id(&self) -> &str {
        ACCOUNT_ID
    }

    /// Pid of the node process.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// kinesis-local's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.run_dir.path().join("kinesis.log")).unwrap_or_default()
    }
}

struct Spawn<'a> {
    node: &'a PathBuf,
    pkg: &'a Path,
    preload: &'a Path,
    run_dir: &'a Path,
    options: &'a KinesisMockBuilder,
}

impl Spawn<'_> {
    fn run(&self, port: u16, tls_port: u16) -> Result<ManagedProcess> {
        let t0 = Instant::now();
        let log_path = self.run_dir.join("kinesis.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| TestkitError::io("creating kinesis-local's log file", e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| TestkitError::io("cloning a file handle", e))?;
        let mut cmd = Command::new(self.node);
        cmd.arg("--require")
            .arg(self.preload)
            .arg(self.pkg.join("main.js"))
            .current_dir(self.run_dir)
            .env("KINESIS_MOCK_CERT_PATH", self.pkg.join("server.json"))
            .env("AWS_REGION", REGION)
            .env("AWS_ACCOUNT_ID", ACCOUNT_ID)
            .env("LOG_LEVEL", "WARN")
            .env("SHOULD_PERSIST_DATA", "false");
        for var in DURATION_VARS {
            cmd.env(var, "0ms");
        }
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
        cmd.env("KINESIS_MOCK_PLAIN_PORT", port.to_string())
            .env("KINESIS_MOCK_TLS_PORT", tls_port.to_string())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let mut process = ManagedProcess::spawn(cmd, "kinesis-local", Some(self.run_dir))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        loop {
            if let Some(status) = process.try_wait() {
                return Err(TestkitError::ExitedEarly {
                    server: "kinesis-local",
                    status: status.to_string(),
                    log_tail: log_tail(&log_path, 30),
                });
            }
            if http_get(&endpoint, "/healthcheck").is_ok() {
                tracing::debug!(
                    "dmsrs-testkit: kinesis-local ready on {endpoint} in {:?}",
                    t0.elapsed()
                );
                return Ok(process);
            }
            if t0.elapsed() >= self.options.startup_timeout {
                process.kill();
                return Err(TestkitError::StartTimeout {
                    server: "kinesis-local",
                    timeout: self.options.startup_timeout,
                    log_tail: log_tail(&log_path, 30),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
