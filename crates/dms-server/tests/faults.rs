//! How the DMS server answers malformed and invalid requests.
//!
//! The rule: every bad request gets the fault real DMS returns (HTTP 400 with a DMS fault
//! name as `__type`), never a 500, a panic or a hang. Each call runs on its own tokio task
//! under a timeout, so a panic or a hang is reported as a wrong answer naming the request
//! instead of tearing the test down; each test collects every wrong answer and fails once
//! at the end, listing them all.
//!
//! * Bodies: not JSON, JSON but not an object, members of the wrong type:
//!   `SerializationException`. An empty body is an empty input (`{}`), as the AWS JSON
//!   protocol requires of services ("service implementations support requests with no
//!   payload"), so an operation with required members answers
//!   `InvalidParameterValueException` naming the first missing one.
//! * Missing required members and invalid values: `InvalidParameterValueException` (or
//!   `InvalidParameterCombinationException`), naming the member.
//! * Unknown ARNs and Describe* filters matching nothing: `ResourceNotFoundFault`.
//! * Invalid state transitions: `InvalidResourceStateFault`; duplicates:
//!   `ResourceAlreadyExistsFault`. The running-task cases use a private MariaDB
//!   (`dmsrs_testkit::MariaDbServer`) and an in-memory target stream.
//! * Operation names: `UnknownOperationException` for names DMS does not have,
//!   `UnsupportedOperation` for DMS operations this server does not implement.
//! * Over HTTP: missing or foreign `X-Amz-Target`, GET, oversized bodies: a JSON fault
//!   body, `application/x-amz-json-1.1`, status 400.
#![allow(clippy::unwrap_used)]

use dmsrs_dms_server::{DmsServer, Fault, SUPPORTED_OPERATIONS, ServerConfig, TARGET_PREFIX};
use dmsrs_engine::StreamTargets;
use dmsrs_secrets::MemorySecrets;
use dmsrs_streams::MemoryStream;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SERIALIZATION: &str = "SerializationException";
const INVALID: &str = "InvalidParameterValueException";
const COMBINATION: &str = "InvalidParameterCombinationException";
const NOT_FOUND: &str = "ResourceNotFoundFault";
const STATE: &str = "InvalidResourceStateFault";
const EXISTS: &str = "ResourceAlreadyExistsFault";
const UNKNOWN_OP: &str = "UnknownOperationException";
const UNSUPPORTED: &str = "UnsupportedOperation";

/// The ARN prefix of the server's default region and account.
const ARN_PREFIX: &str = "arn:aws:dms:us-east-1:000000000000";
/// The target stream of the Kinesis endpoints (registered under its name).
const STREAM_NAME: &str = "faults-target";
const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/faults-target";
/// One include rule for every table of `dms_sample`.
const MAPPINGS: &str = r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1", "object-locator": {"schema-name": "dms_sample", "table-name": "%"}, "rule-action": "include"}]}"#;
/// How long one call may take before it counts as a hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// An ARN of kind `kind` (`task`, `endpoint`, `rep`, `subgrp`) that names nothing.
fn unknown_arn(kind: &str) -> String {
    format!("{ARN_PREFIX}:{kind}:NOSUCHRESOURCE2345ABCDEFGHIJ")
}

async fn new_server(targets: StreamTargets, transition_delay: Duration) -> DmsServer {
    DmsServer::new(
        ServerConfig {
            transition_delay,
            ..ServerConfig::default()
        },
        Arc::new(MemorySecrets::new()),
        Arc::new(targets),
    )
    .await
    .unwrap()
}

async fn server() -> DmsServer {
    new_server(StreamTargets::new(), Duration::ZERO).await
}

// ---- running calls ----------------------------------------------------------------------

/// What one call answered.
#[derive(Debug)]
enum Answer {
    Ok(Value),
    Fault(Fault),
    Panicked(String),
    Hung,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Ok(v) => write!(f, "200 {}", short(&v.to_string())),
            Answer::Fault(x) => write!(f, "{} {}: {}", x.status, x.code, x.message),
            Answer::Panicked(m) => write!(f, "PANIC: {m}"),
            Answer::Hung => write!(f, "HANG: no answer within {CALL_TIMEOUT:?}"),
        }
    }
}

/// Runs `op` on its own task under [`CALL_TIMEOUT`].
async fn answer(server: &DmsServer, op: &str, body: &[u8]) -> Answer {
    let s = server.clone();
    let op = op.to_owned();
    let body = body.to_vec();
    let handle = tokio::spawn(async move { s.call(&op, &body).await });
    let abort = handle.abort_handle();
    match tokio::time::timeout(CALL_TIMEOUT, handle).await {
        Err(_) => {
            abort.abort();
            Answer::Hung
        }
        Ok(Err(join)) => Answer::Panicked(match join.try_into_panic() {
            Ok(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "(non-string panic payload)".into()),
            Err(e) => e.to_string(),
        }),
        Ok(Ok(Ok(v))) => Answer::Ok(v),
        Ok(Ok(Err(f))) => Answer::Fault(f),
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        s.to_owned()
    } else {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &s[..end], s.len())
    }
}

fn describe_request(op: &str, body: &[u8]) -> String {
    format!("{op} {}", short(&String::from_utf8_lossy(body)))
}

/// A call that must succeed (test setup): panics with the request and the answer otherwise.
async fn must(server: &DmsServer, op: &str, body: Value) -> Value {
    let bytes = body.to_string().into_bytes();
    match answer(server, op, &bytes).await {
        Answer::Ok(v) => v,
        other => panic!(
            "setup call {} failed: {other}",
            describe_request(op, &bytes)
        ),
    }
}

/// Expected answers, checked softly: every wrong answer is collected and [`Checks::finish`]
/// fails once, listing all of them.
#[derive(Default)]
struct Checks {
    failures: Vec<String>,
    checked: usize,
}

impl Checks {
    /// `op` with `body` must answer fault `code` (status 400) whose message contains every
    /// needle.
    async fn fault(
        &mut self,
        server: &DmsServer,
        op: &str,
        body: &Value,
        code: &str,
        needles: &[&str],
    ) {
        self.fault_raw(server, op, body.to_string().as_bytes(), code, needles)
            .await;
    }

    async fn fault_raw(
        &mut self,
        server: &DmsServer,
        op: &str,
        body: &[u8],
        code: &str,
        needles: &[&str],
    ) {
        self.checked += 1;
        let got = answer(server, op, body).await;
        let ok = match &got {
            Answer::Fault(f) => {
                f.code == code
                    && f.status == 400
                    && !f.message.trim().is_empty()
                    && needles.iter().all(|n| f.message.contains(n))
            }
            _ => false,
        };
        if !ok {
            let want = if needles.is_empty() {
                format!("400 {code}")
            } else {
                format!("400 {code} mentioning {needles:?}")
            };
            self.failures.push(format!(
                "{}\n    expected {want}\n    got      {got}",
                describe_request(op, body)
            ));
        }
    }

    /// `op` with `body` must succeed; returns the answer.
    async fn ok(&mut self, server: &DmsServer, op: &str, body: &Value) -> Option<Value> {
        self.ok_raw(server, op, body.to_string().as_bytes()).await
    }

    async fn ok_raw(&mut self, server: &DmsServer, op: &str, body: &[u8]) -> Option<Value> {
        self.checked += 1;
        match answer(server, op, body).await {
            Answer::Ok(v) => Some(v),
            other => {
                self.failures.push(format!(
                    "{}\n    expected 200\n    got      {other}",
                    describe_request(op, body)
                ));
                None
            }
        }
    }

    /// `op` with `body` must answer 200 or a 400 fault: never a 500, a panic or a hang.
    async fn no_server_error(&mut self, server: &DmsServer, op: &str, body: &[u8]) {
        self.checked += 1;
        let got = answer(server, op, body).await;
        let ok = match &got {
            Answer::Ok(_) => true,
            Answer::Fault(f) => f.status == 400 && !f.message.trim().is_empty(),
            _ => false,
        };
        if !ok {
            self.failures.push(format!(
                "{}\n    expected 200 or a 400 fault\n    got      {got}",
                describe_request(op, body)
            ));
        }
    }

    fn expect(&mut self, cond: bool, what: impl Into<String>) {
        self.checked += 1;
        if !cond {
            self.failures.push(what.into());
        }
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} checks got a wrong answer:\n\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n\n")
        );
        assert!(self.checked > 0, "nothing was checked");
    }
}

/// `body` without `member`.
fn without(body: &Value, member: &str) -> Value {
    let mut b = body.clone();
    b.as_object_mut().unwrap().remove(member);
    b
}

/// `body` with `member` set to `value`.
fn with(body: &Value, member: &str, value: Value) -> Value {
    let mut b = body.clone();
    b.as_object_mut().unwrap().insert(member.to_owned(), value);
    b
}

// ---- fixtures ---------------------------------------------------------------------------

fn instance_body(id: &str) -> Value {
    json!({
        "ReplicationInstanceIdentifier": id,
        "ReplicationInstanceClass": "dms.t3.micro",
        "AllocatedStorage": 20,
    })
}

/// A MariaDB source with inline credentials (nothing connects until a task starts or a
/// connection is tested; port 9 is the discard port, so without a database nothing answers).
fn source_body(id: &str, host: &str, port: u16, user: &str, password: &str) -> Value {
    json!({
        "EndpointIdentifier": id,
        "EndpointType": "source",
        "EngineName": "mariadb",
        "ServerName": host,
        "Port": port,
        "Username": user,
        "Password": password,
        "DatabaseName": "dms_sample",
    })
}

