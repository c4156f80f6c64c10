//! Shared state of a task while it runs: status, statistics, cancellation.

use dmsrs_tasks::{ReplicationTask, TableStatistics, TaskStatus, table_state};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::sync::Notify;

/// A cancellation flag that tasks can await.
#[derive(Debug, Default)]
pub struct Cancel {
    flag: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Completes when cancelled.
    pub async fn cancelled(&self) {
        loop {
            let n = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            n.await;
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (statistics stay
/// usable; nothing here has invariants a panic could break).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One task: its API view and its table statistics.
#[derive(Debug)]
pub struct TaskEntry {
    pub(crate) task: Mutex<ReplicationTask>,
    pub(crate) tables: Mutex<BTreeMap<(String, String), TableStatistics>>,
    pub(crate) run: Mutex<Option<RunHandle>>,
    /// `CdcStartTime` of the task (given at create or at the last start); `ReplicationTask`
    /// has no field for it.
    pub(crate) cdc_start_time: Mutex<Option<SystemTime>>,
    /// What `ReloadTables` needs, set while the task runs.
    pub(crate) reload: Mutex<Option<ReloadCtx>>,
}

/// A running task's full-load context and tables, for `ReloadTables`.
#[derive(Clone)]
pub(crate) struct ReloadCtx {
    pub(crate) load: crate::fullload::LoadCtx,
    pub(crate) tables: Vec<(crate::source::TableInfo, Arc<crate::encoder::TableEncoder>)>,
}

impl std::fmt::Debug for ReloadCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadCtx")
            .field("tables", &self.tables.len())
            .finish_non_exhaustive()
    }
}

/// A running task's handle.
#[derive(Debug)]
pub(crate) struct RunHandle {
    pub(crate) cancel: Arc<Cancel>,
    pub(crate) join: tokio::task::JoinHandle<()>,
}

impl TaskEntry {
    pub(crate) fn new(task: ReplicationTask) -> Self {
        TaskEntry {
            task: Mutex::new(task),
            tables: Mutex::new(BTreeMap::new()),
            run: Mutex::new(None),
            cdc_start_time: Mutex::new(None),
            reload: Mutex::new(None),
        }
    }

    /// A copy of the task as the API shows it.
    pub fn snapshot(&self) -> ReplicationTask {
        lock(&self.task).clone()
    }

    pub(crate) fn set_status(&self, status: TaskStatus) {
        lock(&self.task).status = status;
    }

    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut ReplicationTask) -> R) -> R {
        f(&mut lock(&self.task))
    }

    /// Registers the tables of a run (`Before load` for full-load tasks, `Table completed`
    /// for CDC-only tasks), keeping counters of tables seen before.
    pub(crate) fn register_tables(&self, tables: &[(String, String)], state: &str, reset: bool) {
        let mut t = lock(&self.tables);
        if reset {
            t.clear();
        }
        for (schema, table) in tables {
            let e = t
                .entry((schema.clone(), table.clone()))
                .or_insert_with(|| TableStatistics {
                    schema_name: schema.clone(),
                    table_name: table.clone(),
                    validation_state: "Not enabled".into(),
                    ..Default::default()
                });
            e.table_state = state.to_owned();
        }
        drop(t);
        self.refresh_task_stats();
    }

    pub(crate) fn table<R>(
        &self,
        schema: &str,
        table: &str,
        f: impl FnOnce(&mut TableStatistics) -> R,
    ) -> R {
        let mut t = lock(&self.tables);
        let e = t
            .entry((schema.to_owned(), table.to_owned()))
            .or_insert_with(|| TableStatistics {
                schema_name: schema.to_owned(),
                table_name: table.to_owned(),
                table_state: table_state::TABLE_COMPLETED.into(),
                validation_state: "Not enabled".into(),
                ..Default::default()
            });
        let r = f(e);
        e.last_update_time = Some(SystemTime::now());
        r
    }

    /// Recomputes `ReplicationTaskStats` table counters from the table states.
    pub(crate) fn refresh_task_stats(&self) {
        let (mut loaded, mut loading, mut queued, mut errored) = (0u32, 0u32, 0u32, 0u32);
        for s in lock(&self.tables).values() {
            match s.table_state.as_str() {
                table_state::TABLE_COMPLETED => loaded += 1,
                table_state::FULL_LOAD => loading += 1,
                table_state::BEFORE_LOAD => queued += 1,
                table_state::TABLE_ERROR => errored += 1,
                _ => {}
            }
        }
        let total = loaded + loading + queued + errored;
        let mut task = lock(&self.task);
        let st = &mut task.stats;
        st.tables_loaded = loaded;
        st.tables_loading = loading;
        st.tables_queued = queued;
        st.tables_errored = errored;
        st.full_load_progress_percent =
            ((loaded + errored) * 100).checked_div(total).unwrap_or(100);
        if let Some(start) = st.start_date {
            st.elapsed_time_millis = SystemTime::now()
                .duration_since(start)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
        }
    }

    /// Table statistics sorted by schema and table.
    pub fn table_statistics(&self) -> Vec<TableStatistics> {
        lock(&self.tables).values().cloned().collect()
    }
}
