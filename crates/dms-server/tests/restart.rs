//! The server's state survives a restart, driven by `dmsrs-tasks`' AWS DMS client
//! (aws-sdk-databasemigration) through the `ReplicationService` trait, over HTTP:
//!
//! * a CDC task stopped before the restart comes back `stopped` with its endpoints, settings,
//!   statistics and `RecoveryCheckpoint`, and `resume-processing` continues from its
//!   checkpoint: changes made while the server was down arrive, none lost;
//! * a task running when the server stops is resumed by the next start on its own.
#![allow(clippy::unwrap_used)]

use dmsrs_dms_server::{DmsServer, ServerConfig};
use dmsrs_engine::StreamTargets;
use dmsrs_secrets::MemorySecrets;
use dmsrs_streams::MemoryStream;
use dmsrs_tasks::{
    AwsDms, CreateEndpoint, CreateTask, EndpointSettings, EndpointType, KinesisSettings,
    MigrationType, MySqlSettings, ReplicationService, SecretString, StartTask, StartType,
    TaskStatus,
};
use dmsrs_testkit::MariaDbServer;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STREAM: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/restart";

/// One server run: serving on a free loopback port until stopped.
struct Running {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(state: &Path, targets: &StreamTargets) -> Running {
    let cfg = ServerConfig {
        state_dir: Some(state.to_owned()),
        ..ServerConfig::default()
    };
    let server = DmsServer::new(
        cfg,
        Arc::new(MemorySecrets::new()),
        Arc::new(targets.clone()),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        server
            .serve(
                listener,
                async {
                    let _ = rx.await;
                },
                Duration::from_millis(200),
            )
            .await
            .unwrap();
    });
    Running { url, stop, done }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap();
    }

    async fn client(&self) -> AwsDms {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .test_credentials()
            .load()
            .await;
        AwsDms::from_sdk_config(&sdk)
    }
}

