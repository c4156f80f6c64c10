//! Change data capture: binlog events in, DMS records out, checkpoints saved.
//!
//! A reader task reads the binlog ([`crate::binlog`]) and hands events over a bounded
//! channel to this loop. Rows events are decoded and encoded on the runtime's workers, in
//! parallel, and their records written in binlog order. Records of several transactions
//! share a batch; the batch is written when it is full, or when the reader has nothing more
//! ready at a transaction boundary (the source is idle; inside a transaction, after
//! [`MID_TRANSACTION_WAIT`]), and only then is the checkpoint moved to the end of the last
//! transaction in it. So:
//!
//! * only committed work is emitted, in commit order (MariaDB and MySQL write a transaction
//!   to the binlog when it commits; a rolled-back InnoDB transaction never appears);
//! * memory is bounded by one batch, whatever the transaction size;
//! * after a crash or restart the task resumes at the checkpoint: nothing is lost, records
//!   written after the checkpoint may arrive again (at-least-once);
//! * a lost source connection is retried with backoff from the checkpoint; a purged binlog
//!   fails the task with [`EngineError::BinlogPurged`];
//! * the start is `CdcStartPosition` (`file:pos`, `checkpoint:V1#...` or a date), else
//!   `CdcStartTime` (read from the newest binlog file opened before that time, skipping
//!   transactions older than it), else the checkpoint (resume-processing), else the position
//!   taken before full load, else the current end of the binlog; `CdcStopPosition`
//!   (`server_time:` / `commit_time:`) stops the task by itself.

use crate::binlog::{
    AlterOp, BinlogColumn, BinlogError, BinlogPosition, BinlogReader, ChangeEvent, DdlChange,
    RawRows, ReaderOptions, RowKind, classify,
};
use crate::checkpoint::{Checkpoint, CheckpointStore, parse_start_position};
use crate::encoder::{RecordBatch, TableEncoder, TaskTarget, TxnMeta, apply_exceptions_record};
use crate::engine::plan_table;
use crate::error::{EngineError, Result};
use crate::mapping::TableMappings;
use crate::row::RenderedRows;
use crate::runtime::{Cancel, TaskEntry};
use crate::sink::Sink;
use crate::source::{self, ColumnInfo, SourceConfig, TableInfo};
use crate::tasklog::Component;
use dmsrs_codec::{Fields, Operation, render};
use dmsrs_streams::DynStreamWriter;
use dmsrs_tasks::{ReplicationTask, StartTask, StartType, TaskStatus, resource_id, stop_reason};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

/// Events buffered between the binlog reader and the writer.
const CHANNEL_EVENTS: usize = 256;
/// Records per write when the source keeps the engine busy.
const MAX_BATCH_RECORDS: usize = 500;
/// Groups of rows events of at least this many bytes are decoded and encoded on the
/// runtime's workers; smaller ones (a single-row change: latency matters more) inline.
const PARALLEL_MIN_BYTES: usize = 1024;
/// Consecutive rows events of one table and operation are grouped into one job up to this
/// many bytes (fewer, larger jobs: less scheduling).
const GROUP_BYTES: usize = 32 * 1024;
/// Encoding jobs in flight (bounds memory: each holds one rows event and its records).
const MAX_IN_FLIGHT: usize = 16;

/// The `transaction-record-id` of a rows event's first row: known, or sent by the job of
/// the rows event before it once that job knows how many rows it has.
enum FirstId {
    Known(u64),
    After(oneshot::Receiver<u64>),
}

/// What a rows event produced.
struct RowsDone {
    records: Vec<crate::encoder::Encoded>,
    /// Rows in the event (record ids used), filtered or not.
    rows: u64,
}

/// Consecutive rows events of one table and operation, encoded together (one job).
struct RowsGroup {
    enc: Arc<TableEncoder>,
    op: Operation,
    /// Source (schema, table), for the statistics.
    table: Arc<(String, String)>,
    /// Each event's rows with its transaction metadata (the record id aside).
    events: Vec<(RawRows, TxnMeta)>,
    bytes: usize,
}

/// Decodes and encodes a group of rows events. Rows are decoded first; then the group's
/// first record id is awaited (from the job before it) and the next group's is passed on,
/// so decoding and encoding run in parallel across jobs while record ids stay in row order.
async fn encode_rows(
    group: RowsGroup,
    first: FirstId,
    next: Option<oneshot::Sender<u64>>,
) -> Result<RowsDone> {
    let RowsGroup {
        enc, op, events, ..
    } = group;
    let mut rendered = RenderedRows::pooled();
    let mut counts = Vec::with_capacity(events.len());
    let mut decoded = Ok(());
    for (raw, _) in &events {
        match raw.decode_into(&mut enc.image_sink(&mut rendered)) {
            Ok(n) => counts.push(n),
            Err(e) => {
                decoded = Err(e);
                break;
            }
        }
    }
    let first_id = match first {
        FirstId::Known(id) => id,
        FirstId::After(rx) => rx.await.map_err(|_| {
            EngineError::Internal("the rows event before this one failed to encode".into())
        })?,
    };
    // A decoding error stops the task; the next job learns that from the dropped sender.
    decoded.map_err(binlog_err)?;
    let rows: u64 = counts.iter().sum();
    if let Some(next) = next {
        let _ = next.send(first_id + rows);
    }
    let plan = enc.plan();
    let ts = render::TimestampText::now();
    let images_per_row = if op == Operation::Update { 2 } else { 1 };
    let mut image = 0;
    let mut id = first_id;
    let mut batch: Option<RecordBatch> = None;
    for ((_, mut meta), n) in events.into_iter().zip(counts) {
        meta.record_id = id;
        let writer = enc.rows(op.clone(), Some(&meta), &ts);
        let batch = batch.get_or_insert_with(|| {
            RecordBatch::with_capacity(usize::try_from(rows).unwrap_or(0), &writer)
        });
        for _ in 0..n {
            let (data, bi) = match op {
                Operation::Update => (rendered.row(image + 1), Some(rendered.row(image))),
                _ => (rendered.row(image), None),
            };
            image += images_per_row;
            let record_id = id;
            id += 1;
            if plan.row_filter.is_some() && !plan.row_passes(|i| data.key_text(i)) {
                continue;
            }
            if let Err((key, size)) = batch.push(&writer, data, bi, record_id) {
                let (schema, table) = (&plan.source_schema, &plan.source_table);
                warn!(table = %format!("{schema}.{table}"), %key, size, "change skipped: its record exceeds the Kinesis 1 MiB limit");
            }
        }
    }
    let records = batch.map(|b| b.finish(&op)).unwrap_or_default();
    Ok(RowsDone { records, rows })
}

