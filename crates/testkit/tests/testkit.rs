//! Real-process tests of the test kit (need `scripts/setup.sh` to have run).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dmsrs_testkit::{
    KinesisMock, MariaDbServer, MotoServer, TestkitError, aws_json_request, http_get,
};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `SHOW VARIABLES` as a map (names lower-case).
fn variables(db: &MariaDbServer) -> Result<HashMap<String, String>, TestkitError> {
    let rows = db.query(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', \
         'binlog_row_image', 'binlog_row_metadata', 'server_id', 'binlog_checksum', \
         'port', 'bind_address', 'log_bin_compress')",
    )?;
    Ok(rows
        .into_iter()
        .filter(|r| r.len() == 2)
        .map(|r| (r[0].to_ascii_lowercase(), r[1].clone()))
        .collect())
}

/// Runs SQL as the test user over TCP with its password (not the socket).
fn tcp_client(db: &MariaDbServer, sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    let out = Command::new("mariadb")
        .arg("--no-defaults")
        .arg("--protocol=tcp")
        .arg(format!("--host={}", db.host()))
        .arg(format!("--port={}", db.port()))
        .arg(format!("--user={}", db.user()))
        .arg(format!("--password={}", db.password()))
        .arg("--batch")
        .arg("--skip-column-names")
        .arg("-e")
        .arg(sql)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "mariadb client over TCP failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn pid_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would show state Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

/// Local addresses (hex, as in /proc/net/tcp) listening on `port`.
fn listen_addrs(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 3
                && cols[3] == "0A"
                && let Some((addr, p)) = cols[1].rsplit_once(':')
                && u16::from_str_radix(p, 16).ok() == Some(port)
            {
                found.push(addr.to_string());
            }
        }
    }
    found
}

#[test]
fn two_mariadb_servers_at_once() -> TestResult {
    let t0 = Instant::now();
    let a = std::thread::spawn(MariaDbServer::start);
    let b = std::thread::spawn(MariaDbServer::start);
    let a = a.join().map_err(|_| "thread panicked")??;
    let b = b.join().map_err(|_| "thread panicked")??;
    eprintln!(
        "two MariaDB servers in parallel: {:?} wall (a {:?}, b {:?})",
        t0.elapsed(),
        a.startup_duration(),
        b.startup_duration()
    );

    assert_ne!(a.port(), b.port());
    assert_ne!(a.server_id(), b.server_id());
    assert_ne!(a.data_dir(), b.data_dir());
    assert_ne!(a.socket_path(), b.socket_path());
    assert!(!a.is_persistent());

    for db in [&a, &b] {
        let vars = variables(db)?;
        assert_eq!(vars["log_bin"], "ON");
        assert_eq!(vars["binlog_format"], "ROW");
        assert_eq!(vars["binlog_row_image"], "FULL");
        assert_eq!(vars["binlog_row_metadata"], "FULL");
        assert_eq!(vars["binlog_checksum"], "CRC32");
        assert_eq!(vars["log_bin_compress"], "OFF");
        assert_eq!(vars["server_id"], db.server_id().to_string());
        assert_eq!(vars["port"], db.port().to_string());
        assert_eq!(vars["bind_address"], "127.0.0.1");
        assert_eq!(listen_addrs(db.port()), vec!["0100007F".to_string()]);
        assert_eq!(
            db.url(),
            format!(
                "mysql://{}:{}@127.0.0.1:{}/",
                db.user(),
                db.password(),
                db.port()
            )
        );
        assert!(db.url_for_db("dms_sample").ends_with("/dms_sample"));
    }

    // The password user connects over TCP and can create tables in dms_sample.
    tcp_client(
        &a,
        "CREATE TABLE dms_sample.t (id INT PRIMARY KEY, v VARCHAR(10)); \
         INSERT INTO dms_sample.t VALUES (1, 'x');",
    )?;
    assert_eq!(tcp_client(&a, "SELECT v FROM dms_sample.t")?.trim(), "x");
    let grants = tcp_client(&a, "SHOW GRANTS")?;
    assert!(
        grants.contains("GRANT ALL PRIVILEGES ON *.*") && grants.contains("WITH GRANT OPTION"),
        "{grants}"
    );
    // The table is on a, not on b.
    assert!(b.execute("SELECT * FROM dms_sample.t").is_err());
    // The insert went to the binlog.
    let status = a.query("SHOW MASTER STATUS")?;
    assert!(status[0][0].starts_with("mysql-bin."), "{status:?}");
    let events = a.execute(&format!("SHOW BINLOG EVENTS IN '{}'", status[0][0]))?;
    assert!(events.contains("Write_rows"), "{events}");

    // SQL errors carry the client's message.
    let err = a
        .execute("SELECT * FROM dms_sample.no_such_table")
        .expect_err("must fail");
    assert!(err.to_string().contains("doesn't exist"), "{err}");

    // Drop removes the temporary dirs and stops the process.
    let (dir_a, pid_a) = (a.data_dir().to_path_buf(), a.pid().ok_or("no pid")?);
    let t_drop = Instant::now();
    drop(a);
    eprintln!("drop (SIGKILL + dir removal) took {:?}", t_drop.elapsed());
    assert!(!dir_a.exists(), "{} still exists", dir_a.display());
    assert!(!pid_alive(pid_a));
    let dir_b = b.data_dir().to_path_buf();
    drop(b);
    assert!(!dir_b.exists());
    Ok(())
}

