//! Batches encoded records and writes them to the target stream.

use crate::encoder::Encoded;
use crate::error::Result;
use dmsrs_streams::{DynStreamWriter, OutRecord, PutReceipt};
use std::sync::Arc;

/// Most bytes one batch holds before it is written (the Kinesis PutRecords limit; the
/// writer splits batches into requests itself, this bounds memory).
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;

/// A batching writer in front of a stream.
///
/// Records are written in the order pushed. `push` writes a batch when it holds
/// `max_records` records (`CommitRate`) or [`MAX_BATCH_BYTES`]; `flush` writes the rest.
/// Memory is bounded by one batch.
pub struct Sink {
    writer: Arc<dyn DynStreamWriter>,
    batch: Vec<OutRecord>,
    bytes: usize,
    max_records: usize,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("pending", &self.batch.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Sink {
    /// A sink writing batches of at most `max_records` records.
    pub fn new(writer: Arc<dyn DynStreamWriter>, max_records: usize) -> Self {
        let max_records = max_records.clamp(1, 50_000);
        Sink {
            writer,
            batch: Vec::with_capacity(max_records.min(1000)),
            bytes: 0,
            max_records,
        }
    }

    /// Queues a record; writes the batch when it is full. Returns the receipt of a write.
    pub async fn push(&mut self, e: Encoded) -> Result<Option<PutReceipt>> {
        let size = e.size();
        if !self.batch.is_empty() && self.bytes + size > MAX_BATCH_BYTES {
            self.flush().await?;
        }
        self.bytes += size;
        self.batch.push(OutRecord::new(e.partition_key, e.data));
        if self.batch.len() >= self.max_records || self.bytes >= MAX_BATCH_BYTES {
            return self.flush().await.map(Some);
        }
        Ok(None)
    }


    /// Writes every queued record; returns once the stream accepted them.
    pub async fn flush(&mut self) -> Result<PutReceipt> {
        let batch = std::mem::take(&mut self.batch);
        self.bytes = 0;
        if batch.is_empty() {
            return Ok(PutReceipt::default());
        }
        Ok(self.writer.put_batch_dyn(batch).await?)
    }
}
