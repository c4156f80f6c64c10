//! [`BinlogReader`]: the replication connection and the event state machine.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures::{FutureExt, StreamExt};
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{Event, EventData};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Row};

use super::charset::{Collations, TextConv};
use super::checks::{self, SourceFacts, text};
use super::rows::{self, parse_rows_header};
use super::schema::{self, SchemaHistory};
use super::tablemap::{self, TableMeta, parse_table_map};
use super::{BinlogError, BinlogPosition, ChangeEvent, RawRows, ReaderOptions, ddl};
use crate::source::SourceConfig;

// Event type codes the reader acts on.
const START_V3: u8 = 1;
const QUERY: u8 = 2;
const STOP: u8 = 3;
const ROTATE: u8 = 4;
const INTVAR: u8 = 5;
const SLAVE: u8 = 7;
const RAND: u8 = 13;
const USER_VAR: u8 = 14;
const FORMAT_DESCRIPTION: u8 = 15;
const XID: u8 = 16;
const TABLE_MAP: u8 = 19;
const INCIDENT: u8 = 26;
const HEARTBEAT: u8 = 27;
const IGNORABLE: u8 = 28;
const ROWS_QUERY: u8 = 29;
const GTID: u8 = 33;
const ANONYMOUS_GTID: u8 = 34;
const PREVIOUS_GTIDS: u8 = 35;
const TRANSACTION_CONTEXT: u8 = 36;
const VIEW_CHANGE: u8 = 37;
const XA_PREPARE: u8 = 38;
const PARTIAL_UPDATE_ROWS: u8 = 39;
const TRANSACTION_PAYLOAD: u8 = 40;
const HEARTBEAT_V2: u8 = 41;
const GTID_TAGGED: u8 = 42;
const MARIA_ANNOTATE_ROWS: u8 = 160;
const MARIA_BINLOG_CHECKPOINT: u8 = 161;
const MARIA_GTID: u8 = 162;
const MARIA_GTID_LIST: u8 = 163;
const MARIA_START_ENCRYPTION: u8 = 164;

/// `LOG_EVENT_ARTIFICIAL_F`: made up by the server, not in the file.
const FLAG_ARTIFICIAL: u16 = 0x20;
/// `LOG_EVENT_IGNORABLE_F`: replicas that do not know the event may skip it.
const FLAG_IGNORABLE: u16 = 0x80;

/// A MariaDB GTID event (type 162), decoded by hand: `mysql_common` does not know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MariaGtid {
    pub domain: u32,
    pub server_id: u32,
    pub seq: u64,
    pub flags2: u8,
}

impl MariaGtid {
    /// `FL_STANDALONE`: a single statement (DDL) without BEGIN/COMMIT.
    const STANDALONE: u8 = 1;

    /// Body layout: `seq_no u64 LE, domain_id u32 LE, flags2 u8, ...`; the server id is the
    /// event header's.
    pub(crate) fn parse(data: &[u8], server_id: u32) -> Option<MariaGtid> {
        let seq = u64::from_le_bytes(data.get(0..8)?.try_into().ok()?);
        let domain = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
        let flags2 = *data.get(12)?;
        Some(MariaGtid {
            domain,
            server_id,
            seq,
            flags2,
        })
    }

    pub(crate) fn standalone(&self) -> bool {
        self.flags2 & Self::STANDALONE != 0
    }
}

impl fmt::Display for MariaGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server_id, self.seq)
    }
}

/// A GTID seen before the statement it belongs to.
#[derive(Debug)]
struct Pending {
    gtid: Option<String>,
    start: u64,
}

/// What a query event means to the reader.
#[derive(Debug, PartialEq, Eq)]
enum QueryKind {
    Begin,
    Commit,
    Rollback,
    Savepoint,
    XaEnd,
    XaPrepare,
    XaFinish { rollback: bool },
    Dummy,
    Dml,
    Other,
}

fn query_kind(sql: &str) -> QueryKind {
    let s = sql.trim_start();
    let upper: String = s.chars().take(40).collect::<String>().to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let w = |i: usize| words.get(i).copied().unwrap_or("");
    if s.starts_with("# Dummy event") {
        return QueryKind::Dummy;
    }
    match (w(0).trim_end_matches(';'), w(1).trim_end_matches(';')) {
        ("BEGIN", _) | ("START", "TRANSACTION") => QueryKind::Begin,
        ("COMMIT", _) => QueryKind::Commit,
        ("ROLLBACK", "TO") => QueryKind::Savepoint,
        ("ROLLBACK", _) => QueryKind::Rollback,
        ("SAVEPOINT", _) | ("RELEASE", "SAVEPOINT") => QueryKind::Savepoint,
        ("XA", "START" | "BEGIN") => QueryKind::Begin,
        ("XA", "END") => QueryKind::XaEnd,
        ("XA", "PREPARE") => QueryKind::XaPrepare,
        ("XA", "COMMIT") => QueryKind::XaFinish { rollback: false },
        ("XA", "ROLLBACK") => QueryKind::XaFinish { rollback: true },
        ("INSERT" | "UPDATE" | "REPLACE" | "LOAD", _) => QueryKind::Dml,
        ("DELETE", _) => {
            // `DELETE FROM t` alone is what servers log when a MEMORY table is emptied by a
            // restart: passed on as a statement. Anything else is statement-based DML.
            let rest: Vec<&str> = words.iter().skip(2).copied().collect();
            if w(1) == "FROM" && rest.len() == 1 && s.len() < 40 {
                QueryKind::Other
            } else {
                QueryKind::Dml
            }
        }
        _ => QueryKind::Other,
    }
}