fn offline_source_body(id: &str) -> Value {
    source_body(id, "127.0.0.1", 9, "dms", "secret")
}

fn target_body(id: &str) -> Value {
    json!({
        "EndpointIdentifier": id,
        "EndpointType": "target",
        "EngineName": "kinesis",
        "KinesisSettings": {"StreamArn": STREAM_ARN, "MessageFormat": "json"},
    })
}

fn task_body(id: &str, f: &Fixture, migration_type: &str) -> Value {
    json!({
        "ReplicationTaskIdentifier": id,
        "SourceEndpointArn": f.source,
        "TargetEndpointArn": f.target,
        "ReplicationInstanceArn": f.instance,
        "MigrationType": migration_type,
        "TableMappings": MAPPINGS,
    })
}

/// An instance, a source and a target endpoint, and a `ready` CDC task.
struct Fixture {
    instance: String,
    source: String,
    target: String,
    task: String,
}

async fn fixture(server: &DmsServer, prefix: &str, source: Value) -> Fixture {
    let v = must(
        server,
        "CreateReplicationInstance",
        instance_body(&format!("{prefix}-instance")),
    )
    .await;
    let instance = v["ReplicationInstance"]["ReplicationInstanceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = must(server, "CreateEndpoint", source).await;
    let source = v["Endpoint"]["EndpointArn"].as_str().unwrap().to_owned();
    let v = must(
        server,
        "CreateEndpoint",
        target_body(&format!("{prefix}-target")),
    )
    .await;
    let target = v["Endpoint"]["EndpointArn"].as_str().unwrap().to_owned();
    let mut f = Fixture {
        instance,
        source,
        target,
        task: String::new(),
    };
    let v = must(
        server,
        "CreateReplicationTask",
        task_body(&format!("{prefix}-task"), &f, "cdc"),
    )
    .await;
    f.task = v["ReplicationTask"]["ReplicationTaskArn"]
        .as_str()
        .unwrap()
        .to_owned();
    f
}

async fn offline_fixture(server: &DmsServer, prefix: &str) -> Fixture {
    fixture(
        server,
        prefix,
        offline_source_body(&format!("{prefix}-source")),
    )
    .await
}

/// The task's `Status` as DescribeReplicationTasks shows it.
async fn task_status(server: &DmsServer, arn: &str) -> String {
    let v = must(
        server,
        "DescribeReplicationTasks",
        json!({"Filters": [{"Name": "replication-task-arn", "Values": [arn]}]}),
    )
    .await;
    v["ReplicationTasks"][0]["Status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the task is `status` (fails after 30 s, showing the task).
async fn wait_status(server: &DmsServer, arn: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = task_status(server, arn).await;
        if now == status {
            return;
        }
        if Instant::now() > deadline {
            let v = must(
                server,
                "DescribeReplicationTasks",
                json!({"Filters": [{"Name": "replication-task-arn", "Values": [arn]}]}),
            )
            .await;
            panic!("task {arn} is still {now:?}, not {status:?}: {v}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---- bodies -------------------------------------------------------------------------------

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_serialization_exceptions() {
    let s = server().await;
    let mut c = Checks::default();
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(100_000);
    let deep_member = format!(
        "{{\"Filters\": {}{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let bodies: Vec<&[u8]> = vec![
        b"{",
        b"}",
        b"not json",
        b"{'Marker': 'x'}",
        b"{\"Marker\": }",
        b"{\"Marker\": \"x\",}",
        b"{\"Marker\": \"x\"} {\"Marker\": \"y\"}",
        b"{\"Marker\": \"x\"}garbage",
        b"{\"Marker\": \"\xff\xfe\"}",
        b"\xff\xfe\x00{",
        b"[]",
        b"[{}]",
        b"\"DescribeReplicationTasks\"",
        b"42",
        b"-1.5e3",
        b"true",
        b"null",
        deep_array.as_bytes(),
        deep_object.as_bytes(),
        deep_member.as_bytes(),
    ];
    for op in [
        "DescribeReplicationTasks",
        "CreateEndpoint",
        "StartReplicationTask",
        "DeleteReplicationInstance",
        "AddTagsToResource",
    ] {
        for body in &bodies {
            c.fault_raw(&s, op, body, SERIALIZATION, &[]).await;
        }
    }

    // An empty body is an empty input: fine where nothing is required, the first missing
    // member otherwise.
    for body in [&b""[..], b"  \r\n\t", b"{}", b" {} "] {
        c.ok_raw(&s, "DescribeReplicationTasks", body).await;
        c.ok_raw(&s, "DescribeEndpointTypes", body).await;
        c.fault_raw(&s, "CreateEndpoint", body, INVALID, &["EndpointIdentifier"])
            .await;
        c.fault_raw(
            &s,
            "StartReplicationTask",
            body,
            INVALID,
            &["ReplicationTaskArn"],
        )
        .await;
        c.fault_raw(
            &s,
            "CreateReplicationInstance",
            body,
            INVALID,
            &["ReplicationInstanceIdentifier"],
        )
        .await;
        c.fault_raw(
            &s,
            "DescribeTableStatistics",
            body,
            INVALID,
            &["ReplicationTaskArn"],
        )
        .await;
    }
    c.finish();
}

#[tokio::test]
async fn members_of_the_wrong_type_are_serialization_exceptions() {
    let s = server().await;
    let mut c = Checks::default();
    let fake = Fixture {
        instance: unknown_arn("rep"),
        source: unknown_arn("endpoint"),
        target: unknown_arn("endpoint"),
        task: unknown_arn("task"),
    };
    let task = task_body("typed-task", &fake, "cdc");
    let source = offline_source_body("typed-source");
    let instance = instance_body("typed-instance");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "DescribeReplicationTasks",
            json!({"MaxRecords": "x"}),
            "MaxRecords",
        ),
        (
            "DescribeReplicationTasks",
            json!({"MaxRecords": 20.5}),
            "MaxRecords",
        ),
        (
            "DescribeReplicationTasks",
            json!({"MaxRecords": [20]}),
            "MaxRecords",
        ),
        (
            "DescribeReplicationTasks",
            json!({"MaxRecords": 1e30}),
            "MaxRecords",
        ),
        (
            "DescribeReplicationTasks",
            json!({"Filters": {}}),
            "Filters",
        ),
        (
            "DescribeReplicationTasks",
            json!({"Filters": "replication-task-id"}),
            "Filters",
        ),
        (
            "DescribeReplicationTasks",
            json!({"Filters": [{"Name": 5, "Values": []}]}),
            "Filters",
        ),
        (
            "DescribeReplicationTasks",
            json!({"Filters": [{"Name": "replication-task-id", "Values": "x"}]}),
            "Filters",
        ),
        (
            "DescribeReplicationTasks",
            json!({"Filters": ["replication-task-id"]}),
            "Filters",
        ),
        ("DescribeReplicationTasks", json!({"Marker": 7}), "Marker"),
        (
            "DescribeReplicationTasks",
            json!({"WithoutSettings": "yes"}),
            "WithoutSettings",
        ),
        ("DescribeEndpoints", json!({"Filters": {}}), "Filters"),
        (
            "DescribeEndpoints",
            json!({"MaxRecords": "x"}),
            "MaxRecords",
        ),
        (
            "DescribeReplicationInstances",
            json!({"MaxRecords": "x"}),
            "MaxRecords",
        ),
        (
            "DescribeReplicationSubnetGroups",
            json!({"Filters": {}}),
            "Filters",
        ),
        (
            "DescribeConnections",
            json!({"MaxRecords": true}),
            "MaxRecords",
        ),
        ("DescribeEndpointTypes", json!({"Filters": 1}), "Filters"),
        (
            "DescribeTableStatistics",
            json!({"ReplicationTaskArn": fake.task, "MaxRecords": "x"}),
            "MaxRecords",
        ),
        (
            "CreateReplicationTask",
            with(&task, "TableMappings", json!(5)),
            "TableMappings",
        ),
        (
            "CreateReplicationTask",
            with(&task, "TableMappings", json!({"rules": []})),
            "TableMappings",
        ),
        (
            "CreateReplicationTask",
            with(&task, "ReplicationTaskSettings", json!({"Logging": {}})),
            "ReplicationTaskSettings",
        ),
        (
            "CreateReplicationTask",
            with(&task, "Tags", json!("a")),
            "Tags",
        ),
        (
            "CreateReplicationTask",
            with(&task, "Tags", json!({"Key": "k"})),
            "Tags",
        ),
        (
            "CreateReplicationTask",
            with(&task, "CdcStartTime", json!(true)),
            "CdcStartTime",
        ),
        (
            "CreateReplicationTask",
            with(&task, "ReplicationTaskIdentifier", json!(["x"])),
            "ReplicationTaskIdentifier",
        ),
        (
            "CreateReplicationTask",
            with(&task, "MigrationType", json!(1)),
            "MigrationType",
        ),
        ("CreateEndpoint", with(&source, "Tags", json!("a")), "Tags"),
        (
            "CreateEndpoint",
            with(&source, "Tags", json!([{"Key": 1, "Value": "v"}])),
            "Tags",
        ),
        (
            "CreateEndpoint",
            with(&source, "Port", json!("3306")),
            "Port",
        ),
        (
            "CreateEndpoint",
            with(&source, "MySQLSettings", json!([])),
            "MySQLSettings",
        ),
        (
            "CreateEndpoint",
            with(&target_body("t"), "KinesisSettings", json!("x")),
            "KinesisSettings",
        ),
        (
            "CreateEndpoint",
            with(
                &target_body("t"),
                "KinesisSettings",
                json!({"StreamArn": 5}),
            ),
            "KinesisSettings",
        ),
        (
            "CreateReplicationInstance",
            with(&instance, "AllocatedStorage", json!("50")),
            "AllocatedStorage",
        ),
        (
            "CreateReplicationInstance",
            with(&instance, "MultiAZ", json!("no")),
            "MultiAZ",
        ),
        (
            "CreateReplicationInstance",
            with(&instance, "VpcSecurityGroupIds", json!("sg-1")),
            "VpcSecurityGroupIds",
        ),
        (
            "CreateReplicationSubnetGroup",
            json!({"ReplicationSubnetGroupIdentifier": "g", "ReplicationSubnetGroupDescription": "d", "SubnetIds": "subnet-1"}),
            "SubnetIds",
        ),
        (
            "StartReplicationTask",
            json!({"ReplicationTaskArn": 5, "StartReplicationTaskType": "start-replication"}),
            "ReplicationTaskArn",
        ),
        (
            "StartReplicationTask",
            json!({"ReplicationTaskArn": fake.task, "StartReplicationTaskType": ["start-replication"]}),
            "StartReplicationTaskType",
        ),
        (
            "StopReplicationTask",
            json!({"ReplicationTaskArn": {}}),
            "ReplicationTaskArn",
        ),
        (
            "DeleteReplicationTask",
            json!({"ReplicationTaskArn": false}),
            "ReplicationTaskArn",
        ),
        (
            "ModifyReplicationTask",
            json!({"ReplicationTaskArn": fake.task, "TableMappings": {"rules": []}}),
            "TableMappings",
        ),
        (
            "ReloadTables",
            json!({"ReplicationTaskArn": fake.task, "TablesToReload": {}}),
            "TablesToReload",
        ),
        (
            "ReloadTables",
            json!({"ReplicationTaskArn": fake.task, "TablesToReload": [{"SchemaName": 1, "TableName": "t"}]}),
            "TablesToReload",
        ),
        (
            "AddTagsToResource",
            json!({"ResourceArn": fake.task, "Tags": "a"}),
            "Tags",
        ),
        (
            "RemoveTagsFromResource",
            json!({"ResourceArn": fake.task, "TagKeys": "k"}),
            "TagKeys",
        ),
        (
            "ListTagsForResource",
            json!({"ResourceArnList": "x"}),
            "ResourceArnList",
        ),
        (
            "TestConnection",
            json!({"ReplicationInstanceArn": fake.instance, "EndpointArn": 1}),
            "EndpointArn",
        ),
        (
            "DeleteEndpoint",
            json!({"EndpointArn": [fake.source]}),
            "EndpointArn",
        ),
        (
            "DeleteReplicationSubnetGroup",
            json!({"ReplicationSubnetGroupIdentifier": 3}),
            "ReplicationSubnetGroupIdentifier",
        ),
    ];
    for (op, body, member) in &cases {
        c.fault(&s, op, body, SERIALIZATION, &[member]).await;
    }

    // null is an absent member, not a wrong type.
    c.ok(
        &s,
        "DescribeReplicationTasks",
        &json!({"MaxRecords": null, "Filters": null, "Marker": null}),
    )
    .await;
    c.finish();
}

// ---- missing members ------------------------------------------------------------------

#[tokio::test]
async fn missing_required_members_are_invalid_parameter_values_naming_the_member() {
    let s = server().await;
    let mut c = Checks::default();
    let fake = Fixture {
        instance: unknown_arn("rep"),
        source: unknown_arn("endpoint"),
        target: unknown_arn("endpoint"),
        task: unknown_arn("task"),
    };
    let task_arn = json!(fake.task);
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "CreateReplicationSubnetGroup",
            json!({"ReplicationSubnetGroupIdentifier": "group", "ReplicationSubnetGroupDescription": "d", "SubnetIds": ["subnet-1"]}),
            &[
                "ReplicationSubnetGroupIdentifier",
                "ReplicationSubnetGroupDescription",
                "SubnetIds",
            ],
        ),
        (
            "CreateReplicationInstance",
            instance_body("missing-instance"),
            &["ReplicationInstanceIdentifier", "ReplicationInstanceClass"],
        ),
        (
            "CreateEndpoint",
            offline_source_body("missing-source"),
            &["EndpointIdentifier", "EndpointType", "EngineName"],
        ),
        (
            "CreateReplicationTask",
            task_body("missing-task", &fake, "cdc"),
            &[
                "ReplicationTaskIdentifier",
                "SourceEndpointArn",
                "TargetEndpointArn",
                "ReplicationInstanceArn",
                "MigrationType",
                "TableMappings",
            ],
        ),
        (
            "StartReplicationTask",
            json!({"ReplicationTaskArn": task_arn, "StartReplicationTaskType": "start-replication"}),
            &["ReplicationTaskArn", "StartReplicationTaskType"],
        ),
        (
            "StopReplicationTask",
            json!({"ReplicationTaskArn": task_arn}),
            &["ReplicationTaskArn"],
        ),
        (
            "DeleteReplicationTask",
            json!({"ReplicationTaskArn": task_arn}),
            &["ReplicationTaskArn"],
        ),
        (
            "ModifyReplicationTask",
            json!({"ReplicationTaskArn": task_arn}),
            &["ReplicationTaskArn"],
        ),
        (
            "DescribeTableStatistics",
            json!({"ReplicationTaskArn": task_arn}),
            &["ReplicationTaskArn"],
        ),
        (
            "ReloadTables",
            json!({"ReplicationTaskArn": task_arn, "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "t"}]}),
            &["ReplicationTaskArn", "TablesToReload"],
        ),
        (
            "DeleteEndpoint",
            json!({"EndpointArn": fake.source}),
            &["EndpointArn"],
        ),
        (
            "DeleteReplicationInstance",
            json!({"ReplicationInstanceArn": fake.instance}),
            &["ReplicationInstanceArn"],
        ),
        (
            "DeleteReplicationSubnetGroup",
            json!({"ReplicationSubnetGroupIdentifier": "group"}),
            &["ReplicationSubnetGroupIdentifier"],
        ),
        (
            "TestConnection",
            json!({"ReplicationInstanceArn": fake.instance, "EndpointArn": fake.source}),
            &["ReplicationInstanceArn", "EndpointArn"],
        ),
        (
            "DeleteConnection",
            json!({"ReplicationInstanceArn": fake.instance, "EndpointArn": fake.source}),
            &["ReplicationInstanceArn", "EndpointArn"],
        ),
        (
            "AddTagsToResource",
            json!({"ResourceArn": task_arn, "Tags": [{"Key": "k", "Value": "v"}]}),
            &["ResourceArn", "Tags"],
        ),
        (
            "RemoveTagsFromResource",
            json!({"ResourceArn": task_arn, "TagKeys": ["k"]}),
            &["ResourceArn", "TagKeys"],
        ),
        (
            "ListTagsForResource",
            json!({"ResourceArn": task_arn}),
            &["ResourceArn"],
        ),
    ];
    for (op, body, required) in &cases {
        for member in *required {
            c.fault(&s, op, &without(body, member), INVALID, &[member])
                .await;
            c.fault(&s, op, &with(body, member, Value::Null), INVALID, &[member])
                .await;
            if body[*member].is_string() {
                c.fault(&s, op, &with(body, member, json!("")), INVALID, &[member])
                    .await;
            }
        }
    }
    // An empty list where at least one item is required.
    c.fault(
        &s,
        "CreateReplicationSubnetGroup",
        &json!({"ReplicationSubnetGroupIdentifier": "group", "ReplicationSubnetGroupDescription": "d", "SubnetIds": []}),
        INVALID,
        &["SubnetIds"],
    )
    .await;
    c.fault(
        &s,
        "ListTagsForResource",
        &json!({"ResourceArnList": []}),
        INVALID,
        &["ResourceArn"],
    )
    .await;
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": task_arn, "TablesToReload": [{"SchemaName": "dms_sample"}]}),
        INVALID,
        &["TableName"],
    )
    .await;
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": task_arn, "TablesToReload": [{"TableName": "t"}]}),
        INVALID,
        &["SchemaName"],
    )
    .await;
    c.fault(
        &s,
        "DescribeReplicationTasks",
        &json!({"Filters": [{"Values": ["x"]}]}),
        INVALID,
        &["Name"],
    )
    .await;
    // Nothing was created by any of it.
    let v = c.ok(&s, "DescribeReplicationInstances", &json!({})).await;
    c.expect(
        v.is_some_and(|v| {
            v["ReplicationInstances"]
                .as_array()
                .is_some_and(Vec::is_empty)
        }),
        "refused requests created replication instances",
    );
    c.finish();
}

// ---- invalid values -------------------------------------------------------------------

#[tokio::test]
async fn invalid_values_are_invalid_parameter_values() {
    let s = server().await;
    let f = offline_fixture(&s, "values").await;
    let mut c = Checks::default();
    let long_256 = format!("a{}", "b".repeat(255));
    let long_255 = format!("a{}", "b".repeat(254));
    let bad_ids = [
        "1abc",
        "a--b",
        "abc-",
        "-abc",
        "ab_c",
        "ab c",
        "ab.c",
        "abc\u{e9}",
        long_256.as_str(),
    ];

    // Identifiers.
    for id in bad_ids {
        c.fault(
            &s,
            "CreateReplicationInstance",
            &instance_body(id),
            INVALID,
            &["ReplicationInstanceIdentifier"],
        )
        .await;
        c.fault(
            &s,
            "CreateEndpoint",
            &offline_source_body(id),
            INVALID,
            &["EndpointIdentifier"],
        )
        .await;
        c.fault(
            &s,
            "CreateEndpoint",
            &target_body(id),
            INVALID,
            &["EndpointIdentifier"],
        )
        .await;
        c.fault(
            &s,
            "CreateReplicationTask",
            &task_body(id, &f, "cdc"),
            INVALID,
            &["ReplicationTaskIdentifier"],
        )
        .await;
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "ReplicationTaskIdentifier": id}),
            INVALID,
            &["ReplicationTaskIdentifier"],
        )
        .await;
    }
    // 255 characters is still an identifier.
    c.ok(&s, "CreateReplicationInstance", &instance_body(&long_255))
        .await;
    c.ok(&s, "CreateEndpoint", &target_body(&long_255)).await;

    // Enumerations.
    for mt in ["bulk", "full_load", "cdc-only"] {
        c.fault(
            &s,
            "CreateReplicationTask",
            &task_body("enum-task", &f, mt),
            INVALID,
            &["MigrationType"],
        )
        .await;
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "MigrationType": mt}),
            INVALID,
            &["MigrationType"],
        )
        .await;
    }
    for t in ["go", "start", "resume", "Start-Replication", ""] {
        c.fault(
            &s,
            "StartReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "StartReplicationTaskType": t}),
            INVALID,
            &["StartReplicationTaskType"],
        )
        .await;
    }
    c.fault(
        &s,
        "CreateEndpoint",
        &with(
            &offline_source_body("enum-source"),
            "EndpointType",
            json!("middle"),
        ),
        INVALID,
        &["EndpointType"],
    )
    .await;
    c.fault(
        &s,
        "CreateEndpoint",
        &with(
            &offline_source_body("enum-source"),
            "SslMode",
            json!("maybe"),
        ),
        INVALID,
        &["SslMode"],
    )
    .await;
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "t"}], "ReloadOption": "everything"}),
        INVALID,
        &["ReloadOption"],
    )
    .await;

    // MaxRecords out of range, and filters the operation does not know.
    let describes: [(&str, Value); 7] = [
        ("DescribeReplicationTasks", json!({})),
        ("DescribeEndpoints", json!({})),
        ("DescribeReplicationInstances", json!({})),
        ("DescribeReplicationSubnetGroups", json!({})),
        ("DescribeConnections", json!({})),
        ("DescribeEndpointTypes", json!({})),
        (
            "DescribeTableStatistics",
            json!({"ReplicationTaskArn": f.task}),
        ),
    ];
    for (op, base) in &describes {
        let max = if *op == "DescribeTableStatistics" {
            500
        } else {
            100
        };
        for n in [-1, 0, 5, 19, max + 1, 1000] {
            c.fault(
                &s,
                op,
                &with(base, "MaxRecords", json!(n)),
                INVALID,
                &["MaxRecords"],
            )
            .await;
        }
        for n in [20, max] {
            c.ok(&s, op, &with(base, "MaxRecords", json!(n))).await;
        }
        c.fault(
            &s,
            op,
            &with(
                base,
                "Filters",
                json!([{"Name": "no-such-filter", "Values": ["x"]}]),
            ),
            INVALID,
            &["no-such-filter"],
        )
        .await;
        c.fault(
            &s,
            op,
            &with(base, "Filters", json!([{"Name": "", "Values": ["x"]}])),
            INVALID,
            &[],
        )
        .await;
    }
    c.fault(
        &s,
        "DescribeReplicationTasks",
        &json!({"Filters": [{"Name": "migration-type", "Values": ["bulk"]}]}),
        INVALID,
        &["bulk"],
    )
    .await;

    // CdcStartTime and CdcStartPosition together.
    let both = |b: &Value| {
        with(
            &with(b, "CdcStartTime", json!(1_700_000_000)),
            "CdcStartPosition",
            json!("mysql-bin.000001:4"),
        )
    };
    c.fault(
        &s,
        "CreateReplicationTask",
        &both(&task_body("both-task", &f, "cdc")),
        COMBINATION,
        &["CdcStartPosition", "CdcStartTime"],
    )
    .await;
    c.fault(
        &s,
        "ModifyReplicationTask",
        &both(&json!({"ReplicationTaskArn": f.task})),
        COMBINATION,
        &["CdcStartPosition", "CdcStartTime"],
    )
    .await;
    c.fault(
        &s,
        "StartReplicationTask",
        &both(
            &json!({"ReplicationTaskArn": f.task, "StartReplicationTaskType": "start-replication"}),
        ),
        COMBINATION,
        &["CdcStartPosition", "CdcStartTime"],
    )
    .await;

    // Dates that are not dates.
    for date in [
        json!("yesterday"),
        json!("2026-13-01T00:00:00Z"),
        json!(-5),
        json!(""),
    ] {
        c.fault(
            &s,
            "CreateReplicationTask",
            &with(
                &task_body("date-task", &f, "cdc"),
                "CdcStartTime",
                date.clone(),
            ),
            INVALID,
            &["CdcStartTime"],
        )
        .await;
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "CdcStartTime": date}),
            INVALID,
            &["CdcStartTime"],
        )
        .await;
    }

    // Engines this server does not replicate.
    for (kind, engine) in [
        ("source", "postgres"),
        ("source", "oracle"),
        ("source", "kinesis"),
        ("source", "nonsense"),
        ("target", "s3"),
        ("target", "mysql"),
        ("target", "dynamodb"),
    ] {
        let body = json!({
            "EndpointIdentifier": "engine-endpoint",
            "EndpointType": kind,
            "EngineName": engine,
            "ServerName": "127.0.0.1",
            "Port": 5432,
            "Username": "u",
            "Password": "p",
            "KinesisSettings": {"StreamArn": STREAM_ARN},
        });
        c.fault(&s, "CreateEndpoint", &body, INVALID, &[engine])
            .await;
    }

    // Kinesis targets need a stream; MessageFormat is json or json-unformatted.
    let kinesis = target_body("kinesis-endpoint");
    c.fault(
        &s,
        "CreateEndpoint",
        &without(&kinesis, "KinesisSettings"),
        INVALID,
        &["KinesisSettings"],
    )
    .await;
    for settings in [
        json!({}),
        json!({"StreamArn": ""}),
        json!({"MessageFormat": "json"}),
    ] {
        c.fault(
            &s,
            "CreateEndpoint",
            &with(&kinesis, "KinesisSettings", settings),
            INVALID,
            &["StreamArn"],
        )
        .await;
    }
    for format in ["xml", "JSON", "parquet"] {
        c.fault(
            &s,
            "CreateEndpoint",
            &with(
                &kinesis,
                "KinesisSettings",
                json!({"StreamArn": STREAM_ARN, "MessageFormat": format}),
            ),
            INVALID,
            &["MessageFormat"],
        )
        .await;
    }

    // Sources need credentials (or a secret); ports are TCP ports.
    let src = offline_source_body("creds-source");
    for member in ["ServerName", "Username", "Password"] {
        c.fault(
            &s,
            "CreateEndpoint",
            &without(&src, member),
            INVALID,
            &[member],
        )
        .await;
    }
    for port in [0, -1, 65_536, 70_000] {
        c.fault(
            &s,
            "CreateEndpoint",
            &with(&src, "Port", json!(port)),
            INVALID,
            &["Port"],
        )
        .await;
    }

    // Instances and subnet groups.
    let inst = instance_body("value-instance");
    for class in ["t3.micro", "db.t3.micro", "dms"] {
        c.fault(
            &s,
            "CreateReplicationInstance",
            &with(&inst, "ReplicationInstanceClass", json!(class)),
            INVALID,
            &["ReplicationInstanceClass"],
        )
        .await;
    }
    for storage in [0, 1, 4, 6145] {
        c.fault(
            &s,
            "CreateReplicationInstance",
            &with(&inst, "AllocatedStorage", json!(storage)),
            INVALID,
            &["AllocatedStorage"],
        )
        .await;
    }
    c.fault(
        &s,
        "CreateReplicationInstance",
        &with(&inst, "ResourceIdentifier", json!("a".repeat(32))),
        INVALID,
        &["ResourceIdentifier"],
    )
    .await;
    for id in ["default", "Default", "bad/id", "bad:id", long_256.as_str()] {
        c.fault(
            &s,
            "CreateReplicationSubnetGroup",
            &json!({"ReplicationSubnetGroupIdentifier": id, "ReplicationSubnetGroupDescription": "d", "SubnetIds": ["subnet-1"]}),
            INVALID,
            &["ReplicationSubnetGroupIdentifier"],
        )
        .await;
    }

    // Tags need keys.
    for tags in [json!([{"Value": "v"}]), json!([{"Key": "", "Value": "v"}])] {
        c.fault(
            &s,
            "AddTagsToResource",
            &json!({"ResourceArn": f.task, "Tags": tags}),
            INVALID,
            &["Key"],
        )
        .await;
    }

    // Table mappings that are not table mappings.
    let deep = format!(
        "{{\"rules\": {}{}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let bad_mappings = [
        "not json",
        "{\"rules\": [",
        "[]",
        "{}",
        "{\"rules\": []}",
        "{\"rules\": {}}",
        r#"{"rules": [{"rule-type": "frobnicate", "rule-id": "1", "rule-name": "1", "object-locator": {"schema-name": "dms_sample", "table-name": "%"}, "rule-action": "include"}]}"#,
        r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1", "rule-action": "include"}]}"#,
        r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1", "object-locator": {"schema-name": "dms_sample", "table-name": "%"}, "rule-action": "obliterate"}]}"#,
        r#"{"rules": [{"rule-type": "selection", "rule-name": "1", "object-locator": {"schema-name": "dms_sample", "table-name": "%"}, "rule-action": "include"}]}"#,
        deep.as_str(),
    ];
    for m in bad_mappings {
        c.fault(
            &s,
            "CreateReplicationTask",
            &with(
                &task_body("mapping-task", &f, "cdc"),
                "TableMappings",
                json!(m),
            ),
            INVALID,
            &["TableMappings"],
        )
        .await;
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "TableMappings": m}),
            INVALID,
            &["TableMappings"],
        )
        .await;
    }

    // Task settings that are not task settings.
    for settings in [
        "not json",
        "{\"Logging\": ",
        "[]",
        "42",
        "{\"Logging\": 5}",
        "{\"FullLoadSettings\": {\"MaxFullLoadSubTasks\": \"many\"}}",
    ] {
        c.fault(
            &s,
            "CreateReplicationTask",
            &with(
                &task_body("settings-task", &f, "cdc"),
                "ReplicationTaskSettings",
                json!(settings),
            ),
            INVALID,
            &["ReplicationTaskSettings"],
        )
        .await;
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "ReplicationTaskSettings": settings}),
            INVALID,
            &["ReplicationTaskSettings"],
        )
        .await;
    }

    // Endpoints of the wrong kind.
    let mut swapped = task_body("swapped-task", &f, "cdc");
    swapped["SourceEndpointArn"] = json!(f.target);
    swapped["TargetEndpointArn"] = json!(f.source);
    c.fault(&s, "CreateReplicationTask", &swapped, INVALID, &[])
        .await;

    // ReloadTables: validate-only needs validation; an empty list names no table.
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "t"}], "ReloadOption": "validate-only"}),
        INVALID,
        &["validate-only"],
    )
    .await;
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": []}),
        INVALID,
        &["TablesToReload"],
    )
    .await;

    // None of it changed the task or created anything.
    c.expect(
        task_status(&s, &f.task).await == "ready",
        "the fixture task is no longer ready after refused requests",
    );
    let v = must(&s, "DescribeReplicationTasks", json!({})).await;
    c.expect(
        v["ReplicationTasks"].as_array().map(Vec::len) == Some(1),
        format!("refused requests created tasks: {}", short(&v.to_string())),
    );
    let v = must(
        &s,
        "DescribeReplicationTasks",
        json!({"Filters": [{"Name": "replication-task-arn", "Values": [f.task]}]}),
    )
    .await;
    c.expect(
        v["ReplicationTasks"][0]["TableMappings"] == json!(MAPPINGS)
            && v["ReplicationTasks"][0]["MigrationType"] == json!("cdc")
            && v["ReplicationTasks"][0]["ReplicationTaskIdentifier"] == json!("values-task"),
        format!(
            "refused modifications changed the task: {}",
            short(&v.to_string())
        ),
    );
    c.finish();
}

