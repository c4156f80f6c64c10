//! [`AwsDms`]: the [`ReplicationService`] against AWS DMS (or LocalStack, moto) through
//! aws-sdk-databasemigration, plus the control-plane helpers the deploy step needs
//! (replication subnet group and instance, endpoint/task lookup by identifier, tags).

mod convert;
mod error;
mod infra;

use std::fmt;

use aws_sdk_databasemigration::Client;
use aws_sdk_databasemigration::types::Filter;

pub use infra::{ReplicationInstance, ReplicationInstanceSpec, SubnetGroup};

use crate::model::{
    CreateEndpoint, CreateTask, Endpoint, EndpointSettings, ModifyTask, ReloadOption,
    ReplicationTask, StartTask, TableStatistics, TaskFilter,
};
use crate::{DmsError, ReplicationService, Result, Tag};
use convert::{
    answered_task, endpoint_from_sdk, endpoint_type_to_sdk, from_time, kinesis_to_sdk,
    migration_type_to_sdk, mysql_to_sdk, start_type_to_sdk, table_stats_from_sdk, tags_to_sdk,
    task_from_sdk,
};
use error::{incomplete, map_sdk_error};

/// `MaxRecords` of the Describe* calls (the DMS maximum for endpoints and tasks).
const PAGE_SIZE: i32 = 100;
/// `MaxRecords` of DescribeTableStatistics (its maximum).
const TABLE_STATS_PAGE_SIZE: i32 = 500;

/// AWS DMS, or any endpoint speaking its API (LocalStack, moto through
/// `scripts/moto_launcher.py`).
///
/// Build it from an `SdkConfig` carrying the region, credentials, endpoint URL and retry
/// configuration:
///
/// ```no_run
/// # async fn f() {
/// let sdk = aws_config::load_from_env().await;
/// let dms = dmsrs_tasks::AwsDms::from_sdk_config(&sdk)
///     .with_default_tags(vec![dmsrs_tasks::Tag::stack("DMsSampleSetupStack")]);
/// # }
/// ```
///
/// Behaviour of the [`ReplicationService`] methods (DMS's, not the embedded engine's):
/// * `create_task` returns the task as DMS reports it, normally `creating`; wait for `ready`
///   with [`crate::wait::wait_for_status`] (moto never leaves `creating`, but accepts a start).
/// * `describe_tasks`/`describe_endpoints` return an empty list when nothing matches (DMS
///   answers `ResourceNotFoundFault`; it is mapped to "no results"). They follow `Marker`
///   pagination and ask for the settings (`WithoutSettings=false`).
/// * `TableMappings` and `ReplicationTaskSettings` are sent byte for byte as given.
/// * Errors are mapped to [`DmsError`] by fault name (see `DmsError`'s variants); throttling,
///   HTTP 5xx, timeouts and connection failures are `Service { retryable: true }` after the
///   SDK's own retries (configure them with `RetryConfig` on the `SdkConfig`).
#[derive(Clone)]
pub struct AwsDms {
    client: Client,
    default_tags: Vec<Tag>,
}

impl fmt::Debug for AwsDms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.client.config().region().map(|r| r.to_string());
        f.debug_struct("AwsDms")
            .field("region", &region)
            .field("default_tags", &self.default_tags)
            .finish()
    }
}

