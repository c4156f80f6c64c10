//! `dms-server` driven by real AWS clients: boto3 and the aws CLI, from the venv that
//! `scripts/setup.sh` creates (`.tools/venv`), run by `integration/python/dms_clients.py`.
//!
//! * the source: a private MariaDB server with binlog (`MariaDbServer`);
//! * the target: kinesis-local (`KinesisMock`), reached by both the server (through
//!   `AWS_ENDPOINT_URL_KINESIS`) and the script (boto3 with `endpoint_url`);
//! * DMS: the `dms-server` binary on a free loopback port, with a state folder.
//!
//! The script creates an instance, endpoints, a full-load-and-cdc task, runs it through the
//! full load and an insert/update/delete, reads the DMS records from Kinesis, checks table
//! statistics and faults, then stops and deletes everything; this test checks that it
//! passed and what its JSON summary says. Every address is 127.0.0.1: any AWS service not
//! given an endpoint goes to a closed loopback port, never to AWS.
//!
//! Like `aws_path.rs` with `scenario`, this runs the binary cargo last built: `make test`
//! builds it first; by hand, `cargo build -p dmsrs-dms-server-bin` before
//! `cargo nextest run -p dmsrs-integration --test dms_server_clients`.
#![allow(clippy::unwrap_used)]

use dmsrs_testkit::{KinesisMock, MariaDbServer};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where any AWS service without its own endpoint goes: a loopback port nothing listens on.
const NOWHERE: &str = "http://127.0.0.1:9";
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn dms_server_bin() -> PathBuf {
    dmsrs_testkit::workspace_binary("dms-server", "dmsrs-dms-server-bin")
}

/// The venv's python and aws CLI; the venv comes from scripts/setup.sh.
fn venv() -> (PathBuf, PathBuf) {
    let bin = dmsrs_testkit::tools_dir().join("venv/bin");
    let python = bin.join("python");
    let aws = bin.join("aws");
    for p in [&python, &aws] {
        assert!(
            p.exists(),
            "{} is missing: run scripts/setup.sh (it creates the venv with boto3, awscli and pymysql)",
            p.display()
        );
    }
    (python, aws)
}

/// A clean AWS environment ([`dmsrs_testkit::offline_aws_env`]) where any service without
/// its own endpoint goes nowhere.
fn aws_env(cmd: &mut Command, scratch: &Path) {
    dmsrs_testkit::offline_aws_env(cmd, scratch);
    cmd.env("AWS_ENDPOINT_URL", NOWHERE);
}