/// Dates far outside what a `SystemTime` holds must be refused like any other bad date, not
/// crash the request (over HTTP a crashed request is a connection closed without an answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_cdc_start_times_are_invalid_parameter_values() {
    let s = server().await;
    let f = offline_fixture(&s, "range").await;
    let mut c = Checks::default();
    let dates = [
        json!(1e300),
        json!(1e19),
        json!(9.3e18),
        json!("9999999999999999-01-01T00:00:00Z"),
        json!("9223372036854775807-01-01T00:00:00Z"),
    ];
    for date in &dates {
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "CdcStartTime": date}),
            INVALID,
            &["CdcStartTime"],
        )
        .await;
        c.fault(
            &s,
            "CreateReplicationTask",
            &with(
                &task_body("range-task-2", &f, "cdc"),
                "CdcStartTime",
                date.clone(),
            ),
            INVALID,
            &["CdcStartTime"],
        )
        .await;
        c.fault(
            &s,
            "StartReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "StartReplicationTaskType": "start-replication", "CdcStartTime": date}),
            INVALID,
            &["CdcStartTime"],
        )
        .await;
    }

    // What an HTTP client sees.
    let (addr, stop, serving) = serve(&s).await;
    let request = json!({"ReplicationTaskArn": f.task, "CdcStartTime": 1e300});
    match try_http(
        addr,
        request_head("POST", Some(&dms_target("ModifyReplicationTask"))),
        request.to_string().into_bytes(),
    )
    .await
    {
        Ok(a) => check_http_fault(
            &mut c,
            &format!("POST ModifyReplicationTask {request}"),
            &a,
            INVALID,
        ),
        Err(e) => c.expect(
            false,
            format!(
                "POST ModifyReplicationTask {request}\n    expected 400 {INVALID}\n    got      {e}"
            ),
        ),
    }
    // The server still answers afterwards.
    let a = http(
        addr,
        request_head("POST", Some(&dms_target("DescribeReplicationTasks"))),
        b"{}".to_vec(),
    )
    .await;
    c.expect(
        a.status == 200,
        format!("DescribeReplicationTasks after the bad date: {}", a.status),
    );
    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(20), serving).await;
    c.finish();
}

