//! Full load end to end against a real MariaDB: the seed's expectations, value rendering,
//! settings and lifecycle.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dmsrs_codec::{Operation, Value};
use dmsrs_tasks::{
    MigrationType, ReplicationService, StartType, TaskStatus, stop_reason, table_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_full_load_tasks_emit_exactly_what_dms_does() {
    let h = Harness::new().await;
    h.sql(&CREATE_TABLES);
    h.sql(&PRESEED_DATA);

    let t1 = h
        .task(
            "full-load-task-1",
            MigrationType::FullLoad,
            mappings("tables-a-to-m", "a%"),
            FULL_LOAD_SETTINGS,
        )
        .await;
    assert_eq!(t1.status, TaskStatus::Creating);
    assert_eq!(
        h.engine.describe_task(&t1.arn).await.unwrap().status,
        TaskStatus::Ready
    );
    let started = h.start(&t1.arn, StartType::StartReplication).await;
    assert_eq!(started.status, TaskStatus::Starting);
    let done = h.wait(&t1.arn, TaskStatus::Stopped).await;
    assert_eq!(
        done.stop_reason.as_deref(),
        Some(stop_reason::FULL_LOAD_ONLY_FINISHED)
    );
    assert_eq!(done.stats.full_load_progress_percent, 100);
    assert_eq!(done.stats.tables_loaded, 2);

    let recs = h.records_after(None);
    assert_eq!(recs.len(), 6, "{:?}", ops(&recs));
    let count = |op: Operation, table: &str| {
        recs.iter()
            .filter(|(_, r)| r.metadata.operation == op && r.metadata.table_name == table)
            .count()
    };
    for t in ["authors", "accounts"] {
        assert_eq!(count(Operation::DropTable, t), 1);
        assert_eq!(count(Operation::CreateTable, t), 1);
        assert_eq!(count(Operation::Load, t), 1);
    }
    // Per table: drop, create, then rows.
    for t in ["authors", "accounts"] {
        let seq: Vec<_> = recs
            .iter()
            .filter(|(_, r)| r.metadata.table_name == t)
            .map(|(_, r)| r.metadata.operation.clone())
            .collect();
        assert_eq!(
            seq,
            vec![
                Operation::DropTable,
                Operation::CreateTable,
                Operation::Load
            ]
        );
    }
    let task_id = t1.arn.rsplit(':').next().unwrap();
    let (drop_rec, drop) = recs
        .iter()
        .find(|(_, r)| r.metadata.operation == Operation::DropTable)
        .unwrap();
    assert_eq!(
        drop_rec.partition_key,
        format!("{task_id}.dms_sample.{}", drop.metadata.table_name)
    );
    assert_eq!(drop.metadata.partition_key_value.as_deref(), Some(task_id));
    assert_eq!(
        drop.control.as_ref().unwrap().table_def,
        None,
        "drop-table carries \"control\": {{}}"
    );

    // The accounts row, rendered as DMS renders it.
    let (in_rec, acc) = recs
        .iter()
        .find(|(_, r)| {
            r.metadata.operation == Operation::Load && r.metadata.table_name == "accounts"
        })
        .unwrap();
    assert_eq!(in_rec.partition_key, "dms_sample.accounts.1");
    assert_eq!(
        acc.metadata.partition_key_value.as_deref(),
        Some("dms_sample.accounts.1")
    );
    assert_eq!(
        acc.metadata.transaction_id, None,
        "load records carry no transaction fields"
    );
    let text = String::from_utf8(in_rec.data.to_vec()).unwrap();
    let expected_data = "\t\"data\":\t{\n\t\t\"id\":\t1,\n\t\t\"name\":\t\"Alice\",\n\t\t\"age\":\t30,\n\t\t\"birth_date\":\t\"1991-05-21\",\n\t\t\"account_balance\":\t1500,\n\t\t\"is_active\":\t1,\n\t\t\"signup_time\":\t\"2021-01-08T09:00:00Z\",\n\t\t\"last_login\":\t\"2021-03-10T08:00:00Z\",\n\t\t\"bio\":\t\"Bio of Alice\",\n\t\t\"profile_picture\":\tnull,\n\t\t\"favorite_color\":\t\"red\",\n\t\t\"height\":\t1.700000,\n\t\t\"weight\":\t60.500000\n\t},";
    assert!(text.contains(expected_data), "{text}");

    // The create-table record describes the table.
    let (_, ct) = recs
        .iter()
        .find(|(_, r)| {
            r.metadata.operation == Operation::CreateTable && r.metadata.table_name == "accounts"
        })
        .unwrap();
    let td = ct.control.as_ref().unwrap().table_def.as_ref().unwrap();
    assert_eq!(td.primary_key.as_deref(), Some(&["id".to_string()][..]));
    let cols: Vec<_> = td
        .columns
        .iter()
        .map(|(n, c)| format!("{n}:{}", c.data_type))
        .collect();
    assert_eq!(
        cols[..5],
        [
            "id:INT4",
            "name:WSTRING",
            "age:UINT1",
            "birth_date:DATE",
            "account_balance:NUMERIC"
        ]
    );

    let stats = h.engine.describe_table_statistics(&t1.arn).await.unwrap();
    assert_eq!(stats.len(), 2);
    for s in &stats {
        assert_eq!(
            (
                s.full_load_rows,
                s.full_load_error_rows,
                s.table_state.as_str()
            ),
            (1, 0, table_state::TABLE_COMPLETED),
            "{s:?}"
        );
        assert!(s.full_load_start_time.is_some() && s.full_load_end_time.is_some());
    }
    assert_eq!(stats[0].table_name, "accounts");

    // Task 2 over `novels`: 1 drop, 1 create, 2 rows = 4 records.
    let mark = h.last_seq();
    let t2 = h
        .task(
            "full-load-task-2",
            MigrationType::FullLoad,
            mappings("tables-n-to-z", "novels"),
            FULL_LOAD_SETTINGS,
        )
        .await;
    h.start(&t2.arn, StartType::StartReplication).await;
    h.wait(&t2.arn, TaskStatus::Stopped).await;
    let recs = h.records_after(mark.as_deref());
    assert_eq!(recs.len(), 4, "{:?}", ops(&recs));
    let keys: Vec<_> = recs
        .iter()
        .filter(|(_, r)| r.is_data())
        .map(|(i, _)| i.partition_key.clone())
        .collect();
    assert_eq!(keys, ["dms_sample.novels.1", "dms_sample.novels.2"]);
    let stats = h.engine.describe_table_statistics(&t2.arn).await.unwrap();
    assert_eq!(
        (
            stats[0].table_name.as_str(),
            stats[0].full_load_rows,
            stats[0].table_state.as_str()
        ),
        ("novels", 2, table_state::TABLE_COMPLETED)
    );

    // A finished full-load task can run again; a running one cannot be started twice.
    let mark = h.last_seq();
    h.start(&t1.arn, StartType::ReloadTarget).await;
    h.wait(&t1.arn, TaskStatus::Stopped).await;
    assert_eq!(h.records_after(mark.as_deref()).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_errors_mirror_dms_faults() {
    let h = Harness::new().await;
    h.sql(&CREATE_TABLES);
    let t = h
        .task(
            "t1",
            MigrationType::FullLoad,
            mappings("r", "a%"),
            FULL_LOAD_SETTINGS,
        )
        .await;
    let e = h.engine.stop_task(&t.arn).await.unwrap_err();
    assert_eq!(e.fault_name(), "InvalidResourceStateFault", "{e}");
    let e = h
        .engine
        .start_task(dmsrs_tasks::StartTask::new(
            &t.arn,
            StartType::ResumeProcessing,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.fault_name(), "InvalidResourceStateFault", "{e}");
    let e = h
        .engine
        .describe_task("arn:aws:dms:us-east-1:000000000000:task:NOPE")
        .await
        .unwrap_err();
    assert_eq!(e.fault_name(), "ResourceNotFoundFault");
    let dup = h.engine.create_task(dmsrs_tasks::CreateTask {
        identifier: "t1".into(),
        source_endpoint_arn: h.source_arn.clone(),
        target_endpoint_arn: h.target_arn.clone(),
        replication_instance_arn: String::new(),
        migration_type: MigrationType::FullLoad,
        table_mappings: mappings("r", "a%"),
        settings: None,
        cdc_start_position: None,
        cdc_start_time: None,
        cdc_stop_position: None,
        resource_identifier: None,
    });
    assert_eq!(
        dup.await.unwrap_err().fault_name(),
        "ResourceAlreadyExistsFault"
    );
    let bad = |mappings: &str, settings: &str, id: &str| dmsrs_tasks::CreateTask {
        identifier: id.into(),
        source_endpoint_arn: h.source_arn.clone(),
        target_endpoint_arn: h.target_arn.clone(),
        replication_instance_arn: String::new(),
        migration_type: MigrationType::FullLoad,
        table_mappings: mappings.into(),
        settings: Some(settings.into()),
        cdc_start_position: None,
        cdc_start_time: None,
        cdc_stop_position: None,
        resource_identifier: None,
    };
    let e = h.engine.create_task(bad(r#"{"rules":[{"rule-type":"selection","rule-id":"7","rule-name":"x","object-locator":{"schema-name":"s","table-name":"t"},"rule-action":"grab"}]}"#, "{}", "t2")).await.unwrap_err();
    assert_eq!(e.fault_name(), "InvalidParameterValueException");
    assert!(e.to_string().contains('7'), "{e}");
    let e = h
        .engine
        .create_task(bad(
            &mappings("r", "a%"),
            r#"{"FullLoadSettings": {"CommitRate": "x"}}"#,
            "t3",
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("FullLoadSettings.CommitRate"), "{e}");
    let e = h
        .engine
        .create_task(bad(&mappings("r", "a%"), "{}", "9bad--id"))
        .await
        .unwrap_err();
    assert_eq!(e.fault_name(), "InvalidParameterValueException");

    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Stopped).await;
    h.engine.delete_task(&t.arn).await.unwrap();
    assert_eq!(
        h.engine
            .describe_task(&t.arn)
            .await
            .unwrap_err()
            .fault_name(),
        "ResourceNotFoundFault"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prep_modes_nulls_and_failures() {
    let h = Harness::with_kinesis(dmsrs_tasks::KinesisSettings {
        stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/target".into(),
        message_format: dmsrs_codec::MessageFormat::JsonUnformatted,
        ..Default::default()
    })
    .await;
    h.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), n INT); INSERT INTO t VALUES (1, 'a', NULL), (2, NULL, 5);");
    let t = h
        .task(
            "do-nothing",
            MigrationType::FullLoad,
            mappings("r", "t"),
            r#"{"FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"}}"#,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Stopped).await;
    let recs = h.records_after(None);
    assert_eq!(ops(&recs), ["load t", "load t"]);
    // Defaults: no IncludeNullAndEmpty (NULLs omitted), no partition value, no control details.
    let d = recs[0].1.data.as_ref().unwrap();
    assert_eq!(d.names().collect::<Vec<_>>(), ["id", "v"]);
    assert_eq!(recs[0].1.metadata.partition_key_value, None);
    assert_eq!(
        recs[0].0.partition_key, "1",
        "primary key without PartitionIncludeSchemaTable"
    );
    assert!(
        recs[0].0.data.ends_with(b"}\n"),
        "json-unformatted is one line with a newline"
    );
    assert_eq!(
        recs[1].1.data.as_ref().unwrap().get("n"),
        Some(&Value::from(5))
    );

    let mark = h.last_seq();
    let t = h
        .task(
            "truncate",
            MigrationType::FullLoad,
            mappings("r", "t"),
            r#"{"FullLoadSettings": {"TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD"}}"#,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Stopped).await;
    let recs = h.records_after(mark.as_deref());
    assert_eq!(ops(&recs), ["create-table t", "load t", "load t"]);
    assert!(
        recs[0].1.control.is_none(),
        "IncludeControlDetails=false: no control key"
    );

    // A source that cannot be reached fails the task with a message saying why.
    h.secrets.put(
        SECRET,
        r#"{"host":"127.0.0.1","port":1,"username":"x","password":"y"}"#,
    );
    let t = h
        .task(
            "unreachable",
            MigrationType::FullLoad,
            mappings("r", "t"),
            "{}",
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    let failed = h.wait(&t.arn, TaskStatus::Failed).await;
    let msg = failed.last_failure_message.unwrap();
    assert!(
        msg.contains("127.0.0.1:1") && !msg.contains("\"y\""),
        "{msg}"
    );
}

/// Every MariaDB column type against its expected DMS rendering, through full load and then
/// through CDC for the same row (both must give the same JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_column_type_renders_as_dms_does() {
    let h = Harness::new().await;
    h.sql(
        "SET time_zone = '+00:00';
         CREATE TABLE types (
           id INT PRIMARY KEY,
           ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
           mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
           dec1 DECIMAL(10,2), dec2 DECIMAL(30,10), f FLOAT, d DOUBLE,
           b1 BIT(1), b12 BIT(12), bool1 BOOLEAN,
           dt DATE, tm TIME, tm3 TIME(3), dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL, y YEAR,
           c CHAR(5), vc VARCHAR(20), tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
           bin BINARY(3), vb VARBINARY(8), bl BLOB,
           e ENUM('Red','green'), s SET('a','b','c'), j JSON,
           n INT NULL, zd DATE NULL, zdt DATETIME NULL
         );",
    );
    h.sql(
        "SET time_zone = '+00:00', sql_mode = '';
         INSERT INTO types VALUES (
           1,
           -128, 255, -32768, 65535,
           -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
           1500.00, 12345678901234567890.0123456789, 1.7, 60.5,
           b'1', b'101010101010', TRUE,
           '1991-05-21', '-838:59:59', '12:34:56.789', '2021-03-10 08:00:00', '2021-03-10 08:00:00.123456',
           '2021-01-08 09:00:00', '2021-01-08 09:00:00.500', 2024,
           'ab', 'héllo wörld \"q\"', 'line1\\nline2\\ttab', 'medium', 'long',
           X'000102', X'DEADBEEF', X'89504E47',
           'Red', 'a,c', '{\"k\": [1, 2]}',
           NULL, '0000-00-00', '0000-00-00 00:00:00'
         );",
    );
    let t = h
        .task(
            "types",
            MigrationType::FullLoad,
            mappings("r", "types"),
            FULL_LOAD_SETTINGS,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Stopped).await;
    let recs = h.records_after(None);
    let (raw, load) = recs
        .iter()
        .find(|(_, r)| r.metadata.operation == Operation::Load)
        .unwrap();
    let text = String::from_utf8(raw.data.to_vec()).unwrap();
    let expected = [
        ("id", "1"),
        ("ti", "-128"),
        ("tiu", "255"),
        ("si", "-32768"),
        ("siu", "65535"),
        ("mi", "-8388608"),
        ("miu", "16777215"),
        ("i", "-2147483648"),
        ("iu", "4294967295"),
        // More than 16 digits: through a double, in scientific notation (DMS's documented limit).
        ("bi", "-9.223372036854776e+18"),
        ("biu", "1.8446744073709552e+19"),
        ("dec1", "1500"),
        // Through a double, integral at this magnitude: cJSON's `%.0f` (docs/dms-format.md).
        ("dec2", "12345678901234567168"),
        ("f", "1.700000"),
        ("d", "60.500000"),
        ("b1", "true"),
        ("b12", "\"0x0AAA\""),
        ("bool1", "1"),
        ("dt", "\"1991-05-21\""),
        ("tm", "\"-838:59:59\""),
        ("tm3", "\"12:34:56.789000\""),
        ("dtm", "\"2021-03-10T08:00:00Z\""),
        ("dtm6", "\"2021-03-10T08:00:00.123456Z\""),
        ("ts", "\"2021-01-08T09:00:00Z\""),
        ("ts3", "\"2021-01-08T09:00:00.500000Z\""),
        ("y", "2024"),
        ("c", "\"ab\""),
        ("vc", "\"héllo wörld \\\"q\\\"\""),
        ("tx", "\"line1\\nline2\\ttab\""),
        ("mt", "\"medium\""),
        ("lt", "\"long\""),
        ("bin", "\"0x000102\""),
        ("vb", "\"0xDEADBEEF\""),
        ("bl", "\"0x89504E47\""),
        ("e", "\"Red\""),
        ("s", "\"a,c\""),
        ("j", "\"{\\\"k\\\": [1, 2]}\""),
        ("n", "null"),
        ("zd", "null"),
        ("zdt", "null"),
    ];
    for (col, want) in expected {
        let needle = format!("\t\t\"{col}\":\t{want}");
        assert!(text.contains(&needle), "{col}: expected {want} in\n{text}");
    }
    assert_eq!(
        load.data.as_ref().unwrap().len(),
        expected.len(),
        "IncludeNullAndEmpty keeps NULL columns"
    );

    // The same row through CDC renders identically.
    let c = h
        .task(
            "types-cdc",
            MigrationType::Cdc,
            mappings("r", "types"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&c.arn, StartType::StartReplication).await;
    h.wait(&c.arn, TaskStatus::Running).await;
    let mark = h.last_seq();
    h.sql(
        "SET time_zone = '+00:00', sql_mode = '';
         INSERT INTO types SELECT 2, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec1, dec2, f, d, b1, b12, bool1,
           dt, tm, tm3, dtm, dtm6, ts, ts3, y, c, vc, tx, mt, lt, bin, vb, bl, e, s, j, n, zd, zdt FROM types WHERE id = 1;",
    );
    let recs = h.wait_records(mark.as_deref(), 1).await;
    let (_, ins) = recs
        .iter()
        .find(|(_, r)| r.metadata.operation == Operation::Insert)
        .unwrap();
    let mut cdc_data = ins.data.clone().unwrap();
    let mut load_data = load.data.clone().unwrap();
    cdc_data.remove("id");
    load_data.remove("id");
    assert_eq!(
        cdc_data, load_data,
        "CDC renders every type exactly as full load"
    );
    h.engine.stop_task(&c.arn).await.unwrap();
}

/// LOBs are cut to LobMaxSize (KB); a row still over the Kinesis 1 MiB limit is counted in
/// FullLoadErrorRows, never dropped silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lob_limits_and_oversize_rows() {
    let h = Harness::new().await;
    h.sql(
        "CREATE TABLE docs (id INT PRIMARY KEY, body LONGTEXT);
         INSERT INTO docs VALUES (1, REPEAT('a', 100000)), (2, REPEAT('b', 1500000)), (3, 'small');",
    );
    // Default limited LOB mode: LobMaxSize 32 KB.
    let t = h
        .task("lobs", MigrationType::FullLoad, mappings("r", "docs"), "{}")
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Stopped).await;
    let recs = h.records_after(None);
    let rows: Vec<_> = recs.iter().filter(|(_, r)| r.is_data()).collect();
    assert_eq!(rows.len(), 3);
    for (_, r) in &rows {
        let body = r
            .data
            .as_ref()
            .unwrap()
            .get("body")
            .unwrap()
            .as_str()
            .unwrap()
            .len();
        assert!(body <= 32 * 1024, "LOB cut to LobMaxSize: {body}");
    }
    let stats = h.engine.describe_table_statistics(&t.arn).await.unwrap();
    assert_eq!(
        (stats[0].full_load_rows, stats[0].full_load_error_rows),
        (3, 0)
    );

    // LobMaxSize 2 MB: row 2 no longer fits a Kinesis record: an error row, the others load.
    let mark = h.last_seq();
    let t = h
        .task(
            "big-lobs",
            MigrationType::FullLoad,
            mappings("r", "docs"),
            r#"{"TargetMetadata": {"LobMaxSize": 2048}}"#,
        )
        .await;
    h.start(&t.arn, StartType::StartReplication).await;
    h.wait(&t.arn, TaskStatus::Stopped).await;
    let rows: Vec<_> = h
        .records_after(mark.as_deref())
        .into_iter()
        .filter(|(_, r)| r.is_data())
        .collect();
    let ids: Vec<_> = rows
        .iter()
        .map(|(_, r)| r.data.as_ref().unwrap().get("id").unwrap().to_key_text())
        .collect();
    assert_eq!(ids, ["1", "3"]);
    assert_eq!(
        rows[0]
            .1
            .data
            .as_ref()
            .unwrap()
            .get("body")
            .unwrap()
            .as_str()
            .unwrap()
            .len(),
        100_000
    );
    let stats = h.engine.describe_table_statistics(&t.arn).await.unwrap();
    assert_eq!(
        (stats[0].full_load_rows, stats[0].full_load_error_rows),
        (2, 1)
    );
    assert_eq!(stats[0].table_state, table_state::TABLE_COMPLETED);
}
