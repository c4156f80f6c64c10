//! The DMS control plane as one trait, implemented by the embedded engine here and by the
//! AWS DMS client in `dmsrs-tasks`, so a scenario runs unchanged on either.

use crate::error::{DmsError, Result};
use crate::model::{
    CreateEndpoint, CreateTask, Endpoint, ModifyTask, ReloadOption, ReplicationTask, StartTask,
    TableStatistics, TaskFilter,
};

/// The DMS control plane: endpoints and replication tasks.
///
/// Contract (the DMS API's):
/// * Every call returns promptly; work happens in the background. A started task moves
///   `starting -> running`; a full-load task then stops by itself (`stopped`, stop reason
///   `Stop Reason FULL_LOAD_ONLY_FINISHED`); a CDC task runs until stopped. Poll
///   [`describe_tasks`](ReplicationService::describe_tasks) to follow it.
/// * Calls in the wrong state fail with `InvalidResourceState` (start a running task, stop a
///   stopped one, delete a running one); unknown ARNs with `ResourceNotFound`; duplicate
///   identifiers with `ResourceAlreadyExists`; bad mappings or settings with
///   `InvalidParameterValue` naming the rule id or JSON path.
/// * Records reach the target at least once: after a failure or restart some records may be
///   written again, never lost.
#[async_trait::async_trait]
pub trait ReplicationService: Send + Sync {
    /// `CreateEndpoint`.
    async fn create_endpoint(&self, input: CreateEndpoint) -> Result<Endpoint>;
    /// `DescribeEndpoints` (all when `arns` is empty).
    async fn describe_endpoints(&self, arns: &[String]) -> Result<Vec<Endpoint>>;
    /// `DeleteEndpoint`.
    async fn delete_endpoint(&self, arn: &str) -> Result<Endpoint>;
    /// `CreateReplicationTask`: validates mappings and settings, returns the task `ready`.
    async fn create_task(&self, input: CreateTask) -> Result<ReplicationTask>;
    /// `StartReplicationTask` (`start-replication`, `resume-processing`, `reload-target`).
    async fn start_task(&self, input: StartTask) -> Result<ReplicationTask>;
    /// `StopReplicationTask`.
    async fn stop_task(&self, arn: &str) -> Result<ReplicationTask>;
    /// `DescribeReplicationTasks`.
    async fn describe_tasks(&self, filter: &TaskFilter) -> Result<Vec<ReplicationTask>>;
    /// `DescribeTableStatistics`, sorted by schema and table.
    async fn describe_table_statistics(&self, arn: &str) -> Result<Vec<TableStatistics>>;
    /// `DeleteReplicationTask` (the task must not be running).
    async fn delete_task(&self, arn: &str) -> Result<ReplicationTask>;
    /// `ModifyReplicationTask`: the task must be stopped (or ready, or failed); the answer
    /// shows it `modifying`, and it is back in its previous status on the next describe.
    async fn modify_task(&self, input: ModifyTask) -> Result<ReplicationTask>;
    /// `ReloadTables`: loads the given `(schema, table)`s of a running task again while it
    /// keeps replicating (`InvalidResourceState` unless running).
    async fn reload_tables(
        &self,
        arn: &str,
        tables: &[(String, String)],
        option: ReloadOption,
    ) -> Result<()>;

    /// One task by ARN (`ResourceNotFound` when absent).
    async fn describe_task(&self, arn: &str) -> Result<ReplicationTask> {
        self.describe_tasks(&TaskFilter::arn(arn))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DmsError::ResourceNotFound(format!("replication task {arn} not found")))
    }
}
