//! The embedded engine: an in-process DMS control plane that runs replication tasks itself.

use crate::cdc;
use crate::encoder::{TableEncoder, TaskTarget};
use crate::error::EngineError;
use crate::fullload::{self, LoadCtx};
use crate::mapping::{SourceColumn, TableMappings};
use crate::runtime::{Cancel, RunHandle, TaskEntry, lock};
use crate::settings::{ParsedSettings, TaskSettings};
use crate::source::{self, SourceConfig, TableInfo};
use crate::{CheckpointStore, MemoryCheckpoints, TargetFactory};
use dmsrs_secrets::SecretSource;
use dmsrs_tasks::{
    CreateEndpoint, CreateTask, DmsError, Endpoint, EndpointSettings, EndpointType, MigrationType,
    ModifyTask, ReloadOption, ReplicationService, ReplicationTask, Result, StartTask, StartType,
    TableStatistics, TaskFilter, TaskStats, TaskStatus, resource_id, stop_reason, table_state,
    validate_identifier,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tracing::{error, warn};

mod admin;
pub use admin::TaskRecord;

/// Settings of the embedded engine itself.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Region used in ARNs.
    pub region: String,
    /// Account used in ARNs.
    pub account: String,
    /// Host names to replace when connecting to sources (`mariadb_server` -> `127.0.0.1`,
    /// like the seed's run script does for its Docker network).
    pub host_rewrites: Vec<(String, String)>,
    /// Base for the replica `server_id`s the engine uses to read binlogs (one per task).
    pub replica_server_id_base: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            host_rewrites: Vec::new(),
            replica_server_id_base: 0x7d00_0000,
        }
    }
}

/// The embedded DMS: implements [`ReplicationService`] by running tasks in this process.
///
/// Tasks run on the current tokio runtime. Sources are MySQL/MariaDB endpoints (connection
/// fields or a secret from the [`SecretSource`]); targets are Kinesis endpoints whose stream
/// the [`TargetFactory`] opens (an in-memory stream, kinesis-local, or AWS Kinesis).
#[derive(Clone, Debug)]
pub struct EmbeddedEngine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: EngineConfig,
    secrets: Arc<dyn SecretSource>,
    targets: Arc<dyn TargetFactory>,
    checkpoints: Arc<dyn CheckpointStore>,
    endpoints: Mutex<BTreeMap<String, Endpoint>>,
    tasks: Mutex<BTreeMap<String, Arc<TaskEntry>>>,
}

impl EmbeddedEngine {
    /// An engine reading secrets from `secrets` and writing to streams from `targets`, with
    /// CDC checkpoints in memory.
    pub fn new(
        cfg: EngineConfig,
        secrets: Arc<dyn SecretSource>,
        targets: Arc<dyn TargetFactory>,
    ) -> Self {
        Self::with_checkpoints(
            cfg,
            secrets,
            targets,
            Arc::new(MemoryCheckpoints::default()),
        )
    }