/// How long the reader may run dry inside a transaction before what is batched is written
/// anyway.
const MID_TRANSACTION_WAIT: Duration = Duration::from_millis(2);
/// How often the checkpoint is saved while changes flow.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// First wait before reconnecting to the source (doubled per failed attempt, up to 10 s).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The replica `server_id` a task reads the binlog with: distinct per task (a hash of its
/// id), never 0.
fn replica_server_id(base: u32, task_id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in task_id.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    base.wrapping_add(h & 0xffff) | 1
}

/// Everything a CDC run needs.
pub(crate) struct CdcCtx {
    pub engine_cfg: crate::EngineConfig,
    pub source: SourceConfig,
    pub writer: Arc<dyn DynStreamWriter>,
    pub mappings: Arc<TableMappings>,
    pub target: Arc<TaskTarget>,
    pub entry: Arc<TaskEntry>,
    pub cancel: Arc<Cancel>,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub task: ReplicationTask,
    pub start: StartTask,
    pub snapshot_position: Option<(String, u64)>,
    pub tables: Vec<(TableInfo, Arc<TableEncoder>)>,
}

/// `CdcStopPosition`: stop at a server or commit time.
#[derive(Clone, Copy, Debug)]
enum StopAt {
    ServerTime(u32),
    CommitTime(u32),
}

fn parse_stop(s: &str) -> Result<StopAt> {
    let bad = || {
        EngineError::InvalidParameter(format!(
            "CdcStopPosition {s:?} must be server_time:YYYY-MM-DDTHH:MM:SS or commit_time:YYYY-MM-DDTHH:MM:SS"
        ))
    };
    let (kind, when) = s.split_once(':').ok_or_else(bad)?;
    let secs = parse_datetime(when).ok_or_else(bad)?;
    match kind.trim().to_ascii_lowercase().as_str() {
        "server_time" => Ok(StopAt::ServerTime(secs)),
        "commit_time" => Ok(StopAt::CommitTime(secs)),
        _ => Err(bad()),
    }
}

