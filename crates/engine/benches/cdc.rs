//! CDC throughput and latency (issue 4), against a private MariaDB from the test kit.
//!
//! ```text
//! cargo bench -p dmsrs-engine --bench cdc -- throughput [changes] [runs] # default 1000000, 5
//! cargo bench -p dmsrs-engine --bench cdc -- latency [seconds] [rate] # default 60 s at 1000 commits/s
//! cargo bench -p dmsrs-engine --bench cdc                             # both, with the defaults
//! ```
//! `DMSRS_CDC_CHANGES` / `DMSRS_CDC_RUNS` and `DMSRS_CDC_LATENCY_SECS` /
//! `DMSRS_CDC_LATENCY_RATE` override the defaults;
//! `DMSRS_CDC_TOOLS=engine` (a comma list of `engine`, `raw`, `python`, and `reader` for a
//! diagnostic run of the engine's binlog reader alone) runs only some of the throughput
//! readers, e.g. to profile the engine.
//! Run `scripts/setup.sh` first (MariaDB, and the venv with python-mysql-replication).
//!
//! **Throughput.** A sysbench-like table (`id INT PRIMARY KEY, k INT, c CHAR(120), pad
//! CHAR(60)`) gets `changes` row changes in large statements of 100,000 rows each (one
//! transaction per statement, one ROWS event per ~8 KB of rows): 40 % inserts (`INSERT ...
//! SELECT FROM seq_a_to_b`), 40 % updates (`k = k + 1` and a new `c`: every row really
//! changes, so every row is logged), 20 % deletes. The binlog range [start, end) taken with
//! `SHOW MASTER STATUS` around that holds exactly `changes` row changes; it is then read,
//! in the same run, by the tools below. The engine and the raw transfer run `runs` times,
//! taking turns, and the table reports the median (this machine's speed varies by a third
//! from one second to the next); python-mysql-replication runs once.
//!
//! * `mariadb-binlog --read-from-remote-server --raw` (into a temp dir): the transfer limit;
//! * the engine: a CDC task with `CdcStartPosition` = start into the in-memory target, the
//!   seed's settings (transaction details, before-images of updates); timed from
//!   `StartReplicationTask` until the stream holds one record per row change (plus the two
//!   create-table control records CDC starts with);
//! * python-mysql-replication (`scripts/bench_pymysqlreplication.py`, pinned by
//!   `scripts/requirements-dev.txt`), building a dict per row image.
//!
//! "events" in the table are row changes (the same `changes` for every tool), so events/s of
//! the three compare directly; MB/s is the size of the binlog range divided by the time.
//! The ratio column is the engine's rate divided by the tool's (goals: >= 20 against
//! python-mysql-replication, >= 0.5 against the raw transfer).
//!
//! **Latency.** A CDC task streams a table while 4 client connections (mysql_async) commit
//! one single-row INSERT each (autocommit: the statement's OK comes after the commit) at a
//! fixed schedule of `rate` commits/s, for a 1 s warm-up (not counted) and then `seconds`.
//! Right after each commit returns, the client notes the time; the record's
//! `approximate_arrival` (when the in-memory stream stored it, i.e. when a reader can read it)
//! minus that is the commit -> readable latency. The row also carries `ts_us`, the client
//! time just before the INSERT was sent (microseconds since the epoch), for the
//! statement -> readable figure. Both clocks are this host's wall clock.

