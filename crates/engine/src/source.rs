//! The MySQL / MariaDB source: connections, table discovery and consistent snapshots.

use crate::columns::ColumnKind;
use crate::error::{EngineError, Result};
use dmsrs_secrets::SecretString;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};

/// How to reach the source database.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password (never logged).
    pub password: SecretString,
    /// Default database, if any.
    pub database: Option<String>,
}

impl SourceConfig {
    /// Parses a secret of the DMS shape `{host, port, username, password, dbname}`; `port`
    /// may be a number or a string, as in the seed's hand-made secret.
    pub fn from_secret_json(secret_id: &str, json: &str) -> Result<SourceConfig> {
        let bad = |reason: String| EngineError::Secret {
            secret_id: secret_id.to_owned(),
            reason,
        };
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            bad(format!(
                "not valid JSON ({e}); expected {{host, port, username, password, dbname}}"
            ))
        })?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let host = s("host").ok_or_else(|| bad("missing \"host\"".into()))?;
        let port = match v.get("port") {
            Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            Some(serde_json::Value::String(p)) => p.trim().parse().ok(),
            None => Some(3306),
            _ => None,
        }
        .ok_or_else(|| bad("\"port\" must be a port number (number or string)".into()))?;
        let user = s("username").ok_or_else(|| bad("missing \"username\"".into()))?;
        let password =
            SecretString::new(s("password").ok_or_else(|| bad("missing \"password\"".into()))?);
        Ok(SourceConfig {
            host,
            port,
            user,
            password,
            database: s("dbname").filter(|d| !d.is_empty()),
        })
    }

    /// mysql_async options: UTC session time zone (TIMESTAMP values come back in UTC) and
    /// utf8mb4 results.
    pub fn opts(&self) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.expose().to_owned()))
            .db_name(self.database.clone())
            .prefer_socket(false)
            .setup(vec!["SET time_zone = '+00:00', NAMES utf8mb4".to_owned()])
            .into()
    }

    /// Opens a connection.
    pub async fn connect(&self) -> Result<Conn> {
        Conn::new(self.opts()).await.map_err(|e| {
            let base = EngineError::from(e);
            match base {
                EngineError::Source { message, retryable } => EngineError::Source {
                    message: format!(
                        "cannot connect to {}:{} as {}: {message}",
                        self.host, self.port, self.user
                    ),
                    retryable,
                },
                other => other,
            }
        })
    }
}

/// One column of a source table.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Type, for rendering.
    pub kind: ColumnKind,
    /// NULL allowed.
    pub nullable: bool,
    /// Part of the primary key.
    pub is_primary_key: bool,
    /// `DATA_TYPE` as the server reports it (for mapping rules on data types).
    pub data_type: String,
}

/// A source table.
#[derive(Clone, Debug, PartialEq)]
pub struct TableInfo {
    /// Schema (database).
    pub schema: String,
    /// Table.
    pub name: String,
    /// Columns in ordinal order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes into `columns` of the primary key, in key order.
    pub primary_key: Vec<usize>,
    /// Table collation.
    pub collation: Option<String>,
}

const SYSTEM_SCHEMAS: &str = "'mysql','information_schema','performance_schema','sys'";

/// Quotes an identifier with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn text(row: &Row, i: usize) -> String {
    match row.as_ref(i) {
        Some(mysql_async::Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(mysql_async::Value::Int(v)) => v.to_string(),
        Some(mysql_async::Value::UInt(v)) => v.to_string(),
        _ => String::new(),
    }
}

fn opt_u64(row: &Row, i: usize) -> Option<u64> {
    match row.as_ref(i) {
        Some(mysql_async::Value::Bytes(b)) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        Some(mysql_async::Value::Int(v)) => u64::try_from(*v).ok(),
        Some(mysql_async::Value::UInt(v)) => Some(*v),
        _ => None,
    }
}

/// Lists the base tables outside the system schemas that `selected(schema, table)` accepts,
/// with their columns and primary keys, sorted by schema and name.
pub async fn discover(
    conn: &mut Conn,
    selected: impl Fn(&str, &str) -> bool,
) -> Result<Vec<TableInfo>> {
    let tables: Vec<Row> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ({SYSTEM_SCHEMAS}) ORDER BY TABLE_SCHEMA, TABLE_NAME"
        ))
        .await?;
    let mut out = Vec::new();
    for t in &tables {
        let (schema, name) = (text(t, 0), text(t, 1));
        if !selected(&schema, &name) {
            continue;
        }
        let collation = Some(text(t, 2)).filter(|c| !c.is_empty());
        if let Some(mut info) = table_info(conn, &schema, &name).await? {
            info.collation = collation;
            out.push(info);
        }
    }
    Ok(out)
}

/// Columns and primary key of one table; `None` when it does not exist.
pub async fn table_info(conn: &mut Conn, schema: &str, table: &str) -> Result<Option<TableInfo>> {
    let cols: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, CHARACTER_MAXIMUM_LENGTH, \
             NUMERIC_PRECISION, NUMERIC_SCALE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (schema, table),
        )
        .await?;
    if cols.is_empty() {
        return Ok(None);
    }
    let pk_rows: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (schema, table),
        )
        .await?;
    let pk_names: Vec<String> = pk_rows.iter().map(|r| text(r, 0)).collect();
    let columns: Vec<ColumnInfo> = cols
        .iter()
        .map(|r| {
            let name = text(r, 0);
            let data_type = text(r, 1);
            ColumnInfo {
                kind: ColumnKind::from_information_schema(
                    &data_type,
                    &text(r, 2),
                    opt_u64(r, 5),
                    opt_u64(r, 6),
                    opt_u64(r, 7),
                ),
                nullable: text(r, 3).eq_ignore_ascii_case("YES"),
                is_primary_key: pk_names.contains(&name),
                data_type,
                name,
            }
        })
        .collect();
    let primary_key = pk_names
        .iter()
        .filter_map(|n| columns.iter().position(|c| &c.name == n))
        .collect();
    Ok(Some(TableInfo {
        schema: schema.to_owned(),
        name: table.to_owned(),
        columns,
        primary_key,
        collation: None,
    }))
}

/// The current end of the binlog: file and position. `SHOW MASTER STATUS`, or
/// `SHOW BINARY LOG STATUS` on servers that removed the old name (MySQL 8.4).
pub async fn binlog_position(conn: &mut Conn) -> Result<Option<(String, u64)>> {
    let row: Option<Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        Err(mysql_async::Error::Server(_)) => conn.query_first("SHOW BINARY LOG STATUS").await?,
        Err(e) => return Err(e.into()),
    };
    Ok(row.map(|r| (text(&r, 0), opt_u64(&r, 1).unwrap_or(4))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_shapes() {
        let c = SourceConfig::from_secret_json(
            "s",
            r#"{"host":"mariadb_server","port":"3306","username":"admin","password":"1Wp2Aide=z=,eLX3RrD4gJ4o54puex","dbname":"dms_sample"}"#,
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.database.as_deref()),
            ("mariadb_server", 3306, Some("dms_sample"))
        );
        let c = SourceConfig::from_secret_json(
            "s",
            r#"{"host":"h","port":4510,"username":"u","password":"p","engine":"mariadb"}"#,
        )
        .unwrap();
        assert_eq!(c.port, 4510);
        let e = SourceConfig::from_secret_json(
            "arn:x",
            r#"{"host":"h","port":"x","username":"u","password":"hunter2"}"#,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("arn:x") && msg.contains("port") && !msg.contains("hunter2"),
            "{msg}"
        );
        assert!(
            !format!("{c:?}").contains("\"p\""),
            "password must not show in Debug"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }
}