async fn wait_status(dms: &AwsDms, arn: &str, want: TaskStatus) -> dmsrs_tasks::ReplicationTask {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = dms.describe_task(arn).await.unwrap();
        if t.status == want {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "task {arn} is {} ({:?}), wanted {want}",
            t.status,
            t.last_failure_message
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `id`s of the insert records in the stream.
fn inserted_ids(stream: &MemoryStream) -> Vec<i64> {
    stream
        .records()
        .iter()
        .filter_map(|r| {
            let rec = dmsrs_codec::decode(&r.data).ok()?;
            (rec.metadata.operation.as_str() == "insert")
                .then(|| rec.data.as_ref()?.get("id")?.as_number()?.as_i64())
                .flatten()
        })
        .collect()
}

async fn wait_ids(stream: &MemoryStream, want: &[i64]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = inserted_ids(stream);
        if want.iter().all(|w| ids.contains(w)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for inserts {want:?}, the stream has {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A replication instance over the raw API (the trait has no instances).
fn instance(url: &str) -> String {
    let r = dmsrs_testkit::aws_json_request(
        url,
        "dms",
        "AmazonDMSv20160101.CreateReplicationInstance",
        r#"{"ReplicationInstanceIdentifier":"ri","ReplicationInstanceClass":"dms.t3.micro"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["ReplicationInstance"]["ReplicationInstanceArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn cdc_task(dms: &AwsDms, db: &MariaDbServer, instance: &str, id: &str) -> String {
    let src = dms
        .create_endpoint(CreateEndpoint {
            identifier: format!("{id}-src"),
            endpoint_type: EndpointType::Source,
            engine_name: "mariadb".into(),
            settings: EndpointSettings::MySql(MySqlSettings {
                server_name: Some(db.host().into()),
                port: Some(db.port()),
                username: Some(db.user().into()),
                password: Some(SecretString::new(db.password())),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let dst = dms
        .create_endpoint(CreateEndpoint {
            identifier: format!("{id}-dst"),
            endpoint_type: EndpointType::Target,
            engine_name: "kinesis".into(),
            settings: EndpointSettings::Kinesis(KinesisSettings {
                stream_arn: STREAM.into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let task = dms
        .create_task(CreateTask {
            identifier: id.into(),
            source_endpoint_arn: src.arn,
            target_endpoint_arn: dst.arn,
            replication_instance_arn: instance.into(),
            migration_type: MigrationType::Cdc,
            table_mappings: r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"shop","table-name":"%"},"rule-action":"include"}]}"#.into(),
            settings: None,
            cdc_start_position: None,
            cdc_start_time: None,
            cdc_stop_position: None,
            resource_identifier: None,
        })
        .await
        .unwrap();
    wait_status(dms, &task.arn, TaskStatus::Ready).await;
    task.arn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart_and_cdc_resumes_without_loss() {
    let db = MariaDbServer::start().unwrap();
    db.execute(
        "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(20))",
    )
    .unwrap();
    let stream = MemoryStream::new("restart");
    let targets = StreamTargets::new();
    targets.register(STREAM, Arc::new(stream.writer()));
    let state = tempfile::tempdir().unwrap();

    // First run: a CDC task captures rows 1-2, then stops; row 3 is written while stopped.
    let run = start(state.path(), &targets).await;
    let dms = run.client().await;
    let inst = instance(&run.url);
    let arn = cdc_task(&dms, &db, &inst, "orders-cdc").await;
    dms.start_task(StartTask::new(&arn, StartType::StartReplication))
        .await
        .unwrap();
    wait_status(&dms, &arn, TaskStatus::Running).await;
    db.execute("INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    wait_ids(&stream, &[1, 2]).await;
    dms.stop_task(&arn).await.unwrap();
    let stopped = wait_status(&dms, &arn, TaskStatus::Stopped).await;
    let checkpoint = stopped
        .recovery_checkpoint
        .clone()
        .expect("a RecoveryCheckpoint");
    db.execute("INSERT INTO shop.orders VALUES (3, 'c')")
        .unwrap();

    // A second task is left running when the server stops.
    let arn2 = cdc_task(&dms, &db, &inst, "orders-live").await;
    dms.start_task(StartTask::new(&arn2, StartType::StartReplication))
        .await
        .unwrap();
    wait_status(&dms, &arn2, TaskStatus::Running).await;
    let stats_before = dms.describe_table_statistics(&arn).await.unwrap();
    run.stop().await;
    db.execute("INSERT INTO shop.orders VALUES (4, 'd')")
        .unwrap();

    // Second run, same state folder: everything is back.
    let run = start(state.path(), &targets).await;
    let dms = run.client().await;
    let t = dms.describe_task(&arn).await.unwrap();
    assert_eq!(t.status, TaskStatus::Stopped, "{t:?}");
    assert_eq!(t.identifier, "orders-cdc");
    assert_eq!(t.recovery_checkpoint.as_deref(), Some(checkpoint.as_str()));
    assert_eq!(
        dms.describe_table_statistics(&arn).await.unwrap(),
        stats_before,
        "table statistics survive"
    );
    assert_eq!(dms.describe_endpoints(&[]).await.unwrap().len(), 4);
    // The task that was running resumed by itself from its checkpoint and picks up row 4.
    wait_status(&dms, &arn2, TaskStatus::Running).await;

    // resume-processing continues the stopped task from its checkpoint: rows 3 and 4, which
    // were written while it was stopped and while the server was down, arrive.
    let before = stream.len();
    dms.start_task(StartTask::new(&arn, StartType::ResumeProcessing))
        .await
        .unwrap();
    wait_status(&dms, &arn, TaskStatus::Running).await;
    db.execute("INSERT INTO shop.orders VALUES (5, 'e')")
        .unwrap();
    wait_ids(&stream, &[1, 2, 3, 4, 5]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = inserted_ids(&stream);
        if [4, 5]
            .iter()
            .all(|id| ids.iter().filter(|x| *x == id).count() >= 2)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rows 4 and 5 from both tasks: {ids:?}; second task: {:?}",
            dms.describe_table_statistics(&arn2).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stream.len() > before);
    let stats = dms.describe_table_statistics(&arn).await.unwrap();
    assert!(stats[0].inserts >= 5, "{stats:?}");
    dms.stop_task(&arn).await.unwrap();
    dms.stop_task(&arn2).await.unwrap();
    wait_status(&dms, &arn, TaskStatus::Stopped).await;
    wait_status(&dms, &arn2, TaskStatus::Stopped).await;
    run.stop().await;
}
