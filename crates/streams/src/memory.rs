//! An in-memory Kinesis twin: the embedded default target, and the stream most tests use.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::watch;

use crate::error::StreamError;
use crate::hash::{
    parse_hash_key, partition_key_hash, shard_for_hash, shard_hash_ranges, shard_id,
};
use crate::reader::StreamReader;
use crate::record::{
    GetRecordsOutput, InRecord, Limits, MAX_GET_RECORDS_LIMIT, OutRecord, PutEntry, PutReceipt,
    ShardInfo, ShardIterator, StartPosition, check_partition_key,
};
use crate::writer::{
    EntryOutcome, RequestSink, RetryPolicy, StreamWriter, WriterMetrics, WriterMetricsSnapshot,
    put_batch_with,
};

/// Most bytes one GetRecords call returns (Kinesis: 10 MiB).
const MAX_GET_RECORDS_BYTES: usize = 10 * 1024 * 1024;

/// Error code of injected per-record failures.
pub const THROUGHPUT_EXCEEDED: &str = "ProvisionedThroughputExceededException";

/// A fault to inject into the next PutRecords-style request of a [`MemoryStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The records at these request indexes fail with `ProvisionedThroughputExceededException`;
    /// the others are stored (like a partially failed PutRecords). Indexes past the end of the
    /// request are ignored.
    FailRecords(Vec<usize>),
    /// The whole request fails with `ProvisionedThroughputExceededException` (retryable).
    Throttle,
    /// The whole request fails with HTTP 500 `InternalFailure` (retryable).
    InternalFailure,
}

/// An in-memory stream that behaves like a Kinesis data stream.
///
/// * **Shards.** `N` shards (default 1) with the hash-key ranges `CreateStream` gives; a record
///   goes to the shard whose range holds the MD5 of its partition key read as a big-endian
///   128-bit integer (or its explicit hash key), exactly as on Kinesis.
/// * **Sequence numbers** are 56-digit decimal strings, strictly increasing within a shard and
///   across the whole stream (the digits are `4`, a 45-digit stream-wide counter, then the
///   10-digit shard index), so numbers of different shards also compare in arrival order.
/// * **Limits** are Kinesis's (500 records and 5 MiB per request, 1 MiB per record, keys of 1 to
///   256 characters); a request over them fails with [`StreamError::Validation`] like Kinesis,
///   so tests catch writers that do not split.
/// * **Retention** is unbounded by default; [`MemoryStreamBuilder::retention`] keeps only the
///   newest `n` records per shard (older ones are trimmed, like Kinesis retention by time).
/// * **Waiting** needs no polling: [`wait_for`](Self::wait_for) and
///   [`StreamReader::idle_wait`] wake when records arrive.
/// * **Fault injection:** [`inject_fault`](Self::inject_fault) and
///   [`fail_next_puts`](Self::fail_next_puts) make the next requests fail wholly or partially.
///
/// The handle is cheap to clone; clones share the stream. It is a [`StreamReader`];
/// [`writer`](Self::writer) gives a [`StreamWriter`].
#[derive(Clone)]
pub struct MemoryStream {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    ranges: Vec<(u128, u128)>,
    /// `shardId-000000000000`, ... by shard index (built once: receipts name a shard per record).
    shard_ids: Vec<String>,
    limits: Limits,
    state: Mutex<State>,
    /// Carries the stream-wide counter; bumped after every store.
    arrivals: watch::Sender<u64>,
}

struct State {
    counter: u64,
    last_arrival: SystemTime,
    shards: Vec<VecDeque<Stored>>,
    faults: VecDeque<Fault>,
    retention: Option<usize>,
}

struct Stored {
    counter: u64,
    partition_key: String,
    data: Bytes,
    arrival: SystemTime,
}

impl fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStream")
            .field("name", &self.inner.name)
            .field("shards", &self.inner.ranges.len())
            .field("records", &self.len())
            .finish()
    }
}

