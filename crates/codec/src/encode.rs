//! Encoding DMS messages exactly as DMS writes them.
//!
//! DMS builds its Kinesis messages with cJSON. The `json` layout is cJSON's formatted print:
//! one tab of indentation per level, `":\t"` between key and value, arrays on one line with
//! `", "` between items, and an empty object printed as `{` newline, indentation, `}`.
//! `json-unformatted` is cJSON's unformatted print (no white space at all) followed by a
//! newline. See docs/dms-format.md for the evidence and the choices made where it is silent.

use crate::record::{ColumnDef, Control, Metadata, Record, TableDef};
use crate::value::{Fields, Value};

/// `KinesisSettings.MessageFormat`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum MessageFormat {
    /// `json` (DMS default): tab-indented, no trailing newline.
    #[default]
    Json,
    /// `json-unformatted`: one line, terminated by `\n`.
    JsonUnformatted,
}

impl MessageFormat {
    /// The API value (`json` / `json-unformatted`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageFormat::Json => "json",
            MessageFormat::JsonUnformatted => "json-unformatted",
        }
    }

    /// Parses the API value; the DMS console's `JSON` / `JSON_UNFORMATTED` spellings too.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "json" => Some(MessageFormat::Json),
            "json-unformatted" => Some(MessageFormat::JsonUnformatted),
            _ => None,
        }
    }
}

/// Where the bytes of the message go, and how they are laid out.
struct Out<'a> {
    buf: &'a mut Vec<u8>,
    pretty: bool,
}

impl Out<'_> {
    fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.buf.push(b'\t');
        }
    }

    fn string(&mut self, s: &str) {
        write_escaped(self.buf, s);
    }

    /// Writes an object from an iterator of entries; `depth` is the depth of the object's
    /// members (1 for the top-level object's members).
    fn object<'v, I, F>(&mut self, depth: usize, entries: I, mut write_value: F)
    where
        I: IntoIterator<Item = (&'v str, EntryValue<'v>)>,
        F: FnMut(&mut Self, usize, EntryValue<'v>),
    {
        self.buf.push(b'{');
        if self.pretty {
            self.buf.push(b'\n');
        }
        let mut first = true;
        for (k, v) in entries {
            if !first {
                self.buf.push(b',');
                if self.pretty {
                    self.buf.push(b'\n');
                }
            }
            first = false;
            if self.pretty {
                self.indent(depth);
            }
            self.string(k);
            self.buf.push(b':');
            if self.pretty {
                self.buf.push(b'\t');
            }
            write_value(self, depth + 1, v);
        }
        if self.pretty {
            if !first {
                self.buf.push(b'\n');
            }
            self.indent(depth.saturating_sub(1));
        }
        self.buf.push(b'}');
    }

    fn value(&mut self, depth: usize, v: &Value) {
        match v {
            Value::Null => self.raw("null"),
            Value::Bool(true) => self.raw("true"),
            Value::Bool(false) => self.raw("false"),
            Value::Number(n) => self.raw(n.as_str()),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.buf.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                        if self.pretty {
                            self.buf.push(b' ');
                        }
                    }
                    self.value(depth, item);
                }
                self.buf.push(b']');
            }
            Value::Object(o) => self.fields(depth, o),
        }
    }

    fn fields(&mut self, depth: usize, o: &Fields) {
        self.object(depth, o.iter().map(|(k, v)| (k, EntryValue::Value(v))), write_entry);
    }
}

