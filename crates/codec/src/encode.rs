//! Encoding DMS messages exactly as DMS writes them.
//!
//! DMS builds its Kinesis messages with cJSON. The `json` layout is cJSON's formatted print:
//! one tab of indentation per level, `":\t"` between key and value, arrays on one line with
//! `", "` between items, and an empty object printed as `{` newline, indentation, `}`.
//! `json-unformatted` is cJSON's unformatted print (no white space at all) followed by a
//! newline. See docs/dms-format.md for the evidence and the choices made where it is silent.

use crate::record::{ColumnDef, Control, Metadata, Record, TableDef};
use crate::value::{Fields, Number, Value};

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

/// One of the format's own keys, written out in both layouts.
#[derive(Clone, Copy)]
struct PlainKey {
    pretty: &'static [u8],
    compact: &'static [u8],
}

/// A [`PlainKey`] from a key literal that needs no escaping.
macro_rules! plain_key {
    ($k:literal) => {
        PlainKey {
            pretty: concat!("\"", $k, "\":\t").as_bytes(),
            compact: concat!("\"", $k, "\":").as_bytes(),
        }
    };
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

    /// Opens an object.
    fn open(&mut self) {
        self.buf.push(b'{');
        if self.pretty {
            self.buf.push(b'\n');
        }
    }

    /// The separator before a member at `depth` (none before the first): `,` then, when
    /// pretty, a newline and `depth` tabs, in one copy.
    #[inline]
    fn separator(&mut self, depth: usize, first: &mut bool) {
        const PRETTY: &[u8; 34] =
            b",\n\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
        let from = if *first { 2 } else { 0 };
        *first = false;
        if self.pretty {
            if depth <= 14 {
                // A fixed 16-byte copy (no call to memcpy), then cut to the real length.
                let len = self.buf.len() + 2 + depth - from;
                if let Some(window) = PRETTY.get(from..from + 16) {
                    self.buf.extend_from_slice(window);
                }
                self.buf.truncate(len);
            } else {
                self.buf.extend_from_slice(&PRETTY[from..2]);
                self.indent(depth);
            }
        } else if from == 0 {
            self.buf.push(b',');
        }
    }

    /// Writes a member's key (and the separator before it unless `first`); `depth` is the
    /// depth of the object's members (1 for the top-level object's members).
    fn key(&mut self, depth: usize, first: &mut bool, k: &str) {
        self.separator(depth, first);
        self.string(k);
        self.buf
            .extend_from_slice(if self.pretty { b":\t" } else { b":" });
    }

    /// Like [`Out::key`] for a constant key that needs no escaping (the format's own keys),
    /// given already quoted with its `:` (and the tab when pretty): see [`plain_key!`].
    fn key_plain(&mut self, depth: usize, first: &mut bool, k: PlainKey) {
        self.separator(depth, first);
        self.buf
            .extend_from_slice(if self.pretty { k.pretty } else { k.compact });
    }

    /// Closes an object; `empty` when no member was written.
    fn close(&mut self, depth: usize, empty: bool) {
        if self.pretty {
            if !empty {
                self.buf.push(b'\n');
            }
            self.indent(depth.saturating_sub(1));
        }
        self.buf.push(b'}');
    }

    /// Writes an object from an iterator of entries.
    fn object<'v, I, F>(&mut self, depth: usize, entries: I, mut write_value: F)
    where
        I: IntoIterator<Item = (&'v str, EntryValue<'v>)>,
        F: FnMut(&mut Self, usize, EntryValue<'v>),
    {
        self.open();
        let mut first = true;
        for (k, v) in entries {
            self.key(depth, &mut first, k);
            write_value(self, depth + 1, v);
        }
        self.close(depth, first);
    }

    /// Writes an object of plain values from an iterator.
    fn value_object<'v>(
        &mut self,
        depth: usize,
        entries: impl Iterator<Item = (&'v str, &'v Value)>,
    ) {
        self.open();
        let mut first = true;
        for (k, v) in entries {
            self.key(depth, &mut first, k);
            self.value(depth + 1, v);
        }
        self.close(depth, first);
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
        self.value_object(depth, o.iter());
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
            out.object(
                depth,
                cols.iter()
                    .map(|(k, c)| (k.as_str(), EntryValue::Column(c))),
                write_entry,
            );
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
                e.push((
                    "nullable",
                    EntryValue::Raw(if n { "true" } else { "false" }),
                ));
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
            write_metadata(out, depth, &MetadataRef::from(m), m.extra.iter(), None)
        }
    }
}