impl AwsDms {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        AwsDms {
            client,
            default_tags: Vec::new(),
        }
    }

    /// A client built from a shared AWS config.
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// Tags put on every resource this client creates (endpoints, tasks, subnet groups,
    /// replication instances), e.g. [`Tag::stack`].
    pub fn with_default_tags(mut self, tags: Vec<Tag>) -> Self {
        self.default_tags = tags;
        self
    }

    /// The default tags.
    pub fn default_tags(&self) -> &[Tag] {
        &self.default_tags
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn sdk_tags(&self) -> Option<Vec<aws_sdk_databasemigration::types::Tag>> {
        tags_to_sdk(&self.default_tags)
    }

    /// Describes endpoints matching `filters` (all pages); `ResourceNotFoundFault` → empty.
    async fn describe_endpoints_filtered(
        &self,
        filters: Option<Vec<Filter>>,
        subject: &str,
    ) -> Result<Vec<Endpoint>> {
        const OP: &str = "DescribeEndpoints";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_endpoints()
                .set_filters(filters.clone())
                .max_records(PAGE_SIZE)
                .set_marker(marker.take())
                .send()
                .await;
            let page = match page.map_err(|e| map_sdk_error(OP, subject, e)) {
                Ok(p) => p,
                Err(DmsError::ResourceNotFound(_)) => break,
                Err(e) => return Err(e),
            };
            for e in page.endpoints() {
                out.push(endpoint_from_sdk(OP, e)?);
            }
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The endpoint with this `EndpointIdentifier`, if any.
    pub async fn find_endpoint(&self, identifier: &str) -> Result<Option<Endpoint>> {
        let filters = vec![filter("endpoint-id", [identifier])?];
        let found = self
            .describe_endpoints_filtered(Some(filters), identifier)
            .await?;
        Ok(found.into_iter().find(|e| e.identifier == identifier))
    }

    /// Creates the endpoint unless one with the same identifier exists, in which case that
    /// one is returned when its type and engine match (its settings are not compared or
    /// changed), and `ResourceAlreadyExists` is returned otherwise.
    pub async fn ensure_endpoint(&self, input: CreateEndpoint) -> Result<Endpoint> {
        if let Some(existing) = self.find_endpoint(&input.identifier).await? {
            if existing.endpoint_type == input.endpoint_type
                && existing.engine_name == input.engine_name
            {
                tracing::debug!(endpoint = %existing.arn, "endpoint exists, reused");
                return Ok(existing);
            }
            return Err(DmsError::ResourceAlreadyExists(format!(
                "endpoint {} exists as a {} {} endpoint, not {} {}: delete it or pick another identifier",
                input.identifier,
                existing.engine_name,
                existing.endpoint_type.as_str(),
                input.engine_name,
                input.endpoint_type.as_str()
            )));
        }
        self.create_endpoint(input).await
    }

    /// The task with this `ReplicationTaskIdentifier`, if any.
    pub async fn find_task(&self, identifier: &str) -> Result<Option<ReplicationTask>> {
        let filter = TaskFilter {
            identifiers: vec![identifier.to_owned()],
            ..TaskFilter::default()
        };
        Ok(self
            .describe_tasks(&filter)
            .await?
            .into_iter()
            .find(|t| t.identifier == identifier))
    }

    /// Creates the task unless one with the same identifier exists, in which case that one
    /// is returned when its endpoints, instance and migration type match (mappings and
    /// settings are not compared: DMS rewrites settings), and `ResourceAlreadyExists` is
    /// returned otherwise.
    pub async fn ensure_task(&self, input: CreateTask) -> Result<ReplicationTask> {
        if let Some(existing) = self.find_task(&input.identifier).await? {
            let same = existing.source_endpoint_arn == input.source_endpoint_arn
                && existing.target_endpoint_arn == input.target_endpoint_arn
                && existing.replication_instance_arn == input.replication_instance_arn
                && existing.migration_type == input.migration_type;
            if same {
                tracing::debug!(task = %existing.arn, "replication task exists, reused");
                return Ok(existing);
            }
            return Err(DmsError::ResourceAlreadyExists(format!(
                "replication task {} exists with other endpoints, instance or migration type: delete it (`scenario destroy`) or pick another identifier",
                input.identifier
            )));
        }
        self.create_task(input).await
    }

    /// `ListTagsForResource`: the tags of any DMS resource, sorted by key.
    pub async fn list_tags(&self, arn: &str) -> Result<Vec<Tag>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error("ListTagsForResource", arn, e))?;
        Ok(convert::tags_from_sdk(out.tag_list()))
    }

    /// `AddTagsToResource` (moto does not implement it: tag at creation with
    /// [`with_default_tags`](Self::with_default_tags) instead).
    pub async fn add_tags(&self, arn: &str, tags: &[Tag]) -> Result<()> {
        self.client
            .add_tags_to_resource()
            .resource_arn(arn)
            .set_tags(tags_to_sdk(tags))
            .send()
            .await
            .map_err(|e| map_sdk_error("AddTagsToResource", arn, e))?;
        Ok(())
    }
}

