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
