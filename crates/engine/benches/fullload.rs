//! Full-load throughput and memory: a sysbench-like table (int primary key, int, char(120),
//! char(60)) loaded by the engine into the in-memory target, side by side in the same run
//! with `mariadb --quick --batch -e 'SELECT * FROM t' > /dev/null` on the same table.
//!
//! Run: `cargo bench -p dmsrs-engine --bench fullload -- [rows...]` (default 1000000).
//! Each size runs in a child process of this binary so peak RSS (VmHWM) is per size.

use dmsrs_engine::{EmbeddedEngine, EngineConfig, StreamTargets};
use dmsrs_secrets::{MemorySecrets, SecretString, dms_secret_json};
use dmsrs_streams::MemoryStream;
use dmsrs_tasks::{
    CreateEndpoint, CreateTask, EndpointSettings, EndpointType, KinesisSettings, MigrationType,
    MySqlSettings, ReplicationService, StartTask, StartType, TaskStatus, wait::wait_for_status,
};
use dmsrs_testkit::MariaDbServer;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Some(child) = std::env::var_os("DMSRS_BENCH_CHILD") {
        let rows: u64 = child.to_string_lossy().parse().unwrap_or(1_000_000);
        child_run(rows);
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![1_000_000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    println!("| rows | engine rows/s | mariadb --quick rows/s | ratio | engine peak RSS (MiB) |");
    println!("|---:|---:|---:|---:|---:|");
    for rows in sizes {
        let exe = std::env::current_exe().expect("own path");
        let out = Command::new(exe)
            .env("DMSRS_BENCH_CHILD", rows.to_string())
            .output()
            .expect("run child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn child_run(rows: u64) {
    let db = MariaDbServer::builder()
        .extra_args(["--innodb-buffer-pool-size=512M"])
        .start()
        .expect("start MariaDB (run scripts/setup.sh)");
    db.execute(&format!(
        "USE dms_sample; CREATE TABLE sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
         INSERT INTO sbtest1 SELECT seq, seq % 100000, CONCAT(LPAD(seq, 11, '0'), '-', REPEAT('x', 108)), REPEAT('p', 60) FROM seq_1_to_{rows};"
    ))
    .expect("load table");

    // The server and a C client: what the engine is compared with.
    let t = Instant::now();
    let st = Command::new("mariadb")
        .args([
            "--quick",
            "--batch",
            "-h",
            "127.0.0.1",
            "-P",
            &db.port().to_string(),
            "-u",
            db.user(),
        ])
        .arg(format!("-p{}", db.password()))
        .args(["-e", "SELECT * FROM dms_sample.sbtest1"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run mariadb client");
    assert!(st.success());
    let client_rate = rows as f64 / t.elapsed().as_secs_f64();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let engine_rate = rt.block_on(async {
        // Keep only the newest records: the bench measures the engine, not an ever-growing list.
        let stream = MemoryStream::builder("target").retention(10_000).build();
        let targets = StreamTargets::new();
        targets.register("target", Arc::new(stream.writer()));
        let secrets = MemorySecrets::new();
        secrets.put("s", dms_secret_json(db.host(), db.port(), db.user(), &SecretString::new(db.password()), "dms_sample"));
        let engine = EmbeddedEngine::new(EngineConfig::default(), Arc::new(secrets), Arc::new(targets));
        let src = engine
            .create_endpoint(CreateEndpoint {
                identifier: "src".into(),
                endpoint_type: EndpointType::Source,
                engine_name: "mariadb".into(),
                settings: EndpointSettings::MySql(MySqlSettings { secrets_manager_secret_id: Some("s".into()), ..Default::default() }),
            })
            .await
            .expect("endpoint");
        let dst = engine
            .create_endpoint(CreateEndpoint {
                identifier: "dst".into(),
                endpoint_type: EndpointType::Target,
                engine_name: "kinesis".into(),
                settings: EndpointSettings::Kinesis(KinesisSettings {
                    stream_arn: "target".into(),
                    include_partition_value: true,
                    partition_include_schema_table: true,
                    ..Default::default()
                }),
            })
            .await
            .expect("endpoint");
        let task = engine
            .create_task(CreateTask {
                identifier: "bench".into(),
                source_endpoint_arn: src.arn,
                target_endpoint_arn: dst.arn,
                replication_instance_arn: String::new(),
                migration_type: MigrationType::FullLoad,
                table_mappings: r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"dms_sample","table-name":"sbtest1"},"rule-action":"include"}]}"#.into(),
                settings: None,
                cdc_start_position: None,
                cdc_start_time: None,
                cdc_stop_position: None,
                resource_identifier: None,
            })
            .await
            .expect("task");
        let t = Instant::now();
        engine.start_task(StartTask::new(&task.arn, StartType::StartReplication)).await.expect("start");
        let done = wait_for_status(&engine, &task.arn, TaskStatus::Stopped, Duration::from_secs(3600), Duration::from_millis(5))
            .await
            .expect("task stops");
        let elapsed = t.elapsed();
        let stats = engine.describe_table_statistics(&task.arn).await.expect("stats");
        assert_eq!(stats[0].full_load_rows, rows, "{done:?}");
        rows as f64 / elapsed.as_secs_f64()
    });
    println!(
        "| {rows} | {:.0} | {:.0} | {:.2} | {:.1} |",
        engine_rate,
        client_rate,
        engine_rate / client_rate,
        peak_rss_mib()
    );
}
