//! moto_server (moto 5.2.5) through `scripts/moto_launcher.py`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{http_get, request};
use crate::process::{ManagedProcess, free_port, log_tail, looks_like_addr_in_use};
use crate::{Result, TestkitError};

const START_ATTEMPTS: usize = 5;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A private `moto_server` on 127.0.0.1, for AWS control-plane tests (DMS,
/// RDS, EC2, Secrets Manager, IAM, STS, Kinesis).
///
/// Runs `<tools>/venv/bin/python scripts/moto_launcher.py -H 127.0.0.1 -p PORT`;
/// the launcher patches moto's DMS models so that `InstanceCreateTime`,
/// `ReplicationTaskCreationDate`, `ReplicationTaskStartDate` and the
/// `ReplicationTaskStats.*Date` fields are epoch seconds, as the Rust AWS SDK
/// requires. One port serves every service; moto picks the service from the
/// SigV4 credential scope and accepts any credentials (e.g. `test`/`test`),
/// default account `123456789012`. The process group is killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    process: ManagedProcess,
    port: u16,
    /// Holds `moto.log` (moto's stdout/stderr).
    log_dir: tempfile::TempDir,
}

impl MotoServer {
    /// Starts moto_server on a free loopback port and waits until it answers
    /// HTTP (`GET /moto-api/`).
    pub fn start() -> Result<Self> {
        let tools = crate::tools_dir();
        let python = tools.join("venv/bin/python");
        let marker = tools.join("venv/bin/moto_server");
        for path in [&python, &marker] {
            if !path.exists() {
                return Err(TestkitError::MotoNotInstalled { path: path.clone() });
            }
        }
        let launcher = crate::workspace_root().join("scripts/moto_launcher.py");
        if !launcher.exists() {
            return Err(TestkitError::MotoNotInstalled { path: launcher });
        }
        let log_dir = tempfile::Builder::new()
            .prefix("dmsrs-moto-")
            .tempdir()
            .map_err(|e| TestkitError::io("creating a temporary dir for moto", e))?;
        let log_path = log_dir.path().join("moto.log");

        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            match spawn_and_wait(&python, &launcher, port, &log_path) {
                Ok(process) => {
                    return Ok(MotoServer {
                        process,
                        port,
                        log_dir,
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

    /// `http://127.0.0.1:PORT`: the `endpoint_url` for every AWS SDK client.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Pid of the server (its process group id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Forgets all state of all services (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<()> {
        let url = self.endpoint_url();
        let r = request(
            &url,
            "POST",
            "/moto-api/reset",
            &[],
            b"",
            Duration::from_secs(10),
        )?;
        if r.status / 100 != 2 {
            return Err(TestkitError::Http {
                endpoint: url,
                detail: format!("reset answered HTTP {}: {}", r.status, r.body),
            });
        }
        Ok(())
    }

    /// moto's output so far (request log and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_dir.path().join("moto.log")).unwrap_or_default()
    }
}

fn spawn_and_wait(
    python: &PathBuf,
    launcher: &PathBuf,
    port: u16,
    log_path: &PathBuf,
) -> Result<ManagedProcess> {
    let t0 = Instant::now();
    let log = std::fs::File::create(log_path)
        .map_err(|e| TestkitError::io("creating moto's log file", e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| TestkitError::io("cloning a file handle", e))?;
    let mut cmd = Command::new(python);
    cmd.arg(launcher)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("MOTO_PORT")
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2));
    let mut process = ManagedProcess::spawn(cmd, "moto_server", log_path.parent())?;
    let endpoint = format!("http://127.0.0.1:{port}");
    loop {
        if let Some(status) = process.try_wait() {
            return Err(TestkitError::ExitedEarly {
                server: "moto_server",
                status: status.to_string(),
                log_tail: log_tail(log_path, 30),
            });
        }
        if http_get(&endpoint, "/moto-api/").is_ok() {
            tracing::debug!(
                "dmsrs-testkit: moto_server ready on {endpoint} in {:?}",
                t0.elapsed()
            );
            return Ok(process);
        }
        if t0.elapsed() >= STARTUP_TIMEOUT {
            process.kill();
            return Err(TestkitError::StartTimeout {
                server: "moto_server",
                timeout: STARTUP_TIMEOUT,
                log_tail: log_tail(log_path, 30),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
