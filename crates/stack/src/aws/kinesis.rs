//! Kinesis glue: a paced reader for watching a stream without exceeding the GetRecords rate
//! (the engine's Kinesis target factory is `dmsrs_engine::KinesisTargets`).

use dmsrs_streams::{
    GetRecordsOutput, ShardInfo, ShardIterator, StartPosition, StreamError, StreamReader,
};
use std::future::Future;
use std::time::Duration;

/// A [`StreamReader`] that waits at least `min_wait` between polls when idle, so a watcher
/// that polls in a tight loop stays under Kinesis's 5 GetRecords calls per shard and second.
#[derive(Clone, Debug)]
pub struct PacedReader<R> {
    inner: R,
    min_wait: Duration,
}

impl<R> PacedReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, min_wait: Duration) -> Self {
        PacedReader { inner, min_wait }
    }
}

impl<R: StreamReader> StreamReader for PacedReader<R> {
    fn list_shards(&self) -> impl Future<Output = Result<Vec<ShardInfo>, StreamError>> + Send {
        self.inner.list_shards()
    }

    fn iterator(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> impl Future<Output = Result<ShardIterator, StreamError>> + Send {
        self.inner.iterator(shard_id, position)
    }

    fn get_records(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> impl Future<Output = Result<GetRecordsOutput, StreamError>> + Send {
        self.inner.get_records(iterator, limit)
    }

    fn idle_wait(&self, max_wait: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(max_wait.max(self.min_wait))
    }
}
