//! Binlog reader tests against private MariaDB servers (one server per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use dmsrs_engine::binlog::{
    AlterOp, BinlogColumn, BinlogError, BinlogPosition, BinlogReader, ChangeEvent, DdlChange,
    ReaderOptions, RowImage, RowKind, classify,
};
use dmsrs_engine::columns::ColumnKind;
use dmsrs_engine::source::SourceConfig;
use dmsrs_testkit::MariaDbServer;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

/// Never the test servers' server_id (they use their port).
const REPLICA_ID: u32 = 3_999_999_999;

fn config(db: &MariaDbServer) -> SourceConfig {
    config_as(db, db.user(), db.password())
}

fn config_as(db: &MariaDbServer, user: &str, password: &str) -> SourceConfig {
    SourceConfig {
        host: db.host().into(),
        port: db.port(),
        user: user.into(),
        password: dmsrs_secrets::SecretString::new(password),
        database: Some("dms_sample".into()),
    }
}

fn options() -> ReaderOptions {
    ReaderOptions {
        heartbeat: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(15),
        table_filter: None,
    }
}

async fn open(db: &MariaDbServer, from: Option<BinlogPosition>) -> BinlogReader {
    BinlogReader::open_with(&config(db), REPLICA_ID, from, options())
        .await
        .unwrap()
}

fn current(db: &MariaDbServer) -> BinlogPosition {
    let rows = db.query("SHOW MASTER STATUS").unwrap();
    BinlogPosition::new(rows[0][0].clone(), rows[0][1].parse().unwrap())
}

/// The next event that is not `Progress`.
async fn next(r: &mut BinlogReader) -> ChangeEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), r.next())
            .await
            .expect("no event within 30 s")
            .unwrap();
        if !matches!(ev, ChangeEvent::Progress { .. }) {
            return ev;
        }
    }
}

/// Events up to and including the `n`-th `Commit` / `Rollback` / `Ddl` outside transactions.
async fn until_boundaries(r: &mut BinlogReader, n: usize) -> Vec<ChangeEvent> {
    let mut out = Vec::new();
    let mut seen = 0;
    let mut in_txn = false;
    while seen < n {
        let ev = next(r).await;
        match &ev {
            ChangeEvent::Begin { .. } => in_txn = true,
            ChangeEvent::Commit { .. } | ChangeEvent::Rollback { .. } => {
                in_txn = false;
                seen += 1;
            }
            ChangeEvent::Ddl { .. } if !in_txn => seen += 1,
            _ => {}
        }
        out.push(ev);
    }
    out
}

fn rows_of(events: &[ChangeEvent]) -> Vec<(String, RowKind, RowImage)> {
    let mut out = Vec::new();
    for ev in events {
        if let ChangeEvent::Rows {
            table, kind, rows, ..
        } = ev
        {
            for r in rows.decode().unwrap() {
                out.push((table.clone(), *kind, r));
            }
        }
    }
    out
}

fn pos_of(ev: &ChangeEvent) -> &BinlogPosition {
    match ev {
        ChangeEvent::Begin { position, .. }
        | ChangeEvent::Rows { position, .. }
        | ChangeEvent::Ddl { position, .. }
        | ChangeEvent::Commit { position, .. }
        | ChangeEvent::Rollback { position }
        | ChangeEvent::Progress { position } => position,
    }
}

async fn full_load_row(conn: &mut Conn, table: &str, id: i64) -> Vec<Value> {
    let row: Row = conn
        .exec_first(
            format!("SELECT * FROM dms_sample.{table} WHERE id = ?"),
            (id,),
        )
        .await
        .unwrap()
        .unwrap();
    row.unwrap()
}

fn assert_same_values(cdc: &[Value], full: &[Value], columns: &[BinlogColumn], what: &str) {
    assert_eq!(cdc.len(), full.len(), "{what}: column count");
    for (i, (c, f)) in cdc.iter().zip(full).enumerate() {
        assert_eq!(
            c,
            f,
            "{what}: column {} ({}) differs: CDC {c:?} vs full load {f:?}",
            i + 1,
            columns[i].name
        );
    }
}

