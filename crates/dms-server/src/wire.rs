//! The DMS API's JSON shapes (AWS JSON 1.1, member names as in the API model) and their
//! conversion to and from the `dmsrs-tasks` model. Dates are epoch seconds with fractional
//! milliseconds, as DMS sends them.

use crate::fault::Fault;
use dmsrs_codec::MessageFormat;
use dmsrs_tasks::{
    Endpoint, EndpointSettings, EndpointType, KinesisSettings, MigrationType, MySqlSettings,
    ReplicationTask, SecretString, TableStatistics, Tag, TaskStats, TaskStatus, from_epoch_secs,
};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Epoch seconds with millisecond precision.
pub(crate) fn epoch(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
}

/// A date member of a request: epoch seconds (number) or an ISO-8601 / RFC 3339 string, as
/// the AWS SDKs and the CLI send them.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum WireDate {
    Seconds(f64),
    Text(String),
}

impl WireDate {
    pub(crate) fn to_time(&self, member: &str) -> Result<SystemTime, Fault> {
        let bad = || {
            Fault::invalid(format!(
                "{member} must be a date: epoch seconds or an ISO-8601 time such as 2026-11-23T12:00:00Z"
            ))
        };
        match self {
            WireDate::Seconds(s) => from_epoch_secs(*s).ok_or_else(bad),
            WireDate::Text(t) => dmsrs_tasks::parse_timestamp(t).ok_or_else(bad),
        }
    }
}

/// `{"Key", "Value"}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireTag {
    pub key: Option<String>,
    pub value: Option<String>,
}

pub(crate) fn tags_from_wire(tags: &[WireTag]) -> Result<Vec<Tag>, Fault> {
    tags.iter()
        .map(|t| {
            let key = t
                .key
                .clone()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| Fault::invalid("every tag needs a non-empty Key"))?;
            Ok(Tag::new(key, t.value.clone().unwrap_or_default()))
        })
        .collect()
}

pub(crate) fn tags_to_wire(tags: &[Tag]) -> Vec<WireTag> {
    tags.iter()
        .map(|t| WireTag {
            key: Some(t.key.clone()),
            value: Some(t.value.clone()),
        })
        .collect()
}

/// `{"Name", "Values"}` of a Describe* call.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireFilter {
    pub name: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// `MySQLSettings`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireMySql {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Accepted on input, never returned (DMS never returns passwords).
    #[serde(skip_serializing)]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_access_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_poll_interval: Option<i64>,
}

/// `KinesisSettings`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireKinesis {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_access_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_transaction_details: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_partition_value: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_include_schema_table: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_table_alter_operations: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_control_details: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_null_and_empty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_hex_prefix: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_large_integer_value: Option<bool>,
}

impl WireKinesis {
    pub(crate) fn to_model(&self) -> Result<KinesisSettings, Fault> {
        let stream_arn = self
            .stream_arn
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Fault::invalid("KinesisSettings.StreamArn is required for a kinesis endpoint")
            })?;
        let message_format = match self.message_format.as_deref() {
            None | Some("json") => MessageFormat::Json,
            Some("json-unformatted") => MessageFormat::JsonUnformatted,
            Some(other) => {
                return Err(Fault::invalid(format!(
                    "KinesisSettings.MessageFormat {other:?} is not valid: use json or json-unformatted"
                )));
            }
        };
        Ok(KinesisSettings {
            stream_arn,
            message_format,
            service_access_role_arn: self.service_access_role_arn.clone(),
            include_transaction_details: self.include_transaction_details.unwrap_or(false),
            include_partition_value: self.include_partition_value.unwrap_or(false),
            partition_include_schema_table: self.partition_include_schema_table.unwrap_or(false),
            include_table_alter_operations: self.include_table_alter_operations.unwrap_or(false),
            include_control_details: self.include_control_details.unwrap_or(false),
            include_null_and_empty: self.include_null_and_empty.unwrap_or(false),
            no_hex_prefix: self.no_hex_prefix.unwrap_or(false),
            use_large_integer_value: self.use_large_integer_value.unwrap_or(false),
        })
    }

    pub(crate) fn from_model(k: &KinesisSettings) -> Self {
        WireKinesis {
            stream_arn: Some(k.stream_arn.clone()),
            message_format: Some(
                match k.message_format {
                    MessageFormat::JsonUnformatted => "json-unformatted",
                    _ => "json",
                }
                .into(),
            ),
            service_access_role_arn: k.service_access_role_arn.clone(),
            include_transaction_details: Some(k.include_transaction_details),
            include_partition_value: Some(k.include_partition_value),
            partition_include_schema_table: Some(k.partition_include_schema_table),
            include_table_alter_operations: Some(k.include_table_alter_operations),
            include_control_details: Some(k.include_control_details),
            include_null_and_empty: Some(k.include_null_and_empty),
            no_hex_prefix: Some(k.no_hex_prefix),
            use_large_integer_value: Some(k.use_large_integer_value),
        }
    }
}

