//! AWS DMS replication-task settings (`ReplicationTaskSettings` JSON).
//!
//! [`TaskSettings::from_json`] parses the document into typed sections whose fields carry the documented
//! DMS defaults, validates the ranges dmsrs relies on, and reports:
//!
//! * unknown sections and fields as warnings (DMS adds settings over time, so they never fail a task);
//! * through [`ParsedSettings::not_honoured`], the settings the user set to a non-default value that
//!   dmsrs ignores. The honoured ones are listed in [`HONOURED_SETTINGS`].
//!
//! Type errors name the JSON path: `FullLoadSettings.CommitRate: invalid type: string "x", expected u32`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Settings (JSON paths) that the engine honours. An entry is either a full path
/// (`FullLoadSettings.CommitRate`) or a whole section (`BeforeImageSettings`). Everything else is parsed
/// and validated but has no effect; see [`ParsedSettings::not_honoured`].
pub const HONOURED_SETTINGS: &[&str] = &[
    "TargetMetadata.SupportLobs",
    "TargetMetadata.FullLobMode",
    "TargetMetadata.LimitedSizeLobMode",
    "TargetMetadata.LobMaxSize",
    "FullLoadSettings.TargetTablePrepMode",
    "FullLoadSettings.CommitRate",
    "FullLoadSettings.MaxFullLoadSubTasks",
    "Logging.EnableLogging",
    "Logging.LogComponents",
    "ChangeProcessingTuning",
    "BeforeImageSettings",
    "ErrorBehavior.FailOnNoTablesCaptured",
];

/// Whether the setting at `path` is covered by [`HONOURED_SETTINGS`].
pub fn is_honoured(path: &str) -> bool {
    HONOURED_SETTINGS.iter().any(|h| {
        path == *h
            || path
                .strip_prefix(h)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

/// Task settings that cannot be used; the message names the JSON path to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The document is not JSON.
    #[error("task settings are not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },
    /// A value has the wrong type, an unknown enumeration value, or is out of range.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path of the value (`FullLoadSettings.CommitRate`, `Logging.LogComponents[0].Severity`).
        path: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

/// Result of [`TaskSettings::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSettings {
    /// The typed settings (defaults filled in).
    pub settings: TaskSettings,
    /// Unknown sections or fields, ignored; one sentence each, sorted by path.
    pub warnings: Vec<String>,
    /// JSON paths set explicitly to a value other than the DMS default.
    non_default: Vec<String>,
}

impl ParsedSettings {
    /// JSON paths of settings that the input sets to a non-default value but that the engine does not
    /// honour (see [`HONOURED_SETTINGS`]), sorted. Settings written with their default value
    /// are left out: they behave the same whether honoured or not.
    pub fn not_honoured(&self) -> Vec<String> {
        self.non_default
            .iter()
            .filter(|p| !is_honoured(p))
            .cloned()
            .collect()
    }

    /// JSON paths of every known setting the input sets to a non-default value, sorted.
    pub fn non_default(&self) -> &[String] {
        &self.non_default
    }
}

/// Accepts `null` for a section or nested object and uses its defaults.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The whole `ReplicationTaskSettings` document. A section that is absent or `null` takes its defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskSettings {
    /// `TargetMetadata`.
    #[serde(deserialize_with = "nullable")]
    pub target_metadata: TargetMetadata,
    /// `FullLoadSettings`.
    #[serde(deserialize_with = "nullable")]
    pub full_load_settings: FullLoadSettings,
    /// `TTSettings` (Time Travel).
    #[serde(rename = "TTSettings", deserialize_with = "nullable")]
    pub tt_settings: TtSettings,
    /// `Logging`.
    #[serde(deserialize_with = "nullable")]
    pub logging: Logging,
    /// `ControlTablesSettings`.
    #[serde(deserialize_with = "nullable")]
    pub control_tables_settings: ControlTablesSettings,
    /// `StreamBufferSettings`.
    #[serde(deserialize_with = "nullable")]
    pub stream_buffer_settings: StreamBufferSettings,
    /// `ChangeProcessingTuning`.
    #[serde(deserialize_with = "nullable")]
    pub change_processing_tuning: ChangeProcessingTuning,
    /// `ChangeProcessingDdlHandlingPolicy`.
    #[serde(deserialize_with = "nullable")]
    pub change_processing_ddl_handling_policy: ChangeProcessingDdlHandlingPolicy,
    /// `LoopbackPreventionSettings`.
    #[serde(deserialize_with = "nullable")]
    pub loopback_prevention_settings: LoopbackPreventionSettings,
    /// `CharacterSetSettings`.
    #[serde(deserialize_with = "nullable")]
    pub character_set_settings: CharacterSetSettings,
    /// `BeforeImageSettings`.
    #[serde(deserialize_with = "nullable")]
    pub before_image_settings: BeforeImageSettings,
    /// `ErrorBehavior`.
    #[serde(deserialize_with = "nullable")]
    pub error_behavior: ErrorBehavior,
    /// `ValidationSettings`.
    #[serde(deserialize_with = "nullable")]
    pub validation_settings: ValidationSettings,
    /// `PostProcessingRules` (present, usually `null`, in settings returned by DMS); opaque.
    pub post_processing_rules: Option<Value>,
    /// `FailTaskWhenCleanTaskResourceFailed` (top-level, in settings returned by DMS). Default `false`.
    pub fail_task_when_clean_task_resource_failed: bool,
}

/// `TargetMetadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TargetMetadata {
    /// Target schema; empty = source schema. Default `""`.
    pub target_schema: String,
    /// Replicate LOB columns. Default `true`.
    pub support_lobs: bool,
    /// Full LOB mode. Default `false`.
    pub full_lob_mode: bool,
    /// LOB chunk size in KB (full LOB mode). Default `64`.
    pub lob_chunk_size: u32,
    /// Limited-size LOB mode: truncate LOBs to `LobMaxSize`. Default `true`.
    pub limited_size_lob_mode: bool,
    /// Maximum LOB size in KB in limited-size mode. Default `32`.
    pub lob_max_size: u32,
    /// Inline LOB max size in KB. Default `0`.
    pub inline_lob_max_size: u32,
    /// Default `0`.
    pub load_max_file_size: u32,
    /// Default `0`.
    pub parallel_load_threads: u32,
    /// Default `0`.
    pub parallel_load_buffer_size: u32,
    /// Default `1`.
    pub parallel_load_queues_per_thread: u32,
    /// Default `0`.
    pub parallel_apply_threads: u32,
    /// Default `100`.
    pub parallel_apply_buffer_size: u32,
    /// Default `1`.
    pub parallel_apply_queues_per_thread: u32,
    /// Batch-optimised apply (not supported with Kinesis). Default `false`.
    pub batch_apply_enabled: bool,
    /// Default `false`.
    pub task_recovery_table_enabled: bool,
}

