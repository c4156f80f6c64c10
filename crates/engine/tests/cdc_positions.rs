//! CDC start and stop positions, resume and reload, changes during full load and commit
//! order across tables, against a real MariaDB binlog.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dmsrs_codec::{Operation, Record};
use dmsrs_streams::InRecord;
use dmsrs_tasks::{
    MigrationType, ReplicationService, StartTask, StartType, TaskStatus, stop_reason,
};
use mysql_async::prelude::Queryable;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The data records of `table` after `after`, once a record with `id` arrived (at most 20 s).
async fn wait_for_id(
    h: &Harness,
    after: Option<&str>,
    table: &str,
    id: i64,
) -> Vec<(InRecord, Record)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let recs: Vec<_> = h
            .records_after(after)
            .into_iter()
            .filter(|(_, r)| r.is_data() && r.metadata.table_name == table)
            .collect();
        if recs.iter().any(|(_, r)| data_i64(r, "id") == Some(id)) {
            return recs;
        }
        assert!(
            Instant::now() < deadline,
            "no record of {table} id {id} in 20 s; got {:?}",
            ids(&recs)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ids(recs: &[(InRecord, Record)]) -> Vec<i64> {
    recs.iter().filter_map(|(_, r)| data_i64(r, "id")).collect()
}

/// The source's clock (epoch seconds): binlog timestamps come from it.
fn server_now(h: &Harness) -> u64 {
    h.db.query("SELECT UNIX_TIMESTAMP()").unwrap()[0][0]
        .parse()
        .unwrap()
}

/// Waits until the source's clock reaches `t`.
async fn wait_server_time(h: &Harness, t: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server_now(h) < t {
        assert!(
            Instant::now() < deadline,
            "the source clock did not reach {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of epoch seconds.
fn iso(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // civil_from_days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

async fn stop(h: &Harness, arn: &str) -> dmsrs_tasks::ReplicationTask {
    h.engine.stop_task(arn).await.unwrap();
    h.wait(arn, TaskStatus::Stopped).await
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    let s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("PRNG seed {s}");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_and_checkpoint_start_positions() {
    let h = Harness::new().await;
    h.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))");
    h.sql("INSERT INTO t VALUES (1, 'before')");
    let status = h.db.query("SHOW MASTER STATUS").unwrap();
    let native = format!("{}:{}", status[0][0], status[0][1]);
    h.sql("INSERT INTO t VALUES (2, 'after')");

    // Native `file:pos` from SHOW MASTER STATUS between the two inserts: only the later one.
    let mut input = h.create_input(
        "native",
        MigrationType::Cdc,
        mappings("r", "t"),
        CDC_SETTINGS,
    );
    input.cdc_start_position = Some(native.clone());
    let t = h.engine.create_task(input).await.unwrap();
    assert_eq!(t.cdc_start_position.as_deref(), Some(native.as_str()));
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (3, 'sentinel')");
    let recs = wait_for_id(&h, None, "t", 3).await;
    assert_eq!(
        ids(&recs),
        [2, 3],
        "the insert before the position is not replayed"
    );

    // The RecoveryCheckpoint of the stopped task, fed to a new task as CdcStartPosition.
    let stopped = stop(&h, &t.arn).await;
    let cp = stopped.recovery_checkpoint.unwrap();
    assert!(cp.starts_with("checkpoint:V1#"), "{cp}");
    h.sql("INSERT INTO t VALUES (4, 'while stopped')");
    let mark = h.last_seq();
    let mut input = h.create_input(
        "from-checkpoint",
        MigrationType::Cdc,
        mappings("r", "t"),
        CDC_SETTINGS,
    );
    input.cdc_start_position = Some(cp);
    let t2 = h.engine.create_task(input).await.unwrap();
    h.start(&t2.arn, StartType::StartReplication).await;
    h.wait(&t2.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (5, 'sentinel')");
    let recs = wait_for_id(&h, mark.as_deref(), "t", 5).await;
    assert_eq!(
        ids(&recs),
        [4, 5],
        "exactly the changes after the checkpoint"
    );
    stop(&h, &t2.arn).await;

    // A CdcStartPosition given to StartReplicationTask overrides the task's.
    let mark = h.last_seq();
    let mut start = StartTask::new(&t.arn, StartType::StartReplication);
    start.cdc_start_position = Some(native);
    h.engine.start_task(start).await.unwrap();
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (6, 'sentinel')");
    let recs = wait_for_id(&h, mark.as_deref(), "t", 6).await;
    assert_eq!(ids(&recs), [2, 3, 4, 5, 6]);
    stop(&h, &t.arn).await;

    // A position that is not one fails the start with a message saying what is expected.
    let mut input = h.create_input("bad", MigrationType::Cdc, mappings("r", "t"), "{}");
    input.cdc_start_position = Some("nonsense".into());
    let bad = h.engine.create_task(input).await.unwrap();
    h.start(&bad.arn, StartType::StartReplication).await;
    let failed = h.wait(&bad.arn, TaskStatus::Failed).await;
    assert!(
        failed
            .last_failure_message
            .as_deref()
            .unwrap()
            .contains("file:position"),
        "{failed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_start_time_picks_the_binlog_file_and_skips_older_transactions() {
    let h = Harness::new().await;
    h.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))");
    // File N: a1; file N+1 (opened before the start time): a2, then b1 after it; file N+2: b2.
    h.sql("INSERT INTO t VALUES (1, 'a1'); FLUSH BINARY LOGS; INSERT INTO t VALUES (2, 'a2');");
    let start_time = server_now(&h) + 1;
    wait_server_time(&h, start_time).await;
    h.sql("INSERT INTO t VALUES (3, 'b1'); FLUSH BINARY LOGS; INSERT INTO t VALUES (4, 'b2');");

    let mut input = h.create_input(
        "from-time",
        MigrationType::Cdc,
        mappings("r", "t"),
        CDC_SETTINGS,
    );
    input.cdc_start_time = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(start_time));
    let t = h.engine.create_task(input).await.unwrap();
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (5, 'live')");
    let recs = wait_for_id(&h, None, "t", 5).await;
    assert_eq!(
        ids(&recs),
        [3, 4, 5],
        "exactly the transactions at or after CdcStartTime"
    );
    // resume-processing continues from the checkpoint, not from the start time again.
    stop(&h, &t.arn).await;
    h.sql("INSERT INTO t VALUES (6, 'while stopped')");
    let mark = h.last_seq();
    h.start(&t.arn, StartType::ResumeProcessing).await;
    let recs = wait_for_id(&h, mark.as_deref(), "t", 6).await;
    assert_eq!(ids(&recs), [6]);
    stop(&h, &t.arn).await;

    // The date form of CdcStartPosition, on StartReplicationTask, an hour back: older than
    // every binlog, which start at the first one (nothing was purged): every change.
    let mark = h.last_seq();
    let mut start = StartTask::new(&t.arn, StartType::StartReplication);
    start.cdc_start_position = Some(iso(start_time - 3600));
    h.engine.start_task(start).await.unwrap();
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (7, 'live')");
    let recs = wait_for_id(&h, mark.as_deref(), "t", 7).await;
    assert_eq!(ids(&recs), [1, 2, 3, 4, 5, 6, 7]);
    stop(&h, &t.arn).await;

    // StartReplicationTask's CdcStartTime replaces the task's start position.
    let mark = h.last_seq();
    let mut start = StartTask::new(&t.arn, StartType::StartReplication);
    start.cdc_start_time = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(start_time));
    h.engine.start_task(start).await.unwrap();
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (8, 'live')");
    let recs = wait_for_id(&h, mark.as_deref(), "t", 8).await;
    assert_eq!(ids(&recs), [3, 4, 5, 6, 7, 8]);
    stop(&h, &t.arn).await;

    // Both at once is refused, as DMS does.
    let mut input = h.create_input("both", MigrationType::Cdc, mappings("r", "t"), "{}");
    input.cdc_start_time = Some(SystemTime::now());
    input.cdc_start_position = Some("mysql-bin.000001:4".into());
    let e = h.engine.create_task(input).await.unwrap_err();
    assert_eq!(e.fault_name(), "InvalidParameterValueException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_stop_positions_stop_the_task_by_itself() {
    let h = Harness::new().await;
    h.sql("CREATE TABLE s (id INT PRIMARY KEY); CREATE TABLE c (id INT PRIMARY KEY);");
    let stop_at = server_now(&h) + 2;
    let mut tasks = Vec::new();
    for (kind, table) in [("server_time", "s"), ("commit_time", "c")] {
        let mut input = h.create_input(
            &format!("stop-{table}"),
            MigrationType::Cdc,
            mappings("r", table),
            CDC_SETTINGS,
        );
        input.cdc_stop_position = Some(format!("{kind}:{}", iso(stop_at)));
        let t = h.engine.create_task(input).await.unwrap();
        h.start(&t.arn, StartType::StartReplication).await;
        h.wait(&t.arn, TaskStatus::Running).await;
        tasks.push(t);
    }
    h.sql("INSERT INTO s VALUES (1); INSERT INTO c VALUES (1);");
    assert!(
        server_now(&h) < stop_at,
        "the machine is too slow for this test's 2 s window"
    );
    wait_for_id(&h, None, "s", 1).await;
    wait_for_id(&h, None, "c", 1).await;
    for t in &tasks {
        let now = h.engine.describe_task(&t.arn).await.unwrap();
        assert_eq!(
            now.status,
            TaskStatus::Running,
            "no event past the stop time yet"
        );
    }

    wait_server_time(&h, stop_at).await;
    // c's transaction first: it is the first to start (server_time) and to commit
    // (commit_time) after the stop time, for both tasks.
    h.sql("INSERT INTO c VALUES (2); INSERT INTO s VALUES (2);");
    let s = h.wait(&tasks[0].arn, TaskStatus::Stopped).await;
    assert_eq!(
        s.stop_reason.as_deref(),
        Some(stop_reason::STOPPED_AT_SERVER_TIME)
    );
    let c = h.wait(&tasks[1].arn, TaskStatus::Stopped).await;
    assert_eq!(
        c.stop_reason.as_deref(),
        Some(stop_reason::STOPPED_AT_COMMIT_TIME)
    );
    let all = h.records_after(None);
    let of = |table: &str| -> Vec<i64> {
        all.iter()
            .filter(|(_, r)| r.is_data() && r.metadata.table_name == table)
            .filter_map(|(_, r)| data_i64(r, "id"))
            .collect()
    };
    // server_time stops before the first transaction that starts at or after the time;
    // commit_time after the first transaction that commits at or after it.
    assert_eq!(of("s"), [1]);
    assert_eq!(of("c"), [1, 2]);

    // Resumed with a later stop position, each continues exactly where it stopped.
    h.sql("INSERT INTO s VALUES (3); INSERT INTO c VALUES (3);");
    let mark = h.last_seq();
    for (t, kind) in tasks.iter().zip(["server_time", "commit_time"]) {
        let mut start = StartTask::new(&t.arn, StartType::ResumeProcessing);
        start.cdc_stop_position = Some(format!("{kind}:{}", iso(stop_at + 3600)));
        h.engine.start_task(start).await.unwrap();
    }
    assert_eq!(ids(&wait_for_id(&h, mark.as_deref(), "s", 3).await), [2, 3]);
    assert_eq!(ids(&wait_for_id(&h, mark.as_deref(), "c", 3).await), [3]);
    for t in &tasks {
        stop(&h, &t.arn).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_load_and_cdc_resume_continues_and_reload_starts_over() {
    let h = Harness::new().await;
    h.sql(
        "CREATE TABLE t (id INT PRIMARY KEY, v INT); \
         INSERT INTO t SELECT seq, 0 FROM seq_1_to_100;",
    );
    let t = h
        .task(
            "flc",
            MigrationType::FullLoadAndCdc,
            mappings("r", "t"),
            CDC_SETTINGS,
        )
        .await;
    let count = |recs: &[(InRecord, Record)], op: Operation| {
        recs.iter()
            .filter(|(_, r)| r.metadata.operation == op)
            .count()
    };
    h.start(&t.arn, StartType::StartReplication).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&h.records_after(None), Operation::Load) < 100 {
        assert!(Instant::now() < deadline, "the table was not loaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.sql("INSERT INTO t VALUES (101, 0)");
    let recs = wait_for_id(&h, None, "t", 101).await;
    assert_eq!(count(&recs, Operation::Load), 100);

    // resume-processing: no reload, CDC from where it stopped (nothing replayed).
    stop(&h, &t.arn).await;
    h.sql("INSERT INTO t VALUES (102, 0)");
    let mark = h.last_seq();
    h.start(&t.arn, StartType::ResumeProcessing).await;
    h.sql("INSERT INTO t VALUES (103, 0)");
    let recs = wait_for_id(&h, mark.as_deref(), "t", 103).await;
    assert_eq!(ids(&recs), [102, 103], "{:?}", ops(&recs));
    assert!(
        h.records_after(mark.as_deref())
            .iter()
            .all(|(_, r)| r.metadata.operation != Operation::Load
                && r.metadata.operation != Operation::DropTable),
        "resume-processing does not load again"
    );

    // reload-target: every table loaded again, then CDC from the new snapshot.
    stop(&h, &t.arn).await;
    let mark = h.last_seq();
    h.start(&t.arn, StartType::ReloadTarget).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&h.records_after(mark.as_deref()), Operation::Load) < 103 {
        assert!(Instant::now() < deadline, "reload did not load the table");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.sql("INSERT INTO t VALUES (104, 0)");
    let recs = wait_for_id(&h, mark.as_deref(), "t", 104).await;
    let loaded: BTreeSet<i64> = recs
        .iter()
        .filter(|(_, r)| r.metadata.operation == Operation::Load)
        .filter_map(|(_, r)| data_i64(r, "id"))
        .collect();
    assert_eq!(loaded, (1..=103).collect(), "reload-target loads every row");
    assert_eq!(
        recs.last().unwrap().1.metadata.operation,
        Operation::Insert,
        "then CDC"
    );
    let all = h.records_after(mark.as_deref());
    assert_eq!(
        all.iter()
            .filter(|(_, r)| r.metadata.operation == Operation::DropTable)
            .count(),
        1
    );
    stop(&h, &t.arn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_during_full_load_arrive_after_it() {
    const ROWS: i64 = 30_000;
    let h = Harness::new().await;
    h.sql(&format!(
        "CREATE TABLE big (id INT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(200)); \
         INSERT INTO big SELECT seq, 0, REPEAT('x', 200) FROM seq_1_to_{ROWS}; \
         CREATE TABLE marker (id INT PRIMARY KEY);"
    ));
    let pool = mysql_async::Pool::new(h.db.url_for_db("dms_sample").as_str());
    let done = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    // A writer changing the table all through the load: (operation, id, v) in commit order.
    let writer = {
        let (pool, done, written) = (pool.clone(), Arc::clone(&done), Arc::clone(&written));
        tokio::spawn(async move {
            let mut rng = Rng(seed());
            let mut conn = pool.get_conn().await.unwrap();
            let mut rows: HashMap<i64, i64> = (1..=ROWS).map(|id| (id, 0)).collect();
            let mut log = Vec::new();
            let mut v = 0i64;
            while !done.load(Ordering::SeqCst) {
                v += 1;
                let id = 1 + rng.below(ROWS as u64 + 500) as i64;
                let change = match rows.get(&id).copied() {
                    None => {
                        conn.exec_drop("INSERT INTO big VALUES (?, ?, 'new')", (id, v))
                            .await
                            .unwrap();
                        rows.insert(id, v);
                        (Operation::Insert, id, v)
                    }
                    Some(old) if rng.below(10) == 0 => {
                        conn.exec_drop("DELETE FROM big WHERE id = ?", (id,))
                            .await
                            .unwrap();
                        rows.remove(&id);
                        (Operation::Delete, id, old)
                    }
                    Some(_) => {
                        conn.exec_drop("UPDATE big SET v = ? WHERE id = ?", (v, id))
                            .await
                            .unwrap();
                        rows.insert(id, v);
                        (Operation::Update, id, v)
                    }
                };
                log.push(change);
                written.fetch_add(1, Ordering::SeqCst);
            }
            log
        })
    };
    while written.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = h
        .task(
            "load-while-writing",
            MigrationType::FullLoadAndCdc,
            mappings("r", "%"),
            CDC_SETTINGS,
        )
        .await;
    let started = Instant::now();
    h.start(&t.arn, StartType::StartReplication).await;
    // The task takes its binlog position before the load starts: changes committed once
    // the load has started must all come through CDC. (Earlier ones may show only in the
    // loaded rows.)
    let mut at_start = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = h.engine.describe_task(&t.arn).await.unwrap();
        assert_ne!(now.status, TaskStatus::Failed, "{now:?}");
        if at_start.is_none() && now.stats.full_load_start_date.is_some() {
            at_start = Some(written.load(Ordering::SeqCst));
        }
        if now.stats.full_load_finish_date.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "full load did not finish");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let at_start = at_start.unwrap();
    let during = written.load(Ordering::SeqCst) - at_start;
    eprintln!(
        "full load of {ROWS} rows took {:?}; {during} changes made meanwhile",
        started.elapsed()
    );
    assert!(during > 0, "the writer ran during the full load");
    let target = written.load(Ordering::SeqCst) + 200;
    while written.load(Ordering::SeqCst) < target {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    done.store(true, Ordering::SeqCst);
    let log = writer.await.unwrap();
    h.sql("INSERT INTO marker VALUES (1)");
    let deadline = Instant::now() + Duration::from_secs(30);
    let recs = loop {
        let recs = h.records_after(None);
        if recs
            .iter()
            .any(|(_, r)| r.metadata.table_name == "marker" && r.is_data())
        {
            break recs;
        }
        assert!(Instant::now() < deadline, "marker did not arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let big: Vec<&Record> = recs
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.is_data() && r.metadata.table_name == "big")
        .collect();

    // Every change arrives as a CDC record, after the load.
    let last_load = big
        .iter()
        .rposition(|r| r.metadata.operation == Operation::Load)
        .unwrap();
    let cdc: BTreeSet<(String, i64, i64)> = big[last_load + 1..]
        .iter()
        .map(|r| {
            (
                r.metadata.operation.as_str().to_owned(),
                data_i64(r, "id").unwrap(),
                data_i64(r, "v").unwrap(),
            )
        })
        .collect();
    let missing: Vec<_> = log[at_start..]
        .iter()
        .filter(|(op, id, v)| !cdc.contains(&(op.as_str().to_owned(), *id, *v)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} changes missing, e.g. {:?}",
        missing.len(),
        log.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        big[..last_load]
            .iter()
            .all(|r| r.metadata.operation == Operation::Load),
        "no CDC record before the load ended"
    );
    // Applying the stream in order gives the source's final table.
    let mut state: BTreeMap<i64, i64> = BTreeMap::new();
    for r in &big {
        let (id, v) = (data_i64(r, "id").unwrap(), data_i64(r, "v").unwrap());
        match r.metadata.operation {
            Operation::Delete => {
                state.remove(&id);
            }
            _ => {
                state.insert(id, v);
            }
        }
    }
    let source: BTreeMap<i64, i64> =
        h.db.query("SELECT id, v FROM dms_sample.big")
            .unwrap()
            .iter()
            .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
            .collect();
    assert_eq!(state.len(), source.len());
    assert!(
        state == source,
        "the replayed stream equals the source table"
    );
    eprintln!(
        "{} changes, {} CDC records of big",
        log.len(),
        big.len() - last_load - 1
    );
    stop(&h, &t.arn).await;
    pool.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_table_transactions_keep_commit_order() {
    let h = Harness::new().await;
    h.sql(
        "CREATE TABLE a (id INT PRIMARY KEY, v INT); CREATE TABLE b (id INT PRIMARY KEY, v INT);",
    );
    let t = h
        .task(
            "order",
            MigrationType::Cdc,
            mappings("r", "%"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    let mark = h.last_seq();
    let pool = mysql_async::Pool::new(h.db.url_for_db("dms_sample").as_str());
    let mut c1 = pool.get_conn().await.unwrap();
    let mut c2 = pool.get_conn().await.unwrap();
    // Expected transactions in commit order: (table, operation, id) per record.
    let mut expected: Vec<Vec<(String, &str, i64)>> = Vec::new();
    let rec = |t: &str, op: &'static str, id: i64| (t.to_owned(), op, id);

    // Interleaved: c1 starts first but commits last, so its records come last.
    c1.query_drop("BEGIN").await.unwrap();
    c1.query_drop("INSERT INTO a VALUES (1, 0)").await.unwrap();
    c2.query_drop("BEGIN").await.unwrap();
    c2.query_drop("INSERT INTO b VALUES (1, 0)").await.unwrap();
    c2.query_drop("INSERT INTO a VALUES (2, 0)").await.unwrap();
    c2.query_drop("COMMIT").await.unwrap();
    c1.query_drop("INSERT INTO b VALUES (2, 0)").await.unwrap();
    c1.query_drop("UPDATE a SET v = 1 WHERE id = 1")
        .await
        .unwrap();
    c1.query_drop("COMMIT").await.unwrap();
    expected.push(vec![rec("b", "insert", 1), rec("a", "insert", 2)]);
    expected.push(vec![
        rec("a", "insert", 1),
        rec("b", "insert", 2),
        rec("a", "update", 1),
    ]);
    // Then transactions of random sizes over both tables.
    let mut rng = Rng(seed());
    let mut next_id = 10;
    for _ in 0..40 {
        let mut txn = Vec::new();
        c1.query_drop("BEGIN").await.unwrap();
        for _ in 0..1 + rng.below(8) {
            let table = if rng.below(2) == 0 { "a" } else { "b" };
            next_id += 1;
            c1.query_drop(format!("INSERT INTO {table} VALUES ({next_id}, 0)"))
                .await
                .unwrap();
            txn.push(rec(table, "insert", next_id));
            if rng.below(3) == 0 {
                c1.query_drop(format!("DELETE FROM {table} WHERE id = {next_id}"))
                    .await
                    .unwrap();
                txn.push(rec(table, "delete", next_id));
            }
        }
        c1.query_drop("COMMIT").await.unwrap();
        expected.push(txn);
    }
    c1.query_drop("INSERT INTO a VALUES (-1, 0)").await.unwrap();
    expected.push(vec![rec("a", "insert", -1)]);
    drop((c1, c2));
    pool.disconnect().await.unwrap();

    let recs = wait_for_id(&h, mark.as_deref(), "a", -1).await;
    let all: Vec<_> = h
        .records_after(mark.as_deref())
        .into_iter()
        .filter(|(_, r)| r.is_data())
        .collect();
    assert_eq!(
        all.len(),
        expected.iter().map(Vec::len).sum::<usize>(),
        "{:?}",
        ops(&recs)
    );
    // Group the stream by transaction id: the groups are the transactions, in commit order.
    type Group<'a> = (u64, Vec<(String, &'a str, i64)>, Vec<u64>);
    let mut groups: Vec<Group> = Vec::new();
    for (_, r) in &all {
        let m = &r.metadata;
        let tid = m.transaction_id.as_ref().unwrap().as_u64().unwrap();
        let rid = m.transaction_record_id.as_ref().unwrap().as_u64().unwrap();
        if groups.last().is_none_or(|g| g.0 != tid) {
            groups.push((tid, Vec::new(), Vec::new()));
        }
        let g = groups.last_mut().unwrap();
        let op: &str = match m.operation {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            _ => "other",
        };
        g.1.push((m.table_name.clone(), op, data_i64(r, "id").unwrap()));
        g.2.push(rid);
    }
    let got: Vec<_> = groups.iter().map(|g| g.1.clone()).collect();
    assert_eq!(
        got, expected,
        "each transaction contiguous, in commit order"
    );
    assert!(
        groups.windows(2).all(|w| w[0].0 < w[1].0),
        "transaction ids increase and none repeats"
    );
    for g in &groups {
        assert_eq!(g.2, (1..=g.2.len() as u64).collect::<Vec<_>>());
    }
    stop(&h, &t.arn).await;
}

/// Large statements are cut into many rows events, which parallel jobs decode and encode
/// (grouped by table and operation): the records still come in binlog row order, with
/// contiguous `transaction-record-id`s and one transaction id, and the table statistics
/// count every row.
#[tokio::test]
async fn large_statements_keep_row_order_and_record_ids() {
    let h = Harness::new().await;
    h.sql(
        "CREATE TABLE a (id INT PRIMARY KEY, v INT, pad VARCHAR(200)); \
         CREATE TABLE b (id INT PRIMARY KEY, v INT, pad VARCHAR(200));",
    );
    let t = h
        .task(
            "large",
            MigrationType::Cdc,
            mappings("r", "%"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    let mark = h.last_seq();
    h.sql(
        "BEGIN; \
         INSERT INTO a SELECT seq, 0, REPEAT('x', 150) FROM seq_1_to_3000; \
         UPDATE a SET v = 1 WHERE id <= 2000; \
         INSERT INTO b SELECT seq, 0, REPEAT('y', 150) FROM seq_1_to_500; \
         DELETE FROM a WHERE id > 2500; \
         COMMIT; \
         INSERT INTO b VALUES (501, 0, 'single');",
    );
    let mut expected: Vec<(&str, Operation, i64)> = Vec::new();
    expected.extend((1..=3000).map(|i| ("a", Operation::Insert, i)));
    expected.extend((1..=2000).map(|i| ("a", Operation::Update, i)));
    expected.extend((1..=500).map(|i| ("b", Operation::Insert, i)));
    expected.extend((2501..=3000).map(|i| ("a", Operation::Delete, i)));
    wait_for_id(&h, mark.as_deref(), "b", 501).await;
    let all: Vec<_> = h
        .records_after(mark.as_deref())
        .into_iter()
        .filter(|(_, r)| r.is_data())
        .collect();
    assert_eq!(all.len(), expected.len() + 1);
    let (big, single) = all.split_at(expected.len());
    let got: Vec<_> = big
        .iter()
        .map(|(_, r)| {
            (
                r.metadata.table_name.as_str(),
                r.metadata.operation.clone(),
                data_i64(r, "id").unwrap(),
            )
        })
        .collect();
    assert!(got == expected, "records out of row order");
    let tid = &big[0].1.metadata.transaction_id;
    let rids: Vec<u64> = big
        .iter()
        .map(|(_, r)| {
            assert_eq!(&r.metadata.transaction_id, tid);
            r.metadata
                .transaction_record_id
                .as_ref()
                .unwrap()
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        rids.iter().copied().eq(1..=expected.len() as u64),
        "transaction-record-ids are not 1..={}",
        expected.len()
    );
    // The next transaction starts again at 1 and points back at this one.
    let m = &single[0].1.metadata;
    assert_eq!(m.transaction_record_id.as_ref().unwrap().as_u64(), Some(1));
    assert_eq!(
        m.prev_transaction_record_id.as_ref().unwrap().as_u64(),
        Some(expected.len() as u64)
    );
    assert_eq!(&m.prev_transaction_id, tid);
    let stats = h.engine.describe_table_statistics(&t.arn).await.unwrap();
    let of = |name: &str| stats.iter().find(|s| s.table_name == name).unwrap();
    assert_eq!(
        (of("a").inserts, of("a").updates, of("a").deletes),
        (3000, 2000, 500)
    );
    assert_eq!(
        (of("b").inserts, of("b").updates, of("b").deletes),
        (501, 0, 0)
    );
    stop(&h, &t.arn).await;
}