/// `ResourceIdentifier` follows DMS's rules (up to 31 letters, digits and hyphens, starting
/// with a letter, no trailing or double hyphen) and, since it is the end of the ARN, two
/// resources cannot share one.
#[tokio::test]
async fn resource_identifiers_are_validated_and_unique() {
    let s = server().await;
    let f = offline_fixture(&s, "resid").await;
    let mut c = Checks::default();
    for (n, rid) in ["bad:id", "bad/id", "1abc", "a--b", "abc-", "ab_c"]
        .into_iter()
        .enumerate()
    {
        c.fault(
            &s,
            "CreateReplicationInstance",
            &with(
                &instance_body(&format!("resid-bad-instance-{n}")),
                "ResourceIdentifier",
                json!(rid),
            ),
            INVALID,
            &["ResourceIdentifier"],
        )
        .await;
        c.fault(
            &s,
            "CreateReplicationTask",
            &with(
                &task_body(&format!("resid-bad-task-{n}"), &f, "cdc"),
                "ResourceIdentifier",
                json!(rid),
            ),
            INVALID,
            &["ResourceIdentifier"],
        )
        .await;
    }

    // Two instances with one ResourceIdentifier: the second must not replace the first.
    c.ok(
        &s,
        "CreateReplicationInstance",
        &with(
            &instance_body("resid-first"),
            "ResourceIdentifier",
            json!("Shared-Instance"),
        ),
    )
    .await;
    c.fault(
        &s,
        "CreateReplicationInstance",
        &with(
            &instance_body("resid-second"),
            "ResourceIdentifier",
            json!("Shared-Instance"),
        ),
        EXISTS,
        &[],
    )
    .await;
    let v = must(
        &s,
        "DescribeReplicationInstances",
        json!({"Filters": [{"Name": "replication-instance-arn", "Values": [format!("{ARN_PREFIX}:rep:Shared-Instance")]}]}),
    )
    .await;
    c.expect(
        v["ReplicationInstances"][0]["ReplicationInstanceIdentifier"] == json!("resid-first"),
        format!(
            "CreateReplicationInstance with a taken ResourceIdentifier replaced the first instance: {}",
            short(&v.to_string())
        ),
    );

    // Two tasks with one ResourceIdentifier.
    c.ok(
        &s,
        "CreateReplicationTask",
        &with(
            &task_body("resid-task-one", &f, "cdc"),
            "ResourceIdentifier",
            json!("Shared-Task"),
        ),
    )
    .await;
    c.fault(
        &s,
        "CreateReplicationTask",
        &with(
            &task_body("resid-task-two", &f, "cdc"),
            "ResourceIdentifier",
            json!("Shared-Task"),
        ),
        EXISTS,
        &[],
    )
    .await;
    let v = must(
        &s,
        "DescribeReplicationTasks",
        json!({"Filters": [{"Name": "replication-task-arn", "Values": [format!("{ARN_PREFIX}:task:Shared-Task")]}]}),
    )
    .await;
    c.expect(
        v["ReplicationTasks"][0]["ReplicationTaskIdentifier"] == json!("resid-task-one"),
        format!(
            "CreateReplicationTask with a taken ResourceIdentifier replaced the first task: {}",
            short(&v.to_string())
        ),
    );
    c.finish();
}

