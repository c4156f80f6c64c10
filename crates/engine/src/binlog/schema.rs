//! Schema history for sources without FULL row metadata.
//!
//! Without `binlog_row_metadata=FULL`, TABLE_MAP events carry types but no column names (nor
//! ENUM/SET values, nor the primary key). The reader then names columns from
//! `information_schema`: read the first time a table is seen, kept until a DDL statement for
//! that table passes by in the stream, then read again the next time the table is seen. Rows
//! before an `ALTER` therefore decode with the old columns, rows after it with the new ones.
//!
//! Limitation: `information_schema` only knows the *current* table. A reader that is behind
//! the source by one or more DDL statements on a table (catching up after downtime, or started
//! at an old position) sees the newer shape for the older rows; the reader detects that when
//! column counts or types disagree and stops with [`BinlogError::SchemaMismatch`] rather than
//! mislabel values. Changes that keep count and types (e.g. renaming a column) cannot be
//! detected. With FULL metadata none of this applies.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::checks::text;
use super::tablemap::SchemaColumn;
use crate::columns::ColumnKind;

/// Information-schema columns per table, invalidated by DDL.
#[derive(Debug, Default)]
pub(crate) struct SchemaHistory {
    tables: HashMap<(String, String), Arc<Vec<SchemaColumn>>>,
}

impl SchemaHistory {
    pub(crate) fn get(&self, schema: &str, table: &str) -> Option<Arc<Vec<SchemaColumn>>> {
        self.tables
            .get(&(schema.to_owned(), table.to_owned()))
            .cloned()
    }

    pub(crate) fn insert(&mut self, schema: &str, table: &str, columns: Arc<Vec<SchemaColumn>>) {
        self.tables
            .insert((schema.to_owned(), table.to_owned()), columns);
    }

    pub(crate) fn invalidate(&mut self, schema: &str, table: &str) {
        self.tables.remove(&(schema.to_owned(), table.to_owned()));
    }

    pub(crate) fn invalidate_all(&mut self) {
        self.tables.clear();
    }
}

/// Reads one table's columns from `information_schema` (`Ok(None)`: no such table).
/// Errors are `(message, retryable)`.
pub(crate) async fn load_table(
    conn: &mut Conn,
    schema: &str,
    table: &str,
) -> Result<Option<Vec<SchemaColumn>>, (String, bool)> {
    let info = crate::source::table_info(conn, schema, table)
        .await
        .map_err(|e| (e.to_string(), e.is_retryable()))?;
    let Some(info) = info else { return Ok(None) };
    let extra: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (schema, table),
        )
        .await
        .map_err(|e| {
            let retryable = e.is_fatal();
            (e.to_string(), retryable)
        })?;
    let mut out = Vec::with_capacity(info.columns.len());
    for (c, e) in info.columns.iter().zip(extra.iter()) {
        let column_type = text(e.as_ref(1)).unwrap_or_default();
        // The kind as full load derives it (ENUM/SET values in their real case).
        let values = match &c.kind {
            ColumnKind::Enum(v) | ColumnKind::Set(v) => Some(v.clone()),
            _ => None,
        };
        let kind = c.kind.clone();
        out.push(SchemaColumn {
            name: c.name.clone(),
            kind,
            is_primary_key: c.is_primary_key,
            charset: text(e.as_ref(2)),
            values,
            unsigned: column_type.to_ascii_lowercase().contains("unsigned"),
        });
    }
    if out.len() != info.columns.len() {
        return Err((
            format!("{schema}.{table} changed while its columns were being read"),
            true,
        ));
    }
    Ok(Some(out))
}