/// An `Endpoint` as DMS returns it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireEndpoint {
    pub endpoint_identifier: String,
    pub endpoint_type: String,
    pub engine_name: String,
    pub engine_display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_connection_attributes: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub endpoint_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    pub ssl_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_access_role_arn: Option<String>,
    #[serde(rename = "MySQLSettings", skip_serializing_if = "Option::is_none")]
    pub mysql_settings: Option<WireMySql>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kinesis_settings: Option<WireKinesis>,
}

/// Endpoint fields the engine's model does not keep but DMS echoes back.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EndpointExtra {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_connection_attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_access_role_arn: Option<String>,
}

pub(crate) fn engine_display_name(engine: &str) -> &'static str {
    match engine {
        "mysql" => "MySQL",
        "mariadb" => "MariaDB",
        "aurora" => "Amazon Aurora MySQL",
        "kinesis" => "Amazon Kinesis",
        _ => "Unknown",
    }
}

impl WireEndpoint {
    pub(crate) fn from_model(e: &Endpoint, extra: &EndpointExtra) -> Self {
        let mut w = WireEndpoint {
            endpoint_identifier: e.identifier.clone(),
            endpoint_type: e.endpoint_type.as_str().to_ascii_uppercase(),
            engine_name: e.engine_name.clone(),
            engine_display_name: engine_display_name(&e.engine_name).into(),
            status: e.status.clone(),
            endpoint_arn: e.arn.clone(),
            extra_connection_attributes: extra.extra_connection_attributes.clone(),
            kms_key_id: extra.kms_key_id.clone(),
            certificate_arn: extra.certificate_arn.clone(),
            ssl_mode: extra.ssl_mode.clone().unwrap_or_else(|| "none".into()),
            service_access_role_arn: extra.service_access_role_arn.clone(),
            ..Default::default()
        };
        match &e.settings {
            EndpointSettings::MySql(m) => {
                w.username = m.username.clone();
                w.server_name = m.server_name.clone();
                w.port = m.port.map(i64::from);
                w.database_name = m.database_name.clone();
                w.mysql_settings = Some(WireMySql {
                    server_name: m.server_name.clone(),
                    port: m.port.map(i64::from),
                    username: m.username.clone(),
                    password: None,
                    database_name: m.database_name.clone(),
                    secrets_manager_secret_id: m.secrets_manager_secret_id.clone(),
                    secrets_manager_access_role_arn: m.secrets_manager_access_role_arn.clone(),
                    server_timezone: m.server_timezone.clone(),
                    events_poll_interval: m.events_poll_interval.map(i64::from),
                });
            }
            EndpointSettings::Kinesis(k) => {
                w.kinesis_settings = Some(WireKinesis::from_model(k));
            }
        }
        w
    }

    /// Back to the model (for a saved endpoint: `password` comes from the saved state).
    pub(crate) fn to_model(&self, password: Option<SecretString>) -> Result<Endpoint, Fault> {
        let endpoint_type = parse_endpoint_type(&self.endpoint_type)?;
        let settings = match (&self.kinesis_settings, &self.mysql_settings) {
            (Some(k), _) => EndpointSettings::Kinesis(k.to_model()?),
            (None, m) => {
                let m = m.clone().unwrap_or_default();
                EndpointSettings::MySql(MySqlSettings {
                    server_name: m.server_name.or_else(|| self.server_name.clone()),
                    port: port(m.port.or(self.port))?,
                    username: m.username.or_else(|| self.username.clone()),
                    password,
                    database_name: m.database_name.or_else(|| self.database_name.clone()),
                    secrets_manager_secret_id: m.secrets_manager_secret_id,
                    secrets_manager_access_role_arn: m.secrets_manager_access_role_arn,
                    server_timezone: m.server_timezone,
                    events_poll_interval: m
                        .events_poll_interval
                        .and_then(|v| u32::try_from(v).ok()),
                })
            }
        };
        Ok(Endpoint {
            arn: self.endpoint_arn.clone(),
            identifier: self.endpoint_identifier.clone(),
            endpoint_type,
            engine_name: self.engine_name.clone(),
            status: self.status.clone(),
            settings,
        })
    }
}

