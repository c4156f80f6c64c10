//! The engine's administration surface beyond the `ReplicationService` trait: saving and
//! restoring its endpoints and tasks (a DMS server keeps them across restarts), testing an
//! endpoint's connection, modifying a stopped task and reloading tables of a running one.

use super::{EmbeddedEngine, parse_settings, validate_identifier};
use crate::error::EngineError;
use crate::fullload::{self, LoadCtx};
use crate::mapping::TableMappings;
use crate::runtime::{Cancel, ReloadCtx, TaskEntry, lock};
use dmsrs_tasks::{
    DmsError, Endpoint, EndpointSettings, ModifyTask, ReloadOption, ReplicationTask, Result,
    TableStatistics, TaskStatus, stop_reason, table_state,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tracing::{info, warn};

/// A task as the engine holds it: what a DMS server saves to restore the task later.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// The task as `DescribeReplicationTasks` shows it.
    pub task: ReplicationTask,
    /// `CdcStartTime` given at create or at the last start (the task model has no field).
    pub cdc_start_time: Option<SystemTime>,
    /// Its table statistics.
    pub tables: Vec<TableStatistics>,
}

/// How long a connection test may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(15);

impl EmbeddedEngine {
    /// Every task with its table statistics, for saving.
    pub fn task_records(&self) -> Vec<TaskRecord> {
        let entries: Vec<Arc<TaskEntry>> = lock(&self.inner.tasks).values().cloned().collect();
        entries
            .iter()
            .map(|e| {
                e.refresh_task_stats();
                TaskRecord {
                    task: e.snapshot(),
                    cdc_start_time: *lock(&e.cdc_start_time),
                    tables: e.table_statistics(),
                }
            })
            .collect()
    }