    /// Like [`EmbeddedEngine::new`] with a checkpoint store (a file store survives restarts).
    pub fn with_checkpoints(
        cfg: EngineConfig,
        secrets: Arc<dyn SecretSource>,
        targets: Arc<dyn TargetFactory>,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Self {
        EmbeddedEngine {
            inner: Arc::new(Inner {
                cfg,
                secrets,
                targets,
                checkpoints,
                endpoints: Mutex::new(BTreeMap::new()),
                tasks: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    fn arn(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:dms:{}:{}:{kind}:{id}",
            self.inner.cfg.region, self.inner.cfg.account
        )
    }

    /// Stops every running task and waits until each has written what it read and saved
    /// its checkpoint.
    pub async fn shutdown(&self) {
        let entries: Vec<Arc<TaskEntry>> = lock(&self.inner.tasks).values().cloned().collect();
        for e in entries {
            let handle = lock(&e.run).take();
            if let Some(h) = handle {
                h.cancel.cancel();
                let _ = h.join.await;
            }
        }
    }

    fn entry(&self, arn: &str) -> Result<Arc<TaskEntry>> {
        lock(&self.inner.tasks)
            .get(arn)
            .cloned()
            .ok_or_else(|| DmsError::ResourceNotFound(format!("replication task {arn} not found")))
    }

    fn endpoint(&self, arn: &str) -> Result<Endpoint> {
        lock(&self.inner.endpoints)
            .get(arn)
            .cloned()
            .ok_or_else(|| DmsError::ResourceNotFound(format!("endpoint {arn} not found")))
    }

    /// The source connection of a source endpoint (reading its secret when it has one).
    async fn source_config(&self, ep: &Endpoint) -> std::result::Result<SourceConfig, EngineError> {
        let EndpointSettings::MySql(s) = &ep.settings else {
            return Err(EngineError::InvalidParameter(format!(
                "endpoint {} is not a MySQL/MariaDB source",
                ep.arn
            )));
        };
        let mut cfg = match &s.secrets_manager_secret_id {
            Some(id) => {
                let secret = self.inner.secrets.secret_string(id).await?;
                SourceConfig::from_secret_json(id, secret.expose())?
            }
            None => SourceConfig {
                host: s
                    .server_name
                    .clone()
                    .ok_or_else(|| missing(ep, "ServerName"))?,
                port: s.port.unwrap_or(3306),
                user: s.username.clone().ok_or_else(|| missing(ep, "Username"))?,
                password: s.password.clone().ok_or_else(|| missing(ep, "Password"))?,
                database: s.database_name.clone(),
            },
        };
        if let Some((_, to)) = self
            .inner
            .cfg
            .host_rewrites
            .iter()
            .find(|(from, _)| *from == cfg.host)
        {
            cfg.host = to.clone();
        }
        Ok(cfg)
    }
}

fn missing(ep: &Endpoint, field: &str) -> EngineError {
    EngineError::InvalidParameter(format!(
        "source endpoint {} has neither MySqlSettings.SecretsManagerSecretId nor {field}",
        ep.identifier
    ))
}

fn parse_settings(json: Option<&str>) -> Result<ParsedSettings> {
    TaskSettings::from_json(json.unwrap_or("{}"))
        .map_err(|e| DmsError::InvalidParameterValue(format!("ReplicationTaskSettings: {e}")))
}

#[async_trait::async_trait]
impl ReplicationService for EmbeddedEngine {
    async fn create_endpoint(&self, input: CreateEndpoint) -> Result<Endpoint> {
        validate_identifier("EndpointIdentifier", &input.identifier)?;
        let engine = input.engine_name.to_ascii_lowercase();
        match (&input.endpoint_type, engine.as_str(), &input.settings) {
            (EndpointType::Source, "mysql" | "mariadb" | "aurora", EndpointSettings::MySql(_)) => {}
            (EndpointType::Target, "kinesis", EndpointSettings::Kinesis(k))
                if !k.stream_arn.is_empty() => {}
            (t, e, _) => {
                return Err(DmsError::InvalidParameterValue(format!(
                    "the embedded engine supports mysql/mariadb/aurora sources with MySqlSettings and kinesis targets \
                     with KinesisSettings.StreamArn; got a {} endpoint with engine {e:?}",
                    t.as_str()
                )));
            }
        }
        let mut eps = lock(&self.inner.endpoints);
        if eps.values().any(|e| e.identifier == input.identifier) {
            return Err(DmsError::ResourceAlreadyExists(format!(
                "endpoint {} already exists",
                input.identifier
            )));
        }
        let arn = self.arn("endpoint", &dmsrs_tasks::new_resource_id());
        let ep = Endpoint {
            arn: arn.clone(),
            identifier: input.identifier,
            endpoint_type: input.endpoint_type,
            engine_name: engine,
            status: "active".into(),
            settings: input.settings,
        };
        eps.insert(arn, ep.clone());
        Ok(ep)
    }

    async fn describe_endpoints(&self, arns: &[String]) -> Result<Vec<Endpoint>> {
        let eps = lock(&self.inner.endpoints);
        Ok(eps
            .values()
            .filter(|e| arns.is_empty() || arns.contains(&e.arn))
            .cloned()
            .collect())
    }

    async fn delete_endpoint(&self, arn: &str) -> Result<Endpoint> {
        let in_use = lock(&self.inner.tasks).values().any(|t| {
            let t = lock(&t.task);
            t.source_endpoint_arn == arn || t.target_endpoint_arn == arn
        });
        if in_use {
            return Err(DmsError::InvalidResourceState(format!(
                "endpoint {arn} is used by a replication task"
            )));
        }
        let mut ep = lock(&self.inner.endpoints)
            .remove(arn)
            .ok_or_else(|| DmsError::ResourceNotFound(format!("endpoint {arn} not found")))?;
        ep.status = "deleting".into();
        Ok(ep)
    }

    async fn create_task(&self, input: CreateTask) -> Result<ReplicationTask> {
        validate_identifier("ReplicationTaskIdentifier", &input.identifier)?;
        let src = self.endpoint(&input.source_endpoint_arn)?;
        let dst = self.endpoint(&input.target_endpoint_arn)?;
        if src.endpoint_type != EndpointType::Source || dst.endpoint_type != EndpointType::Target {
            return Err(DmsError::InvalidParameterValue(
                "SourceEndpointArn must name a source endpoint and TargetEndpointArn a target endpoint".into(),
            ));
        }
        let mappings = TableMappings::from_json(&input.table_mappings)
            .map_err(|e| DmsError::InvalidParameterValue(format!("TableMappings: {e}")))?;
        let settings = parse_settings(input.settings.as_deref())?;
        if input.cdc_start_position.is_some() && input.cdc_start_time.is_some() {
            return Err(DmsError::InvalidParameterValue(
                "specify either CdcStartPosition or CdcStartTime, not both".into(),
            ));
        }
        for w in mappings.warnings() {
            warn!(task = %input.identifier, "table mappings: {w}");
        }
        for w in &settings.warnings {
            warn!(task = %input.identifier, "task settings: {w}");
        }
        let not_honoured = settings.not_honoured();
        if !not_honoured.is_empty() {
            warn!(task = %input.identifier, "task settings parsed but not honoured by the embedded engine: {}", not_honoured.join(", "));
        }
        let mut tasks = lock(&self.inner.tasks);
        if tasks
            .values()
            .any(|t| lock(&t.task).identifier == input.identifier)
        {
            return Err(DmsError::ResourceAlreadyExists(format!(
                "replication task {} already exists",
                input.identifier
            )));
        }
        let id = match &input.resource_identifier {
            Some(r) if !r.is_empty() && r.len() <= 31 => r.clone(),
            Some(r) => {
                return Err(DmsError::InvalidParameterValue(format!(
                    "ResourceIdentifier {r:?} must be 1-31 characters"
                )));
            }
            None => dmsrs_tasks::new_resource_id(),
        };
        let arn = self.arn("task", &id);
        if tasks.contains_key(&arn) {
            return Err(DmsError::ResourceAlreadyExists(format!(
                "a replication task with ResourceIdentifier {id} already exists"
            )));
        }
        let task = ReplicationTask {
            arn: arn.clone(),
            identifier: input.identifier,
            source_endpoint_arn: input.source_endpoint_arn,
            target_endpoint_arn: input.target_endpoint_arn,
            replication_instance_arn: input.replication_instance_arn,
            migration_type: input.migration_type,
            table_mappings: input.table_mappings,
            settings: input.settings,
            status: TaskStatus::Ready,
            stop_reason: None,
            last_failure_message: None,
            creation_date: SystemTime::now(),
            start_date: None,
            cdc_start_position: input.cdc_start_position,
            cdc_stop_position: input.cdc_stop_position,
            recovery_checkpoint: None,
            stats: TaskStats::default(),
        };
        let entry = Arc::new(TaskEntry::new(task.clone()));
        *lock(&entry.cdc_start_time) = input.cdc_start_time;
        tasks.insert(arn, entry);
        // The API answers `creating`; the task is `ready` on the next describe, as on DMS.
        Ok(ReplicationTask {
            status: TaskStatus::Creating,
            ..task
        })
    }

    async fn start_task(&self, input: StartTask) -> Result<ReplicationTask> {
        let entry = self.entry(&input.arn)?;
        // A task created again with the same ResourceIdentifier (after the engine restarted)
        // has run before when its checkpoint survived: it may resume.
        let has_checkpoint = input.start_type != StartType::StartReplication
            && self
                .inner
                .checkpoints
                .load(resource_id(&input.arn))
                .await?
                .is_some();
        let mut run = lock(&entry.run);
        let status = entry.snapshot().status;
        if !matches!(
            status,
            TaskStatus::Ready | TaskStatus::Stopped | TaskStatus::Failed
        ) {
            return Err(DmsError::InvalidResourceState(format!(
                "replication task {} is {status}; it can start only when ready, stopped or failed",
                input.arn
            )));
        }
        if status == TaskStatus::Ready
            && input.start_type != StartType::StartReplication
            && !has_checkpoint
        {
            return Err(DmsError::InvalidResourceState(format!(
                "replication task {} has never run: start it with start-replication",
                input.arn
            )));
        }
        if input.cdc_start_position.is_some() && input.cdc_start_time.is_some() {
            return Err(DmsError::InvalidParameterValue(
                "specify either CdcStartPosition or CdcStartTime, not both".into(),
            ));
        }
        let now = SystemTime::now();
        let snapshot = entry.update(|t| {
            t.status = TaskStatus::Starting;
            t.stop_reason = None;
            t.last_failure_message = None;
            t.start_date = Some(now);
            t.stats.start_date = Some(now);
            t.stats.stop_date = None;
            t.stats.fresh_start_date.get_or_insert(now);
            if let Some(p) = &input.cdc_start_position {
                t.cdc_start_position = Some(p.clone());
            } else if input.cdc_start_time.is_some() {
                // The newer of the two start settings counts.
                t.cdc_start_position = None;
            }
            if let Some(p) = &input.cdc_stop_position {
                t.cdc_stop_position = Some(p.clone());
            }
            t.clone()
        });
        if input.cdc_start_position.is_some() || input.cdc_start_time.is_some() {
            *lock(&entry.cdc_start_time) = input.cdc_start_time;
        }
        let cancel = Arc::new(Cancel::default());
        let engine = self.clone();
        let e2 = Arc::clone(&entry);
        let c2 = Arc::clone(&cancel);
        let join = tokio::spawn(async move {
            engine.run_task(e2, input, c2).await;
        });
        *run = Some(RunHandle { cancel, join });
        Ok(snapshot)
    }

    async fn stop_task(&self, arn: &str) -> Result<ReplicationTask> {
        let entry = self.entry(arn)?;
        let run = lock(&entry.run);
        let status = entry.snapshot().status;
        if !matches!(status, TaskStatus::Running | TaskStatus::Starting) {
            return Err(DmsError::InvalidResourceState(format!(
                "replication task {arn} is not running (it is {status})"
            )));
        }
        entry.set_status(TaskStatus::Stopping);
        if let Some(h) = run.as_ref() {
            h.cancel.cancel();
        }
        Ok(entry.snapshot())
    }

    async fn describe_tasks(&self, filter: &TaskFilter) -> Result<Vec<ReplicationTask>> {
        let tasks: Vec<Arc<TaskEntry>> = lock(&self.inner.tasks).values().cloned().collect();
        Ok(tasks
            .iter()
            .map(|e| {
                e.refresh_task_stats();
                e.snapshot()
            })
            .filter(|t| filter.matches(t))
            .collect())
    }

    async fn describe_table_statistics(&self, arn: &str) -> Result<Vec<TableStatistics>> {
        Ok(self.entry(arn)?.table_statistics())
    }

    async fn delete_task(&self, arn: &str) -> Result<ReplicationTask> {
        let entry = self.entry(arn)?;
        let status = entry.snapshot().status;
        if matches!(
            status,
            TaskStatus::Running | TaskStatus::Starting | TaskStatus::Stopping
        ) {
            return Err(DmsError::InvalidResourceState(format!(
                "replication task {arn} is {status}: stop it first"
            )));
        }
        lock(&self.inner.tasks).remove(arn);
        let _ = self.inner.checkpoints.clear(resource_id(arn)).await;
        let mut t = entry.snapshot();
        t.status = TaskStatus::Deleting;
        Ok(t)
    }

    async fn modify_task(&self, input: ModifyTask) -> Result<ReplicationTask> {
        self.modify(input)
    }

    async fn reload_tables(
        &self,
        arn: &str,
        tables: &[(String, String)],
        option: ReloadOption,
    ) -> Result<()> {
        self.reload(arn, tables, option)
    }
}

impl EmbeddedEngine {
    /// Runs a started task to its end and records how it ended.
    async fn run_task(&self, entry: Arc<TaskEntry>, start: StartTask, cancel: Arc<Cancel>) {
        let task = entry.snapshot();
        let outcome = self.run_phases(&entry, &task, &start, &cancel).await;
        admin::set_reload(&entry, None);
        let now = SystemTime::now();
        entry.update(|t| {
            t.stats.stop_date = Some(now);
            match &outcome {
                Ok(reason) => {
                    t.status = TaskStatus::Stopped;
                    t.stop_reason = Some((*reason).to_owned());
                }
                Err(e) => {
                    t.status = TaskStatus::Failed;
                    t.stop_reason = Some(stop_reason::FATAL_ERROR.to_owned());
                    t.last_failure_message = Some(e.to_string());
                }
            }
        });
        entry.refresh_task_stats();
        let log = parse_settings(task.settings.as_deref())
            .map(|p| crate::tasklog::TaskLog::from_settings(&p.settings.logging))
            .unwrap_or_default();
        match outcome {
            Ok(reason) => {
                crate::task_event!(log, crate::tasklog::Component::TaskManager, INFO, task = %task.identifier, %reason, "task stopped")
            }
            Err(e) => error!(task = %task.identifier, error = %e, "task failed"),
        }
    }

    async fn run_phases(
        &self,
        entry: &Arc<TaskEntry>,
        task: &ReplicationTask,
        start: &StartTask,
        cancel: &Arc<Cancel>,
    ) -> std::result::Result<&'static str, EngineError> {
        let src = self
            .endpoint(&task.source_endpoint_arn)
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let dst = self
            .endpoint(&task.target_endpoint_arn)
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let EndpointSettings::Kinesis(kinesis) = dst.settings.clone() else {
            return Err(EngineError::InvalidParameter(
                "the target endpoint has no KinesisSettings".into(),
            ));
        };
        let source = self.source_config(&src).await?;
        let parsed = parse_settings(task.settings.as_deref())
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let settings = Arc::new(parsed.settings);
        let mappings = TableMappings::from_json(&task.table_mappings)
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let writer = self.inner.targets.writer(&kinesis.stream_arn).await?;

        let tm = &settings.target_metadata;
        let bi = &settings.before_image_settings;
        let target = Arc::new(TaskTarget {
            task_id: resource_id(&task.arn).to_owned(),
            render: kinesis.render_options(),
            lob_limit: (tm.limited_size_lob_mode && !tm.full_lob_mode)
                .then(|| tm.lob_max_size as usize * 1024),
            support_lobs: tm.support_lobs,
            before_image: (bi.enable_before_image && task.migration_type.has_cdc()).then(|| {
                (
                    bi.field_name
                        .clone()
                        .unwrap_or_else(|| "before-image".into()),
                    bi.column_filter,
                )
            }),
            parallel_apply: tm.parallel_apply_threads > 0,
            log: crate::tasklog::TaskLog::from_settings(&settings.logging),
            kinesis,
        });

        let mut conn = source.connect().await?;
        // CDC continues from the position taken before the snapshot: nothing is lost, rows
        // changed during the load may arrive twice.
        let start_position = if task.migration_type.has_cdc() {
            source::binlog_position(&mut conn).await?
        } else {
            None
        };
        let infos = source::discover(&mut conn, |s, t| mappings.is_selected(s, t)).await?;
        let _ = conn.disconnect().await;
        let mut tables: Vec<(TableInfo, Arc<TableEncoder>)> = Vec::new();
        for info in infos {
            if let Some(enc) = plan_table(&mappings, &target, &info)? {
                tables.push((info, Arc::new(enc)));
            }
        }
        tables.sort_by(|(a, ea), (b, eb)| {
            eb.plan()
                .load_order
                .cmp(&ea.plan().load_order)
                .then_with(|| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)))
        });
        if tables.is_empty()
            && settings.error_behavior.fail_on_no_tables_captured
            && task.migration_type.has_full_load()
        {
            return Err(EngineError::InvalidParameter(
                "no source table matches the task's selection rules (FailOnNoTablesCaptured)"
                    .into(),
            ));
        }
        let names: Vec<(String, String)> = tables
            .iter()
            .map(|(i, _)| (i.schema.clone(), i.name.clone()))
            .collect();

        admin::set_reload(
            entry,
            Some(crate::runtime::ReloadCtx {
                load: LoadCtx {
                    source: source.clone(),
                    writer: Arc::clone(&writer),
                    settings: Arc::clone(&settings),
                    entry: Arc::clone(entry),
                    cancel: Arc::clone(cancel),
                },
                tables: tables.clone(),
            }),
        );
        // full-load-and-cdc resumed after its full load finished (CDC saved a checkpoint):
        // CDC continues from the checkpoint, tables are not loaded again.
        let task_id = resource_id(&task.arn);
        let cdc_resumes = task.migration_type == MigrationType::FullLoadAndCdc
            && start.start_type == StartType::ResumeProcessing
            && self.inner.checkpoints.load(task_id).await?.is_some();
        if task.migration_type.has_full_load() && !cdc_resumes {
            if task.migration_type.has_cdc() {
                // A checkpoint from before this load must not survive it: if the task dies
                // during the load, resume-processing loads again instead of resuming CDC over
                // a half-loaded target.
                self.inner.checkpoints.clear(task_id).await?;
            }
            let reload = start.start_type != StartType::ResumeProcessing;
            entry.register_tables(&names, table_state::BEFORE_LOAD, reload);
            entry.update(|t| {
                t.status = TaskStatus::Running;
                t.stats.full_load_start_date = Some(SystemTime::now());
                t.stats.full_load_finish_date = None;
            });
            let ctx = LoadCtx {
                source: source.clone(),
                writer: Arc::clone(&writer),
                settings: Arc::clone(&settings),
                entry: Arc::clone(entry),
                cancel: Arc::clone(cancel),
            };
            fullload::run(&ctx, tables.clone()).await?;
            entry.update(|t| t.stats.full_load_finish_date = Some(SystemTime::now()));
            if cancel.is_cancelled() {
                return Ok(stop_reason::NORMAL);
            }
            if task.migration_type == MigrationType::FullLoad {
                return Ok(stop_reason::FULL_LOAD_ONLY_FINISHED);
            }
        } else {
            entry.register_tables(
                &names,
                table_state::TABLE_COMPLETED,
                start.start_type == StartType::ReloadTarget,
            );
        }

        let cdc_ctx = cdc::CdcCtx {
            engine_cfg: self.inner.cfg.clone(),
            source,
            writer,
            mappings: Arc::new(mappings),
            target,
            entry: Arc::clone(entry),
            cancel: Arc::clone(cancel),
            checkpoints: Arc::clone(&self.inner.checkpoints),
            task: task.clone(),
            start: start.clone(),
            snapshot_position: start_position,
            tables,
        };
        cdc::run(cdc_ctx).await
    }
}

/// Plans one table for a task: `None` when the mappings do not select it.
pub(crate) fn plan_table(
    mappings: &TableMappings,
    target: &Arc<TaskTarget>,
    info: &TableInfo,
) -> std::result::Result<Option<TableEncoder>, EngineError> {
    let cols: Vec<SourceColumn> = info
        .columns
        .iter()
        .map(|c| SourceColumn {
            name: c.name.clone(),
            is_primary_key: c.is_primary_key,
            is_lob: c.kind.is_lob(),
            data_type: c.data_type.clone(),
        })
        .collect();
    let plan = mappings
        .plan(&info.schema, &info.name, &cols)
        .map_err(|e| EngineError::InvalidParameter(format!("TableMappings: {e}")))?;
    Ok(plan.map(|p| TableEncoder::new(Arc::clone(target), info, p)))
}