const TYPES_TABLE: &str = "CREATE TABLE dms_sample.types (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED NOT NULL DEFAULT 0, bi BIGINT, biu BIGINT UNSIGNED,
  dec1 DECIMAL(10,2), dec2 DECIMAL(30,10), dec0 DECIMAL(5,0),
  f FLOAT, d DOUBLE,
  dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  tm TIME, tm2 TIME(2), yr YEAR,
  c CHAR(10), vc VARCHAR(50), vcu VARCHAR(50) CHARACTER SET utf8mb4, vlong VARCHAR(300) CHARACTER SET utf8mb4,
  chu CHAR(20) CHARACTER SET utf8mb4, bin BINARY(4), vbin VARBINARY(10),
  tt TINYTEXT, tx TEXT CHARACTER SET utf8mb4, mt MEDIUMTEXT, lt LONGTEXT CHARACTER SET utf8mb4,
  tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  e ENUM('Red','green','Blue'), s SET('A','b','C'), b1 BIT(1), b12 BIT(12), j JSON, g GEOMETRY,
  u16 VARCHAR(10) CHARACTER SET ucs2
)";

const TYPES_ROWS: &str = "SET NAMES utf8mb4; INSERT INTO dms_sample.types VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
  -12.30, 12345678901234567890.0123456789, 42, 1.5, -2.25e100,
  '2024-02-29', '2024-02-29 12:34:56', '1999-12-31 23:59:59.123456', '2024-02-29 12:34:56', '2038-01-19 03:14:07.999',
  '-838:59:59', '12:34:56.78', 2024,
  'café', 'Grüße € œ', '😀 utf8', REPEAT('x', 300), 'ünï', 'ab', 0x00ff,
  'tiny', 'text ✓', 'medium', REPEAT('L', 70000),
  0x01, 0x0203, '', 0x00,
  'Blue', 'A,C', b'1', b'101010101010', '{\"a\": [1, \"x\"], \"b\": null}', POINT(1, 2), 'ucs2 ü'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9223372036854775807, -0.50, 0, 0, 0, -0.0,
  '0000-00-00', '0000-00-00 00:00:00', '2000-01-01 00:00:00.000001', '0000-00-00 00:00:00', '1970-01-01 00:00:01.5',
  '00:00:00', '-00:00:00.01', 0,
  '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', 'green', '', b'0', b'0', '[]', POINT(0, 0), '')";

#[tokio::test]
async fn values_match_full_load() {
    values_scenario(MariaDbServer::start().unwrap()).await;
}

#[tokio::test]
async fn values_match_full_load_with_minimal_metadata() {
    values_scenario(
        MariaDbServer::builder()
            .binlog_row_metadata("MINIMAL")
            .start()
            .unwrap(),
    )
    .await;
}

/// NO_LOG is MariaDB's default: no signedness, no charsets, no names in the binlog.
#[tokio::test]
async fn values_match_full_load_without_metadata() {
    values_scenario(
        MariaDbServer::builder()
            .binlog_row_metadata("NO_LOG")
            .start()
            .unwrap(),
    )
    .await;
}

