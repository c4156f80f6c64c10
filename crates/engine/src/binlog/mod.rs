//! Binlog CDC: a MariaDB-first (MySQL 8 compatible) reader that turns the source's
//! replication stream into typed, schema-correct [`ChangeEvent`]s.
//!
//! [`BinlogReader::open`] checks the source (all problems in one [`BinlogError::Setup`]),
//! then streams the binlog from a [`BinlogPosition`] through `mysql_async`'s binlog dump,
//! with `@mariadb_slave_capability=4` on MariaDB so GTID events arrive as themselves.
//! [`BinlogReader::next`] waits for the server (it never polls on a timer) and returns:
//!
//! - [`ChangeEvent::Begin`] .. [`ChangeEvent::Rows`]* .. [`ChangeEvent::Commit`] for each
//!   transaction (or [`ChangeEvent::Rollback`] when a transaction that touched
//!   non-transactional tables rolled back);
//! - [`ChangeEvent::Ddl`] for DDL and other statements, in stream order;
//! - [`ChangeEvent::Progress`] on heartbeats and file rotations, to checkpoint while idle.
//!
//! Positions are tracked by the reader itself (the end of each event), so they are exact at
//! transaction boundaries also on MariaDB 11.4+ where events inside a transaction carry
//! `end_log_pos = 0`: the commit event's own position is used. Resume from a
//! `Commit`/`Rollback`/`Progress` position, or from the position of a `Ddl` that was not
//! inside a transaction; never from inside a transaction (its table maps would be missing).
//!
//! Rows come undecoded ([`RawRows`], checked against their table map) so that the consumer
//! can decode them in parallel with reading. [`RawRows::decode`] normalises values to the
//! shapes full load reads through the binary protocol (see [`RowImage`]), so
//! [`ColumnKind::render`](crate::columns::ColumnKind::render) renders CDC exactly like full
//! load. Column names and types come from the TABLE_MAP's FULL metadata
//! (`binlog_row_metadata=FULL`, recommended), else from a schema history read from
//! `information_schema` and refreshed on DDL (see `schema.rs` for the limitation).
//!
//! [`ddl::classify`] tells which tables a DDL statement touches and how.

mod charset;
mod checks;
pub mod ddl;
mod error;
mod jsonb;
mod reader;
mod rows;
mod schema;
mod tablemap;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use ddl::{AlterOp, DdlChange, classify};
pub use error::BinlogError;
pub use reader::BinlogReader;
pub(crate) use rows::{ImageSink, int_value};

use crate::columns::ColumnKind;

/// A position in the source's binlog: where to resume.
///
/// Displays and parses as `file:pos` (the native form of DMS's `CdcStartPosition`, e.g.
/// `mysql-bin.000003:1520`); the GTID is informational and not part of that text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BinlogPosition {
    /// Binlog file name, e.g. `mysql-bin.000003`.
    pub file: String,
    /// Byte offset in the file: the start of the next event to read.
    pub pos: u64,
    /// MariaDB `domain-server-seq` (MySQL `uuid:gno`) of the last transaction committed at or
    /// before this position, when known.
    pub gtid: Option<String>,
}

impl BinlogPosition {
    /// A position without GTID.
    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        BinlogPosition {
            file: file.into(),
            pos,
            gtid: None,
        }
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// A `file:pos` text that is not a binlog position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a binlog position: expected file:position, e.g. mysql-bin.000003:1520")]
pub struct ParsePositionError(
    /// The text that is not a position.
    pub String,
);

impl FromStr for BinlogPosition {
    type Err = ParsePositionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParsePositionError(s.to_owned());
        let (file, pos) = s.trim().rsplit_once(':').ok_or_else(bad)?;
        let pos: u64 = pos.trim().parse().map_err(|_| bad())?;
        let file = file.trim();
        if file.is_empty() {
            return Err(bad());
        }
        Ok(BinlogPosition::new(file, pos))
    }
}

