//! Watching the target stream: each step takes a mark, acts, then collects the records that
//! arrived after the mark (by sequence number, not by arrival time).

use dmsrs_codec::{Operation, Record, Value, decode};
use dmsrs_streams::{DynStreamReader, InRecord, StartPosition, StreamError, StreamTail, TailStart};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::RecordSummary;
use crate::sql;

/// A decoded record from the stream.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The Kinesis record.
    pub raw: InRecord,
    /// The decoded DMS record, or why it did not decode.
    pub record: Result<Record, String>,
}

impl Observed {
    /// `operation table` for messages.
    pub fn label(&self) -> String {
        match &self.record {
            Ok(r) => format!("{} {}", r.metadata.operation, r.metadata.table_name),
            Err(e) => format!("undecodable record: {e}"),
        }
    }

    /// The record for reports.
    pub fn summary(&self) -> RecordSummary {
        let (operation, table, key, changed, record) = match &self.record {
            Ok(r) => {
                let m = &r.metadata;
                let table = if m.schema_name.is_empty() {
                    m.table_name.clone()
                } else {
                    format!("{}.{}", m.schema_name, m.table_name)
                };
                let key = r.data.as_ref().and_then(|d| {
                    sql::primary_key(&m.table_name)
                        .and_then(|pk| d.get(pk))
                        .map(Value::to_key_text)
                });
                let changed = match (&r.data, &r.before_image, &m.operation) {
                    (Some(d), Some(b), Operation::Update) => d
                        .iter()
                        .filter(|(k, v)| b.get(k) != Some(*v))
                        .map(|(k, _)| k.to_owned())
                        .collect(),
                    (Some(_), _, Operation::Delete) => Vec::new(),
                    (Some(d), _, _) => d.names().map(str::to_owned).collect(),
                    (None, _, _) => r
                        .control
                        .as_ref()
                        .and_then(|c| c.extra.get("column-name"))
                        .map(|v| vec![v.to_key_text()])
                        .unwrap_or_default(),
                };
                let json = dmsrs_codec::to_compact_string(&r.to_value());
                let record = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
                (m.operation.to_string(), table, key, changed, record)
            }
            Err(e) => (
                String::from("?"),
                String::new(),
                None,
                Vec::new(),
                serde_json::Value::String(e.clone()),
            ),
        };
        RecordSummary {
            sequence_number: self.raw.sequence_number.clone(),
            partition_key: self.raw.partition_key.clone(),
            operation,
            table,
            key,
            changed,
            record,
        }
    }
}

/// Follows the stream from its start and keeps what it read.
pub struct StreamWatch {
    tail: StreamTail<Arc<dyn DynStreamReader>>,
    seen: Vec<Observed>,
}

impl std::fmt::Debug for StreamWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWatch")
            .field("seen", &self.seen.len())
            .finish()
    }
}

/// A point in the stream: everything read before it belongs to earlier steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

/// The mark after the first `n` records read.
pub(crate) fn mark_at(n: usize) -> Mark {
    Mark(n)
}

impl StreamWatch {
    /// Starts watching the whole stream (from `TRIM_HORIZON`).
    pub async fn start(reader: Arc<dyn DynStreamReader>) -> Result<Self, StreamError> {
        let tail = StreamTail::start(reader, TailStart::Every(StartPosition::TrimHorizon)).await?;
        Ok(StreamWatch {
            tail,
            seen: Vec::new(),
        })
    }

    async fn read_available(&mut self) -> Result<(), StreamError> {
        for raw in self.tail.drain().await? {
            let record = decode(&raw.data).map_err(|e| e.to_string());
            self.seen.push(Observed { raw, record });
        }
        Ok(())
    }

    /// Reads everything in the stream now and marks the end.
    pub async fn mark(&mut self) -> Result<Mark, StreamError> {
        self.read_available().await?;
        Ok(Mark(self.seen.len()))
    }

    /// The records after `mark` read so far.
    pub fn since(&self, mark: Mark) -> &[Observed] {
        self.seen.get(mark.0..).unwrap_or(&[])
    }

    /// Waits until at least `count` records arrived after `mark` (or `timeout`), then keeps
    /// reading for `settle` to catch records beyond the expected ones; returns them all.
    pub async fn collect(
        &mut self,
        mark: Mark,
        count: usize,
        timeout: Duration,
        settle: Duration,
    ) -> Result<&[Observed], StreamError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.read_available().await?;
            if self.since(mark).len() >= count || Instant::now() >= deadline {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.tail
                .reader()
                .idle_wait_dyn(left.min(Duration::from_millis(50)))
                .await;
        }
        let settle_until = Instant::now() + settle;
        while Instant::now() < settle_until {
            let left = settle_until.saturating_duration_since(Instant::now());
            self.tail
                .reader()
                .idle_wait_dyn(left.min(Duration::from_millis(50)))
                .await;
            self.read_available().await?;
        }
        Ok(self.since(mark))
    }
}
