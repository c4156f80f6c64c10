//! The reader contract and a whole-stream tail built on it.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::StreamError;
use crate::record::{
    GetRecordsOutput, InRecord, MAX_GET_RECORDS_LIMIT, ShardInfo, ShardIterator, StartPosition,
    compare_sequence_numbers,
};

/// Where records are read back from, shard by shard, the way Kinesis consumers read.
///
/// # Contract
///
/// * [`list_shards`](Self::list_shards) returns every shard, open and closed, in shard-id order.
/// * [`iterator`](Self::iterator) returns an opaque position in one shard. Positions follow
///   Kinesis: `AtSequenceNumber`/`AfterSequenceNumber` take a sequence number *of that shard*
///   (a number of another shard is a [`StreamError::Validation`] error on Kinesis), `Latest` is
///   fixed when the iterator is created, `AtTimestamp` starts at the first record whose
///   arrival time is at or after the timestamp.
/// * [`get_records`](Self::get_records) returns up to `limit` records (clamped to 1..=10,000)
///   in shard order and the iterator to continue with. An empty answer does not mean the shard
///   is exhausted; `millis_behind == Some(0)` does. `next_iterator` is `None` only after the end
///   of a closed shard. Kinesis iterators expire after 5 minutes
///   ([`StreamError::ExpiredIterator`]).
/// * Reading never changes the stream; any number of readers may read concurrently.
pub trait StreamReader: Send + Sync {
    /// Every shard of the stream, in shard-id order.
    fn list_shards(&self) -> impl Future<Output = Result<Vec<ShardInfo>, StreamError>> + Send;

