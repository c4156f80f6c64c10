//! Shared helpers for the engine's end-to-end tests: a private MariaDB, an in-memory stream,
//! an engine wired to both, and the seed's SQL.
#![allow(dead_code, clippy::unwrap_used)]

use dmsrs_codec::{Record, decode};
use dmsrs_engine::{
    CheckpointStore, EmbeddedEngine, EngineConfig, MemoryCheckpoints, StreamTargets,
};
use dmsrs_secrets::{MemorySecrets, SecretString, dms_secret_json};
use dmsrs_streams::{InRecord, MemoryStream};
use dmsrs_tasks::{
    CreateEndpoint, CreateTask, EndpointSettings, EndpointType, KinesisSettings, MigrationType,
    MySqlSettings, ReplicationService, ReplicationTask, StartTask, StartType, TaskStatus,
    wait::wait_for_status,
};
use dmsrs_testkit::MariaDbServer;
use std::sync::Arc;
use std::time::Duration;

/// The seed's tables (authors, accounts, novels), from the seed crate.
pub static CREATE_TABLES: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| dmsrs_seed::sql::CREATE_TABLES.join("\n"));

/// The seed's rows (1 author, 1 account, 2 novels) in one transaction, from the seed crate.
pub static PRESEED_DATA: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "START TRANSACTION;\n{}\nCOMMIT;",
        dmsrs_seed::sql::PRESEED_DATA.join("\n")
    )
});

/// The seed's table mappings (one include rule) for `dms_sample.<table>`.
pub fn mappings(rule_name: &str, table: &str) -> String {
    dmsrs_tasks::seed::table_mappings(rule_name, table, dmsrs_tasks::seed::SCHEMA)
}

pub const FULL_LOAD_SETTINGS: &str = dmsrs_tasks::seed::FULL_LOAD_TASK_SETTINGS;
pub const CDC_SETTINGS: &str = dmsrs_tasks::seed::CDC_TASK_SETTINGS;

/// The seed's KinesisSettings.
pub fn seed_kinesis(stream: &str) -> KinesisSettings {
    dmsrs_tasks::seed::kinesis_settings(stream, None)
}

pub struct Harness {
    pub db: MariaDbServer,
    pub stream: MemoryStream,
    pub engine: EmbeddedEngine,
    pub secrets: MemorySecrets,
    pub source_arn: String,
    pub target_arn: String,
}

pub const SECRET: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:test-source";

impl Harness {
    pub async fn new() -> Harness {
        Self::with_kinesis(seed_kinesis(
            "arn:aws:kinesis:us-east-1:000000000000:stream/target",
        ))
        .await
    }

    pub async fn with_kinesis(kinesis: KinesisSettings) -> Harness {
        let db = MariaDbServer::start().unwrap();
        Self::with_db(db, kinesis).await
    }

    pub async fn with_db(db: MariaDbServer, kinesis: KinesisSettings) -> Harness {
        Self::with_parts(
            db,
            MemoryStream::new("target"),
            kinesis,
            Arc::new(MemoryCheckpoints::default()),
        )
        .await
    }