use dmsrs_codec::{Value, decode};
use dmsrs_engine::{EmbeddedEngine, EngineConfig, StreamTargets};
use dmsrs_secrets::{MemorySecrets, SecretString, dms_secret_json};
use dmsrs_streams::{MemoryStream, MemoryWriter, StreamWriter};
use dmsrs_tasks::{
    CreateEndpoint, CreateTask, EndpointSettings, EndpointType, MigrationType, MySqlSettings,
    ReplicationService, StartTask, StartType, TaskStatus, wait::wait_for_status,
};
use dmsrs_testkit::MariaDbServer;
use mysql_async::prelude::Queryable;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// mimalloc: the engine allocates on the runtime's workers and frees on others (records
/// move from encoders to the sink); glibc malloc pays for that cross-thread traffic.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows per generating statement (= per transaction).
const CHUNK: u64 = 100_000;
/// Control records a CDC task writes when it starts: create-table for the one mapped table
/// and for `awsdms_apply_exceptions`.
const START_CONTROLS: u64 = 2;
/// The seed's CDC task settings: before-images of updates on.
const CDC_SETTINGS: &str = dmsrs_tasks::seed::CDC_TASK_SETTINGS;
/// Client connections driving the latency load.
const LATENCY_CONNECTIONS: u64 = 4;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let num = |i: usize, env: &str, default: u64| -> u64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .or_else(|| std::env::var(env).ok().and_then(|v| v.parse().ok()))
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("throughput") => throughput(
            num(1, "DMSRS_CDC_CHANGES", 1_000_000),
            repeats(num(2, "DMSRS_CDC_RUNS", 5)),
        ),
        Some("latency") => latency(
            num(1, "DMSRS_CDC_LATENCY_SECS", 60),
            num(2, "DMSRS_CDC_LATENCY_RATE", 1000),
        ),
        None => {
            throughput(
                num(99, "DMSRS_CDC_CHANGES", 1_000_000),
                repeats(num(99, "DMSRS_CDC_RUNS", 5)),
            );
            latency(
                num(99, "DMSRS_CDC_LATENCY_SECS", 60),
                num(99, "DMSRS_CDC_LATENCY_RATE", 1000),
            );
        }
        Some(other) => {
            eprintln!(
                "usage: cdc [throughput [changes] [runs] | latency [seconds] [rate]] (got {other:?})"
            );
            std::process::exit(2);
        }
    }
}

// ------------------------------------------------------------------------------- shared

fn repeats(n: u64) -> usize {
    usize::try_from(n).unwrap_or(1).max(1)
}

fn start_db() -> MariaDbServer {
    MariaDbServer::builder()
        .extra_args(["--innodb-buffer-pool-size=512M"])
        .start()
        .expect("start MariaDB (run scripts/setup.sh)")
}

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The stream-wide counter of the newest record (= records ever stored, as nothing fails).
fn stored(stream: &MemoryStream) -> u64 {
    stream
        .latest_sequence_number()
        .and_then(|s| s.get(1..46).and_then(|c| c.parse().ok()))
        .unwrap_or(0)
}

/// CPU time (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    // utime and stime, in clock ticks of 1/100 s.
    (proc_stat_field(14) + proc_stat_field(15)) as f64 / 100.0
}

