//! `SqlClient` against a private MariaDB from the test kit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dmsrs_database::{DatabaseError, SqlClient};
use dmsrs_secrets::SecretString;
use dmsrs_testkit::MariaDbServer;

async fn client(db: &MariaDbServer) -> SqlClient {
    SqlClient::connect(
        db.host(),
        db.port(),
        db.user(),
        &SecretString::new(db.password()),
        Some("dms_sample"),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn batches_are_one_transaction_and_rows_come_back_as_text() {
    let db = MariaDbServer::builder()
        .binlog_checksum("NONE")
        .start()
        .unwrap();
    let mut sql = client(&db).await;
    assert_eq!(
        sql.target(),
        format!("dmsrs@127.0.0.1:{}/dms_sample", db.port())
    );

    // DDL auto-commits; DML of a batch commits together.
    sql.execute_batch(&[
        "DROP TABLE IF EXISTS accounts",
        "CREATE TABLE accounts (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, \
         age TINYINT UNSIGNED, balance DECIMAL(10,2), bio TEXT, color ENUM('red','green'), \
         picture BLOB, seen DATETIME)",
    ])
    .await
    .unwrap();
    let n = sql
        .execute_batch(&[
            "INSERT INTO accounts (name, age, balance, color) VALUES ('Alice', 30, 1500.00, 'red')",
            "INSERT INTO accounts (name, age, balance, color, seen) VALUES ('Bob', 40, 12.5, 'green', '2021-03-10 08:00:00')",
        ])
        .await
        .unwrap();
    assert_eq!(n, 2);

    // A failing statement rolls back the earlier DML of its batch.
    let err = sql
        .execute_batch(&[
            "INSERT INTO accounts (name) VALUES ('Carol')",
            "INSERT INTO accounts (id, name) VALUES (1, 'duplicate key')",
            "INSERT INTO accounts (name) VALUES ('never')",
        ])
        .await
        .unwrap_err();
    match &err {
        DatabaseError::Batch {
            index, statement, ..
        } => {
            assert_eq!(*index, 1);
            assert!(statement.contains("duplicate key"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.is_user_error(), "{err}");
    assert_eq!(
        sql.query_u64("SELECT COUNT(*) FROM accounts")
            .await
            .unwrap(),
        2
    );
    // The connection is usable after the rollback.
    sql.execute("INSERT INTO accounts (name) VALUES ('Dave')")
        .await
        .unwrap();
    assert_eq!(
        sql.query_u64("SELECT COUNT(*) FROM accounts")
            .await
            .unwrap(),
        3
    );

    let rows = sql
        .query_rows("SELECT name, age, balance, color, seen, picture FROM accounts ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get("name"), Some("Alice"));
    assert_eq!(rows[0].get("AGE"), Some("30"));
    assert_eq!(rows[0].get("balance"), Some("1500.00"));
    assert_eq!(rows[0].get("color"), Some("red"));
    assert_eq!(rows[0].get("seen"), None);
    assert_eq!(rows[1].get("seen"), Some("2021-03-10 08:00:00"));
    assert_eq!(rows[1].columns[5], ("picture".to_owned(), None));

    let describe = sql.query_rows("DESCRIBE accounts").await.unwrap();
    let fields: Vec<_> = describe.iter().filter_map(|r| r.get("Field")).collect();
    assert_eq!(
        fields,
        [
            "id", "name", "age", "balance", "bio", "color", "picture", "seen"
        ]
    );
    assert_eq!(describe[2].get("Type"), Some("tinyint(3) unsigned"));

    let cols = sql.columns("dms_sample", "accounts").await.unwrap();
    assert_eq!(cols.len(), 8);
    assert_eq!(cols[0].column_key, "PRI");
    assert_eq!(cols[2].ordinal_position, 3);
    assert_eq!(cols[5].column_type, "enum('red','green')");

    let err = sql
        .query_rows("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_table"), "{err}");

    let status = sql.binlog_status().await.unwrap();
    assert!(status.log_bin);
    assert!(
        status
            .file
            .as_deref()
            .is_some_and(|f| f.starts_with("mysql-bin.")),
        "{status:?}"
    );
    assert!(status.position.unwrap_or(0) > 4);
    assert_eq!(
        (status.format.as_str(), status.row_image.as_str()),
        ("ROW", "FULL")
    );
    assert_eq!(status.checksum, "NONE");
    assert_eq!(status.row_metadata.as_deref(), Some("FULL"));
    assert!(status.cdc_problems().is_empty());
    sql.close().await.unwrap();
}

#[tokio::test]
async fn connect_errors_are_classified_and_hide_the_password() {
    let db = MariaDbServer::start().unwrap();
    let secret = "wrong-Pa55word-xyz";
    let err = SqlClient::connect(
        db.host(),
        db.port(),
        db.user(),
        &SecretString::new(secret),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(!err.to_string().contains(secret) && !format!("{err:?}").contains(secret));
    assert!(
        err.to_string()
            .contains("check the user name, the password"),
        "{err}"
    );

    let port = dmsrs_testkit::free_port().unwrap();
    let err = SqlClient::connect("127.0.0.1", port, "u", &SecretString::new(secret), None)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(!err.to_string().contains(secret));
}
