//! Decoding DMS messages from bytes.

use crate::error::{CodecError, DecodeError};
use crate::json::Reader;
use crate::record::{
    ColumnDef, Control, DEFAULT_BEFORE_IMAGE_FIELD, Metadata, Operation, PartitionKeyType, Record, RecordType, TableDef,
};
use crate::value::{Fields, Number, Value};

/// Options for decoding.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Name of the before-image key (`BeforeImageSettings.FieldName`); default `before-image`.
    pub before_image_field: String,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { before_image_field: DEFAULT_BEFORE_IMAGE_FIELD.to_owned() }
    }
}

/// Decodes one DMS message (either layout: `json` or `json-unformatted`).
///
/// Surrounding white space is allowed (DMS's `json-unformatted` ends with a newline).
/// Unknown keys and unknown operations are kept; missing required metadata and wrong types
/// are errors that name the field.
pub fn decode(bytes: &[u8]) -> Result<Record, CodecError> {
    decode_with(bytes, &DecodeOptions::default())
}

/// [`decode`] with options.
pub fn decode_with(bytes: &[u8], opts: &DecodeOptions) -> Result<Record, CodecError> {
    let text = utf8(bytes)?;
    let value = crate::json::parse(text)?;
    record_from_value(value, opts)
}

pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, CodecError> {
    std::str::from_utf8(bytes).map_err(|e| CodecError::InvalidUtf8 { offset: e.valid_up_to() })
}

/// Iterates over the DMS messages in a text that holds several: concatenated, or separated
/// by white space or newlines (both layouts, mixed).
///
/// Each item is a record or a [`DecodeError`] with the record's index and byte offset. After
/// a JSON syntax error the iterator resynchronises at the next line that starts with `{`,
/// so one bad record does not hide the good ones after it.
#[derive(Debug)]
pub struct Records<'a> {
    reader: Reader<'a>,
    text: &'a str,
    opts: DecodeOptions,
    index: usize,
    done: bool,
}

impl<'a> Records<'a> {
    /// Reads records from UTF-8 text.
    pub fn new(text: &'a str, opts: DecodeOptions) -> Self {
        Records { reader: Reader::new(text), text, opts, index: 0, done: false }
    }

    /// Reads records from bytes; invalid UTF-8 is reported as the first item.
    pub fn from_bytes(bytes: &'a [u8], opts: DecodeOptions) -> Result<Self, DecodeError> {
        let text = utf8(bytes).map_err(|e| DecodeError { index: 1, offset: 0, source: e })?;
        Ok(Records::new(text, opts))
    }

    /// Reads the next JSON value without interpreting it.
    pub(crate) fn next_value(&mut self) -> Option<(usize, usize, Result<Value, CodecError>)> {
        if self.done || !self.reader.skip_ws() {
            return None;
        }
        self.index += 1;
        let start = self.reader.offset();
        match self.reader.value() {
            Ok(v) => Some((self.index, start, Ok(v))),
            Err(e) => {
                self.resync(start);
                Some((self.index, start, Err(CodecError::Syntax(e))))
            }
        }
    }

    /// Moves to the next line starting with `{` after `start`, or to the end.
    fn resync(&mut self, start: usize) {
        let bytes = self.text.as_bytes();
        let next = bytes
            .get(start + 1..)
            .and_then(|rest| rest.windows(2).position(|w| w == b"\n{"))
            .map(|i| start + 1 + i + 1);
        match next {
            Some(pos) => self.reader.set_offset(pos),
            None => self.done = true,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (index, offset, v) = self.next_value()?;
        Some(
            v.and_then(|v| record_from_value(v, &self.opts))
                .map_err(|source| DecodeError { index, offset, source }),
        )
    }
}

/// Interprets a parsed JSON value as a DMS message.
pub fn record_from_value(value: Value, opts: &DecodeOptions) -> Result<Record, CodecError> {
    let Value::Object(top) = value else {
        return Err(CodecError::wrong_type("(record)", "an object", &value));
    };
    let mut data = None;
    let mut before_image = None;
    let mut control = None;
    let mut metadata = None;
    let mut extra = Fields::new();
    for (key, v) in top {
        match key.as_str() {
            "data" => data = Some(object(v, "data")?),
            "control" => control = Some(control_from(v)?),
            "metadata" => metadata = Some(v),
            k if k == opts.before_image_field => before_image = Some(object(v, &key)?),
            _ => extra.push(key, v),
        }
    }
    let metadata = metadata_from(metadata.ok_or_else(|| missing("metadata"))?)?;
    if metadata.record_type == RecordType::Data && data.is_none() {
        return Err(missing("data"));
    }
    Ok(Record {
        data,
        before_image,
        before_image_field: opts.before_image_field.clone(),
        control,
        metadata,
        extra,
    })
}

fn missing(field: &str) -> CodecError {
    CodecError::MissingField { field: field.to_owned() }
}

fn object(v: Value, field: &str) -> Result<Fields, CodecError> {
    match v {
        Value::Object(o) => Ok(o),
        other => Err(CodecError::wrong_type(field, "an object", &other)),
    }
}

fn string(v: Value, field: &str) -> Result<String, CodecError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(CodecError::wrong_type(field, "a string", &other)),
    }
}

