//! The writer contract, its metrics, and the batching/retry engine shared by the memory and
//! Kinesis writers.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::StreamError;
use crate::record::{Limits, OutRecord, PutEntry, PutReceipt, check_partition_key};

/// Where records go: a Kinesis stream, the in-memory twin, an NDJSON file.
///
/// # Contract
///
/// [`put_batch`](Self::put_batch) takes a batch of records and returns once **every** record is
/// durably accepted by the stream, with a [`PutReceipt`] that has one entry per record in input
/// order. Implementations guarantee:
///
/// 1. **Per-key order.** Records with the same partition key are stored in the order given,
///    also across retries: a record is never stored *after* a later record of the same key
///    unless that later record is stored again after it. Precisely: if the stream holds
///    duplicates, the sequence of *last occurrences* of one key's records is the input order
///    (see "retry rule" below). Records of different keys may be stored in any relative order.
/// 2. **At-least-once.** A record may be stored more than once (after a partial failure or a
///    timeout). Consumers must tolerate duplicates, as with AWS DMS.
/// 3. **Limits are the writer's job.** The writer splits the batch into requests that respect
///    the stream's [`Limits`] (Kinesis: at most 500 records and 5 MiB per request). A batch may
///    be of any length.
/// 4. **No silent loss.** Before sending anything, every record is checked: a record larger than
///    the record limit (data + partition key, Kinesis: 1 MiB) fails the whole call with
///    [`StreamError::RecordTooLarge`], an empty or over-long key with
///    [`StreamError::InvalidPartitionKey`]; nothing of the batch is sent. No record is ever
///    dropped: either the call succeeds for all records, or it returns an error.
/// 5. **Failures.** Transient failures (throttling, per-record `ProvisionedThroughputExceeded`,
///    5xx, timeouts) are retried internally with exponential backoff and jitter, as configured
///    by a [`RetryPolicy`]. When the writer gives up, or meets a definite error, it returns the
///    error; a prefix of the batch may have been stored. [`StreamError::stored_prefix`] tells
///    how many leading records are known to be stored; the caller resends the rest of the batch
///    (or all of it), in the original order. Resending keeps guarantee 1.
/// 6. **Backpressure.** The future completes only when the records are accepted, so a caller
///    that awaits each batch is slowed to the stream's pace. A writer has at most one request in
///    flight per `put_batch` call; concurrent calls on one writer are allowed but their relative
///    order is unspecified, so callers that need per-key order must not write one key from two
///    concurrent calls.
/// 7. **Cancellation.** Dropping the future stops sending; records already sent may be stored.
///    Treat it like a failed call whose stored prefix is unknown.
///
/// # Retry rule (per-key order across partial failures)
///
/// Kinesis stores the successful entries of one PutRecords request in request order, but
/// entries can fail individually. If record *i* of key *K* fails while a later record *j* of
/// key *K* in the same request succeeds, *j* is already stored ahead of *i*. The writer then
/// resends *i* **and every later record of key *K* from that request, including the ones that
/// succeeded**, in input order, before anything that follows in the batch. The consumer may see
/// `K: j, i, j`; the last occurrence of each record is in input order, so a consumer that
/// applies records as upserts ends in the right state.
pub trait StreamWriter: Send + Sync {
    /// Stores every record of `records`; see the trait documentation for the guarantees.
    fn put_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<PutReceipt, StreamError>> + Send;