/// A number in borrowed metadata: a plain integer or a kept literal.
#[derive(Clone, Copy, Debug)]
pub enum NumRef<'a> {
    /// An unsigned integer.
    U64(u64),
    /// A number literal (as decoded).
    Literal(&'a Number),
}

/// The `metadata` object with borrowed fields, for writing records without building a
/// [`Record`] (the engine's hot path). Same key order and rules as [`Metadata`].
#[derive(Clone, Copy, Debug)]
pub struct MetadataRef<'a> {
    /// `timestamp`.
    pub timestamp: &'a str,
    /// `record-type`.
    pub record_type: &'a str,
    /// `operation`.
    pub operation: &'a str,
    /// `partition-key-type`.
    pub partition_key_type: Option<&'a str>,
    /// `partition-key-value`.
    pub partition_key_value: Option<&'a str>,
    /// `schema-name`.
    pub schema_name: &'a str,
    /// `table-name`.
    pub table_name: &'a str,
    /// `transaction-id`.
    pub transaction_id: Option<NumRef<'a>>,
    /// `transaction-record-id`.
    pub transaction_record_id: Option<NumRef<'a>>,
    /// `prev-transaction-id`.
    pub prev_transaction_id: Option<NumRef<'a>>,
    /// `prev-transaction-record-id`.
    pub prev_transaction_record_id: Option<NumRef<'a>>,
    /// `commit-timestamp`.
    pub commit_timestamp: Option<&'a str>,
    /// `stream-position`.
    pub stream_position: Option<&'a str>,
}

impl<'a> From<&'a Metadata> for MetadataRef<'a> {
    fn from(m: &'a Metadata) -> Self {
        MetadataRef {
            timestamp: &m.timestamp,
            record_type: m.record_type.as_str(),
            operation: m.operation.as_str(),
            partition_key_type: m.partition_key_type.as_ref().map(|t| t.as_str()),
            partition_key_value: m.partition_key_value.as_deref(),
            schema_name: &m.schema_name,
            table_name: &m.table_name,
            transaction_id: m.transaction_id.as_ref().map(NumRef::Literal),
            transaction_record_id: m.transaction_record_id.as_ref().map(NumRef::Literal),
            prev_transaction_id: m.prev_transaction_id.as_ref().map(NumRef::Literal),
            prev_transaction_record_id: m.prev_transaction_record_id.as_ref().map(NumRef::Literal),
            commit_timestamp: m.commit_timestamp.as_deref(),
            stream_position: m.stream_position.as_deref(),
        }
    }
}

/// Appends `v` in decimal.
#[inline]
fn write_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A value a [`MetadataTemplate`] leaves out, written per record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hole {
    RecordId,
    PartitionKeyValue,
}

/// Writes the `metadata` object. With `holes`, the values of `transaction-record-id` and
/// `partition-key-value` (when present) are left out and their offsets recorded instead.
fn write_metadata<'e>(
    out: &mut Out<'_>,
    depth: usize,
    m: &MetadataRef<'_>,
    extra: impl Iterator<Item = (&'e str, &'e Value)>,
    mut holes: Option<&mut Vec<(usize, Hole)>>,
) {
    fn num(out: &mut Out<'_>, n: NumRef<'_>) {
        match n {
            NumRef::U64(v) => write_u64(out.buf, v),
            NumRef::Literal(l) => out.raw(l.as_str()),
        }
    }
    let d = depth;
    let mut first = true;
    out.open();
    out.key_plain(d, &mut first, plain_key!("timestamp"));
    out.string(m.timestamp);
    out.key_plain(d, &mut first, plain_key!("record-type"));
    out.string(m.record_type);
    out.key_plain(d, &mut first, plain_key!("operation"));
    out.string(m.operation);
    if let Some(v) = m.partition_key_type {
        out.key_plain(d, &mut first, plain_key!("partition-key-type"));
        out.string(v);
    }
    if let Some(v) = m.partition_key_value {
        out.key_plain(d, &mut first, plain_key!("partition-key-value"));
        match holes.as_deref_mut() {
            Some(h) => h.push((out.buf.len(), Hole::PartitionKeyValue)),
            None => out.string(v),
        }
    }
    out.key_plain(d, &mut first, plain_key!("schema-name"));
    out.string(m.schema_name);
    out.key_plain(d, &mut first, plain_key!("table-name"));
    out.string(m.table_name);
    for (k, v) in [
        (plain_key!("transaction-id"), m.transaction_id),
        (plain_key!("transaction-record-id"), m.transaction_record_id),
        (plain_key!("prev-transaction-id"), m.prev_transaction_id),
        (
            plain_key!("prev-transaction-record-id"),
            m.prev_transaction_record_id,
        ),
    ] {
        if let Some(v) = v {
            out.key_plain(d, &mut first, k);
            match holes.as_deref_mut() {
                Some(h) if k.compact == plain_key!("transaction-record-id").compact => {
                    h.push((out.buf.len(), Hole::RecordId));
                }
                _ => num(out, v),
            }
        }
    }
    if let Some(v) = m.commit_timestamp {
        out.key_plain(d, &mut first, plain_key!("commit-timestamp"));
        out.string(v);
    }
    if let Some(v) = m.stream_position {
        out.key_plain(d, &mut first, plain_key!("stream-position"));
        out.string(v);
    }
    for (k, v) in extra {
        out.key(d, &mut first, k);
        out.value(d + 1, v);
    }
    out.close(d, first);
}

