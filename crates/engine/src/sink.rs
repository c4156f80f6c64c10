//! Batches encoded records and writes them to the target stream.

use crate::encoder::Encoded;
use crate::error::{EngineError, Result};
use dmsrs_streams::{DynStreamWriter, OutRecord};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most bytes one batch holds before it is written (the Kinesis PutRecords limit; the
/// writer splits batches into requests itself, this bounds memory).
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;

/// Full batches waiting for the writer (besides the one it writes).
const QUEUED_BATCHES: usize = 2;

/// A batching writer in front of a stream.
///
/// Records are written in the order pushed. `push` hands a batch to a background writer
/// task when it holds `max_records` records (`CommitRate`) or [`MAX_BATCH_BYTES`] and
/// returns at once (it waits only while [`QUEUED_BATCHES`] full batches are queued). The
/// writer writes one batch at a time, so the order is kept; after a failed write it writes
/// nothing more, and the next `push` or `flush` reports the failure. `flush` writes the rest
/// and returns once everything pushed is written. Memory is bounded by the batch being
/// filled, the queued ones and the one being written.
pub struct Sink {
    writer: Arc<dyn DynStreamWriter>,
    batch: Vec<OutRecord>,
    bytes: usize,
    max_records: usize,
    /// Records handed to the writer so far (for [`Sink::mark`]).
    written: u64,
    /// The background writer (started with the first full batch).
    background: Option<Background>,
}

/// What the background writer is asked to do.
enum Job {
    Write(Vec<OutRecord>),
    /// Answer once everything before is written.
    Barrier(oneshot::Sender<()>),
}

struct Background {
    jobs: mpsc::Sender<Job>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("pending", &self.batch.len())
            .field("bytes", &self.bytes)
            .field("background", &self.background.is_some())
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
            background: None,
        }
    }

    /// Queues a record; hands the batch to the background writer when it is full.
    pub async fn push(&mut self, e: Encoded) -> Result<()> {
        let size = e.size();
        if !self.batch.is_empty() && self.bytes + size > MAX_BATCH_BYTES {
            self.write_behind().await?;
        }
        self.bytes += size;
        self.batch.push(OutRecord::new(e.partition_key, e.data));
        if self.batch.len() >= self.max_records || self.bytes >= MAX_BATCH_BYTES {
            self.write_behind().await?;
        }
        Ok(())
    }

    /// Hands the batch to the background writer.
    async fn write_behind(&mut self) -> Result<()> {
        let batch = self.take_batch();
        if batch.is_empty() {
            return Ok(());
        }
        self.written += batch.len() as u64;
        self.send(Job::Write(batch)).await
    }

    /// Sends a job to the background writer, starting it if needed; a writer that stopped
    /// reports why.
    async fn send(&mut self, job: Job) -> Result<()> {
        let bg = self.background.get_or_insert_with(|| {
            let (jobs, mut rx) = mpsc::channel::<Job>(QUEUED_BATCHES);
            let writer = Arc::clone(&self.writer);
            let task = tokio::spawn(async move {
                while let Some(job) = rx.recv().await {
                    match job {
                        Job::Write(batch) => {
                            writer.put_batch_no_receipt_dyn(batch).await?;
                        }
                        Job::Barrier(done) => {
                            let _ = done.send(());
                        }
                    }
                }
                Ok(())
            });
            Background { jobs, task }
        });
        if bg.jobs.send(job).await.is_ok() {
            return Ok(());
        }
        Err(self.stopped().await)
    }

    /// Why the background writer stopped (it stops only on a failed write).
    async fn stopped(&mut self) -> EngineError {
        match self.background.take() {
            Some(bg) => match bg.task.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => EngineError::Internal("the target writer stopped".into()),
                Err(e) => EngineError::Internal(format!("the target write task failed: {e}")),
            },
            None => EngineError::Internal("the target writer stopped".into()),
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

    /// Drops the records pushed since `mark` that are not handed to the writer yet (those
    /// already handed over are written).
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
    /// handed to the writer before).
    pub async fn flush(&mut self) -> Result<()> {
        if self.background.is_none() {
            // Nothing in the background: write here.
            let batch = self.take_batch();
            if !batch.is_empty() {
                self.written += batch.len() as u64;
                self.writer.put_batch_no_receipt_dyn(batch).await?;
            }
            return Ok(());
        }
        self.write_behind().await?;
        let (tx, rx) = oneshot::channel();
        self.send(Job::Barrier(tx)).await?;
        if rx.await.is_ok() {
            return Ok(());
        }
        Err(self.stopped().await)
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
    use dmsrs_streams::{PutReceipt, StreamError, StreamWriter, WriterMetricsSnapshot};
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