/// Reads the binlog of one source and yields [`ChangeEvent`]s.
///
/// One reader = one replication connection (plus, without FULL row metadata, one connection
/// for `information_schema`). After any error the reader is finished: drop it and open a new
/// one at the last checkpoint ([`BinlogError::is_retryable`] tells whether that can help).
pub struct BinlogReader {
    stream: Option<BinlogStream>,
    config: SourceConfig,
    options: ReaderOptions,
    facts: SourceFacts,
    collations: Collations,
    control: Option<Conn>,
    history: SchemaHistory,
    tables: HashMap<u64, Arc<TableMeta>>,
    warned_metadata: bool,
    track: Tracker,
    last_gtid: Option<String>,
    /// Some(gtid) while a transaction is open.
    txn: Option<Option<String>>,
    pending: Option<Pending>,
}

/// The reader's own idea of where it is in the binlog.
#[derive(Debug)]
struct Tracker {
    file: String,
    /// End of the last event read = start of the next.
    pos: u64,
    /// End position of a MySQL TRANSACTION_PAYLOAD_EVENT whose inner events are being read.
    payload_end: Option<u64>,
    /// A FORMAT_DESCRIPTION arrived on this connection / in this file.
    seen_fde: bool,
}

impl Tracker {
    fn new(file: String, pos: u64) -> Self {
        Tracker {
            file,
            pos: pos.max(4),
            payload_end: None,
            seen_fde: false,
        }
    }

    /// Moves the position past an event (not a ROTATE: see [`Tracker::rotate`]).
    fn advance(&mut self, ty: u8, log_pos: u64, size: u64, flags: u16) {
        if ty == FORMAT_DESCRIPTION {
            self.seen_fde = true;
        }
        if ty == HEARTBEAT || ty == HEARTBEAT_V2 || flags & FLAG_ARTIFICIAL != 0 {
            return;
        }
        if ty == TRANSACTION_PAYLOAD {
            if log_pos != 0 {
                self.payload_end = Some(log_pos);
            }
            return;
        }
        if self.payload_end.is_some() {
            // Inner events of a compressed MySQL transaction are not in the file; the commit
            // moves to the payload's end (see `end_transaction`).
            return;
        }
        if log_pos != 0 {
            if log_pos >= self.pos {
                self.pos = log_pos;
            }
        } else if ty != FORMAT_DESCRIPTION {
            // MariaDB 11.4+ writes end_log_pos 0 inside transactions: count the bytes. (The
            // FORMAT_DESCRIPTION replayed when starting mid-file has 0 and is not in sequence.)
            self.pos = self.pos.saturating_add(size);
        }
    }

    /// At a commit: leaves a compressed transaction payload.
    fn end_transaction(&mut self) {
        if let Some(end) = self.payload_end.take() {
            self.pos = self.pos.max(end);
        }
    }

    /// A ROTATE event; true when it moved to another file.
    fn rotate(&mut self, data: &[u8], artificial: bool) -> bool {
        if artificial && !self.seen_fde {
            // The fake rotate that opens every stream names the file we asked for; with
            // CRC32 on MariaDB its name carries 4 checksum bytes (mysql_async #189): ignore it.
            return false;
        }
        let Some(pos) = data
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
        else {
            return false;
        };
        let name = String::from_utf8_lossy(data.get(8..).unwrap_or_default())
            .trim_end_matches('\0')
            .to_owned();
        if name.is_empty() || (artificial && name == self.file) {
            return false;
        }
        self.file = name;
        self.pos = pos.max(4);
        self.seen_fde = false;
        self.payload_end = None;
        true
    }
}

impl fmt::Debug for BinlogReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinlogReader")
            .field(
                "source",
                &format_args!("{}:{}", self.config.host, self.config.port),
            )
            .field(
                "position",
                &format_args!("{}:{}", self.track.file, self.track.pos),
            )
            .field("in_transaction", &self.txn.is_some())
            .field("server", &self.facts.version)
            .field("row_metadata", &self.facts.row_metadata)
            .finish_non_exhaustive()
    }
}

fn unsupported(
    position: BinlogPosition,
    what: impl Into<String>,
    fix: impl Into<String>,
) -> BinlogError {
    BinlogError::Unsupported {
        position,
        what: what.into(),
        fix: fix.into(),
    }
}

