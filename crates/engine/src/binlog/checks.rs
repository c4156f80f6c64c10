//! Start-up checks: is the source set up for row-based CDC? All problems are reported at once.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::charset::Collations;
use super::{BinlogError, BinlogPosition};

/// What the checks learned about the source.
#[derive(Clone, Debug)]
pub(crate) struct SourceFacts {
    /// MariaDB (not MySQL).
    pub mariadb: bool,
    /// `@@version`.
    pub version: String,
    /// `@@binlog_row_metadata` (upper case; `NO_LOG` when the server has no such variable).
    pub row_metadata: String,
}

/// Text of a value (numbers as decimal text).
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::NULL => None,
        other => Some(other.as_sql(true)),
    }
}

fn col(row: &Row, i: usize) -> Option<String> {
    text(row.as_ref(i))
}

fn on(v: &str) -> bool {
    matches!(v.to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE")
}

async fn global(conn: &mut Conn, var: &str) -> Option<String> {
    // Unknown variables (older servers, the other flavour) are reported as absent.
    let row: Option<Row> = conn
        .query_first(format!("SELECT @@GLOBAL.{var}"))
        .await
        .ok()?;
    row.and_then(|r| col(&r, 0))
}

/// Runs every check and returns the facts, or one [`BinlogError::Setup`] listing all problems.
pub(crate) async fn check_source(
    conn: &mut Conn,
    replica_server_id: u32,
    database: Option<&str>,
    position: &BinlogPosition,
) -> Result<SourceFacts, BinlogError> {
    let err = |e| BinlogError::from_mysql(e, position);
    let row: Option<Row> = conn
        .query_first("SELECT @@version, @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image, @@GLOBAL.server_id")
        .await
        .map_err(err)?;
    let row = row.ok_or_else(|| BinlogError::Server {
        code: 0,
        message: "SELECT @@version returned no row".into(),
        retryable: true,
    })?;
    let version = col(&row, 0).unwrap_or_default();
    let log_bin = col(&row, 1).unwrap_or_default();
    let format = col(&row, 2).unwrap_or_default().to_ascii_uppercase();
    let image = col(&row, 3).unwrap_or_default().to_ascii_uppercase();
    let source_id: u64 = col(&row, 4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let row_metadata = global(conn, "binlog_row_metadata")
        .await
        .unwrap_or_else(|| "NO_LOG".into())
        .to_ascii_uppercase();

    let mut problems = Vec::new();
    if !on(&log_bin) {
        problems.push("log_bin is OFF: start the source with binary logging (log_bin / --log-bin=mysql-bin in the server configuration, then restart it)".to_owned());
    }
    if format != "ROW" {
        problems.push(format!(
            "binlog_format is {format}: set binlog_format=ROW (SET GLOBAL binlog_format='ROW' and in the server configuration; \
             sessions that are already open keep the old format until they reconnect)"
        ));
    }
    if image != "FULL" {
        problems.push(format!(
            "binlog_row_image is {image}: set binlog_row_image=FULL (SET GLOBAL binlog_row_image='FULL' and in the server configuration), \
             so every row event carries all columns"
        ));
    }
    if source_id == 0 {
        problems.push("the source's server_id is 0, which disables replication: set server_id to a unique non-zero value".to_owned());
    }
    if replica_server_id == 0 {
        problems.push("the replica server_id of this task is 0: use a non-zero id that no other replica of the source uses".to_owned());
    } else if u64::from(replica_server_id) == source_id {
        problems.push(format!(
            "the replica server_id {replica_server_id} equals the source's server_id: use a different replica server_id"
        ));
    }
    if mariadb
        && global(conn, "log_bin_compress")
            .await
            .is_some_and(|v| on(&v))
    {
        problems.push("log_bin_compress is ON (compressed binlog events): set log_bin_compress=OFF on the source".to_owned());
    }
    let grants: Vec<String> = match conn.query::<Row, _>("SHOW GRANTS").await {
        Ok(rows) => rows.iter().filter_map(|r| col(r, 0)).collect(),
        Err(e) => {
            problems.push(format!("cannot read the user's privileges with SHOW GRANTS ({e}): grant the user REPLICATION SLAVE, REPLICATION CLIENT (BINLOG MONITOR on MariaDB) and SELECT"));
            Vec::new()
        }
    };
    if !grants.is_empty() {
        let (missing, via_roles) = grant_problems(&grants, database, mariadb);
        if via_roles && !missing.is_empty() {
            tracing::warn!(missing = ?missing, "the source user has roles; privileges granted through roles were not checked");
        } else {
            problems.extend(missing);
        }
    }
    if !problems.is_empty() {
        return Err(BinlogError::Setup { problems });
    }
    Ok(SourceFacts {
        mariadb,
        version,
        row_metadata,
    })
}

/// Splits `a, b (x, y), c` at top-level commas.
fn split_privileges(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_ascii_uppercase());
                continue;
            }
            _ => {}
        }
        if depth == 0 && ch != ')' {
            cur.push(ch);
        }
    }
    out.push(cur.trim().to_ascii_uppercase());
    out
}