pub(crate) fn parse_endpoint_type(s: &str) -> Result<EndpointType, Fault> {
    match s.to_ascii_lowercase().as_str() {
        "source" => Ok(EndpointType::Source),
        "target" => Ok(EndpointType::Target),
        _ => Err(Fault::invalid(format!(
            "EndpointType {s:?} is not valid: use source or target"
        ))),
    }
}

pub(crate) fn port(p: Option<i64>) -> Result<Option<u16>, Fault> {
    p.map(|p| {
        u16::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| Fault::invalid(format!("Port {p} is not a valid TCP port (1-65535)")))
    })
    .transpose()
}

/// `ReplicationTaskStats`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireTaskStats {
    pub full_load_progress_percent: i64,
    pub elapsed_time_millis: i64,
    pub tables_loaded: i64,
    pub tables_loading: i64,
    pub tables_queued: i64,
    pub tables_errored: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_start_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_start_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_finish_date: Option<f64>,
}

/// A `ReplicationTask` as DMS returns it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireTask {
    pub replication_task_identifier: String,
    pub source_endpoint_arn: String,
    pub target_endpoint_arn: String,
    pub replication_instance_arn: String,
    pub migration_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_mappings: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_task_settings: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    pub replication_task_creation_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_task_start_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdc_start_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdc_stop_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_checkpoint: Option<String>,
    pub replication_task_arn: String,
    pub replication_task_stats: WireTaskStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_data: Option<String>,
}

fn opt_epoch(t: Option<SystemTime>) -> Option<f64> {
    t.map(epoch)
}

fn opt_time(s: Option<f64>) -> Option<SystemTime> {
    s.and_then(from_epoch_secs)
}

impl WireTask {
    pub(crate) fn from_model(
        t: &ReplicationTask,
        task_data: Option<&str>,
        with_settings: bool,
    ) -> Self {
        let s = &t.stats;
        WireTask {
            replication_task_identifier: t.identifier.clone(),
            source_endpoint_arn: t.source_endpoint_arn.clone(),
            target_endpoint_arn: t.target_endpoint_arn.clone(),
            replication_instance_arn: t.replication_instance_arn.clone(),
            migration_type: t.migration_type.as_str().into(),
            table_mappings: with_settings.then(|| t.table_mappings.clone()),
            replication_task_settings: if with_settings {
                t.settings.clone()
            } else {
                None
            },
            status: t.status.as_str().into(),
            last_failure_message: t.last_failure_message.clone(),
            stop_reason: t.stop_reason.clone(),
            replication_task_creation_date: epoch(t.creation_date),
            replication_task_start_date: opt_epoch(t.start_date),
            cdc_start_position: t.cdc_start_position.clone(),
            cdc_stop_position: t.cdc_stop_position.clone(),
            recovery_checkpoint: t.recovery_checkpoint.clone(),
            replication_task_arn: t.arn.clone(),
            replication_task_stats: WireTaskStats {
                full_load_progress_percent: i64::from(s.full_load_progress_percent),
                elapsed_time_millis: i64::try_from(s.elapsed_time_millis).unwrap_or(i64::MAX),
                tables_loaded: i64::from(s.tables_loaded),
                tables_loading: i64::from(s.tables_loading),
                tables_queued: i64::from(s.tables_queued),
                tables_errored: i64::from(s.tables_errored),
                fresh_start_date: opt_epoch(s.fresh_start_date),
                start_date: opt_epoch(s.start_date),
                stop_date: opt_epoch(s.stop_date),
                full_load_start_date: opt_epoch(s.full_load_start_date),
                full_load_finish_date: opt_epoch(s.full_load_finish_date),
            },
            task_data: task_data.map(str::to_owned),
        }
    }