impl BinlogReader {
    /// Runs the start-up checks, then opens the stream at `from` (`None`: the current end of
    /// the binlog, `SHOW MASTER STATUS`) with default [`ReaderOptions`].
    ///
    /// `server_id` is this replica's id: non-zero, different from the source's and from every
    /// other replica of the source. `from` must be a transaction boundary (a position this
    /// reader reported in `Commit`, `Rollback`, `Progress` or a standalone `Ddl`, or a
    /// `SHOW MASTER STATUS` position).
    ///
    /// Errors: [`BinlogError::Setup`] listing every problem of the source's configuration or
    /// the user's privileges; [`BinlogError::Purged`] when `from` is no longer on the server;
    /// connection errors (retryable).
    pub async fn open(
        config: &SourceConfig,
        server_id: u32,
        from: Option<BinlogPosition>,
    ) -> Result<Self, BinlogError> {
        Self::open_with(config, server_id, from, ReaderOptions::default()).await
    }

    /// [`open`](Self::open) with explicit options.
    pub async fn open_with(
        config: &SourceConfig,
        server_id: u32,
        from: Option<BinlogPosition>,
        options: ReaderOptions,
    ) -> Result<Self, BinlogError> {
        let database = config.database.clone();
        let unknown = from
            .clone()
            .unwrap_or_else(|| BinlogPosition::new("(current)", 4));
        // No default database: a user without privileges on it could not even connect, and
        // the start-up checks should list every problem.
        let config = &SourceConfig {
            database: None,
            ..config.clone()
        };
        let mut conn = Conn::new(config.opts())
            .await
            .map_err(|e| BinlogError::from_mysql(e, &unknown))?;
        let facts =
            checks::check_source(&mut conn, server_id, database.as_deref(), &unknown).await?;
        if facts.row_metadata != "FULL" {
            tracing::warn!(
                binlog_row_metadata = %facts.row_metadata,
                "binlog_row_metadata is not FULL: column names come from information_schema, refreshed on DDL; \
                 set binlog_row_metadata=FULL on the source so every row event names its columns"
            );
        }
        let start = match from {
            Some(p) => p,
            None => {
                // MySQL 8.4 only knows SHOW BINARY LOG STATUS; MariaDB also SHOW BINLOG STATUS.
                let mut row: Option<Row> = None;
                let mut error = None;
                for sql in ["SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"] {
                    match conn.query_first(sql).await {
                        Ok(r) => {
                            row = r;
                            error = None;
                            break;
                        }
                        Err(e) => error = Some(e),
                    }
                }
                if let Some(e) = error {
                    return Err(BinlogError::from_mysql(e, &unknown));
                }
                let row = row.ok_or_else(|| BinlogError::Setup {
                    problems: vec!["SHOW MASTER STATUS returns nothing: enable the binary log (log_bin) on the source".into()],
                })?;
                let file = text(row.as_ref(0)).unwrap_or_default();
                let pos = text(row.as_ref(1))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(4);
                BinlogPosition::new(file, pos)
            }
        };
        if let Some(logs) = checks::binary_logs(&mut conn).await
            && !logs.is_empty()
            && !logs.iter().any(|(f, _)| *f == start.file)
        {
            return Err(BinlogError::Purged { position: start });
        }
        let collations = checks::load_collations(&mut conn).await;
        let control = if facts.row_metadata == "FULL" {
            let _ = conn.disconnect().await;
            None
        } else {
            Some(conn)
        };
        let stream = Self::start_stream(config, server_id, &start, &facts, &options).await?;
        let full_metadata = facts.row_metadata == "FULL";
        Ok(BinlogReader {
            stream: Some(stream),
            config: config.clone(),
            options,
            facts,
            collations,
            control,
            history: SchemaHistory::default(),
            tables: HashMap::new(),
            // Already warned above when the server says so; warn later only if a table map
            // unexpectedly lacks names although the server logs FULL metadata.
            warned_metadata: !full_metadata,
            track: Tracker::new(start.file.clone(), start.pos),
            last_gtid: start.gtid.clone(),
            txn: None,
            pending: None,
        })
    }

    async fn start_stream(
        config: &SourceConfig,
        server_id: u32,
        start: &BinlogPosition,
        facts: &SourceFacts,
        options: &ReaderOptions,
    ) -> Result<BinlogStream, BinlogError> {
        let err = |e| BinlogError::from_mysql(e, start);
        let mut conn = Conn::new(config.opts()).await.map_err(err)?;
        if facts.mariadb {
            // Receive GTID, GTID_LIST and BINLOG_CHECKPOINT events as themselves rather than
            // as BEGIN / dummy query events.
            conn.query_drop("SET @mariadb_slave_capability=4")
                .await
                .map_err(err)?;
        }
        if !options.heartbeat.is_zero() {
            let nanos = options
                .heartbeat
                .as_nanos()
                .min(u128::from(u32::MAX) * 1_000_000_000);
            conn.query_drop(format!("SET @master_heartbeat_period={nanos}"))
                .await
                .map_err(err)?;
        }
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(start.file.as_bytes())
            .with_pos(start.pos.max(4));
        conn.get_binlog_stream(request).await.map_err(err)
    }

