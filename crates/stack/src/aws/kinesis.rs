//! Kinesis glue: the embedded engine's target factory for Kinesis streams, and a paced reader
//! for watching a stream without exceeding the GetRecords rate.

use aws_config::SdkConfig;
use dmsrs_engine::TargetFactory;
use dmsrs_streams::{
    DynStreamWriter, GetRecordsOutput, KinesisStream, ShardInfo, ShardIterator, StartPosition,
    StreamError, StreamReader,
};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Opens Kinesis streams for the embedded engine's Kinesis target endpoints: the endpoint's
/// `StreamArn` (or name) is reached with the SDK configuration given here (its region,
/// credentials and endpoint URLs, `AWS_ENDPOINT_URL_KINESIS` included). One writer per
/// stream, shared by the tasks writing to it.
#[derive(Clone)]
pub struct KinesisTargets {
    sdk: SdkConfig,
    writers: Arc<Mutex<BTreeMap<String, Arc<dyn DynStreamWriter>>>>,
}

impl fmt::Debug for KinesisTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let streams: Vec<String> = self
            .writers
            .lock()
            .map(|w| w.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("KinesisTargets")
            .field("streams", &streams)
            .finish()
    }
}

impl KinesisTargets {
    /// Streams reached through `sdk`.
    pub fn new(sdk: &SdkConfig) -> Self {
        KinesisTargets {
            sdk: sdk.clone(),
            writers: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }
}

#[async_trait::async_trait]
impl TargetFactory for KinesisTargets {
    async fn writer(&self, stream_arn: &str) -> dmsrs_engine::Result<Arc<dyn DynStreamWriter>> {
        let mut writers = self.writers.lock().map_err(|_| {
            dmsrs_engine::EngineError::Internal("Kinesis target cache lock poisoned".into())
        })?;
        let w = writers.entry(stream_arn.to_owned()).or_insert_with(|| {
            Arc::new(KinesisStream::from_sdk_config(&self.sdk, stream_arn))
                as Arc<dyn DynStreamWriter>
        });
        Ok(Arc::clone(w))
    }
}

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
