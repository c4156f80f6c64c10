//! Conversions between the SDK's shapes and [`crate::model`].

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_databasemigration::primitives::DateTime;
use aws_sdk_databasemigration::types as sdk;

use super::error::incomplete;
use crate::model::{
    Endpoint, EndpointSettings, EndpointType, KinesisSettings, MigrationType, MySqlSettings,
    ReplicationTask, SecretString, StartType, TableStatistics, TaskStats, TaskStatus,
};
use crate::{DmsError, Result, Tag};

/// SDK time to `SystemTime` (`None` when absent or out of range).
pub(crate) fn to_time(t: Option<&DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

/// `SystemTime` to SDK time.
pub(crate) fn from_time(t: SystemTime) -> DateTime {
    DateTime::from(t)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn small(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

pub(crate) fn migration_type_to_sdk(m: MigrationType) -> sdk::MigrationTypeValue {
    sdk::MigrationTypeValue::from(m.as_str())
}

pub(crate) fn start_type_to_sdk(s: StartType) -> sdk::StartReplicationTaskTypeValue {
    sdk::StartReplicationTaskTypeValue::from(s.as_str())
}

pub(crate) fn endpoint_type_to_sdk(t: EndpointType) -> sdk::ReplicationEndpointTypeValue {
    sdk::ReplicationEndpointTypeValue::from(t.as_str())
}

pub(crate) fn tags_to_sdk(tags: &[Tag]) -> Option<Vec<sdk::Tag>> {
    if tags.is_empty() {
        return None;
    }
    Some(
        tags.iter()
            .map(|t| sdk::Tag::builder().key(&t.key).value(&t.value).build())
            .collect(),
    )
}

pub(crate) fn tags_from_sdk(tags: &[sdk::Tag]) -> Vec<Tag> {
    let mut out: Vec<Tag> = tags
        .iter()
        .map(|t| Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    out.sort();
    out
}

/// `MySqlSettings` for CreateEndpoint: every field of the model that is set.
pub(crate) fn mysql_to_sdk(s: &MySqlSettings) -> sdk::MySqlSettings {
    sdk::MySqlSettings::builder()
        .set_server_name(s.server_name.clone())
        .set_port(s.port.map(i32::from))
        .set_username(s.username.clone())
        .set_password(s.password.as_ref().map(|p| p.expose().to_owned()))
        .set_database_name(s.database_name.clone())
        .set_secrets_manager_secret_id(s.secrets_manager_secret_id.clone())
        .set_secrets_manager_access_role_arn(s.secrets_manager_access_role_arn.clone())
        .set_server_timezone(s.server_timezone.clone())
        .set_events_poll_interval(
            s.events_poll_interval
                .map(|v| i32::try_from(v).unwrap_or(i32::MAX)),
        )
        .build()
}

/// `KinesisSettings` for CreateEndpoint: every field, booleans always sent.
pub(crate) fn kinesis_to_sdk(k: &KinesisSettings) -> sdk::KinesisSettings {
    sdk::KinesisSettings::builder()
        .stream_arn(&k.stream_arn)
        .message_format(sdk::MessageFormatValue::from(k.message_format.as_str()))
        .set_service_access_role_arn(k.service_access_role_arn.clone())
        .include_transaction_details(k.include_transaction_details)
        .include_partition_value(k.include_partition_value)
        .partition_include_schema_table(k.partition_include_schema_table)
        .include_table_alter_operations(k.include_table_alter_operations)
        .include_control_details(k.include_control_details)
        .include_null_and_empty(k.include_null_and_empty)
        .no_hex_prefix(k.no_hex_prefix)
        .use_large_integer_value(k.use_large_integer_value)
        .build()
}

fn kinesis_from_sdk(k: &sdk::KinesisSettings) -> KinesisSettings {
    KinesisSettings {
        stream_arn: k.stream_arn().unwrap_or_default().to_owned(),
        message_format: k
            .message_format()
            .and_then(|f| dmsrs_codec::MessageFormat::parse(f.as_str()))
            .unwrap_or_default(),
        service_access_role_arn: k.service_access_role_arn().map(str::to_owned),
        include_transaction_details: k.include_transaction_details().unwrap_or(false),
        include_partition_value: k.include_partition_value().unwrap_or(false),
        partition_include_schema_table: k.partition_include_schema_table().unwrap_or(false),
        include_table_alter_operations: k.include_table_alter_operations().unwrap_or(false),
        include_control_details: k.include_control_details().unwrap_or(false),
        include_null_and_empty: k.include_null_and_empty().unwrap_or(false),
        no_hex_prefix: k.no_hex_prefix().unwrap_or(false),
        use_large_integer_value: k.use_large_integer_value().unwrap_or(false),
    }
}

/// `MySqlSettings` of a described endpoint, completed from the endpoint's top-level
/// connection fields. DMS never returns passwords.
fn mysql_from_sdk(e: &sdk::Endpoint) -> MySqlSettings {
    let m = e.my_sql_settings();
    let port = m
        .and_then(|m| m.port())
        .or(e.port())
        .and_then(|p| u16::try_from(p).ok());
    MySqlSettings {
        server_name: m
            .and_then(|m| m.server_name())
            .or(e.server_name())
            .map(str::to_owned),
        port,
        username: m
            .and_then(|m| m.username())
            .or(e.username())
            .map(str::to_owned),
        password: m.and_then(|m| m.password()).map(SecretString::new),
        database_name: m
            .and_then(|m| m.database_name())
            .or(e.database_name())
            .map(str::to_owned),
        secrets_manager_secret_id: m
            .and_then(|m| m.secrets_manager_secret_id())
            .map(str::to_owned),
        secrets_manager_access_role_arn: m
            .and_then(|m| m.secrets_manager_access_role_arn())
            .map(str::to_owned),
        server_timezone: m.and_then(|m| m.server_timezone()).map(str::to_owned),
        events_poll_interval: m
            .and_then(|m| m.events_poll_interval())
            .and_then(|v| u32::try_from(v).ok()),
    }
}

/// A described endpoint. Kinesis settings when the engine is `kinesis` or the endpoint has
/// them, MySQL settings otherwise.
pub(crate) fn endpoint_from_sdk(op: &str, e: &sdk::Endpoint) -> Result<Endpoint> {
    let arn = e
        .endpoint_arn()
        .ok_or_else(|| incomplete(op, "EndpointArn"))?;
    let endpoint_type = match e
        .endpoint_type()
        .map(|t| t.as_str().to_ascii_lowercase())
        .as_deref()
    {
        Some("source") => EndpointType::Source,
        Some("target") => EndpointType::Target,
        other => {
            return Err(DmsError::Service {
                message: format!("DMS {op}: endpoint {arn} has an unknown EndpointType {other:?}"),
                retryable: false,
            });
        }
    };
    let engine_name = e.engine_name().unwrap_or_default().to_owned();
    let settings = match e.kinesis_settings() {
        Some(k) => EndpointSettings::Kinesis(kinesis_from_sdk(k)),
        None if engine_name == "kinesis" => EndpointSettings::Kinesis(KinesisSettings::default()),
        None => EndpointSettings::MySql(mysql_from_sdk(e)),
    };
    Ok(Endpoint {
        arn: arn.to_owned(),
        identifier: e.endpoint_identifier().unwrap_or_default().to_owned(),
        endpoint_type,
        engine_name,
        status: e.status().unwrap_or_default().to_owned(),
        settings,
    })
}

fn stats_from_sdk(s: Option<&sdk::ReplicationTaskStats>) -> TaskStats {
    let Some(s) = s else {
        return TaskStats::default();
    };
    TaskStats {
        full_load_progress_percent: small(s.full_load_progress_percent()),
        elapsed_time_millis: count(s.elapsed_time_millis()),
        tables_loaded: small(s.tables_loaded()),
        tables_loading: small(s.tables_loading()),
        tables_queued: small(s.tables_queued()),
        tables_errored: small(s.tables_errored()),
        fresh_start_date: to_time(s.fresh_start_date()),
        start_date: to_time(s.start_date()),
        stop_date: to_time(s.stop_date()),
        full_load_start_date: to_time(s.full_load_start_date()),
        full_load_finish_date: to_time(s.full_load_finish_date()),
    }
}

/// A described task. A missing creation date becomes the epoch; an unknown status or
/// migration type is an error naming it.
/// The `ReplicationTask` member of an operation's answer (`incomplete` when it is missing).
pub(crate) fn answered_task(op: &str, t: Option<&sdk::ReplicationTask>) -> Result<ReplicationTask> {
    task_from_sdk(op, t.ok_or_else(|| incomplete(op, "ReplicationTask"))?)
}

pub(crate) fn task_from_sdk(op: &str, t: &sdk::ReplicationTask) -> Result<ReplicationTask> {
    let arn = t
        .replication_task_arn()
        .ok_or_else(|| incomplete(op, "ReplicationTaskArn"))?;
    let unknown = |field: &str, value: &str| DmsError::Service {
        message: format!(
            "DMS {op}: task {arn} has {field} {value:?}, which this version does not know: upgrade dmsrs"
        ),
        retryable: false,
    };
    let status_text = t.status().unwrap_or_default();
    let status = TaskStatus::parse(status_text).ok_or_else(|| unknown("Status", status_text))?;
    let mt_text = t.migration_type().map(|m| m.as_str()).unwrap_or_default();
    let migration_type =
        MigrationType::parse(mt_text).ok_or_else(|| unknown("MigrationType", mt_text))?;
    Ok(ReplicationTask {
        arn: arn.to_owned(),
        identifier: t
            .replication_task_identifier()
            .unwrap_or_default()
            .to_owned(),
        source_endpoint_arn: t.source_endpoint_arn().unwrap_or_default().to_owned(),
        target_endpoint_arn: t.target_endpoint_arn().unwrap_or_default().to_owned(),
        replication_instance_arn: t.replication_instance_arn().unwrap_or_default().to_owned(),
        migration_type,
        table_mappings: t.table_mappings().unwrap_or_default().to_owned(),
        settings: t.replication_task_settings().map(str::to_owned),
        status,
        stop_reason: t.stop_reason().map(str::to_owned),
        last_failure_message: t.last_failure_message().map(str::to_owned),
        creation_date: to_time(t.replication_task_creation_date()).unwrap_or(UNIX_EPOCH),
        start_date: to_time(t.replication_task_start_date()),
        cdc_start_position: t.cdc_start_position().map(str::to_owned),
        cdc_stop_position: t.cdc_stop_position().map(str::to_owned),
        recovery_checkpoint: t.recovery_checkpoint().map(str::to_owned),
        stats: stats_from_sdk(t.replication_task_stats()),
    })
}

/// One table's statistics.
pub(crate) fn table_stats_from_sdk(s: &sdk::TableStatistics) -> TableStatistics {
    TableStatistics {
        schema_name: s.schema_name().unwrap_or_default().to_owned(),
        table_name: s.table_name().unwrap_or_default().to_owned(),
        inserts: count(s.inserts()),
        deletes: count(s.deletes()),
        updates: count(s.updates()),
        ddls: count(s.ddls()),
        full_load_rows: count(s.full_load_rows()),
        full_load_error_rows: count(s.full_load_error_rows()),
        full_load_condtnl_chk_failed_rows: count(s.full_load_condtnl_chk_failed_rows()),
        full_load_start_time: to_time(s.full_load_start_time()),
        full_load_end_time: to_time(s.full_load_end_time()),
        full_load_reloaded: s.full_load_reloaded().unwrap_or(false),
        last_update_time: to_time(s.last_update_time()),
        table_state: s.table_state().unwrap_or_default().to_owned(),
        validation_state: s.validation_state().unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_round_trip() {
        let t = UNIX_EPOCH + Duration::from_millis(1_590_524_772_505);
        assert_eq!(to_time(Some(&from_time(t))), Some(t));
        assert_eq!(
            to_time(Some(&DateTime::from_secs_f64(1_590_524_772.505)))
                .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_millis()),
            Some(1_590_524_772_505)
        );
        assert_eq!(to_time(None), None);
    }

    #[test]
    fn enums_on_the_wire() {
        assert_eq!(
            migration_type_to_sdk(MigrationType::FullLoad),
            sdk::MigrationTypeValue::FullLoad
        );
        assert_eq!(
            migration_type_to_sdk(MigrationType::FullLoadAndCdc),
            sdk::MigrationTypeValue::FullLoadAndCdc
        );
        assert_eq!(
            start_type_to_sdk(StartType::ReloadTarget),
            sdk::StartReplicationTaskTypeValue::ReloadTarget
        );
        assert_eq!(
            endpoint_type_to_sdk(EndpointType::Target),
            sdk::ReplicationEndpointTypeValue::Target
        );
    }

    #[test]
    fn task_with_unknown_status_is_an_error() {
        let t = sdk::ReplicationTask::builder()
            .replication_task_arn("arn:aws:dms:us-east-1:1:task:X")
            .status("warp-speed")
            .migration_type(sdk::MigrationTypeValue::Cdc)
            .build();
        let e = task_from_sdk("DescribeReplicationTasks", &t).unwrap_err();
        assert!(e.to_string().contains("warp-speed"), "{e}");
        let t = sdk::ReplicationTask::builder().status("running").build();
        assert!(
            task_from_sdk("X", &t)
                .unwrap_err()
                .to_string()
                .contains("ReplicationTaskArn")
        );
    }
}
