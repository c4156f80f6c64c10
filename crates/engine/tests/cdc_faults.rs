//! CDC under faults: the engine killed mid-stream, the source restarted, the binlog purged,
//! and a transaction far larger than memory should hold.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dmsrs_codec::{Operation, Record};
use dmsrs_engine::FileCheckpoints;
use dmsrs_streams::MemoryStream;
use dmsrs_tasks::{
    MigrationType, ReplicationService, StartTask, StartType, TaskStatus, stop_reason,
};
use dmsrs_testkit::MariaDbServer;
use mysql_async::prelude::Queryable;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/target";

/// The memory test measures the whole process's peak RSS: it runs alone (write lock), the
/// other tests of this file together (read lock).
static MEMORY_GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

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
    let s = std::env::var("DMSRS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1;
    eprintln!("PRNG seed {s} (set DMSRS_TEST_SEED to replay)");
    s
}

/// Polls `cond` every few milliseconds until it holds; panics with `what` after `timeout`.
fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

async fn wait_until_async(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn decode_all(stream: &MemoryStream) -> Vec<Record> {
    let mut all = stream.records();
    dmsrs_streams::sort_by_sequence_number(&mut all);
    all.iter()
        .map(|r| dmsrs_codec::decode(&r.data).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// The engine killed at random points during a 10,000-change workload.
// ---------------------------------------------------------------------------------------

/// One life of the engine: its own runtime (killing the engine = dropping that runtime
/// without a graceful stop) over the same MariaDB, stream and checkpoint folder.
struct Life {
    rt: tokio::runtime::Runtime,
    engine: dmsrs_engine::EmbeddedEngine,
    arn: String,
}

impl Life {
    /// A new engine (own runtime) with the task `KILLEDTASK` created again, started `how`.
    fn start(
        db: &MariaDbServer,
        stream: &MemoryStream,
        dir: &std::path::Path,
        how: StartType,
    ) -> Life {
        let life = Life::new(db, stream, dir, MigrationType::Cdc, "%");
        life.start_task(how).unwrap();
        life
    }

    /// A new engine (own runtime) with the task created again, not started.
    fn new(
        db: &MariaDbServer,
        stream: &MemoryStream,
        dir: &std::path::Path,
        mt: MigrationType,
        tables: &str,
    ) -> Life {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (engine, arn) = rt.block_on(async {
            let checkpoints = Arc::new(FileCheckpoints::new(dir).unwrap());
            let parts = EngineParts::new(db, stream, seed_kinesis(STREAM_ARN), checkpoints).await;
            let mut input = create_input(
                &parts.source_arn,
                &parts.target_arn,
                "killed-task",
                mt,
                mappings("r", tables),
                CDC_SETTINGS,
            );
            // The same resource id every life: the same task id, so the same checkpoint.
            input.resource_identifier = Some("KILLEDTASK".into());
            let t = parts.engine.create_task(input).await.unwrap();
            (parts.engine, t.arn)
        });
        Life { rt, engine, arn }
    }

    fn start_task(&self, how: StartType) -> dmsrs_tasks::Result<dmsrs_tasks::ReplicationTask> {
        self.rt
            .block_on(self.engine.start_task(StartTask::new(&self.arn, how)))
    }

    fn status(&self) -> dmsrs_tasks::ReplicationTask {
        self.rt
            .block_on(self.engine.describe_task(&self.arn))
            .unwrap()
    }

    /// An abrupt end: every task of the runtime is dropped where it stands (no flush, no
    /// checkpoint); blocking file writes already under way finish, as a write(2) would.
    fn kill(self) {
        let Life { rt, engine, .. } = self;
        rt.shutdown_timeout(Duration::from_secs(5));
        drop(engine);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Op {
    Insert,
    Update,
    Delete,
}

/// One committed change: the row's key, what happened, and `v` of the row it leaves (for a
/// delete, of the row deleted). `v` is unique per insert/update, so (id, op, v) names a change.
type Change = (i64, Op, i64);

const CHANGES: usize = 10_000;
const KEYS: u64 = 300;
const KILLS: usize = 6;

/// Writes `CHANGES` changes in transactions of 1 to 20 (sometimes up to 120) changes on
/// `KEYS` keys through one connection, so the log is in commit order. It does not go past
/// `limit` until the controller raises it.
fn writer(
    url: String,
    seed: u64,
    progress: Arc<AtomicUsize>,
    limit: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Vec<Change>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut rng = Rng(seed);
            let mut conn = mysql_async::Conn::from_url(url.as_str()).await.unwrap();
            let mut rows: HashMap<i64, i64> = HashMap::new();
            let mut log: Vec<Change> = Vec::with_capacity(CHANGES);
            let mut v = 0i64;
            while log.len() < CHANGES {
                while log.len() >= limit.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let size = if rng.below(10) == 0 {
                    20 + rng.below(100)
                } else {
                    1 + rng.below(20)
                } as usize;
                let size = size.min(CHANGES - log.len());
                conn.query_drop("BEGIN").await.unwrap();
                for _ in 0..size {
                    v += 1;
                    let id = 1 + rng.below(KEYS) as i64;
                    let change = match rows.get(&id).copied() {
                        None => {
                            conn.query_drop(format!(
                                "INSERT INTO kv VALUES ({id}, {v}, 'pad-{v}')"
                            ))
                            .await
                            .unwrap();
                            rows.insert(id, v);
                            (id, Op::Insert, v)
                        }
                        Some(old) if rng.below(4) == 0 => {
                            conn.query_drop(format!("DELETE FROM kv WHERE id = {id}"))
                                .await
                                .unwrap();
                            rows.remove(&id);
                            (id, Op::Delete, old)
                        }
                        Some(_) => {
                            conn.query_drop(format!("UPDATE kv SET v = {v} WHERE id = {id}"))
                                .await
                                .unwrap();
                            rows.insert(id, v);
                            (id, Op::Update, v)
                        }
                    };
                    log.push(change);
                }
                conn.query_drop("COMMIT").await.unwrap();
                progress.store(log.len(), Ordering::SeqCst);
            }
            conn.disconnect().await.unwrap();
            log
        })
    })
}

#[test]
fn engine_killed_at_random_points_loses_nothing_and_keeps_key_order() {
    let _gate = MEMORY_GATE.blocking_read();
    let started = Instant::now();
    let db = MariaDbServer::start().unwrap();
    db.execute(
        "CREATE TABLE dms_sample.kv (id INT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(64)); \
         CREATE TABLE dms_sample.marker (id INT PRIMARY KEY);",
    )
    .unwrap();
    let stream = MemoryStream::new("target");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed());

    // Kill i happens once the writer passed thresholds[i] (and the engine wrote a random
    // number of records since it started); the writer may not pass thresholds[i + 1] before
    // kill i happened, so every kill falls inside the workload.
    let mut thresholds: Vec<usize> = (1..=KILLS)
        .map(|i| i * 1300 + rng.below(600) as usize)
        .collect();
    thresholds.push(9_500);
    let progress = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(AtomicUsize::new(thresholds[1]));

    let mut life = Life::start(&db, &stream, dir.path(), StartType::StartReplication);
    wait_until("the task runs", Duration::from_secs(20), || {
        life.status().status == TaskStatus::Running
    });
    let writer = writer(
        db.url_for_db("dms_sample"),
        rng.next(),
        Arc::clone(&progress),
        Arc::clone(&limit),
    );

    // Stream length at each kill: records of one life lie between two boundaries.
    let mut boundaries = Vec::new();
    for i in 0..KILLS {
        let records_at_start = stream.len();
        let checkpoint_at_start = std::fs::read(dir.path().join("KILLEDTASK.checkpoint.json")).ok();
        wait_until(
            &format!("kill {i}: writer past {}", thresholds[i]),
            Duration::from_secs(60),
            || progress.load(Ordering::SeqCst) >= thresholds[i],
        );
        if i % 2 == 1 {
            // Right after this life moved its checkpoint: the next life replays little.
            wait_until(
                &format!("kill {i}: the checkpoint moves"),
                Duration::from_secs(30),
                || {
                    std::fs::read(dir.path().join("KILLEDTASK.checkpoint.json")).ok()
                        != checkpoint_at_start
                },
            );
        }
        // After a random number of records (0: possibly before the task even runs). This
        // life has at least thresholds[i + 1] - thresholds[i] - 120 (a transaction started
        // below the limit may end above it) >= 580 changes to write before the writer waits
        // for this kill.
        let wanted = rng.below(500) as usize;
        wait_until(
            &format!("kill {i}: {wanted} records from this life"),
            Duration::from_secs(30),
            || stream.len() >= records_at_start + wanted,
        );
        let at = progress.load(Ordering::SeqCst);
        assert!(at < CHANGES, "kill {i} happens during the workload");
        life.kill();
        boundaries.push(stream.len());
        eprintln!(
            "kill {i}: writer at {at} changes, {} records written by that life",
            stream.len() - records_at_start
        );
        limit.store(
            thresholds.get(i + 2).copied().unwrap_or(CHANGES),
            Ordering::SeqCst,
        );
        life = Life::start(&db, &stream, dir.path(), StartType::ResumeProcessing);
    }
    limit.store(CHANGES, Ordering::SeqCst);
    let log = writer.join().unwrap();
    assert_eq!(log.len(), CHANGES);

    // Everything committed before the marker arrives before the marker.
    db.execute("INSERT INTO dms_sample.marker VALUES (1)")
        .unwrap();
    let is_marker = |r: &Record| r.is_data() && r.metadata.table_name == "marker";
    wait_until("the marker arrives", Duration::from_secs(60), || {
        let t = life.status();
        assert_ne!(t.status, TaskStatus::Failed, "{t:?}");
        stream
            .records()
            .iter()
            .rev()
            .take(50)
            .any(|r| is_marker(&dmsrs_codec::decode(&r.data).unwrap()))
    });
    life.rt.block_on(life.engine.stop_task(&life.arn)).unwrap();
    wait_until("the task stops", Duration::from_secs(20), || {
        life.status().status == TaskStatus::Stopped
    });
    life.kill();

    // Index every change: globally (commit order) and per key.
    let mut global: HashMap<Change, usize> = HashMap::new();
    let mut per_key: HashMap<i64, Vec<Change>> = HashMap::new();
    for (g, c) in log.iter().enumerate() {
        assert!(global.insert(*c, g).is_none(), "changes are unique: {c:?}");
        per_key.entry(c.0).or_default().push(*c);
    }
    let key_index: HashMap<Change, usize> = per_key
        .values()
        .flat_map(|cs| cs.iter().enumerate().map(|(i, c)| (*c, i)))
        .collect();

    let records = decode_all(&stream);
    let mut life_of = 0usize;
    let mut seen = vec![0u32; CHANGES];
    // Per life: the global index of the previous kv record (contiguity check).
    let mut prev_global: Option<usize> = None;
    let mut max_global: Option<usize> = None;
    // Per key: position in the key's history of the last record, and the furthest reached.
    let mut key_last: HashMap<i64, usize> = HashMap::new();
    let mut key_max: HashMap<i64, usize> = HashMap::new();
    let mut key_life: HashMap<i64, usize> = HashMap::new();
    // (transaction-id, transaction-record-id) names one change, in every life.
    let mut ids: HashMap<(u64, u64), Change> = HashMap::new();
    let mut kv_records = 0usize;
    for (n, r) in records.iter().enumerate() {
        while life_of < boundaries.len() && n >= boundaries[life_of] {
            life_of += 1;
            prev_global = None;
        }
        if !(r.is_data() && r.metadata.table_name == "kv") {
            continue;
        }
        kv_records += 1;
        let op = match r.metadata.operation {
            Operation::Insert => Op::Insert,
            Operation::Update => Op::Update,
            Operation::Delete => Op::Delete,
            ref o => panic!("unexpected {o:?}"),
        };
        let c: Change = (data_i64(r, "id").unwrap(), op, data_i64(r, "v").unwrap());
        let g = *global
            .get(&c)
            .unwrap_or_else(|| panic!("record {n} is no committed change: {c:?}"));
        seen[g] += 1;
        let m = &r.metadata;
        let tid = m.transaction_id.as_ref().unwrap().as_u64().unwrap();
        let rid = m.transaction_record_id.as_ref().unwrap().as_u64().unwrap();
        let first = *ids.entry((tid, rid)).or_insert(c);
        assert_eq!(first, c, "transaction ids are stable across lives");

        // Within one life the changes arrive exactly in commit order, without gaps; a life
        // starts at most right after the furthest change written before (no loss), maybe
        // earlier (the replayed tail after the checkpoint).
        match prev_global {
            Some(p) => assert_eq!(
                g,
                p + 1,
                "record {n} (life {life_of}): change {g} after change {p}"
            ),
            None => assert!(
                g <= max_global.map_or(0, |m| m + 1),
                "life {life_of} starts at change {g}, after {max_global:?}: changes lost"
            ),
        }
        prev_global = Some(g);
        max_global = Some(max_global.map_or(g, |m| m.max(g)));

        // The same per key: after removing the replayed tails, each key's sequence of
        // (operation, values) is the source's.
        let k = key_index[&c];
        let new_life = key_life.insert(c.0, life_of) != Some(life_of);
        let reached = key_max.get(&c.0).copied();
        if new_life {
            assert!(
                k <= reached.map_or(0, |m| m + 1),
                "key {}: life {life_of} starts at its change {k}, after {reached:?}",
                c.0
            );
        } else {
            assert_eq!(
                k,
                key_last[&c.0] + 1,
                "key {}: change order within a life",
                c.0
            );
        }
        key_last.insert(c.0, k);
        key_max.insert(c.0, reached.map_or(k, |m| m.max(k)));
    }
    let missing: Vec<usize> = (0..CHANGES).filter(|&g| seen[g] == 0).collect();
    assert!(
        missing.is_empty(),
        "{} changes never arrived, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).map(|&g| log[g]).collect::<Vec<_>>()
    );
    for (key, cs) in &per_key {
        assert_eq!(key_max.get(key), Some(&(cs.len() - 1)), "key {key}");
    }
    let duplicates = kv_records - CHANGES;
    eprintln!(
        "{CHANGES} changes, {KILLS} kills, {kv_records} records: {duplicates} duplicates \
         (replayed after the checkpoints), {} distinct (transaction-id, record-id); {:?}",
        ids.len(),
        started.elapsed()
    );
    assert_eq!(ids.len(), CHANGES);
}

