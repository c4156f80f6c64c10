//! The DMS operations work: each test drives the server through `DmsServer::call` and checks
//! the real effect (records in the target stream, statuses, what Describe* shows).
//!
//! * `TestConnection` really connects (inline credentials, a wrong password, a Secrets
//!   Manager secret, registered and unknown Kinesis streams) and `DescribeConnections` shows
//!   `testing`, then `successful` or `failed` with the reason; `DeleteConnection` removes it.
//! * `ModifyReplicationTask` of a stopped and of a ready task: new table mappings, identifier,
//!   settings and `TaskData` take effect at the next start.
//! * `ReloadTables` of a running full-load-and-cdc task loads the table again while CDC
//!   goes on; `DescribeTableStatistics` shows the reload, and filters.
//! * `DescribeReplicationTasks`: `Marker` paging, `WithoutSettings`, every filter.
//! * Tags on create, `AddTagsToResource`, `RemoveTagsFromResource`, `ListTagsForResource`
//!   over several resources.
//! * `ServerConfig::transition_delay`: instances `creating` then `available`, tasks
//!   `creating` then `ready`.
//! * `DescribeEndpointTypes` and its filters.
//! * Wire shapes: dates are epoch seconds, `EndpointType` is upper case, no answer carries a
//!   password, `state.json` is readable by its owner only.
//!
//! Tests that need a database start one private MariaDB (`dmsrs_testkit::MariaDbServer`);
//! the others run without one. Every answer any test gets is checked for passwords.
#![allow(clippy::unwrap_used)]

use dmsrs_dms_server::{DmsServer, Fault, ServerConfig};
use dmsrs_engine::StreamTargets;
use dmsrs_secrets::{MemorySecrets, SecretString, dms_secret_json};
use dmsrs_streams::MemoryStream;
use dmsrs_testkit::MariaDbServer;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const INVALID: &str = "InvalidParameterValueException";
const NOT_FOUND: &str = "ResourceNotFoundFault";
const STATE: &str = "InvalidResourceStateFault";

/// A password that is wrong for the test database.
const WRONG_PASSWORD: &str = "Wr0ng-pa55word-x7Q";
/// The password of endpoints whose database does not exist (port 9).
const OFFLINE_PASSWORD: &str = "0ffline-Pa55-k3Z";
/// A password that only a Secrets Manager secret holds.
const SECRET_ONLY_PASSWORD: &str = "S3cret-only-Pa55-v9";
/// Passwords no answer may ever contain.
const PASSWORDS: &[&str] = &[WRONG_PASSWORD, OFFLINE_PASSWORD, SECRET_ONLY_PASSWORD];

/// How long a wait for an asynchronous effect may take.
const WAIT: Duration = Duration::from_secs(30);

fn stream_arn(name: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}")
}

fn secret_arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf")
}

// ---- the API ----------------------------------------------------------------------------

/// The server plus the passwords its answers must never contain.
struct Api {
    server: DmsServer,
    passwords: Vec<String>,
}

impl Api {
    fn new(server: DmsServer, db_password: Option<&str>) -> Self {
        let mut passwords: Vec<String> = PASSWORDS.iter().map(|p| (*p).to_owned()).collect();
        passwords.extend(db_password.map(str::to_owned));
        Api { server, passwords }
    }

    fn check_no_password(&self, op: &str, body: &Value, answer: &str) {
        for p in &self.passwords {
            assert!(
                !answer.contains(p.as_str()),
                "{op} {body} answered with a password ({p:?}): {answer}"
            );
        }
    }

    /// `op` must succeed: its answer, checked for passwords.
    async fn ok(&self, op: &str, body: Value) -> Value {
        match self.server.call(op, body.to_string().as_bytes()).await {
            Ok(v) => {
                self.check_no_password(op, &body, &v.to_string());
                v
            }
            Err(f) => panic!("{op} {body} failed: {f}"),
        }
    }

    /// `op` must fail with fault `code`: the fault, checked for passwords.
    async fn fault(&self, op: &str, body: Value, code: &str) -> Fault {
        match self.server.call(op, body.to_string().as_bytes()).await {
            Ok(v) => panic!("{op} {body} should fail with {code}, answered {v}"),
            Err(f) => {
                self.check_no_password(op, &body, &f.message);
                assert_eq!(f.code, code, "{op} {body}: {f}");
                assert_eq!(f.status, 400, "{op} {body}: {f}");
                f
            }
        }
    }

    // ---- resources ----

    async fn instance(&self, id: &str, tags: Value) -> String {
        let v = self
            .ok(
                "CreateReplicationInstance",
                json!({
                    "ReplicationInstanceIdentifier": id,
                    "ReplicationInstanceClass": "dms.t3.micro",
                    "AllocatedStorage": 20,
                    "Tags": tags,
                }),
            )
            .await;
        str_of(&v["ReplicationInstance"]["ReplicationInstanceArn"])
    }

    async fn endpoint(&self, body: Value) -> String {
        let v = self.ok("CreateEndpoint", body).await;
        str_of(&v["Endpoint"]["EndpointArn"])
    }

    async fn source(&self, id: &str, db: &MariaDbServer, password: &str) -> String {
        self.endpoint(source_body(id, db.host(), db.port(), db.user(), password))
            .await
    }

    async fn offline_source(&self, id: &str) -> String {
        self.endpoint(source_body(id, "127.0.0.1", 9, "dms", OFFLINE_PASSWORD))
            .await
    }

    async fn target(&self, id: &str, stream: &str) -> String {
        self.endpoint(target_body(id, stream)).await
    }