/// Appends a data record built from borrowed parts: the row, an optional before-image
/// (its key and fields) and the metadata. Produces exactly the bytes [`encode_into`] writes
/// for the equivalent [`Record`], without building one.
pub fn encode_data_into<'v, D, B>(
    format: MessageFormat,
    data: D,
    before_image: Option<(&str, B)>,
    metadata: &MetadataRef<'_>,
    buf: &mut Vec<u8>,
) where
    D: Iterator<Item = (&'v str, &'v Value)>,
    B: Iterator<Item = (&'v str, &'v Value)>,
{
    let mut out = Out {
        buf,
        pretty: format == MessageFormat::Json,
    };
    let mut first = true;
    out.open();
    out.key_plain(1, &mut first, plain_key!("data"));
    out.value_object(2, data);
    if let Some((field, before)) = before_image {
        out.key(1, &mut first, field);
        out.value_object(2, before);
    }
    out.key_plain(1, &mut first, plain_key!("metadata"));
    write_metadata(&mut out, 2, metadata, std::iter::empty(), None);
    out.close(1, first);
    if format == MessageFormat::JsonUnformatted {
        out.buf.push(b'\n');
    }
}

/// Appends `record` to `buf` in the given layout.
///
/// Top-level key order: `data`, the before-image, `control`, `metadata`, then unknown keys
/// kept from decoding. This is the order of every real capture (docs/dms-format.md).
pub fn encode_into(record: &Record, format: MessageFormat, buf: &mut Vec<u8>) {
    let mut out = Out {
        buf,
        pretty: format == MessageFormat::Json,
    };
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

/// True for the bytes cJSON escapes: `"`, `\\` and control characters. (`|`, not `||`: no
/// branches, so the block checks below vectorize.)
#[inline(always)]
fn needs_escape(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// True when no byte of `bytes` is `bad` (a branch-free test). Whole 32-byte blocks are
/// checked without branches, which the compiler turns into SIMD compares; the tail is the
/// last 32 or 16 bytes again (overlapping), else padded with a byte that is not `bad`.
#[inline(always)]
fn none_in_blocks(bytes: &[u8], bad: impl Fn(u8) -> bool + Copy) -> bool {
    #[inline(always)]
    fn block<const N: usize>(block: &[u8; N], bad: impl Fn(u8) -> bool) -> bool {
        let mut hit = [false; N];
        for (h, &c) in hit.iter_mut().zip(block) {
            *h = bad(c);
        }
        !hit.iter().fold(false, |acc, &h| acc | h)
    }
    let (blocks, rest) = bytes.as_chunks::<32>();
    if !blocks.iter().all(|b| block(b, bad)) {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    if let Some(last) = bytes.last_chunk::<32>() {
        return block(last, bad);
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<16>(), bytes.last_chunk::<16>()) {
        return block(first, bad) && block(last, bad);
    }
    let mut last = [b'a'; 16];
    let Some(head) = last.get_mut(..rest.len()) else {
        return false;
    };
    head.copy_from_slice(rest);
    block(&last, bad)
}

/// True when no byte of `bytes` needs an escape.
#[inline]
fn is_clean(bytes: &[u8]) -> bool {
    none_in_blocks(bytes, needs_escape)
}

/// True when `bytes` are printable ASCII with nothing to escape: every byte in
/// `0x20..0x80` except `"` and `\`. Such bytes are valid UTF-8 and are written as a JSON
/// string between quotes as they are ([`crate::ValueRef::CleanStr`]). One pass answers both
/// questions (is it UTF-8, does it need escapes).
pub fn is_clean_ascii(bytes: &[u8]) -> bool {
    none_in_blocks(bytes, |c| needs_escape(c) | (c >= 0x80))
}

/// Appends `bytes`, which [`is_clean_ascii`] accepted, as a JSON string: between quotes, as
/// they are.
pub(crate) fn write_clean(buf: &mut Vec<u8>, bytes: &[u8]) {
    debug_assert!(is_clean_ascii(bytes), "write_clean needs clean ASCII");
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(bytes);
    buf.push(b'"');
}

/// Appends `s` as a JSON string the way cJSON escapes it: `"` `\` and the control
/// characters `\b \f \n \r \t` by name, other control characters as `\u00XX`, everything
/// else (including `/` and non-ASCII) verbatim.
pub fn write_escaped(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    if is_clean(bytes) {
        buf.extend_from_slice(bytes);
    } else {
        escape_into(buf, bytes);
    }
    buf.push(b'"');
}

/// The escaping loop for strings that need it: clean runs are copied whole.
#[cold]
fn escape_into(buf: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if !needs_escape(c) {
            continue;
        }
        buf.extend_from_slice(&bytes[run..i]);
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            _ => {
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[(c >> 4) as usize]);
                buf.push(HEX[(c & 15) as usize]);
            }
        }
        run = i + 1;
    }
    buf.extend_from_slice(&bytes[run..]);
}

