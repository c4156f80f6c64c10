//! The DMS control-plane data model, as the scenario uses it: endpoints, replication tasks,
//! task statistics and table statistics. Field names follow the DMS API so the AWS client
//! (`dmsrs-tasks`) and the embedded engine return the same shapes.

use std::fmt;
use std::time::SystemTime;

pub use dmsrs_secrets::{SecretString, Tag};

/// `source` or `target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointType {
    /// Where data is read.
    Source,
    /// Where records are written.
    Target,
}

impl EndpointType {
    /// API text.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Source => "source",
            EndpointType::Target => "target",
        }
    }
}

/// `MySqlSettings` of a MySQL/MariaDB source endpoint: either connection fields or a
/// Secrets Manager secret of the DMS shape `{host, port, username, password, dbname}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MySqlSettings {
    /// Host name or address.
    pub server_name: Option<String>,
    /// TCP port (default 3306).
    pub port: Option<u16>,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<SecretString>,
    /// Default database.
    pub database_name: Option<String>,
    /// `SecretsManagerSecretId`: ARN or name of a secret holding the connection.
    pub secrets_manager_secret_id: Option<String>,
    /// `SecretsManagerAccessRoleArn` (used by AWS; ignored by the embedded engine).
    pub secrets_manager_access_role_arn: Option<String>,
    /// `ServerTimezone` (informational).
    pub server_timezone: Option<String>,
    /// `EventsPollInterval` in seconds (the embedded engine streams and does not poll).
    pub events_poll_interval: Option<u32>,
}

/// `KinesisSettings` of a Kinesis target endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KinesisSettings {
    /// Stream ARN (or, for the embedded engine, a stream name).
    pub stream_arn: String,
    /// `json` (default) or `json-unformatted`.
    pub message_format: dmsrs_codec::MessageFormat,
    /// IAM role DMS assumes to write (AWS only).
    pub service_access_role_arn: Option<String>,
    /// Add transaction metadata to CDC records.
    pub include_transaction_details: bool,
    /// Add `partition-key-value` unless the type is schema-table.
    pub include_partition_value: bool,
    /// Prefix primary-key partition values with `schema.table.`.
    pub partition_include_schema_table: bool,
    /// Emit control records for ALTER/DROP/RENAME.
    pub include_table_alter_operations: bool,
    /// Add `control.table-def` to control records.
    pub include_control_details: bool,
    /// Write NULL columns as `null` instead of omitting them.
    pub include_null_and_empty: bool,
    /// Binary values without the `0x` prefix.
    pub no_hex_prefix: bool,
    /// Integers up to 18 digits stay integers.
    pub use_large_integer_value: bool,
}

impl KinesisSettings {
    /// The value rendering options these settings imply.
    pub fn render_options(&self) -> dmsrs_codec::RenderOptions {
        dmsrs_codec::RenderOptions {
            no_hex_prefix: self.no_hex_prefix,
            use_large_integer_value: self.use_large_integer_value,
        }
    }
}

/// Engine-specific endpoint settings.
#[derive(Clone, Debug, PartialEq)]
pub enum EndpointSettings {
    /// `mysql`, `mariadb`, `aurora` sources.
    MySql(MySqlSettings),
    /// `kinesis` targets.
    Kinesis(KinesisSettings),
}

/// `CreateEndpoint` input.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateEndpoint {
    /// `EndpointIdentifier`.
    pub identifier: String,
    /// Source or target.
    pub endpoint_type: EndpointType,
    /// `EngineName`: `mysql`, `mariadb`, `aurora`, `kinesis`.
    pub engine_name: String,
    /// Settings for that engine.
    pub settings: EndpointSettings,
}

/// A created endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// `EndpointArn`.
    pub arn: String,
    /// `EndpointIdentifier`.
    pub identifier: String,
    /// Source or target.
    pub endpoint_type: EndpointType,
    /// `EngineName`.
    pub engine_name: String,
    /// `Status` (`active`).
    pub status: String,
    /// Settings.
    pub settings: EndpointSettings,
}