/// The running `dms-server`; killed when dropped.
struct DmsServer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl DmsServer {
    fn start(state_dir: &Path, scratch: &Path, kinesis: &KinesisMock) -> Self {
        let log = scratch.join("dms-server.log");
        let mut cmd = Command::new(dms_server_bin());
        cmd.args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        aws_env(&mut cmd, scratch);
        cmd.env("AWS_ENDPOINT_URL_KINESIS", kinesis.endpoint_url())
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", NOWHERE)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        let mut child = cmd.spawn().unwrap();
        // The first stdout line announces the address; later lines are drained.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let mut server = DmsServer {
            child,
            url: String::new(),
            log,
        };
        let line = match rx.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => panic!(
                "dms-server did not announce its address within {SERVER_START_TIMEOUT:?} \
                 (exit: {:?}); its log:\n{}",
                server.child.try_wait(),
                server.log_text()
            ),
        };
        let url = line
            .strip_prefix("dms-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from dms-server: {line:?}"));
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        server.url = url.to_owned();
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for DmsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct ScriptOutput {
    status: Option<std::process::ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs the client script to completion (killed after [`SCRIPT_TIMEOUT`]).
fn run_script(
    python: &Path,
    aws: &Path,
    scratch: &Path,
    dms: &DmsServer,
    kinesis: &KinesisMock,
    db: &MariaDbServer,
) -> ScriptOutput {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/dms_clients.py");
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .args(["--dms-url", &dms.url])
        .args(["--kinesis-url", &kinesis.endpoint_url()])
        .args(["--db-host", db.host()])
        .args(["--db-port", &db.port().to_string()])
        .args(["--db-user", db.user()])
        .args(["--db-password", db.password()])
        .arg("--aws")
        .arg(aws)
        .args(["--timeout", "30"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    aws_env(&mut cmd, scratch);
    let mut child = cmd.spawn().unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ScriptOutput {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

#[test]
fn boto3_and_aws_cli_run_a_full_load_and_cdc_task() {
    let (python, aws) = venv();
    let db = MariaDbServer::start().expect("a private MariaDB server (run scripts/setup.sh)");
    let kinesis = KinesisMock::start().expect("kinesis-local (run scripts/setup.sh)");
    let scratch = tempfile::tempdir().unwrap();
    let state = scratch.path().join("dms-state");
    std::fs::create_dir_all(&state).unwrap();
    let server = DmsServer::start(&state, scratch.path(), &kinesis);

    let started = Instant::now();
    let out = run_script(&python, &aws, scratch.path(), &server, &kinesis, &db);
    let elapsed = started.elapsed();
    let context = || {
        format!(
            "exit: {:?} after {elapsed:?}\n--- script stdout:\n{}\n--- script stderr:\n{}\n\
             --- dms-server log:\n{}\n--- kinesis-local log (tail):\n{}",
            out.status,
            out.stdout,
            out.stderr,
            server.log_text(),
            tail(&kinesis.log(), 40),
        )
    };
    assert!(
        out.status.is_some_and(|s| s.success()),
        "dms_clients.py failed (a timeout shows as exit None)\n{}",
        context()
    );
    let summary: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("the summary is not JSON: {e}\n{}", context()));
    let check =
        |cond: bool, what: &str| assert!(cond, "{what}\nsummary: {summary:#}\n{}", context());

    check(summary["ok"] == true, "ok");
    check(
        summary["instance_statuses"]
            .as_array()
            .and_then(|s| s.last())
            .is_some_and(|s| s == "available"),
        "the instance became available",
    );
    for ep in ["source", "target"] {
        check(
            summary["connection_statuses"][ep]
                .as_array()
                .and_then(|s| s.last())
                .is_some_and(|s| s == "successful"),
            &format!("the {ep} connection test succeeded"),
        );
    }
    for (key, prefix) in [
        ("task_arn", "arn:aws:dms:us-east-1:000000000000:task:"),
        (
            "replication_instance_arn",
            "arn:aws:dms:us-east-1:000000000000:rep:",
        ),
        (
            "stream_arn",
            "arn:aws:kinesis:us-east-1:000000000000:stream/",
        ),
    ] {
        check(
            summary[key].as_str().is_some_and(|a| a.starts_with(prefix)),
            &format!("{key} starts with {prefix}"),
        );
    }
    // The statuses each call answers with, as DMS does.
    for (key, status) in [
        ("task_status_on_create", "creating"),
        ("task_status_on_start", "starting"),
        ("task_status_on_stop", "stopping"),
        ("task_status_on_delete", "deleting"),
    ] {
        check(summary[key] == status, &format!("{key} == {status}"));
    }
    let stats = &summary["table_statistics"];
    check(
        stats["SchemaName"] == "clients_db" && stats["TableName"] == "items",
        "statistics of clients_db.items",
    );
    for (k, v) in [
        ("FullLoadRows", 3),
        ("Inserts", 2),
        ("Updates", 1),
        ("Deletes", 1),
    ] {
        check(stats[k] == v, &format!("table statistics {k} == {v}"));
    }
    let by_type = &summary["records"]["by_type"];
    for (k, v) in [
        ("data:load", 3),
        ("data:insert", 2),
        ("data:update", 1),
        ("data:delete", 1),
    ] {
        check(by_type[k] == v, &format!("{v} {k} records in the stream"));
    }
    let faults = &summary["faults"];
    for k in [
        "start_replication_task(unknown arn)",
        "describe_replication_tasks(no match)",
    ] {
        check(
            faults[k]["code"] == "ResourceNotFoundFault" && faults[k]["http_status"] == 400,
            &format!("{k}: ResourceNotFoundFault, HTTP 400"),
        );
    }
    check(
        faults["cli describe-endpoints(no match)"]["stderr"]
            .as_str()
            .is_some_and(|s| s.contains("ResourceNotFoundFault")),
        "the aws CLI reports ResourceNotFoundFault",
    );
    eprintln!(
        "dms_clients.py passed in {elapsed:?}: {} records, {} aws CLI calls\n{summary:#}",
        summary["records"]["total"], summary["aws_cli_calls"]
    );
    drop(server);
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
