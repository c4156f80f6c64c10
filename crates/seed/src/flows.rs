//! The seed's full-load and CDC flows, step by step, each with a checked expectation.

use crate::report::{Report, StepReport, TableStat};
use crate::sql;
use crate::watch::{Mark, Observed, StreamWatch};
use crate::{Outputs, SeedError};
use dmsrs_codec::{Operation, Value};
use dmsrs_database::SqlClient;
use dmsrs_tasks::wait::wait_for_status;
use dmsrs_tasks::{ReplicationService, StartTask, StartType, TaskStatus, table_state};
use std::time::{Duration, Instant};

/// Receives progress while the flows run (the binary shows a spinner or plain lines).
pub trait Observer: Send + Sync {
    /// A step starts.
    fn step(&self, name: &str);
    /// The step waits for something.
    fn waiting(&self, what: &str);
    /// The step ended.
    fn finished(&self, step: &StepReport);
}

/// An observer that shows nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn step(&self, _: &str) {}
    fn waiting(&self, _: &str) {}
    fn finished(&self, _: &StepReport) {}
}

/// Timeouts of the flows.
#[derive(Clone, Copy, Debug)]
pub struct FlowOptions {
    /// Longest wait for a task status or for a step's records.
    pub timeout: Duration,
    /// Status polling interval.
    pub poll: Duration,
    /// Extra time to watch for unexpected records when the target cannot say it is caught
    /// up (AWS DMS without a recovery checkpoint yet).
    pub settle: Duration,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            timeout: Duration::from_secs(60),
            poll: Duration::from_millis(25),
            settle: Duration::from_millis(500),
        }
    }
}

/// One expected record: operation, table and (for rows) the key.
#[derive(Clone, Debug)]
struct Want {
    op: Operation,
    table: &'static str,
    key: Option<&'static str>,
}

fn want(op: Operation, table: &'static str, key: Option<&'static str>) -> Want {
    Want { op, table, key }
}