impl Default for TargetMetadata {
    fn default() -> Self {
        Self {
            target_schema: String::new(),
            support_lobs: true,
            full_lob_mode: false,
            lob_chunk_size: 64,
            limited_size_lob_mode: true,
            lob_max_size: 32,
            inline_lob_max_size: 0,
            load_max_file_size: 0,
            parallel_load_threads: 0,
            parallel_load_buffer_size: 0,
            parallel_load_queues_per_thread: 1,
            parallel_apply_threads: 0,
            parallel_apply_buffer_size: 100,
            parallel_apply_queues_per_thread: 1,
            batch_apply_enabled: false,
            task_recovery_table_enabled: false,
        }
    }
}

/// `FullLoadSettings.TargetTablePrepMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetTablePrepMode {
    /// `DO_NOTHING`: leave the target as it is.
    DoNothing,
    /// `DROP_AND_CREATE` (default for tasks created through the API).
    #[default]
    DropAndCreate,
    /// `TRUNCATE_BEFORE_LOAD`.
    TruncateBeforeLoad,
}

/// `FullLoadSettings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct FullLoadSettings {
    /// Default `DROP_AND_CREATE`.
    pub target_table_prep_mode: TargetTablePrepMode,
    /// Default `false`.
    pub create_pk_after_full_load: bool,
    /// Default `false`.
    pub stop_task_cached_changes_applied: bool,
    /// Default `false`.
    pub stop_task_cached_changes_not_applied: bool,
    /// Tables loaded in parallel, 1..=49. Default `8`.
    pub max_full_load_sub_tasks: u32,
    /// Seconds. Default `600`.
    pub transaction_consistency_timeout: u32,
    /// Records transferred together, 1..=50000. Default `10000`.
    pub commit_rate: u32,
}

impl Default for FullLoadSettings {
    fn default() -> Self {
        Self {
            target_table_prep_mode: TargetTablePrepMode::DropAndCreate,
            create_pk_after_full_load: false,
            stop_task_cached_changes_applied: false,
            stop_task_cached_changes_not_applied: false,
            max_full_load_sub_tasks: 8,
            transaction_consistency_timeout: 600,
            commit_rate: 10_000,
        }
    }
}

/// `TTSettings` (Time Travel; not applicable to dmsrs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TtSettings {
    /// `EnableTT`. Default `false`.
    #[serde(rename = "EnableTT")]
    pub enable_tt: bool,
    /// `TTS3Settings`, opaque.
    #[serde(rename = "TTS3Settings")]
    pub tt_s3_settings: Option<Value>,
    /// `TTRecordSettings`, opaque.
    #[serde(rename = "TTRecordSettings")]
    pub tt_record_settings: Option<Value>,
}

/// DMS log severity (`Logging.LogComponents[].Severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LogSeverity {
    /// `LOGGER_SEVERITY_ERROR`.
    #[serde(rename = "LOGGER_SEVERITY_ERROR")]
    Error,
    /// `LOGGER_SEVERITY_WARNING`.
    #[serde(rename = "LOGGER_SEVERITY_WARNING")]
    Warning,
    /// `LOGGER_SEVERITY_INFO`.
    #[serde(rename = "LOGGER_SEVERITY_INFO")]
    Info,
    /// `LOGGER_SEVERITY_DEFAULT` (the default).
    #[default]
    #[serde(rename = "LOGGER_SEVERITY_DEFAULT")]
    Default,
    /// `LOGGER_SEVERITY_DEBUG`.
    #[serde(rename = "LOGGER_SEVERITY_DEBUG")]
    Debug,
    /// `LOGGER_SEVERITY_DETAILED_DEBUG`.
    #[serde(rename = "LOGGER_SEVERITY_DETAILED_DEBUG")]
    DetailedDebug,
}

impl LogSeverity {
    /// The matching `tracing` level: ERROR→error, WARNING→warn, INFO and DEFAULT→info, DEBUG→debug,
    /// DETAILED_DEBUG→trace.
    pub fn tracing_level(self) -> tracing::Level {
        match self {
            LogSeverity::Error => tracing::Level::ERROR,
            LogSeverity::Warning => tracing::Level::WARN,
            LogSeverity::Info | LogSeverity::Default => tracing::Level::INFO,
            LogSeverity::Debug => tracing::Level::DEBUG,
            LogSeverity::DetailedDebug => tracing::Level::TRACE,
        }
    }
}

/// One `Logging.LogComponents` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogComponent {
    /// Component id (`SOURCE_CAPTURE`, `TARGET_APPLY`, ...). Kept as written: DMS adds ids over time.
    pub id: String,
    /// Severity. Default `LOGGER_SEVERITY_DEFAULT`.
    #[serde(default)]
    pub severity: LogSeverity,
}

/// `Logging`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Logging {
    /// Default `false`.
    pub enable_logging: bool,
    /// Default `false`.
    pub enable_log_context: bool,
    /// Per-component severities.
    #[serde(deserialize_with = "nullable")]
    pub log_components: Vec<LogComponent>,
    /// Set by DMS; cannot be set on create.
    pub cloud_watch_log_group: Option<String>,
    /// Set by DMS; cannot be set on create.
    pub cloud_watch_log_stream: Option<String>,
}

impl Logging {
    /// `(component id, tracing level)` for every `LogComponents` entry, in document order. A pure data
    /// mapping: it does not look at `EnableLogging`, the caller decides what to do with it.
    pub fn tracing_directives(&self) -> Vec<(String, tracing::Level)> {
        self.log_components
            .iter()
            .map(|c| (c.id.clone(), c.severity.tracing_level()))
            .collect()
    }
}