async fn values_scenario(db: MariaDbServer) {
    db.execute(TYPES_TABLE).unwrap();
    let start = current(&db);
    db.execute(TYPES_ROWS).unwrap();
    let mut reader = open(&db, Some(start)).await;
    let events = until_boundaries(&mut reader, 1).await;
    let mut conn = Conn::new(config(&db).opts()).await.unwrap();

    // Column names and kinds from FULL metadata agree with information_schema (full load).
    let ChangeEvent::Rows { columns, .. } = events
        .iter()
        .find(|e| matches!(e, ChangeEvent::Rows { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    let info = dmsrs_engine::source::table_info(&mut conn, "dms_sample", "types")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(columns.len(), info.columns.len());
    for (b, f) in columns.iter().zip(&info.columns) {
        assert_eq!(b.name, f.name);
        assert_eq!(b.nullable, f.nullable, "{}", b.name);
        assert_eq!(b.is_primary_key, f.is_primary_key, "{}", b.name);
        // Same kinds from the binlog and from information_schema, ENUM/SET values with
        // their real case.
        assert_eq!(b.kind, f.kind, "column {} kind", b.name);
    }
    assert_eq!(
        columns.iter().find(|c| c.name == "e").unwrap().kind,
        ColumnKind::Enum(vec!["Red".into(), "green".into(), "Blue".into()])
    );

    // Inserted rows decode to exactly what full load reads.
    let inserted = rows_of(&events);
    assert_eq!(inserted.len(), 3);
    let by_name = |row: &[Value], name: &str| {
        row[columns.iter().position(|c| c.name == name).unwrap()].clone()
    };
    let first = inserted[0].2.after.clone().unwrap();
    let bytes = |s: &str| Value::Bytes(s.as_bytes().to_vec());
    assert_eq!(by_name(&first, "biu"), Value::UInt(u64::MAX));
    assert_eq!(by_name(&first, "iu"), Value::Int(4_294_967_295));
    assert_eq!(by_name(&first, "dec1"), bytes("-12.30"));
    assert_eq!(
        by_name(&first, "ts"),
        Value::Date(2024, 2, 29, 12, 34, 56, 0)
    );
    assert_eq!(
        by_name(&first, "ts3"),
        Value::Date(2038, 1, 19, 3, 14, 7, 999_000)
    );
    assert_eq!(by_name(&first, "tm"), Value::Time(true, 34, 22, 59, 59, 0));
    assert_eq!(by_name(&first, "yr"), Value::Int(2024));
    assert_eq!(
        by_name(&first, "vc"),
        bytes("Grüße € œ"),
        "latin1 (cp1252) converted to UTF-8"
    );
    assert_eq!(by_name(&first, "u16"), bytes("ucs2 ü"));
    assert_eq!(
        by_name(&first, "bin"),
        Value::Bytes(b"ab\0\0".to_vec()),
        "BINARY(4) padded like full load"
    );
    assert_eq!(by_name(&first, "e"), bytes("Blue"));
    assert_eq!(by_name(&first, "s"), bytes("A,C"));
    assert_eq!(by_name(&first, "b12"), Value::Bytes(vec![0x0a, 0xaa]));
    let zeros = inserted[2].2.after.clone().unwrap();
    assert_eq!(by_name(&zeros, "ts"), Value::Date(0, 0, 0, 0, 0, 0, 0));
    assert_eq!(by_name(&zeros, "dec1"), bytes("-0.50"));
    let mut before_update = Vec::new();
    for (id, (_, kind, image)) in (1..=3).zip(&inserted) {
        assert_eq!(*kind, RowKind::Insert);
        assert!(image.before.is_none());
        let full = full_load_row(&mut conn, "types", id).await;
        assert_same_values(
            image.after.as_ref().unwrap(),
            &full,
            columns,
            &format!("insert of row {id}"),
        );
        before_update.push(full);
    }

    // Updates carry both images; deletes the before image.
    db.execute("UPDATE dms_sample.types SET vc = 'changed', i = 7, ts = '2001-02-03 04:05:06', e = 'Red' WHERE id = 1; DELETE FROM dms_sample.types WHERE id = 2").unwrap();
    let events = until_boundaries(&mut reader, 2).await;
    let changed = rows_of(&events);
    assert_eq!(changed.len(), 2);
    let (_, kind, image) = &changed[0];
    assert_eq!(*kind, RowKind::Update);
    assert_same_values(
        image.before.as_ref().unwrap(),
        &before_update[0],
        columns,
        "update before image",
    );
    let after_full = full_load_row(&mut conn, "types", 1).await;
    assert_same_values(
        image.after.as_ref().unwrap(),
        &after_full,
        columns,
        "update after image",
    );
    let (_, kind, image) = &changed[1];
    assert_eq!(*kind, RowKind::Delete);
    assert!(image.after.is_none());
    assert_same_values(
        image.before.as_ref().unwrap(),
        &before_update[1],
        columns,
        "delete before image",
    );
    reader.close().await;
}

#[tokio::test]
async fn transactions_resume_exactly_after_commit() {
    let db = MariaDbServer::start().unwrap();
    db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    let start = current(&db);
    db.execute(
        "BEGIN; INSERT INTO dms_sample.t VALUES (1, 'a'), (2, 'b'); UPDATE dms_sample.t SET v = 'c' WHERE id = 1; COMMIT;
         INSERT INTO dms_sample.t VALUES (3, 'd');",
    )
    .unwrap();
    let mut reader = open(&db, Some(start.clone())).await;
    let events = until_boundaries(&mut reader, 2).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            ChangeEvent::Begin { .. } => "begin",
            ChangeEvent::Rows {
                kind: RowKind::Insert,
                ..
            } => "insert",
            ChangeEvent::Rows {
                kind: RowKind::Update,
                ..
            } => "update",
            ChangeEvent::Commit { .. } => "commit",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "begin", "insert", "update", "commit", "begin", "insert", "commit"
        ]
    );
    // Positions increase; the first transaction starts where we started; the second starts
    // exactly where the first committed.
    assert_eq!(pos_of(&events[0]).pos, start.pos);
    for w in events.windows(2) {
        assert!(
            pos_of(&w[1]).pos > pos_of(&w[0]).pos || matches!(w[1], ChangeEvent::Begin { .. }),
            "{w:?}"
        );
        assert_eq!(pos_of(&w[1]).file, start.file);
    }
    let ChangeEvent::Commit {
        position: commit1,
        xid,
        ..
    } = &events[3]
    else {
        panic!()
    };
    assert!(xid.is_some());
    assert_eq!(pos_of(&events[4]).pos, commit1.pos);
    // GTIDs: the Begin's, and the Commit position carries it.
    let ChangeEvent::Begin { gtid: Some(g1), .. } = &events[0] else {
        panic!("no GTID: {:?}", events[0])
    };
    assert!(g1.starts_with(&format!("0-{}-", db.server_id())), "{g1}");
    assert_eq!(commit1.gtid.as_deref(), Some(g1.as_str()));
    let ChangeEvent::Commit {
        position: commit2, ..
    } = &events[6]
    else {
        panic!()
    };
    assert_eq!(commit2.pos, current(&db).pos);
    let rows = rows_of(&events);
    assert_eq!(rows.len(), 4);
    reader.close().await;

    // A new reader at the first commit sees only the second transaction.
    let mut reader = open(&db, Some(commit1.clone())).await;
    let events = until_boundaries(&mut reader, 1).await;
    assert!(
        matches!(&events[0], ChangeEvent::Begin { position, .. } if position.pos == commit1.pos)
    );
    let rows = rows_of(&events);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2.after.as_ref().unwrap()[0], Value::Int(3));
    reader.close().await;
}