/// `MigrationType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MigrationType {
    /// Copy existing rows, then stop.
    FullLoad,
    /// Replicate changes only.
    Cdc,
    /// Copy existing rows, then replicate changes from the position taken before the copy.
    FullLoadAndCdc,
}

impl MigrationType {
    /// API text.
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationType::FullLoad => "full-load",
            MigrationType::Cdc => "cdc",
            MigrationType::FullLoadAndCdc => "full-load-and-cdc",
        }
    }

    /// Parses the API text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full-load" => Some(MigrationType::FullLoad),
            "cdc" => Some(MigrationType::Cdc),
            "full-load-and-cdc" => Some(MigrationType::FullLoadAndCdc),
            _ => None,
        }
    }

    /// True when the task copies existing rows.
    pub fn has_full_load(self) -> bool {
        matches!(
            self,
            MigrationType::FullLoad | MigrationType::FullLoadAndCdc
        )
    }

    /// True when the task replicates changes.
    pub fn has_cdc(self) -> bool {
        matches!(self, MigrationType::Cdc | MigrationType::FullLoadAndCdc)
    }
}

/// `StartReplicationTaskType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StartType {
    /// First start (or a restart from scratch of a full-load task).
    StartReplication,
    /// Continue: CDC from the last checkpoint; full load reloads unfinished tables.
    ResumeProcessing,
    /// Reload every table and restart capture.
    ReloadTarget,
}

impl StartType {
    /// API text.
    pub fn as_str(self) -> &'static str {
        match self {
            StartType::StartReplication => "start-replication",
            StartType::ResumeProcessing => "resume-processing",
            StartType::ReloadTarget => "reload-target",
        }
    }

    /// Parses the API text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "start-replication" => Some(StartType::StartReplication),
            "resume-processing" => Some(StartType::ResumeProcessing),
            "reload-target" => Some(StartType::ReloadTarget),
            _ => None,
        }
    }
}

/// `CreateReplicationTask` input.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateTask {
    /// `ReplicationTaskIdentifier`.
    pub identifier: String,
    /// Source endpoint ARN.
    pub source_endpoint_arn: String,
    /// Target endpoint ARN.
    pub target_endpoint_arn: String,
    /// Replication instance ARN (informational for the embedded engine).
    pub replication_instance_arn: String,
    /// Migration type.
    pub migration_type: MigrationType,
    /// `TableMappings` JSON.
    pub table_mappings: String,
    /// `ReplicationTaskSettings` JSON.
    pub settings: Option<String>,
    /// `CdcStartPosition`.
    pub cdc_start_position: Option<String>,
    /// `CdcStartTime`.
    pub cdc_start_time: Option<SystemTime>,
    /// `CdcStopPosition`.
    pub cdc_stop_position: Option<String>,
    /// `ResourceIdentifier`: the ARN suffix (else generated).
    pub resource_identifier: Option<String>,
}

/// `ModifyReplicationTask` input: every `Some` field replaces the task's value. The task
/// must be stopped (or ready, or failed); endpoints and the instance cannot change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModifyTask {
    /// Task ARN.
    pub arn: String,
    /// New `ReplicationTaskIdentifier`.
    pub identifier: Option<String>,
    /// New migration type.
    pub migration_type: Option<MigrationType>,
    /// New `TableMappings` JSON.
    pub table_mappings: Option<String>,
    /// New `ReplicationTaskSettings` JSON.
    pub settings: Option<String>,
    /// New `CdcStartPosition`.
    pub cdc_start_position: Option<String>,
    /// New `CdcStartTime`.
    pub cdc_start_time: Option<SystemTime>,
    /// New `CdcStopPosition`.
    pub cdc_stop_position: Option<String>,
}

/// `ReloadTables` `ReloadOption`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReloadOption {
    /// Load the tables again (the default).
    #[default]
    DataReload,
    /// Validate only (needs data validation, which Kinesis targets lack).
    ValidateOnly,
}

impl ReloadOption {
    /// API text.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadOption::DataReload => "data-reload",
            ReloadOption::ValidateOnly => "validate-only",
        }
    }

    /// Parses the API text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "data-reload" => Some(ReloadOption::DataReload),
            "validate-only" => Some(ReloadOption::ValidateOnly),
            _ => None,
        }
    }
}