/// The kinds of values the record writer puts into objects.
#[derive(Clone, Copy)]
enum EntryValue<'a> {
    Value(&'a Value),
    Str(&'a str),
    Raw(&'a str),
    Fields(&'a Fields),
    Control(&'a Control),
    TableDef(&'a TableDef),
    Columns(&'a [(String, ColumnDef)]),
    Column(&'a ColumnDef),
    Names(&'a [String]),
    Metadata(&'a Metadata),
}

fn write_entry(out: &mut Out<'_>, depth: usize, v: EntryValue<'_>) {
    match v {
        EntryValue::Value(v) => out.value(depth, v),
        EntryValue::Str(s) => out.string(s),
        EntryValue::Raw(s) => out.raw(s),
        EntryValue::Fields(f) => out.fields(depth, f),
        EntryValue::Control(c) => {
            let mut e: Vec<(&str, EntryValue<'_>)> = Vec::with_capacity(1 + c.extra.len());
            if let Some(t) = &c.table_def {
                e.push(("table-def", EntryValue::TableDef(t)));
            }
            e.extend(c.extra.iter().map(|(k, v)| (k, EntryValue::Value(v))));
            out.object(depth, e, write_entry);
        }
        EntryValue::TableDef(t) => {
            let mut e: Vec<(&str, EntryValue<'_>)> = Vec::with_capacity(3 + t.extra.len());
            e.push(("columns", EntryValue::Columns(&t.columns)));
            if let Some(pk) = &t.primary_key {
                e.push(("primary-key", EntryValue::Names(pk)));
            }
            if let Some(c) = &t.collation_name {
                e.push(("collation-name", EntryValue::Str(c)));
            }
            e.extend(t.extra.iter().map(|(k, v)| (k, EntryValue::Value(v))));
            out.object(depth, e, write_entry);
        }
        EntryValue::Columns(cols) => {
            out.object(depth, cols.iter().map(|(k, c)| (k.as_str(), EntryValue::Column(c))), write_entry);
        }
        EntryValue::Column(c) => {
            let length = c.length.map(|v| v.to_string());
            let precision = c.precision.map(|v| v.to_string());
            let scale = c.scale.map(|v| v.to_string());
            let mut e: Vec<(&str, EntryValue<'_>)> = Vec::with_capacity(5 + c.extra.len());
            e.push(("type", EntryValue::Str(&c.data_type)));
            if let Some(v) = &length {
                e.push(("length", EntryValue::Raw(v)));
            }
            if let Some(v) = &precision {
                e.push(("precision", EntryValue::Raw(v)));
            }
            if let Some(v) = &scale {
                e.push(("scale", EntryValue::Raw(v)));
            }
            if let Some(n) = c.nullable {
                e.push(("nullable", EntryValue::Raw(if n { "true" } else { "false" })));
            }
            e.extend(c.extra.iter().map(|(k, v)| (k, EntryValue::Value(v))));
            out.object(depth, e, write_entry);
        }
        EntryValue::Names(names) => {
            out.buf.push(b'[');
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.buf.push(b',');
                    if out.pretty {
                        out.buf.push(b' ');
                    }
                }
                out.string(n);
            }
            out.buf.push(b']');
        }
        EntryValue::Metadata(m) => {
            let mut e: Vec<(&str, EntryValue<'_>)> = Vec::with_capacity(13 + m.extra.len());
            e.push(("timestamp", EntryValue::Str(&m.timestamp)));
            e.push(("record-type", EntryValue::Str(m.record_type.as_str())));
            e.push(("operation", EntryValue::Str(m.operation.as_str())));
            if let Some(t) = &m.partition_key_type {
                e.push(("partition-key-type", EntryValue::Str(t.as_str())));
            }
            if let Some(v) = &m.partition_key_value {
                e.push(("partition-key-value", EntryValue::Str(v)));
            }
            e.push(("schema-name", EntryValue::Str(&m.schema_name)));
            e.push(("table-name", EntryValue::Str(&m.table_name)));
            if let Some(v) = &m.transaction_id {
                e.push(("transaction-id", EntryValue::Raw(v.as_str())));
            }
            if let Some(v) = &m.transaction_record_id {
                e.push(("transaction-record-id", EntryValue::Raw(v.as_str())));
            }
            if let Some(v) = &m.prev_transaction_id {
                e.push(("prev-transaction-id", EntryValue::Raw(v.as_str())));
            }
            if let Some(v) = &m.prev_transaction_record_id {
                e.push(("prev-transaction-record-id", EntryValue::Raw(v.as_str())));
            }
            if let Some(v) = &m.commit_timestamp {
                e.push(("commit-timestamp", EntryValue::Str(v)));
            }
            if let Some(v) = &m.stream_position {
                e.push(("stream-position", EntryValue::Str(v)));
            }
            e.extend(m.extra.iter().map(|(k, v)| (k, EntryValue::Value(v))));
            out.object(depth, e, write_entry);
        }
    }
}

/// Appends `record` to `buf` in the given layout.
///
/// Top-level key order: `data`, the before-image, `control`, `metadata`, then unknown keys
/// kept from decoding. This is the order of every real capture (docs/dms-format.md).
pub fn encode_into(record: &Record, format: MessageFormat, buf: &mut Vec<u8>) {
    let mut out = Out { buf, pretty: format == MessageFormat::Json };
    let mut e: Vec<(&str, EntryValue<'_>)> = Vec::with_capacity(4 + record.extra.len());
    if let Some(d) = &record.data {
        e.push(("data", EntryValue::Fields(d)));
    }
    if let Some(b) = &record.before_image {
        e.push((record.before_image_field.as_str(), EntryValue::Fields(b)));
    }
    if let Some(c) = &record.control {
        e.push(("control", EntryValue::Control(c)));
    }
    e.push(("metadata", EntryValue::Metadata(&record.metadata)));
    e.extend(record.extra.iter().map(|(k, v)| (k, EntryValue::Value(v))));
    out.object(1, e, write_entry);
    if format == MessageFormat::JsonUnformatted {
        out.buf.push(b'\n');
    }
}

/// Encodes `record` into a new buffer.
pub fn encode(record: &Record, format: MessageFormat) -> Vec<u8> {
    let mut buf = Vec::with_capacity(512);
    encode_into(record, format, &mut buf);
    buf
}

/// Writes any value as compact JSON (cJSON unformatted, no trailing newline).
pub fn write_compact(value: &Value, buf: &mut Vec<u8>) {
    Out { buf, pretty: false }.value(1, value);
}

/// A value as a compact JSON string.
pub fn to_compact_string(value: &Value) -> String {
    let mut buf = Vec::new();
    write_compact(value, &mut buf);
    // Only valid UTF-8 is ever written: strings come from `str` and the rest is ASCII.
    String::from_utf8(buf).unwrap_or_default()
}

/// Appends `s` as a JSON string the way cJSON escapes it: `"` `\` and the control
/// characters `\b \f \n \r \t` by name, other control characters as `\u00XX`, everything
/// else (including `/` and non-ASCII) verbatim.
pub fn write_escaped(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            c if c < 0x20 => {
                buf.extend_from_slice(&bytes[run..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[(c >> 4) as usize]);
                buf.push(HEX[(c & 15) as usize]);
                run = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[run..i]);
        buf.extend_from_slice(esc);
        run = i + 1;
    }
    buf.extend_from_slice(&bytes[run..]);
    buf.push(b'"');
}