#[tokio::test]
async fn rolled_back_transactions() {
    let db = MariaDbServer::start().unwrap();
    db.execute(
        "CREATE TABLE dms_sample.t (id INT PRIMARY KEY) ENGINE=InnoDB; CREATE TABLE dms_sample.m (id INT PRIMARY KEY) ENGINE=MyISAM",
    )
    .unwrap();
    let start = current(&db);
    db.execute(
        "BEGIN; INSERT INTO dms_sample.t VALUES (10); ROLLBACK;
         INSERT INTO dms_sample.t VALUES (11);
         BEGIN; INSERT INTO dms_sample.t VALUES (12); INSERT INTO dms_sample.m VALUES (13); ROLLBACK;",
    )
    .unwrap();
    let mut reader = open(&db, Some(start)).await;
    // The rolled-back InnoDB transaction leaves nothing; the next one is 11.
    let events = until_boundaries(&mut reader, 1).await;
    let rows = rows_of(&events);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2.after.as_ref().unwrap()[0], Value::Int(11));
    // A rollback that touched MyISAM: only the MyISAM row is logged. MariaDB logs it as a
    // group of its own ending in COMMIT (MySQL ends it with ROLLBACK); either way it is a
    // resume point after the non-transactional change, which did happen.
    let events = until_boundaries(&mut reader, 1).await;
    assert!(
        matches!(
            events.last(),
            Some(ChangeEvent::Commit { xid: None, .. } | ChangeEvent::Rollback { .. })
        ),
        "{events:?}"
    );
    let rows = rows_of(&events);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "m");
    assert_eq!(rows[0].2.after.as_ref().unwrap()[0], Value::Int(13));
    assert_eq!(pos_of(events.last().unwrap()).pos, current(&db).pos);
    reader.close().await;
}

