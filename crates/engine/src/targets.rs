//! Where Kinesis target endpoints write: a factory that opens the named stream.

use crate::error::{EngineError, Result};
use dmsrs_streams::DynStreamWriter;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Opens the stream a Kinesis target endpoint names (`KinesisSettings.StreamArn`).
#[async_trait::async_trait]
pub trait TargetFactory: Send + Sync + std::fmt::Debug {
    /// A writer for the stream with this ARN or name.
    async fn writer(&self, stream_arn: &str) -> Result<Arc<dyn DynStreamWriter>>;

    /// Checks that the stream exists and can be reached (`TestConnection`). The default
    /// opens a writer.
    async fn check(&self, stream_arn: &str) -> Result<()> {
        self.writer(stream_arn).await.map(|_| ())
    }
}

/// A fixed set of streams, registered by ARN and/or name (the embedded default registers
/// its in-memory stream here).
#[derive(Default, Clone)]
pub struct StreamTargets {
    streams: Arc<Mutex<BTreeMap<String, Arc<dyn DynStreamWriter>>>>,
}

impl std::fmt::Debug for StreamTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = crate::runtime::lock(&self.streams)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("StreamTargets")
            .field("streams", &names)
            .finish()
    }
}

impl StreamTargets {
    /// No streams.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `writer` under `name` (an ARN or a stream name; register both if needed).
    pub fn register(&self, name: impl Into<String>, writer: Arc<dyn DynStreamWriter>) {
        crate::runtime::lock(&self.streams).insert(name.into(), writer);
    }
}

#[async_trait::async_trait]
impl TargetFactory for StreamTargets {
    async fn writer(&self, stream_arn: &str) -> Result<Arc<dyn DynStreamWriter>> {
        let streams = crate::runtime::lock(&self.streams);
        let name = stream_arn.rsplit('/').next().unwrap_or(stream_arn);
        streams.get(stream_arn).or_else(|| streams.get(name)).cloned().ok_or_else(|| {
            EngineError::InvalidParameter(format!(
                "target stream {stream_arn} is not known to the embedded engine: deploy it first (scenario deploy)"
            ))
        })
    }
}

/// Opens Kinesis streams for Kinesis target endpoints (cargo feature `kinesis`): the
/// endpoint's `StreamArn` (or name) is reached with the SDK configuration given here (its
/// region, credentials and endpoint URLs, `AWS_ENDPOINT_URL_KINESIS` included). One writer
/// per stream, shared by the tasks writing to it.
#[cfg(feature = "kinesis")]
#[derive(Clone)]
pub struct KinesisTargets {
    sdk: aws_config::SdkConfig,
    writers: Arc<Mutex<BTreeMap<String, Arc<dyn DynStreamWriter>>>>,
}

#[cfg(feature = "kinesis")]
impl std::fmt::Debug for KinesisTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streams: Vec<String> = crate::runtime::lock(&self.writers)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("KinesisTargets")
            .field("streams", &streams)
            .finish()
    }
}

#[cfg(feature = "kinesis")]
impl KinesisTargets {
    /// Streams reached through `sdk`.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        KinesisTargets {
            sdk: sdk.clone(),
            writers: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }
}

#[cfg(feature = "kinesis")]
#[async_trait::async_trait]
impl TargetFactory for KinesisTargets {
    async fn writer(&self, stream_arn: &str) -> Result<Arc<dyn DynStreamWriter>> {
        let mut writers = crate::runtime::lock(&self.writers);
        let w = writers.entry(stream_arn.to_owned()).or_insert_with(|| {
            Arc::new(dmsrs_streams::KinesisStream::from_sdk_config(
                &self.sdk, stream_arn,
            )) as Arc<dyn DynStreamWriter>
        });
        Ok(Arc::clone(w))
    }

    async fn check(&self, stream_arn: &str) -> Result<()> {
        dmsrs_streams::KinesisStream::from_sdk_config(&self.sdk, stream_arn)
            .describe()
            .await?;
        Ok(())
    }
}