fn describe(wants: &[Want]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for w in wants {
        let k = w.op.to_string();
        match counts.iter_mut().find(|(o, _)| *o == k) {
            Some((_, n)) => *n += 1,
            None => counts.push((k, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(o, n)| format!("{n} {o}")).collect();
    format!("{} record(s): {}", wants.len(), parts.join(", "))
}

/// Checks the records against the wanted multiset; returns the problems.
fn check(records: &[Observed], wants: &[Want]) -> Vec<String> {
    let mut problems = Vec::new();
    if records.len() != wants.len() {
        problems.push(format!(
            "expected exactly {} records, received {}",
            wants.len(),
            records.len()
        ));
    }
    let mut left: Vec<&Want> = wants.iter().collect();
    for o in records {
        let Ok(r) = &o.record else {
            problems.push(o.label());
            continue;
        };
        let key = r.data.as_ref().and_then(|d| {
            sql::primary_key(&r.metadata.table_name)
                .and_then(|pk| d.get(pk))
                .map(Value::to_key_text)
        });
        let pos = left.iter().position(|w| {
            w.op == r.metadata.operation
                && w.table == r.metadata.table_name
                && w.key.is_none_or(|k| key.as_deref() == Some(k))
        });
        match pos {
            Some(i) => {
                left.remove(i);
            }
            None => problems.push(format!(
                "unexpected record: {}{}",
                o.label(),
                key.map(|k| format!(" (key {k})")).unwrap_or_default()
            )),
        }
    }
    for w in left {
        problems.push(format!(
            "missing record: {} {}{}",
            w.op,
            w.table,
            w.key.map(|k| format!(" (key {k})")).unwrap_or_default()
        ));
    }
    problems
}

/// Runs the flows against a replication service, two databases and the target stream.
pub struct Runner<'a> {
    svc: &'a dyn ReplicationService,
    outputs: &'a Outputs,
    watch: StreamWatch,
    observer: &'a dyn Observer,
    opts: FlowOptions,
    report: Report,
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("steps", &self.report.steps.len())
            .finish()
    }
}

impl<'a> Runner<'a> {
    /// A runner watching `watch`.
    pub fn new(
        svc: &'a dyn ReplicationService,
        outputs: &'a Outputs,
        watch: StreamWatch,
        observer: &'a dyn Observer,
        opts: FlowOptions,
    ) -> Self {
        Runner {
            svc,
            outputs,
            watch,
            observer,
            opts,
            report: Report::default(),
        }
    }

    /// The report so far.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// Adds a duration to the report.
    pub fn record_duration(&mut self, phase: &str, d: Duration) {
        self.report
            .durations_ms
            .insert(phase.to_owned(), d.as_millis() as u64);
    }

    fn push(&mut self, step: StepReport) {
        self.observer.finished(&step);
        self.report.steps.push(step);
    }

    fn sql_step(
        &mut self,
        name: &str,
        started: Instant,
        result: Result<usize, String>,
        expected: &str,
    ) {
        let (received, problems) = match result {
            Ok(n) => (n, Vec::new()),
            Err(e) => (0, vec![e]),
        };
        self.push(StepReport {
            name: name.to_owned(),
            expected: expected.to_owned(),
            received,
            ok: problems.is_empty(),
            problems,
            records: Vec::new(),
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }

    async fn mark(&mut self) -> Result<Mark, SeedError> {
        Ok(self.watch.mark().await?)
    }

    /// Starts a task: `start-replication` the first time, `reload-target` after that.
    async fn start(&self, arn: &str) -> Result<(), SeedError> {
        let t = self.svc.describe_task(arn).await?;
        let start_type = if t.status == TaskStatus::Ready || t.status == TaskStatus::Creating {
            StartType::StartReplication
        } else {
            StartType::ReloadTarget
        };
        self.observer.waiting(&format!(
            "starting {} ({})",
            t.identifier,
            start_type.as_str()
        ));
        self.svc.start_task(StartTask::new(arn, start_type)).await?;
        Ok(())
    }

    async fn wait_status(&self, arn: &str, status: TaskStatus) -> Result<(), SeedError> {
        self.observer
            .waiting(&format!("waiting for {} to be {status}", short(arn)));
        wait_for_status(self.svc, arn, status, self.opts.timeout, self.opts.poll).await?;
        Ok(())
    }

    /// Waits until every task's recovery checkpoint has passed `position` (the source's
    /// binlog end after the step), so the step's records are all in the stream; falls back
    /// to watching for `settle` when the service reports no checkpoint.
    async fn caught_up(&self, arns: &[&str], position: Option<(String, u64)>) -> Duration {
        let Some((file, pos)) = position else {
            return self.opts.settle;
        };
        let deadline = Instant::now() + self.opts.timeout;
        'tasks: for arn in arns {
            loop {
                let Ok(t) = self.svc.describe_task(arn).await else {
                    return self.opts.settle;
                };
                let Some(cp) = t
                    .recovery_checkpoint
                    .as_deref()
                    .and_then(dmsrs_tasks::binlog_file_position)
                else {
                    return self.opts.settle;
                };
                if (file_seq(&cp.0), cp.1) >= (file_seq(&file), pos) {
                    continue 'tasks;
                }
                if Instant::now() >= deadline {
                    return self.opts.settle;
                }
                tokio::time::sleep(self.opts.poll).await;
            }
        }
        Duration::ZERO
    }

    async fn records_step(
        &mut self,
        name: &str,
        started: Instant,
        mark: Mark,
        wants: Vec<Want>,
        settle: Duration,
        extra: impl FnOnce(&[Observed]) -> Vec<String>,
    ) {
        self.observer
            .waiting(&format!("waiting for {}", describe(&wants)));
        let (records, mut problems) = match self
            .watch
            .collect(mark, wants.len(), self.opts.timeout, settle)
            .await
        {
            Ok(r) => (r.to_vec(), Vec::new()),
            Err(e) => (
                self.watch.since(mark).to_vec(),
                vec![format!("reading the stream failed: {e}")],
            ),
        };
        problems.extend(check(&records, &wants));
        if problems.is_empty() {
            problems.extend(extra(&records));
        }
        self.push(StepReport {
            name: name.to_owned(),
            expected: describe(&wants),
            received: records.len(),
            ok: problems.is_empty(),
            problems,
            records: records.iter().map(Observed::summary).collect(),
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }

    fn failed_step(
        &mut self,
        name: &str,
        started: Instant,
        expected: String,
        e: SeedError,
        mark: Mark,
    ) {
        let records = self
            .watch
            .since(mark)
            .iter()
            .map(Observed::summary)
            .collect();
        self.push(StepReport {
            name: name.to_owned(),
            expected,
            received: 0,
            ok: false,
            problems: vec![e.to_string()],
            records,
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }

    async fn statistics(&mut self, name: &str, checks: &[(&str, &str, TableExpect)]) {
        let started = Instant::now();
        self.observer.step(name);
        let mut problems = Vec::new();
        let mut received = 0;
        let mut tasks: Vec<(&str, &str)> = Vec::new();
        for (k, arn, _) in checks {
            if !tasks.contains(&(*k, *arn)) {
                tasks.push((*k, *arn));
            }
        }
        for (task_key, arn) in tasks {
            match self.svc.describe_table_statistics(arn).await {
                Ok(stats) => {
                    received += stats.len();
                    for (_, _, e) in checks
                        .iter()
                        .filter(|(k, a, _)| *k == task_key && *a == arn)
                    {
                        match stats.iter().find(|s| s.table_name == e.table) {
                            Some(s) => problems.extend(e.check(s)),
                            None => problems
                                .push(format!("{task_key}: no statistics for table {}", e.table)),
                        }
                    }
                    self.report.statistics.insert(
                        task_key.to_owned(),
                        stats.iter().map(TableStat::from).collect(),
                    );
                }
                Err(e) => problems.push(format!("{task_key}: {e}")),
            }
        }
        let expected = checks
            .iter()
            .map(|(k, _, e)| format!("{k} {}", e.describe()))
            .collect::<Vec<_>>()
            .join("; ");
        self.push(StepReport {
            name: name.to_owned(),
            expected,
            received,
            ok: problems.is_empty(),
            problems,
            records: Vec::new(),
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }

    /// The full-load flow against the "external" MariaDB (`fullTaskSecret`).
    pub async fn full_load(&mut self, db: &mut SqlClient) {
        let started = Instant::now();
        let o = self.outputs;
        self.observer
            .step("full load: create and fill authors, accounts, novels");
        let r = prepare(db, true).await;
        self.sql_step(
            "full load: create and fill authors, accounts, novels",
            started,
            r,
            "4 rows: 1 author, 1 account, 2 novels",
        );

        for (name, arn, wants) in [
            (
                "full load: task 1 (a%) emits 2 drop-table, 2 create-table, 2 load",
                o.full_task1.as_str(),
                vec![
                    want(Operation::DropTable, "authors", None),
                    want(Operation::DropTable, "accounts", None),
                    want(Operation::CreateTable, "authors", None),
                    want(Operation::CreateTable, "accounts", None),
                    want(Operation::Load, "authors", Some("1")),
                    want(Operation::Load, "accounts", Some("1")),
                ],
            ),
            (
                "full load: task 2 (novels) emits 1 drop-table, 1 create-table, 2 load",
                o.full_task2.as_str(),
                vec![
                    want(Operation::DropTable, "novels", None),
                    want(Operation::CreateTable, "novels", None),
                    want(Operation::Load, "novels", Some("1")),
                    want(Operation::Load, "novels", Some("2")),
                ],
            ),
        ] {
            let step_started = Instant::now();
            self.observer.step(name);
            let mark = match self.mark().await {
                Ok(m) => m,
                Err(e) => {
                    self.failed_step(name, step_started, describe(&wants), e, Mark::start());
                    continue;
                }
            };
            let run = async {
                self.start(arn).await?;
                self.wait_status(arn, TaskStatus::Stopped).await?;
                let t = self.svc.describe_task(arn).await?;
                if t.stop_reason.as_deref()
                    != Some(dmsrs_tasks::stop_reason::FULL_LOAD_ONLY_FINISHED)
                {
                    return Err(SeedError::Check(format!(
                        "task stopped with {:?}, expected Stop Reason FULL_LOAD_ONLY_FINISHED",
                        t.stop_reason
                    )));
                }
                Ok(())
            }
            .await;
            match run {
                // The task stopped: every record is in the stream already.
                Ok(()) => {
                    self.records_step(name, step_started, mark, wants, Duration::ZERO, |_| {
                        Vec::new()
                    })
                    .await
                }
                Err(e) => self.failed_step(name, step_started, describe(&wants), e, mark),
            }
        }

        let (t1, t2) = (o.full_task1.clone(), o.full_task2.clone());
        let done = TableExpect::full_load;
        self.statistics(
            "full load: table statistics (FullLoadRows, FullLoadErrorRows 0, Table completed)",
            &[
                ("fullTask1", &t1, done("authors", 1)),
                ("fullTask1", &t1, done("accounts", 1)),
                ("fullTask2", &t2, done("novels", 2)),
            ],
        )
        .await;
        let _ = db.execute_batch(&sql::DROP_TABLES).await;
        self.record_duration("full_load", started.elapsed());
    }

    /// The CDC flow against the "RDS" MariaDB (`cdcTaskSecret`).
    pub async fn cdc(&mut self, db: &mut SqlClient) {
        let started = Instant::now();
        let o = self.outputs;
        let (t1, t2) = (o.cdc_task1.clone(), o.cdc_task2.clone());
        let name = "cdc: create authors, accounts, novels";
        self.observer.step(name);
        let r = prepare(db, false).await;
        self.sql_step(name, started, r, "3 tables");

        // Start both tasks: 5 create-table records.
        let name =
            "cdc: start both tasks, expect 5 create-table (3 tables, 2 awsdms_apply_exceptions)";
        let step_started = Instant::now();
        self.observer.step(name);
        let wants = vec![
            want(Operation::CreateTable, "authors", None),
            want(Operation::CreateTable, "accounts", None),
            want(Operation::CreateTable, "novels", None),
            want(Operation::CreateTable, "awsdms_apply_exceptions", None),
            want(Operation::CreateTable, "awsdms_apply_exceptions", None),
        ];
        let mark = match self.mark().await {
            Ok(m) => m,
            Err(e) => {
                return self.failed_step(name, step_started, describe(&wants), e, Mark::start());
            }
        };
        let run = async {
            self.start(&t1).await?;
            self.start(&t2).await?;
            self.wait_status(&t1, TaskStatus::Running).await?;
            self.wait_status(&t2, TaskStatus::Running).await?;
            Ok::<_, SeedError>(())
        }
        .await;
        if let Err(e) = run {
            self.failed_step(name, step_started, describe(&wants), e, mark);
            return;
        }
        let settle = self.caught_up(&[&t1, &t2], binlog_end(db).await).await;
        self.records_step(name, step_started, mark, wants, settle, |_| Vec::new())
            .await;

        // The seed's inserts.
        let wants = vec![
            want(Operation::Insert, "authors", Some("1")),
            want(Operation::Insert, "accounts", Some("1")),
            want(Operation::Insert, "novels", Some("1")),
            want(Operation::Insert, "novels", Some("2")),
        ];
        self.change_step(
            db,
            "cdc: insert the seed rows, expect 4 insert",
            &sql::PRESEED_DATA,
            true,
            wants,
            |_| Vec::new(),
        )
        .await;

        // The seed's ALTERs, one statement at a time.
        let wants = vec![
            want(Operation::ColumnTypeChange, "authors", None),
            want(Operation::DropColumn, "accounts", None),
            want(Operation::AddColumn, "novels", None),
        ];
        self.change_step(
            db,
            "cdc: alter the tables, expect column-type-change, drop-column, add-column",
            &sql::ALTER_TABLES,
            false,
            wants,
            |_| Vec::new(),
        )
        .await;
        let started_schema = Instant::now();
        let schema = schema_checks(db).await;
        self.sql_step(
            "cdc: the source schema changed as altered",
            started_schema,
            schema,
            "email varchar(100); no profile_picture; is_stock present",
        );

        // Beyond the seed: UPDATE with a before-image, DELETE with the deleted row.
        self.change_step(
            db,
            "cdc: update an author, expect 1 update with its before-image",
            &[sql::UPDATE_AUTHOR],
            true,
            vec![want(Operation::Update, "authors", Some("1"))],
            |recs| {
                let mut p = Vec::new();
                let Some(Ok(r)) = recs.first().map(|o| &o.record) else {
                    return p;
                };
                let email = |f: Option<&dmsrs_codec::Fields>| {
                    f.and_then(|d| d.get("email")).map(Value::to_key_text)
                };
                if email(r.data.as_ref()).as_deref() != Some(sql::NEW_EMAIL) {
                    p.push(format!(
                        "data.email is {:?}, expected {}",
                        email(r.data.as_ref()),
                        sql::NEW_EMAIL
                    ));
                }
                if email(r.before_image.as_ref()).as_deref() != Some(sql::OLD_EMAIL) {
                    p.push(format!(
                        "before-image.email is {:?}, expected {}",
                        email(r.before_image.as_ref()),
                        sql::OLD_EMAIL
                    ));
                }
                p
            },
        )
        .await;
        self.change_step(
            db,
            "cdc: delete a novel, expect 1 delete carrying the deleted row",
            &[sql::DELETE_NOVEL],
            true,
            vec![want(Operation::Delete, "novels", Some("2"))],
            |recs| {
                let mut p = Vec::new();
                if let Some(Ok(r)) = recs.first().map(|o| &o.record) {
                    let title = r
                        .data
                        .as_ref()
                        .and_then(|d| d.get("title"))
                        .map(Value::to_key_text);
                    if title.as_deref() != Some("Journey to the Stars") {
                        p.push(format!(
                            "data.title is {title:?}, expected the deleted row's title"
                        ));
                    }
                }
                p
            },
        )
        .await;

        // A rolled-back transaction emits nothing: the next committed change arrives alone.
        let name =
            "cdc: roll back a transaction, expect nothing from it (the next update arrives alone)";
        let step_started = Instant::now();
        self.observer.step(name);
        let wants = vec![want(Operation::Update, "accounts", Some("1"))];
        match self.mark().await {
            Ok(mark) => {
                let mut r = Ok(());
                for s in sql::ROLLED_BACK {
                    if let Err(e) = db.execute(s).await {
                        r = Err(e);
                        break;
                    }
                }
                if r.is_ok() {
                    r = db.execute_batch(&[sql::AFTER_ROLLBACK]).await.map(|_| ());
                }
                match r {
                    Ok(()) => {
                        let settle = self.caught_up(&[&t1, &t2], binlog_end(db).await).await;
                        self.records_step(name, step_started, mark, wants, settle, |_| Vec::new())
                            .await
                    }
                    Err(e) => {
                        self.failed_step(name, step_started, describe(&wants), e.into(), mark)
                    }
                }
            }
            Err(e) => self.failed_step(name, step_started, describe(&wants), e, Mark::start()),
        }

        let cdc = TableExpect::cdc;
        self.statistics(
            "cdc: table statistics (Inserts, Updates, Deletes, Ddls)",
            &[
                ("cdcTask1", &t1, cdc("authors", 1, 1, 0, 1)),
                ("cdcTask1", &t1, cdc("accounts", 1, 1, 0, 1)),
                ("cdcTask2", &t2, cdc("novels", 2, 0, 1, 1)),
            ],
        )
        .await;

        let name = "cdc: stop both tasks";
        let step_started = Instant::now();
        self.observer.step(name);
        let r = async {
            self.svc.stop_task(&t1).await?;
            self.svc.stop_task(&t2).await?;
            self.wait_status(&t1, TaskStatus::Stopped).await?;
            self.wait_status(&t2, TaskStatus::Stopped).await?;
            Ok::<_, SeedError>(())
        }
        .await;
        self.sql_step(
            name,
            step_started,
            r.map(|()| 2).map_err(|e| e.to_string()),
            "2 tasks stopped",
        );
        let _ = db.execute_batch(&sql::DROP_TABLES).await;
        self.record_duration("cdc", started.elapsed());
    }

    /// Runs `statements` (one transaction when `batch`, else one by one), then checks the
    /// records they caused.
    async fn change_step(
        &mut self,
        db: &mut SqlClient,
        name: &str,
        statements: &[&str],
        batch: bool,
        wants: Vec<Want>,
        extra: impl FnOnce(&[Observed]) -> Vec<String>,
    ) {
        let started = Instant::now();
        self.observer.step(name);
        let mark = match self.mark().await {
            Ok(m) => m,
            Err(e) => return self.failed_step(name, started, describe(&wants), e, Mark::start()),
        };
        let r = if batch {
            db.execute_batch(statements).await.map(|_| ())
        } else {
            let mut r = Ok(());
            for s in statements {
                if let Err(e) = db.execute(s).await {
                    r = Err(e);
                    break;
                }
            }
            r
        };
        if let Err(e) = r {
            return self.failed_step(name, started, describe(&wants), e.into(), mark);
        }
        let (t1, t2) = (
            self.outputs.cdc_task1.clone(),
            self.outputs.cdc_task2.clone(),
        );
        let settle = self.caught_up(&[&t1, &t2], binlog_end(db).await).await;
        self.records_step(name, started, mark, wants, settle, extra)
            .await;
    }
}

impl Mark {
    fn start() -> Mark {
        crate::watch::mark_at(0)
    }
}

/// Expected statistics of one table.
#[derive(Clone, Debug)]
pub(crate) struct TableExpect {
    table: &'static str,
    full_load_rows: Option<u64>,
    cdc: Option<(u64, u64, u64, u64)>,
}

impl TableExpect {
    fn full_load(table: &'static str, rows: u64) -> Self {
        TableExpect {
            table,
            full_load_rows: Some(rows),
            cdc: None,
        }
    }

    fn cdc(table: &'static str, inserts: u64, updates: u64, deletes: u64, ddls: u64) -> Self {
        TableExpect {
            table,
            full_load_rows: None,
            cdc: Some((inserts, updates, deletes, ddls)),
        }
    }

    fn describe(&self) -> String {
        match (self.full_load_rows, self.cdc) {
            (Some(r), _) => format!("{}: FullLoadRows {r}", self.table),
            (_, Some((i, u, d, ddl))) => format!(
                "{}: Inserts {i}, Updates {u}, Deletes {d}, Ddls {ddl}",
                self.table
            ),
            _ => self.table.to_owned(),
        }
    }

    fn check(&self, s: &dmsrs_tasks::TableStatistics) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(rows) = self.full_load_rows {
            if s.full_load_rows != rows {
                p.push(format!(
                    "{}: FullLoadRows {} (expected {rows})",
                    self.table, s.full_load_rows
                ));
            }
            if s.full_load_error_rows != 0 {
                p.push(format!(
                    "{}: FullLoadErrorRows {}",
                    self.table, s.full_load_error_rows
                ));
            }
            if s.table_state != table_state::TABLE_COMPLETED {
                p.push(format!(
                    "{}: TableState {:?} (expected Table completed)",
                    self.table, s.table_state
                ));
            }
        }
        if let Some((i, u, d, ddl)) = self.cdc {
            let got = (s.inserts, s.updates, s.deletes, s.ddls);
            if got != (i, u, d, ddl) {
                p.push(format!(
                    "{}: Inserts/Updates/Deletes/Ddls {}/{}/{}/{} (expected {i}/{u}/{d}/{ddl})",
                    self.table, got.0, got.1, got.2, got.3
                ));
            }
        }
        p
    }
}

/// DROP, CREATE and (with `fill`) PRESEED, then the seed's row counts.
async fn prepare(db: &mut SqlClient, fill: bool) -> Result<usize, String> {
    db.execute_batch(&sql::DROP_TABLES)
        .await
        .map_err(|e| e.to_string())?;
    db.execute_batch(&sql::CREATE_TABLES)
        .await
        .map_err(|e| e.to_string())?;
    if !fill {
        return Ok(3);
    }
    db.execute_batch(&sql::PRESEED_DATA)
        .await
        .map_err(|e| e.to_string())?;
    let mut total = 0;
    for (table, want) in [("authors", 1), ("accounts", 1), ("novels", 2)] {
        let n = db
            .query_u64(&format!("SELECT COUNT(*) FROM {table}"))
            .await
            .map_err(|e| e.to_string())?;
        if n != want {
            return Err(format!("{table} has {n} rows, expected {want}"));
        }
        total += n as usize;
    }
    Ok(total)
}

/// The seed test's schema checks after the ALTERs.
async fn schema_checks(db: &mut SqlClient) -> Result<usize, String> {
    let mut problems = Vec::new();
    let authors = db
        .query_rows("DESCRIBE authors")
        .await
        .map_err(|e| e.to_string())?;
    let email = authors
        .iter()
        .find(|r| r.get_index(0) == Some("email"))
        .and_then(|r| r.get_index(1).map(str::to_owned));
    if email.as_deref() != Some("varchar(100)") {
        problems.push(format!("authors.email is {email:?}, expected varchar(100)"));
    }
    let accounts = db
        .query_rows("DESCRIBE accounts")
        .await
        .map_err(|e| e.to_string())?;
    if accounts
        .iter()
        .any(|r| r.get_index(0) == Some("profile_picture"))
    {
        problems.push("accounts.profile_picture still exists".into());
    }
    let novels = db
        .query_rows("DESCRIBE novels")
        .await
        .map_err(|e| e.to_string())?;
    if !novels.iter().any(|r| r.get_index(0) == Some("is_stock")) {
        problems.push("novels.is_stock is missing".into());
    }
    if problems.is_empty() {
        Ok(3)
    } else {
        Err(problems.join("; "))
    }
}

/// The source's binlog end (file, position), when the server reports it.
async fn binlog_end(db: &mut SqlClient) -> Option<(String, u64)> {
    let rows = db.query_rows("SHOW MASTER STATUS").await.ok()?;
    let r = rows.first()?;
    Some((r.get_index(0)?.to_owned(), r.get_index(1)?.parse().ok()?))
}

fn file_seq(file: &str) -> u64 {
    file.rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn short(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_parse() {
        assert_eq!(
            dmsrs_tasks::binlog_file_position(
                "checkpoint:V1#1#mysql-bin.000002:1876:-1:1876:9:mysql-bin.000002:1876#0#0#*#0#3"
            ),
            Some(("mysql-bin.000002".into(), 1876))
        );
        assert_eq!(dmsrs_tasks::binlog_file_position("nope"), None);
        assert!(file_seq("mysql-bin.000010") > file_seq("mysql-bin.000009"));
    }

    #[test]
    fn expectations_describe_themselves() {
        let w = vec![
            want(Operation::DropTable, "a", None),
            want(Operation::DropTable, "b", None),
            want(Operation::Load, "a", Some("1")),
        ];
        assert_eq!(describe(&w), "3 record(s): 2 drop-table, 1 load");
    }
}
