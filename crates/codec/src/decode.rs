//! Decoding DMS messages from bytes.

use crate::error::{CodecError, DecodeError};
use crate::json::Reader;
use crate::record::{
    ColumnDef, Control, DEFAULT_BEFORE_IMAGE_FIELD, Metadata, Operation, PartitionKeyType, Record,
    RecordType, TableDef,
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
        DecodeOptions {
            before_image_field: DEFAULT_BEFORE_IMAGE_FIELD.to_owned(),
        }
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
    let mut r = Reader::new(text);
    let record = record_from_reader(&mut r, opts)?;
    if r.skip_ws() {
        return Err(CodecError::Syntax(r.error_at(
            r.offset(),
            "trailing characters after the JSON document",
        )));
    }
    Ok(record)
}

/// Reads one record straight from the JSON text, without building a tree for the parts the
/// model types (keys are borrowed, metadata values go straight into their fields).
fn record_from_reader(r: &mut Reader<'_>, opts: &DecodeOptions) -> Result<Record, CodecError> {
    if !r.at(b'{') {
        let v = r.value()?;
        return Err(CodecError::wrong_type("(record)", "an object", &v));
    }
    r.begin_object()?;
    let mut first = true;
    let mut data = None;
    let mut before_image = None;
    let mut control = None;
    let mut metadata = None;
    let mut extra = Fields::new();
    while let Some(key) = r.next_member(&mut first)? {
        match &*key {
            "data" => data = Some(fields_from_reader(r, "data")?),
            "metadata" => metadata = Some(metadata_from_reader(r)?),
            "control" => control = Some(control_from(r.value()?)?),
            k if k == opts.before_image_field => before_image = Some(fields_from_reader(r, k)?),
            _ => {
                let v = r.value()?;
                extra.push(key.into_owned(), v);
            }
        }
    }
    finish_record(data, before_image, control, metadata, extra, opts)
}

fn fields_from_reader(r: &mut Reader<'_>, field: &str) -> Result<Fields, CodecError> {
    if !r.at(b'{') {
        let v = r.value()?;
        return Err(CodecError::wrong_type(field, "an object", &v));
    }
    r.begin_object()?;
    let mut first = true;
    let mut out = Fields::with_capacity(16);
    while let Some(key) = r.next_member(&mut first)? {
        let v = r.value()?;
        out.push(key.into_owned(), v);
    }
    Ok(out)
}

fn metadata_from_reader(r: &mut Reader<'_>) -> Result<Metadata, CodecError> {
    if !r.at(b'{') {
        let v = r.value()?;
        return Err(CodecError::wrong_type("metadata", "an object", &v));
    }
    r.begin_object()?;
    let mut first = true;
    let mut b = MetadataBuilder::default();
    while let Some(key) = r.next_member(&mut first)? {
        let v = r.value()?;
        b.set(key.into_owned(), v)?;
    }
    b.finish()
}

fn finish_record(
    data: Option<Fields>,
    before_image: Option<Fields>,
    control: Option<Control>,
    metadata: Option<Metadata>,
    extra: Fields,
    opts: &DecodeOptions,
) -> Result<Record, CodecError> {
    let metadata = metadata.ok_or_else(|| missing("metadata"))?;
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

pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, CodecError> {
    std::str::from_utf8(bytes).map_err(|e| CodecError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })
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
        Records {
            reader: Reader::new(text),
            text,
            opts,
            index: 0,
            done: false,
        }
    }

    /// Reads records from bytes; invalid UTF-8 is reported as the first item.
    pub fn from_bytes(bytes: &'a [u8], opts: DecodeOptions) -> Result<Self, DecodeError> {
        let text = utf8(bytes).map_err(|e| DecodeError {
            index: 1,
            offset: 0,
            source: e,
        })?;
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
        if self.done || !self.reader.skip_ws() {
            return None;
        }
        self.index += 1;
        let index = self.index;
        let offset = self.reader.offset();
        match record_from_reader(&mut self.reader, &self.opts) {
            Ok(r) => Some(Ok(r)),
            Err(source) => {
                // Step over the rest of the bad document: a well-formed one is skipped
                // exactly; a malformed one by resynchronising at the next record line.
                self.reader.set_offset(offset);
                if self.reader.value().is_err() {
                    self.resync(offset);
                }
                Some(Err(DecodeError {
                    index,
                    offset,
                    source,
                }))
            }
        }
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
    let metadata = match metadata {
        Some(v) => Some(metadata_from(v)?),
        None => None,
    };
    finish_record(data, before_image, control, metadata, extra, opts)
}