/// `ControlTablesSettings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ControlTablesSettings {
    /// Default `""`.
    pub control_schema: String,
    /// Default `5`.
    pub history_timeslot_in_minutes: u32,
    /// `historyTimeslotInMinutes`: the lower-case duplicate found in settings returned by DMS. Default `5`.
    #[serde(rename = "historyTimeslotInMinutes")]
    pub history_timeslot_in_minutes_lower: u32,
    /// Default `false`.
    pub history_table_enabled: bool,
    /// Default `false`.
    pub suspended_tables_table_enabled: bool,
    /// Default `false`.
    pub status_table_enabled: bool,
    /// Default `false`.
    pub full_load_exception_table_enabled: bool,
    /// Default `false`.
    pub commit_position_table_enabled: bool,
}

impl Default for ControlTablesSettings {
    fn default() -> Self {
        Self {
            control_schema: String::new(),
            history_timeslot_in_minutes: 5,
            history_timeslot_in_minutes_lower: 5,
            history_table_enabled: false,
            suspended_tables_table_enabled: false,
            status_table_enabled: false,
            full_load_exception_table_enabled: false,
            commit_position_table_enabled: false,
        }
    }
}

/// `StreamBufferSettings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamBufferSettings {
    /// `StreamBufferCount`. Default `3`.
    #[serde(rename = "StreamBufferCount")]
    pub stream_buffer_count: u32,
    /// `StreamBufferSizeInMB`. Default `8`.
    #[serde(rename = "StreamBufferSizeInMB")]
    pub stream_buffer_size_in_mb: u32,
    /// `CtrlStreamBufferSizeInMB`. Default `5`.
    #[serde(rename = "CtrlStreamBufferSizeInMB")]
    pub ctrl_stream_buffer_size_in_mb: u32,
}

impl Default for StreamBufferSettings {
    fn default() -> Self {
        Self {
            stream_buffer_count: 3,
            stream_buffer_size_in_mb: 8,
            ctrl_stream_buffer_size_in_mb: 5,
        }
    }
}

/// `ChangeProcessingTuning` (hints for the CDC apply loop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ChangeProcessingTuning {
    /// Default `true`.
    pub batch_apply_preserve_transaction: bool,
    /// Seconds. Default `1`.
    pub batch_apply_timeout_min: u32,
    /// Seconds. Default `30`.
    pub batch_apply_timeout_max: u32,
    /// MB. Default `500`.
    pub batch_apply_memory_limit: u32,
    /// Default `0` (no limit).
    pub batch_split_size: u32,
    /// Changes per transaction group (when batch apply is off, as always for Kinesis). Default `1000`.
    pub min_transaction_size: u32,
    /// Seconds to collect transactions before applying. Default `1`.
    pub commit_timeout: u32,
    /// MB of memory for changes in flight. Default `1024`.
    pub memory_limit_total: u32,
    /// Seconds a transaction stays in memory before spilling. Default `60`.
    pub memory_keep_time: u32,
    /// Default `50`.
    pub statement_cache_size: u32,
}

impl Default for ChangeProcessingTuning {
    fn default() -> Self {
        Self {
            batch_apply_preserve_transaction: true,
            batch_apply_timeout_min: 1,
            batch_apply_timeout_max: 30,
            batch_apply_memory_limit: 500,
            batch_split_size: 0,
            min_transaction_size: 1000,
            commit_timeout: 1,
            memory_limit_total: 1024,
            memory_keep_time: 60,
            statement_cache_size: 50,
        }
    }
}

/// `ChangeProcessingDdlHandlingPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ChangeProcessingDdlHandlingPolicy {
    /// Default `true`.
    pub handle_source_table_dropped: bool,
    /// Default `true`.
    pub handle_source_table_truncated: bool,
    /// Default `true`.
    pub handle_source_table_altered: bool,
}

impl Default for ChangeProcessingDdlHandlingPolicy {
    fn default() -> Self {
        Self {
            handle_source_table_dropped: true,
            handle_source_table_truncated: true,
            handle_source_table_altered: true,
        }
    }
}

/// `LoopbackPreventionSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LoopbackPreventionSettings {
    /// Default `false`.
    pub enable_loopback_prevention: bool,
    /// Source schema of the loop-back table.
    pub source_schema: Option<String>,
    /// Target schema of the loop-back table.
    pub target_schema: Option<String>,
}

/// One `CharacterSetSettings.CharacterReplacements` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CharacterReplacement {
    /// Code point to replace.
    pub source_character_code_point: u32,
    /// Replacement code point.
    pub target_character_code_point: u32,
}

/// `CharacterSetSettings.CharacterSetSupport`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CharacterSetSupport {
    /// Character set name (`UTF16_PlatformEndian`, ...).
    pub character_set: String,
    /// Code point used for characters invalid in the set.
    pub replace_with_character_code_point: u32,
}

/// `CharacterSetSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CharacterSetSettings {
    /// Character substitutions.
    #[serde(deserialize_with = "nullable")]
    pub character_replacements: Vec<CharacterReplacement>,
    /// Character-set validation.
    pub character_set_support: Option<CharacterSetSupport>,
}

/// Which columns a before image carries (`BeforeImageSettings.ColumnFilter` and the `column-filter` of
/// the `add-before-image-columns` table-mapping rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ColumnFilter {
    /// `pk-only` (default): primary-key columns only.
    #[default]
    #[serde(rename = "pk-only")]
    PkOnly,
    /// `non-lob`: every column except LOBs.
    #[serde(rename = "non-lob")]
    NonLob,
    /// `all`: every column.
    #[serde(rename = "all")]
    All,
}

impl ColumnFilter {
    /// Whether a column with these properties is included.
    pub fn includes(self, is_primary_key: bool, is_lob: bool) -> bool {
        match self {
            ColumnFilter::PkOnly => is_primary_key,
            ColumnFilter::NonLob => !is_lob,
            ColumnFilter::All => true,
        }
    }
}

