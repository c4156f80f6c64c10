//! Turns source rows and table events into encoded DMS records for one table.
//!
//! A [`TableEncoder`] is built once per table (per task) from the table's columns and its
//! resolved mapping plan; it then encodes every record of that table, for full load and CDC
//! alike, so both phases write the same columns, names, types and partition keys.

use crate::columns::ColumnKind;
use crate::mapping::{ColumnSource, PartitionKeySpec, RecordLayout, TablePlan};
use crate::settings::ColumnFilter;
use crate::source::TableInfo;
use dmsrs_codec::{
    ColumnDef, Control, Fields, Metadata, MetadataRef, NumRef, Operation, PartitionKeyType, Record,
    RecordType, RenderOptions, TableDef, Value, encode_data_into, encode_into, partition, render,
};
use dmsrs_tasks::KinesisSettings;

/// Kinesis's limit on one record: data plus partition key.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Per-task encoding settings shared by every table of the task.
#[derive(Clone, Debug)]
pub struct TaskTarget {
    /// The task's resource id (`TaskId` in control-record partition keys).
    pub task_id: String,
    /// The target endpoint's Kinesis settings.
    pub kinesis: KinesisSettings,
    /// Value rendering options derived from `kinesis`.
    pub render: RenderOptions,
    /// Limited LOB mode: LOB values are cut to this many bytes (`LobMaxSize` KB).
    pub lob_limit: Option<usize>,
    /// `SupportLobs`: when false, LOB columns are left out.
    pub support_lobs: bool,
    /// `BeforeImageSettings`: the before-image key and its column filter, when enabled.
    pub before_image: Option<(String, ColumnFilter)>,
    /// `ParallelApplyThreads > 0`: CDC records default to primary-key partitioning.
    pub parallel_apply: bool,
    /// The task's `Logging` settings.
    pub log: crate::tasklog::TaskLog,
}

/// Transaction metadata of a CDC record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TxnMeta {
    /// `transaction-id`.
    pub transaction_id: u64,
    /// `transaction-record-id` (1-based).
    pub record_id: u64,
    /// `prev-transaction-id`.
    pub prev_transaction_id: Option<u64>,
    /// `prev-transaction-record-id`.
    pub prev_record_id: Option<u64>,
    /// `commit-timestamp`.
    pub commit_timestamp: String,
    /// `stream-position`.
    pub stream_position: String,
}

/// One encoded record, ready for the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// Kinesis partition key.
    pub partition_key: String,
    /// The record bytes.
    pub data: Vec<u8>,
    /// The operation (for statistics).
    pub operation: Operation,
}

impl Encoded {
    /// Size as Kinesis counts it (data + partition key).
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Encodes the records of one table.
#[derive(Debug)]
pub struct TableEncoder {
    target: std::sync::Arc<TaskTarget>,
    plan: TablePlan,
    kinds: Vec<ColumnKind>,
    /// For each output column: whether to emit it (LOB columns dropped without SupportLobs).
    emit: Vec<bool>,
    /// Source index -> output name, for before-images.
    source_names: Vec<Option<String>>,
    table_def: TableDef,
    /// The source columns the encoder was built for.
    source_columns: Vec<crate::source::ColumnInfo>,
    /// Size of the last record written, by kind (0 inserts and loads, 1 updates, 2 deletes
    /// and the rest): the next record's buffer starts this large.
    size_hint: [std::sync::atomic::AtomicUsize; 3],
    /// `schema.table` partition key (built once: most CDC records use it).
    schema_table_key: String,
}

impl TableEncoder {
    /// Builds the encoder from the table's columns (as planned) and its plan.
    pub fn new(target: std::sync::Arc<TaskTarget>, info: &TableInfo, plan: TablePlan) -> Self {
        let kinds: Vec<ColumnKind> = info.columns.iter().map(|c| c.kind.clone()).collect();
        let emit: Vec<bool> = plan
            .columns
            .iter()
            .map(|c| match c.source {
                ColumnSource::Source { index } => {
                    target.support_lobs || !kinds.get(index).is_some_and(ColumnKind::is_lob)
                }
                ColumnSource::Expression(_) => true,
            })
            .collect();
        let mut source_names = vec![None; info.columns.len()];
        for c in &plan.columns {
            if let ColumnSource::Source { index } = c.source
                && let Some(slot) = source_names.get_mut(index)
            {
                *slot = Some(c.name.clone());
            }
        }
        let columns = plan
            .columns
            .iter()
            .zip(&emit)
            .filter(|(_, e)| **e)
            .map(|(c, _)| {
                let def = match &c.source {
                    ColumnSource::Source { index } => match info.columns.get(*index) {
                        Some(col) => col.kind.column_def(col.nullable),
                        None => ColumnDef::default(),
                    },
                    ColumnSource::Expression(_) => {
                        let dt = c.data_type.as_ref();
                        ColumnDef {
                            data_type: dt.map_or_else(
                                || "WSTRING".to_owned(),
                                |d| d.type_name.to_ascii_uppercase(),
                            ),
                            length: dt.and_then(|d| d.length),
                            precision: dt.and_then(|d| d.precision),
                            scale: dt.and_then(|d| d.scale),
                            nullable: Some(true),
                            extra: Fields::new(),
                        }
                    }
                };
                (c.name.clone(), def)
            })
            .collect();
        let pk_names: Vec<String> = plan
            .primary_key
            .iter()
            .filter_map(|i| source_names.get(*i).cloned().flatten())
            .collect();
        let table_def = TableDef {
            columns,
            primary_key: (!pk_names.is_empty()).then_some(pk_names),
            collation_name: info.collation.clone(),
            extra: Fields::new(),
        };
        TableEncoder {
            target,
            kinds,
            emit,
            source_names,
            table_def,
            source_columns: info.columns.clone(),
            size_hint: [512.into(), 512.into(), 512.into()],
            schema_table_key: partition::schema_table_key(&plan.target_schema, &plan.target_table),
            plan,
        }
    }