    /// A new iterator into `shard_id` at `position`.
    fn iterator(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> impl Future<Output = Result<ShardIterator, StreamError>> + Send;

    /// Reads up to `limit` records at `iterator`.
    fn get_records(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> impl Future<Output = Result<GetRecordsOutput, StreamError>> + Send;

    /// Waits until new records may be available, for at most `max_wait`. The default sleeps
    /// `max_wait` (polling); streams that can tell when data arrives (the memory stream) return
    /// earlier.
    fn idle_wait(&self, max_wait: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(max_wait)
    }
}

/// Object-safe form of [`StreamReader`] (`Arc<dyn DynStreamReader>`), which is a
/// `StreamReader` again.
#[async_trait::async_trait]
pub trait DynStreamReader: Send + Sync {
    /// See [`StreamReader::list_shards`].
    async fn list_shards_dyn(&self) -> Result<Vec<ShardInfo>, StreamError>;
    /// See [`StreamReader::iterator`].
    async fn iterator_dyn(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> Result<ShardIterator, StreamError>;
    /// See [`StreamReader::get_records`].
    async fn get_records_dyn(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> Result<GetRecordsOutput, StreamError>;
    /// See [`StreamReader::idle_wait`].
    async fn idle_wait_dyn(&self, max_wait: Duration);
}

#[async_trait::async_trait]
impl<T: StreamReader> DynStreamReader for T {
    async fn list_shards_dyn(&self) -> Result<Vec<ShardInfo>, StreamError> {
        self.list_shards().await
    }
    async fn iterator_dyn(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> Result<ShardIterator, StreamError> {
        self.iterator(shard_id, position).await
    }
    async fn get_records_dyn(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> Result<GetRecordsOutput, StreamError> {
        self.get_records(iterator, limit).await
    }
    async fn idle_wait_dyn(&self, max_wait: Duration) {
        self.idle_wait(max_wait).await;
    }
}

impl StreamReader for Arc<dyn DynStreamReader> {
    fn list_shards(&self) -> impl Future<Output = Result<Vec<ShardInfo>, StreamError>> + Send {
        self.as_ref().list_shards_dyn()
    }
    async fn iterator(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> Result<ShardIterator, StreamError> {
        self.as_ref().iterator_dyn(shard_id, position).await
    }
    async fn get_records(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> Result<GetRecordsOutput, StreamError> {
        self.as_ref().get_records_dyn(iterator, limit).await
    }
    fn idle_wait(&self, max_wait: Duration) -> impl Future<Output = ()> + Send {
        self.as_ref().idle_wait_dyn(max_wait)
    }
}

macro_rules! forward_reader {
    ($ty:ty) => {
        impl<T: StreamReader> StreamReader for $ty {
            fn list_shards(
                &self,
            ) -> impl Future<Output = Result<Vec<ShardInfo>, StreamError>> + Send {
                (**self).list_shards()
            }
            fn iterator(
                &self,
                shard_id: &str,
                position: StartPosition,
            ) -> impl Future<Output = Result<ShardIterator, StreamError>> + Send {
                (**self).iterator(shard_id, position)
            }
            fn get_records(
                &self,
                iterator: &ShardIterator,
                limit: usize,
            ) -> impl Future<Output = Result<GetRecordsOutput, StreamError>> + Send {
                (**self).get_records(iterator, limit)
            }
            fn idle_wait(&self, max_wait: Duration) -> impl Future<Output = ()> + Send {
                (**self).idle_wait(max_wait)
            }
        }
    };
}
forward_reader!(&T);
forward_reader!(Arc<T>);

/// Where a [`StreamTail`] starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailStart {
    /// The same position in every shard. Sequence-number positions only make sense for
    /// single-shard streams (a sequence number belongs to one shard).
    Every(StartPosition),
    /// Resume after a checkpoint: for each shard in the map, after that sequence number; shards
    /// not in the map from their oldest record. Build it from [`StreamTail::checkpoint`] or
    /// [`PutReceipt::last_per_shard`](crate::PutReceipt::last_per_shard).
    After(BTreeMap<String, String>),
}

/// Tuning of a [`StreamTail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailOptions {
    /// Pause after a round that returned nothing (Kinesis allows 5 GetRecords per shard and
    /// second). Default 200 ms.
    pub poll_interval: Duration,
    /// `limit` for each GetRecords call. Default 10,000.
    pub batch_limit: usize,
    /// Consecutive retryable errors on one shard before the error is returned. Default 10.
    pub max_consecutive_errors: u32,
}

impl Default for TailOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(200),
            batch_limit: MAX_GET_RECORDS_LIMIT,
            max_consecutive_errors: 10,
        }
    }
}

#[derive(Debug)]
struct Cursor {
    /// `None` once a closed shard has been read to its end.
    iterator: Option<ShardIterator>,
    /// Where this shard started, to re-create an expired iterator before anything was read.
    start: StartPosition,
    caught_up: bool,
    errors: u32,
}

/// Reads a whole stream, all shards, from a start position onward: the consumer used by tests
/// and by `scenario` to wait for records.
///
/// Records of one shard come out in shard order (so records of one partition key stay in
/// order); shards are interleaved. The tail follows resharding: when a shard closes, the
/// shard list is read again and new shards are read from their start. Expired iterators are
/// renewed from the last sequence number read.
#[derive(Debug)]
pub struct StreamTail<R> {
    reader: R,
    options: TailOptions,
    cursors: BTreeMap<String, Cursor>,
    checkpoint: BTreeMap<String, String>,
    pending: VecDeque<InRecord>,
}

impl<R: StreamReader> StreamTail<R> {
    /// Lists the shards and opens an iterator in each, now (so `Latest` means "after what is in
    /// the stream at this call").
    pub async fn start(reader: R, start: TailStart) -> Result<Self, StreamError> {
        Self::start_with(reader, start, TailOptions::default()).await
    }

    /// [`start`](Self::start) with explicit options.
    pub async fn start_with(
        reader: R,
        start: TailStart,
        options: TailOptions,
    ) -> Result<Self, StreamError> {
        let mut tail = Self {
            reader,
            options,
            cursors: BTreeMap::new(),
            checkpoint: BTreeMap::new(),
            pending: VecDeque::new(),
        };
        let shards = tail.reader.list_shards().await?;
        for shard in shards {
            let position = match &start {
                TailStart::Every(p) => p.clone(),
                TailStart::After(map) => match map.get(&shard.shard_id) {
                    Some(seq) => {
                        tail.checkpoint.insert(shard.shard_id.clone(), seq.clone());
                        StartPosition::AfterSequenceNumber(seq.clone())
                    }
                    None => StartPosition::TrimHorizon,
                },
            };
            tail.open(&shard.shard_id, position).await?;
        }
        Ok(tail)
    }

    async fn open(&mut self, shard_id: &str, start: StartPosition) -> Result<(), StreamError> {
        let iterator = self.reader.iterator(shard_id, start.clone()).await?;
        self.cursors.insert(
            shard_id.to_owned(),
            Cursor {
                iterator: Some(iterator),
                start,
                caught_up: false,
                errors: 0,
            },
        );
        Ok(())
    }

    /// Picks up shards created since the last listing (after a split or merge).
    async fn refresh_shards(&mut self) -> Result<(), StreamError> {
        let shards = self.reader.list_shards().await?;
        for shard in shards {
            if !self.cursors.contains_key(&shard.shard_id) {
                self.open(&shard.shard_id, StartPosition::TrimHorizon)
                    .await?;
            }
        }
        Ok(())
    }

    /// One GetRecords call on every shard that is not finished. Returns the records read (also
    /// remembered in the checkpoint).
    pub async fn poll(&mut self) -> Result<Vec<InRecord>, StreamError> {
        let mut out = Vec::new();
        let mut closed_any = false;
        let shard_ids: Vec<String> = self.cursors.keys().cloned().collect();
        for shard_id in shard_ids {
            let Some(cursor) = self.cursors.get_mut(&shard_id) else {
                continue;
            };
            let Some(iterator) = cursor.iterator.clone() else {
                continue;
            };
            match self
                .reader
                .get_records(&iterator, self.options.batch_limit)
                .await
            {
                Ok(batch) => {
                    cursor.errors = 0;
                    cursor.caught_up = batch.next_iterator.is_none()
                        || (batch.records.is_empty() && batch.millis_behind.is_none_or(|m| m == 0));
                    if batch.next_iterator.is_none() {
                        closed_any = true;
                    }
                    cursor.iterator = batch.next_iterator;
                    if let Some(last) = batch.records.last() {
                        self.checkpoint
                            .insert(shard_id.clone(), last.sequence_number.clone());
                    }
                    out.extend(batch.records);
                }
                Err(StreamError::ExpiredIterator { .. }) => {
                    let position = match self.checkpoint.get(&shard_id) {
                        Some(seq) => StartPosition::AfterSequenceNumber(seq.clone()),
                        None => cursor.start.clone(),
                    };
                    tracing::debug!(shard = %shard_id, "shard iterator expired; renewing");
                    let it = self.reader.iterator(&shard_id, position).await?;
                    if let Some(c) = self.cursors.get_mut(&shard_id) {
                        c.iterator = Some(it);
                    }
                }
                Err(e) if e.is_retryable() => {
                    cursor.errors += 1;
                    cursor.caught_up = false;
                    if cursor.errors > self.options.max_consecutive_errors {
                        return Err(e);
                    }
                    tracing::debug!(shard = %shard_id, error = %e, "GetRecords failed; will retry");
                }
                Err(e) => return Err(e),
            }
        }
        if closed_any {
            self.refresh_shards().await?;
        }
        Ok(out)
    }

    /// `true` when the last [`poll`](Self::poll) found every shard caught up (or finished).
    pub fn caught_up(&self) -> bool {
        self.cursors.values().all(|c| c.caught_up)
    }

    /// Reads until every shard is caught up; returns everything read (including records left
    /// over from [`next_records`](Self::next_records)).
    pub async fn drain(&mut self) -> Result<Vec<InRecord>, StreamError> {
        let mut out: Vec<InRecord> = self.pending.drain(..).collect();
        loop {
            let got = self.poll().await?;
            let empty = got.is_empty();
            out.extend(got);
            if self.caught_up() {
                return Ok(out);
            }
            if empty {
                tokio::time::sleep(self.options.poll_interval.min(Duration::from_millis(50))).await;
            }
        }
    }

    /// Returns the next `count` records, waiting up to `timeout` for them to arrive. On timeout
    /// returns [`StreamError::WaitTimeout`] and keeps what it read for the next call.
    pub async fn next_records(
        &mut self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<InRecord>, StreamError> {
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            if self.pending.len() >= count {
                return Ok(self.pending.drain(..count).collect());
            }
            let got = self.poll().await?;
            let empty = got.is_empty();
            self.pending.extend(got);
            if self.pending.len() >= count {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StreamError::WaitTimeout {
                    wanted: count,
                    got: self.pending.len(),
                    waited: now - started,
                });
            }
            if empty {
                let wait = self.options.poll_interval.min(deadline - now);
                self.reader.idle_wait(wait).await;
            }
        }
    }

    /// The last sequence number read from each shard (shards not read from are absent, unless
    /// the tail started from a checkpoint). Pass it to [`TailStart::After`] to resume.
    pub fn checkpoint(&self) -> &BTreeMap<String, String> {
        &self.checkpoint
    }

    /// The reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// Gives the reader back.
    pub fn into_reader(self) -> R {
        self.reader
    }
}

/// Reads every record currently in the stream, all shards, oldest first per shard.
pub async fn read_all<R: StreamReader>(reader: R) -> Result<Vec<InRecord>, StreamError> {
    read_all_from(reader, TailStart::Every(StartPosition::TrimHorizon)).await
}

/// Reads every record from `start` up to the current end of every shard (per-shard order).
pub async fn read_all_from<R: StreamReader>(
    reader: R,
    start: TailStart,
) -> Result<Vec<InRecord>, StreamError> {
    StreamTail::start(reader, start).await?.drain().await
}

/// Waits until `count` records are readable from `start` on and returns them (per-shard
/// order), or [`StreamError::WaitTimeout`].
pub async fn wait_for_records<R: StreamReader>(
    reader: R,
    start: TailStart,
    count: usize,
    timeout: Duration,
) -> Result<Vec<InRecord>, StreamError> {
    StreamTail::start(reader, start)
        .await?
        .next_records(count, timeout)
        .await
}

/// Sorts records by sequence number (numerically); stable for equal numbers. For records of
/// one shard this restores shard order.
pub fn sort_by_sequence_number(records: &mut [InRecord]) {
    records.sort_by(|a, b| compare_sequence_numbers(&a.sequence_number, &b.sequence_number));
}