/// Field `n` (1-based, as in proc(5)) of `/proc/self/stat`, as a number (0 if unreadable).
fn proc_stat_field(n: usize) -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after `(comm)` start at field 3 (state).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .nth(n.saturating_sub(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An engine reading `db` and writing to `stream`, with a CDC task on `dms_sample.<table>`
/// (seed Kinesis settings); returns the engine and the task's ARN.
async fn cdc_task(
    db: &MariaDbServer,
    writer: &MemoryWriter,
    table: &str,
    start: Option<String>,
) -> (EmbeddedEngine, String) {
    let targets = StreamTargets::new();
    targets.register("target", Arc::new(writer.clone()));
    let secrets = MemorySecrets::new();
    secrets.put(
        "s",
        dms_secret_json(
            db.host(),
            db.port(),
            db.user(),
            &SecretString::new(db.password()),
            "dms_sample",
        ),
    );
    let engine = EmbeddedEngine::new(
        EngineConfig::default(),
        Arc::new(secrets),
        Arc::new(targets),
    );
    let src = engine
        .create_endpoint(CreateEndpoint {
            identifier: "src".into(),
            endpoint_type: EndpointType::Source,
            engine_name: "mariadb".into(),
            settings: EndpointSettings::MySql(MySqlSettings {
                secrets_manager_secret_id: Some("s".into()),
                ..Default::default()
            }),
        })
        .await
        .expect("endpoint");
    let dst = engine
        .create_endpoint(CreateEndpoint {
            identifier: "dst".into(),
            endpoint_type: EndpointType::Target,
            engine_name: "kinesis".into(),
            // The seed's KinesisSettings.
            settings: EndpointSettings::Kinesis(dmsrs_tasks::seed::kinesis_settings(
                "target", None,
            )),
        })
        .await
        .expect("endpoint");
    let task = engine
        .create_task(CreateTask {
            identifier: "bench".into(),
            source_endpoint_arn: src.arn,
            target_endpoint_arn: dst.arn,
            replication_instance_arn: String::new(),
            migration_type: MigrationType::Cdc,
            table_mappings: dmsrs_tasks::seed::table_mappings(
                "1",
                table,
                dmsrs_tasks::seed::SCHEMA,
            ),
            settings: Some(CDC_SETTINGS.into()),
            cdc_start_position: start,
            cdc_start_time: None,
            cdc_stop_position: None,
            resource_identifier: None,
        })
        .await
        .expect("task");
    (engine, task.arn)
}

async fn stop(engine: &EmbeddedEngine, arn: &str) {
    engine.stop_task(arn).await.expect("stop");
    wait_for_status(
        engine,
        arn,
        TaskStatus::Stopped,
        Duration::from_secs(60),
        Duration::from_millis(10),
    )
    .await
    .expect("task stops");
}

// ------------------------------------------------------------------------------- throughput

#[derive(Clone, Debug)]
struct Pos {
    file: String,
    pos: u64,
}

fn master_status(db: &MariaDbServer) -> Pos {
    let rows = db.query("SHOW MASTER STATUS").expect("SHOW MASTER STATUS");
    let r = rows.first().expect("binary logging is on");
    Pos {
        file: r[0].clone(),
        pos: r[1].parse().expect("position"),
    }
}

/// The binlog files from `start.file` to `end.file` with their sizes.
fn binlog_files(db: &MariaDbServer, start: &Pos, end: &Pos) -> Vec<(String, u64)> {
    db.query("SHOW BINARY LOGS")
        .expect("SHOW BINARY LOGS")
        .into_iter()
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.parse().ok()?)))
        .filter(|(f, _)| *f >= start.file && *f <= end.file)
        .collect()
}

/// Bytes of the binlog in [start, end).
fn range_bytes(files: &[(String, u64)], start: &Pos, end: &Pos) -> u64 {
    files
        .iter()
        .map(|(f, size)| {
            let from = if *f == start.file { start.pos } else { 4 };
            let to = if *f == end.file { end.pos } else { *size };
            to.saturating_sub(from)
        })
        .sum()
}

fn generate(db: &MariaDbServer, changes: u64) {
    let inserts = changes * 2 / 5;
    let updates = changes * 2 / 5;
    let deletes = changes - inserts - updates;
    let mut sql = String::from("USE dms_sample;\n");
    let chunks =
        |n: u64| (0..n.div_ceil(CHUNK)).map(move |i| (i * CHUNK + 1, ((i + 1) * CHUNK).min(n)));
    for (a, b) in chunks(inserts) {
        sql.push_str(&format!(
            "INSERT INTO sbtest1 SELECT seq, seq % 100000, CONCAT(LPAD(seq, 11, '0'), '-', REPEAT('x', 108)), REPEAT('p', 60) FROM seq_{a}_to_{b};\n"
        ));
    }
    for (a, b) in chunks(updates) {
        sql.push_str(&format!(
            "UPDATE sbtest1 SET k = k + 1, c = CONCAT(LPAD(id, 11, '0'), '-', REPEAT('y', 108)) WHERE id BETWEEN {a} AND {b};\n"
        ));
    }
    // Delete the last `deletes` inserted rows.
    for (a, b) in chunks(deletes) {
        let (a, b) = (inserts - deletes + a, inserts - deletes + b);
        sql.push_str(&format!(
            "DELETE FROM sbtest1 WHERE id BETWEEN {a} AND {b};\n"
        ));
    }
    db.execute(&sql).expect("generate the binlog");
}