    /// The table's collation, when known.
    pub fn collation(&self) -> Option<&str> {
        self.table_def.collation_name.as_deref()
    }

    /// The resolved plan.
    pub fn plan(&self) -> &TablePlan {
        &self.plan
    }

    /// Column kinds of the source columns, by source index.
    pub fn kinds(&self) -> &[ColumnKind] {
        &self.kinds
    }

    /// The task settings this encoder writes with.
    pub fn target(&self) -> &TaskTarget {
        &self.target
    }

    /// A table-level control record (`create-table`, `drop-table`, alters, renames).
    /// `drop-table` carries `"control": {}`; the others the current table definition.
    pub fn control(&self, op: Operation) -> Encoded {
        self.control_with(op, Fields::new())
    }

    /// A control record with extra keys in its `control` object (for example the new name
    /// of a renamed table or column).
    pub fn control_with(&self, op: Operation, extra: Fields) -> Encoded {
        let table_def = (op != Operation::DropTable).then(|| self.table_def.clone());
        control_record(
            &self.target,
            &self.plan.target_schema,
            &self.plan.target_table,
            op,
            table_def,
            extra,
        )
    }

    /// True when this encoder was built for exactly these source columns (names, kinds,
    /// nullability and key flags), so rows described by `columns` can use it.
    pub fn matches_columns(&self, columns: &[crate::source::ColumnInfo]) -> bool {
        self.source_columns.len() == columns.len()
            && self.source_columns.iter().zip(columns).all(|(a, b)| a == b)
    }

    /// Renders source values (by source index) with each column's kind.
    pub fn render_row(&self, values: Vec<mysql_async::Value>) -> Vec<Value> {
        let lob = self.target.lob_limit;
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| match self.kinds.get(i) {
                Some(k) => k.render(v, &self.target.render, if k.is_lob() { lob } else { None }),
                None => Value::Null,
            })
            .collect()
    }

    /// A data record. `after` is the row (the deleted row for deletes), `before` the
    /// before-image for updates, both as rendered source values by source index; `txn` is
    /// present for CDC records.
    ///
    /// The record is written straight from the borrowed values (no intermediate `Record`),
    /// through the codec's `encode_data_into`, which writes the same bytes as `encode`.
    pub fn row(
        &self,
        op: Operation,
        after: &[Value],
        before: Option<&[Value]>,
        txn: Option<&TxnMeta>,
    ) -> Encoded {
        self.row_at(op, after, before, txn, &render::TimestampText::now())
    }

