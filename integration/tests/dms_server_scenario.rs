//! The seed scenario with DMS served by the local `dms-server`, everything through the AWS
//! code paths and real emulators:
//!
//! * Secrets Manager, IAM, EC2 and RDS: moto (`--endpoint-url`);
//! * Kinesis: kinesis-local (`--service-endpoint kinesis=...`);
//! * DMS: `dms-server` (`--service-endpoint dms=...`), driven by `dmsrs-tasks`' `AwsDms`
//!   (aws-sdk-databasemigration) through the `ReplicationService` trait: subnet group,
//!   replication instance, endpoints reading their secrets from moto, tasks writing to
//!   kinesis-local;
//! * the sources: two MariaDB servers that already run (`--databases existing`).
//!
//! `scenario run --json`, then a restart of `dms-server` (its state survives: `status` still
//! sees the tasks), then `scenario destroy`, which leaves nothing on the DMS server and leaves
//! the existing databases alone.
#![allow(clippy::unwrap_used)]

use dmsrs_testkit::{KinesisMock, MariaDbServer, MotoServer, aws_json_request, aws_query_request};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const STACK: &str = "DmsServerStack";

/// A running `dms-server`; stopped with SIGTERM (a graceful shutdown) on drop.
struct DmsServerProcess {
    child: Child,
    url: String,
}

impl DmsServerProcess {
    fn start(state: &Path, moto: &MotoServer, kinesis: &KinesisMock) -> Self {
        let mut cmd = Command::new(dmsrs_testkit::workspace_binary(
            "dms-server",
            "dmsrs-dms-server-bin",
        ));
        dmsrs_testkit::offline_aws_env(&mut cmd, state);
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state)
            .env("AWS_ENDPOINT_URL", moto.endpoint_url())
            .env("AWS_ENDPOINT_URL_KINESIS", kinesis.endpoint_url())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("dms-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from dms-server: {line:?}"))
            .to_owned();
        DmsServerProcess { child, url }
    }

    /// SIGTERM, then wait: the server stops its tasks and saves its state.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "dms-server exited with {status}");
    }
}

impl Drop for DmsServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Env<'a> {
    policy_arn: String,
    state: &'a Path,
    moto: &'a MotoServer,
    kinesis: &'a KinesisMock,
    dms_url: String,
    cdc: &'a MariaDbServer,
    full: &'a MariaDbServer,
}

impl Env<'_> {
    fn scenario(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(dmsrs_testkit::workspace_binary(
            "scenario",
            "dmsrs-scenario",
        ));
        dmsrs_testkit::offline_aws_env(&mut cmd, self.state);
        cmd.arg("--state-dir")
            .arg(self.state.join("scenario"))
            .args(["--stack", STACK])
            .args(args)
            .arg("--endpoint-url")
            .arg(self.moto.endpoint_url())
            .arg("--service-endpoint")
            .arg(format!("dms={}", self.dms_url))
            .arg("--service-endpoint")
            .arg(format!("kinesis={}", self.kinesis.endpoint_url()))
            .arg("--dms-vpc-policy-arn")
            .arg(&self.policy_arn)
            .env("DMSRS_CDC_PASSWORD", self.cdc.password())
            .env("DMSRS_EXTERNAL_PASSWORD", self.full.password())
            .output()
            .unwrap()
    }

    fn databases(&self) -> Vec<String> {
        vec![
            "--databases".into(),
            "existing".into(),
            "--cdc-mariadb".into(),
            self.cdc.socket_addr().to_string(),
            "--cdc-user".into(),
            self.cdc.user().into(),
            "--external-mariadb".into(),
            self.full.socket_addr().to_string(),
            "--external-user".into(),
            self.full.user().into(),
        ]
    }

    fn dms(&self, op: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = aws_json_request(
            &self.dms_url,
            "dms",
            &format!("AmazonDMSv20160101.{op}"),
            &body.to_string(),
        )
        .unwrap();
        (r.status, serde_json::from_str(&r.body).unwrap())
    }
}

fn ok(out: &Output) -> serde_json::Value {
    dmsrs_testkit::json_stdout(out)
}