/// A create that is refused (here: a tag without a key) creates nothing: the same request
/// with valid tags then succeeds instead of finding a half-created resource.
#[tokio::test]
async fn refused_creates_leave_nothing_behind() {
    let s = server().await;
    let f = offline_fixture(&s, "atomic").await;
    let mut c = Checks::default();
    let bad_tags = json!([{"Key": "", "Value": "v"}]);
    let good_tags = json!([{"Key": "k", "Value": "v"}]);
    let creates: [(&str, Value, &str, &str, &str); 4] = [
        (
            "CreateReplicationSubnetGroup",
            json!({"ReplicationSubnetGroupIdentifier": "atomic-group", "ReplicationSubnetGroupDescription": "d", "SubnetIds": ["subnet-1"]}),
            "DescribeReplicationSubnetGroups",
            "replication-subnet-group-id",
            "atomic-group",
        ),
        (
            "CreateReplicationInstance",
            instance_body("atomic-other-instance"),
            "DescribeReplicationInstances",
            "replication-instance-id",
            "atomic-other-instance",
        ),
        (
            "CreateEndpoint",
            offline_source_body("atomic-other-source"),
            "DescribeEndpoints",
            "endpoint-id",
            "atomic-other-source",
        ),
        (
            "CreateReplicationTask",
            task_body("atomic-other-task", &f, "cdc"),
            "DescribeReplicationTasks",
            "replication-task-id",
            "atomic-other-task",
        ),
    ];
    for (op, body, describe, filter, id) in &creates {
        c.fault(
            &s,
            op,
            &with(body, "Tags", bad_tags.clone()),
            INVALID,
            &["Key"],
        )
        .await;
        c.fault(
            &s,
            describe,
            &json!({"Filters": [{"Name": filter, "Values": [id]}]}),
            NOT_FOUND,
            &[],
        )
        .await;
        c.ok(&s, op, &with(body, "Tags", good_tags.clone())).await;
    }
    c.finish();
}