/// A `Filters` entry.
fn filter<I, S>(name: &str, values: I) -> Result<Filter>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
        .map_err(|e| DmsError::Service {
            message: format!("building the DMS filter {name}: {e}"),
            retryable: false,
        })
}

#[async_trait::async_trait]
impl ReplicationService for AwsDms {
    async fn create_endpoint(&self, input: CreateEndpoint) -> Result<Endpoint> {
        const OP: &str = "CreateEndpoint";
        let mut req = self
            .client
            .create_endpoint()
            .endpoint_identifier(&input.identifier)
            .endpoint_type(endpoint_type_to_sdk(input.endpoint_type))
            .engine_name(&input.engine_name)
            .set_tags(self.sdk_tags());
        req = match &input.settings {
            EndpointSettings::MySql(s) => req.my_sql_settings(mysql_to_sdk(s)),
            EndpointSettings::Kinesis(k) => req.kinesis_settings(kinesis_to_sdk(k)),
        };
        // The CreateEndpoint future is large (every engine's settings): keep it on the heap.
        let out = Box::pin(req.send())
            .await
            .map_err(|e| map_sdk_error(OP, &input.identifier, e))?;
        let endpoint = endpoint_from_sdk(
            OP,
            out.endpoint().ok_or_else(|| incomplete(OP, "Endpoint"))?,
        )?;
        tracing::debug!(endpoint = %endpoint.arn, identifier = %endpoint.identifier, "endpoint created");
        Ok(endpoint)
    }

    async fn describe_endpoints(&self, arns: &[String]) -> Result<Vec<Endpoint>> {
        let filters = if arns.is_empty() {
            None
        } else {
            Some(vec![filter("endpoint-arn", arns.iter().cloned())?])
        };
        let subject = if arns.is_empty() {
            "(all)".to_owned()
        } else {
            arns.join(",")
        };
        self.describe_endpoints_filtered(filters, &subject).await
    }