    /// A harness over a given stream and checkpoint store.
    pub async fn with_parts(
        db: MariaDbServer,
        stream: MemoryStream,
        kinesis: KinesisSettings,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Harness {
        let parts = EngineParts::new(&db, &stream, kinesis, checkpoints).await;
        Harness {
            db,
            stream,
            engine: parts.engine,
            secrets: parts.secrets,
            source_arn: parts.source_arn,
            target_arn: parts.target_arn,
        }
    }

    /// A CreateTask for this harness's endpoints (no positions, generated resource id).
    pub fn create_input(
        &self,
        id: &str,
        mt: MigrationType,
        mappings: String,
        settings: &str,
    ) -> CreateTask {
        create_input(
            &self.source_arn,
            &self.target_arn,
            id,
            mt,
            mappings,
            settings,
        )
    }

    pub fn sql(&self, sql: &str) {
        self.db.execute(&format!("USE dms_sample; {sql}")).unwrap();
    }

    pub async fn task(
        &self,
        id: &str,
        mt: MigrationType,
        mappings: String,
        settings: &str,
    ) -> ReplicationTask {
        self.engine
            .create_task(CreateTask {
                identifier: id.into(),
                source_endpoint_arn: self.source_arn.clone(),
                target_endpoint_arn: self.target_arn.clone(),
                replication_instance_arn: "arn:aws:dms:us-east-1:000000000000:rep:LOCAL".into(),
                migration_type: mt,
                table_mappings: mappings,
                settings: Some(settings.into()),
                cdc_start_position: None,
                cdc_start_time: None,
                cdc_stop_position: None,
                resource_identifier: None,
            })
            .await
            .unwrap()
    }

    pub async fn start(&self, arn: &str, t: StartType) -> ReplicationTask {
        self.engine
            .start_task(StartTask::new(arn, t))
            .await
            .unwrap()
    }

    pub async fn wait(&self, arn: &str, status: TaskStatus) -> ReplicationTask {
        wait_for_status(
            &self.engine,
            arn,
            status,
            Duration::from_secs(30),
            Duration::from_millis(20),
        )
        .await
        .unwrap()
    }

    /// Records after sequence number `after` (None = all), decoded.
    pub fn records_after(&self, after: Option<&str>) -> Vec<(InRecord, Record)> {
        let mut all = self.stream.records();
        dmsrs_streams::sort_by_sequence_number(&mut all);
        all.into_iter()
            .filter(|r| after.is_none_or(|a| seq_gt(&r.sequence_number, a)))
            .map(|r| {
                let rec = decode(&r.data).unwrap();
                (r, rec)
            })
            .collect()
    }

    /// Waits until `n` records arrived after `after`; returns them (fails after 20 s).
    pub async fn wait_records(&self, after: Option<&str>, n: usize) -> Vec<(InRecord, Record)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.records_after(after);
            if r.len() >= n || std::time::Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn last_seq(&self) -> Option<String> {
        self.stream.latest_sequence_number()
    }
}

pub fn seq_gt(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

pub fn ops(records: &[(InRecord, Record)]) -> Vec<String> {
    records
        .iter()
        .map(|(_, r)| format!("{} {}", r.metadata.operation, r.metadata.table_name))
        .collect()
}

/// An engine wired to a MariaDB and a memory stream, with its two endpoints: what a
/// restart of the engine's process builds again.
pub struct EngineParts {
    pub engine: EmbeddedEngine,
    pub secrets: MemorySecrets,
    pub source_arn: String,
    pub target_arn: String,
}

impl EngineParts {
    pub async fn new(
        db: &MariaDbServer,
        stream: &MemoryStream,
        kinesis: KinesisSettings,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> EngineParts {
        let targets = StreamTargets::new();
        targets.register(kinesis.stream_arn.clone(), Arc::new(stream.writer()));
        let secrets = MemorySecrets::new();
        secrets.put(
            SECRET,
            dms_secret_json(
                db.host(),
                db.port(),
                db.user(),
                &SecretString::new(db.password()),
                "dms_sample",
            ),
        );
        let engine = EmbeddedEngine::with_checkpoints(
            EngineConfig::default(),
            Arc::new(secrets.clone()),
            Arc::new(targets),
            checkpoints,
        );
        let src = engine
            .create_endpoint(CreateEndpoint {
                identifier: "source".into(),
                endpoint_type: EndpointType::Source,
                engine_name: "mariadb".into(),
                settings: EndpointSettings::MySql(MySqlSettings {
                    secrets_manager_secret_id: Some(SECRET.into()),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        let dst = engine
            .create_endpoint(CreateEndpoint {
                identifier: "target".into(),
                endpoint_type: EndpointType::Target,
                engine_name: "kinesis".into(),
                settings: EndpointSettings::Kinesis(kinesis),
            })
            .await
            .unwrap();
        EngineParts {
            engine,
            secrets,
            source_arn: src.arn,
            target_arn: dst.arn,
        }
    }
}

/// A CreateTask over the given endpoints (no positions, generated resource id).
pub fn create_input(
    source_arn: &str,
    target_arn: &str,
    id: &str,
    mt: MigrationType,
    mappings: String,
    settings: &str,
) -> CreateTask {
    CreateTask {
        identifier: id.into(),
        source_endpoint_arn: source_arn.into(),
        target_endpoint_arn: target_arn.into(),
        replication_instance_arn: "arn:aws:dms:us-east-1:000000000000:rep:LOCAL".into(),
        migration_type: mt,
        table_mappings: mappings,
        settings: Some(settings.into()),
        cdc_start_position: None,
        cdc_start_time: None,
        cdc_stop_position: None,
        resource_identifier: None,
    }
}

/// An integer column of a record's `data`.
pub fn data_i64(r: &Record, column: &str) -> Option<i64> {
    r.data.as_ref()?.get(column)?.as_number()?.as_i64()
}