    /// The current resume position (after the last event read); a transaction boundary only
    /// when no transaction is open.
    pub fn position(&self) -> BinlogPosition {
        self.at(self.track.pos)
    }

    fn at(&self, pos: u64) -> BinlogPosition {
        BinlogPosition {
            file: self.track.file.clone(),
            pos,
            gtid: self.last_gtid.clone(),
        }
    }

    /// The next change, waiting for the server as long as needed (heartbeats arrive as
    /// [`ChangeEvent::Progress`] while the source is idle).
    ///
    /// Events come in binlog order. Errors end the reader (see [`BinlogError`]); calling
    /// `next` again after an error returns [`BinlogError::Connection`].
    ///
    /// Cancellation: dropping the returned future while it waits for the server loses
    /// nothing. Without FULL row metadata, a future dropped while it reads a table's columns
    /// from `information_schema` loses that table map: drop the reader in that case (or run
    /// `next` in its own task, as a pump, rather than in a `select!`).
    pub async fn next(&mut self) -> Result<ChangeEvent, BinlogError> {
        loop {
            let Some(stream) = self.stream.as_mut() else {
                return Err(BinlogError::Connection {
                    message: "the reader stopped after an earlier error; open a new one".into(),
                });
            };
            // mysql_async / mysql_common can panic on a malformed packet: contain that here
            // so no server input can take the caller down.
            let read = AssertUnwindSafe(stream.next()).catch_unwind();
            let item = if self.options.idle_timeout.is_zero() || self.options.heartbeat.is_zero() {
                read.await
            } else {
                match tokio::time::timeout(self.options.idle_timeout, read).await {
                    Ok(item) => item,
                    Err(_) => {
                        self.stream = None;
                        return Err(BinlogError::Timeout {
                            seconds: self.options.idle_timeout.as_secs(),
                        });
                    }
                }
            };
            let Ok(item) = item else {
                self.stream = None;
                return Err(BinlogError::Decode {
                    position: self.position(),
                    detail:
                        "the binlog client library failed on a malformed packet from the server"
                            .into(),
                });
            };
            let event = match item {
                Some(Ok(event)) => event,
                Some(Err(e)) => {
                    self.stream = None;
                    return Err(BinlogError::from_mysql(e, &self.position()));
                }
                None => {
                    self.stream = None;
                    return Err(BinlogError::Connection {
                        message: "the source ended the binlog stream".into(),
                    });
                }
            };
            match self.handle(&event).await {
                Ok(Some(change)) => return Ok(change),
                Ok(None) => {}
                Err(e) => {
                    self.stream = None;
                    return Err(e);
                }
            }
        }
    }