// After `plain_key!`, which it uses.
mod template;
pub use template::{DataRecordTemplate, MetadataTemplate};

#[cfg(test)]
mod escape_tests {
    use super::{is_clean_ascii, write_clean, write_escaped};

    /// The obvious byte-by-byte cJSON escaping, to compare the fast path with.
    fn reference(s: &str) -> Vec<u8> {
        let mut out = vec![b'"'];
        for &c in s.as_bytes() {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
                c => out.push(c),
            }
        }
        out.push(b'"');
        out
    }

    #[test]
    fn every_ascii_byte_at_every_block_offset_escapes_like_cjson() {
        for b in 0u8..0x80 {
            for at in [0usize, 1, 7, 8, 15, 16, 17, 31, 32, 40] {
                let mut s = "a".repeat(at);
                s.push(char::from(b));
                s.push_str("é-zz");
                let mut out = Vec::new();
                write_escaped(&mut out, &s);
                assert_eq!(out, reference(&s), "byte {b:#x} at {at}");
            }
        }
        let mut out = Vec::new();
        write_escaped(&mut out, "");
        assert_eq!(out, b"\"\"");
    }

    #[test]
    fn clean_ascii_at_every_length_and_offset() {
        // Every length from 0 to 100 (the block, overlap and padding paths), one bad byte at
        // every offset: clean exactly when no byte needs an escape or is not ASCII, and then
        // written as `write_escaped` writes it.
        for len in 0usize..100 {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(is_clean_ascii(&base), "len {len}");
            let mut clean = Vec::new();
            write_clean(&mut clean, &base);
            let mut escaped = Vec::new();
            write_escaped(&mut escaped, std::str::from_utf8(&base).unwrap_or_default());
            assert_eq!(clean, escaped);
            for at in 0..len {
                for b in [0x00u8, 0x1f, b'"', b'\\', 0x80, 0xc3, 0xff] {
                    let mut v = base.clone();
                    v[at] = b;
                    assert!(!is_clean_ascii(&v), "len {len}, byte {b:#x} at {at}");
                }
                for b in [b' ', b'~', 0x7f, b'/', b'\'', b'{'] {
                    let mut v = base.clone();
                    v[at] = b;
                    assert!(is_clean_ascii(&v), "len {len}, byte {b:#x} at {at}");
                }
            }
        }
    }
}
