//! # dmsrs-codec
//!
//! Decode and encode the Kinesis messages of AWS Database Migration Service (DMS) exactly as
//! DMS writes them. A Kinesis consumer can depend on this crate alone: it has no async
//! runtime, no AWS SDK and no JSON library in its public API.
//!
//! ```
//! use dmsrs_codec::{decode, encode, MessageFormat, Operation};
//!
//! let bytes = br#"{"data":{"id":1,"name":"Alice"},"metadata":{"timestamp":"2024-01-01T00:00:00.000000Z",
//!   "record-type":"data","operation":"insert","partition-key-type":"schema-table",
//!   "schema-name":"dms_sample","table-name":"accounts","transaction-id":42}}"#;
//! let record = decode(bytes)?;
//! assert_eq!(record.metadata.operation, Operation::Insert);
//! assert_eq!(record.data.as_ref().and_then(|d| d.get("name")).and_then(|v| v.as_str()), Some("Alice"));
//! let line = encode(&record, MessageFormat::JsonUnformatted);
//! assert!(line.ends_with(b"}\n"));
//! # Ok::<(), dmsrs_codec::CodecError>(())
//! ```
//!
//! * [`decode`] / [`Records`] / [`Messages`]: bytes to [`Record`]s, never panicking on any
//!   input; unknown fields and operations are kept, missing or mistyped required fields are
//!   errors naming the field (and the record's position in multi-record input).
//! * [`encode`]: [`Record`] to bytes in the `json` (tab-indented) or `json-unformatted`
//!   layout, with DMS's key order.
//! * [`render`]: how each kind of source column value is written, and [`partition`]: the
//!   Kinesis partition key rules. Choices where DMS is undocumented live there, one place
//!   each, and are listed in docs/dms-format.md.

mod decode;
mod encode;
mod error;
pub mod json;
mod kinesis;
pub mod partition;
mod record;
pub mod render;
mod value;

pub use decode::{DecodeOptions, Records, decode, decode_with, record_from_value};
pub use encode::{
    DataRecordTemplate, MessageFormat, MetadataRef, MetadataTemplate, NumRef, encode,
    encode_data_into, encode_into, is_clean_ascii, to_compact_string, write_compact, write_escaped,
};
pub use error::{CodecError, DecodeError};
pub use kinesis::{KinesisMessage, Messages, decode_kinesis_record};
pub use record::{
    ColumnDef, Control, DEFAULT_BEFORE_IMAGE_FIELD, Metadata, Operation, PartitionKeyType, Record,
    RecordType, TableDef,
};
pub use render::RenderOptions;
pub use value::{Fields, Number, Value, ValueRef};
