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
/// Records are written in the order pushed. `push` hands a batch to the writer when it holds
/// `max_records` records (`CommitRate`) or [`MAX_BATCH_BYTES`] and returns at once: that
/// batch is written in the background while the next one fills (one write at a time, so the
/// order is kept; a failed background write is reported by the next `push` or `flush`).
/// `flush` writes the rest and returns once everything pushed is written. Memory is bounded
/// by two batches.
pub struct Sink {
    writer: Arc<dyn DynStreamWriter>,
    batch: Vec<OutRecord>,
    bytes: usize,
    max_records: usize,
    /// Records handed to the writer so far (for [`Sink::mark`]).
    written: u64,
    /// The batch being written in the background.
    in_flight: Option<
        tokio::task::JoinHandle<std::result::Result<PutReceipt, dmsrs_streams::StreamError>>,
    >,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("pending", &self.batch.len())
            .field("bytes", &self.bytes)
            .field("writing", &self.in_flight.is_some())
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
            written: 0,
            in_flight: None,
        }
    }

    /// Queues a record; starts writing the batch when it is full. Returns the receipt of
    /// the previous background write when it had to wait for it.
    pub async fn push(&mut self, e: Encoded) -> Result<Option<PutReceipt>> {
        let size = e.size();
        let mut receipt = None;
        if !self.batch.is_empty() && self.bytes + size > MAX_BATCH_BYTES {
            receipt = Some(self.write_behind().await?);
        }
        self.bytes += size;
        self.batch.push(OutRecord::new(e.partition_key, e.data));
        if self.batch.len() >= self.max_records || self.bytes >= MAX_BATCH_BYTES {
            receipt = Some(self.write_behind().await?);
        }
        Ok(receipt)
    }

    /// Waits for the background write, then starts writing the batch in the background.
    async fn write_behind(&mut self) -> Result<PutReceipt> {
        let receipt = self.wait_in_flight().await?;
        let batch = self.take_batch();
        if !batch.is_empty() {
            self.written += batch.len() as u64;
            let writer = Arc::clone(&self.writer);
            self.in_flight = Some(tokio::spawn(
                async move { writer.put_batch_dyn(batch).await },
            ));
        }
        Ok(receipt)
    }

    /// Waits until the background write (if any) is done.
    async fn wait_in_flight(&mut self) -> Result<PutReceipt> {
        match self.in_flight.take() {
            None => Ok(PutReceipt::default()),
            Some(write) => match write.await {
                Ok(r) => Ok(r?),
                Err(e) => Err(crate::error::EngineError::Internal(format!(
                    "the target write task failed: {e}"
                ))),
            },
        }
    }

    /// The queued records, leaving an empty batch with the same capacity.
    fn take_batch(&mut self) -> Vec<OutRecord> {
        self.bytes = 0;
        let capacity = self.batch.capacity();
        std::mem::replace(&mut self.batch, Vec::with_capacity(capacity))
    }

    /// The position of the next record pushed (records pushed so far).
    pub fn mark(&self) -> u64 {
        self.written + self.batch.len() as u64
    }

    /// Drops the records pushed since `mark` that are not written yet (those already
    /// written stay written).
    pub fn discard_since(&mut self, mark: u64) {
        let keep = usize::try_from(mark.saturating_sub(self.written)).unwrap_or(usize::MAX);
        if keep < self.batch.len() {
            self.batch.truncate(keep);
            self.bytes = self
                .batch
                .iter()
                .map(|r| r.data.len() + r.partition_key.len())
                .sum();
        }
    }

    /// Writes every queued record; returns once the stream accepted them (and every batch
    /// written in the background before).
    pub async fn flush(&mut self) -> Result<PutReceipt> {
        self.wait_in_flight().await?;
        let batch = self.take_batch();
        if batch.is_empty() {
            return Ok(PutReceipt::default());
        }
        self.written += batch.len() as u64;
        Ok(self.writer.put_batch_dyn(batch).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dmsrs_codec::Operation;
    use dmsrs_streams::MemoryStream;

    fn rec(key: &str) -> Encoded {
        Encoded {
            partition_key: key.into(),
            data: key.as_bytes().to_vec().into(),
            operation: Operation::Insert,
        }
    }

    fn keys(s: &MemoryStream) -> Vec<String> {
        s.records().into_iter().map(|r| r.partition_key).collect()
    }

    #[tokio::test]
    async fn discard_drops_only_what_is_not_written() {
        let stream = MemoryStream::new("s");
        let mut sink = Sink::new(Arc::new(stream.writer()), 2);
        sink.push(rec("a")).await.unwrap();
        let mark = sink.mark();
        sink.push(rec("b")).await.unwrap(); // batch full: a, b written
        sink.push(rec("c")).await.unwrap();
        assert_eq!(sink.mark(), 3);
        sink.discard_since(mark);
        sink.flush().await.unwrap();
        assert_eq!(
            keys(&stream),
            ["a", "b"],
            "b was written already; c is dropped"
        );

        let mark = sink.mark();
        sink.push(rec("d")).await.unwrap();
        sink.discard_since(mark);
        sink.push(rec("e")).await.unwrap();
        sink.flush().await.unwrap();
        assert_eq!(keys(&stream), ["a", "b", "e"]);
        assert_eq!(sink.bytes, 0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod write_behind_tests {
    use super::*;
    use dmsrs_codec::Operation;
    use dmsrs_streams::{StreamError, StreamWriter, WriterMetricsSnapshot};
    use std::sync::Mutex;
    use tokio::sync::Semaphore;

    /// Stores partition keys once `gate` lets a write through; fails every write if `fail`.
    struct Gated {
        gate: Semaphore,
        fail: bool,
        keys: Mutex<Vec<String>>,
    }

    impl StreamWriter for Gated {
        async fn put_batch(
            &self,
            records: Vec<OutRecord>,
        ) -> std::result::Result<PutReceipt, StreamError> {
            self.gate.acquire().await.unwrap().forget();
            if self.fail {
                return Err(StreamError::Service {
                    status: Some(500),
                    code: "InternalFailure".into(),
                    message: "boom".into(),
                });
            }
            self.keys
                .lock()
                .unwrap()
                .extend(records.into_iter().map(|r| r.partition_key));
            Ok(PutReceipt::default())
        }

        fn metrics(&self) -> WriterMetricsSnapshot {
            WriterMetricsSnapshot::default()
        }
    }

    fn rec(key: &str) -> Encoded {
        Encoded {
            partition_key: key.into(),
            data: key.as_bytes().to_vec().into(),
            operation: Operation::Insert,
        }
    }

    #[tokio::test]
    async fn full_batches_are_written_in_the_background_in_order() {
        let w = Arc::new(Gated {
            gate: Semaphore::new(0),
            fail: false,
            keys: Mutex::new(Vec::new()),
        });
        let mut sink = Sink::new(Arc::clone(&w) as Arc<dyn DynStreamWriter>, 2);
        sink.push(rec("a")).await.unwrap();
        sink.push(rec("b")).await.unwrap(); // full: written in the background (blocked on the gate)
        sink.push(rec("c")).await.unwrap();
        assert!(
            w.keys.lock().unwrap().is_empty(),
            "push did not wait for the write"
        );
        assert_eq!(sink.mark(), 3);
        w.gate.add_permits(2);
        sink.flush().await.unwrap();
        assert_eq!(*w.keys.lock().unwrap(), ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_failed_background_write_fails_the_next_flush() {
        let w = Arc::new(Gated {
            gate: Semaphore::new(10),
            fail: true,
            keys: Mutex::new(Vec::new()),
        });
        let mut sink = Sink::new(Arc::clone(&w) as Arc<dyn DynStreamWriter>, 2);
        sink.push(rec("a")).await.unwrap();
        sink.push(rec("b")).await.unwrap();
        assert!(sink.flush().await.is_err());
    }
}