/// A DMS date-time (UTC unless it says otherwise) to epoch seconds.
fn parse_datetime(s: &str) -> Option<u32> {
    let t = dmsrs_tasks::parse_timestamp(s)?;
    u32::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// Where an explicit CDC start points.
#[derive(Clone, Debug, PartialEq)]
enum CdcStart {
    /// A binlog position (`file:pos` or a `checkpoint:V1#...` string).
    Position(BinlogPosition),
    /// `CdcStartTime`, or a `CdcStartPosition` in date form (epoch seconds, UTC).
    Time(u32),
}

/// A `CdcStartPosition`: the date form (`2018-03-08T12:12:12`, UTC), the native `file:pos`
/// form, or a `checkpoint:V1#...` string.
fn parse_cdc_start(s: &str) -> Result<CdcStart> {
    if let Some(t) = parse_datetime(s) {
        return Ok(CdcStart::Time(t));
    }
    let (file, pos) = parse_start_position(s)?;
    Ok(CdcStart::Position(BinlogPosition::new(file, pos)))
}

/// Whole seconds since the epoch (binlog timestamps have that resolution; a time inside a
/// second includes the transactions of that second).
fn epoch_secs(t: SystemTime) -> u32 {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// The binlog file to read from for `CdcStartTime` `t`: the newest binlog file created
/// before `t` (the timestamp of its FORMAT_DESCRIPTION event, written when the server opened
/// it), read from its start; the caller skips the transactions older than `t`. Every event
/// of the files before it is older than `t` (it was written before that file was opened).
/// When no file is older than `t`, the oldest file if it is the first binlog ever
/// (`.000001`: nothing older was purged), else [`EngineError::BinlogPurged`].
async fn position_for_time(
    source: &SourceConfig,
    probe_server_id: u32,
    t: u32,
) -> Result<BinlogPosition> {
    use mysql_async::prelude::Queryable;
    let mut conn = source.connect().await?;
    let logs: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await?;
    let _ = conn.disconnect().await;
    let files: Vec<String> = logs
        .iter()
        .filter_map(|r| r.get_opt::<String, _>(0).and_then(|v| v.ok()))
        .collect();
    let Some(oldest) = files.first().cloned() else {
        return Err(EngineError::Source {
            message: "binary logging is off on the source: start it with log_bin (and binlog_format=ROW, binlog_row_image=FULL)"
                .into(),
            retryable: false,
        });
    };
    // Files are opened one after the other: "created before t" holds for a prefix of the
    // list. Binary search for its last file. (Strictly before: a file opened in the very
    // second `t` may follow transactions of that second in the file before it.)
    let (mut lo, mut hi) = (0, files.len());
    let mut oldest_start = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let created = first_event_time(source, probe_server_id, &files[mid]).await?;
        debug!(file = %files[mid], created, cdc_start_time = t, "binlog file start time");
        if mid == 0 {
            oldest_start = Some(created);
        }
        if created < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if let Some(file) = lo.checked_sub(1).and_then(|i| files.get(i)) {
        return Ok(BinlogPosition::new(file.clone(), 4));
    }
    if oldest
        .rsplit('.')
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        == Some(1)
    {
        return Ok(BinlogPosition::new(oldest, 4));
    }
    Err(EngineError::BinlogPurged {
        position: format!(
            "for CdcStartTime {} (the oldest binlog on the source, {oldest}, starts at {})",
            commit_timestamp(t),
            commit_timestamp(oldest_start.unwrap_or(0))
        ),
    })
}

/// The creation time of a binlog file: the timestamp of its FORMAT_DESCRIPTION event.
async fn first_event_time(source: &SourceConfig, probe_server_id: u32, file: &str) -> Result<u32> {
    use futures::StreamExt;
    use mysql_async::BinlogStreamRequest;
    const FORMAT_DESCRIPTION: u8 = 15;
    let err = |e: mysql_async::Error| -> EngineError {
        binlog_err(BinlogError::from_mysql(e, &BinlogPosition::new(file, 4)))
    };
    let conn = mysql_async::Conn::new(
        SourceConfig {
            database: None,
            ..source.clone()
        }
        .opts(),
    )
    .await
    .map_err(err)?;
    let request = BinlogStreamRequest::new(probe_server_id)
        .with_filename(file.as_bytes())
        .with_pos(4u64)
        .with_non_blocking();
    let mut stream = conn.get_binlog_stream(request).await.map_err(err)?;
    let mut found = None;
    // The stream opens with an artificial ROTATE, then the file's FORMAT_DESCRIPTION.
    for _ in 0..4 {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Some(Ok(ev))) => {
                let h = ev.header();
                if h.event_type_raw() == FORMAT_DESCRIPTION && h.timestamp() != 0 {
                    found = Some(h.timestamp());
                    break;
                }
            }
            Ok(Some(Err(e))) => return Err(err(e)),
            Ok(None) => break,
            Err(_) => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.close()).await;
    found.ok_or_else(|| EngineError::Source {
        message: format!("cannot read the start time of binlog file {file} for CdcStartTime"),
        retryable: true,
    })
}

/// A stable, increasing transaction id from the transaction's start position: the binlog
/// file's sequence number in the high bits, the byte position in the low 32 bits. The same
/// transaction gets the same id after a restart, so consumers can deduplicate.
fn transaction_id(begin: &BinlogPosition) -> u64 {
    let seq: u64 = begin
        .file
        .rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (seq << 32) | (begin.pos & 0xffff_ffff)
}

/// The `stream-position` of a rows event at `position` in transaction `txn`:
/// `file:pos:0:pos:transaction-id:begin-file:begin-pos` (written by hand: once per rows
/// event, and `format!` costs more than the rest of the event's bookkeeping).
fn stream_position(position: &BinlogPosition, txn: &Txn) -> String {
    let mut s = String::with_capacity(position.file.len() + txn.begin.file.len() + 80);
    let mut num = itoa::Buffer::new();
    s.push_str(&position.file);
    s.push(':');
    s.push_str(num.format(position.pos));
    s.push_str(":0:");
    s.push_str(num.format(position.pos));
    s.push(':');
    s.push_str(num.format(txn.id));
    s.push(':');
    s.push_str(&txn.begin.file);
    s.push(':');
    s.push_str(num.format(txn.begin.pos));
    s
}

fn commit_timestamp(secs: u32) -> String {
    render::metadata_timestamp(i64::from(secs) * 1_000_000)
}

struct Txn {
    id: u64,
    begin: BinlogPosition,
    timestamp: u32,
    records: u64,
}

/// The CDC loop's state.
struct Capture {
    ctx: CdcCtx,
    sink: Sink,
    /// Encoding jobs of the current transaction, in order (drained into the sink before
    /// anything else is written and at the end of every transaction).
    encoding: std::collections::VecDeque<EncodingJob>,
    /// Rows events not handed to a job yet.
    pending: Option<RowsGroup>,
    /// Receives the next record id from the last job in `encoding`.
    next_id: Option<oneshot::Receiver<u64>>,
    /// Encoders by source (schema, table).
    encoders: HashMap<(String, String), Arc<TableEncoder>>,
    txn: Option<Txn>,
    /// (transaction id, its last record id) of the last transaction with records.
    prev: Option<(u64, u64)>,
    /// End of the last finished transaction / idle position: where to resume.
    resume: BinlogPosition,
    /// The checkpoint last saved, and when.
    saved: Option<BinlogPosition>,
    saved_at: std::time::Instant,
    alter_ops: bool,
    stop_at: Option<StopAt>,
    /// `CdcStartTime` (epoch seconds) until the first transaction at or after it: older
    /// transactions and statements are skipped.
    skip_before: Option<u32>,
    /// The open transaction is older than `CdcStartTime`: its rows are skipped.
    skip_txn: bool,
    /// Sink position at the start of the open transaction (to drop its records when the
    /// connection is lost before its commit).
    txn_mark: Option<u64>,
    /// The reader ran dry inside a transaction: flush if nothing more comes for
    /// [`MID_TRANSACTION_WAIT`].
    unflushed: bool,
}

/// Runs CDC until the task is stopped (or reaches `CdcStopPosition`); returns the stop reason.
pub(crate) async fn run(ctx: CdcCtx) -> Result<&'static str> {
    let task_id = resource_id(&ctx.task.arn).to_owned();
    if ctx.start.start_type == StartType::ReloadTarget {
        ctx.checkpoints.clear(&task_id).await?;
    }
    let stored = ctx.checkpoints.load(&task_id).await?;
    let stop_at = ctx
        .task
        .cdc_stop_position
        .as_deref()
        .map(parse_stop)
        .transpose()?;

    // Where to start: an explicit CdcStartPosition or CdcStartTime (given to this start, or
    // to the task for start-replication), else the checkpoint (resume-processing), else the
    // position taken before full load, else the end of the binlog now.
    let task_start_time = *crate::runtime::lock(&ctx.entry.cdc_start_time);
    let explicit = match (&ctx.start.cdc_start_position, ctx.start.cdc_start_time) {
        (Some(p), _) => Some(parse_cdc_start(p)?),
        (None, Some(t)) => Some(CdcStart::Time(epoch_secs(t))),
        (None, None) if ctx.start.start_type == StartType::StartReplication => {
            match (&ctx.task.cdc_start_position, task_start_time) {
                (Some(p), _) => Some(parse_cdc_start(p)?),
                (None, Some(t)) => Some(CdcStart::Time(epoch_secs(t))),
                (None, None) => None,
            }
        }
        (None, None) => None,
    };
    let mut skip_before = None;
    let start = if let Some(explicit) = explicit {
        match explicit {
            CdcStart::Position(p) => Some(p),
            CdcStart::Time(t) => {
                let probe_id = replica_server_id(ctx.engine_cfg.replica_server_id_base, &task_id)
                    .wrapping_add(1);
                let p = position_for_time(&ctx.source, probe_id, t).await?;
                crate::task_event!(ctx.target.log, Component::SourceCapture, INFO, task = %ctx.task.identifier, cdc_start_time = t, position = %p, "CdcStartTime: reading from this binlog file, skipping older transactions");
                skip_before = Some(t);
                Some(p)
            }
        }
    } else if let (StartType::ResumeProcessing, Some(cp)) = (ctx.start.start_type, &stored) {
        Some(BinlogPosition {
            file: cp.file.clone(),
            pos: cp.pos,
            gtid: cp.gtid.clone(),
        })
    } else if let Some((file, pos)) = &ctx.snapshot_position {
        Some(BinlogPosition::new(file.clone(), *pos))
    } else {
        let mut conn = ctx.source.connect().await?;
        let p = source::binlog_position(&mut conn).await?;
        let _ = conn.disconnect().await;
        Some(p.map(|(f, pos)| BinlogPosition::new(f, pos)).ok_or_else(|| EngineError::Source {
            message: "binary logging is off on the source: start it with log_bin (and binlog_format=ROW, binlog_row_image=FULL)"
                .into(),
            retryable: false,
        })?)
    };
    let start = start.unwrap_or_else(|| BinlogPosition::new("", 4));
    crate::task_event!(ctx.target.log, Component::SourceCapture, INFO, task = %ctx.task.identifier, position = %start, "CDC starts");

    let encoders = ctx
        .tables
        .iter()
        .map(|(i, e)| ((i.schema.clone(), i.name.clone()), Arc::clone(e)))
        .collect::<HashMap<_, _>>();
    let mut cap = Capture {
        sink: Sink::new(Arc::clone(&ctx.writer), MAX_BATCH_RECORDS),
        encoding: std::collections::VecDeque::new(),
        pending: None,
        next_id: None,
        encoders,
        txn: None,
        prev: stored
            .as_ref()
            .filter(|_| ctx.start.start_type == StartType::ResumeProcessing)
            .map(|c| (c.transaction_id, c.last_record_id)),
        resume: start.clone(),
        saved: None,
        saved_at: std::time::Instant::now(),
        alter_ops: ctx.target.kinesis.include_table_alter_operations,
        stop_at,
        skip_before,
        skip_txn: false,
        txn_mark: None,
        unflushed: false,
        ctx,
    };

    // CDC start: one create-table per mapped table, plus DMS's apply-exceptions table.
    if cap.ctx.start.start_type != StartType::ResumeProcessing {
        let mut creates: Vec<_> = cap
            .encoders
            .values()
            .map(|e| e.control(Operation::CreateTable))
            .collect();
        creates.push(apply_exceptions_record(&cap.ctx.target));
        for e in creates {
            cap.sink.push(e).await?;
        }
        cap.sink.flush().await?;
    }
    cap.ctx.entry.set_status(TaskStatus::Running);
    cap.save_checkpoint().await?;

    let mut backoff = FIRST_BACKOFF;
    loop {
        let resumed_at = cap.resume.clone();
        match cap.stream().await {
            Ok(reason) => {
                cap.finish().await?;
                return Ok(reason);
            }
            Err(EngineError::Source {
                message,
                retryable: true,
            }) if !cap.ctx.cancel.is_cancelled() => {
                if cap.resume != resumed_at {
                    // The connection carried changes: this is a new outage, not the same
                    // one going on.
                    backoff = FIRST_BACKOFF;
                }
                warn!(task = %cap.ctx.task.identifier, %message, retry_in = ?backoff, "source connection lost; resuming from the checkpoint");
                cap.reset_to_checkpoint();
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = cap.ctx.cancel.cancelled() => { cap.finish().await?; return Ok(stop_reason::NORMAL); }
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => {
                // Keep what was written; the checkpoint stays at the last acknowledged point.
                let _ = cap.finish().await;
                return Err(e);
            }
        }
    }
}

fn binlog_err(e: BinlogError) -> EngineError {
    match e {
        BinlogError::Purged { position, .. } => EngineError::BinlogPurged {
            position: position.to_string(),
        },
        other => EngineError::Source {
            retryable: other.is_retryable(),
            message: other.to_string(),
        },
    }
}

impl Capture {
    /// Reads from `self.resume` until stopped; `Ok(reason)` on a normal end.
    async fn stream(&mut self) -> Result<&'static str> {
        let server_id = replica_server_id(
            self.ctx.engine_cfg.replica_server_id_base,
            resource_id(&self.ctx.task.arn),
        );
        let mappings = Arc::clone(&self.ctx.mappings);
        let opts = ReaderOptions {
            table_filter: Some(Arc::new(move |s: &str, t: &str| mappings.is_selected(s, t))),
            ..ReaderOptions::default()
        };
        let mut reader =
            BinlogReader::open_with(&self.ctx.source, server_id, Some(self.resume.clone()), opts)
                .await
                .map_err(binlog_err)?;
        let (tx, mut rx) =
            mpsc::channel::<std::result::Result<ChangeEvent, BinlogError>>(CHANNEL_EVENTS);
        let pump = tokio::spawn(async move {
            loop {
                let ev = reader.next().await;
                let stop = ev.is_err();
                if tx.send(ev).await.is_err() || stop {
                    break;
                }
            }
        });
        let _guard = AbortOnDrop(pump);
        loop {
            // While a newer resume point is unsaved, wake up when it is due even if the
            // source stays idle, so the checkpoint (and RecoveryCheckpoint) catch up.
            let dirty = self.saved.as_ref() != Some(&self.resume) && !self.resume.file.is_empty();
            let due = tokio::time::Instant::from_std(self.saved_at + CHECKPOINT_EVERY);
            let ev = tokio::select! {
                ev = rx.recv() => ev,
                _ = self.ctx.cancel.cancelled() => return Ok(stop_reason::NORMAL),
                _ = tokio::time::sleep_until(due), if dirty => {
                    self.flush(true).await?;
                    continue;
                }
                _ = tokio::time::sleep(MID_TRANSACTION_WAIT), if self.unflushed => {
                    self.flush(false).await?;
                    self.unflushed = false;
                    continue;
                }
            };
            self.unflushed = false;
            let Some(ev) = ev else {
                return Err(EngineError::Source {
                    message: "the binlog reader stopped".into(),
                    retryable: true,
                });
            };
            let ev = ev.map_err(binlog_err)?;
            if let Some(reason) = self.handle(ev).await? {
                return Ok(reason);
            }
            // The source has nothing more ready: write what is batched and checkpoint. Inside
            // a transaction more is on its way (a transaction reaches the binlog whole, at
            // commit): the reader is only behind, and flushing would stall the encoding
            // pipeline. Flush then only if nothing comes for a moment.
            if rx.is_empty() {
                self.dispatch().await?;
                if self.txn.is_none() {
                    self.flush(false).await?;
                } else {
                    self.unflushed = true;
                }
            }
        }
    }

    /// Handles one event; `Some(reason)` stops the task.
    async fn handle(&mut self, ev: ChangeEvent) -> Result<Option<&'static str>> {
        match ev {
            ChangeEvent::Begin {
                position,
                timestamp,
                ..
            } => {
                if let Some(StopAt::ServerTime(t)) = self.stop_at
                    && timestamp >= t
                {
                    return Ok(Some(stop_reason::STOPPED_AT_SERVER_TIME));
                }
                self.skip_txn = self.before_start_time(timestamp);
                self.txn_mark = Some(self.sink.mark());
                self.txn = Some(Txn {
                    id: transaction_id(&position),
                    begin: position,
                    timestamp,
                    records: 0,
                });
            }
            ChangeEvent::Rows {
                schema,
                table,
                columns,
                kind,
                rows,
                position,
                timestamp,
            } => {
                let skip = if self.txn.is_some() {
                    self.skip_txn
                } else {
                    self.before_start_time(timestamp)
                };
                if !skip {
                    self.rows(&schema, &table, &columns, kind, rows, &position, timestamp)
                        .await?;
                }
            }
            ChangeEvent::Commit {
                position,
                timestamp,
                ..
            } => {
                // Every record of the transaction is in the sink before it counts as finished.
                self.drain(0).await?;
                self.end_txn(position);
                if let Some(StopAt::CommitTime(t)) = self.stop_at
                    && timestamp >= t
                {
                    return Ok(Some(stop_reason::STOPPED_AT_COMMIT_TIME));
                }
            }
            ChangeEvent::Rollback { position } => {
                self.drain(0).await?;
                self.end_txn(position);
            }
            ChangeEvent::Ddl {
                schema,
                query,
                position,
                timestamp,
            } => {
                if let Some(StopAt::ServerTime(t)) = self.stop_at
                    && timestamp >= t
                {
                    return Ok(Some(stop_reason::STOPPED_AT_SERVER_TIME));
                }
                let skip = if self.txn.is_some() {
                    self.skip_txn
                } else {
                    self.before_start_time(timestamp)
                };
                if !skip {
                    self.ddl(&schema, &query).await?;
                }
                if self.txn.is_none() {
                    self.resume = position;
                }
            }
            ChangeEvent::Progress { position } => {
                if self.txn.is_none() {
                    self.resume = position;
                }
            }
        }
        Ok(None)
    }

    /// True while `CdcStartTime` is not reached: for an event (or transaction) at `timestamp`
    /// that is older than it. The first one at or after it ends the skipping.
    fn before_start_time(&mut self, timestamp: u32) -> bool {
        match self.skip_before {
            Some(t) if timestamp < t => true,
            Some(_) => {
                self.skip_before = None;
                false
            }
            None => false,
        }
    }

    fn end_txn(&mut self, position: BinlogPosition) {
        if let Some(t) = &self.txn {
            crate::task_event!(self.ctx.target.log, Component::TargetApply, DEBUG, transaction_id = t.id, records = t.records, position = %position, "transaction applied");
        }
        self.skip_txn = false;
        self.txn_mark = None;
        if let Some(t) = self.txn.take()
            && t.records > 0
        {
            self.prev = Some((t.id, t.records));
        }
        self.resume = position;
    }

    /// The encoder for rows described by `columns` (re-planned when the table changed).
    fn encoder(
        &mut self,
        schema: &str,
        table: &str,
        columns: &[BinlogColumn],
    ) -> Result<Option<Arc<TableEncoder>>> {
        let cols: Vec<ColumnInfo> = columns
            .iter()
            .map(|c| ColumnInfo {
                name: c.name.clone(),
                kind: c.kind.clone(),
                nullable: c.nullable,
                is_primary_key: c.is_primary_key,
                data_type: c.kind.data_type_name().to_owned(),
            })
            .collect();
        let key = (schema.to_owned(), table.to_owned());
        if let Some(e) = self.encoders.get(&key)
            && e.matches_columns(&cols)
        {
            return Ok(Some(Arc::clone(e)));
        }
        let primary_key = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_primary_key)
            .map(|(i, _)| i)
            .collect();
        let collation = self
            .encoders
            .get(&key)
            .and_then(|e| e.collation().map(str::to_owned));
        let info = TableInfo {
            schema: schema.to_owned(),
            name: table.to_owned(),
            columns: cols,
            primary_key,
            collation,
        };
        match plan_table(&self.ctx.mappings, &self.ctx.target, &info)? {
            Some(enc) => {
                let enc = Arc::new(enc);
                self.encoders.insert(key, Arc::clone(&enc));
                Ok(Some(enc))
            }
            None => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn rows(
        &mut self,
        schema: &str,
        table: &str,
        columns: &Arc<Vec<BinlogColumn>>,
        kind: RowKind,
        rows: RawRows,
        position: &BinlogPosition,
        timestamp: u32,
    ) -> Result<()> {
        let Some(enc) = self.encoder(schema, table, columns)? else {
            return Ok(());
        };
        if self.txn.is_none() {
            // Rows outside BEGIN..COMMIT (a non-transactional statement on some servers).
            self.txn = Some(Txn {
                id: transaction_id(position),
                begin: position.clone(),
                timestamp,
                records: 0,
            });
        }
        let op = match kind {
            RowKind::Insert => Operation::Insert,
            RowKind::Update => Operation::Update,
            RowKind::Delete => Operation::Delete,
        };
        // Everything but the record id is the same for every row of the event: built once.
        let Some(txn) = self.txn.as_ref() else {
            return Ok(());
        };
        let meta = TxnMeta {
            transaction_id: txn.id,
            record_id: 0,
            prev_transaction_id: self.prev.map(|p| p.0),
            prev_record_id: self.prev.map(|p| p.1),
            commit_timestamp: commit_timestamp(txn.timestamp),
            stream_position: stream_position(position, txn),
        };
        let bytes = rows.byte_len();
        match self.pending.as_mut() {
            Some(g)
                if Arc::ptr_eq(&g.enc, &enc)
                    && g.op == op
                    && g.table.0 == schema
                    && g.table.1 == table =>
            {
                g.events.push((rows, meta));
                g.bytes += bytes;
            }
            _ => {
                self.dispatch().await?;
                self.pending = Some(RowsGroup {
                    enc,
                    op,
                    table: Arc::new((schema.to_owned(), table.to_owned())),
                    events: vec![(rows, meta)],
                    bytes,
                });
            }
        }
        if self
            .pending
            .as_ref()
            .is_some_and(|g| g.bytes >= GROUP_BYTES)
        {
            self.dispatch().await?;
        }
        Ok(())
    }

    /// Starts encoding the pending group of rows events: on the runtime's workers when it is
    /// large enough, else right here (after every job before it).
    async fn dispatch(&mut self) -> Result<()> {
        let Some(group) = self.pending.take() else {
            return Ok(());
        };
        let (table, op) = (Arc::clone(&group.table), group.op.clone());
        if group.bytes >= PARALLEL_MIN_BYTES {
            // Record ids continue from the last job still running, else from the count.
            let first = match self.next_id.take() {
                Some(rx) if !self.encoding.is_empty() => FirstId::After(rx),
                _ => FirstId::Known(self.next_record_id()),
            };
            let (tx, rx) = oneshot::channel();
            self.next_id = Some(rx);
            let handle = tokio::spawn(encode_rows(group, first, Some(tx)));
            self.encoding.push_back(EncodingJob { handle, table, op });
            self.drain_to(MAX_IN_FLIGHT).await
        } else {
            self.drain_to(0).await?;
            let first = FirstId::Known(self.next_record_id());
            let done = encode_rows(group, first, None).await?;
            self.rows_done(&table, &op, done).await
        }
    }

    /// The `transaction-record-id` after the rows counted so far (jobs still running aside).
    fn next_record_id(&self) -> u64 {
        self.txn.as_ref().map_or(0, |t| t.records) + 1
    }

    /// Takes the result of a rows event: its records into the sink, its rows into the
    /// transaction's record count and the table statistics.
    async fn rows_done(
        &mut self,
        table: &(String, String),
        op: &Operation,
        done: RowsDone,
    ) -> Result<()> {
        if let Some(txn) = self.txn.as_mut() {
            txn.records += done.rows;
        }
        let count = done.rows;
        self.ctx.entry.table(&table.0, &table.1, |s| match op {
            Operation::Insert => s.inserts += count,
            Operation::Update => s.updates += count,
            _ => s.deletes += count,
        });
        for r in done.records {
            self.sink.push(r).await?;
        }
        Ok(())
    }

    /// DDL: control records for the mapped tables it changes, and fresh table definitions.
    async fn ddl(&mut self, default_schema: &str, query: &str) -> Result<()> {
        self.drain(0).await?;
        let changes = classify(default_schema, query);
        if changes.is_empty() {
            crate::task_event!(self.ctx.target.log, Component::SourceCapture, DEBUG, %query, "statement does not change a table's row shape; skipped");
            return Ok(());
        }
        for change in changes {
            match change {
                DdlChange::CreateTable { schema, table } => {
                    if !self.ctx.mappings.is_selected(&schema, &table) {
                        continue;
                    }
                    if let Some(enc) = self.refresh(&schema, &table).await? {
                        self.sink.push(enc.control(Operation::CreateTable)).await?;
                    }
                    self.count_ddl(&schema, &table);
                }
                DdlChange::DropTable { schema, table } => {
                    let Some(enc) = self.encoders.remove(&(schema.clone(), table.clone())) else {
                        continue;
                    };
                    if self.alter_ops {
                        self.sink.push(enc.control(Operation::DropTable)).await?;
                    }
                    self.count_ddl(&schema, &table);
                    self.ctx.entry.table(&schema, &table, |s| {
                        s.table_state = dmsrs_tasks::table_state::TABLE_DOES_NOT_EXIST.into()
                    });
                }
                DdlChange::RenameTable { from, to } => {
                    let Some(enc) = self.encoders.remove(&from) else {
                        continue;
                    };
                    if self.alter_ops {
                        let mut extra = Fields::new();
                        extra.push("new-schema-name", to.0.as_str());
                        extra.push("new-table-name", to.1.as_str());
                        self.sink
                            .push(enc.control_with(Operation::RenameTable, extra))
                            .await?;
                    }
                    self.count_ddl(&from.0, &from.1);
                    if self.ctx.mappings.is_selected(&to.0, &to.1) {
                        self.refresh(&to.0, &to.1).await?;
                    }
                }
                DdlChange::TruncateTable { schema, table } => {
                    // There is no truncate operation in the DMS Kinesis format: counted, not sent.
                    if self.encoders.contains_key(&(schema.clone(), table.clone())) {
                        self.count_ddl(&schema, &table);
                    }
                }
                DdlChange::AlterTable { schema, table, ops } => {
                    if !self.encoders.contains_key(&(schema.clone(), table.clone()))
                        && !self.ctx.mappings.is_selected(&schema, &table)
                    {
                        continue;
                    }
                    let mut records = Vec::new();
                    let mut extra = Fields::new();
                    for op in &ops {
                        let (o, e) = match op {
                            AlterOp::AddColumn { name } => {
                                (Operation::AddColumn, ("column-name", name.clone(), None))
                            }
                            AlterOp::DropColumn { name } => {
                                (Operation::DropColumn, ("column-name", name.clone(), None))
                            }
                            AlterOp::ModifyColumn { name } => (
                                Operation::ColumnTypeChange,
                                ("column-name", name.clone(), None),
                            ),
                            AlterOp::ChangeColumn { old, new } if old != new => (
                                Operation::RenameColumn,
                                ("column-name", old.clone(), Some(new.clone())),
                            ),
                            AlterOp::ChangeColumn { old, .. } => (
                                Operation::ColumnTypeChange,
                                ("column-name", old.clone(), None),
                            ),
                            AlterOp::RenameColumn { old, new } => (
                                Operation::RenameColumn,
                                ("column-name", old.clone(), Some(new.clone())),
                            ),
                            AlterOp::RenameTable { .. } | AlterOp::Other => continue,
                        };
                        records.push(o);
                        if ops.len() == 1 {
                            extra.push(e.0, e.1.as_str());
                            if let Some(n) = e.2 {
                                extra.push("new-column-name", n.as_str());
                            }
                        }
                    }
                    let renamed_to = ops.iter().find_map(|o| match o {
                        AlterOp::RenameTable { to } => Some(to.clone()),
                        _ => None,
                    });
                    let enc = self.refresh(&schema, &table).await?;
                    if let Some(enc) = &enc
                        && self.alter_ops
                        && !records.is_empty()
                    {
                        let op = if records.len() == 1 {
                            records.remove(0)
                        } else {
                            Operation::ChangeColumns
                        };
                        self.sink.push(enc.control_with(op, extra)).await?;
                    }
                    if let Some((s2, t2)) = renamed_to {
                        if let Some(enc) = self.encoders.remove(&(schema.clone(), table.clone()))
                            && self.alter_ops
                        {
                            let mut extra = Fields::new();
                            extra.push("new-schema-name", s2.as_str());
                            extra.push("new-table-name", t2.as_str());
                            self.sink
                                .push(enc.control_with(Operation::RenameTable, extra))
                                .await?;
                        }
                        if self.ctx.mappings.is_selected(&s2, &t2) {
                            self.refresh(&s2, &t2).await?;
                        }
                    }
                    if enc.is_some() || self.ctx.mappings.is_selected(&schema, &table) {
                        self.count_ddl(&schema, &table);
                    }
                }
            }
        }
        Ok(())
    }

    fn count_ddl(&self, schema: &str, table: &str) {
        self.ctx.entry.table(schema, table, |s| s.ddls += 1);
    }

    /// Re-reads a table's definition from the source and rebuilds its encoder.
    async fn refresh(&mut self, schema: &str, table: &str) -> Result<Option<Arc<TableEncoder>>> {
        let mut conn = self.ctx.source.connect().await?;
        let info = source::table_info(&mut conn, schema, table).await?;
        let _ = conn.disconnect().await;
        let key = (schema.to_owned(), table.to_owned());
        let Some(info) = info else {
            self.encoders.remove(&key);
            return Ok(None);
        };
        match plan_table(&self.ctx.mappings, &self.ctx.target, &info)? {
            Some(enc) => {
                let enc = Arc::new(enc);
                self.encoders.insert(key, Arc::clone(&enc));
                Ok(Some(enc))
            }
            None => Ok(None),
        }
    }

    /// Writes the records of finished encoding jobs, in order, until at most `keep` jobs
    /// are left.
    async fn drain(&mut self, keep: usize) -> Result<()> {
        if keep == 0 {
            self.dispatch().await?;
        }
        self.drain_to(keep).await
    }

    /// Waits for the oldest encoding jobs until at most `keep` run, writing their records.
    async fn drain_to(&mut self, keep: usize) -> Result<()> {
        while self.encoding.len() > keep {
            let Some(job) = self.encoding.pop_front() else {
                break;
            };
            let done = job
                .handle
                .await
                .map_err(|e| EngineError::Internal(format!("encoding rows failed: {e}")))??;
            self.rows_done(&job.table, &job.op, done).await?;
        }
        if self.encoding.is_empty() {
            self.next_id = None;
        }
        Ok(())
    }

    /// Writes the batch, then saves the checkpoint at the last finished transaction (at most
    /// every [`CHECKPOINT_EVERY`] unless `force`: a crash replays at most that much).
    async fn flush(&mut self, force: bool) -> Result<()> {
        self.drain(0).await?;
        self.sink.flush().await?;
        if force || self.saved_at.elapsed() >= CHECKPOINT_EVERY {
            self.save_checkpoint().await?;
        }
        Ok(())
    }

    async fn save_checkpoint(&mut self) -> Result<()> {
        if self.saved.as_ref() == Some(&self.resume) || self.resume.file.is_empty() {
            return Ok(());
        }
        self.saved_at = std::time::Instant::now();
        let (tid, rid) = self.prev.unwrap_or((0, 0));
        let cp = Checkpoint {
            file: self.resume.file.clone(),
            pos: self.resume.pos,
            gtid: self.resume.gtid.clone(),
            transaction_id: tid,
            last_record_id: rid,
        };
        self.ctx
            .checkpoints
            .save(resource_id(&self.ctx.task.arn), &cp)
            .await?;
        let recovery = cp.to_recovery_string();
        self.ctx
            .entry
            .update(|t| t.recovery_checkpoint = Some(recovery));
        self.saved = Some(self.resume.clone());
        Ok(())
    }

    /// After a lost connection: drop the unfinished transaction and resume from the
    /// last finished one (its records may be written again).
    fn reset_to_checkpoint(&mut self) {
        self.txn = None;
        self.skip_txn = false;
        // Records of the unfinished transaction not written yet would be written twice (it
        // is read again from its start): drop them, encoded or still encoding.
        self.pending = None;
        for job in self.encoding.drain(..) {
            job.handle.abort();
        }
        self.next_id = None;
        if let Some(mark) = self.txn_mark.take() {
            self.sink.discard_since(mark);
        }
    }

    /// Writes what is left and checkpoints (on stop).
    async fn finish(&mut self) -> Result<()> {
        self.flush(true).await?;
        self.ctx
            .entry
            .update(|t| t.stats.stop_date = Some(SystemTime::now()));
        Ok(())
    }
}

