//! Child-process plumbing shared by the servers: process groups, a watchdog
//! that kills the group when the test process dies, signals, free ports and
//! program lookup.

use std::collections::HashSet;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::{Result, TestkitError};

/// Watchdog script: reads signal names from stdin and sends them to the
/// process group `$1`; `EXIT` ends it quietly. On EOF (the test process is
/// gone, whatever the reason) it SIGKILLs the group and removes the
/// temporary dir `$2` if one was given. It ignores the terminal's signals so
/// that a Ctrl-C of `cargo test` still leads to cleanup.
const WATCHDOG_SH: &str = r#"trap '' INT HUP TERM QUIT PIPE
while read -r sig; do
  [ "$sig" = EXIT ] && exit 0
  kill -s "$sig" -- "-$1" 2>/dev/null
done
kill -s KILL -- "-$1" 2>/dev/null
if [ -n "$2" ]; then sleep 0.2; rm -rf -- "$2"; fi
exit 0"#;

#[derive(Debug)]
struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    fn spawn(pgid: u32, cleanup_dir: Option<&Path>) -> std::io::Result<Self> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SH)
            .arg("dmsrs-testkit-watchdog")
            .arg(pgid.to_string())
            .arg(cleanup_dir.map(Path::as_os_str).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }

    fn send(&mut self, line: &str) -> bool {
        match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| stdin.flush())
                .is_ok(),
            None => false,
        }
    }

    fn finish(mut self) {
        self.send("EXIT");
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// A spawned server process in its own process group, guarded by a watchdog.
#[derive(Debug)]
pub(crate) struct ManagedProcess {
    name: &'static str,
    child: Child,
    exit: Option<ExitStatus>,
    watchdog: Option<Watchdog>,
}

impl ManagedProcess {
    /// Spawns `cmd` as the leader of a new process group (stdin is /dev/null).
    ///
    /// `temp_dir`: a temporary dir of this server that the watchdog removes
    /// if the test process dies without running destructors (never pass a
    /// persistent dir).
    pub(crate) fn spawn(
        mut cmd: Command,
        name: &'static str,
        temp_dir: Option<&Path>,
    ) -> Result<Self> {
        cmd.process_group(0).stdin(Stdio::null());
        let child = cmd
            .spawn()
            .map_err(|e| TestkitError::io(format!("spawning {name} ({cmd:?})"), e))?;
        let pid = child.id();
        let watchdog = match Watchdog::spawn(pid, temp_dir) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "dmsrs-testkit: no watchdog for {name} (pid {pid}): {e}; it leaks if the test process is killed"
                );
                None
            }
        };
        tracing::debug!("dmsrs-testkit: started {name} pid {pid}");
        Ok(ManagedProcess {
            name,
            child,
            exit: None,
            watchdog,
        })
    }

    /// Pid (= process group id).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has exited.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exit = Some(status);
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to exit.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal (name as understood by `kill -s`, e.g. `TERM`) to the group.
    fn signal_group(&mut self, sig: &str) {
        let pgid = self.pid();
        let sent = self.watchdog.as_mut().is_some_and(|w| w.send(sig));
        if !sent {
            let _ = Command::new("kill")
                .args(["-s", sig, "--", &format!("-{pgid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status.
    pub(crate) fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.try_wait() {
            // The leader is gone; make sure nothing else of its group lingers.
            self.signal_group("KILL");
            return Some(status);
        }
        self.signal_group("TERM");
        if let Some(status) = self.wait_timeout(grace) {
            self.signal_group("KILL");
            return Some(status);
        }
        tracing::warn!(
            "dmsrs-testkit: {} (pid {}) ignored SIGTERM for {grace:?}; sending SIGKILL",
            self.name,
            self.pid()
        );
        self.kill()
    }

    /// SIGKILL the group and reap the leader.
    pub(crate) fn kill(&mut self) -> Option<ExitStatus> {
        self.signal_group("KILL");
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            self.kill();
        }
        if let Some(w) = self.watchdog.take() {
            w.finish();
        }
    }
}

/// Ports handed out by [`free_port`] in this process, never handed out twice.
fn issued_ports() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A currently free TCP port on 127.0.0.1.
///
/// Binds `127.0.0.1:0`, reads the port and drops the listener, so another
/// process may grab it before the caller binds it (the servers of this crate
/// retry their start with a new port on "address in use"). A port is never
/// returned twice within one process.
pub fn free_port() -> Result<u16> {
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| TestkitError::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| TestkitError::io("reading the local address of a listener", e))?
            .port();
        drop(listener);
        let mut issued = issued_ports()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if issued.insert(port) {
            return Ok(port);
        }
    }
    Err(TestkitError::io(
        "finding a free port on 127.0.0.1",
        std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "no new free port after 64 tries",
        ),
    ))
}

/// Finds an executable: first in `$PATH`, then in `extra_dirs`.
pub(crate) fn find_program(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether this process runs as root (uid 0).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The last `lines` lines of a text file ("" when unreadable).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether a log tail suggests the port was taken.
pub(crate) fn looks_like_addr_in_use(log: &str) -> bool {
    let l = log.to_ascii_lowercase();
    l.contains("address already in use")
        || l.contains("eaddrinuse")
        || l.contains("errno: 98")
        || l.contains("another server running on port")
}