/// Builds a [`MemoryStream`].
#[derive(Debug, Clone)]
pub struct MemoryStreamBuilder {
    name: String,
    shards: u32,
    retention: Option<usize>,
    limits: Limits,
}

impl MemoryStreamBuilder {
    /// Number of shards (0 is treated as 1). Default 1.
    #[must_use]
    pub fn shards(mut self, shards: u32) -> Self {
        self.shards = shards.max(1);
        self
    }

    /// Keep at most `records` records per shard (the oldest are trimmed). Default: unbounded.
    #[must_use]
    pub fn retention(mut self, records: usize) -> Self {
        self.retention = Some(records.max(1));
        self
    }

    /// Request limits. Default [`Limits::KINESIS`].
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Creates the stream.
    pub fn build(self) -> MemoryStream {
        let ranges = shard_hash_ranges(self.shards);
        let (arrivals, _) = watch::channel(0);
        MemoryStream {
            inner: Arc::new(Inner {
                name: self.name,
                limits: self.limits,
                state: Mutex::new(State {
                    counter: 0,
                    last_arrival: UNIX_EPOCH,
                    shards: ranges.iter().map(|_| VecDeque::new()).collect(),
                    faults: VecDeque::new(),
                    retention: self.retention,
                }),
                shard_ids: (0..ranges.len()).map(shard_id).collect(),
                ranges,
                arrivals,
            }),
        }
    }
}

/// The sequence number of stream-wide counter `counter` in shard `shard`: `4`, the counter
/// in 45 digits, the shard in 10.
fn format_seq(counter: u64, shard: usize) -> String {
    // Written by hand: this runs once per record and `format!` padding is slow.
    fn put(s: &mut String, width: usize, v: u64) {
        const ZEROS: &str = "000000000000000000000000000000000000000000000";
        let mut digits = itoa::Buffer::new();
        let d = digits.format(v);
        let d = d.get(d.len().saturating_sub(width)..).unwrap_or(d);
        s.push_str(ZEROS.get(..width - d.len()).unwrap_or(""));
        s.push_str(d);
    }
    let mut s = String::with_capacity(56);
    s.push('4');
    put(&mut s, 45, counter);
    put(&mut s, 10, shard as u64);
    s
}

/// Parses a sequence number made by [`format_seq`].
fn parse_seq(seq: &str) -> Option<(u64, usize)> {
    if seq.len() != 56 || !seq.starts_with('4') || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let counter = seq.get(1..46)?.parse::<u64>().ok()?;
    let shard = seq.get(46..56)?.parse::<usize>().ok()?;
    Some((counter, shard))
}

/// Iterator: `memory/<shard>/<after counter>/<min arrival nanos>`.
fn format_iterator(shard: usize, after: u64, min_arrival: u128) -> ShardIterator {
    ShardIterator(format!("memory/{shard}/{after}/{min_arrival}"))
}

