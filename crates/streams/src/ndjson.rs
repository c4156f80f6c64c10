//! NDJSON record files: one JSON object per record, shaped like an entry of the `Records` array
//! that `aws kinesis get-records` prints.
//!
//! ```text
//! {"SequenceNumber":"4000…0010000000000","ApproximateArrivalTimestamp":1732390000.123,"Data":"eyJkYXRhIjp7fX0=","PartitionKey":"db.t.1"}
//! ```
//!
//! * `Data`: the record bytes, standard base64 with padding (the record format is opaque here).
//! * `PartitionKey`: the partition key.
//! * `SequenceNumber`: a 56-digit decimal string, increasing by line (the line's position in the
//!   file, so appending continues the numbering).
//! * `ApproximateArrivalTimestamp`: seconds since the Unix epoch, millisecond precision.
//! * `ExplicitHashKey`: only when the record had one.
//!
//! Lines end with `\n`; every `put_batch` writes its lines with one write and flushes. The
//! reader also accepts lines holding a whole `get-records` answer (`{"Records":[...]}`), missing
//! sequence numbers and timestamps, and unpadded base64.

use std::future::Future;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use bytes::Bytes;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::StreamError;
use crate::hash::shard_id;
use crate::record::{InRecord, Limits, OutRecord, PutEntry, PutReceipt};
use crate::writer::{StreamWriter, WriterMetrics, WriterMetricsSnapshot, validate_batch};

const DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn line_seq(line: u64) -> String {
    format!("4{line:045}{:010}", 0)
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "SequenceNumber")]
    sequence_number: &'a str,
    #[serde(rename = "ApproximateArrivalTimestamp")]
    approximate_arrival_timestamp: f64,
    #[serde(rename = "Data")]
    data: String,
    #[serde(rename = "PartitionKey")]
    partition_key: &'a str,
    #[serde(rename = "ExplicitHashKey", skip_serializing_if = "Option::is_none")]
    explicit_hash_key: Option<&'a str>,
}

enum Out {
    File(tokio::fs::File),
    Other(Box<dyn AsyncWrite + Send + Unpin>),
}

struct State {
    out: Out,
    /// Lines written so far (also before this writer, when appending).
    lines: u64,
}

/// A [`StreamWriter`] that appends records as NDJSON lines (see the module docs for the format)
/// to a file or stdout. It acts as a one-shard stream: receipts carry the shard id
/// `shardId-000000000000` and the line's sequence number.
///
/// Records are checked against [`Limits::KINESIS`] like a Kinesis writer would (configurable
/// with [`with_limits`](Self::with_limits)), so a batch that would fail on Kinesis fails here.
/// `put_batch` returns once the lines are flushed (and, with [`with_fsync`](Self::with_fsync),
/// synced to disk).
pub struct NdjsonWriter {
    state: tokio::sync::Mutex<State>,
    path: Option<PathBuf>,
    fsync: bool,
    limits: Limits,
    metrics: Arc<WriterMetrics>,
}

impl std::fmt::Debug for NdjsonWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NdjsonWriter")
            .field("path", &self.path)
            .field("fsync", &self.fsync)
            .field("limits", &self.limits)
            .field("metrics", &self.metrics.snapshot())
            .finish()
    }
}

impl NdjsonWriter {
    fn with_out(out: Out, lines: u64, path: Option<PathBuf>) -> Self {
        Self {
            state: tokio::sync::Mutex::new(State { out, lines }),
            path,
            fsync: false,
            limits: Limits::KINESIS,
            metrics: Arc::new(WriterMetrics::default()),
        }
    }

