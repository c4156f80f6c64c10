//! The whole seed scenario through the AWS implementations, as far as they run on this
//! machine, with the real `scenario` binary:
//!
//! * Secrets Manager: moto (`MotoServer`), through `AWS_ENDPOINT_URL`;
//! * Kinesis: kinesis-local (`KinesisMock`), through the per-service `AWS_ENDPOINT_URL_KINESIS`;
//! * the databases: embedded MariaDB servers (moto's RDS has no database behind it);
//! * DMS: the embedded engine behind the `ReplicationService` trait, reading the source
//!   secrets from Secrets Manager and writing to the Kinesis stream.
//!
//! `scenario deploy`, `run --json`, `status` and `destroy`, then checks of what the emulators
//! hold: the secrets' shapes, and every record of the report in the Kinesis stream.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use dmsrs_testkit::{KinesisMock, MotoServer, aws_json_request};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const STACK: &str = "AwsPathStack";

fn scenario_bin() -> std::path::PathBuf {
    dmsrs_testkit::workspace_binary("scenario", "dmsrs-scenario")
}

/// The binary with a clean AWS environment: moto for everything, kinesis-local for Kinesis,
/// static test credentials, no profile files, no instance metadata lookups.
fn scenario(state: &Path, moto: &MotoServer, kinesis: &KinesisMock, args: &[&str]) -> Output {
    let mut cmd = Command::new(scenario_bin());
    dmsrs_testkit::offline_aws_env(&mut cmd, state);
    cmd.arg("--state-dir")
        .arg(state)
        .args(["--stack", STACK])
        .args(args)
        .env("AWS_ENDPOINT_URL", moto.endpoint_url())
        .env("AWS_ENDPOINT_URL_KINESIS", kinesis.endpoint_url())
        .output()
        .unwrap()
}

fn ok(out: &Output) -> serde_json::Value {
    dmsrs_testkit::json_stdout(out)
}

fn json_call(
    url: &str,
    service: &str,
    target: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = aws_json_request(url, service, target, &body.to_string()).unwrap();
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
    )
}