/// `StartReplicationTask` input.
#[derive(Clone, Debug, PartialEq)]
pub struct StartTask {
    /// Task ARN.
    pub arn: String,
    /// How to start.
    pub start_type: StartType,
    /// `CdcStartPosition` override.
    pub cdc_start_position: Option<String>,
    /// `CdcStartTime` override.
    pub cdc_start_time: Option<SystemTime>,
    /// `CdcStopPosition` override.
    pub cdc_stop_position: Option<String>,
}

impl StartTask {
    /// A plain start of the given type.
    pub fn new(arn: impl Into<String>, start_type: StartType) -> Self {
        StartTask {
            arn: arn.into(),
            start_type,
            cdc_start_position: None,
            cdc_start_time: None,
            cdc_stop_position: None,
        }
    }
}

/// Task `Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Being created.
    Creating,
    /// Created, never started.
    Ready,
    /// Start requested.
    Starting,
    /// Loading or replicating.
    Running,
    /// Stop requested.
    Stopping,
    /// Stopped (by request or, for full load, when done).
    Stopped,
    /// Failed; see `LastFailureMessage`.
    Failed,
    /// Being deleted.
    Deleting,
    /// Being modified.
    Modifying,
    /// Running an assessment.
    Testing,
    /// Being moved.
    Moving,
    /// Move failed.
    FailedMove,
}

impl TaskStatus {
    /// API text (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Creating => "creating",
            TaskStatus::Ready => "ready",
            TaskStatus::Starting => "starting",
            TaskStatus::Running => "running",
            TaskStatus::Stopping => "stopping",
            TaskStatus::Stopped => "stopped",
            TaskStatus::Failed => "failed",
            TaskStatus::Deleting => "deleting",
            TaskStatus::Modifying => "modifying",
            TaskStatus::Testing => "testing",
            TaskStatus::Moving => "moving",
            TaskStatus::FailedMove => "failed-move",
        }
    }

    /// Parses the API text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "creating" => TaskStatus::Creating,
            "ready" => TaskStatus::Ready,
            "starting" => TaskStatus::Starting,
            "running" => TaskStatus::Running,
            "stopping" => TaskStatus::Stopping,
            "stopped" => TaskStatus::Stopped,
            "failed" => TaskStatus::Failed,
            "deleting" => TaskStatus::Deleting,
            "modifying" => TaskStatus::Modifying,
            "testing" => TaskStatus::Testing,
            "moving" => TaskStatus::Moving,
            "failed-move" => TaskStatus::FailedMove,
            _ => return None,
        })
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `StopReason` values used by the engine.
pub mod stop_reason {
    /// Stopped by `StopReplicationTask`.
    pub const NORMAL: &str = "Stop Reason NORMAL";
    /// A full-load-only task finished.
    pub const FULL_LOAD_ONLY_FINISHED: &str = "Stop Reason FULL_LOAD_ONLY_FINISHED";
    /// A fatal error stopped the task.
    pub const FATAL_ERROR: &str = "Stop Reason FATAL_ERROR";
    /// A recoverable error stopped the task.
    pub const RECOVERABLE_ERROR: &str = "Stop Reason RECOVERABLE_ERROR";
    /// `CdcStopPosition` with `server_time:` reached.
    pub const STOPPED_AT_SERVER_TIME: &str = "Stop Reason STOPPED_AT_SERVER_TIME";
    /// `CdcStopPosition` with `commit_time:` reached.
    pub const STOPPED_AT_COMMIT_TIME: &str = "Stop Reason STOPPED_AT_COMMIT_TIME";
}