    pub(crate) fn to_model(&self) -> Result<ReplicationTask, Fault> {
        let s = &self.replication_task_stats;
        let n = |v: i64| u32::try_from(v).unwrap_or(0);
        Ok(ReplicationTask {
            arn: self.replication_task_arn.clone(),
            identifier: self.replication_task_identifier.clone(),
            source_endpoint_arn: self.source_endpoint_arn.clone(),
            target_endpoint_arn: self.target_endpoint_arn.clone(),
            replication_instance_arn: self.replication_instance_arn.clone(),
            migration_type: parse_migration_type(&self.migration_type)?,
            table_mappings: self.table_mappings.clone().unwrap_or_default(),
            settings: self.replication_task_settings.clone(),
            status: TaskStatus::parse(&self.status)
                .ok_or_else(|| Fault::invalid(format!("unknown task status {:?}", self.status)))?,
            stop_reason: self.stop_reason.clone(),
            last_failure_message: self.last_failure_message.clone(),
            creation_date: from_epoch_secs(self.replication_task_creation_date)
                .unwrap_or_else(SystemTime::now),
            start_date: opt_time(self.replication_task_start_date),
            cdc_start_position: self.cdc_start_position.clone(),
            cdc_stop_position: self.cdc_stop_position.clone(),
            recovery_checkpoint: self.recovery_checkpoint.clone(),
            stats: TaskStats {
                full_load_progress_percent: n(s.full_load_progress_percent),
                elapsed_time_millis: u64::try_from(s.elapsed_time_millis).unwrap_or(0),
                tables_loaded: n(s.tables_loaded),
                tables_loading: n(s.tables_loading),
                tables_queued: n(s.tables_queued),
                tables_errored: n(s.tables_errored),
                fresh_start_date: opt_time(s.fresh_start_date),
                start_date: opt_time(s.start_date),
                stop_date: opt_time(s.stop_date),
                full_load_start_date: opt_time(s.full_load_start_date),
                full_load_finish_date: opt_time(s.full_load_finish_date),
            },
        })
    }
}

pub(crate) fn parse_migration_type(s: &str) -> Result<MigrationType, Fault> {
    MigrationType::parse(s).ok_or_else(|| {
        Fault::invalid(format!(
            "MigrationType {s:?} is not valid: use full-load, cdc or full-load-and-cdc"
        ))
    })
}

/// `TableStatistics`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireTableStats {
    pub schema_name: String,
    pub table_name: String,
    pub inserts: i64,
    pub deletes: i64,
    pub updates: i64,
    pub ddls: i64,
    pub applied_inserts: i64,
    pub applied_deletes: i64,
    pub applied_updates: i64,
    pub applied_ddls: i64,
    pub full_load_rows: i64,
    pub full_load_condtnl_chk_failed_rows: i64,
    pub full_load_error_rows: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_start_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_end_time: Option<f64>,
    pub full_load_reloaded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<f64>,
    pub table_state: String,
    pub validation_pending_records: i64,
    pub validation_failed_records: i64,
    pub validation_suspended_records: i64,
    pub validation_state: String,
}

impl WireTableStats {
    pub(crate) fn from_model(s: &TableStatistics) -> Self {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        WireTableStats {
            schema_name: s.schema_name.clone(),
            table_name: s.table_name.clone(),
            inserts: n(s.inserts),
            deletes: n(s.deletes),
            updates: n(s.updates),
            ddls: n(s.ddls),
            // Kinesis has no apply step that can fail: what was written was applied.
            applied_inserts: n(s.inserts),
            applied_deletes: n(s.deletes),
            applied_updates: n(s.updates),
            applied_ddls: n(s.ddls),
            full_load_rows: n(s.full_load_rows),
            full_load_condtnl_chk_failed_rows: n(s.full_load_condtnl_chk_failed_rows),
            full_load_error_rows: n(s.full_load_error_rows),
            full_load_start_time: opt_epoch(s.full_load_start_time),
            full_load_end_time: opt_epoch(s.full_load_end_time),
            full_load_reloaded: s.full_load_reloaded,
            last_update_time: opt_epoch(s.last_update_time),
            table_state: s.table_state.clone(),
            validation_pending_records: 0,
            validation_failed_records: 0,
            validation_suspended_records: 0,
            validation_state: if s.validation_state.is_empty() {
                "Not enabled".into()
            } else {
                s.validation_state.clone()
            },
        }
    }

    pub(crate) fn to_model(&self) -> TableStatistics {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        TableStatistics {
            schema_name: self.schema_name.clone(),
            table_name: self.table_name.clone(),
            inserts: n(self.inserts),
            deletes: n(self.deletes),
            updates: n(self.updates),
            ddls: n(self.ddls),
            full_load_rows: n(self.full_load_rows),
            full_load_error_rows: n(self.full_load_error_rows),
            full_load_condtnl_chk_failed_rows: n(self.full_load_condtnl_chk_failed_rows),
            full_load_start_time: opt_time(self.full_load_start_time),
            full_load_end_time: opt_time(self.full_load_end_time),
            full_load_reloaded: self.full_load_reloaded,
            last_update_time: opt_time(self.last_update_time),
            table_state: self.table_state.clone(),
            validation_state: self.validation_state.clone(),
        }
    }
}