// ---- unknown resources ----------------------------------------------------------------

#[tokio::test]
async fn unknown_resources_are_resource_not_found() {
    let s = server().await;
    let f = offline_fixture(&s, "known").await;
    let mut c = Checks::default();
    let task = unknown_arn("task");
    let endpoint = unknown_arn("endpoint");
    let instance = unknown_arn("rep");
    let table = json!([{"SchemaName": "dms_sample", "TableName": "t"}]);

    // Task operations, with an unknown ARN and with the ARN of something that is not a task.
    for arn in [
        task.as_str(),
        f.source.as_str(),
        f.instance.as_str(),
        "not-an-arn",
    ] {
        for t in ["start-replication", "resume-processing", "reload-target"] {
            c.fault(
                &s,
                "StartReplicationTask",
                &json!({"ReplicationTaskArn": arn, "StartReplicationTaskType": t}),
                NOT_FOUND,
                &[],
            )
            .await;
        }
        for op in [
            "StopReplicationTask",
            "DeleteReplicationTask",
            "ModifyReplicationTask",
            "DescribeTableStatistics",
        ] {
            c.fault(&s, op, &json!({"ReplicationTaskArn": arn}), NOT_FOUND, &[])
                .await;
        }
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": arn, "TableMappings": MAPPINGS, "MigrationType": "full-load"}),
            NOT_FOUND,
            &[],
        )
        .await;
        c.fault(
            &s,
            "ReloadTables",
            &json!({"ReplicationTaskArn": arn, "TablesToReload": table}),
            NOT_FOUND,
            &[],
        )
        .await;
    }

    // Endpoints, instances, subnet groups, connections.
    for arn in [endpoint.as_str(), f.task.as_str()] {
        c.fault(
            &s,
            "DeleteEndpoint",
            &json!({"EndpointArn": arn}),
            NOT_FOUND,
            &[],
        )
        .await;
        c.fault(
            &s,
            "TestConnection",
            &json!({"ReplicationInstanceArn": f.instance, "EndpointArn": arn}),
            NOT_FOUND,
            &[],
        )
        .await;
    }
    for arn in [instance.as_str(), f.source.as_str()] {
        c.fault(
            &s,
            "DeleteReplicationInstance",
            &json!({"ReplicationInstanceArn": arn}),
            NOT_FOUND,
            &[],
        )
        .await;
        c.fault(
            &s,
            "TestConnection",
            &json!({"ReplicationInstanceArn": arn, "EndpointArn": f.source}),
            NOT_FOUND,
            &[],
        )
        .await;
    }
    c.fault(
        &s,
        "DeleteReplicationSubnetGroup",
        &json!({"ReplicationSubnetGroupIdentifier": "no-such-group"}),
        NOT_FOUND,
        &[],
    )
    .await;
    c.fault(
        &s,
        "DeleteConnection",
        &json!({"ReplicationInstanceArn": f.instance, "EndpointArn": f.source}),
        NOT_FOUND,
        &[],
    )
    .await;
    c.fault(
        &s,
        "DeleteConnection",
        &json!({"ReplicationInstanceArn": instance, "EndpointArn": endpoint}),
        NOT_FOUND,
        &[],
    )
    .await;

    // CreateReplicationTask with one unknown ARN each.
    let base = task_body("unknown-refs-task", &f, "cdc");
    for (member, arn) in [
        ("ReplicationInstanceArn", instance.as_str()),
        ("SourceEndpointArn", endpoint.as_str()),
        ("TargetEndpointArn", endpoint.as_str()),
    ] {
        c.fault(
            &s,
            "CreateReplicationTask",
            &with(&base, member, json!(arn)),
            NOT_FOUND,
            &[],
        )
        .await;
    }

    // Tags.
    for arn in [
        task.clone(),
        endpoint.clone(),
        instance.clone(),
        unknown_arn("subgrp"),
        format!("{ARN_PREFIX}:cert:NOSUCHCERT"),
        "not-an-arn".to_owned(),
    ] {
        c.fault(
            &s,
            "AddTagsToResource",
            &json!({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
            NOT_FOUND,
            &[],
        )
        .await;
        c.fault(
            &s,
            "ListTagsForResource",
            &json!({"ResourceArn": arn}),
            NOT_FOUND,
            &[],
        )
        .await;
        c.fault(
            &s,
            "RemoveTagsFromResource",
            &json!({"ResourceArn": arn, "TagKeys": ["k"]}),
            NOT_FOUND,
            &[],
        )
        .await;
    }
    c.fault(
        &s,
        "ListTagsForResource",
        &json!({"ResourceArnList": [f.task, task]}),
        NOT_FOUND,
        &[],
    )
    .await;
    c.ok(&s, "ListTagsForResource", &json!({"ResourceArn": f.task}))
        .await;

    // Describe* with filters that match nothing.
    for (op, name, value) in [
        (
            "DescribeReplicationTasks",
            "replication-task-id",
            "no-such-task",
        ),
        (
            "DescribeReplicationTasks",
            "replication-task-arn",
            task.as_str(),
        ),
        (
            "DescribeReplicationTasks",
            "endpoint-arn",
            endpoint.as_str(),
        ),
        (
            "DescribeReplicationTasks",
            "replication-instance-arn",
            instance.as_str(),
        ),
        ("DescribeReplicationTasks", "migration-type", "full-load"),
        ("DescribeEndpoints", "endpoint-id", "no-such-endpoint"),
        ("DescribeEndpoints", "endpoint-arn", endpoint.as_str()),
        ("DescribeEndpoints", "engine-name", "mysql"),
        (
            "DescribeReplicationInstances",
            "replication-instance-id",
            "no-such-instance",
        ),
        (
            "DescribeReplicationInstances",
            "replication-instance-arn",
            instance.as_str(),
        ),
        (
            "DescribeReplicationSubnetGroups",
            "replication-subnet-group-id",
            "no-such-group",
        ),
    ] {
        c.fault(
            &s,
            op,
            &json!({"Filters": [{"Name": name, "Values": [value]}]}),
            NOT_FOUND,
            &[],
        )
        .await;
    }
    // Without filters an empty list is an answer.
    c.ok(&s, "DescribeReplicationSubnetGroups", &json!({}))
        .await;
    c.ok(&s, "DescribeConnections", &json!({})).await;
    c.finish();
}

// ---- invalid state transitions ----------------------------------------------------------

#[tokio::test]
async fn invalid_state_transitions_and_duplicates_without_a_running_task() {
    let s = server().await;
    let mut c = Checks::default();
    must(
        &s,
        "CreateReplicationSubnetGroup",
        json!({"ReplicationSubnetGroupIdentifier": "state-group", "ReplicationSubnetGroupDescription": "d", "SubnetIds": ["subnet-1", "subnet-2"]}),
    )
    .await;
    must(
        &s,
        "CreateReplicationInstance",
        with(
            &instance_body("state-grouped-instance"),
            "ReplicationSubnetGroupIdentifier",
            json!("state-group"),
        ),
    )
    .await;
    let f = offline_fixture(&s, "state").await;

    // A ready task that never ran.
    c.fault(
        &s,
        "StopReplicationTask",
        &json!({"ReplicationTaskArn": f.task}),
        STATE,
        &[],
    )
    .await;
    for t in ["resume-processing", "reload-target"] {
        c.fault(
            &s,
            "StartReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "StartReplicationTaskType": t}),
            STATE,
            &[],
        )
        .await;
    }
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "t"}]}),
        STATE,
        &[],
    )
    .await;

    // Resources in use.
    c.fault(
        &s,
        "DeleteReplicationInstance",
        &json!({"ReplicationInstanceArn": f.instance}),
        STATE,
        &[],
    )
    .await;
    for ep in [&f.source, &f.target] {
        c.fault(
            &s,
            "DeleteEndpoint",
            &json!({"EndpointArn": ep}),
            STATE,
            &[],
        )
        .await;
    }
    for id in ["state-group", "STATE-GROUP"] {
        c.fault(
            &s,
            "DeleteReplicationSubnetGroup",
            &json!({"ReplicationSubnetGroupIdentifier": id}),
            STATE,
            &[],
        )
        .await;
    }

    // Duplicates.
    for id in ["state-group", "State-Group"] {
        c.fault(
            &s,
            "CreateReplicationSubnetGroup",
            &json!({"ReplicationSubnetGroupIdentifier": id, "ReplicationSubnetGroupDescription": "d", "SubnetIds": ["subnet-3"]}),
            EXISTS,
            &[],
        )
        .await;
    }
    for id in ["state-instance", "State-Instance"] {
        c.fault(
            &s,
            "CreateReplicationInstance",
            &instance_body(id),
            EXISTS,
            &[],
        )
        .await;
    }
    c.fault(
        &s,
        "CreateEndpoint",
        &offline_source_body("state-source"),
        EXISTS,
        &[],
    )
    .await;
    c.fault(
        &s,
        "CreateEndpoint",
        &target_body("state-source"),
        EXISTS,
        &[],
    )
    .await;
    c.fault(
        &s,
        "CreateEndpoint",
        &target_body("state-target"),
        EXISTS,
        &[],
    )
    .await;
    c.fault(
        &s,
        "CreateReplicationTask",
        &task_body("state-task", &f, "full-load"),
        EXISTS,
        &[],
    )
    .await;
    let other = c
        .ok(
            &s,
            "CreateReplicationTask",
            &task_body("state-other-task", &f, "full-load"),
        )
        .await;
    if let Some(other) = other {
        let arn = other["ReplicationTask"]["ReplicationTaskArn"]
            .as_str()
            .unwrap()
            .to_owned();
        c.fault(
            &s,
            "ModifyReplicationTask",
            &json!({"ReplicationTaskArn": arn, "ReplicationTaskIdentifier": "state-task"}),
            EXISTS,
            &[],
        )
        .await;
    }

    // None of it changed anything.
    c.expect(
        task_status(&s, &f.task).await == "ready",
        "the task is no longer ready after refused requests",
    );
    let v = must(&s, "DescribeReplicationInstances", json!({})).await;
    c.expect(
        v["ReplicationInstances"].as_array().map(Vec::len) == Some(2),
        format!("instances changed: {}", short(&v.to_string())),
    );
    let v = must(&s, "DescribeEndpoints", json!({})).await;
    c.expect(
        v["Endpoints"].as_array().map(Vec::len) == Some(2),
        format!("endpoints changed: {}", short(&v.to_string())),
    );
    let v = must(&s, "DescribeReplicationSubnetGroups", json!({})).await;
    c.expect(
        v["ReplicationSubnetGroups"].as_array().map(Vec::len) == Some(1),
        format!("subnet groups changed: {}", short(&v.to_string())),
    );

    // A replication instance that is still being created takes no tasks and no tests.
    let slow = new_server(StreamTargets::new(), Duration::from_secs(600)).await;
    let v = must(
        &slow,
        "CreateReplicationInstance",
        instance_body("slow-instance"),
    )
    .await;
    let slow_instance = v["ReplicationInstance"]["ReplicationInstanceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = must(&slow, "CreateEndpoint", offline_source_body("slow-source")).await;
    let slow_source = v["Endpoint"]["EndpointArn"].as_str().unwrap().to_owned();
    let v = must(&slow, "CreateEndpoint", target_body("slow-target")).await;
    let slow_target = v["Endpoint"]["EndpointArn"].as_str().unwrap().to_owned();
    let slow_fixture = Fixture {
        instance: slow_instance.clone(),
        source: slow_source.clone(),
        target: slow_target,
        task: String::new(),
    };
    c.fault(
        &slow,
        "CreateReplicationTask",
        &task_body("slow-task", &slow_fixture, "cdc"),
        STATE,
        &[],
    )
    .await;
    c.fault(
        &slow,
        "TestConnection",
        &json!({"ReplicationInstanceArn": slow_instance, "EndpointArn": slow_source}),
        STATE,
        &[],
    )
    .await;
    c.finish();
}