/// `BeforeImageSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BeforeImageSettings {
    /// Default `false`.
    pub enable_before_image: bool,
    /// Name of the record's before-image key (usually `before-image`); required when enabled.
    pub field_name: Option<String>,
    /// Default `pk-only`.
    pub column_filter: ColumnFilter,
}

/// `ErrorBehavior`. Policies are kept as strings: dmsrs honours only `FailOnNoTablesCaptured`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ErrorBehavior {
    /// Default `LOG_ERROR`.
    pub data_error_policy: String,
    /// Default `STOP_TASK`.
    pub data_masking_error_policy: String,
    /// Default `LOG_ERROR`.
    pub data_truncation_error_policy: String,
    /// Default `SUSPEND_TABLE`.
    pub data_error_escalation_policy: String,
    /// Default `0`.
    pub data_error_escalation_count: u32,
    /// Default `SUSPEND_TABLE`.
    pub table_error_policy: String,
    /// Default `STOP_TASK`.
    pub table_error_escalation_policy: String,
    /// Default `0`.
    pub table_error_escalation_count: u32,
    /// Default `-1` (retry forever).
    pub recoverable_error_count: i64,
    /// Seconds. Default `5`.
    pub recoverable_error_interval: u32,
    /// Default `true`.
    pub recoverable_error_throttling: bool,
    /// Seconds. Default `1800`.
    pub recoverable_error_throttling_max: u32,
    /// Default `true`.
    pub recoverable_error_stop_retry_after_throttling_max: bool,
    /// Default `IGNORE_RECORD`.
    pub apply_error_delete_policy: String,
    /// Default `LOG_ERROR`.
    pub apply_error_insert_policy: String,
    /// Default `LOG_ERROR`.
    pub apply_error_update_policy: String,
    /// Default `LOG_ERROR`.
    pub apply_error_escalation_policy: String,
    /// Default `0`.
    pub apply_error_escalation_count: u32,
    /// Default `false`.
    pub apply_error_fail_on_truncation_ddl: bool,
    /// Default `true`.
    pub full_load_ignore_conflicts: bool,
    /// Default `false`.
    pub fail_on_transaction_consistency_breached: bool,
    /// Fail the task when the table mapping selects no table. Default `true` (what current DMS versions
    /// return for new tasks; older documentation says `false`).
    pub fail_on_no_tables_captured: bool,
    /// Default `IGNORE`.
    pub event_error_policy: String,
}

impl Default for ErrorBehavior {
    fn default() -> Self {
        Self {
            data_error_policy: "LOG_ERROR".into(),
            data_masking_error_policy: "STOP_TASK".into(),
            data_truncation_error_policy: "LOG_ERROR".into(),
            data_error_escalation_policy: "SUSPEND_TABLE".into(),
            data_error_escalation_count: 0,
            table_error_policy: "SUSPEND_TABLE".into(),
            table_error_escalation_policy: "STOP_TASK".into(),
            table_error_escalation_count: 0,
            recoverable_error_count: -1,
            recoverable_error_interval: 5,
            recoverable_error_throttling: true,
            recoverable_error_throttling_max: 1800,
            recoverable_error_stop_retry_after_throttling_max: true,
            apply_error_delete_policy: "IGNORE_RECORD".into(),
            apply_error_insert_policy: "LOG_ERROR".into(),
            apply_error_update_policy: "LOG_ERROR".into(),
            apply_error_escalation_policy: "LOG_ERROR".into(),
            apply_error_escalation_count: 0,
            apply_error_fail_on_truncation_ddl: false,
            full_load_ignore_conflicts: true,
            fail_on_transaction_consistency_breached: false,
            fail_on_no_tables_captured: true,
            event_error_policy: "IGNORE".into(),
        }
    }
}

/// `ValidationSettings` (data validation has no meaning for a Kinesis target; parsed only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ValidationSettings {
    /// Default `false`.
    pub enable_validation: bool,
    /// Default `ROW_LEVEL`.
    pub validation_mode: String,
    /// Default `5`.
    pub thread_count: u32,
    /// Default `10000`.
    pub partition_size: u32,
    /// `FailureMaxCount`. Default `10000`.
    pub failure_max_count: u64,
    /// `RecordFailureDelayInMinutes`. Default `5`.
    pub record_failure_delay_in_minutes: u32,
    /// `RecordSuspendDelayInMinutes`. Default `30`.
    pub record_suspend_delay_in_minutes: u32,
    /// `MaxKeyColumnSize`. Default `8096`.
    pub max_key_column_size: u32,
    /// `TableFailureMaxCount`. Default `1000`.
    pub table_failure_max_count: u32,
    /// `ValidationOnly`. Default `false`.
    pub validation_only: bool,
    /// `HandleCollationDiff`. Default `false`.
    pub handle_collation_diff: bool,
    /// `RecordFailureDelayLimitInMinutes`. Default `0`.
    pub record_failure_delay_limit_in_minutes: u32,
    /// `SkipLobColumns`. Default `false`.
    pub skip_lob_columns: bool,
    /// `ValidationPartialLobSize`. Default `0`.
    pub validation_partial_lob_size: u32,
    /// `ValidationQueryCdcDelaySeconds`. Default `0`.
    pub validation_query_cdc_delay_seconds: u32,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            enable_validation: false,
            validation_mode: "ROW_LEVEL".into(),
            thread_count: 5,
            partition_size: 10_000,
            failure_max_count: 10_000,
            record_failure_delay_in_minutes: 5,
            record_suspend_delay_in_minutes: 30,
            max_key_column_size: 8096,
            table_failure_max_count: 1000,
            validation_only: false,
            handle_collation_diff: false,
            record_failure_delay_limit_in_minutes: 0,
            skip_lob_columns: false,
            validation_partial_lob_size: 0,
            validation_query_cdc_delay_seconds: 0,
        }
    }
}

