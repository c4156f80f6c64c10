//! CDC end to end against a real MariaDB binlog: the seed's expectations and beyond.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dmsrs_codec::{Operation, Value};
use dmsrs_tasks::{MigrationType, ReplicationService, StartType, TaskStatus, stop_reason};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_cdc_flow_and_beyond() {
    let h = Harness::new().await;
    h.sql(&CREATE_TABLES);

    let t1 = h
        .task(
            "cdc-task-1",
            MigrationType::Cdc,
            mappings("tables-a-to-m", "a%"),
            CDC_SETTINGS,
        )
        .await;
    let t2 = h
        .task(
            "cdc-task-2",
            MigrationType::Cdc,
            mappings("tables-n-to-z", "novels"),
            CDC_SETTINGS,
        )
        .await;
    h.start(&t1.arn, StartType::StartReplication).await;
    h.start(&t2.arn, StartType::StartReplication).await;
    h.wait(&t1.arn, TaskStatus::Running).await;
    h.wait(&t2.arn, TaskStatus::Running).await;

    // 5 create-table records: authors, accounts, novels and one awsdms_apply_exceptions per task.
    let recs = h.wait_records(None, 5).await;
    assert_eq!(recs.len(), 5, "{:?}", ops(&recs));
    assert!(
        recs.iter()
            .all(|(_, r)| r.metadata.operation == Operation::CreateTable)
    );
    let mut tables: Vec<_> = recs
        .iter()
        .map(|(_, r)| r.metadata.table_name.clone())
        .collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "accounts",
            "authors",
            "awsdms_apply_exceptions",
            "awsdms_apply_exceptions",
            "novels"
        ]
    );
    let (_, exc) = recs
        .iter()
        .find(|(_, r)| r.metadata.table_name == "awsdms_apply_exceptions")
        .unwrap();
    assert_eq!(exc.metadata.schema_name, "");

    // 4 inserts, in commit order, rendered exactly as full load renders them.
    let mark = h.last_seq();
    h.sql(&PRESEED_DATA);
    let recs = h.wait_records(mark.as_deref(), 4).await;
    // Two tasks share the stream: each task's records are in commit order, the two tasks'
    // records interleave in any way.
    let task1: Vec<_> = recs
        .iter()
        .filter(|(_, r)| r.metadata.table_name != "novels")
        .cloned()
        .collect();
    let task2: Vec<_> = recs
        .iter()
        .filter(|(_, r)| r.metadata.table_name == "novels")
        .cloned()
        .collect();
    assert_eq!(ops(&task1), ["insert authors", "insert accounts"]);
    assert_eq!(ops(&task2), ["insert novels", "insert novels"]);
    let (acc_in, acc) = &task1[1];
    assert_eq!(
        acc_in.partition_key, "dms_sample.accounts",
        "CDC default partition key is schema-table"
    );
    let m = &acc.metadata;
    assert!(
        m.transaction_id.is_some() && m.commit_timestamp.is_some() && m.stream_position.is_some()
    );
    assert_eq!(
        m.transaction_record_id.as_ref().map(|n| n.as_str()),
        Some("2")
    );
    // Record ids count each task's own records: novels are records 1 and 2 of cdc-task-2.
    assert_eq!(
        task2[1]
            .1
            .metadata
            .transaction_record_id
            .as_ref()
            .map(|n| n.as_str()),
        Some("2")
    );
    assert!(
        recs.windows(2)
            .all(|w| w[0].1.metadata.transaction_id == w[1].1.metadata.transaction_id),
        "one transaction"
    );
    let cdc_data = acc.data.clone().unwrap();

    // The same row through full load: identical `data`.
    let fl = h
        .task(
            "check-load",
            MigrationType::FullLoad,
            mappings("x", "accounts"),
            FULL_LOAD_SETTINGS,
        )
        .await;
    let mark = h.last_seq();
    h.start(&fl.arn, StartType::StartReplication).await;
    h.wait(&fl.arn, TaskStatus::Stopped).await;
    let load = h.records_after(mark.as_deref());
    let (_, load_rec) = load
        .iter()
        .find(|(_, r)| r.metadata.operation == Operation::Load)
        .unwrap();
    assert_eq!(
        load_rec.data.as_ref().unwrap(),
        &cdc_data,
        "CDC and full load render the same row identically"
    );

    // The seed's three ALTERs: one control record each.
    let mark = h.last_seq();
    h.sql("ALTER TABLE authors MODIFY COLUMN email VARCHAR(100)");
    h.sql("ALTER TABLE accounts DROP COLUMN profile_picture;");
    h.sql("ALTER TABLE novels ADD COLUMN is_stock BOOLEAN DEFAULT TRUE;");
    let recs = h.wait_records(mark.as_deref(), 3).await;
    let mut got: Vec<_> = recs
        .iter()
        .filter(|(_, r)| r.is_control())
        .map(|(_, r)| format!("{} {}", r.metadata.operation, r.metadata.table_name))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "add-column novels",
            "column-type-change authors",
            "drop-column accounts"
        ],
        "{:?}",
        ops(&recs)
    );
    let (_, add) = recs
        .iter()
        .find(|(_, r)| r.metadata.operation == Operation::AddColumn)
        .unwrap();
    let td = add.control.as_ref().unwrap().table_def.as_ref().unwrap();
    assert!(
        td.columns.iter().any(|(n, _)| n == "is_stock"),
        "table-def shows the new column"
    );

    // Beyond the seed: UPDATE and DELETE with before-images, a rollback, and rows after ALTERs.
    let mark = h.last_seq();
    h.sql("UPDATE authors SET email = 'jd@example.com' WHERE author_id = 1;");
    h.sql("DELETE FROM novels WHERE novel_id = 2;");
    h.sql("START TRANSACTION; INSERT INTO authors (first_name, last_name) VALUES ('Roll', 'Back'); ROLLBACK;");
    h.sql("INSERT INTO accounts (name) VALUES ('after-rollback');");
    let recs = h.wait_records(mark.as_deref(), 3).await;
    let mut got = ops(&recs);
    got.sort();
    assert_eq!(
        got,
        ["delete novels", "insert accounts", "update authors"],
        "rollback emits nothing"
    );
    let find = |op: &str| {
        recs.iter()
            .find(|(_, r)| r.metadata.operation.as_str() == op)
            .unwrap()
            .clone()
    };
    let (_, upd) = &find("update");
    assert_eq!(
        upd.data.as_ref().unwrap().get("email"),
        Some(&Value::from("jd@example.com"))
    );
    let bi = upd.before_image.as_ref().expect("before-image on updates");
    assert_eq!(upd.before_image_field, "before-image");
    assert_eq!(bi.get("email"), Some(&Value::from("john.doe@example.com")));
    assert_eq!(
        bi.len(),
        upd.data.as_ref().unwrap().len(),
        "ColumnFilter all: every column"
    );
    let (_, del) = &find("delete");
    assert_eq!(
        del.data.as_ref().unwrap().get("title"),
        Some(&Value::from("Journey to the Stars")),
        "delete carries the deleted row"
    );
    assert!(del.before_image.is_none());
    let (_, ins) = &find("insert");
    let d = ins.data.as_ref().unwrap();
    assert!(
        d.get("profile_picture").is_none(),
        "the dropped column is gone from rows after the ALTER"
    );
    assert_eq!(d.get("name"), Some(&Value::from("after-rollback")));
    assert!(ins.metadata.prev_transaction_id.is_some());

    // Statistics.
    let stats = h.engine.describe_table_statistics(&t1.arn).await.unwrap();
    let authors = stats.iter().find(|s| s.table_name == "authors").unwrap();
    assert_eq!(
        (
            authors.inserts,
            authors.updates,
            authors.deletes,
            authors.ddls
        ),
        (1, 1, 0, 1)
    );
    let accounts = stats.iter().find(|s| s.table_name == "accounts").unwrap();
    assert_eq!((accounts.inserts, accounts.ddls), (2, 1));
    let stats = h.engine.describe_table_statistics(&t2.arn).await.unwrap();
    assert_eq!(
        (stats[0].inserts, stats[0].deletes, stats[0].ddls),
        (2, 1, 1)
    );

    for t in [&t1, &t2] {
        h.engine.stop_task(&t.arn).await.unwrap();
        let s = h.wait(&t.arn, TaskStatus::Stopped).await;
        assert_eq!(s.stop_reason.as_deref(), Some(stop_reason::NORMAL));
        assert!(
            s.recovery_checkpoint
                .as_deref()
                .unwrap()
                .starts_with("checkpoint:V1#")
        );
    }

    // Changes while stopped are picked up by resume-processing, without create-table replays.
    h.sql("INSERT INTO authors (first_name, last_name) VALUES ('While', 'Stopped');");
    let mark = h.last_seq();
    h.start(&t1.arn, StartType::ResumeProcessing).await;
    let recs = h.wait_records(mark.as_deref(), 1).await;
    assert_eq!(ops(&recs), ["insert authors"]);
    assert_eq!(
        recs[0].1.data.as_ref().unwrap().get("first_name"),
        Some(&Value::from("While"))
    );
    h.engine.stop_task(&t1.arn).await.unwrap();
    h.wait(&t1.arn, TaskStatus::Stopped).await;
}