#[test]
fn engine_killed_during_a_reload_loads_again_instead_of_resuming() {
    const ROWS: usize = 100_000;
    let _gate = MEMORY_GATE.blocking_read();
    let db = MariaDbServer::start().unwrap();
    db.execute(&format!(
        "USE dms_sample; CREATE TABLE big (id INT PRIMARY KEY, v INT); \
         INSERT INTO big SELECT seq, 0 FROM seq_1_to_{ROWS};"
    ))
    .unwrap();
    let stream = MemoryStream::new("target");
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("KILLEDTASK.checkpoint.json");
    let loads = |from: usize| {
        let mut all = stream.records();
        dmsrs_streams::sort_by_sequence_number(&mut all);
        all[from..]
            .iter()
            .filter(|r| dmsrs_codec::decode(&r.data).unwrap().metadata.operation == Operation::Load)
            .count()
    };

    // Loaded, then in CDC (with a checkpoint).
    let life = Life::new(
        &db,
        &stream,
        dir.path(),
        MigrationType::FullLoadAndCdc,
        "big",
    );
    life.start_task(StartType::StartReplication).unwrap();
    wait_until("the load and CDC start", Duration::from_secs(60), || {
        life.status().status == TaskStatus::Running && checkpoint.exists()
    });
    assert_eq!(loads(0), ROWS);
    life.rt.block_on(life.engine.stop_task(&life.arn)).unwrap();
    wait_until("the task stops", Duration::from_secs(20), || {
        life.status().status == TaskStatus::Stopped
    });

    // reload-target, killed during the load.
    let mark = stream.len();
    life.start_task(StartType::ReloadTarget).unwrap();
    wait_until("the reload starts", Duration::from_secs(30), || {
        stream.len() >= mark + 1000
    });
    life.kill();
    let reloaded = loads(mark);
    assert!(
        reloaded < ROWS,
        "the reload finished before the kill: use more rows"
    );
    assert!(
        !checkpoint.exists(),
        "a reload forgets the CDC checkpoint before loading"
    );

    // The next life cannot resume CDC over a half-loaded target: it must load again.
    let life = Life::new(
        &db,
        &stream,
        dir.path(),
        MigrationType::FullLoadAndCdc,
        "big",
    );
    let e = life.start_task(StartType::ResumeProcessing).unwrap_err();
    assert_eq!(e.fault_name(), "InvalidResourceStateFault", "{e}");
    let mark = stream.len();
    life.start_task(StartType::StartReplication).unwrap();
    wait_until(
        "the load and CDC start again",
        Duration::from_secs(60),
        || life.status().status == TaskStatus::Running && checkpoint.exists(),
    );
    assert_eq!(loads(mark), ROWS);
    eprintln!("killed after {reloaded} of {ROWS} rows reloaded; loaded again in full");
    life.rt.block_on(life.engine.stop_task(&life.arn)).unwrap();
    wait_until("the task stops", Duration::from_secs(20), || {
        life.status().status == TaskStatus::Stopped
    });
    life.kill();
}