#[tokio::test]
async fn ddl_arrives_in_order() {
    let db = MariaDbServer::start().unwrap();
    let start = current(&db);
    db.execute(
        "USE dms_sample;
         CREATE TABLE a (id INT PRIMARY KEY);
         INSERT INTO a VALUES (1);
         ALTER TABLE a ADD COLUMN x INT, ALGORITHM=INPLACE;
         RENAME TABLE a TO b;
         TRUNCATE TABLE b;
         DROP TABLE IF EXISTS b;",
    )
    .unwrap();
    let mut reader = open(&db, Some(start)).await;
    let events = until_boundaries(&mut reader, 6).await;
    let ddl: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            ChangeEvent::Ddl { schema, query, .. } => Some((schema.clone(), query.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(ddl.len(), 5, "{ddl:?}");
    assert!(ddl.iter().all(|(s, _)| s == "dms_sample"));
    let changes: Vec<Vec<DdlChange>> = ddl.iter().map(|(s, q)| classify(s, q)).collect();
    let t = |n: &str| ("dms_sample".to_owned(), n.to_owned());
    assert_eq!(
        changes[0],
        vec![DdlChange::CreateTable {
            schema: "dms_sample".into(),
            table: "a".into()
        }]
    );
    assert_eq!(
        changes[1],
        vec![DdlChange::AlterTable {
            schema: "dms_sample".into(),
            table: "a".into(),
            ops: vec![AlterOp::AddColumn { name: "x".into() }, AlterOp::Other]
        }]
    );
    assert_eq!(
        changes[2],
        vec![DdlChange::RenameTable {
            from: t("a"),
            to: t("b")
        }]
    );
    assert_eq!(
        changes[3],
        vec![DdlChange::TruncateTable {
            schema: "dms_sample".into(),
            table: "b".into()
        }]
    );
    assert_eq!(
        changes[4],
        vec![DdlChange::DropTable {
            schema: "dms_sample".into(),
            table: "b".into()
        }]
    );
    // Positions increase and DDL positions are resume points carrying their GTID.
    for w in events.windows(2) {
        assert!(pos_of(&w[1]).pos >= pos_of(&w[0]).pos);
    }
    let ChangeEvent::Ddl { position, .. } = events.last().unwrap() else {
        panic!()
    };
    assert_eq!(position.pos, current(&db).pos);
    assert!(position.gtid.is_some());
    reader.close().await;
}

#[tokio::test]
async fn minimal_metadata_decodes_each_row_with_its_own_schema() {
    let db = MariaDbServer::builder()
        .binlog_row_metadata("MINIMAL")
        .start()
        .unwrap();
    let start = current(&db);
    let mut reader = open(&db, Some(start.clone())).await;
    db.execute(
        "CREATE TABLE dms_sample.t (id INT UNSIGNED PRIMARY KEY, e ENUM('Red','Blue'), name VARCHAR(20));
         INSERT INTO dms_sample.t VALUES (4294967295, 'Blue', 'first');",
    )
    .unwrap();
    let first = until_boundaries(&mut reader, 2).await;
    db.execute("ALTER TABLE dms_sample.t ADD COLUMN extra INT AFTER id; INSERT INTO dms_sample.t VALUES (2, 5, 'Red', 'second');")
        .unwrap();
    let second = until_boundaries(&mut reader, 2).await;
    let cols_of = |events: &[ChangeEvent]| {
        events
            .iter()
            .find_map(|e| match e {
                ChangeEvent::Rows { columns, rows, .. } => Some((
                    columns.clone(),
                    rows.decode().unwrap()[0].after.clone().unwrap(),
                )),
                _ => None,
            })
            .unwrap()
    };
    let (cols1, row1) = cols_of(&first);
    let names1: Vec<&str> = cols1.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names1, ["id", "e", "name"]);
    assert_eq!(
        row1,
        vec![
            Value::Int(4_294_967_295),
            Value::Bytes(b"Blue".to_vec()),
            Value::Bytes(b"first".to_vec())
        ]
    );
    assert!(cols1[0].is_primary_key);
    assert_eq!(
        cols1[1].kind,
        ColumnKind::Enum(vec!["Red".into(), "Blue".into()])
    );
    let (cols2, row2) = cols_of(&second);
    let names2: Vec<&str> = cols2.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names2, ["id", "extra", "e", "name"]);
    assert_eq!(
        row2,
        vec![
            Value::Int(2),
            Value::Int(5),
            Value::Bytes(b"Red".to_vec()),
            Value::Bytes(b"second".to_vec())
        ]
    );
    reader.close().await;

    // A reader that is behind the ALTER cannot name the old row's columns from
    // information_schema: it stops instead of mislabelling values.
    let mut late = open(&db, Some(start)).await;
    let err = loop {
        match late.next().await {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(matches!(err, BinlogError::SchemaMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("binlog_row_metadata=FULL"),
        "{err}"
    );
}

async fn scenario_with_rotation(db: &MariaDbServer) {
    db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY, v TEXT)")
        .unwrap();
    let start = current(db);
    let mut reader = open(db, Some(start.clone())).await;
    db.execute("INSERT INTO dms_sample.t VALUES (1, 'one'); FLUSH BINARY LOGS; INSERT INTO dms_sample.t VALUES (2, 'two');").unwrap();
    let mut commits = Vec::new();
    let mut progress_files = Vec::new();
    while commits.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(30), reader.next())
            .await
            .unwrap()
            .unwrap()
        {
            ChangeEvent::Commit { position, .. } => commits.push(position),
            ChangeEvent::Progress { position } => progress_files.push(position.file),
            ChangeEvent::Rows { rows, .. } => assert_eq!(rows.decode().unwrap().len(), 1),
            _ => {}
        }
    }
    assert_eq!(commits[0].file, start.file);
    assert_ne!(
        commits[1].file, start.file,
        "the second commit is in the next binlog file"
    );
    assert!(
        progress_files.contains(&commits[1].file),
        "rotation reported as progress: {progress_files:?}"
    );
    assert_eq!(
        commits[1],
        BinlogPosition {
            gtid: commits[1].gtid.clone(),
            ..current(db)
        }
    );
    reader.close().await;
    // Resuming at the first commit crosses the rotation.
    let mut reader = open(db, Some(commits[0].clone())).await;
    let events = until_boundaries(&mut reader, 1).await;
    let rows = rows_of(&events);
    assert_eq!(rows[0].2.after.as_ref().unwrap()[0], Value::Int(2));
    reader.close().await;
}