/// `ReplicationSubnetGroup`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireSubnetGroup {
    pub replication_subnet_group_identifier: String,
    pub replication_subnet_group_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    pub subnet_group_status: String,
    pub subnets: Vec<WireSubnet>,
    #[serde(default)]
    pub supported_network_types: Vec<String>,
}

/// One subnet of a subnet group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireSubnet {
    pub subnet_identifier: String,
    pub subnet_availability_zone: WireAz,
    pub subnet_status: String,
}

/// `{"Name": ...}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireAz {
    pub name: String,
}

/// `VpcSecurityGroupMembership`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireSgMembership {
    pub vpc_security_group_id: String,
    pub status: String,
}

/// `ReplicationInstance`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireInstance {
    pub replication_instance_identifier: String,
    pub replication_instance_class: String,
    pub replication_instance_status: String,
    pub allocated_storage: i64,
    pub instance_create_time: f64,
    #[serde(default)]
    pub vpc_security_groups: Vec<WireSgMembership>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_subnet_group: Option<WireSubnetGroup>,
    pub preferred_maintenance_window: String,
    pub multi_a_z: bool,
    pub engine_version: String,
    pub auto_minor_version_upgrade: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub replication_instance_arn: String,
    #[serde(default)]
    pub replication_instance_public_ip_addresses: Vec<String>,
    #[serde(default)]
    pub replication_instance_private_ip_addresses: Vec<String>,
    pub publicly_accessible: bool,
    pub network_type: String,
}

/// `Connection`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireConnection {
    pub replication_instance_arn: String,
    pub endpoint_arn: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_message: Option<String>,
    pub endpoint_identifier: String,
    pub replication_instance_identifier: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn iso_dates_parse_in_utc_and_with_offsets() {
        let t = |s: &str| dmsrs_tasks::parse_timestamp(s).map(epoch);
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(t("2018-02-09T12:12:12"), Some(1_518_178_332.0));
        assert_eq!(t("2018-02-09T12:12:12.5Z"), Some(1_518_178_332.5));
        assert_eq!(t("2018-02-09T13:12:12+01:00"), Some(1_518_178_332.0));
        assert_eq!(t("1518178332"), Some(1_518_178_332.0));
        assert_eq!(t("2018-13-09T12:12:12"), None);
        assert_eq!(t("yesterday"), None);
        assert_eq!(t("9999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(from_epoch_secs(1e300), None);
        assert_eq!(from_epoch_secs(-1.0), None);
        assert_eq!(from_epoch_secs(f64::NAN), None);
    }

    #[test]
    fn tasks_round_trip_through_the_wire_shape() {
        let task = ReplicationTask {
            arn: "arn:aws:dms:us-east-1:000000000000:task:ABC".into(),
            identifier: "t1".into(),
            source_endpoint_arn: "s".into(),
            target_endpoint_arn: "t".into(),
            replication_instance_arn: "i".into(),
            migration_type: MigrationType::Cdc,
            table_mappings: "{}".into(),
            settings: Some("{}".into()),
            status: TaskStatus::Stopped,
            stop_reason: Some("Stop Reason NORMAL".into()),
            last_failure_message: None,
            creation_date: UNIX_EPOCH + Duration::from_millis(1_590_524_772_505),
            start_date: None,
            cdc_start_position: Some("mysql-bin.000001:4".into()),
            cdc_stop_position: None,
            recovery_checkpoint: Some(
                "checkpoint:V1#1#mysql-bin.000001:400:-1:400:0#0#0#*#0#0".into(),
            ),
            stats: TaskStats {
                tables_loaded: 2,
                full_load_progress_percent: 100,
                ..Default::default()
            },
        };
        let wire = WireTask::from_model(&task, None, true);
        let json = serde_json::to_value(&wire).unwrap();
        assert_eq!(
            json["ReplicationTaskCreationDate"],
            serde_json::json!(1_590_524_772.505)
        );
        assert_eq!(json["Status"], "stopped");
        let back: WireTask = serde_json::from_value(json).unwrap();
        assert_eq!(back.to_model().unwrap(), task);
    }
}