impl TaskSettings {
    /// Parses and validates a task-settings document.
    ///
    /// # Errors
    /// [`SettingsError::Syntax`] for invalid JSON; [`SettingsError::Invalid`] (with the JSON path) for a
    /// document that is not an object, a value of the wrong type or an unknown enumeration value, and
    /// for these range checks: `FullLoadSettings.CommitRate` 1..=50000,
    /// `FullLoadSettings.MaxFullLoadSubTasks` 1..=49, `TargetMetadata.LobMaxSize` > 0 when limited-size
    /// LOB mode is in effect, `BeforeImageSettings.FieldName` non-empty when `EnableBeforeImage` is true.
    pub fn from_json(json: &str) -> Result<ParsedSettings, SettingsError> {
        let doc: Value = serde_json::from_str(json).map_err(|e| {
            let full = e.to_string();
            let message = match full.rfind(" at line ") {
                Some(pos) => full.get(..pos).unwrap_or(&full).to_owned(),
                None => full.clone(),
            };
            SettingsError::Syntax {
                line: e.line(),
                column: e.column(),
                message,
            }
        })?;
        let Value::Object(input) = &doc else {
            return Err(SettingsError::Invalid {
                path: "$".into(),
                message:
                    "task settings must be a JSON object such as {\"FullLoadSettings\": {...}}"
                        .into(),
            });
        };
        let settings: TaskSettings =
            serde_path_to_error::deserialize(&doc).map_err(|e| SettingsError::Invalid {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        settings.validate()?;

        let template = serde_json::to_value(TaskSettings::default()).unwrap_or(Value::Null);
        let parsed = serde_json::to_value(&settings).unwrap_or(Value::Null);
        let mut walk = Walk::default();
        if let (Value::Object(t), Value::Object(p)) = (&template, &parsed) {
            walk.object(input, t, p, "");
        }
        walk.unknown.sort();
        walk.non_default.sort();
        Ok(ParsedSettings {
            settings,
            warnings: walk.unknown,
            non_default: walk.non_default,
        })
    }

    fn validate(&self) -> Result<(), SettingsError> {
        fn range(path: &str, v: u32, min: u32, max: u32) -> Result<(), SettingsError> {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err(SettingsError::Invalid {
                    path: path.into(),
                    message: format!("{v} is out of range; DMS accepts {min} to {max}"),
                })
            }
        }
        let fl = &self.full_load_settings;
        range("FullLoadSettings.CommitRate", fl.commit_rate, 1, 50_000)?;
        range(
            "FullLoadSettings.MaxFullLoadSubTasks",
            fl.max_full_load_sub_tasks,
            1,
            49,
        )?;
        let tm = &self.target_metadata;
        if tm.support_lobs && tm.limited_size_lob_mode && !tm.full_lob_mode && tm.lob_max_size == 0
        {
            return Err(SettingsError::Invalid {
                path: "TargetMetadata.LobMaxSize".into(),
                message: "must be greater than 0 (KB) in limited-size LOB mode".into(),
            });
        }
        let bi = &self.before_image_settings;
        if bi.enable_before_image && bi.field_name.as_deref().is_none_or(str::is_empty) {
            return Err(SettingsError::Invalid {
                path: "BeforeImageSettings.FieldName".into(),
                message: "required when EnableBeforeImage is true (for example \"before-image\")"
                    .into(),
            });
        }
        Ok(())
    }
}

/// Walks the input next to the default (`template`) and parsed documents, collecting unknown paths and
/// the paths of known settings set to non-default values.
#[derive(Default)]
struct Walk {
    unknown: Vec<String>,
    non_default: Vec<String>,
}

impl Walk {
    fn object(
        &mut self,
        input: &Map<String, Value>,
        template: &Map<String, Value>,
        parsed: &Map<String, Value>,
        path: &str,
    ) {
        for (key, value) in input {
            let p = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let Some(t) = template.get(key) else {
                self.unknown
                    .push(format!("unknown task setting `{p}` ignored"));
                continue;
            };
            let parsed_value = parsed.get(key).unwrap_or(&Value::Null);
            match (value, t, parsed_value) {
                (Value::Object(i), Value::Object(t), Value::Object(pv)) => {
                    self.object(i, t, pv, &p)
                }
                _ => {
                    if let (Value::Array(items), Some(element)) = (value, element_template(&p)) {
                        for (n, item) in items.iter().enumerate() {
                            if let Value::Object(fields) = item {
                                for k in fields.keys().filter(|k| !element.contains(&k.as_str())) {
                                    self.unknown.push(format!(
                                        "unknown task setting `{p}[{n}].{k}` ignored"
                                    ));
                                }
                            }
                        }
                    }
                    if !value.is_null() && parsed_value != t {
                        self.non_default.push(p);
                    }
                }
            }
        }
    }
}

/// Known field names of array elements, for unknown-field warnings.
fn element_template(path: &str) -> Option<&'static [&'static str]> {
    match path {
        "Logging.LogComponents" => Some(&["Id", "Severity"]),
        "CharacterSetSettings.CharacterReplacements" => {
            Some(&["SourceCharacterCodePoint", "TargetCharacterCodePoint"])
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ParsedSettings {
        TaskSettings::from_json(json).unwrap()
    }

    fn err(json: &str) -> String {
        TaskSettings::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn seed_before_image_settings() {
        let p = parse(
            r#"{"Logging": {"EnableLogging": true}, "BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": "before-image", "ColumnFilter": "all"}}"#,
        );
        assert!(p.settings.logging.enable_logging);
        let bi = &p.settings.before_image_settings;
        assert!(bi.enable_before_image);
        assert_eq!(bi.field_name.as_deref(), Some("before-image"));
        assert_eq!(bi.column_filter, ColumnFilter::All);
        assert!(p.warnings.is_empty());
        assert!(p.not_honoured().is_empty());
        // Everything else keeps the defaults.
        assert_eq!(p.settings.full_load_settings, FullLoadSettings::default());
    }

    #[test]
    fn seed_logging_only() {
        let p = parse(r#"{"Logging": {"EnableLogging": true}}"#);
        assert!(p.settings.logging.enable_logging);
        assert!(p.settings.logging.log_components.is_empty());
        assert!(!p.settings.before_image_settings.enable_before_image);
        assert!(p.warnings.is_empty());
        assert_eq!(p.non_default(), ["Logging.EnableLogging"]);
        assert!(p.not_honoured().is_empty());
    }

    #[test]
    fn defaults() {
        let p = parse("{}");
        let s = &p.settings;
        assert_eq!(*s, TaskSettings::default());
        assert_eq!(
            s.full_load_settings.target_table_prep_mode,
            TargetTablePrepMode::DropAndCreate
        );
        assert_eq!(s.full_load_settings.commit_rate, 10_000);
        assert_eq!(s.full_load_settings.max_full_load_sub_tasks, 8);
        assert!(s.target_metadata.support_lobs);
        assert!(s.target_metadata.limited_size_lob_mode);
        assert!(!s.target_metadata.full_lob_mode);
        assert_eq!(s.target_metadata.lob_max_size, 32);
        assert!(!s.logging.enable_logging);
        assert_eq!(s.before_image_settings.column_filter, ColumnFilter::PkOnly);
        assert!(s.error_behavior.fail_on_no_tables_captured);
        assert_eq!(s.error_behavior.recoverable_error_count, -1);
        assert_eq!(s.stream_buffer_settings.ctrl_stream_buffer_size_in_mb, 5);
        assert_eq!(s.change_processing_tuning.min_transaction_size, 1000);
        assert!(
            s.change_processing_ddl_handling_policy
                .handle_source_table_altered
        );
        assert!(p.warnings.is_empty());
        assert!(p.non_default().is_empty());
        // null sections take their defaults too.
        let p = parse(
            r#"{"CharacterSetSettings": null, "LoopbackPreventionSettings": null, "BeforeImageSettings": null, "PostProcessingRules": null}"#,
        );
        assert_eq!(p.settings, TaskSettings::default());
        assert!(p.non_default().is_empty());
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn prep_modes() {
        for (text, mode) in [
            ("DO_NOTHING", TargetTablePrepMode::DoNothing),
            ("DROP_AND_CREATE", TargetTablePrepMode::DropAndCreate),
            (
                "TRUNCATE_BEFORE_LOAD",
                TargetTablePrepMode::TruncateBeforeLoad,
            ),
        ] {
            let p = parse(&format!(
                r#"{{"FullLoadSettings": {{"TargetTablePrepMode": "{text}"}}}}"#
            ));
            assert_eq!(p.settings.full_load_settings.target_table_prep_mode, mode);
        }
    }

    #[test]
    fn type_errors_name_the_path() {
        assert_eq!(
            err(r#"{"FullLoadSettings": {"CommitRate": "x"}}"#),
            r#"FullLoadSettings.CommitRate: invalid type: string "x", expected u32"#
        );
        let e = err(r#"{"FullLoadSettings": {"TargetTablePrepMode": "DROP"}}"#);
        assert!(
            e.starts_with("FullLoadSettings.TargetTablePrepMode: unknown variant `DROP`"),
            "{e}"
        );
        let e = err(r#"{"Logging": {"LogComponents": [{"Id": "SORTER", "Severity": "LOUD"}]}}"#);
        assert!(
            e.starts_with("Logging.LogComponents[0].Severity: unknown variant `LOUD`"),
            "{e}"
        );
        let e = err(r#"{"Logging": {"LogComponents": [{"Severity": "LOGGER_SEVERITY_INFO"}]}}"#);
        assert!(
            e.starts_with("Logging.LogComponents[0]: missing field `Id`"),
            "{e}"
        );
        let e = err(r#"{"TargetMetadata": {"SupportLobs": "yes"}}"#);
        assert!(
            e.starts_with(
                "TargetMetadata.SupportLobs: invalid type: string \"yes\", expected a boolean"
            ),
            "{e}"
        );
        let e = err(r#"{"FullLoadSettings": {"MaxFullLoadSubTasks": -1}}"#);
        assert!(
            e.starts_with("FullLoadSettings.MaxFullLoadSubTasks: invalid value: integer `-1`"),
            "{e}"
        );
        let e = err(r#"{"BeforeImageSettings": {"ColumnFilter": "some"}}"#);
        assert!(
            e.starts_with("BeforeImageSettings.ColumnFilter: unknown variant `some`"),
            "{e}"
        );
        let e = err(r#"{"FullLoadSettings": 5}"#);
        assert!(
            e.starts_with("FullLoadSettings: invalid type: integer `5`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_and_shape_errors() {
        assert_eq!(
            TaskSettings::from_json("{\n  \"Logging\": {,}\n}"),
            Err(SettingsError::Syntax {
                line: 2,
                column: 15,
                message: "key must be a string".into()
            })
        );
        assert!(err("").contains("EOF"));
        assert_eq!(
            err("[]"),
            "$: task settings must be a JSON object such as {\"FullLoadSettings\": {...}}"
        );
    }

    #[test]
    fn range_errors() {
        for (json, expected) in [
            (
                r#"{"FullLoadSettings": {"CommitRate": 0}}"#,
                "FullLoadSettings.CommitRate: 0 is out of range; DMS accepts 1 to 50000",
            ),
            (
                r#"{"FullLoadSettings": {"CommitRate": 50001}}"#,
                "FullLoadSettings.CommitRate: 50001 is out of range; DMS accepts 1 to 50000",
            ),
            (
                r#"{"FullLoadSettings": {"MaxFullLoadSubTasks": 50}}"#,
                "FullLoadSettings.MaxFullLoadSubTasks: 50 is out of range; DMS accepts 1 to 49",
            ),
            (
                r#"{"FullLoadSettings": {"MaxFullLoadSubTasks": 0}}"#,
                "FullLoadSettings.MaxFullLoadSubTasks: 0 is out of range; DMS accepts 1 to 49",
            ),
            (
                r#"{"TargetMetadata": {"LobMaxSize": 0}}"#,
                "TargetMetadata.LobMaxSize: must be greater than 0 (KB) in limited-size LOB mode",
            ),
            (
                r#"{"BeforeImageSettings": {"EnableBeforeImage": true}}"#,
                "BeforeImageSettings.FieldName: required when EnableBeforeImage is true (for example \"before-image\")",
            ),
            (
                r#"{"BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": ""}}"#,
                "BeforeImageSettings.FieldName: required when EnableBeforeImage is true (for example \"before-image\")",
            ),
        ] {
            assert_eq!(err(json), expected);
        }
        // Boundaries are accepted; LobMaxSize 0 is fine when LOBs are not in limited mode.
        parse(r#"{"FullLoadSettings": {"CommitRate": 1, "MaxFullLoadSubTasks": 49}}"#);
        parse(r#"{"FullLoadSettings": {"CommitRate": 50000, "MaxFullLoadSubTasks": 1}}"#);
        parse(
            r#"{"TargetMetadata": {"LobMaxSize": 0, "FullLobMode": true, "LimitedSizeLobMode": false}}"#,
        );
        parse(r#"{"TargetMetadata": {"LobMaxSize": 0, "SupportLobs": false}}"#);
    }

    #[test]
    fn unknown_fields_are_warnings() {
        let p = parse(
            r#"{"FutureSection": {"A": 1}, "FullLoadSettings": {"CommitRate": 500, "NewKnob": true},
                "Logging": {"LogComponents": [{"Id": "SORTER", "Severity": "LOGGER_SEVERITY_DEBUG", "Extra": 1}]}}"#,
        );
        assert_eq!(
            p.warnings,
            [
                "unknown task setting `FullLoadSettings.NewKnob` ignored",
                "unknown task setting `FutureSection` ignored",
                "unknown task setting `Logging.LogComponents[0].Extra` ignored",
            ]
        );
        assert_eq!(p.settings.full_load_settings.commit_rate, 500);
        assert!(p.not_honoured().is_empty());
    }

    #[test]
    fn not_honoured_lists_non_default_ignored_settings() {
        let p = parse(
            r#"{
              "TargetMetadata": {"ParallelApplyThreads": 8, "LobMaxSize": 64, "BatchApplyEnabled": false},
              "FullLoadSettings": {"CommitRate": 20000, "CreatePkAfterFullLoad": true},
              "ChangeProcessingTuning": {"CommitTimeout": 5},
              "ErrorBehavior": {"FailOnNoTablesCaptured": false, "DataErrorPolicy": "STOP_TASK"},
              "ValidationSettings": {"EnableValidation": true},
              "Logging": {"EnableLogging": true, "CloudWatchLogGroup": null, "EnableLogContext": true},
              "BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": "bi"},
              "LoopbackPreventionSettings": {"EnableLoopbackPrevention": true, "SourceSchema": "LOOP"}
            }"#,
        );
        assert_eq!(
            p.not_honoured(),
            [
                "ErrorBehavior.DataErrorPolicy",
                "FullLoadSettings.CreatePkAfterFullLoad",
                "Logging.EnableLogContext",
                "LoopbackPreventionSettings.EnableLoopbackPrevention",
                "LoopbackPreventionSettings.SourceSchema",
                "TargetMetadata.ParallelApplyThreads",
                "ValidationSettings.EnableValidation",
            ]
        );
        assert!(
            p.non_default()
                .contains(&"FullLoadSettings.CommitRate".to_owned())
        );
        assert!(
            p.non_default()
                .contains(&"ChangeProcessingTuning.CommitTimeout".to_owned())
        );
        assert!(!p.settings.error_behavior.fail_on_no_tables_captured);
    }

    #[test]
    fn honoured_list() {
        assert!(is_honoured("FullLoadSettings.CommitRate"));
        assert!(is_honoured("BeforeImageSettings.FieldName"));
        assert!(is_honoured("ChangeProcessingTuning.MemoryLimitTotal"));
        assert!(is_honoured("Logging.LogComponents"));
        assert!(!is_honoured("FullLoadSettings.CommitRateX"));
        assert!(!is_honoured("Logging.EnableLogContext"));
        assert!(!is_honoured("TargetMetadata.ParallelLoadThreads"));
    }

    #[test]
    fn tracing_directives() {
        let p = parse(
            r#"{"Logging": {"EnableLogging": true, "LogComponents": [
                {"Id": "SOURCE_CAPTURE", "Severity": "LOGGER_SEVERITY_ERROR"},
                {"Id": "SOURCE_UNLOAD", "Severity": "LOGGER_SEVERITY_WARNING"},
                {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_INFO"},
                {"Id": "TARGET_APPLY", "Severity": "LOGGER_SEVERITY_DEFAULT"},
                {"Id": "TASK_MANAGER", "Severity": "LOGGER_SEVERITY_DEBUG"},
                {"Id": "SORTER", "Severity": "LOGGER_SEVERITY_DETAILED_DEBUG"},
                {"Id": "TRANSFORMATION"}
            ]}}"#,
        );
        use tracing::Level;
        assert_eq!(
            p.settings.logging.tracing_directives(),
            vec![
                ("SOURCE_CAPTURE".to_owned(), Level::ERROR),
                ("SOURCE_UNLOAD".to_owned(), Level::WARN),
                ("TARGET_LOAD".to_owned(), Level::INFO),
                ("TARGET_APPLY".to_owned(), Level::INFO),
                ("TASK_MANAGER".to_owned(), Level::DEBUG),
                ("SORTER".to_owned(), Level::TRACE),
                ("TRANSFORMATION".to_owned(), Level::INFO),
            ]
        );
    }

    #[test]
    fn column_filter_includes() {
        assert!(ColumnFilter::PkOnly.includes(true, false));
        assert!(!ColumnFilter::PkOnly.includes(false, false));
        assert!(ColumnFilter::NonLob.includes(false, false));
        assert!(!ColumnFilter::NonLob.includes(true, true));
        assert!(ColumnFilter::All.includes(false, true));
    }

    /// A complete settings document with every section, shaped like the one the DMS console and
    /// `describe-replication-tasks` return.
    const FULL_DOCUMENT: &str = r#"{
      "TargetMetadata": {
        "TargetSchema": "",
        "SupportLobs": true,
        "FullLobMode": false,
        "LobChunkSize": 64,
        "LimitedSizeLobMode": true,
        "LobMaxSize": 32,
        "InlineLobMaxSize": 0,
        "LoadMaxFileSize": 0,
        "ParallelLoadThreads": 0,
        "ParallelLoadBufferSize": 0,
        "ParallelLoadQueuesPerThread": 1,
        "ParallelApplyThreads": 0,
        "ParallelApplyBufferSize": 100,
        "ParallelApplyQueuesPerThread": 1,
        "BatchApplyEnabled": false,
        "TaskRecoveryTableEnabled": false
      },
      "FullLoadSettings": {
        "TargetTablePrepMode": "DO_NOTHING",
        "CreatePkAfterFullLoad": false,
        "StopTaskCachedChangesApplied": false,
        "StopTaskCachedChangesNotApplied": false,
        "MaxFullLoadSubTasks": 8,
        "TransactionConsistencyTimeout": 600,
        "CommitRate": 10000
      },
      "TTSettings": {"EnableTT": false, "TTS3Settings": null, "TTRecordSettings": null},
      "Logging": {
        "EnableLogging": true,
        "EnableLogContext": false,
        "LogComponents": [
          {"Id": "TRANSFORMATION", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "SOURCE_UNLOAD", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "IO", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "PERFORMANCE", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "SOURCE_CAPTURE", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "SORTER", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "REST_SERVER", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "VALIDATOR_EXT", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "TARGET_APPLY", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "TASK_MANAGER", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "TABLES_MANAGER", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "METADATA_MANAGER", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "FILE_FACTORY", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "COMMON", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "ADDONS", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "DATA_STRUCTURE", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "COMMUNICATION", "Severity": "LOGGER_SEVERITY_DEFAULT"},
          {"Id": "FILE_TRANSFER", "Severity": "LOGGER_SEVERITY_DEFAULT"}
        ],
        "CloudWatchLogGroup": null,
        "CloudWatchLogStream": null
      },
      "ControlTablesSettings": {
        "historyTimeslotInMinutes": 5,
        "ControlSchema": "",
        "HistoryTimeslotInMinutes": 5,
        "HistoryTableEnabled": false,
        "SuspendedTablesTableEnabled": false,
        "StatusTableEnabled": false,
        "FullLoadExceptionTableEnabled": false
      },
      "StreamBufferSettings": {
        "StreamBufferCount": 3,
        "StreamBufferSizeInMB": 8,
        "CtrlStreamBufferSizeInMB": 5
      },
      "ChangeProcessingDdlHandlingPolicy": {
        "HandleSourceTableDropped": true,
        "HandleSourceTableTruncated": true,
        "HandleSourceTableAltered": true
      },
      "ErrorBehavior": {
        "DataErrorPolicy": "LOG_ERROR",
        "DataTruncationErrorPolicy": "LOG_ERROR",
        "DataErrorEscalationPolicy": "SUSPEND_TABLE",
        "DataErrorEscalationCount": 0,
        "TableErrorPolicy": "SUSPEND_TABLE",
        "TableErrorEscalationPolicy": "STOP_TASK",
        "TableErrorEscalationCount": 0,
        "RecoverableErrorCount": -1,
        "RecoverableErrorInterval": 5,
        "RecoverableErrorThrottling": true,
        "RecoverableErrorThrottlingMax": 1800,
        "RecoverableErrorStopRetryAfterThrottlingMax": true,
        "ApplyErrorDeletePolicy": "IGNORE_RECORD",
        "ApplyErrorInsertPolicy": "LOG_ERROR",
        "ApplyErrorUpdatePolicy": "LOG_ERROR",
        "ApplyErrorEscalationPolicy": "LOG_ERROR",
        "ApplyErrorEscalationCount": 0,
        "ApplyErrorFailOnTruncationDdl": false,
        "FullLoadIgnoreConflicts": true,
        "FailOnTransactionConsistencyBreached": false,
        "FailOnNoTablesCaptured": true,
        "EventErrorPolicy": "IGNORE",
        "DataMaskingErrorPolicy": "STOP_TASK"
      },
      "ChangeProcessingTuning": {
        "BatchApplyPreserveTransaction": true,
        "BatchApplyTimeoutMin": 1,
        "BatchApplyTimeoutMax": 30,
        "BatchApplyMemoryLimit": 500,
        "BatchSplitSize": 0,
        "MinTransactionSize": 1000,
        "CommitTimeout": 1,
        "MemoryLimitTotal": 1024,
        "MemoryKeepTime": 60,
        "StatementCacheSize": 50
      },
      "ValidationSettings": {
        "EnableValidation": false,
        "ValidationMode": "ROW_LEVEL",
        "ThreadCount": 5,
        "PartitionSize": 10000,
        "FailureMaxCount": 10000,
        "RecordFailureDelayInMinutes": 5,
        "RecordSuspendDelayInMinutes": 30,
        "MaxKeyColumnSize": 8096,
        "TableFailureMaxCount": 1000,
        "ValidationOnly": false,
        "HandleCollationDiff": false,
        "RecordFailureDelayLimitInMinutes": 0,
        "SkipLobColumns": false,
        "ValidationPartialLobSize": 0,
        "ValidationQueryCdcDelaySeconds": 0
      },
      "PostProcessingRules": null,
      "CharacterSetSettings": {
        "CharacterReplacements": [
          {"SourceCharacterCodePoint": 35, "TargetCharacterCodePoint": 52}
        ],
        "CharacterSetSupport": {"CharacterSet": "UTF16_PlatformEndian", "ReplaceWithCharacterCodePoint": 61}
      },
      "LoopbackPreventionSettings": null,
      "BeforeImageSettings": {"EnableBeforeImage": true, "FieldName": "before-image", "ColumnFilter": "pk-only"},
      "FailTaskWhenCleanTaskResourceFailed": false
    }"#;

    #[test]
    fn full_dms_document() {
        let p = parse(FULL_DOCUMENT);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let s = &p.settings;
        assert_eq!(
            s.full_load_settings.target_table_prep_mode,
            TargetTablePrepMode::DoNothing
        );
        assert_eq!(s.logging.log_components.len(), 19);
        assert_eq!(
            s.control_tables_settings.history_timeslot_in_minutes_lower,
            5
        );
        assert_eq!(s.error_behavior.event_error_policy, "IGNORE");
        assert_eq!(s.validation_settings.max_key_column_size, 8096);
        assert_eq!(s.character_set_settings.character_replacements.len(), 1);
        assert!(s.before_image_settings.enable_before_image);
        assert!(!s.fail_task_when_clean_task_resource_failed);
        // Only settings differing from the defaults are reported, not the whole document.
        assert_eq!(
            p.not_honoured(),
            [
                "CharacterSetSettings.CharacterReplacements",
                "CharacterSetSettings.CharacterSetSupport"
            ]
        );
    }
}
