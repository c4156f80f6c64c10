//! SQL access to MariaDB/MySQL through sqlx's MySQL driver.

use std::time::Duration;

use dmsrs_secrets::SecretString;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlRow};
use sqlx::{Column, Connection, Executor, Row, ValueRef};

use crate::error::{DatabaseError, Result};
use crate::spec::DatabaseInstance;

/// Connect timeout of [`SqlClient::connect`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One result row: column names with their values as text (`None` = SQL
/// NULL; binary values are decoded as lossy UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SqlRow {
    /// `(column name, value)` in select order.
    pub columns: Vec<(String, Option<String>)>,
}

impl SqlRow {
    /// The value of the first column named `name` (case-insensitive);
    /// `None` if there is no such column or the value is NULL.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    /// The value at `index`; `None` if out of range or NULL.
    pub fn get_index(&self, index: usize) -> Option<&str> {
        self.columns.get(index).and_then(|(_, v)| v.as_deref())
    }
}

/// The server's binary log settings and position (what DMS CDC depends on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogStatus {
    /// `@@log_bin`.
    pub log_bin: bool,
    /// Current binlog file (`SHOW MASTER STATUS`), if binary logging is on.
    pub file: Option<String>,
    /// Current position in it.
    pub position: Option<u64>,
    /// `@@binlog_format`.
    pub format: String,
    /// `@@binlog_row_image`.
    pub row_image: String,
    /// `@@binlog_checksum`.
    pub checksum: String,
    /// `@@binlog_row_metadata` (absent on servers without it).
    pub row_metadata: Option<String>,
    /// `@@server_id`.
    pub server_id: u64,
}

impl BinlogStatus {
    /// What keeps the server from being a DMS CDC source (empty: ready).
    /// Requires `log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL` and a
    /// non-zero `server_id`.
    pub fn cdc_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !self.log_bin {
            p.push("binary logging is off (log_bin)".to_owned());
        }
        if !self.format.eq_ignore_ascii_case("ROW") {
            p.push(format!("binlog_format is {} (needs ROW)", self.format));
        }
        if !self.row_image.eq_ignore_ascii_case("FULL") {
            p.push(format!(
                "binlog_row_image is {} (needs FULL)",
                self.row_image
            ));
        }
        if self.server_id == 0 {
            p.push("server_id is 0".to_owned());
        }
        p
    }
}

/// A column of a table, from `information_schema.COLUMNS`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ColumnInfo {
    /// Column name.
    pub column_name: String,
    /// 1-based position.
    pub ordinal_position: u64,
    /// `int`, `varchar`, ...
    pub data_type: String,
    /// Full type, e.g. `tinyint(3) unsigned`, `enum('red','green')`.
    pub column_type: String,
    /// `YES` / `NO`.
    pub is_nullable: String,
    /// `PRI`, `UNI`, `MUL` or empty.
    pub column_key: String,
}

/// One connection to a MariaDB/MySQL server.
///
/// Statements given as plain strings run over the text protocol (no
/// server-side prepare), so any statement works, including DDL and `SHOW`,
/// and [`query_rows`](Self::query_rows) returns every column type as text.
/// Errors name the target as `user@host:port/db`, never the password.
#[derive(Debug)]
pub struct SqlClient {
    conn: MySqlConnection,
    target: String,
}

impl SqlClient {
    /// Connects (no TLS; times out after [`CONNECT_TIMEOUT`]). `database`:
    /// the default database, or `None`.
    pub async fn connect(
        host: &str,
        port: u16,
        user: &str,
        password: &SecretString,
        database: Option<&str>,
    ) -> Result<Self> {
        Self::connect_timeout(host, port, user, password, database, CONNECT_TIMEOUT).await
    }