    /// [`TableEncoder::row`] with the metadata `timestamp` given: CDC encodes a rows event's
    /// rows with one timestamp, read once (DMS stamps records as it processes them; rows
    /// processed together get the same time).
    pub fn row_at(
        &self,
        op: Operation,
        after: &[Value],
        before: Option<&[Value]>,
        txn: Option<&TxnMeta>,
        ts: &render::TimestampText,
    ) -> Encoded {
        static NULL: Value = Value::Null;
        let t = &self.target;
        let include_null = t.kinesis.include_null_and_empty;
        // Values of add-column expressions, by output column index.
        let exprs: Vec<(usize, Value)> = self
            .plan
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.source {
                ColumnSource::Expression(e) => Some((
                    i,
                    e.eval(|j| text(after.get(j)))
                        .map_or(Value::Null, Value::String),
                )),
                ColumnSource::Source { .. } => None,
            })
            .collect();
        let data = self
            .plan
            .columns
            .iter()
            .zip(&self.emit)
            .enumerate()
            .filter_map(|(i, (c, emit))| {
                if !emit {
                    return None;
                }
                let v = match &c.source {
                    ColumnSource::Source { index } => after.get(*index).unwrap_or(&NULL),
                    ColumnSource::Expression(_) => exprs
                        .iter()
                        .find(|(j, _)| *j == i)
                        .map_or(&NULL, |(_, v)| v),
                };
                (include_null || !v.is_null()).then_some((c.name.as_str(), v))
            });
        let bi_columns = match (&self.plan.before_image, before) {
            (Some(bi), Some(b)) if op == Operation::Update => Some((bi, b)),
            _ => None,
        };
        let bi_data = bi_columns.into_iter().flat_map(|(bi, b)| {
            bi.columns.iter().filter_map(move |c| {
                let v = b.get(c.source_index).unwrap_or(&NULL);
                (include_null || !v.is_null()).then_some((c.name.as_str(), v))
            })
        });
        let data = data.chain(bi_data);

        let (key_type, key) = self.partition_key(op.clone(), after, txn);
        let with_details = txn.filter(|_| t.kinesis.include_transaction_details);
        let meta = MetadataRef {
            timestamp: ts.as_str(),
            record_type: RecordType::Data.as_str(),
            operation: op.as_str(),
            partition_key_type: Some(key_type.as_str()),
            partition_key_value: (t.kinesis.include_partition_value
                && key_type != PartitionKeyType::SchemaTable)
                .then_some(key.as_str()),
            schema_name: &self.plan.target_schema,
            table_name: &self.plan.target_table,
            transaction_id: txn.map(|x| NumRef::U64(x.transaction_id)),
            transaction_record_id: with_details.map(|x| NumRef::U64(x.record_id)),
            prev_transaction_id: with_details
                .and_then(|x| x.prev_transaction_id)
                .map(NumRef::U64),
            prev_transaction_record_id: with_details
                .and_then(|x| x.prev_record_id)
                .map(NumRef::U64),
            commit_timestamp: with_details.map(|x| x.commit_timestamp.as_str()),
            stream_position: with_details.map(|x| x.stream_position.as_str()),
        };
        let hint = &self.size_hint[match op {
            Operation::Update => 1,
            Operation::Delete => 2,
            _ => 0,
        }];
        let mut bytes = Vec::with_capacity(hint.load(std::sync::atomic::Ordering::Relaxed) + 64);
        let before_image = || match (&t.before_image, before) {
            (Some((field, filter)), Some(b)) if op == Operation::Update => {
                Some((field.as_str(), self.before_image(b, *filter, include_null)))
            }
            _ => None,
        };
        if self.plan.layout == RecordLayout::Document {
            let doc: Fields = data.map(|(k, v)| (k.to_owned(), v.clone())).collect();
            let mut wrapped = Fields::with_capacity(1);
            wrapped.push("_doc", Value::Object(doc));
            let bi = before_image();
            encode_data_into(
                t.kinesis.message_format,
                wrapped.iter(),
                bi,
                &meta,
                &mut bytes,
            );
        } else {
            let bi = before_image();
            encode_data_into(t.kinesis.message_format, data, bi, &meta, &mut bytes);
        }
        hint.store(bytes.len(), std::sync::atomic::Ordering::Relaxed);
        Encoded {
            partition_key: key,
            data: bytes,
            operation: op,
        }
    }

    /// The `BeforeImageSettings` before-image: its fields, borrowed from `before`.
    fn before_image<'a>(
        &'a self,
        before: &'a [Value],
        filter: ColumnFilter,
        include_null: bool,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        before.iter().enumerate().filter_map(move |(i, v)| {
            let Some(Some(name)) = self.source_names.get(i) else {
                return None;
            };
            let keep = match filter {
                ColumnFilter::PkOnly => self.plan.primary_key.contains(&i),
                ColumnFilter::NonLob => !self.kinds.get(i).is_some_and(ColumnKind::is_lob),
                ColumnFilter::All => true,
            };
            (keep && (include_null || !v.is_null())).then_some((name.as_str(), v))
        })
    }

    fn partition_key(
        &self,
        op: Operation,
        row: &[Value],
        txn: Option<&TxnMeta>,
    ) -> (PartitionKeyType, String) {
        let t = &self.target;
        let schema = &self.plan.target_schema;
        let table = &self.plan.target_table;
        let default = if op == Operation::Load || t.parallel_apply {
            PartitionKeySpec::PrimaryKey
        } else {
            PartitionKeySpec::SchemaTable
        };
        let spec = match &self.plan.partition_key {
            PartitionKeySpec::Default => &default,
            other => other,
        };
        let schema_table = || (PartitionKeyType::SchemaTable, self.schema_table_key.clone());
        match spec {
            PartitionKeySpec::PrimaryKey | PartitionKeySpec::Default => {
                if self.plan.primary_key.is_empty() {
                    return schema_table();
                }
                let values = self
                    .plan
                    .primary_key
                    .iter()
                    .map(|i| row.get(*i).unwrap_or(&Value::Null));
                (
                    PartitionKeyType::PrimaryKey,
                    partition::primary_key_key(
                        schema,
                        table,
                        values,
                        t.kinesis.partition_include_schema_table,
                    ),
                )
            }
            PartitionKeySpec::SchemaTable => schema_table(),
            PartitionKeySpec::Constant(c) => {
                (PartitionKeyType::Constant, partition::clamp(c.clone()))
            }
            PartitionKeySpec::AttributeName(_) => {
                let v = self
                    .plan
                    .partition_key_column
                    .and_then(|i| self.plan.columns.get(i))
                    .map(|c| match &c.source {
                        ColumnSource::Source { index } => {
                            row.get(*index).map(Value::to_key_text).unwrap_or_default()
                        }
                        ColumnSource::Expression(e) => {
                            e.eval(|i| text(row.get(i))).unwrap_or_default()
                        }
                    })
                    .unwrap_or_default();
                (PartitionKeyType::AttributeName, partition::clamp(v))
            }
            PartitionKeySpec::TransactionId => match txn {
                Some(x) => (
                    PartitionKeyType::TransactionId,
                    x.transaction_id.to_string(),
                ),
                None => schema_table(),
            },
        }
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.to_key_text()),
    }
}

