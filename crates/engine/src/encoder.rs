//! Turns source rows and table events into encoded DMS records for one table.
//!
//! A [`TableEncoder`] is built once per table (per task) from the table's columns and its
//! resolved mapping plan; it then encodes every record of that table, for full load and CDC
//! alike, so both phases write the same columns, names, types and partition keys.

use crate::binlog::ImageSink;
use crate::columns::ColumnKind;
use crate::mapping::{ColumnSource, PartitionKeySpec, RecordLayout, TablePlan};
use crate::pool::Pool;
use crate::row::{RenderedRows, Row};
use crate::settings::ColumnFilter;
use crate::source::TableInfo;
use bytes::Bytes;
use dmsrs_codec::ValueRef;
use dmsrs_codec::{
    ColumnDef, Control, DataRecordTemplate, Fields, Metadata, MetadataRef, MetadataTemplate,
    NumRef, Operation, PartitionKeyType, Record, RecordType, RenderOptions, TableDef, Value,
    encode_into, partition, render,
};
use dmsrs_tasks::KinesisSettings;
use std::borrow::Cow;
use std::sync::atomic::Ordering;

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
    pub data: Bytes,
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
    table_def: TableDef,
    /// The source columns the encoder was built for.
    source_columns: Vec<crate::source::ColumnInfo>,
    /// Size of the last record written, by kind (0 inserts and loads, 1 updates, 2 deletes
    /// and the rest): the next record's buffer starts this large.
    size_hint: [std::sync::atomic::AtomicUsize; 3],
    /// `schema.table` partition key (built once: most CDC records use it).
    schema_table_key: String,
    /// The data records' keys, laid out once.
    template: DataRecordTemplate,
    /// Some output column is an expression (`add-column`).
    has_expressions: bool,
    /// The emitted output columns: (output index, source index, or `None` for an
    /// expression).
    data_columns: Vec<(usize, Option<usize>)>,
    /// The source columns of the `BeforeImageSettings` before-image (named ones that pass
    /// its column filter), when enabled.
    before_columns: Vec<usize>,
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
        // Data members by index: the plan's columns, then its before-image columns (for the
        // document layout, the one `_doc` member).
        let data_names: Vec<&str> = if plan.layout == RecordLayout::Document {
            vec!["_doc"]
        } else {
            plan.columns
                .iter()
                .map(|c| c.name.as_str())
                .chain(
                    plan.before_image
                        .iter()
                        .flat_map(|b| b.columns.iter().map(|c| c.name.as_str())),
                )
                .collect()
        };
        let template = DataRecordTemplate::new(
            target.kinesis.message_format,
            data_names,
            target.before_image.as_ref().map(|(field, _)| {
                (
                    field.as_str(),
                    source_names.iter().map(|n| n.as_deref().unwrap_or("")),
                )
            }),
        );
        let has_expressions = plan
            .columns
            .iter()
            .any(|c| matches!(c.source, ColumnSource::Expression(_)));
        let data_columns = plan
            .columns
            .iter()
            .zip(&emit)
            .enumerate()
            .filter(|(_, (_, emit))| **emit)
            .map(|(i, (c, _))| match c.source {
                ColumnSource::Source { index } => (i, Some(index)),
                ColumnSource::Expression(_) => (i, None),
            })
            .collect();
        let before_columns = match &target.before_image {
            Some((_, filter)) => (0..info.columns.len())
                .filter(|i| {
                    let named = matches!(source_names.get(*i), Some(Some(_)));
                    named
                        && match filter {
                            ColumnFilter::PkOnly => plan.primary_key.contains(i),
                            ColumnFilter::NonLob => !kinds.get(*i).is_some_and(ColumnKind::is_lob),
                            ColumnFilter::All => true,
                        }
                })
                .collect(),
            None => Vec::new(),
        };
        TableEncoder {
            template,
            has_expressions,
            data_columns,
            before_columns,
            target,
            kinds,
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

    /// Renders source values (by source index) with each column's kind, as a new row of
    /// `rows`.
    pub fn render_into(&self, values: Vec<mysql_async::Value>, rows: &mut RenderedRows) {
        rows.start_row();
        for (i, v) in values.into_iter().enumerate() {
            self.push_value(rows, i, v);
        }
    }

    /// Renders `v`, the value of source column `col`, into the current row of `rows`.
    fn push_value(&self, rows: &mut RenderedRows, col: usize, v: mysql_async::Value) {
        match self.kinds.get(col) {
            Some(k) => rows.push_source(k, v, &self.target.render, self.lob_limit(k)),
            None => rows.push_null(),
        }
    }

    /// The LOB limit for a column of kind `k`.
    fn lob_limit(&self, k: &ColumnKind) -> Option<usize> {
        self.target.lob_limit.filter(|_| k.is_lob())
    }

    /// An [`ImageSink`] that renders the binlog's row images into `rows`, one row per image.
    pub(crate) fn image_sink<'a>(&'a self, rows: &'a mut RenderedRows) -> RowSink<'a> {
        RowSink { enc: self, rows }
    }

    /// A data record. `after` is the row (the deleted row for deletes), `before` the
    /// before-image for updates, both as rendered source values by source index; `txn` is
    /// present for CDC records.
    ///
    /// For many records of one table, [`TableEncoder::rows`] does the per-group work once.
    pub fn row(
        &self,
        op: Operation,
        after: Row<'_>,
        before: Option<Row<'_>>,
        txn: Option<&TxnMeta>,
    ) -> Encoded {
        self.row_at(op, after, before, txn, &render::TimestampText::now())
    }

    /// [`TableEncoder::row`] with the metadata `timestamp` given.
    pub fn row_at(
        &self,
        op: Operation,
        after: Row<'_>,
        before: Option<Row<'_>>,
        txn: Option<&TxnMeta>,
        ts: &render::TimestampText,
    ) -> Encoded {
        let record_id = txn.map_or(0, |t| t.record_id);
        self.rows(op, txn, ts).row(after, before, record_id)
    }

    /// A writer for a group of data records of this table that share the operation, the
    /// transaction (its `record_id` aside) and the metadata `timestamp`: the rows of one rows
    /// event, or one chunk of a full load (DMS stamps records as it processes them; rows
    /// processed together get the same time). The metadata is laid out once for the group.
    pub fn rows(
        &self,
        op: Operation,
        txn: Option<&TxnMeta>,
        ts: &render::TimestampText,
    ) -> RowWriter<'_> {
        let t = &self.target;
        let key = self.key_rule(&op, txn);
        let key_type = key.key_type();
        let with_details = txn.filter(|_| t.kinesis.include_transaction_details);
        let meta = MetadataRef {
            timestamp: ts.as_str(),
            record_type: RecordType::Data.as_str(),
            operation: op.as_str(),
            partition_key_type: Some(key_type.as_str()),
            // The value differs by record: a placeholder (see DataRecordTemplate::metadata).
            partition_key_value: (t.kinesis.include_partition_value
                && key_type != PartitionKeyType::SchemaTable)
                .then_some(""),
            schema_name: &self.plan.target_schema,
            table_name: &self.plan.target_table,
            transaction_id: txn.map(|x| NumRef::U64(x.transaction_id)),
            transaction_record_id: with_details.map(|_| NumRef::U64(0)),
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
        RowWriter {
            enc: self,
            op: op.clone(),
            metadata: self.template.metadata(&meta),
            before_image: op == Operation::Update,
            key,
            hint,
        }
    }

    /// The name of data member `i` (see the template in [`TableEncoder::new`]).
    fn data_name(&self, i: usize) -> Option<&str> {
        let columns = &self.plan.columns;
        match columns.get(i) {
            Some(c) => Some(&c.name),
            None => self
                .plan
                .before_image
                .as_ref()?
                .columns
                .get(i - columns.len())
                .map(|c| c.name.as_str()),
        }
    }

    /// The `BeforeImageSettings` before-image: its fields (by source index) from `before`.
    fn before_image<'a>(
        &'a self,
        before: Row<'a>,
        include_null: bool,
    ) -> impl Iterator<Item = (usize, ValueRef<'a>)> + 'a {
        self.before_columns
            .iter()
            .map(move |&i| (i, before.get(i)))
            .filter(move |(_, v)| include_null || !v.is_null())
    }

    /// How records of operation `op` (in transaction `txn`, for CDC) get their partition key.
    fn key_rule(&self, op: &Operation, txn: Option<&TxnMeta>) -> KeyRule {
        let t = &self.target;
        let default = if *op == Operation::Load || t.parallel_apply {
            PartitionKeySpec::PrimaryKey
        } else {
            PartitionKeySpec::SchemaTable
        };
        let spec = match &self.plan.partition_key {
            PartitionKeySpec::Default => &default,
            other => other,
        };
        match spec {
            PartitionKeySpec::PrimaryKey | PartitionKeySpec::Default => {
                if self.plan.primary_key.is_empty() {
                    KeyRule::SchemaTable
                } else {
                    KeyRule::PrimaryKey
                }
            }
            PartitionKeySpec::SchemaTable => KeyRule::SchemaTable,
            PartitionKeySpec::Constant(c) => KeyRule::Constant(partition::clamp(c.clone())),
            PartitionKeySpec::AttributeName(_) => KeyRule::AttributeName,
            PartitionKeySpec::TransactionId => match txn {
                Some(x) => KeyRule::TransactionId(x.transaction_id.to_string()),
                None => KeyRule::SchemaTable,
            },
        }
    }

    /// The partition key of `row` under `rule`.
    fn partition_key(&self, rule: &KeyRule, row: Row<'_>) -> String {
        let t = &self.target;
        match rule {
            KeyRule::SchemaTable => self.schema_table_key.clone(),
            KeyRule::PrimaryKey => partition::primary_key_key(
                &self.plan.target_schema,
                &self.plan.target_table,
                self.plan.primary_key.iter().map(|i| row.get(*i)),
                t.kinesis.partition_include_schema_table,
            ),
            KeyRule::Constant(c) | KeyRule::TransactionId(c) => c.clone(),
            KeyRule::AttributeName => {
                let v = self
                    .plan
                    .partition_key_column
                    .and_then(|i| self.plan.columns.get(i))
                    .and_then(|c| match &c.source {
                        ColumnSource::Source { index } => row.key_text(*index).map(Cow::into_owned),
                        ColumnSource::Expression(e) => e.eval(|i| row.key_text(i)),
                    })
                    .unwrap_or_default();
                partition::clamp(v)
            }
        }
    }
}