fn nanos_since_epoch(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

impl MemoryStream {
    /// A one-shard stream with default settings.
    pub fn new(name: impl Into<String>) -> Self {
        Self::builder(name).build()
    }

    /// A builder for a stream called `name`.
    pub fn builder(name: impl Into<String>) -> MemoryStreamBuilder {
        MemoryStreamBuilder {
            name: name.into(),
            shards: 1,
            retention: None,
            limits: Limits::KINESIS,
        }
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.inner.ranges.len()
    }

    /// The limits requests must respect.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// A writer with its own metrics and [`RetryPolicy::fast`] (faults exist only when injected,
    /// so waiting long gains nothing).
    pub fn writer(&self) -> MemoryWriter {
        self.writer_with(RetryPolicy::fast())
    }

    /// A writer with the given retry policy.
    pub fn writer_with(&self, retry: RetryPolicy) -> MemoryWriter {
        MemoryWriter {
            stream: self.clone(),
            retry,
            metrics: Arc::new(WriterMetrics::default()),
        }
    }

    /// The shard index a partition key maps to.
    pub fn shard_for_key(&self, partition_key: &str) -> usize {
        shard_for_hash(&self.inner.ranges, partition_key_hash(partition_key))
    }

    /// Queues a fault for the next request that reaches the stream (FIFO).
    pub fn inject_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// The next `calls` requests each fail the records at `record_indexes` (indexes within the
    /// request) with `ProvisionedThroughputExceededException`.
    pub fn fail_next_puts(&self, calls: usize, record_indexes: &[usize]) {
        let mut st = self.lock();
        for _ in 0..calls {
            st.faults
                .push_back(Fault::FailRecords(record_indexes.to_vec()));
        }
    }

    /// Faults not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Drops the faults not yet consumed.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// One raw PutRecords-style request, as Kinesis would take it: no splitting, no retries,
    /// no pre-checks beyond Kinesis's own. Fails with [`StreamError::Validation`] if the request
    /// breaks a limit. Returns one entry per record: `Some` if stored, `None` if the entry
    /// failed (an injected `ProvisionedThroughputExceededException`).
    pub fn put_request(&self, records: &[OutRecord]) -> Result<Vec<Option<PutEntry>>, StreamError> {
        let refs: Vec<&OutRecord> = records.iter().collect();
        Ok(self
            .put_request_refs(&refs, true)?
            .into_iter()
            .map(|o| match o {
                EntryOutcome::Stored(e) => Some(e),
                EntryOutcome::Failed { .. } => None,
            })
            .collect())
    }

    /// Records held (after retention trimming).
    pub fn len(&self) -> usize {
        self.lock().shards.iter().map(VecDeque::len).sum()
    }

    /// `true` when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record held, ordered by sequence number (= arrival order).
    pub fn records(&self) -> Vec<InRecord> {
        self.records_after(0, usize::MAX)
    }

    /// The newest sequence number in the stream, if any record was ever stored.
    pub fn latest_sequence_number(&self) -> Option<String> {
        let st = self.lock();
        st.shards
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.back().map(|r| (r.counter, i)))
            .max()
            .map(|(c, i)| format_seq(c, i))
    }

    /// Waits until `count` records with a sequence number greater than `after` (any shard; all
    /// records when `None`) are in the stream, and returns the first `count` of them in
    /// sequence-number order. Wakes on arrival, no polling. Fails with
    /// [`StreamError::WaitTimeout`] after `timeout`, or [`StreamError::Validation`] if `after`
    /// is not a sequence number of this stream.
    pub async fn wait_for(
        &self,
        after: Option<&str>,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<InRecord>, StreamError> {
        let after = match after {
            Some(s) => parse_seq(s).map(|(c, _)| c).ok_or_else(|| {
                StreamError::validation(format!(
                    "'{s}' is not a sequence number of memory stream '{}'",
                    self.inner.name
                ))
            })?,
            None => 0,
        };
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Subscribe before looking, so an arrival after the look wakes us.
            let mut rx = self.inner.arrivals.subscribe();
            let found = self.records_after(after, count);
            if found.len() >= count {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                let got = self.records_after(after, count).len();
                if got >= count {
                    continue;
                }
                return Err(StreamError::WaitTimeout {
                    wanted: count,
                    got,
                    waited: started.elapsed(),
                });
            }
        }
    }

    /// Up to `max` records with counter > `after`, across shards, in counter order.
    fn records_after(&self, after: u64, max: usize) -> Vec<InRecord> {
        let st = self.lock();
        let mut out: Vec<(u64, InRecord)> = Vec::new();
        for (shard, records) in st.shards.iter().enumerate() {
            let start = records.partition_point(|r| r.counter <= after);
            out.extend(
                records
                    .range(start..)
                    .take(max)
                    .map(|r| (r.counter, to_in_record(r, shard))),
            );
        }
        drop(st);
        out.sort_by_key(|(c, _)| *c);
        out.into_iter().take(max).map(|(_, r)| r).collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn validation_error(&self, message: String) -> StreamError {
        StreamError::validation(format!("memory stream '{}': {message}", self.inner.name))
    }

    fn throttled(&self, message: &str) -> StreamError {
        StreamError::Throttled {
            stream: self.inner.name.clone(),
            code: THROUGHPUT_EXCEEDED.to_owned(),
            message: message.to_owned(),
        }
    }

    /// One PutRecords request: checks the limits, applies a queued fault, stores the records.
    /// Without `receipts` the stored entries have an empty shard id and sequence number.
    fn put_request_refs(
        &self,
        records: &[&OutRecord],
        receipts: bool,
    ) -> Result<Vec<EntryOutcome>, StreamError> {
        let limits = &self.inner.limits;
        if records.is_empty() {
            return Err(self.validation_error("a request needs at least one record".into()));
        }
        if records.len() > limits.max_records_per_request {
            return Err(self.validation_error(format!(
                "{} records in one request, more than {}",
                records.len(),
                limits.max_records_per_request
            )));
        }
        let mut total = 0_usize;
        let mut shards = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            if let Err(reason) = check_partition_key(&r.partition_key) {
                return Err(self.validation_error(format!("record {i}: {reason}")));
            }
            let size = r.size();
            if size > limits.max_record_bytes {
                return Err(self.validation_error(format!(
                    "record {i} is {size} bytes, more than {}",
                    limits.max_record_bytes
                )));
            }
            total = total.saturating_add(size);
            let hash = match &r.explicit_hash_key {
                Some(h) => parse_hash_key(h).ok_or_else(|| {
                    self.validation_error(format!("record {i}: invalid explicit hash key '{h}'"))
                })?,
                // One shard takes every key: no need to hash.
                None if self.inner.ranges.len() == 1 => 0,
                None => partition_key_hash(&r.partition_key),
            };
            shards.push(shard_for_hash(&self.inner.ranges, hash));
        }
        if total > limits.max_request_bytes {
            return Err(self.validation_error(format!(
                "request is {total} bytes, more than {}",
                limits.max_request_bytes
            )));
        }

        let mut st = self.lock();
        let failing: Vec<usize> = match st.faults.pop_front() {
            None => Vec::new(),
            Some(Fault::FailRecords(idx)) => idx,
            Some(Fault::Throttle) => {
                return Err(self.throttled("Rate exceeded for stream (injected)"));
            }
            Some(Fault::InternalFailure) => {
                return Err(StreamError::Service {
                    status: Some(500),
                    code: "InternalFailure".to_owned(),
                    message: "injected internal failure".to_owned(),
                });
            }
        };
        let retention = st.retention;
        // The records of one request arrive together.
        let arrival = SystemTime::now().max(st.last_arrival);
        st.last_arrival = arrival;
        let mut out = Vec::with_capacity(records.len());
        for (i, (r, shard)) in records.iter().zip(shards).enumerate() {
            if failing.contains(&i) {
                out.push(EntryOutcome::Failed {
                    code: THROUGHPUT_EXCEEDED.to_owned(),
                    message: "Rate exceeded for shard (injected)".to_owned(),
                });
                continue;
            }
            st.counter += 1;
            let counter = st.counter;
            if let Some(q) = st.shards.get_mut(shard) {
                q.push_back(Stored {
                    counter,
                    partition_key: r.partition_key.clone(),
                    data: r.data.clone(),
                    arrival,
                });
                if let Some(keep) = retention {
                    while q.len() > keep {
                        q.pop_front();
                    }
                }
            }
            out.push(EntryOutcome::Stored(if receipts {
                PutEntry {
                    shard_id: self
                        .inner
                        .shard_ids
                        .get(shard)
                        .cloned()
                        .unwrap_or_else(|| shard_id(shard)),
                    sequence_number: format_seq(counter, shard),
                }
            } else {
                PutEntry::default()
            }));
        }
        let counter = st.counter;
        drop(st);
        self.inner.arrivals.send_replace(counter);
        Ok(out)
    }

    fn parse_iterator(&self, it: &ShardIterator) -> Result<(usize, u64, u128), StreamError> {
        let invalid = || StreamError::InvalidIterator {
            iterator: it.0.clone(),
        };
        let mut parts = it.0.split('/');
        if parts.next() != Some("memory") {
            return Err(invalid());
        }
        let shard = parts
            .next()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(invalid)?;
        let after = parts
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(invalid)?;
        let min_arrival = parts
            .next()
            .and_then(|s| s.parse::<u128>().ok())
            .ok_or_else(invalid)?;
        if parts.next().is_some() || shard >= self.inner.ranges.len() {
            return Err(invalid());
        }
        Ok((shard, after, min_arrival))
    }

    fn shard_index(&self, shard: &str) -> Result<usize, StreamError> {
        shard
            .strip_prefix("shardId-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < self.inner.ranges.len() && shard_id(i) == shard)
            .ok_or_else(|| StreamError::Validation {
                message: format!(
                    "shard '{shard}' does not exist in memory stream '{}'",
                    self.inner.name
                ),
            })
    }

    fn seq_in_shard(&self, seq: &str, shard: usize) -> Result<u64, StreamError> {
        match parse_seq(seq) {
            Some((counter, s)) if s == shard => Ok(counter),
            _ => Err(self.validation_error(format!(
                "'{seq}' is not a sequence number of shard {}",
                shard_id(shard)
            ))),
        }
    }
}

fn to_in_record(r: &Stored, shard: usize) -> InRecord {
    InRecord {
        sequence_number: format_seq(r.counter, shard),
        partition_key: r.partition_key.clone(),
        data: r.data.clone(),
        approximate_arrival: r.arrival,
        shard_id: shard_id(shard),
    }
}

impl StreamReader for MemoryStream {
    fn list_shards(&self) -> impl Future<Output = Result<Vec<ShardInfo>, StreamError>> + Send {
        let shards = self
            .inner
            .ranges
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| ShardInfo {
                shard_id: shard_id(i),
                starting_hash_key: start,
                ending_hash_key: end,
                parent_shard_id: None,
                starting_sequence_number: format_seq(0, i),
                ending_sequence_number: None,
            })
            .collect();
        std::future::ready(Ok(shards))
    }

    fn iterator(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> impl Future<Output = Result<ShardIterator, StreamError>> + Send {
        let result = (|| {
            let shard = self.shard_index(shard_id)?;
            let it = match position {
                StartPosition::TrimHorizon => format_iterator(shard, 0, 0),
                StartPosition::Latest => format_iterator(shard, self.lock().counter, 0),
                StartPosition::AtSequenceNumber(seq) => {
                    let c = self.seq_in_shard(&seq, shard)?;
                    format_iterator(shard, c.saturating_sub(1), 0)
                }
                StartPosition::AfterSequenceNumber(seq) => {
                    let c = self.seq_in_shard(&seq, shard)?;
                    format_iterator(shard, c, 0)
                }
                StartPosition::AtTimestamp(t) => {
                    let st = self.lock();
                    let after = st.shards.get(shard).map_or(st.counter, |q| {
                        let idx = q.partition_point(|r| r.arrival < t);
                        q.get(idx)
                            .map_or(st.counter, |r| r.counter.saturating_sub(1))
                    });
                    format_iterator(shard, after, nanos_since_epoch(t))
                }
            };
            Ok(it)
        })();
        std::future::ready(result)
    }

    fn get_records(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> impl Future<Output = Result<GetRecordsOutput, StreamError>> + Send {
        let result = (|| {
            let (shard, after, min_arrival) = self.parse_iterator(iterator)?;
            let limit = limit.clamp(1, MAX_GET_RECORDS_LIMIT);
            let st = self.lock();
            let empty = VecDeque::new();
            let q = st.shards.get(shard).unwrap_or(&empty);
            let start = q.partition_point(|r| r.counter <= after);
            let mut records = Vec::new();
            let mut bytes = 0_usize;
            let mut last_counter = after;
            let mut last_arrival = None;
            for r in q.range(start..) {
                if records.len() >= limit
                    || (bytes > 0 && bytes + r.data.len() > MAX_GET_RECORDS_BYTES)
                {
                    break;
                }
                last_counter = r.counter;
                last_arrival = Some(r.arrival);
                if nanos_since_epoch(r.arrival) < min_arrival {
                    continue;
                }
                bytes += r.data.len();
                records.push(to_in_record(r, shard));
            }
            let millis_behind = match (q.back(), last_arrival) {
                (Some(newest), Some(at)) if newest.counter > last_counter => {
                    let ms = newest
                        .arrival
                        .duration_since(at)
                        .map_or(0, |d| d.as_millis());
                    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
                }
                (Some(newest), None) if newest.counter > last_counter => 1,
                _ => 0,
            };
            Ok(GetRecordsOutput {
                records,
                next_iterator: Some(format_iterator(shard, last_counter, min_arrival)),
                millis_behind: Some(millis_behind),
            })
        })();
        std::future::ready(result)
    }

    fn idle_wait(&self, max_wait: Duration) -> impl Future<Output = ()> + Send {
        let mut rx = self.inner.arrivals.subscribe();
        async move {
            let _ = tokio::time::timeout(max_wait, rx.changed()).await;
        }
    }
}

impl RequestSink for MemoryStream {
    fn send(
        &self,
        records: &[&OutRecord],
        receipts: bool,
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, StreamError>> + Send {
        std::future::ready(self.put_request_refs(records, receipts))
    }

    fn label(&self) -> &str {
        &self.inner.name
    }
}

/// A [`StreamWriter`] into a [`MemoryStream`], with its own metrics.
#[derive(Clone)]
pub struct MemoryWriter {
    stream: MemoryStream,
    retry: RetryPolicy,
    metrics: Arc<WriterMetrics>,
}

impl fmt::Debug for MemoryWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryWriter")
            .field("stream", &self.stream.inner.name)
            .field("retry", &self.retry)
            .field("metrics", &self.metrics.snapshot())
            .finish()
    }
}

impl MemoryWriter {
    /// The stream written to.
    pub fn stream(&self) -> &MemoryStream {
        &self.stream
    }
}

impl StreamWriter for MemoryWriter {
    fn put_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<PutReceipt, StreamError>> + Send {
        put_batch_with(
            &self.stream,
            records,
            &self.stream.inner.limits,
            &self.retry,
            &self.metrics,
            true,
        )
    }

    async fn put_batch_no_receipt(&self, records: Vec<OutRecord>) -> Result<usize, StreamError> {
        let receipt = put_batch_with(
            &self.stream,
            records,
            &self.stream.inner.limits,
            &self.retry,
            &self.metrics,
            false,
        )
        .await?;
        Ok(receipt.len())
    }

    fn metrics(&self) -> WriterMetricsSnapshot {
        self.metrics.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_number_format_round_trips() {
        let s = format_seq(12345, 3);
        assert_eq!(s.len(), 56);
        assert_eq!(
            s,
            format!("4{:045}{:010}", 12345, 3),
            "the same as the format! it replaces"
        );
        let max = format_seq(u64::MAX, usize::MAX);
        assert_eq!(max.len(), 56);
        assert_eq!(
            max,
            format!("4{:045}{:010}", u64::MAX, usize::MAX % 10_000_000_000)
        );
        assert_eq!(parse_seq(&s), Some((12345, 3)));
        assert_eq!(parse_seq("123"), None);
        assert_eq!(parse_seq(&s.replace('4', "x")), None);
    }
}