/// The running-task cases: a CDC task reading a private MariaDB and writing to an in-memory
/// stream stays `running` until stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_state_transitions_of_a_running_cdc_task() {
    let db = tokio::task::spawn_blocking(|| {
        let db = dmsrs_testkit::MariaDbServer::start().unwrap();
        db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY, v VARCHAR(20))")
            .unwrap();
        db
    })
    .await
    .unwrap();
    let stream = MemoryStream::new(STREAM_NAME);
    let targets = StreamTargets::new();
    targets.register(STREAM_NAME, Arc::new(stream.writer()));
    let s = new_server(targets, Duration::ZERO).await;
    let f = fixture(
        &s,
        "live",
        source_body(
            "live-source",
            db.host(),
            db.port(),
            db.user(),
            db.password(),
        ),
    )
    .await;
    let mut c = Checks::default();
    let table = json!([{"SchemaName": "dms_sample", "TableName": "t"}]);

    must(
        &s,
        "StartReplicationTask",
        json!({"ReplicationTaskArn": f.task, "StartReplicationTaskType": "start-replication"}),
    )
    .await;
    wait_status(&s, &f.task, "running").await;

    // Running: no second start, no delete, no modify; its resources stay in use.
    for t in ["start-replication", "resume-processing", "reload-target"] {
        c.fault(
            &s,
            "StartReplicationTask",
            &json!({"ReplicationTaskArn": f.task, "StartReplicationTaskType": t}),
            STATE,
            &[],
        )
        .await;
    }
    c.fault(
        &s,
        "DeleteReplicationTask",
        &json!({"ReplicationTaskArn": f.task}),
        STATE,
        &[],
    )
    .await;
    for change in [
        json!({"TableMappings": MAPPINGS}),
        json!({"MigrationType": "full-load-and-cdc"}),
        json!({"ReplicationTaskIdentifier": "live-task-renamed"}),
        json!({"ReplicationTaskSettings": "{}"}),
        json!({"CdcStartPosition": "mysql-bin.000001:4"}),
    ] {
        let mut body = change;
        body["ReplicationTaskArn"] = json!(f.task);
        c.fault(&s, "ModifyReplicationTask", &body, STATE, &[])
            .await;
    }
    c.fault(
        &s,
        "DeleteReplicationInstance",
        &json!({"ReplicationInstanceArn": f.instance}),
        STATE,
        &[],
    )
    .await;
    for ep in [&f.source, &f.target] {
        c.fault(
            &s,
            "DeleteEndpoint",
            &json!({"EndpointArn": ep}),
            STATE,
            &[],
        )
        .await;
    }
    // Reloading while running: only tables the task replicates, only data-reload.
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "no_such_table"}]}),
        INVALID,
        &["no_such_table"],
    )
    .await;
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": table, "ReloadOption": "validate-only"}),
        INVALID,
        &["validate-only"],
    )
    .await;
    c.expect(
        task_status(&s, &f.task).await == "running",
        "the running task stopped after refused requests",
    );

    // Stopping, then stopped: no second stop, no reload.
    must(
        &s,
        "StopReplicationTask",
        json!({"ReplicationTaskArn": f.task}),
    )
    .await;
    c.fault(
        &s,
        "StopReplicationTask",
        &json!({"ReplicationTaskArn": f.task}),
        STATE,
        &[],
    )
    .await;
    wait_status(&s, &f.task, "stopped").await;
    c.fault(
        &s,
        "StopReplicationTask",
        &json!({"ReplicationTaskArn": f.task}),
        STATE,
        &[],
    )
    .await;
    c.fault(
        &s,
        "ReloadTables",
        &json!({"ReplicationTaskArn": f.task, "TablesToReload": table}),
        STATE,
        &[],
    )
    .await;

    // A stopped task can be modified and deleted; then its endpoints are free.
    c.ok(
        &s,
        "ModifyReplicationTask",
        &json!({"ReplicationTaskArn": f.task, "TaskData": "stopped"}),
    )
    .await;
    c.ok(
        &s,
        "DeleteReplicationTask",
        &json!({"ReplicationTaskArn": f.task}),
    )
    .await;
    c.fault(
        &s,
        "DeleteReplicationTask",
        &json!({"ReplicationTaskArn": f.task}),
        NOT_FOUND,
        &[],
    )
    .await;
    c.ok(&s, "DeleteEndpoint", &json!({"EndpointArn": f.source}))
        .await;
    c.ok(
        &s,
        "DeleteReplicationInstance",
        &json!({"ReplicationInstanceArn": f.instance}),
    )
    .await;
    s.shutdown().await;
    drop(db);
    c.finish();
}

// ---- operation names ------------------------------------------------------------------

#[tokio::test]
async fn unknown_and_unsupported_operations() {
    let s = server().await;
    let mut c = Checks::default();
    for op in [
        "Frobnicate",
        "",
        " ",
        "describeReplicationTasks",
        "DESCRIBEREPLICATIONTASKS",
        "DescribeReplicationTask",
        "DescribeReplicationTasks ",
        "AmazonDMSv20160101.DescribeReplicationTasks",
        "ListStreams",
        "CreateTable",
        "Describe\u{0}ReplicationTasks",
    ] {
        c.fault(&s, op, &json!({}), UNKNOWN_OP, &[]).await;
    }
    for op in [
        "DescribeCertificates",
        "MoveReplicationTask",
        "ModifyEndpoint",
        "ModifyReplicationInstance",
        "ModifyReplicationSubnetGroup",
        "RebootReplicationInstance",
        "DescribeEvents",
        "DescribeAccountAttributes",
        "DescribeOrderableReplicationInstances",
        "DescribeSchemas",
        "RefreshSchemas",
        "ImportCertificate",
        "StartReplication",
        "StartReplicationTaskAssessmentRun",
        "CreateEventSubscription",
        "ReloadReplicationTables",
    ] {
        c.fault(&s, op, &json!({}), UNSUPPORTED, &[op]).await;
        c.fault(
            &s,
            op,
            &json!({"ReplicationTaskArn": unknown_arn("task"), "TargetReplicationInstanceArn": unknown_arn("rep")}),
            UNSUPPORTED,
            &[op],
        )
        .await;
    }

    // Every implemented operation: an empty input is a 400 fault or an answer, never a
    // server error; a non-object body is a SerializationException.
    for op in SUPPORTED_OPERATIONS {
        c.no_server_error(&s, op, b"{}").await;
        c.no_server_error(&s, op, b"").await;
        c.fault_raw(&s, op, b"[]", SERIALIZATION, &[]).await;
        c.fault_raw(&s, op, b"{\"", SERIALIZATION, &[]).await;
    }
    c.finish();
}

