//! `EmbeddedMariaDb`: a detached private mariadbd that later objects (and
//! processes) find again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use dmsrs_database::{
    Database, DatabaseId, DatabaseSpec, EmbeddedMariaDb, PASSWORD_LENGTH, SqlClient,
};
use dmsrs_secrets::SecretString;

/// Kills the test's server if the test fails before `destroy`.
struct KillOnDrop(PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(self.0.join("server.json"))
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(pid) = v["pid"].as_u64()
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&self.0.display().to_string()))
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

/// Session id (field 6 of /proc/<pid>/stat).
fn session_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::test]
async fn embedded_lifecycle_reuse_restart_destroy() {
    let state = tempfile::tempdir().unwrap();
    let spec = DatabaseSpec::new("EmbStack", "rds_instance");
    let id = spec.id.clone();
    let db = EmbeddedMariaDb::new(state.path());
    let folder = db.folder(&id);
    assert_eq!(folder, state.path().join("databases/rds_instance"));
    let _guard = KillOnDrop(folder.clone());
    assert_eq!(db.describe(&id).await.unwrap(), None);

    // First ensure: initialise, start, generated password.
    let t0 = std::time::Instant::now();
    let a = db.ensure(&spec).await.unwrap();
    eprintln!("first ensure took {:?}", t0.elapsed());
    assert!(a.created && a.is_available());
    assert_eq!(
        (
            a.host.as_str(),
            a.master_username.as_str(),
            a.db_name.as_str()
        ),
        ("127.0.0.1", "admin", "dms_sample")
    );
    let password = a.password.clone().unwrap();
    assert_eq!(password.expose().len(), PASSWORD_LENGTH);
    assert!(!format!("{a:?}").contains(password.expose()));
    assert!(a.engine_version.contains("MariaDB"), "{}", a.engine_version);
    let pid = db.running_pid(&id).unwrap();
    // Detached: its own session, so it outlives this process and its terminal.
    assert_ne!(session_of(pid), session_of(std::process::id()));
    let meta = std::fs::metadata(folder.join("server.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077,
        0
    );

    let mut sql = SqlClient::connect_instance(&a).await.unwrap();
    sql.execute_batch(&[
        "CREATE TABLE authors (id INT PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO authors VALUES (1, 'John')",
    ])
    .await
    .unwrap();
    let binlog = sql.binlog_status().await.unwrap();
    assert!(binlog.cdc_problems().is_empty(), "{binlog:?}");
    assert_eq!(binlog.checksum, "NONE");
    assert_eq!(binlog.row_metadata.as_deref(), Some("FULL"));
    assert!(binlog.server_id > 0);
    sql.close().await.unwrap();

    // A second object (as in a later process) finds the same running server.
    let db2 = EmbeddedMariaDb::new(state.path());
    let b = db2.ensure(&spec).await.unwrap();
    assert!(!b.created);
    assert_eq!((b.port, b.password.as_ref()), (a.port, Some(&password)));
    assert_eq!(db2.running_pid(&id), Some(pid));
    let mut sql = SqlClient::connect_instance(&b).await.unwrap();
    assert_eq!(
        sql.query_u64("SELECT COUNT(*) FROM authors").await.unwrap(),
        1
    );
    sql.close().await.unwrap();
    assert_eq!(
        db2.describe(&id).await.unwrap().map(|d| d.status),
        Some("available".into())
    );

    // A spec with another password does not silently reuse the server.
    let other = spec
        .clone()
        .with_master_password(SecretString::new("Other-pass-123"));
    assert!(db2.ensure(&other).await.unwrap_err().is_user_error());

    // Stopped: described as such; started again on demand on the same port.
    assert!(db2.stop(&id).await.unwrap());
    assert!(!alive(pid));
    assert_eq!(
        db2.describe(&id).await.unwrap().map(|d| d.status),
        Some("stopped".into())
    );
    let c = db2
        .wait_available(&id, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(c.port, a.port);
    let pid2 = db2.running_pid(&id).unwrap();
    assert_ne!(pid2, pid);

    // Crashed (SIGKILL): the next ensure starts it again with the data.
    std::process::Command::new("kill")
        .args(["-KILL", &pid2.to_string()])
        .status()
        .unwrap();
    for _ in 0..200 {
        if !alive(pid2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let d = db.ensure(&spec).await.unwrap();
    let log = std::fs::read_to_string(folder.join("error.log")).unwrap_or_default();
    let ports: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("port:") || l.contains("ERROR"))
        .collect();
    assert_eq!(d.port, a.port, "{ports:#?}");
    let mut sql = SqlClient::connect_instance(&d).await.unwrap();
    assert_eq!(
        sql.query_u64("SELECT COUNT(*) FROM authors").await.unwrap(),
        1
    );
    sql.close().await.unwrap();

    // Destroy: server stopped, folder removed; a second destroy is a no-op.
    let pid3 = db.running_pid(&id).unwrap();
    let report = db.destroy(&id).await.unwrap();
    let kinds: Vec<_> = report.deleted.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["embedded-server", "state-folder"]);
    assert!(!alive(pid3));
    assert!(!folder.exists());
    assert!(db.destroy(&id).await.unwrap().deleted.is_empty());
    assert_eq!(db.describe(&id).await.unwrap(), None);
    assert!(
        db.wait_available(&id, Duration::from_secs(1))
            .await
            .unwrap_err()
            .is_user_error()
    );
}

#[tokio::test]
async fn taken_port_moves_to_a_free_one_and_names_are_checked() {
    let state = tempfile::tempdir().unwrap();
    let db = EmbeddedMariaDb::new(state.path());
    let spec = DatabaseSpec::new("EmbStack2", "cdc")
        .with_master_password(SecretString::new("Given-Passw0rd"));
    let _guard = KillOnDrop(db.folder(&spec.id));

    let a = db.ensure(&spec).await.unwrap();
    assert_eq!(
        a.password.as_ref().map(SecretString::expose),
        Some("Given-Passw0rd")
    );
    db.stop(&spec.id).await.unwrap();
    // Someone else takes the recorded port meanwhile.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", a.port)).unwrap();
    let b = db.ensure(&spec).await.unwrap();
    assert_ne!(b.port, a.port);
    drop(squatter);
    let mut sql = SqlClient::connect_instance(&b).await.unwrap();
    assert_eq!(sql.query_u64("SELECT 1").await.unwrap(), 1);
    sql.close().await.unwrap();

    // Same folder name, other stack: refused.
    let foreign = DatabaseId::new("OtherStack", "cdc");
    assert!(db.describe(&foreign).await.unwrap_err().is_user_error());
    assert!(db.destroy(&foreign).await.unwrap_err().is_user_error());

    db.destroy(&spec.id).await.unwrap();
    assert!(!db.folder(&spec.id).exists());
}

const CHILD_STATE_ENV: &str = "DMSRS_EMBEDDED_TEST_STATE";

/// Run in a child process by `server_survives_the_process_that_started_it`.
#[tokio::test]
#[ignore = "helper, run in a child process by server_survives_the_process_that_started_it"]
async fn child_process_deploys() {
    let Some(state) = std::env::var_os(CHILD_STATE_ENV) else {
        return;
    };
    let db = EmbeddedMariaDb::new(state);
    let instance = db
        .ensure(&DatabaseSpec::new("ChildStack", "db"))
        .await
        .unwrap();
    let mut sql = SqlClient::connect_instance(&instance).await.unwrap();
    sql.execute_batch(&[
        "CREATE TABLE novels (id INT PRIMARY KEY)",
        "INSERT INTO novels VALUES (1), (2)",
    ])
    .await
    .unwrap();
    sql.close().await.unwrap();
}

/// As between `scenario deploy` and a later `scenario run`: a server started
/// by a process that has exited is found and reused by the next one.
#[tokio::test]
async fn server_survives_the_process_that_started_it() {
    let state = tempfile::tempdir().unwrap();
    let id = DatabaseId::new("ChildStack", "db");
    let db = EmbeddedMariaDb::new(state.path());
    let _guard = KillOnDrop(db.folder(&id));

    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_deploys",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_STATE_ENV, state.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let pid = db
        .running_pid(&id)
        .expect("the server outlived the child process");
    let instance = db
        .ensure(&DatabaseSpec::new("ChildStack", "db"))
        .await
        .unwrap();
    assert!(!instance.created);
    assert_eq!(db.running_pid(&id), Some(pid));
    let mut sql = SqlClient::connect_instance(&instance).await.unwrap();
    assert_eq!(
        sql.query_u64("SELECT COUNT(*) FROM novels").await.unwrap(),
        2
    );
    sql.close().await.unwrap();
    db.destroy(&id).await.unwrap();
    assert!(!alive(pid));
}
