//! Where DMS records go, and where they are read back from.
//!
//! A record here is opaque bytes plus a partition key ([`OutRecord`]); this crate knows nothing
//! of the record format. Targets implement [`StreamWriter`], sources of records to read back
//! implement [`StreamReader`]:
//!
//! | type | writer | reader | feature |
//! |---|---|---|---|
//! | [`MemoryStream`] (embedded default, tests) | [`MemoryWriter`] | yes | always |
//! | [`NdjsonWriter`] (file or stdout) | yes | [`read_ndjson_file`] | always |
//! | `KinesisStream` (AWS, kinesis-local, moto) | yes | yes | `kinesis` |
//!
//! Read the contracts on [`StreamWriter`] (ordering, at-least-once, limits, retries) and
//! [`StreamReader`]; [`StreamTail`] reads a whole stream across shards.
#![warn(missing_docs)]

mod error;
mod hash;
#[cfg(feature = "kinesis")]
mod kinesis;
mod memory;
mod ndjson;
mod reader;
mod record;
mod writer;

pub use error::StreamError;
pub use hash::{parse_hash_key, partition_key_hash, shard_hash_ranges, shard_id};
#[cfg(feature = "kinesis")]
pub use kinesis::{KinesisOptions, KinesisStream, StreamDescription, StreamRef};
pub use memory::{Fault, MemoryStream, MemoryStreamBuilder, MemoryWriter, THROUGHPUT_EXCEEDED};
pub use ndjson::{NdjsonWriter, parse_ndjson_line, read_ndjson, read_ndjson_file};
pub use reader::{
    DynStreamReader, StreamReader, StreamTail, TailOptions, TailStart, read_all, read_all_from,
    sort_by_sequence_number, wait_for_records,
};
pub use record::{
    GetRecordsOutput, InRecord, Limits, MAX_GET_RECORDS_LIMIT, MAX_PARTITION_KEY_CHARS, OutRecord,
    PutEntry, PutReceipt, ShardInfo, ShardIterator, StartPosition, compare_sequence_numbers,
};
pub use writer::{
    DynStreamWriter, RetryPolicy, StreamWriter, WriterMetrics, WriterMetricsSnapshot,
};
