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

use crate::encoder::{MAX_RECORD_BYTES, TableEncoder};
use crate::error::{EngineError, Result};
use crate::runtime::{Cancel, TaskEntry};
use crate::settings::{TargetTablePrepMode, TaskSettings};
use crate::sink::Sink;
use crate::source::{SourceConfig, TableInfo, quote_ident};
use dmsrs_codec::Operation;
use dmsrs_streams::DynStreamWriter;
use dmsrs_tasks::table_state;
use mysql_async::prelude::Queryable;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

/// How often (rows) a table's statistics and the cancel flag are looked at.
const PROGRESS_EVERY: u64 = 1000;

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
    let sem = Arc::new(Semaphore::new(fl.max_full_load_sub_tasks.clamp(1, 49) as usize));
    let mut set = tokio::task::JoinSet::new();
    for (info, enc) in tables {
        let ctx = ctx.clone();
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            if ctx.cancel.is_cancelled() {
                ctx.entry.table(&info.schema, &info.name, |s| s.table_state = table_state::TABLE_CANCELLED.into());
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
                fatal.get_or_insert(EngineError::Internal(format!("a table load panicked: {join}")));
            }
        }
    }
    ctx.entry.refresh_task_stats();
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn load_table(ctx: &LoadCtx, info: &TableInfo, enc: &TableEncoder) -> Result<()> {
    let (schema, table) = (&info.schema, &info.name);
    ctx.entry.table(schema, table, |s| {
        s.table_state = table_state::FULL_LOAD.into();
        s.full_load_start_time = Some(SystemTime::now());
        s.full_load_end_time = None;
        s.full_load_rows = 0;
        s.full_load_error_rows = 0;
    });
    ctx.entry.refresh_task_stats();
    info!(table = %format!("{schema}.{table}"), "full load starts");

    let mut sink = Sink::new(Arc::clone(&ctx.writer), ctx.settings.full_load_settings.commit_rate as usize);
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

    match copy_rows(ctx, info, enc, &mut sink).await {
        Ok((rows, errors)) => {
            sink.flush().await?;
            let cancelled = ctx.cancel.is_cancelled();
            ctx.entry.table(schema, table, |s| {
                s.full_load_rows = rows;
                s.full_load_error_rows = errors;
                s.full_load_end_time = Some(SystemTime::now());
                s.table_state =
                    if cancelled { table_state::TABLE_CANCELLED } else { table_state::TABLE_COMPLETED }.into();
            });
            ctx.entry.refresh_task_stats();
            info!(table = %format!("{schema}.{table}"), rows, errors, "full load done");
            Ok(())
        }
        Err(e @ EngineError::Target(_)) => {
            ctx.entry.table(schema, table, |s| s.table_state = table_state::TABLE_ERROR.into());
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

/// Streams the table's rows into the sink; returns (rows written, rows in error).
async fn copy_rows(ctx: &LoadCtx, info: &TableInfo, enc: &TableEncoder, sink: &mut Sink) -> Result<(u64, u64)> {
    let mut conn = ctx.source.connect().await?;
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").await?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT").await?;
    let cols: Vec<String> = info.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let sql = format!("SELECT {} FROM {}.{}", cols.join(", "), quote_ident(&info.schema), quote_ident(&info.name));
    debug!(%sql, "snapshot query");
    let plan = enc.plan();
    let (mut rows, mut errors) = (0u64, 0u64);
    {
        let mut result = conn.exec_iter(sql.as_str(), ()).await?;
        while let Some(row) = result.next().await? {
            let values = enc.render_row(row.unwrap());
            if plan.row_filter.is_some() && !plan.row_passes(|i| values.get(i).filter(|v| !v.is_null()).map(|v| v.to_key_text())) {
                continue;
            }
            let e = enc.row(Operation::Load, &values, None, None);
            if e.size() > MAX_RECORD_BYTES {
                errors += 1;
                warn!(
                    table = %format!("{}.{}", info.schema, info.name),
                    key = %e.partition_key,
                    size = e.size(),
                    "row skipped: its record exceeds the Kinesis 1 MiB limit even with LOBs truncated to LobMaxSize; counted in FullLoadErrorRows"
                );
                continue;
            }
            sink.push(e).await?;
            rows += 1;
            if rows % PROGRESS_EVERY == 0 {
                ctx.entry.table(&info.schema, &info.name, |s| s.full_load_rows = rows);
                if ctx.cancel.is_cancelled() {
                    break;
                }
            }
        }
    }
    conn.query_drop("COMMIT").await?;
    let _ = conn.disconnect().await;
    Ok((rows, errors))
}