/// Every record of the stream's only shard, decoded.
fn stream_records(kinesis: &KinesisMock, stream: &str) -> Vec<dmsrs_codec::Record> {
    let call = |target: &str, body: serde_json::Value| {
        let (status, v) = json_call(&kinesis.endpoint_url(), "kinesis", target, body);
        assert_eq!(status, 200, "{target}: {v}");
        v
    };
    let shards = call(
        "Kinesis_20131202.ListShards",
        serde_json::json!({"StreamName": stream}),
    );
    let shards = shards["Shards"].as_array().unwrap();
    assert_eq!(shards.len(), 1, "the seed's stream has one shard");
    let it = call(
        "Kinesis_20131202.GetShardIterator",
        serde_json::json!({"StreamName": stream, "ShardId": shards[0]["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let mut it = it["ShardIterator"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    loop {
        let page = call(
            "Kinesis_20131202.GetRecords",
            serde_json::json!({"ShardIterator": it, "Limit": 1000}),
        );
        let records = page["Records"].as_array().unwrap();
        for r in records {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r["Data"].as_str().unwrap())
                .unwrap();
            out.push(dmsrs_codec::decode(&data).unwrap());
        }
        if records.is_empty() && page["MillisBehindLatest"].as_u64() == Some(0) {
            return out;
        }
        it = page["NextShardIterator"].as_str().unwrap().to_owned();
    }
}

#[test]
fn seed_scenario_through_secrets_manager_and_kinesis() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let kinesis = KinesisMock::start().expect("kinesis-local (run scripts/setup.sh)");
    let state = tempfile::tempdir().unwrap();
    fn with(sub: &'static str) -> Vec<&'static str> {
        [
            sub,
            "--json",
            "--dms",
            "embedded",
            "--databases",
            "embedded",
            "--no-network",
        ]
        .to_vec()
    }

    // deploy: the seed's outputs, on the emulators; a second deploy reuses everything.
    let started = Instant::now();
    let d1 = ok(&scenario(state.path(), &moto, &kinesis, &with("deploy")));
    let deploy_time = started.elapsed();
    let outputs = d1["outputs"].clone();
    let stream_arn = outputs["kinesisStream"].as_str().unwrap();
    assert_eq!(
        stream_arn,
        format!("arn:aws:kinesis:us-east-1:000000000000:stream/{STACK}-TargetStream")
    );
    for k in ["cdcTaskSecret", "fullTaskSecret"] {
        assert!(
            outputs[k]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:secretsmanager:us-east-1:"),
            "{k}: {outputs}"
        );
    }
    for k in ["cdcTask1", "cdcTask2", "fullTask1", "fullTask2"] {
        assert!(
            outputs[k]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:dms:us-east-1:"),
            "{k}: {outputs}"
        );
    }
    let d2 = ok(&scenario(state.path(), &moto, &kinesis, &with("deploy")));
    assert_eq!(d2["outputs"], outputs, "a second deploy reuses everything");

    // The secrets are in moto, in the DMS shape; the full-load one keeps the seed's string port.
    let secret = |arn: &str| {
        let (status, v) = json_call(
            &moto.endpoint_url(),
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            serde_json::json!({"SecretId": arn}),
        );
        assert_eq!(status, 200, "{v}");
        serde_json::from_str::<serde_json::Value>(v["SecretString"].as_str().unwrap()).unwrap()
    };
    let cdc = secret(outputs["cdcTaskSecret"].as_str().unwrap());
    assert_eq!(
        (cdc["host"].as_str(), cdc["dbname"].as_str()),
        (Some("127.0.0.1"), Some("dms_sample"))
    );
    assert!(cdc["port"].is_u64(), "{cdc}");
    let full = secret(outputs["fullTaskSecret"].as_str().unwrap());
    let keys: Vec<&String> = full.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(
        full["port"].is_string(),
        "mariadb-access-secret has port as a string: {full}"
    );
    assert_ne!(full["port"], cdc["port"].to_string(), "two servers");

    // run: every step passes, through Secrets Manager and Kinesis. The modes come from the
    // deployment's record: no --dms/--databases/--no-network needed again.
    let started = Instant::now();
    let report = ok(&scenario(state.path(), &moto, &kinesis, &["run", "--json"]));
    let run_time = started.elapsed();
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.len() >= 12, "{report}");
    for s in steps {
        assert_eq!(s["ok"], true, "{s}");
    }
    let by_name = |prefix: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str().unwrap().starts_with(prefix))
            .unwrap()
    };
    assert_eq!(by_name("full load: task 1")["received"], 6);
    assert_eq!(by_name("full load: task 2")["received"], 4);
    assert_eq!(by_name("cdc: start both tasks")["received"], 5);
    assert_eq!(by_name("cdc: insert the seed rows")["received"], 4);
    assert_eq!(by_name("cdc: alter the tables")["received"], 3);
    assert_eq!(
        by_name("cdc: update an author")["records"][0]["record"]["before-image"]["email"],
        "john.doe@example.com"
    );
    assert_eq!(
        report["statistics"]["fullTask1"].as_array().unwrap().len(),
        2
    );

    // Every record the report saw is in kinesis-local, under the partition keys DMS uses.
    let in_stream = stream_records(&kinesis, &format!("{STACK}-TargetStream"));
    let reported: usize = steps
        .iter()
        .map(|s| s["records"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        in_stream.len(),
        reported,
        "records in the stream vs. in the report"
    );
    let loads = in_stream
        .iter()
        .filter(|r| r.metadata.operation.to_string() == "load")
        .count();
    assert_eq!(loads, 4, "1 author, 1 account, 2 novels loaded");
    for s in steps {
        for r in s["records"].as_array().unwrap() {
            assert!(
                r["partition_key"].as_str().is_some_and(|k| !k.is_empty()),
                "{r}"
            );
        }
    }

    // status: the record of the deployment, the stream, the last run.
    let st = ok(&scenario(
        state.path(),
        &moto,
        &kinesis,
        &["status", "--json"],
    ));
    assert_eq!(st["deployment"]["dms"], "embedded");
    assert_eq!(st["deployment"]["databases"], "embedded");
    assert_eq!(st["stream"]["status"], "ACTIVE");
    assert_eq!(st["stream"]["shards"], 1);
    assert_eq!(st["last_run"]["failed"], 0);
    assert!(
        st["databases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "available"),
        "{st}"
    );

    // The embedded commands refuse this stack (it lives on the endpoints).
    let plain = Command::new(scenario_bin())
        .arg("--state-dir")
        .arg(state.path())
        .args(["--stack", STACK, "status"])
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(!plain.status.success());
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("--endpoint-url"),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );

    // destroy: the secrets, the stream and the local state are gone (the modes come from
    // the deployment's record, no flags needed).
    let des = scenario(state.path(), &moto, &kinesis, &["destroy"]);
    assert!(
        des.status.success(),
        "{}",
        String::from_utf8_lossy(&des.stderr)
    );
    for k in ["cdcTaskSecret", "fullTaskSecret"] {
        let (status, v) = json_call(
            &moto.endpoint_url(),
            "secretsmanager",
            "secretsmanager.DescribeSecret",
            serde_json::json!({"SecretId": outputs[k]}),
        );
        assert!(
            status >= 400
                && v["__type"]
                    .as_str()
                    .is_some_and(|t| t.contains("ResourceNotFound")),
            "{k} still exists: {status} {v}"
        );
    }
    let (status, v) = json_call(
        &kinesis.endpoint_url(),
        "kinesis",
        "Kinesis_20131202.DescribeStreamSummary",
        serde_json::json!({"StreamName": format!("{STACK}-TargetStream")}),
    );
    assert!(
        status >= 400
            && v["__type"]
                .as_str()
                .is_some_and(|t| t.contains("ResourceNotFound")),
        "the stream still exists: {status} {v}"
    );
    assert!(
        !state.path().join(STACK).exists(),
        "destroy removes the stack's state"
    );
    eprintln!("aws path: deploy {deploy_time:?}, run {run_time:?}");
}