/// A rows event being decoded and encoded on the runtime's workers.
struct EncodingJob {
    handle: tokio::task::JoinHandle<Result<RowsDone>>,
    /// Source (schema, table), for the statistics.
    table: Arc<(String, String)>,
    op: Operation,
}

/// Aborts the reader task when the loop ends, whatever the reason.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_position_layout() {
        let txn = Txn {
            id: 8_589_934_980,
            begin: BinlogPosition::new("mysql-bin.000002", 388),
            timestamp: 0,
            records: 0,
        };
        let at = BinlogPosition::new("mysql-bin.000003", 1234);
        assert_eq!(
            stream_position(&at, &txn),
            format!(
                "{f}:{p}:0:{p}:{id}:{bf}:{bp}",
                f = at.file,
                p = at.pos,
                id = txn.id,
                bf = txn.begin.file,
                bp = txn.begin.pos
            )
        );
        assert_eq!(
            stream_position(&at, &txn),
            "mysql-bin.000003:1234:0:1234:8589934980:mysql-bin.000002:388"
        );
    }

    #[test]
    fn stop_positions() {
        assert!(matches!(
            parse_stop("server_time:2018-02-09T12:12:12"),
            Ok(StopAt::ServerTime(1_518_178_332))
        ));
        assert!(matches!(
            parse_stop("commit_time:2018-02-09T12:12:12"),
            Ok(StopAt::CommitTime(_))
        ));
        assert!(parse_stop("later").is_err());
        assert!(parse_stop("server_time:yesterday").is_err());
    }

    #[test]
    fn start_positions_in_every_form() {
        assert_eq!(
            parse_cdc_start("2018-03-08T12:12:12").ok(),
            Some(CdcStart::Time(1_520_511_132))
        );
        assert_eq!(
            parse_cdc_start("mysql-bin-changelog.000024:373").ok(),
            Some(CdcStart::Position(BinlogPosition::new(
                "mysql-bin-changelog.000024",
                373
            )))
        );
        assert_eq!(
            parse_cdc_start(
                "checkpoint:V1#1#mysql-bin.000002:1876:-1:1876:9:mysql-bin.000002:1876#0#0#*#0#3"
            )
            .ok(),
            Some(CdcStart::Position(BinlogPosition::new(
                "mysql-bin.000002",
                1876
            )))
        );
        assert!(parse_cdc_start("yesterday").is_err());
        assert_eq!(
            epoch_secs(SystemTime::UNIX_EPOCH + Duration::from_millis(1_520_511_132_999)),
            1_520_511_132
        );
    }

    #[test]
    fn transaction_ids_are_stable_and_increasing() {
        let a = transaction_id(&BinlogPosition::new("mysql-bin.000001", 900));
        let b = transaction_id(&BinlogPosition::new("mysql-bin.000002", 4));
        assert!(b > a);
        assert_eq!(a, (1 << 32) | 900);
    }
}