    async fn delete_endpoint(&self, arn: &str) -> Result<Endpoint> {
        const OP: &str = "DeleteEndpoint";
        let out = self
            .client
            .delete_endpoint()
            .endpoint_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, arn, e))?;
        endpoint_from_sdk(
            OP,
            out.endpoint().ok_or_else(|| incomplete(OP, "Endpoint"))?,
        )
    }

    async fn create_task(&self, input: CreateTask) -> Result<ReplicationTask> {
        const OP: &str = "CreateReplicationTask";
        let out = self
            .client
            .create_replication_task()
            .replication_task_identifier(&input.identifier)
            .source_endpoint_arn(&input.source_endpoint_arn)
            .target_endpoint_arn(&input.target_endpoint_arn)
            .replication_instance_arn(&input.replication_instance_arn)
            .migration_type(migration_type_to_sdk(input.migration_type))
            .table_mappings(&input.table_mappings)
            .set_replication_task_settings(input.settings.clone())
            .set_cdc_start_position(input.cdc_start_position.clone())
            .set_cdc_start_time(input.cdc_start_time.map(from_time))
            .set_cdc_stop_position(input.cdc_stop_position.clone())
            .set_resource_identifier(input.resource_identifier.clone())
            .set_tags(self.sdk_tags())
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, &input.identifier, e))?;
        let task = answered_task(OP, out.replication_task())?;
        tracing::debug!(task = %task.arn, identifier = %task.identifier, status = %task.status, "replication task created");
        Ok(task)
    }

    async fn start_task(&self, input: StartTask) -> Result<ReplicationTask> {
        const OP: &str = "StartReplicationTask";
        let out = self
            .client
            .start_replication_task()
            .replication_task_arn(&input.arn)
            .start_replication_task_type(start_type_to_sdk(input.start_type))
            .set_cdc_start_position(input.cdc_start_position.clone())
            .set_cdc_start_time(input.cdc_start_time.map(from_time))
            .set_cdc_stop_position(input.cdc_stop_position.clone())
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, &input.arn, e))?;
        answered_task(OP, out.replication_task())
    }

    async fn stop_task(&self, arn: &str) -> Result<ReplicationTask> {
        const OP: &str = "StopReplicationTask";
        let out = self
            .client
            .stop_replication_task()
            .replication_task_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, arn, e))?;
        answered_task(OP, out.replication_task())
    }

    async fn describe_tasks(&self, filter_in: &TaskFilter) -> Result<Vec<ReplicationTask>> {
        const OP: &str = "DescribeReplicationTasks";
        let mut filters = Vec::new();
        if !filter_in.arns.is_empty() {
            filters.push(filter(
                "replication-task-arn",
                filter_in.arns.iter().cloned(),
            )?);
        }
        if !filter_in.identifiers.is_empty() {
            filters.push(filter(
                "replication-task-id",
                filter_in.identifiers.iter().cloned(),
            )?);
        }
        if !filter_in.migration_types.is_empty() {
            filters.push(filter(
                "migration-type",
                filter_in.migration_types.iter().map(|m| m.as_str()),
            )?);
        }
        if !filter_in.endpoint_arns.is_empty() {
            filters.push(filter(
                "endpoint-arn",
                filter_in.endpoint_arns.iter().cloned(),
            )?);
        }
        let filters = if filters.is_empty() {
            None
        } else {
            Some(filters)
        };
        let subject = if filter_in.arns.len() == 1 {
            filter_in.arns[0].clone()
        } else {
            "(filtered)".to_owned()
        };
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_replication_tasks()
                .set_filters(filters.clone())
                .max_records(PAGE_SIZE)
                .without_settings(false)
                .set_marker(marker.take())
                .send()
                .await;
            let page = match page.map_err(|e| map_sdk_error(OP, &subject, e)) {
                Ok(p) => p,
                Err(DmsError::ResourceNotFound(_)) => break,
                Err(e) => return Err(e),
            };
            for t in page.replication_tasks() {
                let task = task_from_sdk(OP, t)?;
                // Defence in depth: endpoints that ignore a filter must not widen the result.
                if filter_in.matches(&task) {
                    out.push(task);
                }
            }
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn describe_table_statistics(&self, arn: &str) -> Result<Vec<TableStatistics>> {
        const OP: &str = "DescribeTableStatistics";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_table_statistics()
                .replication_task_arn(arn)
                .max_records(TABLE_STATS_PAGE_SIZE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| map_sdk_error(OP, arn, e))?;
            out.extend(page.table_statistics().iter().map(table_stats_from_sdk));
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        out.sort_by(|a, b| (&a.schema_name, &a.table_name).cmp(&(&b.schema_name, &b.table_name)));
        Ok(out)
    }

    async fn delete_task(&self, arn: &str) -> Result<ReplicationTask> {
        const OP: &str = "DeleteReplicationTask";
        let out = self
            .client
            .delete_replication_task()
            .replication_task_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, arn, e))?;
        answered_task(OP, out.replication_task())
    }

    async fn modify_task(&self, input: ModifyTask) -> Result<ReplicationTask> {
        const OP: &str = "ModifyReplicationTask";
        let out = self
            .client
            .modify_replication_task()
            .replication_task_arn(&input.arn)
            .set_replication_task_identifier(input.identifier.clone())
            .set_migration_type(input.migration_type.map(migration_type_to_sdk))
            .set_table_mappings(input.table_mappings.clone())
            .set_replication_task_settings(input.settings.clone())
            .set_cdc_start_position(input.cdc_start_position.clone())
            .set_cdc_start_time(input.cdc_start_time.map(from_time))
            .set_cdc_stop_position(input.cdc_stop_position.clone())
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, &input.arn, e))?;
        answered_task(OP, out.replication_task())
    }

    async fn reload_tables(
        &self,
        arn: &str,
        tables: &[(String, String)],
        option: ReloadOption,
    ) -> Result<()> {
        const OP: &str = "ReloadTables";
        let to_reload = tables
            .iter()
            .map(|(schema, table)| {
                aws_sdk_databasemigration::types::TableToReload::builder()
                    .schema_name(schema)
                    .table_name(table)
                    .build()
                    .map_err(|e| DmsError::InvalidParameterValue(format!("{OP}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        self.client
            .reload_tables()
            .replication_task_arn(arn)
            .set_tables_to_reload(Some(to_reload))
            .reload_option(aws_sdk_databasemigration::types::ReloadOptionValue::from(
                option.as_str(),
            ))
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, arn, e))?;
        Ok(())
    }
}
