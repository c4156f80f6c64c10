//! What a scenario run found: one entry per step, statistics, durations. Serialises to the
//! `--json` report: `{"steps":[{"name","expected","received","ok","records":[...]}],
//! "statistics":{...},"durations_ms":{...}}`.

use serde::Serialize;
use std::collections::BTreeMap;

/// One record as a step saw it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecordSummary {
    /// Kinesis sequence number.
    pub sequence_number: String,
    /// Kinesis partition key.
    pub partition_key: String,
    /// `metadata.operation`.
    pub operation: String,
    /// `schema.table` (or just the table when the schema is empty).
    pub table: String,
    /// The row's key (primary-key values), when the record is a row.
    pub key: Option<String>,
    /// Changed columns: every column of an insert or load, the columns whose value differs
    /// from the before-image for an update, the altered column of a control record.
    pub changed: Vec<String>,
    /// The whole DMS record (`data`, before-image, `control`, `metadata`).
    pub record: serde_json::Value,
}

/// One checked step.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepReport {
    /// What the step did.
    pub name: String,
    /// What it expected (a short text, e.g. `6 records: 2 drop-table, 2 create-table, 2 load`).
    pub expected: String,
    /// How many records (or rows) it received.
    pub received: usize,
    /// Whether every expectation held.
    pub ok: bool,
    /// Why not, when not ok.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The records of the step, in sequence order.
    pub records: Vec<RecordSummary>,
    /// How long the step took.
    pub duration_ms: u64,
}

/// Table statistics of one task, in DMS field names.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TableStat {
    /// Schema.
    pub schema_name: String,
    /// Table.
    pub table_name: String,
    /// CDC inserts.
    pub inserts: u64,
    /// CDC updates.
    pub updates: u64,
    /// CDC deletes.
    pub deletes: u64,
    /// CDC DDLs.
    pub ddls: u64,
    /// Rows loaded.
    pub full_load_rows: u64,
    /// Rows that failed to load.
    pub full_load_error_rows: u64,
    /// Table state.
    pub table_state: String,
}

impl From<&dmsrs_tasks::TableStatistics> for TableStat {
    fn from(s: &dmsrs_tasks::TableStatistics) -> Self {
        TableStat {
            schema_name: s.schema_name.clone(),
            table_name: s.table_name.clone(),
            inserts: s.inserts,
            updates: s.updates,
            deletes: s.deletes,
            ddls: s.ddls,
            full_load_rows: s.full_load_rows,
            full_load_error_rows: s.full_load_error_rows,
            table_state: s.table_state.clone(),
        }
    }
}

/// A whole run.
#[derive(Clone, Debug, Serialize, Default, PartialEq)]
pub struct Report {
    /// Steps in order.
    pub steps: Vec<StepReport>,
    /// Table statistics by task identifier.
    pub statistics: BTreeMap<String, Vec<TableStat>>,
    /// Durations by phase (`deploy`, `full_load`, `cdc`, `total`).
    pub durations_ms: BTreeMap<String, u64>,
}

impl Report {
    /// Steps that passed.
    pub fn passed(&self) -> usize {
        self.steps.iter().filter(|s| s.ok).count()
    }

    /// Steps that failed.
    pub fn failed(&self) -> usize {
        self.steps.len() - self.passed()
    }

    /// True when every step passed (and there was at least one).
    pub fn ok(&self) -> bool {
        !self.steps.is_empty() && self.failed() == 0
    }
}