    /// Stores every record of `records` as [`put_batch`](Self::put_batch) does, with the same
    /// guarantees, and returns how many were stored, without per-record receipts. For callers
    /// that never look at sequence numbers: writers whose receipts cost work of their own
    /// (the in-memory stream formats a sequence number and copies a shard id per record) skip
    /// it. The default calls `put_batch`.
    fn put_batch_no_receipt(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<usize, StreamError>> + Send {
        async move { self.put_batch(records).await.map(|r| r.len()) }
    }

    /// Counters of this writer since it was created.
    fn metrics(&self) -> WriterMetricsSnapshot;
}

/// Object-safe form of [`StreamWriter`], for choosing a target at run time
/// (`Arc<dyn DynStreamWriter>`). Every `StreamWriter` is a `DynStreamWriter`, and
/// `Arc<dyn DynStreamWriter>` is a `StreamWriter` again.
#[async_trait::async_trait]
pub trait DynStreamWriter: Send + Sync {
    /// See [`StreamWriter::put_batch`].
    async fn put_batch_dyn(&self, records: Vec<OutRecord>) -> Result<PutReceipt, StreamError>;
    /// See [`StreamWriter::put_batch_no_receipt`]. The default calls `put_batch_dyn`.
    async fn put_batch_no_receipt_dyn(
        &self,
        records: Vec<OutRecord>,
    ) -> Result<usize, StreamError> {
        self.put_batch_dyn(records).await.map(|r| r.len())
    }
    /// See [`StreamWriter::metrics`].
    fn metrics_dyn(&self) -> WriterMetricsSnapshot;
}

#[async_trait::async_trait]
impl<T: StreamWriter> DynStreamWriter for T {
    async fn put_batch_dyn(&self, records: Vec<OutRecord>) -> Result<PutReceipt, StreamError> {
        self.put_batch(records).await
    }
    async fn put_batch_no_receipt_dyn(
        &self,
        records: Vec<OutRecord>,
    ) -> Result<usize, StreamError> {
        self.put_batch_no_receipt(records).await
    }
    fn metrics_dyn(&self) -> WriterMetricsSnapshot {
        self.metrics()
    }
}

impl StreamWriter for Arc<dyn DynStreamWriter> {
    fn put_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<PutReceipt, StreamError>> + Send {
        self.as_ref().put_batch_dyn(records)
    }
    fn put_batch_no_receipt(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<usize, StreamError>> + Send {
        self.as_ref().put_batch_no_receipt_dyn(records)
    }
    fn metrics(&self) -> WriterMetricsSnapshot {
        self.as_ref().metrics_dyn()
    }
}

impl<T: StreamWriter> StreamWriter for Arc<T> {
    fn put_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<PutReceipt, StreamError>> + Send {
        self.as_ref().put_batch(records)
    }
    fn put_batch_no_receipt(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<usize, StreamError>> + Send {
        self.as_ref().put_batch_no_receipt(records)
    }
    fn metrics(&self) -> WriterMetricsSnapshot {
        self.as_ref().metrics()
    }
}

/// Live counters of one writer (cheap atomics). Read them with [`snapshot`](Self::snapshot).
#[derive(Debug, Default)]
pub struct WriterMetrics {
    records_sent: AtomicU64,
    bytes_sent: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    failed_records_retried: AtomicU64,
    duplicates_sent: AtomicU64,
}

/// A point-in-time copy of [`WriterMetrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterMetricsSnapshot {
    /// Records the stream accepted (a record stored twice counts twice).
    pub records_sent: u64,
    /// Bytes (data + partition key) of the accepted records.
    pub bytes_sent: u64,
    /// Requests sent (PutRecords calls, NDJSON batch writes), including failed ones.
    pub requests: u64,
    /// Requests that were retries (a whole request sent again, or a set of failed records).
    pub retries: u64,
    /// Records that failed individually (`ErrorCode` set) and were sent again.
    pub failed_records_retried: u64,
    /// Records that had been accepted but were sent again to keep per-key order (retry rule).
    pub duplicates_sent: u64,
}

impl WriterMetrics {
    /// Copies the counters.
    pub fn snapshot(&self) -> WriterMetricsSnapshot {
        WriterMetricsSnapshot {
            records_sent: self.records_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failed_records_retried: self.failed_records_retried.load(Ordering::Relaxed),
            duplicates_sent: self.duplicates_sent.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_accepted(&self, records: u64, bytes: u64) {
        self.records_sent.fetch_add(records, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn add_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn add_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn add_failed_retried(&self, n: u64) {
        self.failed_records_retried.fetch_add(n, Ordering::Relaxed);
    }

    fn add_duplicates(&self, n: u64) {
        self.duplicates_sent.fetch_add(n, Ordering::Relaxed);
    }
}

/// How a writer retries transient failures: exponential backoff with jitter.
///
/// The delay before retry `n` (1-based) is drawn uniformly from `[d/2, d]` with
/// `d = min(initial_backoff * 2^(n-1), max_backoff)`. The retry counter restarts whenever a
/// request makes progress (stores a record that was not stored before), so a stream that is
/// steadily throttled but still accepting records is not given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries without progress before giving up; `u32::MAX` for (practically) never.
    pub max_retries: u32,
    /// Delay before the first retry.
    pub initial_backoff: Duration,
    /// Upper bound of any delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 10 retries, 100 ms initial, 5 s cap (about 20 s of waiting before giving up).
    fn default() -> Self {
        Self {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Never retry: the first failure is returned.
    pub fn no_retries() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retry (practically) forever with the default backoff.
    pub fn unbounded() -> Self {
        Self {
            max_retries: u32::MAX,
            ..Self::default()
        }
    }

    /// The default count with short delays (1 ms to 20 ms), for tests.
    pub fn fast() -> Self {
        Self {
            max_retries: 10,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
        }
    }

    /// The delay before retry `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        let full = self
            .initial_backoff
            .saturating_mul(1_u32 << shift)
            .min(self.max_backoff);
        let half = full / 2;
        let span = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = if span == 0 {
            0
        } else {
            random_u64() % (span + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// What the stream answered for one entry of a request.
#[derive(Debug, Clone)]
pub(crate) enum EntryOutcome {
    Stored(PutEntry),
    Failed { code: String, message: String },
}

/// One PutRecords-like request against a concrete stream.
pub(crate) trait RequestSink: Send + Sync {
    /// Sends one request (already within the limits); returns one outcome per record, in order.
    /// Without `receipts` the stored entries may leave their shard id and sequence number
    /// empty (nobody reads them).
    fn send(
        &self,
        records: &[&OutRecord],
        receipts: bool,
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, StreamError>> + Send;

    /// Stream name for messages.
    fn label(&self) -> &str;
}

/// Checks every record before anything is sent (contract point 4).
pub(crate) fn validate_batch(records: &[OutRecord], limits: &Limits) -> Result<(), StreamError> {
    for (index, r) in records.iter().enumerate() {
        if let Err(reason) = check_partition_key(&r.partition_key) {
            return Err(StreamError::InvalidPartitionKey { index, reason });
        }
        let size = r.size();
        if size > limits.max_record_bytes {
            return Err(StreamError::RecordTooLarge {
                index,
                partition_key: r.partition_key.clone(),
                size,
                limit: limits.max_record_bytes,
            });
        }
    }
    Ok(())
}

/// Cuts the next request off the front of `queue`.
fn next_request(queue: &mut VecDeque<usize>, records: &[OutRecord], limits: &Limits) -> Vec<usize> {
    let mut req = Vec::new();
    let mut bytes = 0_usize;
    while let Some(&idx) = queue.front() {
        let size = records.get(idx).map_or(0, OutRecord::size);
        if !req.is_empty()
            && (req.len() >= limits.max_records_per_request
                || bytes.saturating_add(size) > limits.max_request_bytes)
        {
            break;
        }
        queue.pop_front();
        req.push(idx);
        bytes = bytes.saturating_add(size);
    }
    req
}

/// The batching and retry engine behind the memory and Kinesis writers (see [`StreamWriter`]).
pub(crate) async fn put_batch_with<S: RequestSink>(
    sink: &S,
    records: Vec<OutRecord>,
    limits: &Limits,
    policy: &RetryPolicy,
    metrics: &WriterMetrics,
    receipts: bool,
) -> Result<PutReceipt, StreamError> {
    validate_batch(&records, limits)?;
    let total = records.len();
    let mut results: Vec<Option<PutEntry>> = vec![None; total];
    // Indexes not yet stored (or to be stored again), always in increasing order: the retry
    // set of a request is a subsequence of that request, which was cut off the front.
    let mut queue: VecDeque<usize> = (0..total).collect();
    let mut failures_without_progress = 0_u32;

    while !queue.is_empty() {
        let request = next_request(&mut queue, &records, limits);
        let first = request.first().copied().unwrap_or(0);
        let refs: Vec<&OutRecord> = request.iter().filter_map(|&i| records.get(i)).collect();
        metrics.add_request();
        let outcome = sink.send(&refs, receipts).await;
        let give_up = |source: StreamError| {
            if first == 0 {
                source
            } else {
                StreamError::Incomplete {
                    stored: first,
                    total,
                    source: Box::new(source),
                }
            }
        };
        let outcomes = match outcome {
            Ok(o) => o,
            Err(e) => {
                if !e.is_retryable() || failures_without_progress >= policy.max_retries {
                    tracing::warn!(stream = sink.label(), error = %e, "put failed; giving up");
                    return Err(give_up(e));
                }
                failures_without_progress = failures_without_progress.saturating_add(1);
                let delay = policy.backoff(failures_without_progress);
                tracing::debug!(stream = sink.label(), error = %e, ?delay, records = request.len(), "request failed; retrying");
                metrics.add_retry();
                for &i in request.iter().rev() {
                    queue.push_front(i);
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        if outcomes.len() != request.len() {
            return Err(give_up(StreamError::internal(format!(
                "stream '{}' answered {} entries for a request of {} records",
                sink.label(),
                outcomes.len(),
                request.len()
            ))));
        }

        let mut failed_keys: HashSet<&str> = HashSet::new();
        let mut retry: Vec<usize> = Vec::new();
        let mut first_failure: Option<(String, String)> = None;
        let mut failed_count = 0_u64;
        let mut duplicate_count = 0_u64;
        let mut progressed = false;
        let (mut ok_records, mut ok_bytes) = (0_u64, 0_u64);
        for (&idx, outcome) in request.iter().zip(outcomes) {
            let Some(rec) = records.get(idx) else {
                continue;
            };
            let key = rec.partition_key.as_str();
            match outcome {
                EntryOutcome::Failed { code, message } => {
                    failed_keys.insert(key);
                    retry.push(idx);
                    failed_count += 1;
                    if first_failure.is_none() {
                        first_failure = Some((code, message));
                    }
                }
                EntryOutcome::Stored(entry) => {
                    ok_records += 1;
                    ok_bytes += rec.size() as u64;
                    if results.get(idx).is_some_and(Option::is_none) {
                        progressed = true;
                    }
                    if let Some(slot) = results.get_mut(idx) {
                        *slot = Some(entry);
                    }
                    if failed_keys.contains(key) {
                        // Stored ahead of an earlier record of its key that failed: send it
                        // again after that record (retry rule).
                        retry.push(idx);
                        duplicate_count += 1;
                    }
                }
            }
        }
        metrics.add_accepted(ok_records, ok_bytes);
        if progressed {
            failures_without_progress = 0;
        }
        if let Some((code, message)) = first_failure {
            let err = StreamError::Throttled {
                stream: sink.label().to_owned(),
                code,
                message,
            };
            let stored = retry.first().copied().unwrap_or(first);
            if failures_without_progress >= policy.max_retries {
                tracing::warn!(
                    stream = sink.label(),
                    failed = failed_count,
                    "records still failing; giving up"
                );
                return Err(if stored == 0 {
                    err
                } else {
                    StreamError::Incomplete {
                        stored,
                        total,
                        source: Box::new(err),
                    }
                });
            }
            failures_without_progress = failures_without_progress.saturating_add(1);
            let delay = policy.backoff(failures_without_progress);
            tracing::debug!(
                stream = sink.label(),
                failed = failed_count,
                resent_for_order = duplicate_count,
                ?delay,
                "records failed; resending them and later records of their keys"
            );
            metrics.add_retry();
            metrics.add_failed_retried(failed_count);
            metrics.add_duplicates(duplicate_count);
            for &i in retry.iter().rev() {
                queue.push_front(i);
            }
            tokio::time::sleep(delay).await;
        }
    }

    let mut entries = Vec::with_capacity(total);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(e) => entries.push(e),
            None => {
                return Err(StreamError::internal(format!(
                    "record #{i} has no result after the batch completed"
                )));
            }
        }
    }
    Ok(PutReceipt { entries })
}

impl fmt::Display for WriterMetricsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "records_sent={} bytes_sent={} requests={} retries={} failed_records_retried={} duplicates_sent={}",
            self.records_sent,
            self.bytes_sent,
            self.requests,
            self.retries,
            self.failed_records_retried,
            self.duplicates_sent
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = p.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d20 = p.backoff(20);
            assert!(d20 >= Duration::from_millis(500) && d20 <= Duration::from_secs(1));
            assert!(p.backoff(u32::MAX) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn requests_respect_limits() {
        let limits = Limits {
            max_records_per_request: 3,
            max_request_bytes: 10,
            max_record_bytes: 10,
        };
        let recs: Vec<OutRecord> = [4_usize, 4, 4, 1, 1, 1, 1, 9]
            .iter()
            .map(|&n| OutRecord::new("k", vec![b'x'; n - 1]))
            .collect();
        let mut q: VecDeque<usize> = (0..recs.len()).collect();
        let mut reqs = Vec::new();
        while !q.is_empty() {
            reqs.push(next_request(&mut q, &recs, &limits));
        }
        assert_eq!(reqs, vec![vec![0, 1], vec![2, 3, 4], vec![5, 6], vec![7]]);
    }
}