/// The missing replication privileges in `SHOW GRANTS` lines, and whether roles are granted
/// (their privileges are not visible here).
pub(crate) fn grant_problems(
    grants: &[String],
    database: Option<&str>,
    mariadb: bool,
) -> (Vec<String>, bool) {
    let mut global: Vec<String> = Vec::new();
    let mut select_somewhere = false;
    let mut select_on_db = false;
    let mut roles = false;
    for line in grants {
        let upper = line.to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("GRANT ") else {
            continue;
        };
        let Some(on_at) = rest.find(" ON ") else {
            // `GRANT role TO user`
            if rest.contains(" TO ") {
                roles = true;
            }
            continue;
        };
        let privs = split_privileges(&rest[..on_at]);
        let target = rest[on_at + 4..]
            .split(" TO ")
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let original_target = line
            .get(6 + on_at + 4..)
            .unwrap_or("")
            .split(" TO ")
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let all = privs.iter().any(|p| p.starts_with("ALL"));
        let has_select = all || privs.iter().any(|p| p == "SELECT");
        if target == "*.*" {
            global.extend(privs.iter().cloned());
            if all {
                global.push("ALL".into());
            }
        }
        if has_select {
            select_somewhere = true;
            let db_of_target = original_target
                .split('.')
                .next()
                .unwrap_or("")
                .trim_matches('`')
                .replace("``", "`");
            if target == "*.*"
                || database
                    .is_some_and(|d| d == db_of_target || d.replace('_', "\\_") == db_of_target)
            {
                select_on_db = true;
            }
        }
    }
    let has = |p: &str| global.iter().any(|g| g == p || g == "ALL");
    let mut missing = Vec::new();
    if !has("REPLICATION SLAVE") {
        missing.push(
            "the source user lacks REPLICATION SLAVE: GRANT REPLICATION SLAVE ON *.* TO the user"
                .to_owned(),
        );
    }
    if !(has("REPLICATION CLIENT") || has("BINLOG MONITOR") || has("SUPER")) {
        let which = if mariadb {
            "BINLOG MONITOR (REPLICATION CLIENT)"
        } else {
            "REPLICATION CLIENT"
        };
        missing.push(format!(
            "the source user lacks {which}: GRANT {which} ON *.* TO the user",
            which = which.split(" (").next().unwrap_or(which)
        ));
    }
    let select_ok = match database {
        Some(_) => select_on_db,
        None => select_somewhere,
    };
    if !select_ok {
        missing.push(format!(
            "the source user lacks SELECT{}: GRANT SELECT ON {} TO the user",
            database.map(|d| format!(" on {d}")).unwrap_or_default(),
            database
                .map(|d| format!("`{d}`.*"))
                .unwrap_or_else(|| "the replicated schemas".into())
        ));
    }
    (missing, roles)
}

/// Collation ids of the server (one query; the built-in table covers failures).
pub(crate) async fn load_collations(conn: &mut Conn) -> Collations {
    let rows: Vec<Row> = conn
        .query(
            "SELECT co.ID, co.CHARACTER_SET_NAME, cs.MAXLEN FROM information_schema.COLLATIONS co \
             JOIN information_schema.CHARACTER_SETS cs ON cs.CHARACTER_SET_NAME = co.CHARACTER_SET_NAME \
             WHERE co.ID IS NOT NULL",
        )
        .await
        .unwrap_or_default();
    Collations::from_rows(rows.iter().filter_map(|r| {
        let id: u16 = col(r, 0)?.parse().ok()?;
        let name = col(r, 1)?;
        let maxlen = col(r, 2).and_then(|m| m.parse().ok());
        Some((id, name, maxlen))
    }))
}

/// The binlog files the server still has (`SHOW BINARY LOGS`), or `None` when it cannot tell.
pub(crate) async fn binary_logs(conn: &mut Conn) -> Option<Vec<(String, u64)>> {
    let rows: Vec<Row> = conn.query("SHOW BINARY LOGS").await.ok()?;
    Some(
        rows.iter()
            .filter_map(|r| Some((col(r, 0)?, col(r, 1)?.parse().ok()?)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(lines: &[&str], db: Option<&str>) -> Vec<String> {
        let lines: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
        grant_problems(&lines, db, true).0
    }

    #[test]
    fn grants() {
        assert!(g(&["GRANT ALL PRIVILEGES ON *.* TO `dmsrs`@`%` IDENTIFIED BY PASSWORD '*x' WITH GRANT OPTION"], Some("d")).is_empty());
        assert!(
            g(
                &["GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`"],
                Some("d")
            )
            .is_empty()
        );
        assert!(
            g(
                &[
                    "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `u`@`%`",
                    "GRANT SELECT ON `dms\\_sample`.* TO `u`@`%`"
                ],
                Some("dms_sample")
            )
            .is_empty()
        );
        assert!(
            g(
                &[
                    "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `u`@`%`",
                    "GRANT ALL PRIVILEGES ON `d`.* TO `u`@`%`"
                ],
                Some("d")
            )
            .is_empty()
        );
        let missing = g(
            &[
                "GRANT USAGE ON *.* TO `u`@`%`",
                "GRANT SELECT (a, b) ON `x`.`t` TO `u`@`%`",
            ],
            Some("d"),
        );
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(
            missing[0].contains("REPLICATION SLAVE")
                && missing[1].contains("BINLOG MONITOR")
                && missing[2].contains("SELECT on d")
        );
        let lines = vec![
            "GRANT `r` TO `u`@`%`".to_owned(),
            "GRANT USAGE ON *.* TO `u`@`%`".to_owned(),
        ];
        assert!(grant_problems(&lines, None, false).1);
    }
}