/// `ReplicationTaskStats`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskStats {
    /// Percentage of tables fully loaded.
    pub full_load_progress_percent: u32,
    /// Milliseconds since the task started.
    pub elapsed_time_millis: u64,
    /// Tables loaded.
    pub tables_loaded: u32,
    /// Tables loading now.
    pub tables_loading: u32,
    /// Tables waiting to load.
    pub tables_queued: u32,
    /// Tables in error.
    pub tables_errored: u32,
    /// First start ever.
    pub fresh_start_date: Option<SystemTime>,
    /// Last start.
    pub start_date: Option<SystemTime>,
    /// Last stop.
    pub stop_date: Option<SystemTime>,
    /// Full load start.
    pub full_load_start_date: Option<SystemTime>,
    /// Full load end.
    pub full_load_finish_date: Option<SystemTime>,
}

/// A replication task as `DescribeReplicationTasks` returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationTask {
    /// `ReplicationTaskArn`.
    pub arn: String,
    /// `ReplicationTaskIdentifier`.
    pub identifier: String,
    /// Source endpoint ARN.
    pub source_endpoint_arn: String,
    /// Target endpoint ARN.
    pub target_endpoint_arn: String,
    /// Replication instance ARN.
    pub replication_instance_arn: String,
    /// Migration type.
    pub migration_type: MigrationType,
    /// `TableMappings` JSON as given.
    pub table_mappings: String,
    /// `ReplicationTaskSettings` JSON as given.
    pub settings: Option<String>,
    /// Status.
    pub status: TaskStatus,
    /// `StopReason`.
    pub stop_reason: Option<String>,
    /// `LastFailureMessage`.
    pub last_failure_message: Option<String>,
    /// `ReplicationTaskCreationDate`.
    pub creation_date: SystemTime,
    /// `ReplicationTaskStartDate`.
    pub start_date: Option<SystemTime>,
    /// `CdcStartPosition`.
    pub cdc_start_position: Option<String>,
    /// `CdcStopPosition`.
    pub cdc_stop_position: Option<String>,
    /// `RecoveryCheckpoint`: feed back as `CdcStartPosition` to resume here.
    pub recovery_checkpoint: Option<String>,
    /// `ReplicationTaskStats`.
    pub stats: TaskStats,
}

impl ReplicationTask {
    /// The resource id: the last segment of the ARN (DMS's `TaskId` in partition keys).
    pub fn resource_id(&self) -> &str {
        resource_id(&self.arn)
    }
}

/// The binlog (file, position) of a MySQL/MariaDB `CdcStartPosition` or `RecoveryCheckpoint`:
/// the native `file:position` form (`mysql-bin-changelog.000024:373`) or a
/// `checkpoint:V1#n#file:pos:...` string. `None` when it is neither.
pub fn binlog_file_position(s: &str) -> Option<(String, u64)> {
    let s = s.trim();
    let native = match s.strip_prefix("checkpoint:") {
        Some(rest) => rest.split('#').nth(2)?,
        None => s,
    };
    let mut parts = native.split(':');
    let file = parts.next().filter(|f| !f.is_empty())?;
    let pos = parts.next()?.parse::<u64>().ok()?;
    Some((file.to_owned(), pos))
}

/// DMS identifier rules (`ReplicationTaskIdentifier`, `EndpointIdentifier`,
/// `ReplicationInstanceIdentifier`, `ResourceIdentifier`): 1-255 letters, digits and hyphens,
/// starting with a letter, with no trailing or double hyphen. `what` names the member in the
/// error.
pub fn validate_identifier(what: &str, id: &str) -> Result<(), crate::DmsError> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err(crate::DmsError::InvalidParameterValue(format!(
            "{what} {id:?} is not valid: use 1-255 letters, digits and hyphens, starting with a letter, \
             with no trailing or double hyphen"
        )))
    }
}

/// A DMS date-time: `YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]` (a space may replace the
/// `T`; no zone means UTC, as in DMS's `CdcStopPosition` examples) or epoch seconds.
/// `None` for anything else, including impossible dates and years outside 1970-9999.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return from_epoch_secs(n);
    }
    let (date, rest) = s.split_once(['T', ' '])?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if d.next().is_some() || !(1970..=9999).contains(&y) {
        return None;
    }
    let (time, offset_secs) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0i64)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|i| *i >= 5) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
        if oh > 23 || om > 59 {
            return None;
        }
        (t, sign * (oh * 3600 + om * 60))
    } else {
        (rest, 0)
    };
    let mut t = time.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || !(0.0..61.0).contains(&sec)
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 - offset_secs;
    from_epoch_secs(secs as f64 + sec)
}