#[test]
fn seed_scenario_on_the_local_dms_server() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let kinesis = KinesisMock::start().expect("kinesis-local (run scripts/setup.sh)");
    let cdc = MariaDbServer::start().unwrap();
    let full = MariaDbServer::start().unwrap();
    for db in [&cdc, &full] {
        db.execute("CREATE DATABASE IF NOT EXISTS dms_sample")
            .unwrap();
    }
    let state = tempfile::tempdir().unwrap();
    let dms_state = state.path().join("dms");
    let mut server = DmsServerProcess::start(&dms_state, &moto, &kinesis);
    // moto has no AWS managed policies: a customer policy stands in for
    // AmazonDMSVPCManagementRole.
    let created = aws_query_request(
        &moto.endpoint_url(),
        "iam",
        &[
            ("Action", "CreatePolicy"),
            ("Version", "2010-05-08"),
            ("PolicyName", "AmazonDMSVPCManagementRole"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}"#,
            ),
        ],
    )
    .unwrap();
    assert_eq!(created.status, 200, "{}", created.body);
    let policy_arn = created
        .body
        .split("<Arn>")
        .nth(1)
        .and_then(|s| s.split("</Arn>").next())
        .unwrap()
        .to_owned();
    let env = Env {
        policy_arn,
        state: state.path(),
        moto: &moto,
        kinesis: &kinesis,
        dms_url: server.url.clone(),
        cdc: &cdc,
        full: &full,
    };

    // run: deploy (network and roles on moto, secrets on moto, stream on kinesis-local,
    // subnet group, instance, endpoints and tasks on dms-server), then both flows.
    let mut args = vec!["run".to_owned(), "--json".to_owned()];
    args.extend(env.databases());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = ok(&env.scenario(&args));
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.len() >= 12, "{report}");
    for s in steps {
        assert_eq!(s["ok"], true, "{s}");
    }
    let by_name = |prefix: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no step {prefix}: {report}"))
    };
    assert_eq!(by_name("full load: task 1")["received"], 6);
    assert_eq!(by_name("full load: task 2")["received"], 4);
    assert_eq!(by_name("cdc: start both tasks")["received"], 5);
    assert_eq!(by_name("cdc: insert the seed rows")["received"], 4);
    assert_eq!(by_name("cdc: alter the tables")["received"], 3);

    // The tasks are dms-server's, with DMS ARNs and statistics.
    let (status, tasks) = env.dms("DescribeReplicationTasks", serde_json::json!({}));
    assert_eq!(status, 200, "{tasks}");
    let tasks = tasks["ReplicationTasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    for t in &tasks {
        assert!(
            t["ReplicationTaskArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:dms:us-east-1:000000000000:task:"),
            "{t}"
        );
        assert_eq!(t["Status"], "stopped", "{t}");
    }
    let full_task = tasks
        .iter()
        .find(|t| t["ReplicationTaskIdentifier"] == "full-load-task-1")
        .unwrap();
    let (_, stats) = env.dms(
        "DescribeTableStatistics",
        serde_json::json!({"ReplicationTaskArn": full_task["ReplicationTaskArn"]}),
    );
    let rows: i64 = stats["TableStatistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["FullLoadRows"].as_i64().unwrap())
        .sum();
    assert_eq!(rows, 2, "one row in each of the two tables: {stats}");

    // A restart keeps everything: status still finds the four tasks.
    server.stop();
    let server2 = DmsServerProcess::start(&dms_state, &moto, &kinesis);
    let env = Env {
        dms_url: server2.url.clone(),
        ..env
    };
    let status = ok(&env.scenario(&["status", "--json"]));
    let text = status.to_string();
    for t in [
        "cdc-task-1",
        "cdc-task-2",
        "full-load-task-1",
        "full-load-task-2",
    ] {
        assert!(text.contains(t), "{t} after the restart: {status}");
    }
    let (_, after) = env.dms("DescribeReplicationTasks", serde_json::json!({}));
    assert_eq!(
        after["ReplicationTasks"].as_array().unwrap().len(),
        4,
        "{after}"
    );

    // destroy: nothing left on the DMS server; the existing databases are untouched.
    ok(&env.scenario(&["destroy", "--json"]));
    let (_, left) = env.dms("DescribeReplicationTasks", serde_json::json!({}));
    assert_eq!(left["ReplicationTasks"], serde_json::json!([]), "{left}");
    let (_, eps) = env.dms("DescribeEndpoints", serde_json::json!({}));
    assert_eq!(eps["Endpoints"], serde_json::json!([]), "{eps}");
    let (_, insts) = env.dms("DescribeReplicationInstances", serde_json::json!({}));
    assert_eq!(
        insts["ReplicationInstances"],
        serde_json::json!([]),
        "{insts}"
    );
    for db in [&cdc, &full] {
        let n = db
            .query(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'dms_sample'",
            )
            .unwrap();
        assert_eq!(n[0][0], "1", "destroy leaves the existing databases alone");
    }
}