// ---------------------------------------------------------------------------------------
// The source restarted (cleanly, then killed) while CDC runs.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_restart_keeps_the_task_running_and_loses_nothing() {
    let _gate = MEMORY_GATE.read().await;
    let mut h = Harness::new().await;
    h.sql("CREATE TABLE t (id INT PRIMARY KEY, v INT); CREATE TABLE marker (id INT PRIMARY KEY);");
    let t = h
        .task(
            "survivor",
            MigrationType::Cdc,
            mappings("r", "%"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;

    // A writer inserting 5 rows per transaction until told to stop; through the outages it
    // reconnects. A transaction whose COMMIT failed may or may not have committed.
    let url = h.db.url_for_db("dms_sample");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let (mut committed, mut unknown) = (BTreeSet::new(), BTreeSet::new());
            let mut next = 0i64;
            let mut conn: Option<mysql_async::Conn> = None;
            while !stop.load(Ordering::SeqCst) {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match mysql_async::Conn::from_url(url.as_str()).await {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    },
                };
                let ids: Vec<i64> = (next..next + 5).collect();
                next += 5;
                let values: Vec<String> = ids.iter().map(|i| format!("({i}, 0)")).collect();
                let r = async {
                    c.query_drop("BEGIN").await?;
                    c.query_drop(format!("INSERT INTO t VALUES {}", values.join(",")))
                        .await?;
                    c.query_drop("COMMIT").await
                }
                .await;
                match r {
                    Ok(()) => committed.extend(ids),
                    Err(_) => {
                        unknown.extend(ids);
                        conn = None;
                    }
                }
            }
            (committed, unknown)
        })
    };

    let data_records = |h: &Harness| h.stream.len();
    for round in ["restart", "kill and restart"] {
        let before = data_records(&h);
        wait_until_async(
            "records flow before the outage",
            Duration::from_secs(20),
            || data_records(&h) >= before + 300,
        )
        .await;
        let outage = Instant::now();
        tokio::task::block_in_place(|| {
            if round == "kill and restart" {
                h.db.kill();
            }
            h.db.restart().unwrap();
        });
        let during = data_records(&h);
        let now = h.engine.describe_task(&t.arn).await.unwrap();
        assert_eq!(now.status, TaskStatus::Running, "{round}: {now:?}");
        wait_until_async(
            "records flow again after the outage",
            Duration::from_secs(30),
            || data_records(&h) >= during + 300,
        )
        .await;
        eprintln!(
            "{round}: records flow again {:?} after the outage began",
            outage.elapsed()
        );
    }
    stop.store(true, Ordering::SeqCst);
    let (committed, unknown) = writer.await.unwrap();
    h.sql("INSERT INTO marker VALUES (1)");
    let recs = loop {
        let recs = h.records_after(None);
        if recs
            .iter()
            .any(|(_, r)| r.is_data() && r.metadata.table_name == "marker")
        {
            break recs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let got: Vec<i64> = recs
        .iter()
        .filter(|(_, r)| r.is_data() && r.metadata.table_name == "t")
        .map(|(_, r)| data_i64(r, "id").unwrap())
        .collect();
    let got_set: BTreeSet<i64> = got.iter().copied().collect();
    let lost: Vec<_> = committed.difference(&got_set).collect();
    assert!(
        lost.is_empty(),
        "{} committed rows lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    // Rows the source really has are all there, including those whose COMMIT answer was lost.
    let in_source: BTreeSet<i64> =
        h.db.query("SELECT id FROM dms_sample.t")
            .unwrap()
            .iter()
            .map(|r| r[0].parse().unwrap())
            .collect();
    assert_eq!(got_set, in_source);
    assert!(
        committed.is_subset(&in_source)
            && in_source.is_subset(&committed.union(&unknown).copied().collect())
    );
    let now = h.engine.describe_task(&t.arn).await.unwrap();
    assert_eq!(now.status, TaskStatus::Running);
    eprintln!(
        "{} rows committed ({} uncertain), {} records, {} duplicates",
        committed.len(),
        unknown.len(),
        got.len(),
        got.len() - got_set.len()
    );
    h.engine.stop_task(&t.arn).await.unwrap();
    h.wait(&t.arn, TaskStatus::Stopped).await;
}

// ---------------------------------------------------------------------------------------
// The binlog purged while the task was stopped.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purged_binlog_fails_the_task_until_reload_target() {
    let _gate = MEMORY_GATE.read().await;
    let h = Harness::new().await;
    h.sql("CREATE TABLE t (id INT PRIMARY KEY)");
    let t = h
        .task(
            "purged",
            MigrationType::Cdc,
            mappings("r", "t"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (1)");
    wait_until_async("the first row arrives", Duration::from_secs(20), || {
        h.records_after(None)
            .iter()
            .any(|(_, r)| data_i64(r, "id") == Some(1))
    })
    .await;
    h.engine.stop_task(&t.arn).await.unwrap();
    h.wait(&t.arn, TaskStatus::Stopped).await;

    h.sql("INSERT INTO t VALUES (2); FLUSH BINARY LOGS; FLUSH BINARY LOGS; FLUSH BINARY LOGS;");
    let newest = h.db.query("SHOW MASTER STATUS").unwrap()[0][0].clone();
    // The server refuses to purge a file a replica still reads: wait for the task's binlog
    // dump connection to be gone.
    wait_until_async("the binlog dump thread ends", Duration::from_secs(20), || {
        h.db.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
            .unwrap()[0][0]
            == "0"
    })
    .await;
    // MariaDB also keeps a file until InnoDB has made its transactions durable (the binlog
    // checkpoint, about once a second here): purge until only the newest file is left.
    wait_until_async(
        "the old binlogs are purged",
        Duration::from_secs(20),
        || {
            h.sql(&format!("PURGE BINARY LOGS TO '{newest}'"));
            h.db.query("SHOW BINARY LOGS").unwrap().len() == 1
        },
    )
    .await;

    let mark = h.last_seq();
    h.start(&t.arn, StartType::ResumeProcessing).await;
    let failed = h.wait(&t.arn, TaskStatus::Failed).await;
    let msg = failed.last_failure_message.clone().unwrap();
    assert!(
        msg.contains("purged") && msg.contains("reload-target"),
        "{msg}"
    );
    assert_eq!(
        failed.stop_reason.as_deref(),
        Some(stop_reason::FATAL_ERROR)
    );
    assert!(h.records_after(mark.as_deref()).is_empty());

    // A CdcStartTime older than every binlog left is lost the same way.
    let mut input = h.create_input("too-old", MigrationType::Cdc, mappings("r", "t"), "{}");
    input.cdc_start_time = Some(SystemTime::now() - Duration::from_secs(3600));
    let old = h.engine.create_task(input).await.unwrap();
    h.start(&old.arn, StartType::StartReplication).await;
    let failed = h.wait(&old.arn, TaskStatus::Failed).await;
    let msg = failed.last_failure_message.unwrap();
    assert!(
        msg.contains("CdcStartTime") && msg.contains("reload-target"),
        "{msg}"
    );

    // reload-target starts over from the current end of the binlog.
    h.start(&t.arn, StartType::ReloadTarget).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    h.sql("INSERT INTO t VALUES (3)");
    wait_until_async(
        "a row after the reload arrives",
        Duration::from_secs(20),
        || {
            h.records_after(mark.as_deref())
                .iter()
                .any(|(_, r)| data_i64(r, "id") == Some(3))
        },
    )
    .await;
    let ids: Vec<_> = h
        .records_after(mark.as_deref())
        .iter()
        .filter_map(|(_, r)| data_i64(r, "id"))
        .collect();
    assert_eq!(ids, [3], "row 2 is lost with the purged binlog");
    h.engine.stop_task(&t.arn).await.unwrap();
    h.wait(&t.arn, TaskStatus::Stopped).await;
}

// ---------------------------------------------------------------------------------------
// A huge single transaction streams through with bounded memory.
// ---------------------------------------------------------------------------------------

/// Rows of the big transaction (`DMSRS_BIG_TXN_ROWS` overrides).
fn big_txn_rows() -> u64 {
    std::env::var("DMSRS_BIG_TXN_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_transaction_streams_with_bounded_memory() {
    let _gate = MEMORY_GATE.write().await;
    let rows = big_txn_rows();
    let db = MariaDbServer::start().unwrap();
    let stream = MemoryStream::builder("target").retention(10_000).build();
    let h = Harness::with_parts(
        db,
        stream,
        seed_kinesis(STREAM_ARN),
        Arc::new(dmsrs_engine::MemoryCheckpoints::default()),
    )
    .await;
    h.sql("CREATE TABLE big (id INT PRIMARY KEY, a BIGINT, b VARCHAR(100), c DOUBLE)");
    let t = h
        .task(
            "huge",
            MigrationType::Cdc,
            mappings("r", "big"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Running).await;
    let controls = 2; // create-table big and awsdms_apply_exceptions
    wait_until_async("control records", Duration::from_secs(10), || {
        h.stream.len() >= controls
    })
    .await;

    // Reset the peak RSS (Linux: clear_refs 5), then measure the growth.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmHWM:");
    let started = Instant::now();
    tokio::task::block_in_place(|| {
        h.sql(&format!(
            "INSERT INTO big SELECT seq, seq * 7, CONCAT('row-', seq, '-', REPEAT('z', 60)), seq / 3 \
             FROM seq_1_to_{rows}"
        ))
    });
    let committed = started.elapsed();
    // Sequence numbers count every record ever stored (retention keeps only the newest).
    let stored = |h: &Harness| -> u64 {
        h.last_seq()
            .map(|s| s[1..46].parse::<u64>().unwrap())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while stored(&h) < controls as u64 + rows {
        let now = h.engine.describe_task(&t.arn).await.unwrap();
        assert_eq!(now.status, TaskStatus::Running, "{now:?}");
        assert!(Instant::now() < deadline, "only {} records", stored(&h));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    let growth_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "{rows} rows in one transaction: committed in {committed:?}, streamed in {elapsed:?} \
         ({:.0} rows/s); peak RSS {} MiB -> {} MiB (+{growth_mib} MiB)",
        rows as f64 / (elapsed - committed).as_secs_f64().max(0.001),
        before / 1024,
        peak / 1024
    );
    assert!(growth_mib < 200, "peak RSS grew by {growth_mib} MiB");

    // All of it one transaction, in order, the last record last.
    let recs = h.records_after(None);
    let last = &recs.last().unwrap().1;
    assert_eq!(data_i64(last, "id"), Some(rows as i64));
    let m = &last.metadata;
    assert_eq!(
        m.transaction_record_id.as_ref().unwrap().as_u64(),
        Some(rows)
    );
    let tid = m.transaction_id.clone();
    assert!(
        recs.iter()
            .filter(|(_, r)| r.is_data())
            .all(|(_, r)| r.metadata.transaction_id == tid)
    );
    let ids: Vec<i64> = recs.iter().filter_map(|(_, r)| data_i64(r, "id")).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "in order");
    let stats = h.engine.describe_table_statistics(&t.arn).await.unwrap();
    assert_eq!(
        stats
            .iter()
            .find(|s| s.table_name == "big")
            .unwrap()
            .inserts,
        rows
    );
    h.engine.stop_task(&t.arn).await.unwrap();
    h.wait(&t.arn, TaskStatus::Stopped).await;
}