fn number(v: Value, field: &str) -> Result<Number, CodecError> {
    match v {
        Value::Number(n) => Ok(n),
        other => Err(CodecError::wrong_type(field, "a number", &other)),
    }
}

fn metadata_from(v: Value) -> Result<Metadata, CodecError> {
    let fields = object(v, "metadata")?;
    let mut timestamp = None;
    let mut record_type = None;
    let mut operation = None;
    let mut m = Metadata::new(String::new(), RecordType::Data, Operation::Load, String::new(), String::new());
    let mut schema = None;
    let mut table = None;
    for (key, v) in fields {
        match key.as_str() {
            "timestamp" => timestamp = Some(string(v, "metadata.timestamp")?),
            "record-type" => record_type = Some(RecordType::parse(&string(v, "metadata.record-type")?)),
            "operation" => operation = Some(Operation::parse(&string(v, "metadata.operation")?)),
            "partition-key-type" => {
                m.partition_key_type = Some(PartitionKeyType::parse(&string(v, "metadata.partition-key-type")?))
            }
            "partition-key-value" => m.partition_key_value = Some(string(v, "metadata.partition-key-value")?),
            "schema-name" => schema = Some(string(v, "metadata.schema-name")?),
            "table-name" => table = Some(string(v, "metadata.table-name")?),
            "transaction-id" => m.transaction_id = Some(number(v, "metadata.transaction-id")?),
            "transaction-record-id" => m.transaction_record_id = Some(number(v, "metadata.transaction-record-id")?),
            "prev-transaction-id" => m.prev_transaction_id = Some(number(v, "metadata.prev-transaction-id")?),
            "prev-transaction-record-id" => {
                m.prev_transaction_record_id = Some(number(v, "metadata.prev-transaction-record-id")?)
            }
            "commit-timestamp" => m.commit_timestamp = Some(string(v, "metadata.commit-timestamp")?),
            "stream-position" => m.stream_position = Some(string(v, "metadata.stream-position")?),
            _ => m.extra.push(key, v),
        }
    }
    m.timestamp = timestamp.ok_or_else(|| missing("metadata.timestamp"))?;
    m.record_type = record_type.ok_or_else(|| missing("metadata.record-type"))?;
    m.operation = operation.ok_or_else(|| missing("metadata.operation"))?;
    m.schema_name = schema.ok_or_else(|| missing("metadata.schema-name"))?;
    m.table_name = table.ok_or_else(|| missing("metadata.table-name"))?;
    Ok(m)
}

fn control_from(v: Value) -> Result<Control, CodecError> {
    let fields = object(v, "control")?;
    let mut c = Control::default();
    for (key, v) in fields {
        if key == "table-def" {
            c.table_def = Some(table_def_from(v)?);
        } else {
            c.extra.push(key, v);
        }
    }
    Ok(c)
}

fn table_def_from(v: Value) -> Result<TableDef, CodecError> {
    let fields = object(v, "control.table-def")?;
    let mut t = TableDef::default();
    for (key, v) in fields {
        match key.as_str() {
            "columns" => {
                for (name, col) in object(v, "control.table-def.columns")? {
                    let path = format!("control.table-def.columns.{name}");
                    t.columns.push((name, column_def_from(col, &path)?));
                }
            }
            "primary-key" => {
                let Value::Array(items) = v else {
                    return Err(CodecError::wrong_type("control.table-def.primary-key", "an array", &v));
                };
                let pk = items
                    .into_iter()
                    .map(|i| string(i, "control.table-def.primary-key[]"))
                    .collect::<Result<Vec<_>, _>>()?;
                t.primary_key = Some(pk);
            }
            "collation-name" => t.collation_name = Some(string(v, "control.table-def.collation-name")?),
            _ => t.extra.push(key, v),
        }
    }
    Ok(t)
}

fn column_def_from(v: Value, path: &str) -> Result<ColumnDef, CodecError> {
    let fields = object(v, path)?;
    let mut c = ColumnDef::default();
    let mut ty = None;
    for (key, v) in fields {
        match key.as_str() {
            "type" => ty = Some(string(v, &format!("{path}.type"))?),
            "length" => c.length = Some(unsigned(v, &format!("{path}.length"))?),
            "precision" => c.precision = Some(unsigned(v, &format!("{path}.precision"))?),
            "scale" => {
                let f = format!("{path}.scale");
                let n = number(v, &f)?;
                c.scale = Some(n.as_i64().ok_or_else(|| CodecError::InvalidValue {
                    field: f,
                    reason: format!("{n} is not an integer"),
                })?);
            }
            "nullable" => match v {
                Value::Bool(b) => c.nullable = Some(b),
                other => return Err(CodecError::wrong_type(format!("{path}.nullable"), "a boolean", &other)),
            },
            _ => c.extra.push(key, v),
        }
    }
    c.data_type = ty.ok_or_else(|| missing(&format!("{path}.type")))?;
    Ok(c)
}

fn unsigned(v: Value, field: &str) -> Result<u64, CodecError> {
    let n = number(v, field)?;
    n.as_u64().ok_or_else(|| CodecError::InvalidValue {
        field: field.to_owned(),
        reason: format!("{n} is not a non-negative integer that fits 64 bits"),
    })
}
