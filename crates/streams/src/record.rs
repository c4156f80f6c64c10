//! Records, receipts, positions and the Kinesis limits.

use std::cmp::Ordering;
use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;

/// A record to write: opaque bytes plus the partition key that picks its shard.
#[derive(Clone, PartialEq, Eq)]
pub struct OutRecord {
    /// Partition key: 1 to 256 Unicode characters. Its MD5 hash picks the shard, and records of
    /// one key keep their order.
    pub partition_key: String,
    /// The record body.
    pub data: Bytes,
    /// Optional explicit hash key (a decimal 128-bit integer) that overrides the partition key's
    /// hash for shard selection.
    pub explicit_hash_key: Option<String>,
}

impl OutRecord {
    /// A record without an explicit hash key.
    pub fn new(partition_key: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self {
            partition_key: partition_key.into(),
            data: data.into(),
            explicit_hash_key: None,
        }
    }

    /// Sets the explicit hash key.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, hash_key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(hash_key.into());
        self
    }

    /// Size counted against the Kinesis limits: data plus partition key (UTF-8 bytes).
    pub fn size(&self) -> usize {
        self.data.len().saturating_add(self.partition_key.len())
    }
}

impl fmt::Debug for OutRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutRecord")
            .field("partition_key", &self.partition_key)
            .field("data_len", &self.data.len())
            .field("explicit_hash_key", &self.explicit_hash_key)
            .finish()
    }
}

/// Where one record of a batch was stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutEntry {
    /// Shard that holds the record, e.g. `shardId-000000000000`.
    pub shard_id: String,
    /// Sequence number the stream assigned. If the record was stored more than once (see the
    /// retry rule of [`StreamWriter`](crate::StreamWriter)), this is the last copy's number.
    pub sequence_number: String,
}

/// Result of a successful [`put_batch`](crate::StreamWriter::put_batch): one entry per record,
/// in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutReceipt {
    /// One entry per input record, same order.
    pub entries: Vec<PutEntry>,
}

impl PutReceipt {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The highest sequence number written to each shard, as (shard id, sequence number) pairs
    /// sorted by shard id. Usable as a [`TailStart::After`](crate::TailStart::After) checkpoint.
    pub fn last_per_shard(&self) -> std::collections::BTreeMap<String, String> {
        let mut out: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        for e in &self.entries {
            match out.get_mut(&e.shard_id) {
                Some(cur) => {
                    if compare_sequence_numbers(&e.sequence_number, cur) == Ordering::Greater {
                        cur.clone_from(&e.sequence_number);
                    }
                }
                None => {
                    out.insert(e.shard_id.clone(), e.sequence_number.clone());
                }
            }
        }
        out
    }
}

/// A record read back from a stream.
#[derive(Clone, PartialEq, Eq)]
pub struct InRecord {
    /// Sequence number (a decimal string, up to 56 digits on Kinesis). Compare with
    /// [`compare_sequence_numbers`], never as plain strings.
    pub sequence_number: String,
    /// The partition key the record was written with.
    pub partition_key: String,
    /// The record body.
    pub data: Bytes,
    /// When the stream accepted the record (approximately).
    pub approximate_arrival: SystemTime,
    /// The shard it was read from.
    pub shard_id: String,
}

impl fmt::Debug for InRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InRecord")
            .field("sequence_number", &self.sequence_number)
            .field("partition_key", &self.partition_key)
            .field("data_len", &self.data.len())
            .field("approximate_arrival", &self.approximate_arrival)
            .field("shard_id", &self.shard_id)
            .finish()
    }
}

/// Where a shard iterator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest record still retained (`TRIM_HORIZON`).
    TrimHorizon,
    /// Just after the newest record at the time the iterator is created (`LATEST`).
    Latest,
    /// At the record with this sequence number (`AT_SEQUENCE_NUMBER`).
    AtSequenceNumber(String),
    /// Just after the record with this sequence number (`AFTER_SEQUENCE_NUMBER`).
    AfterSequenceNumber(String),
    /// At the first record that arrived at or after this time (`AT_TIMESTAMP`).
    AtTimestamp(SystemTime),
}

/// An opaque position in one shard, handed out by a [`StreamReader`](crate::StreamReader).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShardIterator(pub String);

