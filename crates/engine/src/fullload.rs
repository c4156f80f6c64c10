//! Full load: copy every selected table, streaming rows with bounded memory.
//!
//! Per table, in `load-order` then name order, up to `MaxFullLoadSubTasks` at once:
//! 1. `TargetTablePrepMode` control records: `DROP_AND_CREATE` (default) writes `drop-table`
//!    then `create-table`; `TRUNCATE_BEFORE_LOAD` writes `create-table` only; `DO_NOTHING`
//!    writes none (docs/dms-format.md).
//! 2. One connection per table reads a consistent snapshot (`REPEATABLE READ`,
//!    `START TRANSACTION WITH CONSISTENT SNAPSHOT`) row by row from the server: the result
//!    set is never held in memory.
//! 3. Each row becomes one `load` record, written in batches of `CommitRate` records (at most
//!    5 MiB). A record over the Kinesis 1 MiB limit after LOB truncation is counted in
//!    `FullLoadErrorRows` and logged with its key; it is never dropped silently.

use crate::encoder::{RecordBatch, TableEncoder};
use crate::error::{EngineError, Result};
use crate::row::RenderedRows;
use crate::runtime::{Cancel, TaskEntry};
use crate::settings::{TargetTablePrepMode, TaskSettings};
use crate::sink::Sink;
use crate::source::{SourceConfig, TableInfo, quote_ident};
use crate::tasklog::Component;
use dmsrs_codec::{Operation, render};
use dmsrs_streams::DynStreamWriter;
use dmsrs_tasks::table_state;
use mysql_async::prelude::Queryable;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Semaphore;
use tracing::warn;

/// What full load needs.
#[derive(Clone)]
pub(crate) struct LoadCtx {
    pub source: SourceConfig,
    pub writer: Arc<dyn DynStreamWriter>,
    pub settings: Arc<TaskSettings>,
    pub entry: Arc<TaskEntry>,
    pub cancel: Arc<Cancel>,
}

/// Loads every table; returns an error only for failures that must stop the task (the
/// target stream refused records). A table that cannot be read ends in `Table error`.
pub(crate) async fn run(ctx: &LoadCtx, tables: Vec<(TableInfo, Arc<TableEncoder>)>) -> Result<()> {
    let fl = &ctx.settings.full_load_settings;
    let sem = Arc::new(Semaphore::new(
        fl.max_full_load_sub_tasks.clamp(1, 49) as usize
    ));
    let mut set = tokio::task::JoinSet::new();
    for (info, enc) in tables {
        let ctx = ctx.clone();
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            if ctx.cancel.is_cancelled() {
                ctx.entry.table(&info.schema, &info.name, |s| {
                    s.table_state = table_state::TABLE_CANCELLED.into()
                });
                return Ok(());
            }
            load_table(&ctx, &info, &enc).await
        });
    }
    let mut fatal = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                ctx.cancel.cancel();
                fatal.get_or_insert(e);
            }
            Err(join) => {
                fatal.get_or_insert(EngineError::Internal(format!(
                    "a table load panicked: {join}"
                )));
            }
        }
    }
    ctx.entry.refresh_task_stats();
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn load_table(ctx: &LoadCtx, info: &TableInfo, enc: &Arc<TableEncoder>) -> Result<()> {
    let (schema, table) = (&info.schema, &info.name);
    ctx.entry.table(schema, table, |s| {
        s.table_state = table_state::FULL_LOAD.into();
        s.full_load_start_time = Some(SystemTime::now());
        s.full_load_end_time = None;
        s.full_load_rows = 0;
        s.full_load_error_rows = 0;
    });
    ctx.entry.refresh_task_stats();
    crate::task_event!(enc.target().log, Component::SourceUnload, INFO, table = %format!("{schema}.{table}"), "full load starts");

    let mut sink = Sink::new(
        Arc::clone(&ctx.writer),
        ctx.settings.full_load_settings.commit_rate as usize,
    );
    match ctx.settings.full_load_settings.target_table_prep_mode {
        TargetTablePrepMode::DropAndCreate => {
            sink.push(enc.control(Operation::DropTable)).await?;
            sink.push(enc.control(Operation::CreateTable)).await?;
        }
        TargetTablePrepMode::TruncateBeforeLoad => {
            sink.push(enc.control(Operation::CreateTable)).await?;
        }
        TargetTablePrepMode::DoNothing => {}
    }

    sink.flush().await?;
    match copy_rows(ctx, info, enc, sink).await {
        Ok((rows, errors)) => {
            let cancelled = ctx.cancel.is_cancelled();
            ctx.entry.table(schema, table, |s| {
                s.full_load_rows = rows;
                s.full_load_error_rows = errors;
                s.full_load_end_time = Some(SystemTime::now());
                s.table_state = if cancelled {
                    table_state::TABLE_CANCELLED
                } else {
                    table_state::TABLE_COMPLETED
                }
                .into();
            });
            ctx.entry.refresh_task_stats();
            crate::task_event!(enc.target().log, Component::TargetLoad, INFO, table = %format!("{schema}.{table}"), rows, errors, "full load done");
            Ok(())
        }
        Err(e @ EngineError::Target(_)) => {
            ctx.entry.table(schema, table, |s| {
                s.table_state = table_state::TABLE_ERROR.into()
            });
            Err(e)
        }
        Err(e) => {
            warn!(table = %format!("{schema}.{table}"), error = %e, "full load of the table failed");
            ctx.entry.table(schema, table, |s| {
                s.table_state = table_state::TABLE_ERROR.into();
                s.full_load_end_time = Some(SystemTime::now());
            });
            ctx.entry.refresh_task_stats();
            Ok(())
        }
    }
}

