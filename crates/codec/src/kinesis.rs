//! DMS records as they travel in Kinesis: the record bytes plus the Kinesis envelope.

use crate::decode::{DecodeOptions, Records, record_from_value, utf8};
use crate::error::{CodecError, DecodeError};
use crate::record::Record;
use crate::value::{Fields, Value};
use base64::Engine as _;

/// A DMS record with what Kinesis knows about it.
#[derive(Clone, PartialEq, Debug)]
pub struct KinesisMessage {
    /// The decoded DMS record.
    pub record: Record,
    /// The Kinesis partition key, when the input carried it.
    pub partition_key: Option<String>,
    /// The Kinesis sequence number, when known.
    pub sequence_number: Option<String>,
    /// `ApproximateArrivalTimestamp` as given (epoch seconds or ISO 8601 text), when known.
    pub approximate_arrival: Option<String>,
}

/// Decodes the `Data` of a Kinesis record (already base64-decoded, as the SDKs return it).
pub fn decode_kinesis_record(
    data: &[u8],
    partition_key: Option<&str>,
    sequence_number: Option<&str>,
    approximate_arrival: Option<&str>,
    opts: &DecodeOptions,
) -> Result<KinesisMessage, CodecError> {
    let record = crate::decode::decode_with(data, opts)?;
    Ok(KinesisMessage {
        record,
        partition_key: partition_key.map(str::to_owned),
        sequence_number: sequence_number.map(str::to_owned),
        approximate_arrival: approximate_arrival.map(str::to_owned),
    })
}

/// Reads every DMS record in a text that holds any mix of:
///
/// * DMS records, either layout, concatenated or one per line;
/// * `aws kinesis get-records` output (`{"Records": [{"Data": "<base64>", "PartitionKey": ..,
///   "SequenceNumber": .., "ApproximateArrivalTimestamp": ..}], ...}`);
/// * single Kinesis record envelopes (`{"Data": "<base64>", "PartitionKey": ..}`), for example
///   one per line as `dmsrs-streams`' NDJSON writer stores them.
///
/// Items come in input order, each with its 1-based position among the records; a bad
/// record yields a [`DecodeError`] and reading goes on with the next one.
#[derive(Debug)]
pub struct Messages<'a> {
    docs: Records<'a>,
    opts: DecodeOptions,
    pending: std::vec::IntoIter<(usize, Result<KinesisMessage, CodecError>)>,
    count: usize,
}

impl<'a> Messages<'a> {
    /// Reads from UTF-8 text.
    pub fn new(text: &'a str, opts: DecodeOptions) -> Self {
        Messages {
            docs: Records::new(text, opts.clone()),
            opts,
            pending: Vec::new().into_iter(),
            count: 0,
        }
    }

    /// Reads from bytes; invalid UTF-8 is an error naming its offset.
    pub fn from_bytes(bytes: &'a [u8], opts: DecodeOptions) -> Result<Self, DecodeError> {
        let text = utf8(bytes).map_err(|source| DecodeError {
            index: 1,
            offset: 0,
            source,
        })?;
        Ok(Messages::new(text, opts))
    }

    fn envelope(&self, fields: Fields) -> Result<KinesisMessage, CodecError> {
        let mut data = None;
        let mut pk = None;
        let mut seq = None;
        let mut arrival = None;
        for (k, v) in fields {
            match k.as_str() {
                "Data" => data = Some(v),
                "PartitionKey" => pk = Some(text_field(v, "PartitionKey")?),
                "SequenceNumber" => seq = Some(text_field(v, "SequenceNumber")?),
                "ApproximateArrivalTimestamp" => arrival = Some(v.to_key_text()),
                _ => {}
            }
        }
        let data = match data {
            Some(Value::String(s)) => s,
            Some(other) => return Err(CodecError::wrong_type("Data", "a base64 string", &other)),
            None => {
                return Err(CodecError::MissingField {
                    field: "Data".into(),
                });
            }
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| CodecError::Base64 {
                field: "Data".into(),
                reason: e.to_string(),
            })?;
        decode_kinesis_record(
            &bytes,
            pk.as_deref(),
            seq.as_deref(),
            arrival.as_deref(),
            &self.opts,
        )
    }
}

fn text_field(v: Value, field: &str) -> Result<String, CodecError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.as_str().to_owned()),
        other => Err(CodecError::wrong_type(field, "a string", &other)),
    }
}

impl Iterator for Messages<'_> {
    type Item = Result<KinesisMessage, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((offset, item)) = self.pending.next() {
                self.count += 1;
                let index = self.count;
                return Some(item.map_err(|source| DecodeError {
                    index,
                    offset,
                    source,
                }));
            }
            let (_, offset, doc) = self.docs.next_value()?;
            let mut batch = Vec::new();
            match doc {
                Err(e) => batch.push((offset, Err(e))),
                Ok(Value::Object(fields)) if fields.get("Records").is_some() => {
                    let mut fields = fields;
                    match fields.remove("Records") {
                        Some(Value::Array(items)) => {
                            for item in items {
                                let r = match item {
                                    Value::Object(f) => self.envelope(f),
                                    other => Err(CodecError::wrong_type(
                                        "Records[]",
                                        "an object",
                                        &other,
                                    )),
                                };
                                batch.push((offset, r));
                            }
                        }
                        Some(other) => batch.push((
                            offset,
                            Err(CodecError::wrong_type("Records", "an array", &other)),
                        )),
                        None => {}
                    }
                }
                Ok(Value::Object(fields))
                    if fields.get("Data").is_some() && fields.get("metadata").is_none() =>
                {
                    batch.push((offset, self.envelope(fields)));
                }
                Ok(v) => batch.push((
                    offset,
                    record_from_value(v, &self.opts).map(|record| KinesisMessage {
                        record,
                        partition_key: None,
                        sequence_number: None,
                        approximate_arrival: None,
                    }),
                )),
            }
            self.pending = batch.into_iter();
        }
    }
}