impl ShardIterator {
    /// The iterator string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShardIterator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One shard of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// Shard id, e.g. `shardId-000000000000`.
    pub shard_id: String,
    /// Lowest hash key of the shard (inclusive).
    pub starting_hash_key: u128,
    /// Highest hash key of the shard (inclusive).
    pub ending_hash_key: u128,
    /// Parent shard after a split or merge.
    pub parent_shard_id: Option<String>,
    /// First sequence number the shard can hold.
    pub starting_sequence_number: String,
    /// Set once the shard is closed (after resharding).
    pub ending_sequence_number: Option<String>,
}

/// What one [`get_records`](crate::StreamReader::get_records) call returned.
#[derive(Debug, Clone, Default)]
pub struct GetRecordsOutput {
    /// Records in shard order.
    pub records: Vec<InRecord>,
    /// Where to continue; `None` once a closed shard has been read to its end.
    pub next_iterator: Option<ShardIterator>,
    /// How far this iterator is behind the shard's newest record, in milliseconds (`Some(0)` =
    /// caught up), when the stream reports it.
    pub millis_behind: Option<u64>,
}

/// Request limits a writer must respect. [`Limits::KINESIS`] are the classic Kinesis Data Streams
/// limits, which are the default everywhere in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records per PutRecords request (Kinesis: 500).
    pub max_records_per_request: usize,
    /// Bytes per PutRecords request, data plus partition keys (Kinesis: 5 MiB).
    pub max_request_bytes: usize,
    /// Bytes per record, data plus partition key (Kinesis: 1 MiB; streams with a raised
    /// `MaxRecordSizeInKiB` accept up to 10 MiB).
    pub max_record_bytes: usize,
}

impl Limits {
    /// 500 records, 5 MiB per request, 1 MiB per record.
    pub const KINESIS: Limits = Limits {
        max_records_per_request: 500,
        max_request_bytes: 5 * 1024 * 1024,
        max_record_bytes: 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::KINESIS
    }
}

/// Longest partition key Kinesis accepts, in Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Most records one GetRecords call returns (Kinesis: 10,000).
pub const MAX_GET_RECORDS_LIMIT: usize = 10_000;

/// Orders two sequence numbers numerically. Kinesis sequence numbers are decimal strings of up
/// to 56 digits, so plain string comparison is wrong when lengths differ; this compares
/// (length without leading zeros, digits). Strings that are not decimal still get a total order.
pub fn compare_sequence_numbers(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Validates a partition key; returns why it is invalid.
pub(crate) fn check_partition_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("partition key is empty".to_owned());
    }
    if key.len() <= MAX_PARTITION_KEY_CHARS {
        return Ok(());
    }
    let chars = key.chars().count();
    if chars > MAX_PARTITION_KEY_CHARS {
        return Err(format!(
            "partition key has {chars} characters, more than {MAX_PARTITION_KEY_CHARS}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_numerically() {
        assert_eq!(compare_sequence_numbers("9", "10"), Ordering::Less);
        assert_eq!(compare_sequence_numbers("10", "9"), Ordering::Greater);
        assert_eq!(compare_sequence_numbers("0010", "10"), Ordering::Equal);
        let a = "49590338271490256608559692538361571095921575989136588898";
        let b = "49590338271490256608559692540925702759324208523137515618";
        assert_eq!(compare_sequence_numbers(a, b), Ordering::Less);
        assert_eq!(compare_sequence_numbers(b, a), Ordering::Greater);
        assert_eq!(compare_sequence_numbers("1", a), Ordering::Less);
    }

    #[test]
    fn record_size_and_receipt() {
        let r = OutRecord::new("key", Bytes::from_static(b"12345"));
        assert_eq!(r.size(), 8);
        let receipt = PutReceipt {
            entries: vec![
                PutEntry {
                    shard_id: "s0".into(),
                    sequence_number: "9".into(),
                },
                PutEntry {
                    shard_id: "s0".into(),
                    sequence_number: "10".into(),
                },
                PutEntry {
                    shard_id: "s1".into(),
                    sequence_number: "5".into(),
                },
            ],
        };
        let last = receipt.last_per_shard();
        assert_eq!(last.get("s0").map(String::as_str), Some("10"));
        assert_eq!(last.get("s1").map(String::as_str), Some("5"));
    }

    #[test]
    fn partition_key_checks() {
        assert!(check_partition_key("").is_err());
        assert!(check_partition_key("a").is_ok());
        assert!(check_partition_key(&"é".repeat(256)).is_ok());
        assert!(check_partition_key(&"é".repeat(257)).is_err());
    }
}