#[test]
fn persistent_data_dir_survives_restart_kill_and_drop() -> TestResult {
    let parent = tempfile::tempdir()?;
    let dir = parent.path().join("deployment");

    let mut db = MariaDbServer::builder().data_dir(&dir).start()?;
    assert!(db.is_persistent());
    assert_eq!(db.data_dir(), dir);
    let (port, id) = (db.port(), db.server_id());
    db.execute("CREATE TABLE dms_sample.kept (id INT PRIMARY KEY); INSERT INTO dms_sample.kept VALUES (1);")?;

    db.restart()?;
    assert_eq!((db.port(), db.server_id()), (port, id));
    eprintln!("restart took {:?}", db.startup_duration());
    assert_eq!(db.query("SELECT id FROM dms_sample.kept")?, vec![vec!["1"]]);

    // A crash (SIGKILL) right after a commit: the row survives recovery.
    db.execute("INSERT INTO dms_sample.kept VALUES (2);")?;
    let pid = db.pid().ok_or("no pid")?;
    db.kill();
    assert!(!db.is_running());
    assert!(!pid_alive(pid));
    assert!(matches!(
        db.execute("SELECT 1"),
        Err(TestkitError::NotRunning { .. })
    ));
    db.restart()?;
    assert_eq!(
        db.query("SELECT id FROM dms_sample.kept ORDER BY id")?,
        vec![vec!["1"], vec!["2"]]
    );
    let binlogs = db.query("SHOW BINARY LOGS")?;
    assert!(binlogs.len() >= 3, "one binlog per start: {binlogs:?}");
    drop(db);
    assert!(dir.join("ibdata1").is_file(), "persistent dir kept");

    // A new server on the same dir reuses it (no re-init) and keeps the server id.
    let db = MariaDbServer::builder().data_dir(&dir).start()?;
    assert_eq!(db.server_id(), id);
    assert_eq!(
        db.query("SELECT COUNT(*) FROM dms_sample.kept")?,
        vec![vec!["2"]]
    );
    drop(db);

    // A non-empty dir that is not a datadir is refused, and left alone.
    let junk = parent.path().join("junk");
    std::fs::create_dir_all(&junk)?;
    std::fs::write(junk.join("file.txt"), "mine")?;
    let err = MariaDbServer::builder()
        .data_dir(&junk)
        .start()
        .expect_err("must refuse");
    assert!(matches!(err, TestkitError::DataDirNotEmpty { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(junk.join("file.txt"))?, "mine");
    Ok(())
}

#[test]
fn mariadb_builder_options() -> TestResult {
    let db = MariaDbServer::builder()
        .server_id(4242)
        .binlog_checksum("NONE")
        .binlog_row_metadata("minimal")
        .extra_args(["--max-connections=77"])
        .start()?;
    let vars = variables(&db)?;
    assert_eq!(db.server_id(), 4242);
    assert_eq!(vars["server_id"], "4242");
    assert_eq!(vars["binlog_checksum"], "NONE");
    assert_eq!(vars["binlog_row_metadata"], "MINIMAL");
    assert_eq!(db.query("SELECT @@max_connections")?, vec![vec!["77"]]);

    let port = dmsrs_testkit::free_port()?;
    let plain = MariaDbServer::builder().log_bin(false).port(port).start()?;
    assert_eq!(plain.port(), port);
    assert_eq!(plain.server_id(), u32::from(port));
    assert_eq!(variables(&plain)?["log_bin"], "OFF");

    let err = MariaDbServer::builder()
        .binlog_checksum("MD5")
        .start()
        .expect_err("invalid");
    assert!(err.to_string().contains("NONE, CRC32"), "{err}");

    // A taken port is reported with the tail of the error log.
    let err = MariaDbServer::builder()
        .port(port)
        .start()
        .expect_err("port in use");
    let msg = err.to_string();
    assert!(msg.contains("exited during startup"), "{msg}");
    assert!(msg.to_ascii_lowercase().contains("in use"), "{msg}");
    Ok(())
}

fn json(body: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(body)
}

#[test]
fn moto_answers_aws_json_with_epoch_dms_dates() -> TestResult {
    let t0 = Instant::now();
    let moto = MotoServer::start()?;
    eprintln!("moto ready in {:?}", t0.elapsed());
    let url = moto.endpoint_url();
    assert_eq!(url, format!("http://127.0.0.1:{}", moto.port()));
    assert_eq!(listen_addrs(moto.port()), vec!["0100007F".to_string()]);
    assert_eq!(http_get(&url, "/moto-api/")?.status, 200);

    let r = aws_json_request(&url, "kinesis", "Kinesis_20131202.ListStreams", "{}")?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&r.body)?["StreamNames"].is_array(), "{}", r.body);

    // DMS dates are epoch seconds (numbers), thanks to moto_launcher.py.
    let dms = |target: &str, body: Value| -> Result<Value, Box<dyn std::error::Error>> {
        let r = aws_json_request(
            &url,
            "dms",
            &format!("AmazonDMSv20160101.{target}"),
            &body.to_string(),
        )?;
        if r.status != 200 {
            return Err(format!("{target}: HTTP {}: {}", r.status, r.body).into());
        }
        Ok(json(&r.body)?)
    };
    let ri = dms(
        "CreateReplicationInstance",
        serde_json::json!({"ReplicationInstanceIdentifier": "ri", "ReplicationInstanceClass": "dms.t3.micro"}),
    )?;
    let ri = &ri["ReplicationInstance"];
    assert!(ri["InstanceCreateTime"].is_f64(), "{ri}");
    let mut arns = Vec::new();
    for (id, kind, engine) in [("src", "source", "mariadb"), ("tgt", "target", "kinesis")] {
        let e = dms(
            "CreateEndpoint",
            serde_json::json!({"EndpointIdentifier": id, "EndpointType": kind, "EngineName": engine}),
        )?;
        arns.push(
            e["Endpoint"]["EndpointArn"]
                .as_str()
                .ok_or("no arn")?
                .to_string(),
        );
    }
    let task = dms(
        "CreateReplicationTask",
        serde_json::json!({
            "ReplicationTaskIdentifier": "task",
            "SourceEndpointArn": arns[0],
            "TargetEndpointArn": arns[1],
            "ReplicationInstanceArn": ri["ReplicationInstanceArn"],
            "MigrationType": "cdc",
            "TableMappings": "{\"rules\":[]}",
        }),
    )?;
    let task = &task["ReplicationTask"];
    let created = task["ReplicationTaskCreationDate"]
        .as_f64()
        .ok_or_else(|| format!("ReplicationTaskCreationDate is not a number: {task}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    assert!(
        (now - created).abs() < 120.0,
        "naive UTC read as UTC: {created} vs {now}"
    );
    let started = dms(
        "StartReplicationTask",
        serde_json::json!({"ReplicationTaskArn": task["ReplicationTaskArn"], "StartReplicationTaskType": "start-replication"}),
    )?;
    let started = &started["ReplicationTask"];
    assert_eq!(started["Status"], "running");
    assert!(started["ReplicationTaskStartDate"].is_f64(), "{started}");
    assert!(
        started["ReplicationTaskStats"]["StartDate"].is_f64(),
        "{started}"
    );
    let described = dms("DescribeReplicationTasks", serde_json::json!({}))?;
    assert!(described["ReplicationTasks"][0]["ReplicationTaskCreationDate"].is_f64());

    moto.reset()?;
    let described = dms("DescribeReplicationInstances", serde_json::json!({}));
    assert!(
        described.is_err()
            || described?["ReplicationInstances"]
                .as_array()
                .is_none_or(Vec::is_empty)
    );

    let pid = moto.pid();
    drop(moto);
    assert!(!pid_alive(pid), "moto still running after drop");
    Ok(())
}

#[test]
fn kinesis_local_answers_on_loopback_only() -> TestResult {
    let t0 = Instant::now();
    let kin = KinesisMock::start()?;
    eprintln!("kinesis-local ready in {:?}", t0.elapsed());
    let url = kin.endpoint_url();
    // The preload forces both listeners onto 127.0.0.1.
    assert_eq!(listen_addrs(kin.port()), vec!["0100007F".to_string()]);
    assert_eq!(listen_addrs(kin.tls_port()), vec!["0100007F".to_string()]);

    let call = |target: &str, body: &str| aws_json_request(&url, "kinesis", target, body);
    let r = call(
        "Kinesis_20131202.CreateStream",
        r#"{"StreamName":"cdc","ShardCount":2}"#,
    )?;
    assert_eq!(r.status, 200, "{}", r.body);
    // CREATE_STREAM_DURATION=0ms: ACTIVE at once.
    let r = call(
        "Kinesis_20131202.DescribeStreamSummary",
        r#"{"StreamName":"cdc"}"#,
    )?;
    assert_eq!(r.status, 200, "{}", r.body);
    let summary = json(&r.body)?;
    assert_eq!(
        summary["StreamDescriptionSummary"]["StreamStatus"],
        "ACTIVE"
    );
    assert_eq!(summary["StreamDescriptionSummary"]["OpenShardCount"], 2);
    let r = call("Kinesis_20131202.ListStreams", "{}")?;
    assert_eq!(json(&r.body)?["StreamNames"], serde_json::json!(["cdc"]));

    let pid = kin.pid();
    drop(kin);
    assert!(!pid_alive(pid), "kinesis-local still running after drop");
    Ok(())
}

#[test]
fn errors_tell_what_to_do() {
    let msgs = [
        TestkitError::MariaDbNotFound {
            program: "mariadbd",
        }
        .to_string(),
        TestkitError::MotoNotInstalled {
            path: Path::new("/x/.tools/venv/bin/python").into(),
        }
        .to_string(),
        TestkitError::KinesisLocalNotInstalled {
            what: "main.js".into(),
        }
        .to_string(),
    ];
    assert!(msgs[0].starts_with("mariadbd not found: run scripts/setup.sh"));
    assert!(msgs[1].starts_with("moto_server not installed"));
    assert!(msgs[2].starts_with("kinesis-local not installed"));
    for m in &msgs {
        assert!(m.contains("run scripts/setup.sh"), "{m}");
    }
    assert!(
        dmsrs_testkit::tools_dir().ends_with(".tools")
            || std::env::var_os("DMSRS_TOOLS_DIR").is_some()
    );
    assert!(
        dmsrs_testkit::workspace_root()
            .join("scripts/setup.sh")
            .is_file()
    );
}