/// How the records of a group get their partition key.
#[derive(Clone, Debug)]
enum KeyRule {
    SchemaTable,
    PrimaryKey,
    /// A constant (already clamped).
    Constant(String),
    AttributeName,
    /// The transaction id, as text.
    TransactionId(String),
}

impl KeyRule {
    fn key_type(&self) -> PartitionKeyType {
        match self {
            KeyRule::SchemaTable => PartitionKeyType::SchemaTable,
            KeyRule::PrimaryKey => PartitionKeyType::PrimaryKey,
            KeyRule::Constant(_) => PartitionKeyType::Constant,
            KeyRule::AttributeName => PartitionKeyType::AttributeName,
            KeyRule::TransactionId(_) => PartitionKeyType::TransactionId,
        }
    }
}

/// Writes the data records of one group: made by [`TableEncoder::rows`].
#[derive(Debug)]
pub struct RowWriter<'a> {
    enc: &'a TableEncoder,
    op: Operation,
    metadata: MetadataTemplate,
    /// The group's operation carries a before-image (updates).
    before_image: bool,
    key: KeyRule,
    /// The encoder's size hint for this operation.
    hint: &'a std::sync::atomic::AtomicUsize,
}

impl RowWriter<'_> {
    /// One record: `after` is the row (the deleted row for deletes), `before` the row before
    /// an update; `record_id` is the `transaction-record-id` (ignored unless the group has
    /// transaction details).
    pub fn row(&self, after: Row<'_>, before: Option<Row<'_>>, record_id: u64) -> Encoded {
        let mut data = Vec::new();
        let partition_key = self.row_into(after, before, record_id, &mut data);
        Encoded {
            partition_key,
            data: Bytes::from(data),
            operation: self.op.clone(),
        }
    }

    /// [`RowWriter::row`] appending the record to `buf` (records of many rows can share one
    /// buffer, and then one allocation); returns the record's partition key.
    pub fn row_into(
        &self,
        after: Row<'_>,
        before: Option<Row<'_>>,
        record_id: u64,
        buf: &mut Vec<u8>,
    ) -> String {
        let enc = self.enc;
        let t = &enc.target;
        let include_null = t.kinesis.include_null_and_empty;
        let columns = &enc.plan.columns;
        // Values of add-column expressions, by output column index.
        let exprs: Vec<(usize, Value)> = if enc.has_expressions {
            columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| match &c.source {
                    ColumnSource::Expression(e) => Some((
                        i,
                        e.eval(|j| after.key_text(j))
                            .map_or(Value::Null, Value::String),
                    )),
                    ColumnSource::Source { .. } => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let exprs = &exprs;
        let data = enc
            .data_columns
            .iter()
            .map(move |&(i, source)| {
                let v = match source {
                    Some(index) => after.get(index),
                    None => exprs
                        .iter()
                        .find(|(j, _)| *j == i)
                        .map_or(ValueRef::Null, |(_, v)| ValueRef::Value(v)),
                };
                (i, v)
            })
            .filter(|(_, v)| include_null || !v.is_null());
        let key = enc.partition_key(&self.key, after);
        // With the before-image columns of the plan (transformations) appended to `data`.
        let plan_before = enc
            .plan
            .before_image
            .as_ref()
            .filter(|_| self.before_image)
            .zip(before);
        match plan_before {
            None if enc.plan.layout == RecordLayout::Record => {
                self.write(data, before, record_id, &key, buf)
            }
            _ => {
                let bi_data = plan_before.into_iter().flat_map(|(bi, b)| {
                    bi.columns.iter().enumerate().filter_map(move |(k, c)| {
                        let v = b.get(c.source_index);
                        (include_null || !v.is_null()).then_some((columns.len() + k, v))
                    })
                });
                let data = data.chain(bi_data);
                if enc.plan.layout == RecordLayout::Document {
                    let doc: Fields = data
                        .filter_map(|(i, v)| {
                            Some((enc.data_name(i)?.to_owned(), crate::row::owned(v)))
                        })
                        .collect();
                    let doc = Value::Object(doc);
                    self.write(
                        std::iter::once((0, ValueRef::Value(&doc))),
                        before,
                        record_id,
                        &key,
                        buf,
                    )
                } else {
                    self.write(data, before, record_id, &key, buf)
                }
            }
        }
        key
    }

    /// Writes a record with these `data` members, the `BeforeImageSettings` before-image
    /// from `before` (updates), and the group's metadata.
    fn write<'d>(
        &self,
        data: impl Iterator<Item = (usize, ValueRef<'d>)>,
        before: Option<Row<'_>>,
        record_id: u64,
        key: &str,
        buf: &mut Vec<u8>,
    ) {
        let enc = self.enc;
        let include_null = enc.target.kinesis.include_null_and_empty;
        let before_image = match (&enc.target.before_image, before) {
            (Some(_), Some(b)) if self.before_image => Some(enc.before_image(b, include_null)),
            _ => None,
        };
        let start = buf.len();
        buf.reserve(self.hint.load(Ordering::Relaxed) + 64);
        enc.template
            .encode_into(data, before_image, &self.metadata, record_id, key, buf);
        self.hint.store(buf.len() - start, Ordering::Relaxed);
    }
}

/// At most this many bytes of record buffers are kept (a burst of large batches leaves no
/// more than this pinned) ...
const RECORD_BUFFERS_BYTES: usize = 16 << 20;
/// ... and no buffer larger than this.
const RECORD_BUFFER_MAX: usize = 1 << 20;

/// Record buffers kept for reuse (see [`RecordBuf`]), sized by capacity.
static RECORD_BUFFERS: Pool<Vec<u8>> =
    Pool::new(usize::MAX, RECORD_BUFFER_MAX, RECORD_BUFFERS_BYTES);

/// A kept buffer of at least `need` bytes, else a new one (rounded up to a power of two, so
/// the pool settles on a few sizes that fit most jobs). Growing a kept buffer instead would
/// copy its whole old allocation: `realloc` does not know that it is empty.
fn take_buffer(pool: &Pool<Vec<u8>>, need: usize) -> Vec<u8> {
    pool.take(|b| b.capacity() >= need)
        .unwrap_or_else(|| Vec::with_capacity(need.next_power_of_two()))
}

/// Gives `buf`, cleared, back to the pool.
fn give_buffer(pool: &Pool<Vec<u8>>, mut buf: Vec<u8>) {
    buf.clear();
    let size = buf.capacity();
    pool.give(buf, size);
}

/// The buffer behind the records of a [`RecordBatch`]: when the last of them is dropped
/// (the target wrote them), the buffer goes back to a shared pool for the next batch. A
/// reused buffer is mapped and warm in the caches already; a fresh one costs the allocator
/// new pages (faulted in and zeroed by the kernel) for every batch.
struct RecordBuf(Vec<u8>);

impl AsRef<[u8]> for RecordBuf {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for RecordBuf {
    fn drop(&mut self) {
        give_buffer(&RECORD_BUFFERS, std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod record_buffer_tests {
    use super::{RECORD_BUFFER_MAX, RECORD_BUFFERS_BYTES, give_buffer, take_buffer};
    use crate::pool::Pool;

    #[test]
    fn kept_buffers_are_bounded_and_large_enough() {
        let pool = Pool::new(usize::MAX, RECORD_BUFFER_MAX, RECORD_BUFFERS_BYTES);
        // New buffers: rounded up to a power of two.
        let b = take_buffer(&pool, 3000);
        let small = b.capacity();
        assert!(small >= 4096);
        give_buffer(&pool, b);
        assert_eq!(pool.held(), (1, small));
        // Too small for this need: a new one, the small one stays.
        let big = take_buffer(&pool, small + 1);
        assert!(big.capacity() >= 2 * small);
        assert_eq!(pool.held().0, 1);
        // Large enough: reused, and cleared when it was given back.
        let mut b = take_buffer(&pool, 100);
        assert_eq!((b.capacity(), pool.held()), (small, (0, 0)));
        b.extend_from_slice(b"records");
        give_buffer(&pool, b);
        assert!(take_buffer(&pool, small).is_empty());
        // Limits: one buffer over the size limit, and the total.
        give_buffer(&pool, Vec::with_capacity(RECORD_BUFFER_MAX + 1));
        assert_eq!(pool.held(), (0, 0));
        for _ in 0..RECORD_BUFFERS_BYTES / RECORD_BUFFER_MAX + 4 {
            give_buffer(&pool, Vec::with_capacity(RECORD_BUFFER_MAX));
        }
        let (count, bytes) = pool.held();
        assert!(bytes <= RECORD_BUFFERS_BYTES);
        assert!(count <= RECORD_BUFFERS_BYTES / RECORD_BUFFER_MAX);
        assert!(count > 0);
    }
}

/// Data records written into one buffer, so that a group of records costs one allocation:
/// [`RecordBatch::finish`] hands them out as slices of it. The buffer is reused once every
/// record is dropped.
#[derive(Debug)]
pub struct RecordBatch {
    buf: Vec<u8>,
    /// (partition key, start, end) of each record in `buf`.
    spans: Vec<(String, usize, usize)>,
}

impl RecordBatch {
    /// Room for about `records` records written by `writer` (sized by the last record
    /// it wrote).
    pub fn with_capacity(records: usize, writer: &RowWriter<'_>) -> Self {
        let need = records * (writer.hint.load(Ordering::Relaxed) + 64);
        let buf = take_buffer(&RECORD_BUFFERS, need);
        RecordBatch {
            buf,
            spans: Vec::with_capacity(records),
        }
    }

    /// Writes one record with `writer` (see [`RowWriter::row`]). A record over the Kinesis
    /// limit ([`MAX_RECORD_BYTES`], data plus key) is dropped: `Err((partition key, size))`.
    pub fn push(
        &mut self,
        writer: &RowWriter<'_>,
        after: Row<'_>,
        before: Option<Row<'_>>,
        record_id: u64,
    ) -> Result<(), (String, usize)> {
        let start = self.buf.len();
        let key = writer.row_into(after, before, record_id, &mut self.buf);
        let size = self.buf.len() - start + key.len();
        if size > MAX_RECORD_BYTES {
            self.buf.truncate(start);
            return Err((key, size));
        }
        self.spans.push((key, start, self.buf.len()));
        Ok(())
    }

    /// The records, in the order written.
    pub fn finish(self, op: &Operation) -> Vec<Encoded> {
        let buf = Bytes::from_owner(RecordBuf(self.buf));
        self.spans
            .into_iter()
            .map(|(partition_key, a, b)| Encoded {
                partition_key,
                data: buf.slice(a..b),
                operation: op.clone(),
            })
            .collect()
    }
}

/// Renders binlog row images into [`RenderedRows`]: made by [`TableEncoder::image_sink`].
pub(crate) struct RowSink<'a> {
    enc: &'a TableEncoder,
    rows: &'a mut RenderedRows,
}

impl ImageSink for RowSink<'_> {
    fn start_image(&mut self) {
        self.rows.start_row();
    }

    fn value(&mut self, col: usize, v: mysql_async::Value) {
        self.enc.push_value(self.rows, col, v);
    }

    fn integer(&mut self, col: usize, v: i128) {
        let enc = self.enc;
        match enc.kinds.get(col) {
            // What `push_source` does with an integer of these kinds, without the detour.
            Some(ColumnKind::Integer { .. } | ColumnKind::Year) => {
                self.rows.push_integer(v, &enc.target.render);
            }
            _ => enc.push_value(self.rows, col, crate::binlog::int_value(v)),
        }
    }

    fn text(&mut self, col: usize, raw: &[u8]) {
        let enc = self.enc;
        match enc.kinds.get(col) {
            Some(k) => self
                .rows
                .push_text_bytes(k, raw, &enc.target.render, enc.lob_limit(k)),
            None => self.rows.push_null(),
        }
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
        data: Bytes::from(data),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::mapping::TableMappings;
    use crate::source::ColumnInfo;
    use dmsrs_codec::{MessageFormat, Number};
    use std::sync::Arc;

    fn column(name: &str, kind: ColumnKind, pk: bool) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: kind.data_type_name().to_ascii_lowercase(),
            kind,
            nullable: !pk,
            is_primary_key: pk,
        }
    }

    /// `s.people`: `id` (pk), `first_name`, `last_name`, `bio` (a LOB).
    fn people() -> TableInfo {
        TableInfo {
            schema: "s".into(),
            name: "people".into(),
            columns: vec![
                column(
                    "id",
                    ColumnKind::Integer {
                        bytes: 4,
                        unsigned: false,
                    },
                    true,
                ),
                column("first_name", ColumnKind::String { length: 20 }, false),
                column("last_name", ColumnKind::String { length: 20 }, false),
                column("bio", ColumnKind::Clob, false),
            ],
            primary_key: vec![0],
            collation: None,
        }
    }

    fn target(f: impl FnOnce(&mut TaskTarget)) -> Arc<TaskTarget> {
        let kinesis = KinesisSettings {
            message_format: MessageFormat::JsonUnformatted,
            ..dmsrs_tasks::seed::kinesis_settings("arn", None)
        };
        let mut t = TaskTarget {
            task_id: "TASK".into(),
            render: kinesis.render_options(),
            lob_limit: None,
            support_lobs: true,
            before_image: Some(("before-image".into(), ColumnFilter::PkOnly)),
            parallel_apply: false,
            log: crate::tasklog::TaskLog::default(),
            kinesis,
        };
        f(&mut t);
        Arc::new(t)
    }

    fn encoder(rules: serde_json::Value, target: Arc<TaskTarget>) -> TableEncoder {
        let m =
            TableMappings::from_json(&serde_json::json!({ "rules": rules }).to_string()).unwrap();
        crate::engine::plan_table(&m, &target, &people())
            .unwrap()
            .unwrap()
    }

    fn include_all() -> serde_json::Value {
        serde_json::json!({"rule-type": "selection", "rule-id": "1", "rule-name": "1",
            "object-locator": {"schema-name": "s", "table-name": "%"}, "rule-action": "include"})
    }

    fn row(id: i64, first: Option<&str>, last: Option<&str>, bio: Option<&str>) -> RenderedRows {
        let s = |v: Option<&str>| v.map_or(Value::Null, |v| Value::String(v.into()));
        let mut row = RenderedRows::new();
        row.start_row();
        for v in [
            Value::Number(Number::from_literal(id.to_string()).unwrap()),
            s(first),
            s(last),
            s(bio),
        ] {
            row.push_value(v);
        }
        row
    }

    fn txn() -> TxnMeta {
        TxnMeta {
            transaction_id: 4_294_967_396,
            record_id: 3,
            prev_transaction_id: Some(99),
            prev_record_id: Some(2),
            commit_timestamp: "2026-11-24T01:02:03Z".into(),
            stream_position: "b.000001:400:0:400:4294967396:b.000001:300".into(),
        }
    }

    const TS: &str = "2026-11-24T01:02:03.456789Z";

    fn ts() -> render::TimestampText {
        render::TimestampText::from_micros(1_795_482_123_456_789)
    }

    /// `(partition key, record text)`.
    fn encode(
        enc: &TableEncoder,
        op: Operation,
        after: &RenderedRows,
        before: Option<&RenderedRows>,
        txn: Option<&TxnMeta>,
    ) -> (String, String) {
        let e = enc.row_at(op, after.row(0), before.map(|b| b.row(0)), txn, &ts());
        (e.partition_key, String::from_utf8(e.data.to_vec()).unwrap())
    }

    fn cdc_meta(op: &str, key: &str) -> String {
        format!(
            r#""metadata":{{"timestamp":"{TS}","record-type":"data","operation":"{op}",{key}"schema-name":"s","table-name":"people","transaction-id":4294967396,"transaction-record-id":3,"prev-transaction-id":99,"prev-transaction-record-id":2,"commit-timestamp":"2026-11-24T01:02:03Z","stream-position":"b.000001:400:0:400:4294967396:b.000001:300"}}"#
        )
    }

    #[test]
    fn the_timestamp_is_the_one_given() {
        assert_eq!(ts().as_str(), TS);
    }

    #[test]
    fn cdc_update_with_a_before_image_and_schema_table_key() {
        let enc = encoder(serde_json::json!([include_all()]), target(|_| {}));
        let after = row(7, Some("Ada"), None, Some("x\"y"));
        let before = row(7, Some("Ad"), None, None);
        let (key, text) = encode(&enc, Operation::Update, &after, Some(&before), Some(&txn()));
        assert_eq!(key, "s.people");
        let meta = cdc_meta("update", r#""partition-key-type":"schema-table","#);
        assert_eq!(
            text,
            format!(
                r#"{{"data":{{"id":7,"first_name":"Ada","last_name":null,"bio":"x\"y"}},"before-image":{{"id":7}},{meta}}}"#
            ) + "\n"
        );
        // The same rows through one writer for the group: the same bytes.
        let w = enc.rows(Operation::Update, Some(&txn()), &ts());
        let again = w.row(after.row(0), Some(before.row(0)), 3);
        assert_eq!(String::from_utf8(again.data.to_vec()).unwrap(), text);
        // A delete carries no before-image member.
        let (_, text) = encode(&enc, Operation::Delete, &before, None, Some(&txn()));
        assert!(
            text.starts_with(
                r#"{"data":{"id":7,"first_name":"Ad","last_name":null,"bio":null},"metadata":"#
            ),
            "{text}"
        );
    }

    #[test]
    fn nulls_left_out_expressions_and_before_image_columns() {
        let rules = serde_json::json!([include_all(),
            {"rule-type": "transformation", "rule-id": "3", "rule-name": "3", "rule-action": "add-column",
             "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "people"},
             "value": "FULL_NAME", "expression": "$first_name||' '||$last_name",
             "data-type": {"type": "string", "length": 50}},
            {"rule-type": "transformation", "rule-id": "4", "rule-action": "add-before-image-columns",
             "rule-target": "column", "object-locator": {"schema-name": "s", "table-name": "%"},
             "before-image-def": {"column-filter": "all"}}]);
        let enc = encoder(
            rules,
            target(|t| {
                t.kinesis.include_null_and_empty = false;
                t.before_image = Some(("old".into(), ColumnFilter::All));
            }),
        );
        let after = row(7, Some("Ada"), Some("Lovelace"), None);
        let before = row(7, Some("Ada"), None, Some("b"));
        let (_, text) = encode(&enc, Operation::Update, &after, Some(&before), Some(&txn()));
        let meta = cdc_meta("update", r#""partition-key-type":"schema-table","#);
        assert_eq!(
            text,
            format!(
                r#"{{"data":{{"id":7,"first_name":"Ada","last_name":"Lovelace","FULL_NAME":"Ada Lovelace","BI_id":7,"BI_first_name":"Ada","BI_bio":"b"}},"old":{{"id":7,"first_name":"Ada","bio":"b"}},{meta}}}"#
            ) + "\n"
        );
        // An insert: no before-image, neither the member nor the columns.
        let (_, text) = encode(&enc, Operation::Insert, &after, None, Some(&txn()));
        assert!(
            text.starts_with(r#"{"data":{"id":7,"first_name":"Ada","last_name":"Lovelace","FULL_NAME":"Ada Lovelace"},"metadata":"#),
            "{text}"
        );
    }

    #[test]
    fn partition_rules_and_their_values() {
        let om = |params: serde_json::Value| {
            serde_json::json!([include_all(),
                {"rule-type": "object-mapping", "rule-id": "2", "rule-name": "om",
                 "rule-action": "map-record-to-record",
                 "object-locator": {"schema-name": "s", "table-name": "people"},
                 "mapping-parameters": params}])
        };
        let after = row(7, Some("Ada"), Some("Love\"lace"), None);
        let cases = [
            (
                om(serde_json::json!({"partition-key-type": "primary-key"})),
                "primary-key",
                "s.people.7",
            ),
            (
                om(
                    serde_json::json!({"partition-key-type": "attribute-name", "partition-key-name": "last_name"}),
                ),
                "attribute-name",
                "Love\"lace",
            ),
            (
                om(
                    serde_json::json!({"partition-key-type": "constant", "partition-key": {"value": "K"}}),
                ),
                "constant",
                "K",
            ),
            (
                om(serde_json::json!({"partition-key-type": "transaction-id"})),
                "transaction-id",
                "4294967396",
            ),
        ];
        for (rules, key_type, key) in cases {
            let enc = encoder(rules, target(|_| {}));
            let (got, text) = encode(&enc, Operation::Insert, &after, None, Some(&txn()));
            assert_eq!(got, key);
            let value = key.replace('"', "\\\"");
            assert!(
                text.contains(&format!(
                    r#""partition-key-type":"{key_type}","partition-key-value":"{value}","schema-name""#
                )),
                "{text}"
            );
        }
        // ParallelApplyThreads: primary-key by default; without IncludePartitionValue no value.
        let enc = encoder(
            serde_json::json!([include_all()]),
            target(|t| {
                t.parallel_apply = true;
                t.kinesis.include_partition_value = false;
            }),
        );
        let (key, text) = encode(&enc, Operation::Insert, &after, None, Some(&txn()));
        assert_eq!(key, "s.people.7");
        assert!(
            text.contains(r#""partition-key-type":"primary-key","schema-name""#),
            "{text}"
        );
    }

    #[test]
    fn full_load_records_and_the_pretty_layout() {
        let enc = encoder(
            serde_json::json!([include_all()]),
            target(|t| t.kinesis.message_format = MessageFormat::Json),
        );
        let (key, text) = encode(
            &enc,
            Operation::Load,
            &row(1, Some("a"), None, None),
            None,
            None,
        );
        assert_eq!(key, "s.people.1");
        assert_eq!(
            text,
            format!(
                "{{\n\t\"data\":\t{{\n\t\t\"id\":\t1,\n\t\t\"first_name\":\t\"a\",\n\t\t\"last_name\":\tnull,\n\t\t\"bio\":\tnull\n\t}},\n\t\"metadata\":\t{{\n\t\t\"timestamp\":\t\"{TS}\",\n\t\t\"record-type\":\t\"data\",\n\t\t\"operation\":\t\"load\",\n\t\t\"partition-key-type\":\t\"primary-key\",\n\t\t\"partition-key-value\":\t\"s.people.1\",\n\t\t\"schema-name\":\t\"s\",\n\t\t\"table-name\":\t\"people\"\n\t}}\n}}"
            )
        );
    }

    #[test]
    fn the_document_layout_wraps_the_row() {
        let rules = serde_json::json!([include_all(),
            {"rule-type": "object-mapping", "rule-id": "3", "rule-action": "map-record-to-document",
             "object-locator": {"schema-name": "s", "table-name": "people"},
             "mapping-parameters": {"partition-key-type": "schema-table"}}]);
        let enc = encoder(rules, target(|t| t.kinesis.include_null_and_empty = false));
        let (_, text) = encode(
            &enc,
            Operation::Update,
            &row(7, Some("Ada"), None, None),
            Some(&row(7, Some("A"), None, None)),
            Some(&txn()),
        );
        assert!(
            text.starts_with(r#"{"data":{"_doc":{"id":7,"first_name":"Ada"}},"before-image":{"id":7},"metadata":"#),
            "{text}"
        );
    }
}