#[tokio::test]
async fn checksum_crc32() {
    let db = MariaDbServer::builder()
        .binlog_checksum("CRC32")
        .start()
        .unwrap();
    scenario_with_rotation(&db).await;
}

#[tokio::test]
async fn checksum_none() {
    let db = MariaDbServer::builder()
        .binlog_checksum("NONE")
        .start()
        .unwrap();
    scenario_with_rotation(&db).await;
}

#[tokio::test]
async fn heartbeats_report_progress_while_idle() {
    let db = MariaDbServer::start().unwrap();
    let start = current(&db);
    let mut reader = open(&db, Some(start.clone())).await;
    let t0 = Instant::now();
    let ev = tokio::time::timeout(Duration::from_secs(10), reader.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev, ChangeEvent::Progress { position: start });
    assert!(t0.elapsed() < Duration::from_secs(5));
    reader.close().await;
}

#[tokio::test]
async fn startup_checks_list_every_problem() {
    let db = MariaDbServer::builder()
        .server_id(77)
        .extra_args(["--binlog-format=STATEMENT", "--binlog-row-image=MINIMAL"])
        .start()
        .unwrap();
    db.execute("CREATE USER 'weak'@'%' IDENTIFIED BY 'weak-pass'")
        .unwrap();
    let err = BinlogReader::open(&config_as(&db, "weak", "weak-pass"), 77, None)
        .await
        .unwrap_err();
    let BinlogError::Setup { problems } = &err else {
        panic!("{err}")
    };
    let text = err.to_string();
    for needle in [
        "binlog_format=ROW",
        "binlog_row_image=FULL",
        "REPLICATION SLAVE",
        "BINLOG MONITOR",
        "SELECT on dms_sample",
        "server_id",
    ] {
        assert!(text.contains(needle), "{needle} missing from: {text}");
    }
    assert_eq!(problems.len(), 6, "{text}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn purged_binlog_is_reported() {
    let db = MariaDbServer::start().unwrap();
    db.execute(
        "CREATE TABLE dms_sample.t (id INT PRIMARY KEY); INSERT INTO dms_sample.t VALUES (1)",
    )
    .unwrap();
    let old = current(&db);
    db.execute("FLUSH BINARY LOGS; INSERT INTO dms_sample.t VALUES (2); FLUSH BINARY LOGS;")
        .unwrap();
    let newest = current(&db).file;
    // MariaDB keeps a binlog until InnoDB has made its commits durable (about a second here).
    let deadline = Instant::now() + Duration::from_secs(20);
    while db.query("SHOW BINARY LOGS").unwrap().len() > 1 {
        assert!(Instant::now() < deadline, "the binlogs were not purged");
        db.execute(&format!("PURGE BINARY LOGS TO '{newest}'"))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let err = BinlogReader::open_with(&config(&db), REPLICA_ID, Some(old.clone()), options())
        .await
        .unwrap_err();
    match &err {
        BinlogError::Purged { position } => assert_eq!(position, &old),
        other => panic!("expected Purged, got {other}"),
    }
    assert!(err.to_string().contains("reload-target"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn killed_server_is_a_retryable_error() {
    let mut db = MariaDbServer::start().unwrap();
    db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY)")
        .unwrap();
    let start = current(&db);
    let mut reader = open(&db, Some(start.clone())).await;
    db.execute("INSERT INTO dms_sample.t VALUES (1)").unwrap();
    assert!(matches!(next(&mut reader).await, ChangeEvent::Begin { .. }));
    db.kill();
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(30), reader.next())
            .await
            .unwrap()
        {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(err.is_retryable(), "{err:?}");
    // The reader is finished after an error.
    assert!(reader.next().await.unwrap_err().is_retryable());

    // After the restart (a new binlog file; the crashed one has no ROTATE at its end) a new
    // reader resumes at the checkpoint and follows into the new file.
    db.restart().unwrap();
    db.execute("INSERT INTO dms_sample.t VALUES (2)").unwrap();
    let mut reader = open(&db, Some(start)).await;
    let events = until_boundaries(&mut reader, 2).await;
    let ids: Vec<Value> = rows_of(&events)
        .iter()
        .map(|(_, _, r)| r.after.as_ref().unwrap()[0].clone())
        .collect();
    assert_eq!(ids, vec![Value::Int(1), Value::Int(2)]);
    let ChangeEvent::Commit { position, .. } = events.last().unwrap() else {
        panic!()
    };
    assert_eq!(position.file, current(&db).file);
    assert_eq!(position.pos, current(&db).pos);
    reader.close().await;
}

#[tokio::test]
async fn unsupported_events_fail_loudly() {
    let db = MariaDbServer::start().unwrap();
    db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY, v TEXT)")
        .unwrap();
    // Statement-based DML from a session that overrides binlog_format.
    let start = current(&db);
    let mut reader = open(&db, Some(start)).await;
    db.execute("SET SESSION binlog_format = 'STATEMENT'; INSERT INTO dms_sample.t VALUES (1, 'x')")
        .unwrap();
    let err = loop {
        if let Err(e) = reader.next().await {
            break e;
        }
    };
    assert!(
        matches!(err, BinlogError::Unsupported { .. })
            && err.to_string().contains("binlog_format=ROW"),
        "{err}"
    );
    // Compressed events (log_bin_compress switched on after the start-up check).
    let start = current(&db);
    let mut reader = open(&db, Some(start)).await;
    db.execute("SET GLOBAL log_bin_compress = ON").unwrap();
    db.execute("INSERT INTO dms_sample.t VALUES (2, REPEAT('compress me ', 200))")
        .unwrap();
    let err = loop {
        if let Err(e) = reader.next().await {
            break e;
        }
    };
    let text = err.to_string();
    assert!(
        matches!(err, BinlogError::Unsupported { .. })
            && text.contains("log_bin_compress=OFF")
            && text.contains("COMPRESSED"),
        "{text}"
    );
}

#[tokio::test]
async fn large_transaction_streams_with_bounded_events() {
    let db = MariaDbServer::start().unwrap();
    db.execute("CREATE TABLE dms_sample.big (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), created DATETIME, flag TINYINT)")
        .unwrap();
    let start = current(&db);
    db.execute(
        "USE dms_sample; INSERT INTO dms_sample.big SELECT seq, CONCAT('name-', seq), seq * 1.5, '2024-01-01 00:00:00' + INTERVAL seq SECOND, seq % 2 \
         FROM seq_1_to_100000",
    )
    .unwrap();
    let t0 = Instant::now();
    let mut reader = open(&db, Some(start)).await;
    let mut rows = 0usize;
    let mut events = 0usize;
    let mut max_per_event = 0usize;
    let mut last_id = 0i64;
    loop {
        match next(&mut reader).await {
            ChangeEvent::Rows { rows: r, .. } => {
                let r = r.decode().unwrap();
                events += 1;
                max_per_event = max_per_event.max(r.len());
                for img in &r {
                    let Some(Value::Int(id)) = img.after.as_ref().unwrap().first() else {
                        panic!()
                    };
                    assert_eq!(*id, last_id + 1);
                    last_id = *id;
                }
                rows += r.len();
            }
            ChangeEvent::Commit { .. } => break,
            _ => {}
        }
    }
    let elapsed = t0.elapsed();
    assert_eq!(rows, 100_000);
    assert!(
        events > 10,
        "rows arrive in many events, not one transaction-sized batch"
    );
    assert!(max_per_event < 5_000, "{max_per_event} rows in one event");
    eprintln!(
        "100k-row transaction: {rows} rows in {events} events (max {max_per_event}/event) in {elapsed:?}: {:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    );
    reader.close().await;
}

#[tokio::test]
async fn table_filter_skips_other_tables() {
    let db = MariaDbServer::start().unwrap();
    db.execute("CREATE TABLE dms_sample.keep (id INT PRIMARY KEY); CREATE TABLE dms_sample.skip (id INT PRIMARY KEY)").unwrap();
    let start = current(&db);
    db.execute("BEGIN; INSERT INTO dms_sample.skip VALUES (1); INSERT INTO dms_sample.keep VALUES (2); COMMIT;").unwrap();
    let filter: dmsrs_engine::binlog::TableFilter =
        std::sync::Arc::new(|_s: &str, t: &str| t == "keep");
    let mut reader = BinlogReader::open_with(
        &config(&db),
        REPLICA_ID,
        Some(start),
        ReaderOptions {
            table_filter: Some(filter),
            ..options()
        },
    )
    .await
    .unwrap();
    let events = until_boundaries(&mut reader, 1).await;
    let rows = rows_of(&events);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "keep");
    reader.close().await;
}

#[tokio::test]
async fn xa_transactions_pass_through() {
    let db = MariaDbServer::start().unwrap();
    db.execute("CREATE TABLE dms_sample.t (id INT PRIMARY KEY)")
        .unwrap();
    let start = current(&db);
    db.execute(
        "XA START 'x1'; INSERT INTO dms_sample.t VALUES (1); XA END 'x1'; XA PREPARE 'x1'; XA COMMIT 'x1';
         INSERT INTO dms_sample.t VALUES (2);",
    )
    .unwrap();
    let mut reader = open(&db, Some(start)).await;
    let mut events = Vec::new();
    loop {
        let ev = next(&mut reader).await;
        let done = matches!(&ev, ChangeEvent::Commit { .. })
            && rows_of(&events)
                .iter()
                .any(|(_, _, r)| r.after.as_ref().unwrap()[0] == Value::Int(2));
        events.push(ev);
        if done {
            break;
        }
    }
    let ids: Vec<Value> = rows_of(&events)
        .iter()
        .map(|(_, _, r)| r.after.as_ref().unwrap()[0].clone())
        .collect();
    assert_eq!(ids, vec![Value::Int(1), Value::Int(2)], "{events:?}");
    let ChangeEvent::Commit { position, .. } = events.last().unwrap() else {
        panic!()
    };
    assert_eq!(position.pos, current(&db).pos);
    reader.close().await;
}