    /// [`connect`](Self::connect) with another timeout.
    pub async fn connect_timeout(
        host: &str,
        port: u16,
        user: &str,
        password: &SecretString,
        database: Option<&str>,
        timeout: Duration,
    ) -> Result<Self> {
        let target = format!("{user}@{host}:{port}/{}", database.unwrap_or(""));
        let mut options = MySqlConnectOptions::new()
            .host(host)
            .port(port)
            .username(user)
            .password(password.expose());
        if let Some(db) = database {
            options = options.database(db);
        }
        let conn =
            match tokio::time::timeout(timeout, MySqlConnection::connect_with(&options)).await {
                Ok(Ok(conn)) => conn,
                Ok(Err(source)) => return Err(DatabaseError::Connect { target, source }),
                Err(_) => {
                    return Err(DatabaseError::Connect {
                        target,
                        source: sqlx::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no answer within {timeout:?}"),
                        )),
                    });
                }
            };
        Ok(SqlClient { conn, target })
    }

    /// Connects to `instance`'s initial database as its master user.
    pub async fn connect_instance(instance: &DatabaseInstance) -> Result<Self> {
        let password = instance.password.as_ref().ok_or_else(|| {
            DatabaseError::invalid(
                "password",
                format!(
                    "the master password of {} is not known: pass it in the spec",
                    instance.identifier
                ),
            )
        })?;
        Self::connect(
            &instance.host,
            instance.port,
            &instance.master_username,
            password,
            Some(&instance.db_name),
        )
        .await
    }

    /// `user@host:port/db`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs `statements` in order on this connection inside one transaction,
    /// then commits: DML of the batch is committed together, or not at all
    /// if a statement fails (the error names the statement; the transaction
    /// is rolled back). DDL statements commit implicitly in MariaDB, as in
    /// the seed's `run_queries_on_mysql`. Returns the total rows affected.
    pub async fn execute_batch(&mut self, statements: &[&str]) -> Result<u64> {
        let target = self.target.clone();
        let mut tx = self
            .conn
            .begin()
            .await
            .map_err(|source| DatabaseError::Sql {
                target: target.clone(),
                statement: "BEGIN".into(),
                source,
            })?;
        let mut affected = 0;
        for (index, statement) in statements.iter().enumerate() {
            match (&mut *tx).execute(*statement).await {
                Ok(r) => affected += r.rows_affected(),
                Err(source) => {
                    // Dropping `tx` would roll back too; do it explicitly to
                    // surface nothing but the original error.
                    let _ = tx.rollback().await;
                    return Err(DatabaseError::Batch {
                        target,
                        index,
                        statement: shorten(statement),
                        source,
                    });
                }
            }
        }
        tx.commit().await.map_err(|source| DatabaseError::Sql {
            target,
            statement: "COMMIT".into(),
            source,
        })?;
        Ok(affected)
    }

    /// Runs one statement outside any explicit transaction (autocommit).
    /// Returns the rows affected.
    pub async fn execute(&mut self, statement: &str) -> Result<u64> {
        match self.conn.execute(statement).await {
            Ok(r) => Ok(r.rows_affected()),
            Err(source) => Err(DatabaseError::Sql {
                target: self.target.clone(),
                statement: shorten(statement),
                source,
            }),
        }
    }

    /// Runs a query and returns its rows with every value as text, e.g.
    /// for `SELECT COUNT(*) ...`, `DESCRIBE t`, `SHOW ...`.
    pub async fn query_rows(&mut self, sql: &str) -> Result<Vec<SqlRow>> {
        let rows: Vec<MySqlRow> =
            self.conn
                .fetch_all(sql)
                .await
                .map_err(|source| DatabaseError::Sql {
                    target: self.target.clone(),
                    statement: shorten(sql),
                    source,
                })?;
        rows.iter().map(|r| self.text_row(r, sql)).collect()
    }

    /// The first column of the first row as `u64` (e.g. `SELECT COUNT(*)`).
    pub async fn query_u64(&mut self, sql: &str) -> Result<u64> {
        let rows = self.query_rows(sql).await?;
        let value = rows.first().and_then(|r| r.get_index(0));
        value
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| DatabaseError::Sql {
                target: self.target.clone(),
                statement: shorten(sql),
                source: sqlx::Error::Decode(
                    format!("expected an unsigned integer, got {value:?}").into(),
                ),
            })
    }

    /// The columns of `schema.table` from `information_schema.COLUMNS`
    /// (unsigned columns decoded as `u64`, text `CAST` to `CHAR` as sqlx 0.8
    /// requires), in ordinal order.
    pub async fn columns(&mut self, schema: &str, table: &str) -> Result<Vec<ColumnInfo>> {
        const SQL: &str = "SELECT CAST(COLUMN_NAME AS CHAR) AS column_name, ORDINAL_POSITION AS ordinal_position, \
             CAST(DATA_TYPE AS CHAR) AS data_type, CAST(COLUMN_TYPE AS CHAR) AS column_type, \
             CAST(IS_NULLABLE AS CHAR) AS is_nullable, CAST(COLUMN_KEY AS CHAR) AS column_key \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
        sqlx::query_as::<_, ColumnInfo>(SQL)
            .bind(schema)
            .bind(table)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|source| DatabaseError::Sql {
                target: self.target.clone(),
                statement: shorten(SQL),
                source,
            })
    }

    /// Binary log settings and the current position.
    pub async fn binlog_status(&mut self) -> Result<BinlogStatus> {
        let vars = self
            .query_rows(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
                 ('log_bin','binlog_format','binlog_row_image','binlog_checksum','binlog_row_metadata','server_id')",
            )
            .await?;
        let var = |name: &str| {
            vars.iter()
                .find(|r| r.get_index(0).is_some_and(|n| n.eq_ignore_ascii_case(name)))
                .and_then(|r| r.get_index(1))
                .map(str::to_owned)
        };
        let log_bin = var("log_bin").is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1");
        let (file, position) = if log_bin {
            let rows = self.query_rows("SHOW MASTER STATUS").await?;
            let row = rows.first();
            (
                row.and_then(|r| r.get("File")).map(str::to_owned),
                row.and_then(|r| r.get("Position"))
                    .and_then(|p| p.parse().ok()),
            )
        } else {
            (None, None)
        };
        Ok(BinlogStatus {
            log_bin,
            file,
            position,
            format: var("binlog_format").unwrap_or_default(),
            row_image: var("binlog_row_image").unwrap_or_default(),
            checksum: var("binlog_checksum").unwrap_or_default(),
            row_metadata: var("binlog_row_metadata"),
            server_id: var("server_id").and_then(|v| v.parse().ok()).unwrap_or(0),
        })
    }

    /// `SELECT VERSION()`.
    pub async fn server_version(&mut self) -> Result<String> {
        let rows = self.query_rows("SELECT VERSION()").await?;
        Ok(rows
            .first()
            .and_then(|r| r.get_index(0))
            .unwrap_or_default()
            .to_owned())
    }

    /// Closes the connection politely.
    pub async fn close(self) -> Result<()> {
        let target = self.target;
        self.conn
            .close()
            .await
            .map_err(|source| DatabaseError::Sql {
                target,
                statement: "QUIT".into(),
                source,
            })
    }

    fn text_row(&self, row: &MySqlRow, sql: &str) -> Result<SqlRow> {
        let mut columns = Vec::with_capacity(row.len());
        for (i, col) in row.columns().iter().enumerate() {
            let raw = row.try_get_raw(i).map_err(|source| DatabaseError::Sql {
                target: self.target.clone(),
                statement: shorten(sql),
                source,
            })?;
            let value =
                if raw.is_null() {
                    None
                } else {
                    // Text protocol: every value arrives as its text form.
                    let bytes: Vec<u8> = <Vec<u8> as sqlx::Decode<sqlx::MySql>>::decode(raw)
                        .map_err(|e| DatabaseError::Sql {
                            target: self.target.clone(),
                            statement: shorten(sql),
                            source: sqlx::Error::Decode(e),
                        })?;
                    Some(String::from_utf8_lossy(&bytes).into_owned())
                };
            columns.push((col.name().to_owned(), value));
        }
        Ok(SqlRow { columns })
    }
}

/// A statement for error messages: one line, at most 200 characters.
fn shorten(sql: &str) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 200 {
        one_line
    } else {
        let mut s: String = one_line.chars().take(200).collect();
        s.push_str("...");
        s
    }
}