    /// A task: `extra` members are added to (or replace) the basic ones.
    async fn task(&self, id: &str, ends: &Ends, migration_type: &str, extra: Value) -> Value {
        let mut body = json!({
            "ReplicationTaskIdentifier": id,
            "SourceEndpointArn": ends.source,
            "TargetEndpointArn": ends.target,
            "ReplicationInstanceArn": ends.instance,
            "MigrationType": migration_type,
            "TableMappings": mappings(&["%"]),
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.ok("CreateReplicationTask", body).await["ReplicationTask"].clone()
    }

    // ---- tasks ----

    /// DescribeReplicationTasks with `filters` (`[(name, values)]`) and extra members.
    async fn tasks(&self, filters: &[(&str, Vec<String>)], extra: Value) -> Value {
        let mut body = extra;
        if !filters.is_empty() {
            body["Filters"] = filters
                .iter()
                .map(|(n, vs)| json!({"Name": n, "Values": vs}))
                .collect();
        }
        self.ok("DescribeReplicationTasks", body).await
    }

    async fn describe_task(&self, arn: &str) -> Value {
        let v = self
            .tasks(&[("replication-task-arn", vec![arn.to_owned()])], json!({}))
            .await;
        let list = v["ReplicationTasks"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{v}");
        list[0].clone()
    }

    async fn start(&self, arn: &str, start_type: &str) -> Value {
        self.ok(
            "StartReplicationTask",
            json!({"ReplicationTaskArn": arn, "StartReplicationTaskType": start_type}),
        )
        .await
    }

    /// Waits until the task is `status`; fails on another final status.
    async fn wait_task(&self, arn: &str, status: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let t = self.describe_task(arn).await;
            if t["Status"] == status {
                return t;
            }
            assert!(
                Instant::now() < deadline && t["Status"] != "failed",
                "task {arn} is not {status}: {t}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn table_stats(&self, arn: &str, filters: Value) -> Vec<Value> {
        let v = self
            .ok(
                "DescribeTableStatistics",
                json!({"ReplicationTaskArn": arn, "Filters": filters}),
            )
            .await;
        assert_eq!(v["ReplicationTaskArn"], arn, "{v}");
        v["TableStatistics"].as_array().unwrap().clone()
    }

    /// The statistics of one table (by name) of the task.
    async fn table(&self, arn: &str, table: &str) -> Value {
        let all = self.table_stats(arn, json!([])).await;
        all.iter()
            .find(|s| s["TableName"] == table)
            .cloned()
            .unwrap_or_else(|| panic!("no statistics for {table}: {all:?}"))
    }

    /// Waits until `pred` holds for the statistics of `table`.
    async fn wait_table(&self, arn: &str, table: &str, what: &str, pred: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let all = self.table_stats(arn, json!([])).await;
            if let Some(s) = all.iter().find(|s| s["TableName"] == table)
                && pred(s)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "table {table} of {arn}: {what} never held: {all:?}; task {}",
                self.describe_task(arn).await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    // ---- connections ----

    async fn connections(&self, filters: Value) -> Vec<Value> {
        let v = self
            .ok("DescribeConnections", json!({"Filters": filters}))
            .await;
        v["Connections"].as_array().unwrap().clone()
    }

    async fn connection(&self, endpoint: &str, instance: &str) -> Option<Value> {
        self.connections(json!([
            {"Name": "endpoint-arn", "Values": [endpoint]},
            {"Name": "replication-instance-arn", "Values": [instance]},
        ]))
        .await
        .into_iter()
        .next()
    }

    /// Waits until the connection's status is no longer `testing`, and returns it.
    async fn tested(&self, endpoint: &str, instance: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let c = self.connection(endpoint, instance).await.unwrap();
            if c["Status"] != "testing" {
                return c;
            }
            assert!(Instant::now() < deadline, "still testing: {c}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    // ---- tags ----

    async fn tags(&self, arn: &str) -> BTreeMap<String, String> {
        let v = self
            .ok("ListTagsForResource", json!({"ResourceArn": arn}))
            .await;
        v["TagList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["ResourceArn"], arn, "{v}");
                (str_of(&t["Key"]), str_of(&t["Value"]))
            })
            .collect()
    }
}

/// The instance and endpoints of the tasks of a test.
#[derive(Clone)]
struct Ends {
    instance: String,
    source: String,
    target: String,
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

fn tag_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn tags_json(pairs: &[(&str, &str)]) -> Value {
    pairs
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

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

fn target_body(id: &str, stream: &str) -> Value {
    json!({
        "EndpointIdentifier": id,
        "EndpointType": "target",
        "EngineName": "kinesis",
        "KinesisSettings": {"StreamArn": stream_arn(stream), "MessageFormat": "json"},
    })
}

/// One include rule per table of `dms_sample` (`%` for all).
fn mappings(tables: &[&str]) -> String {
    let rules: Vec<Value> = tables
        .iter()
        .enumerate()
        .map(|(n, t)| {
            json!({
                "rule-type": "selection",
                "rule-id": (n + 1).to_string(),
                "rule-name": (n + 1).to_string(),
                "object-locator": {"schema-name": "dms_sample", "table-name": t},
                "rule-action": "include",
            })
        })
        .collect();
    json!({ "rules": rules }).to_string()
}

async fn server_with(
    cfg: ServerConfig,
    secrets: MemorySecrets,
    targets: StreamTargets,
) -> DmsServer {
    DmsServer::new(cfg, Arc::new(secrets), Arc::new(targets))
        .await
        .unwrap()
}

/// A server without a database, with in-memory state and its streams registered.
async fn plain_server(transition_delay: Duration, streams: &[&MemoryStream]) -> Api {
    let targets = StreamTargets::new();
    for s in streams {
        targets.register(stream_arn(s.name()), Arc::new(s.writer()));
    }
    let cfg = ServerConfig {
        transition_delay,
        ..ServerConfig::default()
    };
    Api::new(server_with(cfg, MemorySecrets::new(), targets).await, None)
}

/// A private MariaDB with `sql` run on it (off the runtime: starting blocks).
async fn database(sql: &'static str) -> MariaDbServer {
    tokio::task::spawn_blocking(move || {
        let db = MariaDbServer::start().unwrap();
        if !sql.is_empty() {
            db.execute(sql).unwrap();
        }
        db
    })
    .await
    .unwrap()
}

/// Runs `sql` on the database (a multi-thread runtime: the client blocks).
fn sql(db: &MariaDbServer, sql: &str) {
    tokio::task::block_in_place(|| db.execute(sql).unwrap());
}

// ---- records ----------------------------------------------------------------------------

/// One record of the stream, summarised.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    /// `data` or `control`.
    kind: String,
    /// `load`, `insert`, `drop-table`, ...
    op: String,
    table: String,
    /// `data.id` of data records.
    id: Option<i64>,
}

fn records(stream: &MemoryStream) -> Vec<Rec> {
    stream
        .records()
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.data).unwrap();
            let m = &v["metadata"];
            Rec {
                kind: str_of(&m["record-type"]),
                op: str_of(&m["operation"]),
                table: str_of(&m["table-name"]),
                id: v["data"]["id"].as_i64(),
            }
        })
        .collect()
}

/// Waits until the records after the first `from` satisfy `pred`, and returns them.
async fn wait_records(
    stream: &MemoryStream,
    from: usize,
    what: &str,
    pred: impl Fn(&[Rec]) -> bool,
) -> Vec<Rec> {
    let deadline = Instant::now() + WAIT;
    loop {
        let recs = records(stream);
        let after = recs.get(from..).unwrap_or_default();
        if pred(after) {
            return after.to_vec();
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}; the records after #{from} are {after:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The ids of records of operation `op` on `table`.
fn ids(recs: &[Rec], op: &str, table: &str) -> BTreeSet<i64> {
    recs.iter()
        .filter(|r| r.op == op && r.table == table)
        .filter_map(|r| r.id)
        .collect()
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

/// The operations of the control records of `table`, in order.
fn controls(recs: &[Rec], table: &str) -> Vec<String> {
    recs.iter()
        .filter(|r| r.kind == "control" && r.table == table)
        .map(|r| r.op.clone())
        .collect()
}

/// A date member: epoch seconds as a JSON number, within a day of now.
fn assert_epoch(v: &Value, what: &str) {
    let s = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not epoch seconds (a JSON number): {v}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - 86_400.0..now + 60.0).contains(&s),
        "{what} = {s} is not a recent date in epoch seconds (now {now})"
    );
}

// ---- TestConnection ---------------------------------------------------------------------

/// A current-thread runtime: the connection test spawned by `TestConnection` cannot run
/// before the next `DescribeConnections`, so `testing` is seen for certain.
#[tokio::test]
async fn test_connection_really_connects_and_reports_its_outcome() {
    let db = database("").await;
    let secrets = MemorySecrets::new();
    let good_secret = secret_arn("conn-good");
    secrets.put(
        good_secret.clone(),
        dms_secret_json(
            db.host(),
            db.port(),
            db.user(),
            &SecretString::new(db.password()),
            "dms_sample",
        ),
    );
    let bad_secret = secret_arn("conn-bad");
    secrets.put(
        bad_secret.clone(),
        dms_secret_json(
            db.host(),
            db.port(),
            db.user(),
            &SecretString::new(SECRET_ONLY_PASSWORD),
            "dms_sample",
        ),
    );
    let stream = MemoryStream::new("conn-registered");
    let targets = StreamTargets::new();
    targets.register(stream_arn("conn-registered"), Arc::new(stream.writer()));
    let api = Api::new(
        server_with(ServerConfig::default(), secrets, targets).await,
        Some(db.password()),
    );
    let inst = api.instance("conn-instance", json!([])).await;

    let good = api.source("conn-good", &db, db.password()).await;
    let wrong = api.source("conn-wrong", &db, WRONG_PASSWORD).await;
    let by_secret = api
        .endpoint(json!({
            "EndpointIdentifier": "conn-secret",
            "EndpointType": "source",
            "EngineName": "mysql",
            "MySQLSettings": {
                "SecretsManagerSecretId": good_secret,
                "SecretsManagerAccessRoleArn": "arn:aws:iam::000000000000:role/dms-secrets",
            },
        }))
        .await;
    let by_bad_secret = api
        .endpoint(json!({
            "EndpointIdentifier": "conn-bad-secret",
            "EndpointType": "source",
            "EngineName": "aurora",
            "MySQLSettings": {
                "SecretsManagerSecretId": bad_secret,
                "SecretsManagerAccessRoleArn": "arn:aws:iam::000000000000:role/dms-secrets",
            },
        }))
        .await;
    let missing_secret = api
        .endpoint(json!({
            "EndpointIdentifier": "conn-missing-secret",
            "EndpointType": "source",
            "EngineName": "mariadb",
            "MySQLSettings": {
                "SecretsManagerSecretId": secret_arn("nowhere"),
                "SecretsManagerAccessRoleArn": "arn:aws:iam::000000000000:role/dms-secrets",
            },
        }))
        .await;
    let registered = api.target("conn-kinesis", "conn-registered").await;
    let unregistered = api.target("conn-kinesis-gone", "conn-unregistered").await;

    // (endpoint, identifier, expected outcome: None = successful, Some(needles) = failed
    // with a message containing one of the needles)
    let cases: Vec<(&str, &str, Option<&[&str]>)> = vec![
        (&good, "conn-good", None),
        (&wrong, "conn-wrong", Some(&["password", "credential"])),
        (&by_secret, "conn-secret", None),
        (
            &by_bad_secret,
            "conn-bad-secret",
            Some(&["password", "credential"]),
        ),
        (&missing_secret, "conn-missing-secret", Some(&["nowhere"])),
        (&registered, "conn-kinesis", None),
        (
            &unregistered,
            "conn-kinesis-gone",
            Some(&["conn-unregistered"]),
        ),
    ];
    for (ep, id, _) in &cases {
        let v = api
            .ok(
                "TestConnection",
                json!({"ReplicationInstanceArn": inst, "EndpointArn": ep}),
            )
            .await;
        let c = &v["Connection"];
        assert_eq!(c["Status"], "testing", "{v}");
        assert_eq!(c["EndpointArn"], *ep, "{v}");
        assert_eq!(c["ReplicationInstanceArn"], inst, "{v}");
        assert_eq!(c["EndpointIdentifier"], *id, "{v}");
        assert_eq!(c["ReplicationInstanceIdentifier"], "conn-instance", "{v}");
        let seen = api.connection(ep, &inst).await.unwrap();
        assert_eq!(
            seen["Status"], "testing",
            "right after TestConnection: {seen}"
        );
    }
    assert_eq!(api.connections(json!([])).await.len(), cases.len());

    for (ep, id, outcome) in &cases {
        let c = api.tested(ep, &inst).await;
        match outcome {
            None => {
                assert_eq!(c["Status"], "successful", "{id}: {c}");
                assert!(c.get("LastFailureMessage").is_none(), "{id}: {c}");
            }
            Some(needles) => {
                assert_eq!(c["Status"], "failed", "{id}: {c}");
                let msg = str_of(&c["LastFailureMessage"]).to_lowercase();
                assert!(
                    needles.iter().any(|n| msg.contains(n)),
                    "{id}: the failure should mention one of {needles:?}: {c}"
                );
            }
        }
    }

    // Testing again starts over.
    let v = api
        .ok(
            "TestConnection",
            json!({"ReplicationInstanceArn": inst, "EndpointArn": wrong}),
        )
        .await;
    assert_eq!(v["Connection"]["Status"], "testing", "{v}");
    assert!(v["Connection"].get("LastFailureMessage").is_none(), "{v}");
    assert_eq!(api.tested(&wrong, &inst).await["Status"], "failed");

    // Filters select by endpoint.
    let only = api
        .connections(json!([{"Name": "endpoint-arn", "Values": [good, registered]}]))
        .await;
    let got: BTreeSet<String> = only.iter().map(|c| str_of(&c["EndpointArn"])).collect();
    assert_eq!(
        got,
        [good.clone(), registered.clone()].into_iter().collect()
    );

    // DeleteConnection removes it (and only it).
    let v = api
        .ok(
            "DeleteConnection",
            json!({"ReplicationInstanceArn": inst, "EndpointArn": good}),
        )
        .await;
    assert_eq!(v["Connection"]["EndpointArn"], good, "{v}");
    assert_eq!(v["Connection"]["Status"], "deleting", "{v}");
    assert!(api.connection(&good, &inst).await.is_none());
    assert_eq!(api.connections(json!([])).await.len(), cases.len() - 1);
    api.fault(
        "DeleteConnection",
        json!({"ReplicationInstanceArn": inst, "EndpointArn": good}),
        NOT_FOUND,
    )
    .await;

    // Deleting an endpoint deletes its connections.
    api.ok("DeleteEndpoint", json!({"EndpointArn": unregistered}))
        .await;
    assert!(api.connection(&unregistered, &inst).await.is_none());
    assert_eq!(api.connections(json!([])).await.len(), cases.len() - 2);
}

// ---- ModifyReplicationTask --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modify_replication_task_changes_what_the_next_run_does() {
    let db = database(
        "CREATE TABLE dms_sample.ma (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO dms_sample.ma VALUES (1, 'a1'), (2, 'a2'), (3, 'a3');
         CREATE TABLE dms_sample.mb (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO dms_sample.mb VALUES (101, 'b1'), (102, 'b2');",
    )
    .await;
    let stream = MemoryStream::new("modify");
    let ready_stream = MemoryStream::new("modify-ready");
    let targets = StreamTargets::new();
    targets.register(stream_arn("modify"), Arc::new(stream.writer()));
    targets.register(stream_arn("modify-ready"), Arc::new(ready_stream.writer()));
    let api = Api::new(
        server_with(ServerConfig::default(), MemorySecrets::new(), targets).await,
        Some(db.password()),
    );
    let ends = Ends {
        instance: api.instance("mod-instance", json!([])).await,
        source: api.source("mod-source", &db, db.password()).await,
        target: api.target("mod-target", "modify").await,
    };

    // A full-load task of table ma, with TaskData.
    let created = api
        .task(
            "mod-a",
            &ends,
            "full-load",
            json!({"TableMappings": mappings(&["ma"]), "TaskData": "{\"v\":1}"}),
        )
        .await;
    assert_eq!(created["TaskData"], "{\"v\":1}", "{created}");
    let arn = str_of(&created["ReplicationTaskArn"]);
    assert_eq!(api.describe_task(&arn).await["TaskData"], "{\"v\":1}");
    api.wait_task(&arn, "ready").await;
    api.start(&arn, "start-replication").await;
    api.wait_task(&arn, "stopped").await;
    let first = records(&stream);
    assert_eq!(ids(&first, "load", "ma"), set(&[1, 2, 3]), "{first:?}");
    assert!(first.iter().all(|r| r.table == "ma"), "{first:?}");
    assert_eq!(controls(&first, "ma"), ["drop-table", "create-table"]);

    // Modify the stopped task: another table, another identifier, other settings and data.
    let new_mappings = mappings(&["mb"]);
    let new_settings =
        json!({"FullLoadSettings": {"TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD"}}).to_string();
    let v = api
        .ok(
            "ModifyReplicationTask",
            json!({
                "ReplicationTaskArn": arn,
                "ReplicationTaskIdentifier": "mod-b",
                "TableMappings": new_mappings,
                "ReplicationTaskSettings": new_settings,
                "TaskData": "{\"v\":2}",
            }),
        )
        .await;
    let m = &v["ReplicationTask"];
    assert_eq!(m["Status"], "modifying", "{v}");
    assert_eq!(m["ReplicationTaskArn"], arn, "{v}");
    assert_eq!(m["ReplicationTaskIdentifier"], "mod-b", "{v}");
    assert_eq!(m["TableMappings"], new_mappings, "{v}");
    assert_eq!(m["ReplicationTaskSettings"], new_settings, "{v}");
    assert_eq!(m["TaskData"], "{\"v\":2}", "{v}");

    let t = api.describe_task(&arn).await;
    assert_eq!(t["Status"], "stopped", "after the modify: {t}");
    assert_eq!(t["ReplicationTaskIdentifier"], "mod-b", "{t}");
    assert_eq!(t["TableMappings"], new_mappings, "{t}");
    assert_eq!(t["ReplicationTaskSettings"], new_settings, "{t}");
    assert_eq!(t["TaskData"], "{\"v\":2}", "{t}");
    let by_id = api
        .tasks(&[("replication-task-id", vec!["mod-b".into()])], json!({}))
        .await;
    assert_eq!(by_id["ReplicationTasks"][0]["ReplicationTaskArn"], arn);
    api.fault(
        "DescribeReplicationTasks",
        json!({"Filters": [{"Name": "replication-task-id", "Values": ["mod-a"]}]}),
        NOT_FOUND,
    )
    .await;

    // The next run reads table mb only, with the new prep mode (create-table, no drop).
    let mark = stream.len();
    api.start(&arn, "reload-target").await;
    api.wait_task(&arn, "stopped").await;
    let second = records(&stream)[mark..].to_vec();
    assert!(second.iter().all(|r| r.table == "mb"), "{second:?}");
    assert_eq!(ids(&second, "load", "mb"), set(&[101, 102]), "{second:?}");
    assert_eq!(controls(&second, "mb"), ["create-table"], "{second:?}");
    let stats = api.table_stats(&arn, json!([])).await;
    assert_eq!(stats.len(), 1, "only mb is replicated now: {stats:?}");
    assert_eq!(stats[0]["TableName"], "mb");
    assert_eq!(stats[0]["FullLoadRows"], 2, "{stats:?}");

    // A ready task (never started) modified before its first start.
    let ready_ends = Ends {
        target: api.target("mod-ready-target", "modify-ready").await,
        ..ends.clone()
    };
    let ready = api
        .task(
            "mod-ready",
            &ready_ends,
            "full-load",
            json!({"TableMappings": mappings(&["ma"])}),
        )
        .await;
    let ready_arn = str_of(&ready["ReplicationTaskArn"]);
    assert!(
        ready.get("TaskData").is_none(),
        "no TaskData given: {ready}"
    );
    api.wait_task(&ready_arn, "ready").await;
    let v = api
        .ok(
            "ModifyReplicationTask",
            json!({
                "ReplicationTaskArn": ready_arn,
                "TableMappings": new_mappings,
                "TaskData": "ready-data",
            }),
        )
        .await;
    assert_eq!(v["ReplicationTask"]["Status"], "modifying", "{v}");
    assert_eq!(
        v["ReplicationTask"]["ReplicationTaskIdentifier"],
        "mod-ready"
    );
    let t = api.describe_task(&ready_arn).await;
    assert_eq!(t["Status"], "ready", "after the modify: {t}");
    assert_eq!(t["TaskData"], "ready-data", "{t}");
    api.start(&ready_arn, "start-replication").await;
    api.wait_task(&ready_arn, "stopped").await;
    let recs = records(&ready_stream);
    assert!(recs.iter().all(|r| r.table == "mb"), "{recs:?}");
    assert_eq!(ids(&recs, "load", "mb"), set(&[101, 102]), "{recs:?}");
    assert_eq!(controls(&recs, "mb"), ["drop-table", "create-table"]);
}

// ---- ReloadTables -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_tables_loads_a_table_again_while_cdc_goes_on() {
    let db = database(
        "CREATE TABLE dms_sample.r1 (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO dms_sample.r1 VALUES (1, 'x'), (2, 'y'), (3, 'z');
         CREATE TABLE dms_sample.r2 (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO dms_sample.r2 VALUES (11, 'p'), (12, 'q');",
    )
    .await;
    let stream = MemoryStream::new("reload");
    let targets = StreamTargets::new();
    targets.register(stream_arn("reload"), Arc::new(stream.writer()));
    let api = Api::new(
        server_with(ServerConfig::default(), MemorySecrets::new(), targets).await,
        Some(db.password()),
    );
    let ends = Ends {
        instance: api.instance("reload-instance", json!([])).await,
        source: api.source("reload-source", &db, db.password()).await,
        target: api.target("reload-target", "reload").await,
    };
    let task = api
        .task(
            "reload-task",
            &ends,
            "full-load-and-cdc",
            json!({"TableMappings": mappings(&["r1", "r2"])}),
        )
        .await;
    let arn = str_of(&task["ReplicationTaskArn"]);
    api.wait_task(&arn, "ready").await;
    api.start(&arn, "start-replication").await;
    api.wait_task(&arn, "running").await;
    for t in ["r1", "r2"] {
        api.wait_table(&arn, t, "full load completed", |s| {
            s["TableState"] == "Table completed"
        })
        .await;
    }
    let loaded = records(&stream);
    assert_eq!(ids(&loaded, "load", "r1"), set(&[1, 2, 3]), "{loaded:?}");
    assert_eq!(ids(&loaded, "load", "r2"), set(&[11, 12]), "{loaded:?}");

    // CDC runs: an insert arrives.
    sql(&db, "INSERT INTO dms_sample.r1 VALUES (4, 'w')");
    wait_records(&stream, 0, "CDC insert 4", |r| {
        ids(r, "insert", "r1").contains(&4)
    })
    .await;
    assert_eq!(api.table(&arn, "r1").await["FullLoadReloaded"], false);

    // Reload r1: drop-table, create-table (DROP_AND_CREATE), then every row of r1 again.
    let mark = stream.len();
    let v = api
        .ok(
            "ReloadTables",
            json!({
                "ReplicationTaskArn": arn,
                "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "r1"}],
                "ReloadOption": "data-reload",
            }),
        )
        .await;
    assert_eq!(v["ReplicationTaskArn"], arn, "{v}");
    let reloaded = wait_records(&stream, mark, "the reload of r1", |r| {
        ids(r, "load", "r1") == set(&[1, 2, 3, 4])
    })
    .await;
    assert_eq!(controls(&reloaded, "r1"), ["drop-table", "create-table"]);
    let first_load = reloaded.iter().position(|r| r.op == "load").unwrap();
    assert!(
        reloaded[..first_load]
            .iter()
            .filter(|r| r.kind == "control")
            .count()
            == 2,
        "the control records come before the rows: {reloaded:?}"
    );
    assert!(
        reloaded.iter().all(|r| r.table == "r1"),
        "only r1 is reloaded: {reloaded:?}"
    );
    api.wait_table(&arn, "r1", "reloaded and completed", |s| {
        s["FullLoadReloaded"] == true && s["TableState"] == "Table completed"
    })
    .await;
    let r1 = api.table(&arn, "r1").await;
    assert_eq!(r1["FullLoadRows"], 4, "{r1}");
    let r2 = api.table(&arn, "r2").await;
    assert_eq!(r2["FullLoadReloaded"], false, "{r2}");
    assert_eq!(r2["TableState"], "Table completed", "{r2}");
    assert_eq!(api.describe_task(&arn).await["Status"], "running");

    // CDC keeps working after the reload, for both tables.
    sql(
        &db,
        "INSERT INTO dms_sample.r1 VALUES (5, 'v'); INSERT INTO dms_sample.r2 VALUES (13, 'r')",
    );
    wait_records(&stream, mark, "CDC inserts after the reload", |r| {
        ids(r, "insert", "r1").contains(&5) && ids(r, "insert", "r2").contains(&13)
    })
    .await;
    api.wait_table(&arn, "r1", "two CDC inserts", |s| s["Inserts"] == 2)
        .await;

    // DescribeTableStatistics filters.
    let names =
        |v: Vec<Value>| -> Vec<String> { v.iter().map(|s| str_of(&s["TableName"])).collect() };
    assert_eq!(
        names(
            api.table_stats(&arn, json!([{"Name": "table-name", "Values": ["r2"]}]))
                .await
        ),
        ["r2"]
    );
    assert_eq!(
        names(
            api.table_stats(
                &arn,
                json!([{"Name": "table-state", "Values": ["Table completed"]}])
            )
            .await
        ),
        ["r1", "r2"]
    );
    assert!(
        api.table_stats(
            &arn,
            json!([{"Name": "table-state", "Values": ["Table error"]}])
        )
        .await
        .is_empty()
    );
    assert_eq!(
        names(
            api.table_stats(
                &arn,
                json!([
                    {"Name": "schema-name", "Values": ["dms_sample"]},
                    {"Name": "table-name", "Values": ["r1", "nope"]},
                ])
            )
            .await
        ),
        ["r1"]
    );
    let r1 = api.table(&arn, "r1").await;
    for member in ["FullLoadStartTime", "FullLoadEndTime", "LastUpdateTime"] {
        assert_epoch(&r1[member], &format!("TableStatistics.{member}"));
    }

    // A table the task does not replicate.
    let f = api
        .fault(
            "ReloadTables",
            json!({
                "ReplicationTaskArn": arn,
                "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "nope"}],
            }),
            INVALID,
        )
        .await;
    assert!(f.message.contains("nope"), "{f}");
    let f = api
        .fault(
            "ReloadTables",
            json!({
                "ReplicationTaskArn": arn,
                "TablesToReload": [{"SchemaName": "other", "TableName": "r1"}],
            }),
            INVALID,
        )
        .await;
    assert!(f.message.contains("other"), "{f}");

    api.ok("StopReplicationTask", json!({"ReplicationTaskArn": arn}))
        .await;
    api.wait_task(&arn, "stopped").await;
    api.fault(
        "ReloadTables",
        json!({
            "ReplicationTaskArn": arn,
            "TablesToReload": [{"SchemaName": "dms_sample", "TableName": "r1"}],
        }),
        STATE,
    )
    .await;
}

// ---- DescribeReplicationTasks -----------------------------------------------------------

#[tokio::test]
async fn describe_replication_tasks_pages_and_filters() {
    let api = plain_server(Duration::ZERO, &[]).await;
    let inst1 = api.instance("page-instance-1", json!([])).await;
    let inst2 = api.instance("page-instance-2", json!([])).await;
    let src_even = api.offline_source("page-source-even").await;
    let src_odd = api.offline_source("page-source-odd").await;
    let target = api.target("page-target", "page-stream").await;
    let settings = json!({"FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"}}).to_string();
    let types = ["full-load", "cdc", "full-load-and-cdc"];

    // 25 tasks: instance 1 for the first 10, even/odd sources, migration types in turn.
    let mut all: Vec<(String, String, usize)> = Vec::new(); // (arn, id, n)
    for n in 0..25 {
        let ends = Ends {
            instance: if n < 10 { inst1.clone() } else { inst2.clone() },
            source: if n % 2 == 0 {
                src_even.clone()
            } else {
                src_odd.clone()
            },
            target: target.clone(),
        };
        let id = format!("page-{n:02}");
        let t = api
            .task(
                &id,
                &ends,
                types[n % 3],
                json!({"ReplicationTaskSettings": settings}),
            )
            .await;
        all.push((str_of(&t["ReplicationTaskArn"]), id, n));
    }
    let every: BTreeSet<String> = all.iter().map(|(a, _, _)| a.clone()).collect();
    let arns_of = |v: &Value| -> Vec<String> {
        v["ReplicationTasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| str_of(&t["ReplicationTaskArn"]))
            .collect()
    };
    let expect = |pred: &dyn Fn(usize) -> bool| -> BTreeSet<String> {
        all.iter()
            .filter(|(_, _, n)| pred(*n))
            .map(|(a, _, _)| a.clone())
            .collect()
    };

    // Paging: 20, then the other 5, none twice.
    let p1 = api.tasks(&[], json!({"MaxRecords": 20})).await;
    let first = arns_of(&p1);
    assert_eq!(first.len(), 20, "{p1}");
    let marker = str_of(&p1["Marker"]);
    let p2 = api
        .tasks(&[], json!({"MaxRecords": 20, "Marker": marker}))
        .await;
    let second = arns_of(&p2);
    assert_eq!(second.len(), 5, "{p2}");
    assert!(
        p2.get("Marker").is_none(),
        "the last page has no Marker: {p2}"
    );
    let mut seen = BTreeSet::new();
    for a in first.iter().chain(&second) {
        assert!(seen.insert(a.clone()), "{a} on two pages");
    }
    assert_eq!(seen, every);
    // Without MaxRecords (default 100): all of them on one page.
    let one = api.tasks(&[], json!({})).await;
    assert_eq!(arns_of(&one).len(), 25);
    assert!(one.get("Marker").is_none(), "{one}");
    // Paging a filtered list.
    let f1 = api
        .tasks(
            &[("endpoint-arn", vec![target.clone()])],
            json!({"MaxRecords": 20}),
        )
        .await;
    assert_eq!(arns_of(&f1).len(), 20);
    let f2 = api
        .tasks(
            &[("endpoint-arn", vec![target.clone()])],
            json!({"MaxRecords": 20, "Marker": str_of(&f1["Marker"])}),
        )
        .await;
    assert_eq!(arns_of(&f2).len(), 5);

    // WithoutSettings omits TableMappings and ReplicationTaskSettings.
    for t in one["ReplicationTasks"].as_array().unwrap() {
        assert_eq!(t["ReplicationTaskSettings"], settings, "{t}");
        assert!(t["TableMappings"].is_string(), "{t}");
    }
    let lean = api.tasks(&[], json!({"WithoutSettings": true})).await;
    assert_eq!(arns_of(&lean).len(), 25);
    for t in lean["ReplicationTasks"].as_array().unwrap() {
        assert!(t.get("TableMappings").is_none(), "{t}");
        assert!(t.get("ReplicationTaskSettings").is_none(), "{t}");
        assert!(t["ReplicationTaskIdentifier"].is_string(), "{t}");
    }
    let full = api.tasks(&[], json!({"WithoutSettings": false})).await;
    assert!(full["ReplicationTasks"][0]["TableMappings"].is_string());

    // Each filter.
    let got = |v: Value| -> BTreeSet<String> { arns_of(&v).into_iter().collect() };
    assert_eq!(
        got(api
            .tasks(
                &[(
                    "replication-task-id",
                    vec!["page-03".into(), "page-17".into()]
                )],
                json!({})
            )
            .await),
        expect(&|n| n == 3 || n == 17)
    );
    for (m, ty) in types.iter().enumerate() {
        assert_eq!(
            got(api
                .tasks(&[("migration-type", vec![(*ty).into()])], json!({}))
                .await),
            expect(&|n| n % 3 == m),
            "migration-type {ty}"
        );
    }
    assert_eq!(
        got(api
            .tasks(&[("endpoint-arn", vec![src_even.clone()])], json!({}))
            .await),
        expect(&|n| n % 2 == 0)
    );
    assert_eq!(
        got(api
            .tasks(&[("endpoint-arn", vec![src_odd.clone()])], json!({}))
            .await),
        expect(&|n| n % 2 == 1)
    );
    assert_eq!(
        got(api
            .tasks(&[("endpoint-arn", vec![target.clone()])], json!({}))
            .await),
        every,
        "endpoint-arn matches target endpoints too"
    );
    assert_eq!(
        got(api
            .tasks(
                &[("replication-instance-arn", vec![inst1.clone()])],
                json!({})
            )
            .await),
        expect(&|n| n < 10)
    );
    assert_eq!(
        got(api
            .tasks(
                &[("replication-instance-arn", vec![inst2.clone()])],
                json!({})
            )
            .await),
        expect(&|n| n >= 10)
    );
    assert_eq!(
        got(api
            .tasks(
                &[(
                    "replication-task-arn",
                    vec![all[5].0.clone(), all[6].0.clone()]
                )],
                json!({})
            )
            .await),
        expect(&|n| n == 5 || n == 6)
    );
    // Filters combine (AND between names, OR between values).
    assert_eq!(
        got(api
            .tasks(
                &[
                    ("migration-type", vec!["cdc".into(), "full-load".into()]),
                    ("replication-instance-arn", vec![inst1.clone()]),
                    ("endpoint-arn", vec![src_odd.clone()]),
                ],
                json!({})
            )
            .await),
        expect(&|n| n < 10 && n % 2 == 1 && n % 3 != 2)
    );
    api.fault(
        "DescribeReplicationTasks",
        json!({"Filters": [
            {"Name": "replication-instance-arn", "Values": [inst1]},
            {"Name": "replication-task-id", "Values": ["page-20"]},
        ]}),
        NOT_FOUND,
    )
    .await;
}

// ---- tags -------------------------------------------------------------------------------

#[tokio::test]
async fn tags_are_kept_updated_removed_and_listed() {
    let api = plain_server(Duration::ZERO, &[]).await;
    let inst = api
        .instance(
            "tag-instance",
            tags_json(&[("env", "dev"), ("team", "data")]),
        )
        .await;
    let mut source_body = source_body("tag-source", "127.0.0.1", 9, "dms", OFFLINE_PASSWORD);
    source_body["Tags"] = tags_json(&[("owner", "alice")]);
    let source = api.endpoint(source_body).await;
    let target = api.target("tag-target", "tag-stream").await;
    let ends = Ends {
        instance: inst.clone(),
        source: source.clone(),
        target: target.clone(),
    };
    let task = api
        .task(
            "tag-task",
            &ends,
            "cdc",
            json!({"Tags": tags_json(&[("cost-center", "42"), ("empty", "")])}),
        )
        .await;
    let task = str_of(&task["ReplicationTaskArn"]);
    api.ok(
        "CreateReplicationSubnetGroup",
        json!({
            "ReplicationSubnetGroupIdentifier": "tag-subnets",
            "ReplicationSubnetGroupDescription": "tagged",
            "SubnetIds": ["subnet-1", "subnet-2"],
            "Tags": tags_json(&[("net", "private")]),
        }),
    )
    .await;
    let subnets = "arn:aws:dms:us-east-1:000000000000:subgrp:tag-subnets".to_owned();
    assert_eq!(api.tags(&subnets).await, tag_map(&[("net", "private")]));

    assert_eq!(
        api.tags(&inst).await,
        tag_map(&[("env", "dev"), ("team", "data")])
    );
    assert_eq!(api.tags(&source).await, tag_map(&[("owner", "alice")]));
    assert_eq!(api.tags(&target).await, tag_map(&[]));
    assert_eq!(
        api.tags(&task).await,
        tag_map(&[("cost-center", "42"), ("empty", "")])
    );

    // AddTagsToResource: a known key gets the new value, new keys are added.
    api.ok(
        "AddTagsToResource",
        json!({"ResourceArn": inst, "Tags": tags_json(&[("env", "prod"), ("tier", "gold")])}),
    )
    .await;
    let v = api
        .ok("ListTagsForResource", json!({"ResourceArn": inst}))
        .await;
    assert_eq!(
        v["TagList"].as_array().unwrap().len(),
        3,
        "no key twice: {v}"
    );
    assert_eq!(
        api.tags(&inst).await,
        tag_map(&[("env", "prod"), ("team", "data"), ("tier", "gold")])
    );
    api.ok(
        "AddTagsToResource",
        json!({"ResourceArn": target, "Tags": tags_json(&[("stream", "yes")])}),
    )
    .await;
    assert_eq!(api.tags(&target).await, tag_map(&[("stream", "yes")]));

    // RemoveTagsFromResource removes the keys given (unknown keys are ignored).
    api.ok(
        "RemoveTagsFromResource",
        json!({"ResourceArn": inst, "TagKeys": ["team", "no-such-key"]}),
    )
    .await;
    assert_eq!(
        api.tags(&inst).await,
        tag_map(&[("env", "prod"), ("tier", "gold")])
    );
    api.ok(
        "RemoveTagsFromResource",
        json!({"ResourceArn": task, "TagKeys": ["cost-center", "empty"]}),
    )
    .await;
    assert_eq!(api.tags(&task).await, tag_map(&[]));
    // The other resources kept theirs.
    assert_eq!(api.tags(&source).await, tag_map(&[("owner", "alice")]));

    // ResourceArnList: every resource's tags, each entry naming its resource.
    let v = api
        .ok(
            "ListTagsForResource",
            json!({"ResourceArnList": [inst, source, target, task]}),
        )
        .await;
    let mut by_resource: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for t in v["TagList"].as_array().unwrap() {
        let arn = t["ResourceArn"]
            .as_str()
            .unwrap_or_else(|| panic!("a TagList entry without ResourceArn: {v}"));
        by_resource
            .entry(arn.to_owned())
            .or_default()
            .insert(str_of(&t["Key"]), str_of(&t["Value"]));
    }
    let want: BTreeMap<String, BTreeMap<String, String>> = [
        (inst.clone(), tag_map(&[("env", "prod"), ("tier", "gold")])),
        (source.clone(), tag_map(&[("owner", "alice")])),
        (target.clone(), tag_map(&[("stream", "yes")])),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_resource, want, "{v}");

    // Deleting a resource deletes its tags.
    api.ok("DeleteReplicationTask", json!({"ReplicationTaskArn": task}))
        .await;
    api.fault(
        "ListTagsForResource",
        json!({"ResourceArn": task}),
        NOT_FOUND,
    )
    .await;
}

// ---- transition delay -------------------------------------------------------------------

#[tokio::test]
async fn instances_and_tasks_stay_creating_for_the_transition_delay() {
    const DELAY: Duration = Duration::from_millis(300);
    let stream = MemoryStream::new("delay-stream");
    let api = plain_server(DELAY, &[&stream]).await;

    let created_at = Instant::now();
    let v = api
        .ok(
            "CreateReplicationInstance",
            json!({"ReplicationInstanceIdentifier": "delay-instance", "ReplicationInstanceClass": "dms.t3.micro"}),
        )
        .await;
    assert_eq!(
        v["ReplicationInstance"]["ReplicationInstanceStatus"], "creating",
        "{v}"
    );
    let inst = str_of(&v["ReplicationInstance"]["ReplicationInstanceArn"]);
    let instance_status = || async {
        let v = api
            .ok(
                "DescribeReplicationInstances",
                json!({"Filters": [{"Name": "replication-instance-arn", "Values": [inst]}]}),
            )
            .await;
        str_of(&v["ReplicationInstances"][0]["ReplicationInstanceStatus"])
    };
    assert_eq!(instance_status().await, "creating");

    // While the instance is creating: no connection test, no task.
    let source = api.offline_source("delay-source").await;
    let target = api.target("delay-target", "delay-stream").await;
    api.fault(
        "TestConnection",
        json!({"ReplicationInstanceArn": inst, "EndpointArn": target}),
        STATE,
    )
    .await;
    let ends = Ends {
        instance: inst.clone(),
        source,
        target: target.clone(),
    };
    let task_body = json!({
        "ReplicationTaskIdentifier": "delay-task",
        "SourceEndpointArn": ends.source,
        "TargetEndpointArn": ends.target,
        "ReplicationInstanceArn": ends.instance,
        "MigrationType": "cdc",
        "TableMappings": mappings(&["%"]),
    });
    api.fault("CreateReplicationTask", task_body.clone(), STATE)
        .await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while instance_status().await != "available" {
        assert!(
            Instant::now() < deadline,
            "the instance never became available"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        created_at.elapsed() >= DELAY,
        "available after {:?}, before the delay",
        created_at.elapsed()
    );

    // The instance is available: the connection can be tested.
    api.ok(
        "TestConnection",
        json!({"ReplicationInstanceArn": inst, "EndpointArn": target}),
    )
    .await;
    assert_eq!(api.tested(&target, &inst).await["Status"], "successful");

    // A task is creating for the delay: it cannot start, then it is ready.
    let created_at = Instant::now();
    let v = api.ok("CreateReplicationTask", task_body).await;
    assert_eq!(v["ReplicationTask"]["Status"], "creating", "{v}");
    let task = str_of(&v["ReplicationTask"]["ReplicationTaskArn"]);
    assert_eq!(api.describe_task(&task).await["Status"], "creating");
    let f = api
        .fault(
            "StartReplicationTask",
            json!({"ReplicationTaskArn": task, "StartReplicationTaskType": "start-replication"}),
            STATE,
        )
        .await;
    assert!(!f.message.is_empty());
    assert_eq!(api.describe_task(&task).await["Status"], "creating");
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.describe_task(&task).await["Status"] != "ready" {
        assert!(Instant::now() < deadline, "the task never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        created_at.elapsed() >= DELAY,
        "ready after {:?}, before the delay",
        created_at.elapsed()
    );
}

// ---- DescribeEndpointTypes --------------------------------------------------------------

#[tokio::test]
async fn describe_endpoint_types_lists_the_supported_engines() {
    let api = plain_server(Duration::ZERO, &[]).await;
    let types = |filters: Value| {
        let api = &api;
        async move {
            let v = api
                .ok("DescribeEndpointTypes", json!({"Filters": filters}))
                .await;
            let list = v["SupportedEndpointTypes"].as_array().unwrap().clone();
            for t in &list {
                assert_eq!(t["SupportsCDC"], true, "{t}");
                assert!(t["EngineDisplayName"].is_string(), "{t}");
            }
            list.iter()
                .map(|t| {
                    (
                        str_of(&t["EngineName"]),
                        str_of(&t["EndpointType"]).to_lowercase(),
                    )
                })
                .collect::<BTreeSet<(String, String)>>()
        }
    };
    let pair = |e: &str, t: &str| (e.to_owned(), t.to_owned());
    let all: BTreeSet<_> = [
        pair("mysql", "source"),
        pair("mariadb", "source"),
        pair("aurora", "source"),
        pair("kinesis", "target"),
    ]
    .into_iter()
    .collect();
    assert_eq!(types(json!([])).await, all);
    assert_eq!(
        api.ok("DescribeEndpointTypes", json!({})).await["SupportedEndpointTypes"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        types(json!([{"Name": "endpoint-type", "Values": ["source"]}])).await,
        all.iter().filter(|(_, t)| t == "source").cloned().collect()
    );
    assert_eq!(
        types(json!([{"Name": "endpoint-type", "Values": ["target"]}])).await,
        [pair("kinesis", "target")].into_iter().collect()
    );
    assert_eq!(
        types(json!([{"Name": "engine-name", "Values": ["mariadb", "kinesis"]}])).await,
        [pair("mariadb", "source"), pair("kinesis", "target")]
            .into_iter()
            .collect()
    );
    assert_eq!(
        types(json!([
            {"Name": "engine-name", "Values": ["aurora", "kinesis"]},
            {"Name": "endpoint-type", "Values": ["source"]},
        ]))
        .await,
        [pair("aurora", "source")].into_iter().collect()
    );
    assert!(
        types(json!([{"Name": "engine-name", "Values": ["oracle"]}]))
            .await
            .is_empty()
    );
    let v = api.ok("DescribeEndpointTypes", json!({})).await;
    let mariadb = v["SupportedEndpointTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["EngineName"] == "mariadb")
        .unwrap()
        .clone();
    assert_eq!(mariadb["EngineDisplayName"], "MariaDB", "{mariadb}");
}

// ---- wire shapes ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_are_epoch_seconds_endpoint_types_upper_case_and_passwords_hidden() {
    let state = tempfile::tempdir().unwrap();
    let secrets = MemorySecrets::new();
    let secret = secret_arn("wire");
    secrets.put(
        secret.clone(),
        dms_secret_json(
            "127.0.0.1",
            9,
            "dms",
            &SecretString::new(SECRET_ONLY_PASSWORD),
            "dms_sample",
        ),
    );
    let stream = MemoryStream::new("wire-stream");
    let targets = StreamTargets::new();
    targets.register(stream_arn("wire-stream"), Arc::new(stream.writer()));
    let cfg = ServerConfig {
        state_dir: Some(state.path().to_owned()),
        ..ServerConfig::default()
    };
    let api = Api::new(server_with(cfg, secrets, targets).await, None);

    let v = api
        .ok(
            "CreateReplicationInstance",
            json!({"ReplicationInstanceIdentifier": "wire-instance", "ReplicationInstanceClass": "dms.t3.micro"}),
        )
        .await;
    assert_epoch(
        &v["ReplicationInstance"]["InstanceCreateTime"],
        "CreateReplicationInstance InstanceCreateTime",
    );
    let inst = str_of(&v["ReplicationInstance"]["ReplicationInstanceArn"]);
    let v = api.ok("DescribeReplicationInstances", json!({})).await;
    assert_epoch(
        &v["ReplicationInstances"][0]["InstanceCreateTime"],
        "DescribeReplicationInstances InstanceCreateTime",
    );

    // Endpoints: EndpointType upper case, no password member anywhere.
    let v = api
        .ok(
            "CreateEndpoint",
            source_body("wire-source", "127.0.0.1", 9, "dms", OFFLINE_PASSWORD),
        )
        .await;
    assert_eq!(v["Endpoint"]["EndpointType"], "SOURCE", "{v}");
    let source = str_of(&v["Endpoint"]["EndpointArn"]);
    let v = api
        .ok(
            "CreateEndpoint",
            json!({
                "EndpointIdentifier": "wire-secret-source",
                "EndpointType": "SOURCE",
                "EngineName": "mysql",
                "MySQLSettings": {
                    "SecretsManagerSecretId": secret,
                    "SecretsManagerAccessRoleArn": "arn:aws:iam::000000000000:role/dms-secrets",
                },
            }),
        )
        .await;
    assert_eq!(v["Endpoint"]["EndpointType"], "SOURCE", "{v}");
    assert_eq!(
        v["Endpoint"]["MySQLSettings"]["SecretsManagerSecretId"], secret,
        "{v}"
    );
    let secret_source = str_of(&v["Endpoint"]["EndpointArn"]);
    let v = api
        .ok("CreateEndpoint", target_body("wire-target", "wire-stream"))
        .await;
    assert_eq!(v["Endpoint"]["EndpointType"], "TARGET", "{v}");
    let target = str_of(&v["Endpoint"]["EndpointArn"]);
    let v = api.ok("DescribeEndpoints", json!({})).await;
    let eps = v["Endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 3, "{v}");
    for e in eps {
        let want = if e["EndpointArn"] == target {
            "TARGET"
        } else {
            "SOURCE"
        };
        assert_eq!(e["EndpointType"], want, "{e}");
        assert!(e.get("Password").is_none(), "{e}");
        assert!(e["MySQLSettings"].get("Password").is_none(), "{e}");
    }
    let v = api
        .ok(
            "DescribeEndpoints",
            json!({"Filters": [{"Name": "endpoint-type", "Values": ["target"]}]}),
        )
        .await;
    assert_eq!(v["Endpoints"].as_array().unwrap().len(), 1, "{v}");

    // A task that starts (and fails: nothing listens on port 9): every date is a number.
    let ends = Ends {
        instance: inst.clone(),
        source: source.clone(),
        target,
    };
    let created = api.task("wire-task", &ends, "full-load", json!({})).await;
    assert_epoch(
        &created["ReplicationTaskCreationDate"],
        "CreateReplicationTask ReplicationTaskCreationDate",
    );
    let arn = str_of(&created["ReplicationTaskArn"]);
    api.wait_task(&arn, "ready").await;
    let started = api.start(&arn, "start-replication").await;
    assert_epoch(
        &started["ReplicationTask"]["ReplicationTaskStartDate"],
        "StartReplicationTask ReplicationTaskStartDate",
    );
    let deadline = Instant::now() + WAIT;
    let t = loop {
        let t = api.describe_task(&arn).await;
        if t["Status"] == "failed" || t["Status"] == "stopped" {
            break t;
        }
        assert!(Instant::now() < deadline, "{t}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(t["Status"], "failed", "no database on port 9: {t}");
    assert_epoch(
        &t["ReplicationTaskCreationDate"],
        "ReplicationTaskCreationDate",
    );
    assert_epoch(&t["ReplicationTaskStartDate"], "ReplicationTaskStartDate");
    let stats = &t["ReplicationTaskStats"];
    for member in ["StartDate", "StopDate", "FreshStartDate"] {
        assert_epoch(&stats[member], &format!("ReplicationTaskStats.{member}"));
    }
    assert!(stats["ElapsedTimeMillis"].is_i64(), "{t}");
    assert!(stats["FullLoadProgressPercent"].is_i64(), "{t}");

    // Connection failures never carry the password either (checked by `Api`).
    for ep in [&source, &secret_source] {
        api.ok(
            "TestConnection",
            json!({"ReplicationInstanceArn": inst, "EndpointArn": ep}),
        )
        .await;
        assert_eq!(api.tested(ep, &inst).await["Status"], "failed");
    }
    api.ok("DescribeConnections", json!({})).await;

    // The saved state: owner-only, and the secret's password is not copied into it.
    let path = state.path().join("state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("wire-task"), "the state is saved: {text}");
    assert!(
        !text.contains(SECRET_ONLY_PASSWORD),
        "a secret's password is read from the secret, never saved: {text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "state.json holds inline passwords: mode {mode:o}"
        );
    }
}