#[test]
fn aws_flags_are_checked() {
    let run = |args: &[&str]| {
        let out = Command::new(scenario_bin())
            .args(args)
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&["run", "--dms", "embedded"]);
    assert!(
        e.contains("--dms applies to AWS") && e.contains("--endpoint-url"),
        "{e}"
    );
    let e = run(&[
        "run",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--databases",
        "external",
    ]);
    assert!(e.contains("--external-mariadb HOST:PORT"), "{e}");
    let e = run(&[
        "run",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--external-mariadb",
        "db:3306",
    ]);
    assert!(e.contains("needs --databases external"), "{e}");
    let e = run(&["run", "--aws", "--endpoint-url", "http://127.0.0.1:9"]);
    assert!(e.contains("exclude each other"), "{e}");
    let e = run(&[
        "run",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--host-rewrite",
        "nope",
    ]);
    assert!(e.contains("FROM=TO"), "{e}");
}

/// The RDS path through the binary, against moto alone (its RDS has no database behind it,
/// so only deploy, status and destroy): the instances and their secrets are made, found
/// again, and removed.
#[test]
fn rds_sources_on_moto_deploy_status_destroy() {
    let moto = MotoServer::start().expect("moto_server (run scripts/setup.sh)");
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(scenario_bin())
            .arg("--state-dir")
            .arg(state.path())
            .args(["--stack", "RdsPathStack", "--json", "--endpoint-url"])
            .arg(moto.endpoint_url())
            .args(args)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", state.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                state.path().join("no-aws-credentials"),
            )
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_ENDPOINT_URL_KINESIS")
            .output()
            .unwrap()
    };
    // moto knows MariaDB up to 10.6.
    let deploy = [
        "deploy",
        "--dms",
        "embedded",
        "--databases",
        "rds",
        "--no-network",
        "--rds-engine-version",
        "10.6.14",
    ];
    let d1 = ok(&run(&deploy));
    let outputs = &d1["outputs"];
    // No region configured anywhere: an endpoint URL means us-east-1, as in the seed's Makefile.
    assert!(
        outputs["kinesisStream"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kinesis:us-east-1:"),
        "{outputs}"
    );
    assert!(
        outputs["fullTaskSecret"]
            .as_str()
            .unwrap()
            .contains(":secret:RdsPathStack-fullloadinstanceSecret"),
        "{outputs}"
    );
    let d2 = ok(&run(&deploy));
    assert_eq!(
        &d2["outputs"], outputs,
        "a second deploy reuses the instances and secrets"
    );

    let secret = |arn: &serde_json::Value| {
        let (status, v) = json_call(
            &moto.endpoint_url(),
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            serde_json::json!({"SecretId": arn}),
        );
        assert_eq!(status, 200, "{v}");
        serde_json::from_str::<serde_json::Value>(v["SecretString"].as_str().unwrap()).unwrap()
    };
    let (cdc, full) = (
        secret(&outputs["cdcTaskSecret"]),
        secret(&outputs["fullTaskSecret"]),
    );
    for s in [&cdc, &full] {
        assert_eq!(s["username"], "admin");
        assert_eq!(s["dbname"], "dms_sample");
        assert_eq!(
            s["password"].as_str().unwrap().len(),
            30,
            "the generated master password"
        );
        assert!(s["host"].as_str().unwrap().contains("rdspathstack-"), "{s}");
    }
    assert_ne!(cdc["password"], full["password"]);

    let st = ok(&run(&["status"]));
    assert_eq!(st["deployment"]["databases"], "rds");
    let dbs = st["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 2, "{st}");
    assert!(dbs.iter().all(|d| d["status"] == "available"), "{st}");

    ok(&run(&["destroy"]));
    for k in ["cdcTaskSecret", "fullTaskSecret"] {
        let (status, v) = json_call(
            &moto.endpoint_url(),
            "secretsmanager",
            "secretsmanager.DescribeSecret",
            serde_json::json!({"SecretId": outputs[k]}),
        );
        assert!(
            status >= 400
                && v["__type"]
                    .as_str()
                    .is_some_and(|t| t.contains("ResourceNotFound")),
            "{k} still exists: {status} {v}"
        );
    }
    let st = ok(&run(&["status"]));
    assert!(st["deployment"].is_null(), "{st}");
    assert!(!state.path().join("RdsPathStack").exists());
}