// ---- over HTTP ------------------------------------------------------------------------

#[derive(Debug)]
struct HttpAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A complete response in `buf`, if there is one (`eof`: the server closed the connection).
fn parse_response(buf: &[u8], eof: bool) -> Option<HttpAnswer> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &buf[split + 4..];
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match len {
        Some(n) if rest.len() >= n => Some(HttpAnswer {
            status,
            headers,
            body: rest[..n].to_vec(),
        }),
        None if eof => Some(HttpAnswer {
            status,
            headers,
            body: rest.to_vec(),
        }),
        _ => None,
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body`, writing and
/// reading at once (so a server that answers before reading a large body is heard), and
/// returns the response. Panics when there is none within [`CALL_TIMEOUT`].
async fn http(addr: SocketAddr, head: Vec<u8>, body: Vec<u8>) -> HttpAnswer {
    try_http(addr, head, body).await.unwrap()
}

/// [`http`], with a missing response as an error saying what came back instead.
async fn try_http(addr: SocketAddr, head: Vec<u8>, body: Vec<u8>) -> Result<HttpAnswer, String> {
    let exchange = async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        // The writer hands the write half back so it stays open (no half-close) until the
        // answer is read.
        let writer = tokio::spawn(async move {
            let mut request = head;
            request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            if wr.write_all(&request).await.is_ok() {
                for chunk in body.chunks(256 * 1024) {
                    if wr.write_all(chunk).await.is_err() {
                        break;
                    }
                }
                let _ = wr.flush().await;
            }
            wr
        });
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let answer = loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break parse_response(&buf, true),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(a) = parse_response(&buf, false) {
                        break Some(a);
                    }
                }
            }
        };
        writer.abort();
        answer.ok_or_else(|| {
            format!(
                "the connection closed without a complete HTTP response (received {:?})",
                String::from_utf8_lossy(&buf)
            )
        })
    };
    tokio::time::timeout(CALL_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no HTTP response within {CALL_TIMEOUT:?}")))
}

/// Serves `server` on 127.0.0.1:0; returns the address, the shutdown trigger and the serving
/// task.
async fn serve(
    server: &DmsServer,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.clone().serve(
        listener,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(3600),
    ));
    (addr, stop, serving)
}

fn request_head(method: &str, target: Option<&[u8]>) -> Vec<u8> {
    let mut head = format!(
        "{method} / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-amz-json-1.1\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dms/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}\r\n\
         X-Amz-Date: 20260101T000000Z\r\n",
        "0".repeat(64)
    )
    .into_bytes();
    if let Some(t) = target {
        head.extend_from_slice(b"X-Amz-Target: ");
        head.extend_from_slice(t);
        head.extend_from_slice(b"\r\n");
    }
    head
}

fn dms_target(op: &str) -> Vec<u8> {
    format!("{TARGET_PREFIX}{op}").into_bytes()
}

/// A 400 DMS fault: status, content type, request id and a `{"__type", "message"}` body.
fn check_http_fault(c: &mut Checks, what: &str, a: &HttpAnswer, code: &str) {
    let body: Option<Value> = serde_json::from_slice(&a.body).ok();
    let shape_ok = body.as_ref().and_then(Value::as_object).is_some_and(|o| {
        o.len() == 2
            && o.get("__type").and_then(Value::as_str) == Some(code)
            && o.get("message")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.trim().is_empty())
    });
    let ok = a.status == 400
        && shape_ok
        && a.header("content-type") == Some("application/x-amz-json-1.1")
        && a.header("x-amzn-requestid").is_some_and(|v| !v.is_empty());
    c.expect(
        ok,
        format!(
            "{what}\n    expected 400 application/x-amz-json-1.1 {{\"__type\": {code:?}, \"message\": ...}} with x-amzn-requestid\n    got      {} {:?} {:?} {}",
            a.status,
            a.header("content-type"),
            a.header("x-amzn-requestid"),
            short(&String::from_utf8_lossy(&a.body))
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_faults_are_json_400s() {
    let s = server().await;
    let (addr, stop, serving) = serve(&s).await;
    let mut c = Checks::default();

    // A valid call.
    let a = http(
        addr,
        request_head("POST", Some(&dms_target("DescribeReplicationTasks"))),
        b"{}".to_vec(),
    )
    .await;
    let body: Option<Value> = serde_json::from_slice(&a.body).ok();
    c.expect(
        a.status == 200
            && a.header("content-type") == Some("application/x-amz-json-1.1")
            && body.is_some_and(|b| b["ReplicationTasks"].is_array()),
        format!(
            "POST DescribeReplicationTasks {{}}\n    expected 200 with ReplicationTasks\n    got      {} {:?} {}",
            a.status,
            a.header("content-type"),
            short(&String::from_utf8_lossy(&a.body))
        ),
    );

    let huge = {
        let mut b = vec![b' '; 16 * 1024 * 1024 + 64 * 1024];
        b[0] = b'{';
        b
    };
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            "POST without X-Amz-Target",
            request_head("POST", None),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST with X-Amz-Target DynamoDB_20120810.ListTables",
            request_head("POST", Some(b"DynamoDB_20120810.ListTables")),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST with X-Amz-Target Kinesis_20131202.ListStreams",
            request_head("POST", Some(b"Kinesis_20131202.ListStreams")),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST with X-Amz-Target AmazonDMSv20160101 (no operation)",
            request_head("POST", Some(b"AmazonDMSv20160101")),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST with X-Amz-Target AmazonDMSv20160101. (empty operation)",
            request_head("POST", Some(b"AmazonDMSv20160101.")),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST with X-Amz-Target amazondmsv20160101.DescribeReplicationTasks (wrong case)",
            request_head("POST", Some(b"amazondmsv20160101.DescribeReplicationTasks")),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST with a non-UTF-8 X-Amz-Target",
            request_head("POST", Some(b"AmazonDMSv20160101.Describe\xffTasks")),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "POST AmazonDMSv20160101.Frobnicate",
            request_head("POST", Some(&dms_target("Frobnicate"))),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "GET / with a DMS X-Amz-Target",
            request_head("GET", Some(&dms_target("DescribeReplicationTasks"))),
            Vec::new(),
            UNKNOWN_OP,
        ),
        (
            "GET / without X-Amz-Target",
            request_head("GET", None),
            Vec::new(),
            UNKNOWN_OP,
        ),
        (
            "PUT / with a DMS X-Amz-Target",
            request_head("PUT", Some(&dms_target("DescribeReplicationTasks"))),
            b"{}".to_vec(),
            UNKNOWN_OP,
        ),
        (
            "DELETE / with a DMS X-Amz-Target",
            request_head("DELETE", Some(&dms_target("DeleteReplicationTask"))),
            Vec::new(),
            UNKNOWN_OP,
        ),
        (
            "POST DescribeCertificates",
            request_head("POST", Some(&dms_target("DescribeCertificates"))),
            b"{}".to_vec(),
            UNSUPPORTED,
        ),
        (
            "POST DescribeReplicationTasks with a body that is not JSON",
            request_head("POST", Some(&dms_target("DescribeReplicationTasks"))),
            b"<xml/>".to_vec(),
            SERIALIZATION,
        ),
        (
            "POST DescribeReplicationTasks with a JSON array",
            request_head("POST", Some(&dms_target("DescribeReplicationTasks"))),
            b"[1, 2]".to_vec(),
            SERIALIZATION,
        ),
        (
            "POST DescribeReplicationTasks with MaxRecords \"x\"",
            request_head("POST", Some(&dms_target("DescribeReplicationTasks"))),
            br#"{"MaxRecords": "x"}"#.to_vec(),
            SERIALIZATION,
        ),
        (
            "POST DescribeReplicationTasks with a body over the size limit",
            request_head("POST", Some(&dms_target("DescribeReplicationTasks"))),
            huge,
            SERIALIZATION,
        ),
        (
            "POST CreateEndpoint with an empty body",
            request_head("POST", Some(&dms_target("CreateEndpoint"))),
            Vec::new(),
            INVALID,
        ),
        (
            "POST StopReplicationTask for an unknown task",
            request_head("POST", Some(&dms_target("StopReplicationTask"))),
            json!({"ReplicationTaskArn": unknown_arn("task")})
                .to_string()
                .into_bytes(),
            NOT_FOUND,
        ),
    ];
    for (what, head, body, code) in cases {
        let a = http(addr, head, body).await;
        check_http_fault(&mut c, what, &a, code);
    }

    // A request hyper cannot parse does not take the server down.
    let garbage = async {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = conn.write_all(b"GARBAGE \x01\x02\r\n\r\n").await;
        let mut sink = Vec::new();
        let _ = conn.read_to_end(&mut sink).await;
    };
    c.expect(
        tokio::time::timeout(CALL_TIMEOUT, garbage).await.is_ok(),
        "the server neither answered nor closed a connection carrying garbage",
    );
    let a = http(
        addr,
        request_head("POST", Some(&dms_target("DescribeEndpoints"))),
        b"{}".to_vec(),
    )
    .await;
    c.expect(
        a.status == 200,
        format!(
            "DescribeEndpoints after a garbage request: expected 200, got {} {}",
            a.status,
            short(&String::from_utf8_lossy(&a.body))
        ),
    );

    // The server stops when asked.
    stop.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(20), serving).await;
    c.expect(
        matches!(done, Ok(Ok(Ok(())))),
        format!("serve did not stop cleanly after the shutdown signal: {done:?}"),
    );
    c.finish();
}