    /// Closes the replication connection.
    pub async fn close(mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), stream.close()).await;
        }
        if let Some(conn) = self.control.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await;
        }
    }

    async fn handle(&mut self, event: &Event) -> Result<Option<ChangeEvent>, BinlogError> {
        let header = event.header();
        let ty = header.event_type_raw();
        let log_pos = u64::from(header.log_pos());
        let flags = header.flags_raw();
        let timestamp = header.timestamp();
        let start = self.track.pos;
        if ty == ROTATE {
            if !self
                .track
                .rotate(event.data(), log_pos == 0 || flags & FLAG_ARTIFICIAL != 0)
            {
                return Ok(None);
            }
            self.tables.clear();
            return Ok((self.txn.is_none() && self.pending.is_none()).then(|| {
                ChangeEvent::Progress {
                    position: self.position(),
                }
            }));
        }
        self.track
            .advance(ty, log_pos, u64::from(header.event_size()), flags);
        match ty {
            FORMAT_DESCRIPTION => Ok(None),
            HEARTBEAT | HEARTBEAT_V2 => Ok((self.txn.is_none() && self.pending.is_none()).then(
                || ChangeEvent::Progress {
                    position: self.position(),
                },
            )),
            MARIA_GTID => {
                let gtid = MariaGtid::parse(event.data(), header.server_id()).ok_or_else(|| {
                    BinlogError::Decode {
                        position: self.at(start),
                        detail: "malformed MariaDB GTID event".into(),
                    }
                })?;
                if gtid.standalone() {
                    self.pending = Some(Pending {
                        gtid: Some(gtid.to_string()),
                        start,
                    });
                    Ok(None)
                } else {
                    let gtid = Some(gtid.to_string());
                    self.txn = Some(gtid.clone());
                    self.pending = None;
                    Ok(Some(ChangeEvent::Begin {
                        position: self.at(start),
                        gtid,
                        timestamp,
                    }))
                }
            }
            GTID | GTID_TAGGED => {
                let gtid = match event.read_data() {
                    Ok(Some(EventData::GtidEvent(g))) => {
                        Some(format!("{}:{}", uuid(&g.sid()), g.gno()))
                    }
                    _ => None,
                };
                self.pending = Some(Pending { gtid, start });
                Ok(None)
            }
            ANONYMOUS_GTID => {
                self.pending = Some(Pending { gtid: None, start });
                Ok(None)
            }
            QUERY => self.query(event, start, timestamp),
            XID => {
                let xid = event
                    .data()
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes);
                Ok(Some(self.commit(xid, timestamp)))
            }
            XA_PREPARE => Ok(Some(self.commit(None, timestamp))),
            TABLE_MAP => {
                self.table_map(event, start).await?;
                Ok(None)
            }
            rows::WRITE_ROWS_V1
            | rows::UPDATE_ROWS_V1
            | rows::DELETE_ROWS_V1
            | rows::WRITE_ROWS_V2
            | rows::UPDATE_ROWS_V2
            | rows::DELETE_ROWS_V2 => self.rows(event, ty, start, timestamp),
            TRANSACTION_PAYLOAD => Ok(None),
            PARTIAL_UPDATE_ROWS => Err(unsupported(
                self.at(start),
                "PARTIAL_UPDATE_ROWS_EVENT (39): partial JSON updates",
                "set binlog_row_value_options='' (empty) on the source so updates log full JSON values",
            )),
            INCIDENT => Err(unsupported(
                self.at(start),
                "an INCIDENT event: the source lost binlog events here",
                "restart the task with reload-target to copy the tables again",
            )),
            START_V3
            | STOP
            | INTVAR
            | SLAVE
            | RAND
            | USER_VAR
            | IGNORABLE
            | ROWS_QUERY
            | PREVIOUS_GTIDS
            | TRANSACTION_CONTEXT
            | VIEW_CHANGE
            | MARIA_ANNOTATE_ROWS
            | MARIA_BINLOG_CHECKPOINT
            | MARIA_GTID_LIST => Ok(None),
            6 | 8..=12 | 17 | 18 => Err(unsupported(
                self.at(start),
                format!("a statement-based LOAD DATA event (type {ty})"),
                "set binlog_format=ROW on the source and reconnect the writing sessions",
            )),
            20..=22 => Err(unsupported(
                self.at(start),
                format!("a pre-GA rows event (type {ty})"),
                "upgrade the source to MySQL 5.6+/MariaDB 10.5+",
            )),
            MARIA_START_ENCRYPTION => Err(unsupported(
                self.at(start),
                "START_ENCRYPTION_EVENT (164): an encrypted binlog",
                "set encrypt_binlog=OFF on the source (binlogs already encrypted cannot be read: restart the task with reload-target)",
            )),
            165..=171 => {
                let name = match ty {
                    165 => "QUERY_COMPRESSED_EVENT",
                    166 => "WRITE_ROWS_COMPRESSED_EVENT",
                    167 => "UPDATE_ROWS_COMPRESSED_EVENT",
                    168 => "DELETE_ROWS_COMPRESSED_EVENT",
                    169 => "WRITE_ROWS_COMPRESSED_EVENT_V1",
                    170 => "UPDATE_ROWS_COMPRESSED_EVENT_V1",
                    _ => "DELETE_ROWS_COMPRESSED_EVENT_V1",
                };
                Err(unsupported(
                    self.at(start),
                    format!("{name} ({ty}): a compressed binlog event"),
                    "set log_bin_compress=OFF on the source; events already written compressed cannot be read, \
                     so restart the task with reload-target after the change",
                ))
            }
            _ if flags & FLAG_IGNORABLE != 0 => Ok(None),
            _ => Err(unsupported(
                self.at(start),
                format!("an event of unknown type {ty}"),
                "use a MariaDB 10.5+ / MySQL 8 source that dmsrs supports, or report this event type",
            )),
        }
    }

    fn commit(&mut self, xid: Option<u64>, timestamp: u32) -> ChangeEvent {
        self.track.end_transaction();
        let gtid = self
            .txn
            .take()
            .flatten()
            .or_else(|| self.pending.take().and_then(|p| p.gtid));
        self.pending = None;
        if gtid.is_some() {
            self.last_gtid = gtid;
        }
        ChangeEvent::Commit {
            position: self.position(),
            xid,
            timestamp,
        }
    }

    fn query(
        &mut self,
        event: &Event,
        start: u64,
        timestamp: u32,
    ) -> Result<Option<ChangeEvent>, BinlogError> {
        let post = event
            .fde()
            .get_event_type_header_length(EventType::QUERY_EVENT);
        let (schema, sql) = parse_query(event.data(), post).ok_or_else(|| BinlogError::Decode {
            position: self.at(start),
            detail: "malformed QUERY event".into(),
        })?;
        match query_kind(&sql) {
            QueryKind::Begin => {
                if self.txn.is_some() {
                    return Ok(None);
                }
                let pending = self.pending.take();
                let gtid = pending.as_ref().and_then(|p| p.gtid.clone());
                let begin = pending.map_or(start, |p| p.start);
                self.txn = Some(gtid.clone());
                Ok(Some(ChangeEvent::Begin {
                    position: self.at(begin),
                    gtid,
                    timestamp,
                }))
            }
            QueryKind::Commit | QueryKind::XaPrepare => Ok(Some(self.commit(None, timestamp))),
            QueryKind::Rollback => {
                let gtid = self
                    .txn
                    .take()
                    .flatten()
                    .or_else(|| self.pending.take().and_then(|p| p.gtid));
                self.pending = None;
                if gtid.is_some() {
                    self.last_gtid = gtid;
                }
                Ok(Some(ChangeEvent::Rollback {
                    position: self.position(),
                }))
            }
            QueryKind::Savepoint | QueryKind::XaEnd | QueryKind::Dummy => Ok(None),
            QueryKind::XaFinish { rollback } => {
                // The second phase of an XA transaction whose rows were emitted (and committed)
                // at XA PREPARE: only a position to move past.
                if rollback {
                    tracing::warn!(query = %sql, "XA ROLLBACK of a prepared transaction: its rows were already emitted at XA PREPARE");
                }
                if self.txn.is_some() {
                    return Ok(Some(self.commit(None, timestamp)));
                }
                if let Some(g) = self.pending.take().and_then(|p| p.gtid) {
                    self.last_gtid = Some(g);
                }
                Ok(Some(ChangeEvent::Progress {
                    position: self.position(),
                }))
            }
            QueryKind::Dml => {
                let snippet: String = sql.chars().take(80).collect();
                Err(unsupported(
                    self.at(start),
                    format!("a statement-based change ({snippet:?})"),
                    "set binlog_format=ROW globally on the source and reconnect every writing session \
                     (a session still writes in STATEMENT or MIXED format)",
                ))
            }
            QueryKind::Other => {
                self.on_ddl(&schema, &sql);
                if self.txn.is_none()
                    && let Some(g) = self.pending.take().and_then(|p| p.gtid)
                {
                    self.last_gtid = Some(g);
                }
                Ok(Some(ChangeEvent::Ddl {
                    schema,
                    query: sql,
                    position: self.position(),
                    timestamp,
                }))
            }
        }
    }

    /// Forgets what a DDL statement may have changed: table maps and schema history of the
    /// tables it names (all of them when the statement is not understood).
    fn on_ddl(&mut self, schema: &str, sql: &str) {
        let changes = ddl::classify(schema, sql);
        let mut names: Vec<(String, String)> = Vec::new();
        for change in &changes {
            match change {
                ddl::DdlChange::CreateTable { schema, table }
                | ddl::DdlChange::DropTable { schema, table }
                | ddl::DdlChange::TruncateTable { schema, table } => {
                    names.push((schema.clone(), table.clone()))
                }
                ddl::DdlChange::RenameTable { from, to } => {
                    names.push(from.clone());
                    names.push(to.clone());
                }
                ddl::DdlChange::AlterTable { schema, table, ops } => {
                    names.push((schema.clone(), table.clone()));
                    for op in ops {
                        if let ddl::AlterOp::RenameTable { to } = op {
                            names.push(to.clone());
                        }
                    }
                }
            }
        }
        if changes.is_empty() {
            self.history.invalidate_all();
            self.tables.clear();
            return;
        }
        for (s, t) in &names {
            self.history.invalidate(s, t);
        }
        self.tables
            .retain(|_, m| !names.iter().any(|(s, t)| *s == m.schema && *t == m.table));
    }

    async fn table_map(&mut self, event: &Event, start: u64) -> Result<(), BinlogError> {
        let data = event.data();
        let id_len = if event
            .fde()
            .get_event_type_header_length(EventType::TABLE_MAP_EVENT)
            == 6
        {
            4
        } else {
            6
        };
        let id = data
            .get(..id_len)
            .map(|b| b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)));
        if let Some(id) = id
            && self.tables.get(&id).is_some_and(|m| m.raw == data)
        {
            return Ok(());
        }
        let map = parse_table_map(data, id_len).ok_or_else(|| BinlogError::Decode {
            position: self.at(start),
            detail: "malformed TABLE_MAP event".into(),
        })?;
        let selected = self
            .options
            .table_filter
            .as_ref()
            .is_none_or(|f| f(&map.schema, &map.table));
        let meta = if !selected {
            TableMeta {
                schema: map.schema.clone(),
                table: map.table.clone(),
                columns: Arc::new(Vec::new()),
                plan: Vec::new(),
                raw: data.to_vec(),
                selected: false,
                problem: None,
            }
        } else if tablemap::has_full_metadata(&map) {
            tablemap::build_full(&map, data, self.facts.mariadb, &self.collations)
        } else {
            if !self.warned_metadata {
                self.warned_metadata = true;
                tracing::warn!(
                    table = %format!("{}.{}", map.schema, map.table),
                    "row events carry no column names (binlog_row_metadata is not FULL): naming columns from information_schema"
                );
            }
            let columns = self.schema_columns(&map.schema, &map.table, start).await?;
            let mismatch = |detail: String| BinlogError::SchemaMismatch {
                table: format!("{}.{}", map.schema, map.table),
                position: self.at(start),
                detail,
            };
            let columns = columns.ok_or_else(|| mismatch("the table no longer exists".into()))?;
            tablemap::build_with_schema(&map, data, self.facts.mariadb, &self.collations, &columns)
                .map_err(mismatch)?
        };
        if meta.plan.iter().any(|d| {
            matches!(
                d,
                tablemap::Dec::Str {
                    conv: TextConv::Unsupported,
                    ..
                } | tablemap::Dec::Blob {
                    conv: TextConv::Unsupported,
                    ..
                }
            )
        }) {
            tracing::warn!(
                table = %format!("{}.{}", meta.schema, meta.table),
                "a text column uses a character set dmsrs does not convert (only utf8mb3/utf8mb4, ascii, latin1, ucs2, utf16, utf32): \
                 its CDC values are passed on as raw bytes"
            );
        }
        self.tables.insert(map.table_id, Arc::new(meta));
        Ok(())
    }

    /// The table's columns from the schema history, reading `information_schema` when needed.
    async fn schema_columns(
        &mut self,
        schema: &str,
        table: &str,
        start: u64,
    ) -> Result<Option<Arc<Vec<tablemap::SchemaColumn>>>, BinlogError> {
        if let Some(c) = self.history.get(schema, table) {
            return Ok(Some(c));
        }
        let mut last_error = String::new();
        for _attempt in 0..2 {
            if self.control.is_none() {
                match Conn::new(self.config.opts()).await {
                    Ok(c) => self.control = Some(c),
                    Err(e) => return Err(BinlogError::from_mysql(e, &self.at(start))),
                }
            }
            let Some(conn) = self.control.as_mut() else {
                continue;
            };
            match schema::load_table(conn, schema, table).await {
                Ok(Some(cols)) => {
                    let cols = Arc::new(cols);
                    self.history.insert(schema, table, cols.clone());
                    return Ok(Some(cols));
                }
                Ok(None) => return Ok(None),
                Err((message, true)) => {
                    // Possibly a stale connection: reconnect once.
                    last_error = message;
                    self.control = None;
                }
                Err((message, false)) => {
                    return Err(BinlogError::Server {
                        code: 0,
                        message: format!(
                            "reading information_schema for {schema}.{table}: {message}"
                        ),
                        retryable: false,
                    });
                }
            }
        }
        Err(BinlogError::Connection {
            message: format!("reading information_schema for {schema}.{table}: {last_error}"),
        })
    }

    fn rows(
        &mut self,
        event: &Event,
        ty: u8,
        start: u64,
        timestamp: u32,
    ) -> Result<Option<ChangeEvent>, BinlogError> {
        let post = EventType::try_from(ty)
            .map(|t| event.fde().get_event_type_header_length(t))
            .unwrap_or(8);
        let decode_err = |detail: String| BinlogError::Decode {
            position: self.at(start),
            detail,
        };
        let h = parse_rows_header(event.data(), ty, post)
            .ok_or_else(|| decode_err("malformed rows event".into()))?;
        let meta = self.tables.get(&h.table_id).cloned().ok_or_else(|| {
            decode_err(format!(
                "rows for table id {} without its TABLE_MAP (did the task resume from inside a transaction?)",
                h.table_id
            ))
        })?;
        if !meta.selected {
            return Ok(None);
        }
        if let Some(problem) = &meta.problem {
            return Err(unsupported(
                self.at(start),
                format!("rows of {}.{}, where {problem}", meta.schema, meta.table),
                "exclude the table from the task's table mappings",
            ));
        }
        rows::check_rows(&meta, &h)
            .map_err(|d| decode_err(format!("{}.{}: {d}", meta.schema, meta.table)))?;
        if h.rows.is_empty() {
            return Ok(None);
        }
        let position = self.at(start);
        Ok(Some(ChangeEvent::Rows {
            schema: meta.schema.clone(),
            table: meta.table.clone(),
            columns: meta.columns.clone(),
            kind: h.kind,
            rows: RawRows::new(meta, h.kind, h.rows.to_vec(), position.clone()),
            position,
            timestamp,
        }))
    }
}