/// Waits until the server is quiet after the workload. InnoDB purges the old row versions
/// of the updates and deletes in the background, which takes a whole core for seconds and
/// would slow down whichever reader runs first; dirty pages are flushed for the same reason.
fn settle(db: &MariaDbServer) {
    let t = Instant::now();
    db.execute(
        "SET GLOBAL innodb_max_purge_lag_wait = 0; SET GLOBAL innodb_max_dirty_pages_pct = 0;",
    )
    .expect("wait for InnoDB purge");
    // Flushing has no wait: poll until no dirty page is left (or give up after 60 s).
    while t.elapsed() < Duration::from_secs(60) {
        let dirty = db
            .query(
                "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'",
            )
            .expect("read the dirty page count");
        if dirty.first().and_then(|r| r.first()).map(String::as_str) == Some("0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "server settled (InnoDB purge and page flushing) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Times of one tool over the repeated runs.
struct Run {
    tool: &'static str,
    events: u64,
    /// Seconds of each run.
    seconds: Vec<f64>,
}

impl Run {
    fn new(tool: &'static str, events: u64) -> Self {
        Run {
            tool,
            events,
            seconds: Vec::new(),
        }
    }

    /// The median run time (the upper middle one for an even count).
    fn median(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn rate(&self) -> f64 {
        self.events as f64 / self.median()
    }

    /// `min-max` of the rates, when there was more than one run.
    fn spread(&self) -> String {
        if self.seconds.len() < 2 {
            return String::new();
        }
        let rates = self.seconds.iter().map(|s| self.events as f64 / s);
        let lo = rates.clone().fold(f64::INFINITY, f64::min);
        let hi = rates.fold(0.0, f64::max);
        format!("{lo:.0}-{hi:.0}")
    }
}

/// What one engine run measured besides its time.
#[derive(Default)]
struct EngineRun {
    /// Seconds from the start until the first row change was stored.
    first_change: f64,
    cpu: f64,
    minor_faults: u64,
    bytes_sent: u64,
    requests: u64,
}

/// Minor page faults of this process so far.
fn minor_faults() -> u64 {
    proc_stat_field(10)
}

/// `--host H --port P --user U`: how the command-line readers reach the server.
fn client_args(db: &MariaDbServer) -> [String; 6] {
    [
        "--host".into(),
        db.host().into(),
        "--port".into(),
        db.port().to_string(),
        "--user".into(),
        db.user().into(),
    ]
}

/// `mariadb-binlog --read-from-remote-server --raw` pulls the files as they are; returns
/// the seconds it took.
fn raw_run(db: &MariaDbServer, start: &Pos, files: &[(String, u64)], bytes: u64) -> f64 {
    // In memory when possible: the transfer, not the disk, is the limit to measure.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("temp dir");
    let t = Instant::now();
    let st = Command::new("mariadb-binlog")
        .args(["--read-from-remote-server", "--raw"])
        .args(client_args(db))
        .arg(format!("--password={}", db.password()))
        .arg(format!("--start-position={}", start.pos))
        .arg(format!("--result-file={}/", dir.path().display()))
        .args(files.iter().map(|(f, _)| f))
        .status()
        .expect("run mariadb-binlog");
    let secs = t.elapsed().as_secs_f64();
    assert!(st.success(), "mariadb-binlog failed");
    let pulled: u64 = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    // The files hold their 4-byte header and the events before `start` too.
    assert!(
        pulled >= bytes,
        "mariadb-binlog wrote {pulled} bytes, less than the {bytes} of the range"
    );
    secs
}

/// One engine run over [start, end): a CDC task from `start` into an in-memory stream,
/// timed from `StartReplicationTask` until the stream holds every record.
fn engine_run(db: &MariaDbServer, start: &Pos, changes: u64) -> (f64, EngineRun) {
    let rt = runtime(2);
    rt.block_on(async {
        // Keep only the newest records: the bench measures the engine, not an ever-growing list.
        let stream = MemoryStream::builder("target").retention(10_000).build();
        let writer = stream.writer();
        let (engine, arn) = cdc_task(
            db,
            &writer,
            "sbtest1",
            Some(format!("{}:{}", start.file, start.pos)),
        )
        .await;
        let want = changes + START_CONTROLS;
        let cpu = cpu_seconds();
        let faults = minor_faults();
        let t = Instant::now();
        engine
            .start_task(StartTask::new(&arn, StartType::StartReplication))
            .await
            .expect("start");
        let deadline = t + Duration::from_secs(3600);
        let mut polls = 0u64;
        let mut first_change = None;
        loop {
            let n = stored(&stream);
            if n >= want {
                break;
            }
            if first_change.is_none() && n > START_CONTROLS {
                first_change = Some(t.elapsed().as_secs_f64());
            }
            polls += 1;
            if polls.is_multiple_of(500) {
                assert!(
                    Instant::now() < deadline,
                    "the engine wrote {} of {want} records",
                    stored(&stream)
                );
                let st = engine
                    .describe_tasks(&dmsrs_tasks::TaskFilter::arn(arn.as_str()))
                    .await
                    .expect("describe");
                if let Some(t) = st.first().filter(|t| t.status == TaskStatus::Failed) {
                    panic!("task failed: {:?}", t.last_failure_message);
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let secs = t.elapsed().as_secs_f64();
        let run = EngineRun {
            first_change: first_change.unwrap_or(secs),
            cpu: cpu_seconds() - cpu,
            minor_faults: minor_faults() - faults,
            bytes_sent: writer.metrics().bytes_sent,
            requests: writer.metrics().requests,
        };
        stop(&engine, &arn).await;
        let stats = engine.describe_table_statistics(&arn).await.expect("stats");
        let s = stats
            .iter()
            .find(|s| s.table_name == "sbtest1")
            .expect("sbtest1 statistics");
        assert_eq!(s.inserts + s.updates + s.deletes, changes, "{s:?}");
        assert_eq!(stored(&stream), want, "one record per row change");
        let last = stream.records().pop().expect("records");
        let last = decode(&last.data).expect("decode");
        assert_eq!(last.metadata.operation.as_str(), "delete");
        (secs, run)
    })
}

/// Diagnostic: the engine's binlog reader alone over [start, end), rows left undecoded
/// (the engine's serial stage cannot go faster); returns the seconds it took.
fn reader_run(db: &MariaDbServer, start: &Pos, end: &Pos) -> f64 {
    let rt = runtime(2);
    rt.block_on(async {
        let config = dmsrs_engine::source::SourceConfig {
            host: db.host().into(),
            port: db.port(),
            user: db.user().into(),
            password: SecretString::new(db.password()),
            database: Some("dms_sample".into()),
        };
        let from = dmsrs_engine::binlog::BinlogPosition::new(start.file.clone(), start.pos);
        let mut reader = dmsrs_engine::binlog::BinlogReader::open(&config, 4242, Some(from))
            .await
            .expect("open the binlog reader");
        let t = Instant::now();
        loop {
            match reader.next().await.expect("read the binlog") {
                dmsrs_engine::binlog::ChangeEvent::Commit { position, .. }
                    if position.file == end.file && position.pos >= end.pos =>
                {
                    break;
                }
                _ => {}
            }
        }
        let secs = t.elapsed().as_secs_f64();
        reader.close().await;
        secs
    })
}

/// python-mysql-replication over [start, end); returns the rows it read and its seconds.
fn python_run(db: &MariaDbServer, start: &Pos, end: &Pos) -> (u64, f64) {
    let root = dmsrs_testkit::workspace_root();
    let python = dmsrs_testkit::tools_dir().join("venv/bin/python");
    let out = Command::new(&python)
        .arg(root.join("scripts/bench_pymysqlreplication.py"))
        .args(client_args(db))
        .args(["--password", db.password()])
        .args([
            "--log-file",
            &start.file,
            "--log-pos",
            &start.pos.to_string(),
        ])
        .args(["--end-file", &end.file, "--end-pos", &end.pos.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("run {} (run scripts/setup.sh): {e}", python.display()));
    assert!(
        out.status.success(),
        "python-mysql-replication failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    (
        py["rows"].as_u64().unwrap_or(0),
        py["seconds"].as_f64().unwrap_or(f64::NAN),
    )
}

fn throughput(changes: u64, repeats: usize) {
    let db = start_db();
    db.execute(
        "USE dms_sample; CREATE TABLE sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL); FLUSH BINARY LOGS;",
    )
    .expect("create table");
    let start = master_status(&db);
    let t = Instant::now();
    generate(&db, changes);
    let gen_secs = t.elapsed().as_secs_f64();
    settle(&db);
    let end = master_status(&db);
    let files = binlog_files(&db, &start, &end);
    let bytes = range_bytes(&files, &start, &end);
    eprintln!(
        "binlog range {}:{} .. {}:{}: {:.1} MB, {changes} row changes, generated in {gen_secs:.1} s",
        start.file,
        start.pos,
        end.file,
        end.pos,
        bytes as f64 / 1e6
    );

    let tools = std::env::var("DMSRS_CDC_TOOLS").unwrap_or_else(|_| "engine,raw,python".into());
    let wanted = |t: &str| tools.split(',').any(|x| x.trim() == t);
    assert!(
        wanted("engine"),
        "DMSRS_CDC_TOOLS must include engine: the table compares with it"
    );
    let mut engine = Run::new("dmsrs engine -> in-memory stream", changes);
    let mut raw = Run::new("mariadb-binlog --read-from-remote-server --raw", changes);
    let mut reader = Run::new("dmsrs binlog reader alone (rows not decoded)", changes);
    let mut engine_runs = Vec::new();
    // The engine and the raw transfer take turns, so both see the machine in the same state.
    for i in 0..repeats {
        if wanted("raw") {
            raw.seconds.push(raw_run(&db, &start, &files, bytes));
        }
        let (secs, run) = engine_run(&db, &start, changes);
        eprintln!(
            "run {}/{repeats}: engine {:.3} s (first change stored after {:.0} ms; {:.2} µs CPU per change, {} minor faults){}",
            i + 1,
            secs,
            run.first_change * 1e3,
            run.cpu * 1e6 / changes as f64,
            run.minor_faults,
            raw.seconds
                .last()
                .map(|r| format!(", raw {r:.3} s"))
                .unwrap_or_default()
        );
        engine.seconds.push(secs);
        engine_runs.push(run);
        if wanted("reader") {
            reader.seconds.push(reader_run(&db, &start, &end));
        }
    }
    let mut runs = vec![engine];
    if wanted("raw") {
        runs.push(raw);
    }
    if wanted("reader") {
        runs.push(reader);
    }
    let mut py_rate = f64::NAN;
    if wanted("python") {
        // One run: it takes about 15 s per million changes.
        let (rows, secs) = python_run(&db, &start, &end);
        assert_eq!(rows, changes, "python-mysql-replication read {rows} rows");
        let mut py = Run::new("python-mysql-replication 1.0.17 (dict per row)", rows);
        py.seconds.push(secs);
        py_rate = py.rate();
        runs.push(py);
    }

    let engine_rate = runs[0].rate();
    println!();
    println!(
        "CDC throughput: {changes} row changes ({} inserts, {} updates, {} deletes), binlog range {:.1} MB; median of {repeats} runs (engine and raw transfer alternating)",
        changes * 2 / 5,
        changes * 2 / 5,
        changes - changes * 4 / 5,
        bytes as f64 / 1e6
    );
    println!();
    println!(
        "| tool | events (row changes) | runs | seconds (median) | events/s (median) | events/s (min-max) | MB/s (binlog range) | engine events/s ÷ tool events/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {} | {:.1} | {:.2} |",
            r.tool,
            r.events,
            r.seconds.len(),
            r.median(),
            r.rate(),
            r.spread(),
            bytes as f64 / 1e6 / r.median(),
            engine_rate / r.rate()
        );
    }
    let raw_rate = runs
        .iter()
        .find(|r| r.tool.starts_with("mariadb-binlog"))
        .map_or(f64::NAN, Run::rate);
    println!();
    println!(
        "goals: engine >= 20x python-mysql-replication: {:.1}x ({}); engine >= 0.5 of the raw transfer: {:.2} ({})",
        engine_rate / py_rate,
        if engine_rate / py_rate >= 20.0 {
            "met"
        } else {
            "MISSED"
        },
        engine_rate / raw_rate,
        if engine_rate / raw_rate >= 0.5 {
            "met"
        } else {
            "MISSED"
        }
    );
    let n = engine_runs.len().max(1) as f64;
    let total = |f: fn(&EngineRun) -> f64| engine_runs.iter().map(f).sum::<f64>();
    let (cpu, secs) = (
        total(|r| r.cpu) / n,
        runs[0].seconds.iter().sum::<f64>() / n,
    );
    let last = engine_runs
        .last()
        .map_or((0, 0), |r| (r.bytes_sent, r.requests));
    println!(
        "engine, mean of the runs: CPU {cpu:.2} s ({:.0} % of one core, {:.2} µs per row change), {:.0} minor page faults per run; a run wrote {:.1} MB of records in {} PutRecords requests; bench process peak RSS {:.1} MiB",
        cpu / secs * 100.0,
        cpu * 1e6 / changes as f64,
        total(|r| r.minor_faults as f64) / n,
        last.0 as f64 / 1e6,
        last.1,
        peak_rss_mib()
    );
}

// ------------------------------------------------------------------------------- latency

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: i64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_str().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn latency(seconds: u64, rate: u64) {
    assert!(rate > 0, "rate must be > 0");
    let db = start_db();
    db.execute(
        "USE dms_sample; CREATE TABLE lat (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, ts_us BIGINT NOT NULL);",
    )
    .expect("create table");
    let warmup = rate; // 1 s
    let total = warmup + seconds * rate;

    let rt = runtime(2);
    let stream = MemoryStream::new("target");
    let (engine, arn) = rt.block_on(async {
        let (engine, arn) = cdc_task(&db, &stream.writer(), "lat", None).await;
        engine
            .start_task(StartTask::new(&arn, StartType::StartReplication))
            .await
            .expect("start");
        wait_for_status(
            &engine,
            &arn,
            TaskStatus::Running,
            Duration::from_secs(30),
            Duration::from_millis(5),
        )
        .await
        .expect("task runs");
        stream
            .wait_for(None, START_CONTROLS as usize, Duration::from_secs(30))
            .await
            .expect("create-table records");
        // Let the reader reach the end of the binlog.
        tokio::time::sleep(Duration::from_millis(200)).await;
        (engine, arn)
    });

    // The load: its own runtime, so the client does not share the engine's threads.
    let load = runtime(1);
    let commit_us: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let rtt_us: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let lag_us: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let url = db.url_for_db("dms_sample");
    eprintln!(
        "latency: {total} commits at {rate}/s ({warmup} warm-up) over {LATENCY_CONNECTIONS} connections"
    );
    let load_secs = load.block_on(async {
        let pool = mysql_async::Pool::new(url.as_str());
        let mut conns = Vec::new();
        for _ in 0..LATENCY_CONNECTIONS {
            conns.push(pool.get_conn().await.expect("connect"));
        }
        let t0 = tokio::time::Instant::now() + Duration::from_millis(50);
        let started = Instant::now();
        let mut jobs = Vec::new();
        for (k, mut conn) in conns.into_iter().enumerate() {
            let (commit_us, rtt_us, lag_us) = (
                Arc::clone(&commit_us),
                Arc::clone(&rtt_us),
                Arc::clone(&lag_us),
            );
            jobs.push(tokio::spawn(async move {
                let stmt = conn
                    .prep("INSERT INTO lat VALUES (?, ?, ?, ?, ?)")
                    .await
                    .expect("prepare");
                let mut i = k as u64;
                while i < total {
                    let due = t0 + Duration::from_nanos(i * 1_000_000_000 / rate);
                    tokio::time::sleep_until(due).await;
                    lag_us[i as usize].store(due.elapsed().as_micros() as u64, Ordering::Relaxed);
                    let c = format!("{:011}-{}", i + 1, "x".repeat(108));
                    let sent = now_us();
                    conn.exec_drop(
                        &stmt,
                        (i + 1, (i % 100_000) as i64, c, "p".repeat(60), sent as i64),
                    )
                    .await
                    .expect("insert");
                    let done = now_us();
                    commit_us[i as usize].store(done, Ordering::Relaxed);
                    rtt_us[i as usize].store(done - sent, Ordering::Relaxed);
                    i += LATENCY_CONNECTIONS;
                }
                drop(conn);
            }));
        }
        for j in jobs {
            j.await.expect("load task");
        }
        let secs = started.elapsed().as_secs_f64();
        pool.disconnect().await.expect("disconnect");
        secs
    });

    // Every record, then the arrival of each row's record.
    let records = rt.block_on(async {
        let want = (START_CONTROLS + total) as usize;
        let recs = stream
            .wait_for(None, want, Duration::from_secs(60))
            .await
            .expect("every commit arrives");
        stop(&engine, &arn).await;
        recs
    });
    let mut arrival_us = vec![0u64; total as usize];
    let mut sent_us = vec![0u64; total as usize];
    for r in &records {
        let rec = decode(&r.data).expect("decode");
        let Some(data) = rec.data.as_ref() else {
            continue;
        };
        let id = int(data.get("id")).expect("id") as usize;
        arrival_us[id - 1] = r
            .approximate_arrival
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        sent_us[id - 1] = int(data.get("ts_us")).expect("ts_us") as u64;
    }
    let measured = warmup as usize..total as usize;
    let mut commit_to_visible: Vec<i64> = measured
        .clone()
        .map(|i| arrival_us[i] as i64 - commit_us[i].load(Ordering::Relaxed) as i64)
        .collect();
    let mut sent_to_visible: Vec<i64> = measured
        .clone()
        .map(|i| arrival_us[i] as i64 - sent_us[i] as i64)
        .collect();
    let mut rtt: Vec<i64> = measured
        .clone()
        .map(|i| rtt_us[i].load(Ordering::Relaxed) as i64)
        .collect();
    let mut lag: Vec<i64> = measured
        .clone()
        .map(|i| lag_us[i].load(Ordering::Relaxed) as i64)
        .collect();
    for v in [
        &mut commit_to_visible,
        &mut sent_to_visible,
        &mut rtt,
        &mut lag,
    ] {
        v.sort_unstable();
    }
    let n = commit_to_visible.len();
    println!();
    println!(
        "CDC latency: {n} commits measured ({seconds} s at {rate} commits/s after a 1 s warm-up; achieved {:.0} commits/s over {LATENCY_CONNECTIONS} connections)",
        total as f64 / load_secs
    );
    println!();
    println!("| ms | min | p50 | p90 | p99 | p99.9 | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, v) in [
        ("commit returned -> record readable", &commit_to_visible),
        ("INSERT sent -> record readable", &sent_to_visible),
        ("client: INSERT+commit round trip", &rtt),
        ("client: start lag behind schedule", &lag),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            ms(v.first().copied().unwrap_or(0)),
            ms(percentile(v, 50.0)),
            ms(percentile(v, 90.0)),
            ms(percentile(v, 99.0)),
            ms(percentile(v, 99.9)),
            ms(v.last().copied().unwrap_or(0))
        );
    }
    let p99 = percentile(&commit_to_visible, 99.0);
    let early = commit_to_visible.iter().filter(|&&v| v < 0).count();
    println!();
    println!(
        "{early} of {n} records ({:.1} %) were readable before their client saw the commit return (negative latency: the binlog is written before the OK reaches the client)",
        early as f64 * 100.0 / n.max(1) as f64
    );
    println!(
        "goal: p99 commit -> readable < 10 ms: {} ms ({}); p50 {} ms, max {} ms",
        ms(p99),
        if p99 < 10_000 { "met" } else { "MISSED" },
        ms(percentile(&commit_to_visible, 50.0)),
        ms(commit_to_visible.last().copied().unwrap_or(0))
    );
}