/// What a rows event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    /// INSERT (after images only).
    Insert,
    /// UPDATE (before and after images).
    Update,
    /// DELETE (before images only).
    Delete,
}

/// One changed row.
///
/// Values are in table column order and have the shapes full load reads through the binary
/// protocol (UTC session): integers `Int` (`UInt` only above `i64::MAX`), YEAR `Int`,
/// FLOAT `Float`, DOUBLE `Double`, DATE/DATETIME/TIMESTAMP `Date(..)` (TIMESTAMP converted to
/// UTC; the zero date is all zeros), TIME `Time(..)` with hours < 24, DECIMAL its text as
/// `Bytes`, ENUM/SET their names as `Bytes` (`""` for the ENUM error value), character
/// columns UTF-8 `Bytes` (converted from latin1, ucs2, utf16, utf32), binary columns and BIT
/// raw `Bytes` (BINARY(n) padded to n bytes), JSON its text, NULL `NULL`.
#[derive(Clone, Debug, PartialEq)]
pub struct RowImage {
    /// The row before the change (UPDATE, DELETE).
    pub before: Option<Vec<mysql_async::Value>>,
    /// The row after the change (INSERT, UPDATE).
    pub after: Option<Vec<mysql_async::Value>>,
}

/// The rows of one rows event, checked against their table map (column count, full row
/// images) and decoded on demand: [`RawRows::decode`] gives [`RowImage`]s. The reader leaves
/// decoding to its consumer so that it can run in parallel with reading.
#[derive(Clone)]
pub struct RawRows {
    meta: Arc<tablemap::TableMeta>,
    kind: RowKind,
    data: Vec<u8>,
    position: BinlogPosition,
}

impl RawRows {
    pub(crate) fn new(
        meta: Arc<tablemap::TableMeta>,
        kind: RowKind,
        data: Vec<u8>,
        position: BinlogPosition,
    ) -> Self {
        RawRows {
            meta,
            kind,
            data,
            position,
        }
    }

    /// Size of the encoded rows, in bytes.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// Decodes the rows, in order. Values have the shapes full load reads (see
    /// [`RowImage`]). A malformed event is [`BinlogError::Decode`] at the event's position.
    pub fn decode(&self) -> Result<Vec<RowImage>, BinlogError> {
        rows::decode_rows(&self.meta.plan, self.kind, &self.data).map_err(|d| self.error(d))
    }

    /// Decodes the rows image by image into `sink` (an update: before, then after); returns
    /// the number of rows.
    pub(crate) fn decode_into(&self, sink: &mut impl ImageSink) -> Result<u64, BinlogError> {
        rows::decode_images(&self.meta.plan, self.kind, &self.data, sink).map_err(|d| self.error(d))
    }

    fn error(&self, detail: String) -> BinlogError {
        BinlogError::Decode {
            position: self.position.clone(),
            detail: format!("{}.{}: {detail}", self.meta.schema, self.meta.table),
        }
    }
}

impl fmt::Debug for RawRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawRows")
            .field(
                "table",
                &format_args!("{}.{}", self.meta.schema, self.meta.table),
            )
            .field("kind", &self.kind)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl PartialEq for RawRows {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.data == other.data
            && self.meta.schema == other.meta.schema
            && self.meta.table == other.meta.table
            && self.meta.plan == other.meta.plan
    }
}

/// A column of a table as of a given rows event.
#[derive(Clone, Debug, PartialEq)]
pub struct BinlogColumn {
    /// Column name (`@N`, 1-based, only if neither metadata nor schema history had names).
    pub name: String,
    /// How values render.
    pub kind: ColumnKind,
    /// NULL allowed.
    pub nullable: bool,
    /// Part of the primary key.
    pub is_primary_key: bool,
}