/// Rows per encoding job.
const CHUNK_ROWS: usize = 512;
/// Encoding jobs in flight per table (bounds memory: about `CHUNK_ROWS * MAX_IN_FLIGHT` rows).
const MAX_IN_FLIGHT: usize = 4;

/// The encoded records of one chunk, in row order, and how many rows were too large.
struct EncodedChunk {
    records: Vec<crate::encoder::Encoded>,
    errors: u64,
}

/// Renders and encodes a chunk of rows (CPU work, run on the runtime's workers so reading
/// from the server and encoding overlap).
fn encode_chunk(
    enc: &TableEncoder,
    table: &str,
    rows: Vec<Vec<mysql_async::Value>>,
) -> EncodedChunk {
    let plan = enc.plan();
    let mut errors = 0;
    let writer = enc.rows(Operation::Load, None, &render::TimestampText::now());
    let mut rendered = RenderedRows::pooled();
    let mut batch = RecordBatch::with_capacity(rows.len(), &writer);
    for row in rows {
        rendered.clear();
        enc.render_into(row, &mut rendered);
        let values = rendered.row(0);
        if plan.row_filter.is_some() && !plan.row_passes(|i| values.key_text(i)) {
            continue;
        }
        if let Err((key, size)) = batch.push(&writer, values, None, 0) {
            errors += 1;
            warn!(
                table,
                %key,
                size,
                "row skipped: its record exceeds the Kinesis 1 MiB limit even with LOBs truncated to LobMaxSize; counted in FullLoadErrorRows"
            );
        }
    }
    EncodedChunk {
        records: batch.finish(&Operation::Load),
        errors,
    }
}

/// Streams the table's rows into the sink; returns (rows written, rows in error).
///
/// Three stages overlap: this task reads rows from the server in chunks, runtime workers
/// render and encode chunks in parallel, and a writer task awaits the encoded chunks in
/// their original order and writes them, so the stream sees rows exactly as the server sent
/// them. A bounded queue of [`MAX_IN_FLIGHT`] chunks keeps memory bounded.
async fn copy_rows(
    ctx: &LoadCtx,
    info: &TableInfo,
    enc: &Arc<TableEncoder>,
    sink: Sink,
) -> Result<(u64, u64)> {
    let mut conn = ctx.source.connect().await?;
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await?;
    let cols: Vec<String> = info.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let sql = format!(
        "SELECT {} FROM {}.{}",
        cols.join(", "),
        quote_ident(&info.schema),
        quote_ident(&info.name)
    );
    crate::task_event!(enc.target().log, Component::SourceUnload, DEBUG, %sql, "snapshot query");
    let table = Arc::<str>::from(format!("{}.{}", info.schema, info.name));

    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<tokio::task::JoinHandle<EncodedChunk>>(MAX_IN_FLIGHT);
    let writer = {
        let (entry, cancel, schema, name, table) = (
            Arc::clone(&ctx.entry),
            Arc::clone(&ctx.cancel),
            info.schema.clone(),
            info.name.clone(),
            Arc::clone(&table),
        );
        let mut sink = sink;
        tokio::spawn(async move {
            let (mut rows, mut errors) = (0u64, 0u64);
            while let Some(job) = rx.recv().await {
                let done = job.await.map_err(|e| {
                    EngineError::Internal(format!("encoding a chunk of {table} failed: {e}"))
                })?;
                errors += done.errors;
                for e in done.records {
                    sink.push(e).await?;
                    rows += 1;
                }
                entry.table(&schema, &name, |s| s.full_load_rows = rows);
                if cancel.is_cancelled() {
                    break;
                }
            }
            sink.flush().await?;
            Ok::<_, EngineError>((rows, errors))
        })
    };

    let read = async {
        let mut result = conn.exec_iter(sql.as_str(), ()).await?;
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        loop {
            let row = result.next().await?;
            let end = row.is_none();
            if let Some(row) = row {
                chunk.push(row.unwrap());
            }
            if chunk.len() >= CHUNK_ROWS || (end && !chunk.is_empty()) {
                let (enc, table, batch) = (
                    Arc::clone(enc),
                    Arc::clone(&table),
                    std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS)),
                );
                let job = tokio::spawn(async move { encode_chunk(&enc, &table, batch) });
                if tx.send(job).await.is_err() || ctx.cancel.is_cancelled() {
                    // The writer stopped (an error or a cancel): stop reading.
                    break;
                }
            }
            if end {
                break;
            }
        }
        drop(result);
        Ok::<_, EngineError>(())
    }
    .await;
    drop(tx);
    let written = writer
        .await
        .map_err(|e| EngineError::Internal(format!("writer of {table} failed: {e}")))?;
    read?;
    let (rows, errors) = written?;
    if ctx.cancel.is_cancelled() {
        // A cancelled read may leave rows unread on the connection: just drop it.
        drop(conn);
    } else {
        conn.query_drop("COMMIT").await?;
        let _ = conn.disconnect().await;
    }
    Ok((rows, errors))
}