/// Epoch seconds (to the millisecond) as a date; `None` when negative, not finite or after
/// the year 9999.
pub fn from_epoch_secs(s: f64) -> Option<SystemTime> {
    const MAX: f64 = 253_402_300_799.0;
    if !(s.is_finite() && (0.0..=MAX).contains(&s)) {
        return None;
    }
    let millis = (s * 1000.0).round() as u64;
    SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(millis))
}

/// A new resource id like DMS's: 26 upper-case base32 characters
/// (`K55IUCGBASJS5VHZJIINA45FII`), the last part of task, endpoint and instance ARNs.
/// Unique within the process (a counter) and random across processes.
pub fn new_resource_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut bits: u128 = 0;
    for salt in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.write_u128(now);
        bits = (bits << 64) | u128::from(h.finish());
    }
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..26)
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// The last `:`-separated segment of an ARN.
pub fn resource_id(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// `TableState` values.
pub mod table_state {
    /// Selected, not loaded yet.
    pub const BEFORE_LOAD: &str = "Before load";
    /// Loading.
    pub const FULL_LOAD: &str = "Full load";
    /// Loaded (or replicating).
    pub const TABLE_COMPLETED: &str = "Table completed";
    /// Loading failed.
    pub const TABLE_ERROR: &str = "Table error";
    /// Load cancelled by a stop.
    pub const TABLE_CANCELLED: &str = "Table cancelled";
    /// Dropped at the source during CDC.
    pub const TABLE_DOES_NOT_EXIST: &str = "Table does not exist";
    /// Reloading after `ReloadTables`.
    pub const TABLE_RELOADING: &str = "Table is being reloaded";
}

/// `TableStatistics` of one table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableStatistics {
    /// Source schema.
    pub schema_name: String,
    /// Source table.
    pub table_name: String,
    /// CDC inserts.
    pub inserts: u64,
    /// CDC deletes.
    pub deletes: u64,
    /// CDC updates.
    pub updates: u64,
    /// CDC DDL statements.
    pub ddls: u64,
    /// Rows written by full load.
    pub full_load_rows: u64,
    /// Rows full load could not write.
    pub full_load_error_rows: u64,
    /// Rows that failed a condition check (always 0 here).
    pub full_load_condtnl_chk_failed_rows: u64,
    /// Load start.
    pub full_load_start_time: Option<SystemTime>,
    /// Load end.
    pub full_load_end_time: Option<SystemTime>,
    /// Whether the table was reloaded.
    pub full_load_reloaded: bool,
    /// Last change.
    pub last_update_time: Option<SystemTime>,
    /// `Before load`, `Full load`, `Table completed`, `Table error`, ...
    pub table_state: String,
    /// `Not enabled` (no validation for Kinesis targets).
    pub validation_state: String,
}

/// `DescribeReplicationTasks` filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskFilter {
    /// `replication-task-arn`.
    pub arns: Vec<String>,
    /// `replication-task-id`.
    pub identifiers: Vec<String>,
    /// `migration-type`.
    pub migration_types: Vec<MigrationType>,
    /// `endpoint-arn` (source or target).
    pub endpoint_arns: Vec<String>,
}

impl TaskFilter {
    /// One task by ARN.
    pub fn arn(arn: impl Into<String>) -> Self {
        TaskFilter {
            arns: vec![arn.into()],
            ..Default::default()
        }
    }

    /// True when `t` passes every non-empty filter.
    pub fn matches(&self, t: &ReplicationTask) -> bool {
        (self.arns.is_empty() || self.arns.contains(&t.arn))
            && (self.identifiers.is_empty() || self.identifiers.contains(&t.identifier))
            && (self.migration_types.is_empty() || self.migration_types.contains(&t.migration_type))
            && (self.endpoint_arns.is_empty()
                || self.endpoint_arns.contains(&t.source_endpoint_arn)
                || self.endpoint_arns.contains(&t.target_endpoint_arn))
    }
}