/// A control record for `schema.table` with an optional table definition.
pub fn control_record(
    t: &TaskTarget,
    schema: &str,
    table: &str,
    op: Operation,
    table_def: Option<TableDef>,
    extra: Fields,
) -> Encoded {
    let mut m = Metadata::new(
        render::now_timestamp(),
        RecordType::Control,
        op.clone(),
        schema,
        table,
    );
    m.partition_key_type = Some(PartitionKeyType::TaskId);
    if t.kinesis.include_partition_value {
        m.partition_key_value = Some(t.task_id.clone());
    }
    let control = t
        .kinesis
        .include_control_details
        .then_some(Control { table_def, extra });
    let record = Record::control(control, m);
    let mut data = Vec::with_capacity(512);
    encode_into(&record, t.kinesis.message_format, &mut data);
    Encoded {
        partition_key: partition::control_key(&t.task_id, schema, table),
        data,
        operation: op,
    }
}

/// The `create-table` control record DMS sends for its own `awsdms_apply_exceptions` table
/// when CDC starts (schema `""`; columns as in a real capture).
pub fn apply_exceptions_record(t: &TaskTarget) -> Encoded {
    let col = |ty: &str, length: Option<u64>| ColumnDef {
        data_type: ty.to_owned(),
        length,
        nullable: Some(false),
        ..Default::default()
    };
    let def = TableDef {
        columns: vec![
            ("TASK_NAME".into(), col("STRING", Some(128))),
            ("TABLE_OWNER".into(), col("STRING", Some(128))),
            ("TABLE_NAME".into(), col("STRING", Some(128))),
            ("ERROR_TIME".into(), col("TIMESTAMP", None)),
            ("STATEMENT".into(), col("STRING", None)),
            ("ERROR".into(), col("STRING", None)),
        ],
        ..Default::default()
    };
    control_record(
        t,
        "",
        "awsdms_apply_exceptions",
        Operation::CreateTable,
        Some(def),
        Fields::new(),
    )
}