fn uuid(sid: &[u8; 16]) -> String {
    let h: String = sid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `(default schema, statement)` of a QUERY event body.
fn parse_query(data: &[u8], post_header_len: u8) -> Option<(String, String)> {
    let schema_len = usize::from(*data.get(8)?);
    let status_len = if post_header_len >= 13 {
        usize::from(u16::from_le_bytes([*data.get(11)?, *data.get(12)?]))
    } else {
        0
    };
    let at = usize::from(post_header_len) + status_len;
    let schema = data.get(at..at + schema_len)?;
    let query = data.get(at + schema_len + 1..)?;
    Some((
        String::from_utf8_lossy(schema).into_owned(),
        crate::columns::utf8(query.to_vec()),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_gtid() {
        // From a MariaDB 10.11 binlog: seq 2, domain 0, flags2 0x0c (transactional, parallel).
        let data = [
            0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0,
        ];
        let g = MariaGtid::parse(&data, 43705).unwrap();
        assert_eq!(g.to_string(), "0-43705-2");
        assert!(!g.standalone());
        let mut ddl = [0u8; 13];
        ddl[0..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        ddl[8..12].copy_from_slice(&7u32.to_le_bytes());
        ddl[12] = 0x21; // standalone + DDL
        let g = MariaGtid::parse(&ddl, 1).unwrap();
        assert_eq!(g.to_string(), "7-1-1099511627776");
        assert!(g.standalone());
        assert!(MariaGtid::parse(&ddl[..12], 1).is_none());
    }

    #[test]
    fn positions_without_end_log_pos() {
        // MariaDB 11.4+: events inside a transaction carry end_log_pos 0; the XID the real one.
        let mut t = Tracker::new("mysql-bin.000002".into(), 1000);
        t.advance(FORMAT_DESCRIPTION, 0, 256, 0); // replayed at connect: not in sequence
        assert_eq!(t.pos, 1000);
        t.advance(MARIA_GTID, 0, 42, 0);
        assert_eq!(t.pos, 1042);
        t.advance(TABLE_MAP, 0, 60, 0);
        t.advance(rows::WRITE_ROWS_V1, 0, 50, 0);
        assert_eq!(t.pos, 1152);
        // An ANNOTATE_ROWS the server did not send makes the sum short; the XID fixes it.
        t.advance(XID, 1300, 31, 0);
        assert_eq!(t.pos, 1300);
        t.advance(HEARTBEAT, 1300, 40, 0);
        t.advance(MARIA_GTID_LIST, 0, 30, FLAG_ARTIFICIAL);
        assert_eq!(t.pos, 1300);
        // Legacy positions: end_log_pos as is; never backwards.
        t.advance(QUERY, 1400, 100, 0);
        t.advance(FORMAT_DESCRIPTION, 256, 252, 0);
        assert_eq!(t.pos, 1400);
    }

    #[test]
    fn rotations_and_payloads() {
        let mut t = Tracker::new("mysql-bin.000001".into(), 4);
        let mut body = 4u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"mysql-bin.000001\x8f\x12\x00\x55");
        // The fake rotate before the FORMAT_DESCRIPTION (name with CRC garbage): ignored.
        assert!(!t.rotate(&body, true));
        assert_eq!(t.file, "mysql-bin.000001");
        t.advance(FORMAT_DESCRIPTION, 256, 252, 0);
        let mut real = 4u64.to_le_bytes().to_vec();
        real.extend_from_slice(b"mysql-bin.000002");
        assert!(t.rotate(&real, false));
        assert_eq!((t.file.as_str(), t.pos), ("mysql-bin.000002", 4));
        // A fake rotate for the file we are in changes nothing.
        t.advance(FORMAT_DESCRIPTION, 256, 252, 0);
        assert!(!t.rotate(&real, true));
        assert_eq!(t.pos, 256);
        // MySQL compressed transaction: inner events do not move; the commit goes to its end.
        t.advance(GTID, 335, 79, 0);
        t.advance(TRANSACTION_PAYLOAD, 900, 565, 0);
        t.advance(QUERY, 0, 70, 0);
        t.advance(XID, 0, 31, 0);
        assert_eq!(t.pos, 335);
        t.end_transaction();
        assert_eq!(t.pos, 900);
        assert!(!t.rotate(&[1, 2], false));
    }

    #[test]
    fn query_kinds() {
        assert_eq!(query_kind("BEGIN"), QueryKind::Begin);
        assert_eq!(query_kind("COMMIT"), QueryKind::Commit);
        assert_eq!(query_kind("ROLLBACK"), QueryKind::Rollback);
        assert_eq!(query_kind("ROLLBACK TO `sp`"), QueryKind::Savepoint);
        assert_eq!(query_kind("SAVEPOINT `sp`"), QueryKind::Savepoint);
        assert_eq!(query_kind("XA START X'01',X'',1"), QueryKind::Begin);
        assert_eq!(query_kind("XA END X'01',X'',1"), QueryKind::XaEnd);
        assert_eq!(
            query_kind("XA COMMIT X'01',X'',1"),
            QueryKind::XaFinish { rollback: false }
        );
        assert_eq!(
            query_kind("# Dummy event replacing event type 160 that slave cannot handle."),
            QueryKind::Dummy
        );
        assert_eq!(query_kind("insert into t values (1)"), QueryKind::Dml);
        assert_eq!(query_kind("DELETE FROM t WHERE a = 1"), QueryKind::Dml);
        assert_eq!(query_kind("DELETE FROM `d`.`m`"), QueryKind::Other);
        assert_eq!(query_kind("ALTER TABLE t ADD c INT"), QueryKind::Other);
    }

    #[test]
    fn query_bodies() {
        // thread 5, exec 0, schema len 2, error 0, status vars len 0, "db\0SELECT 1".
        let mut body = vec![5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0];
        body.extend_from_slice(b"db\0CREATE TABLE t (a INT)");
        assert_eq!(
            parse_query(&body, 13),
            Some(("db".into(), "CREATE TABLE t (a INT)".into()))
        );
        assert_eq!(parse_query(&body[..14], 13), None);
        assert_eq!(uuid(&[0xab; 16]), "abababab-abab-abab-abab-abababababab");
    }
}