    /// Every endpoint, for saving.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        lock(&self.inner.endpoints).values().cloned().collect()
    }

    /// Adds an endpoint saved earlier, keeping its ARN. `ResourceAlreadyExists` when its ARN
    /// or identifier is taken.
    pub fn restore_endpoint(&self, ep: Endpoint) -> Result<()> {
        let mut eps = lock(&self.inner.endpoints);
        if eps.contains_key(&ep.arn) || eps.values().any(|e| e.identifier == ep.identifier) {
            return Err(DmsError::ResourceAlreadyExists(format!(
                "endpoint {} already exists",
                ep.identifier
            )));
        }
        eps.insert(ep.arn.clone(), ep);
        Ok(())
    }

    /// Adds a task saved earlier, keeping its ARN, statistics and `RecoveryCheckpoint`.
    ///
    /// Nothing runs after a restore, so a task saved while `starting`, `running` or
    /// `stopping` comes back `stopped` (stop reason `RECOVERABLE_ERROR` when it was running:
    /// start it with `resume-processing` to continue from its checkpoint), one saved while
    /// `creating` comes back `ready` and one saved while `modifying` comes back `stopped`.
    pub fn restore_task(&self, rec: TaskRecord) -> Result<ReplicationTask> {
        let mut task = rec.task;
        match task.status {
            TaskStatus::Creating => task.status = TaskStatus::Ready,
            TaskStatus::Starting | TaskStatus::Running => {
                task.status = TaskStatus::Stopped;
                task.stop_reason = Some(stop_reason::RECOVERABLE_ERROR.to_owned());
                task.stats.stop_date.get_or_insert_with(SystemTime::now);
            }
            TaskStatus::Stopping | TaskStatus::Modifying | TaskStatus::Testing => {
                task.status = TaskStatus::Stopped;
                task.stop_reason
                    .get_or_insert_with(|| stop_reason::NORMAL.to_owned());
            }
            TaskStatus::Moving | TaskStatus::FailedMove => task.status = TaskStatus::Failed,
            TaskStatus::Deleting => {
                return Err(DmsError::InvalidResourceState(format!(
                    "replication task {} was being deleted",
                    task.arn
                )));
            }
            TaskStatus::Ready | TaskStatus::Stopped | TaskStatus::Failed => {}
        }
        let mut tasks = lock(&self.inner.tasks);
        if tasks.contains_key(&task.arn)
            || tasks
                .values()
                .any(|t| lock(&t.task).identifier == task.identifier)
        {
            return Err(DmsError::ResourceAlreadyExists(format!(
                "replication task {} already exists",
                task.identifier
            )));
        }
        let entry = Arc::new(TaskEntry::new(task.clone()));
        *lock(&entry.cdc_start_time) = rec.cdc_start_time;
        {
            let mut tables = lock(&entry.tables);
            for mut t in rec.tables {
                if t.table_state == table_state::FULL_LOAD
                    || t.table_state == table_state::TABLE_RELOADING
                {
                    t.table_state = table_state::TABLE_CANCELLED.into();
                }
                tables.insert((t.schema_name.clone(), t.table_name.clone()), t);
            }
        }
        tasks.insert(task.arn.clone(), entry);
        Ok(task)
    }

    /// `TestConnection`: connects to a source endpoint's database (through its secret when
    /// it has one) or checks that a target endpoint's stream exists. The error says what
    /// failed.
    pub async fn test_endpoint(&self, arn: &str) -> std::result::Result<(), EngineError> {
        let ep = self
            .endpoint(arn)
            .map_err(|e| EngineError::InvalidParameter(e.message()))?;
        let check = async {
            match &ep.settings {
                EndpointSettings::MySql(_) => {
                    let cfg = self.source_config(&ep).await?;
                    let conn = cfg.connect().await?;
                    let _ = conn.disconnect().await;
                    Ok(())
                }
                EndpointSettings::Kinesis(k) => self.inner.targets.check(&k.stream_arn).await,
            }
        };
        match tokio::time::timeout(TEST_TIMEOUT, check).await {
            Ok(r) => r,
            Err(_) => Err(EngineError::Source {
                message: format!(
                    "endpoint {} did not answer within {} s: is it running and reachable?",
                    ep.identifier,
                    TEST_TIMEOUT.as_secs()
                ),
                retryable: true,
            }),
        }
    }

    /// `ModifyReplicationTask` (see the trait).
    pub(super) fn modify(&self, input: ModifyTask) -> Result<ReplicationTask> {
        let entry = self.entry(&input.arn)?;
        let _run = lock(&entry.run);
        let current = entry.snapshot();
        if !matches!(
            current.status,
            TaskStatus::Ready | TaskStatus::Stopped | TaskStatus::Failed
        ) {
            return Err(DmsError::InvalidResourceState(format!(
                "replication task {} is {}: the task must be stopped before you can modify it",
                input.arn, current.status
            )));
        }
        if input.cdc_start_position.is_some() && input.cdc_start_time.is_some() {
            return Err(DmsError::InvalidParameterValue(
                "specify either CdcStartPosition or CdcStartTime, not both".into(),
            ));
        }
        if let Some(id) = &input.identifier {
            validate_identifier("ReplicationTaskIdentifier", id)?;
            let taken = lock(&self.inner.tasks)
                .iter()
                .any(|(arn, t)| *arn != input.arn && lock(&t.task).identifier == *id);
            if taken {
                return Err(DmsError::ResourceAlreadyExists(format!(
                    "replication task {id} already exists"
                )));
            }
        }
        if let Some(m) = &input.table_mappings {
            TableMappings::from_json(m)
                .map_err(|e| DmsError::InvalidParameterValue(format!("TableMappings: {e}")))?;
        }
        if let Some(s) = &input.settings {
            parse_settings(Some(s))?;
        }
        let task = entry.update(|t| {
            if let Some(id) = input.identifier {
                t.identifier = id;
            }
            if let Some(m) = input.migration_type {
                t.migration_type = m;
            }
            if let Some(m) = input.table_mappings {
                t.table_mappings = m;
            }
            if let Some(s) = input.settings {
                t.settings = Some(s);
            }
            if let Some(p) = input.cdc_start_position {
                t.cdc_start_position = Some(p);
            } else if input.cdc_start_time.is_some() {
                t.cdc_start_position = None;
            }
            if let Some(p) = input.cdc_stop_position {
                t.cdc_stop_position = Some(p);
            }
            t.clone()
        });
        if input.cdc_start_time.is_some() {
            *lock(&entry.cdc_start_time) = input.cdc_start_time;
        }
        info!(task = %task.identifier, "replication task modified");
        Ok(ReplicationTask {
            status: TaskStatus::Modifying,
            ..task
        })
    }

    /// `ReloadTables` (see the trait).
    pub(super) fn reload(
        &self,
        arn: &str,
        tables: &[(String, String)],
        option: ReloadOption,
    ) -> Result<()> {
        if option == ReloadOption::ValidateOnly {
            return Err(DmsError::InvalidParameterValue(
                "ReloadOption validate-only needs data validation, which Kinesis targets do not support: \
                 use data-reload"
                    .into(),
            ));
        }
        if tables.is_empty() {
            return Err(DmsError::InvalidParameterValue(
                "TablesToReload must name at least one table".into(),
            ));
        }
        let entry = self.entry(arn)?;
        let status = entry.snapshot().status;
        let ctx = lock(&entry.reload).clone();
        let Some(ctx) = ctx.filter(|_| status == TaskStatus::Running) else {
            return Err(DmsError::InvalidResourceState(format!(
                "replication task {arn} is {status}: tables can be reloaded only while it runs"
            )));
        };
        let mut selected = Vec::new();
        for (schema, table) in tables {
            let found = ctx
                .tables
                .iter()
                .find(|(i, _)| i.schema == *schema && i.name == *table);
            match found {
                Some(t) => selected.push(t.clone()),
                None => {
                    return Err(DmsError::InvalidParameterValue(format!(
                        "table {schema}.{table} is not replicated by replication task {arn}"
                    )));
                }
            }
        }
        for (info, _) in &selected {
            entry.table(&info.schema, &info.name, |s| {
                s.table_state = table_state::TABLE_RELOADING.into()
            });
        }
        // The reload has its own cancel flag: stopping the task stops it, but a reload that
        // fails marks its tables in error without stopping the task.
        let task_cancel = Arc::clone(&ctx.load.cancel);
        let cancel = Arc::new(Cancel::default());
        let load = LoadCtx {
            cancel: Arc::clone(&cancel),
            ..ctx.load.clone()
        };
        let arn = arn.to_owned();
        tokio::spawn(async move {
            let names: Vec<(String, String)> = selected
                .iter()
                .map(|(i, _)| (i.schema.clone(), i.name.clone()))
                .collect();
            let outcome = tokio::select! {
                r = fullload::run(&load, selected) => r,
                () = task_cancel.cancelled() => {
                    cancel.cancel();
                    Ok(())
                }
            };
            for (schema, table) in &names {
                load.entry.table(schema, table, |s| {
                    s.full_load_reloaded = true;
                    if s.table_state == table_state::TABLE_RELOADING {
                        s.table_state = table_state::TABLE_CANCELLED.into();
                    }
                });
            }
            match outcome {
                Ok(()) => info!(task = %arn, tables = names.len(), "tables reloaded"),
                Err(e) => {
                    warn!(task = %arn, error = %e, "reloading tables failed");
                    for (schema, table) in &names {
                        load.entry.table(schema, table, |s| {
                            s.table_state = table_state::TABLE_ERROR.into()
                        });
                    }
                }
            }
            load.entry.refresh_task_stats();
        });
        Ok(())
    }
}

/// Sets what `ReloadTables` needs while a task runs.
pub(super) fn set_reload(entry: &TaskEntry, ctx: Option<ReloadCtx>) {
    *lock(&entry.reload) = ctx;
}