/// One item of the change stream, in binlog order.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeEvent {
    /// A transaction starts (MariaDB GTID event, or a `BEGIN` query on MySQL).
    Begin {
        /// Where the transaction starts (resuming here replays it).
        position: BinlogPosition,
        /// The transaction's GTID, when the source logs one.
        gtid: Option<String>,
        /// Server time (seconds since the epoch).
        timestamp: u32,
    },
    /// Rows of one table from one rows event (a statement may span several), checked
    /// against the table map but not decoded yet (see [`RawRows`]).
    Rows {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
        /// The table's columns at this event (shared by all events of the same table map).
        columns: Arc<Vec<BinlogColumn>>,
        /// Insert, update or delete.
        kind: RowKind,
        /// The rows, in order.
        rows: RawRows,
        /// Where this rows event starts (inside the transaction: not a resume point).
        position: BinlogPosition,
        /// Server time (seconds since the epoch).
        timestamp: u32,
    },
    /// A statement outside row events: DDL (`CREATE/ALTER/DROP/RENAME/TRUNCATE TABLE`, ...)
    /// and other logged statements (`GRANT`, `CREATE USER`, ...); see [`ddl::classify`].
    Ddl {
        /// The statement's default schema (unqualified names refer to it).
        schema: String,
        /// The statement text.
        query: String,
        /// The position after the statement (a resume point unless inside a transaction,
        /// as `CREATE TABLE ... SELECT` can be).
        position: BinlogPosition,
        /// Server time (seconds since the epoch).
        timestamp: u32,
    },
    /// The transaction committed (XID event, XA PREPARE, or a `COMMIT` query for
    /// non-transactional engines). `position` is the resume position right after it.
    Commit {
        /// Resume position after the transaction (its `gtid` is this transaction's).
        position: BinlogPosition,
        /// The XID, for XID events.
        xid: Option<u64>,
        /// Server time (seconds since the epoch).
        timestamp: u32,
    },
    /// A transaction ended with `ROLLBACK`: this happens only when it changed
    /// non-transactional tables, and the rows seen since `Begin` are those changes, which did
    /// happen and were not undone. `position` is a resume position after it.
    Rollback {
        /// Resume position after the transaction.
        position: BinlogPosition,
    },
    /// Heartbeat or binlog rotation while no transaction is open: the current resume
    /// position, so the caller can checkpoint while the source is idle.
    Progress {
        /// Resume position.
        position: BinlogPosition,
    },
}

/// Decides which tables to decode: `(schema, table) -> keep`. Rows of other tables are
/// skipped without decoding (their transactions still produce `Begin`/`Commit`).
pub type TableFilter = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Tuning of a [`BinlogReader`]; `Default` suits production.
#[derive(Clone)]
pub struct ReaderOptions {
    /// How often the source sends a heartbeat while it has nothing to send (each becomes a
    /// [`ChangeEvent::Progress`]). Zero disables heartbeats. Default 5 s (DMS's
    /// `EventsPollInterval` default).
    pub heartbeat: Duration,
    /// With nothing at all (not even a heartbeat) for this long, the connection is presumed
    /// dead: [`BinlogError::Timeout`] (retryable). Zero disables. Default 30 s; keep it well
    /// above `heartbeat`.
    pub idle_timeout: Duration,
    /// Which tables to decode (default: all).
    pub table_filter: Option<TableFilter>,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            heartbeat: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            table_filter: None,
        }
    }
}

impl fmt::Debug for ReaderOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderOptions")
            .field("heartbeat", &self.heartbeat)
            .field("idle_timeout", &self.idle_timeout)
            .field("table_filter", &self.table_filter.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_and_display() {
        let p: BinlogPosition = "mysql-bin.000003:1520".parse().unwrap();
        assert_eq!(p, BinlogPosition::new("mysql-bin.000003", 1520));
        assert_eq!(p.to_string(), "mysql-bin.000003:1520");
        assert!("mysql-bin.000003".parse::<BinlogPosition>().is_err());
        assert!(":4".parse::<BinlogPosition>().is_err());
        assert!("f:x".parse::<BinlogPosition>().is_err());
    }
}