    /// Creates (or truncates) `path`.
    pub async fn create(path: impl AsRef<Path>) -> Result<Self, StreamError> {
        let path = path.as_ref().to_path_buf();
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| StreamError::io(Some(path.clone()), e))?;
        Ok(Self::with_out(Out::File(file), 0, Some(path)))
    }

    /// Opens `path` for appending (creating it if missing); sequence numbers continue after the
    /// lines already in the file.
    pub async fn append(path: impl AsRef<Path>) -> Result<Self, StreamError> {
        let path = path.as_ref().to_path_buf();
        let lines = count_lines(&path).await?;
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|e| StreamError::io(Some(path.clone()), e))?;
        Ok(Self::with_out(Out::File(file), lines, Some(path)))
    }

    /// Writes to standard output.
    pub fn stdout() -> Self {
        Self::with_out(Out::Other(Box::new(tokio::io::stdout())), 0, None)
    }

    /// Writes to any async writer.
    pub fn from_writer(writer: impl AsyncWrite + Send + Unpin + 'static) -> Self {
        Self::with_out(Out::Other(Box::new(writer)), 0, None)
    }

    /// Also `fsync` the file after each batch (no effect on other writers). Default off.
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// Record limits to enforce. Default [`Limits::KINESIS`]; only `max_record_bytes` matters.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The file written to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn io_err(&self, e: std::io::Error) -> StreamError {
        StreamError::io(self.path.clone(), e)
    }

    async fn write_batch(&self, records: Vec<OutRecord>) -> Result<PutReceipt, StreamError> {
        validate_batch(&records, &self.limits)?;
        if records.is_empty() {
            return Ok(PutReceipt::default());
        }
        let mut state = self.state.lock().await;
        let arrival = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let arrival = (arrival.as_millis() as f64) / 1000.0;
        let mut buf = Vec::new();
        let mut entries = Vec::with_capacity(records.len());
        let mut bytes = 0_u64;
        for (i, r) in records.iter().enumerate() {
            let seq = line_seq(state.lines + i as u64 + 1);
            let line = Line {
                sequence_number: &seq,
                approximate_arrival_timestamp: arrival,
                data: STANDARD.encode(&r.data),
                partition_key: &r.partition_key,
                explicit_hash_key: r.explicit_hash_key.as_deref(),
            };
            serde_json::to_writer(&mut buf, &line)
                .map_err(|e| StreamError::internal(format!("encoding an NDJSON line: {e}")))?;
            buf.push(b'\n');
            bytes += r.size() as u64;
            entries.push(PutEntry {
                shard_id: shard_id(0),
                sequence_number: seq,
            });
        }
        self.metrics.add_request();
        match &mut state.out {
            Out::File(f) => {
                f.write_all(&buf).await.map_err(|e| self.io_err(e))?;
                f.flush().await.map_err(|e| self.io_err(e))?;
                if self.fsync {
                    f.sync_data().await.map_err(|e| self.io_err(e))?;
                }
            }
            Out::Other(w) => {
                w.write_all(&buf).await.map_err(|e| self.io_err(e))?;
                w.flush().await.map_err(|e| self.io_err(e))?;
            }
        }
        state.lines += records.len() as u64;
        self.metrics.add_accepted(records.len() as u64, bytes);
        Ok(PutReceipt { entries })
    }
}

async fn count_lines(path: &Path) -> Result<u64, StreamError> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StreamError::io(Some(path.to_path_buf()), e)),
    };
    let mut buf = vec![0_u8; 64 * 1024];
    let mut lines = 0_u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| StreamError::io(Some(path.to_path_buf()), e))?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf
            .get(..n)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count()) as u64;
    }
}

impl StreamWriter for NdjsonWriter {
    fn put_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<PutReceipt, StreamError>> + Send {
        self.write_batch(records)
    }

    fn metrics(&self) -> WriterMetricsSnapshot {
        self.metrics.snapshot()
    }
}

/// Parses one NDJSON line: a record object (see the module docs), or a whole `get-records`
/// answer `{"Records":[...]}`. A blank line gives no records. `line_no` (1-based) numbers
/// records that have no `SequenceNumber`.
pub fn parse_ndjson_line(line: &str, line_no: usize) -> Result<Vec<InRecord>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(Vec::new());
    }
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("Records") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| parse_record(item, line_no))
            .collect(),
        Some(_) => Err("\"Records\" is not an array".to_owned()),
        None => parse_record(&value, line_no).map(|r| vec![r]),
    }
}

fn parse_record(v: &serde_json::Value, line_no: usize) -> Result<InRecord, String> {
    let obj = v.as_object().ok_or("a record must be a JSON object")?;
    let partition_key = obj
        .get("PartitionKey")
        .and_then(serde_json::Value::as_str)
        .ok_or("missing string field \"PartitionKey\"")?
        .to_owned();
    let data = obj
        .get("Data")
        .and_then(serde_json::Value::as_str)
        .ok_or("missing string field \"Data\"")?;
    let data = DECODER
        .decode(data)
        .map_err(|e| format!("\"Data\" is not base64: {e}"))?;
    let sequence_number = match obj.get("SequenceNumber") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => line_seq(line_no as u64),
    };
    let secs = match obj.get("ApproximateArrivalTimestamp") {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    let approximate_arrival = secs
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .map_or(UNIX_EPOCH, |d| UNIX_EPOCH + d);
    let shard = obj
        .get("ShardId")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| shard_id(0), str::to_owned);
    Ok(InRecord {
        sequence_number,
        partition_key,
        data: Bytes::from(data),
        approximate_arrival,
        shard_id: shard,
    })
}

/// Reads NDJSON records from any reader (see [`parse_ndjson_line`]).
pub fn read_ndjson(reader: impl BufRead) -> Result<Vec<InRecord>, StreamError> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| StreamError::io(None, e))?;
        let recs = parse_ndjson_line(&line, i + 1).map_err(|message| StreamError::Decode {
            path: None,
            line: i + 1,
            message,
        })?;
        out.extend(recs);
    }
    Ok(out)
}

/// Reads an NDJSON record file (see [`parse_ndjson_line`]).
pub async fn read_ndjson_file(path: impl AsRef<Path>) -> Result<Vec<InRecord>, StreamError> {
    let path = path.as_ref().to_path_buf();
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| StreamError::io(Some(path.clone()), e))?;
    read_ndjson(bytes.as_slice()).map_err(|e| match e {
        StreamError::Decode { line, message, .. } => StreamError::Decode {
            path: Some(path.clone()),
            line,
            message,
        },
        StreamError::Io { source, .. } => StreamError::io(Some(path.clone()), source),
        other => other,
    })
}