fn missing(field: &str) -> CodecError {
    CodecError::MissingField {
        field: field.to_owned(),
    }
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
    let mut b = MetadataBuilder::default();
    for (key, v) in object(v, "metadata")? {
        b.set(key, v)?;
    }
    b.finish()
}

/// Collects metadata fields in any order and checks the required ones at the end.
#[derive(Default)]
struct MetadataBuilder {
    timestamp: Option<String>,
    record_type: Option<RecordType>,
    operation: Option<Operation>,
    schema: Option<String>,
    table: Option<String>,
    m: Option<Metadata>,
}

impl MetadataBuilder {
    fn m(&mut self) -> &mut Metadata {
        self.m.get_or_insert_with(|| {
            Metadata::new(
                String::new(),
                RecordType::Data,
                Operation::Load,
                String::new(),
                String::new(),
            )
        })
    }

    fn set(&mut self, key: String, v: Value) -> Result<(), CodecError> {
        match key.as_str() {
            "timestamp" => self.timestamp = Some(string(v, "metadata.timestamp")?),
            "record-type" => {
                self.record_type = Some(RecordType::parse(&string(v, "metadata.record-type")?))
            }
            "operation" => {
                self.operation = Some(Operation::parse(&string(v, "metadata.operation")?))
            }
            "partition-key-type" => {
                self.m().partition_key_type = Some(PartitionKeyType::parse(&string(
                    v,
                    "metadata.partition-key-type",
                )?))
            }
            "partition-key-value" => {
                self.m().partition_key_value = Some(string(v, "metadata.partition-key-value")?)
            }
            "schema-name" => self.schema = Some(string(v, "metadata.schema-name")?),
            "table-name" => self.table = Some(string(v, "metadata.table-name")?),
            "transaction-id" => {
                self.m().transaction_id = Some(number(v, "metadata.transaction-id")?)
            }
            "transaction-record-id" => {
                self.m().transaction_record_id = Some(number(v, "metadata.transaction-record-id")?)
            }
            "prev-transaction-id" => {
                self.m().prev_transaction_id = Some(number(v, "metadata.prev-transaction-id")?)
            }
            "prev-transaction-record-id" => {
                self.m().prev_transaction_record_id =
                    Some(number(v, "metadata.prev-transaction-record-id")?)
            }
            "commit-timestamp" => {
                self.m().commit_timestamp = Some(string(v, "metadata.commit-timestamp")?)
            }
            "stream-position" => {
                self.m().stream_position = Some(string(v, "metadata.stream-position")?)
            }
            _ => self.m().extra.push(key, v),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Metadata, CodecError> {
        let timestamp = self
            .timestamp
            .take()
            .ok_or_else(|| missing("metadata.timestamp"))?;
        let record_type = self
            .record_type
            .take()
            .ok_or_else(|| missing("metadata.record-type"))?;
        let operation = self
            .operation
            .take()
            .ok_or_else(|| missing("metadata.operation"))?;
        let schema = self
            .schema
            .take()
            .ok_or_else(|| missing("metadata.schema-name"))?;
        let table = self
            .table
            .take()
            .ok_or_else(|| missing("metadata.table-name"))?;
        let mut m = self.m.take().unwrap_or_else(|| {
            Metadata::new(
                String::new(),
                RecordType::Data,
                Operation::Load,
                String::new(),
                String::new(),
            )
        });
        m.timestamp = timestamp;
        m.record_type = record_type;
        m.operation = operation;
        m.schema_name = schema;
        m.table_name = table;
        Ok(m)
    }
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
                    return Err(CodecError::wrong_type(
                        "control.table-def.primary-key",
                        "an array",
                        &v,
                    ));
                };
                let pk = items
                    .into_iter()
                    .map(|i| string(i, "control.table-def.primary-key[]"))
                    .collect::<Result<Vec<_>, _>>()?;
                t.primary_key = Some(pk);
            }
            "collation-name" => {
                t.collation_name = Some(string(v, "control.table-def.collation-name")?)
            }
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
                other => {
                    return Err(CodecError::wrong_type(
                        format!("{path}.nullable"),
                        "a boolean",
                        &other,
                    ));
                }
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
