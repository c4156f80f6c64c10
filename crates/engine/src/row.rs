//! Source rows rendered for writing: the JSON text of every column in one buffer.
//!
//! Full load and CDC render rows into [`RenderedRows`] (one per encoding job, reused, so a
//! row costs no allocation once the buffers have grown), and the encoder writes records from
//! its [`Row`]s. Values are rendered exactly as [`ColumnKind::render`] renders them; the
//! common kinds (integers, character data) are written straight into the buffer, the rest
//! go through `render`.

use crate::columns::ColumnKind;
use crate::pool::Pool;
use dmsrs_codec::{RenderOptions, Value, ValueRef, render};
use mysql_async::Value as MyValue;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Null,
    /// A number literal, `true` or `false`: `text[start..end]`.
    Literal(usize, usize),
    /// A string: `text[start..end]`.
    Str(usize, usize),
    /// A string of printable ASCII with nothing to escape: `clean[start..end]`.
    Clean(usize, usize),
    /// Any other value: `others[i]`.
    Other(usize),
}

/// Rendered rows: the columns (by source index) of one or more rows as JSON values, all in
/// one buffer. Rows are appended with [`RenderedRows::start_row`] and the `push_*` methods
/// and read back with [`RenderedRows::row`].
#[derive(Clone, Debug, Default)]
pub struct RenderedRows {
    text: String,
    /// Strings that [`dmsrs_codec::is_clean_ascii`] accepted, kept as bytes: they are
    /// written as they are, with no UTF-8 check and no escape scan.
    clean: Vec<u8>,
    cells: Vec<Cell>,
    others: Vec<Value>,
    /// Index of each row's first cell.
    starts: Vec<usize>,
}

/// One row of [`RenderedRows`].
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    text: &'a str,
    clean: &'a [u8],
    cells: &'a [Cell],
    others: &'a [Value],
}

impl<'a> Row<'a> {
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True without columns.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Column `i` (`null` past the end).
    pub fn get(&self, i: usize) -> ValueRef<'a> {
        match self.cells.get(i) {
            None | Some(Cell::Null) => ValueRef::Null,
            Some(Cell::Literal(a, b)) => ValueRef::Literal(self.text.get(*a..*b).unwrap_or("")),
            Some(Cell::Str(a, b)) => ValueRef::Str(self.text.get(*a..*b).unwrap_or("")),
            Some(Cell::Clean(a, b)) => {
                ValueRef::CleanStr(self.clean.get(*a..*b).unwrap_or_default())
            }
            Some(Cell::Other(k)) => self.others.get(*k).map_or(ValueRef::Null, ValueRef::Value),
        }
    }

    /// Column `i` as text, the way filters, expressions and partition keys see it; `None`
    /// for `null`.
    pub fn key_text(&self, i: usize) -> Option<Cow<'a, str>> {
        match self.get(i) {
            ValueRef::Null | ValueRef::Value(Value::Null) => None,
            ValueRef::Literal(s) | ValueRef::Str(s) => Some(Cow::Borrowed(s)),
            ValueRef::CleanStr(b) => Some(String::from_utf8_lossy(b)),
            ValueRef::Value(v) => Some(Cow::Owned(v.to_key_text())),
        }
    }

    /// Column `i` as an owned value.
    pub fn to_value(&self, i: usize) -> Value {
        owned(self.get(i))
    }
}

/// Buffers kept for [`RenderedRows::pooled`]: one per encoding job in flight is enough.
const POOL_SIZE: usize = 32;
/// A buffer that grew past this many bytes of text is not kept (one huge row should not
/// pin its memory). A CDC job renders about 32 KiB; the pool then pins at most
/// `POOL_SIZE` times twice this.
const POOL_MAX_TEXT: usize = 256 << 10;

/// Render buffers kept for reuse, sized by the larger of their two text buffers.
static POOL: Pool<RenderedRows> = Pool::new(POOL_SIZE, POOL_MAX_TEXT, usize::MAX);

/// [`RenderedRows`] from a shared pool, returned to it (cleared) when dropped. Encoding jobs
/// take one each: the buffers have grown to the size of a job already, so rendering a job
/// costs no allocation and no page faults.
#[derive(Debug)]
pub struct PooledRows(RenderedRows);

impl std::ops::Deref for PooledRows {
    type Target = RenderedRows;
    fn deref(&self) -> &RenderedRows {
        &self.0
    }
}

impl std::ops::DerefMut for PooledRows {
    fn deref_mut(&mut self) -> &mut RenderedRows {
        &mut self.0
    }
}

impl Drop for PooledRows {
    fn drop(&mut self) {
        let mut rows = std::mem::take(&mut self.0);
        rows.clear();
        let size = rows.text.capacity().max(rows.clean.capacity());
        POOL.give(rows, size);
    }
}

impl RenderedRows {
    /// No rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty rows from the shared pool (see [`PooledRows`]).
    pub fn pooled() -> PooledRows {
        PooledRows(POOL.take(|_| true).unwrap_or_default())
    }

    /// Removes every row, keeping the buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.clean.clear();
        self.cells.clear();
        self.others.clear();
        self.starts.clear();
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.starts.len()
    }

    /// Row `k` (empty past the end).
    pub fn row(&self, k: usize) -> Row<'_> {
        let start = self.starts.get(k).copied().unwrap_or(self.cells.len());
        let end = self.starts.get(k + 1).copied().unwrap_or(self.cells.len());
        Row {
            text: &self.text,
            clean: &self.clean,
            cells: self.cells.get(start..end).unwrap_or_default(),
            others: &self.others,
        }
    }

    /// Starts a new row: the next pushes are its columns, in order.
    pub fn start_row(&mut self) {
        self.starts.push(self.cells.len());
    }

    /// Appends a `null` column.
    pub fn push_null(&mut self) {
        self.cells.push(Cell::Null);
    }

    /// Appends a string column.
    pub fn push_str(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.cells.push(Cell::Str(start, self.text.len()));
    }

    /// Appends an integer column, rendered as [`render::integer`] does.
    pub fn push_integer(&mut self, v: i128, opts: &RenderOptions) {
        let start = self.text.len();
        render::integer_into(v, opts, &mut self.text);
        self.cells.push(Cell::Literal(start, self.text.len()));
    }

    /// Appends a rendered value.
    pub fn push_value(&mut self, v: Value) {
        match v {
            Value::Null => self.push_null(),
            Value::String(s) => self.push_str(&s),
            Value::Number(n) => self.push_literal(n.as_str()),
            Value::Bool(b) => self.push_literal(if b { "true" } else { "false" }),
            other => {
                self.cells.push(Cell::Other(self.others.len()));
                self.others.push(other);
            }
        }
    }

    fn push_literal(&mut self, l: &str) {
        let start = self.text.len();
        self.text.push_str(l);
        self.cells.push(Cell::Literal(start, self.text.len()));
    }

    /// Renders `v`, a value of a column of kind `kind`, as [`ColumnKind::render`] does, and
    /// appends it.
    pub fn push_source(
        &mut self,
        kind: &ColumnKind,
        v: MyValue,
        opts: &RenderOptions,
        lob_limit: Option<usize>,
    ) {
        match (kind, v) {
            (_, MyValue::NULL) => self.push_null(),
            (ColumnKind::Integer { .. } | ColumnKind::Year, MyValue::Int(i)) => {
                self.push_integer(i128::from(i), opts)
            }
            (ColumnKind::Integer { .. } | ColumnKind::Year, MyValue::UInt(u)) => {
                self.push_integer(i128::from(u), opts)
            }
            (kind, MyValue::Bytes(b)) if kind.is_plain_text() => {
                self.push_text_bytes(kind, &b, opts, lob_limit)
            }
            (kind, v) => self.push_value(kind.render(v, opts, lob_limit)),
        }
    }

    /// Appends what [`RenderedRows::push_source`] appends for `MyValue::Bytes(bytes)`,
    /// without copying `bytes` first when they are the text of a plain text column.
    pub fn push_text_bytes(
        &mut self,
        kind: &ColumnKind,
        bytes: &[u8],
        opts: &RenderOptions,
        lob_limit: Option<usize>,
    ) {
        if kind.is_plain_text() && dmsrs_codec::is_clean_ascii(bytes) {
            return self.push_clean(bytes);
        }
        match utf8(bytes) {
            Ok(s) if kind.is_plain_text() => self.push_str(s),
            _ => self.push_value(kind.render(MyValue::Bytes(bytes.to_vec()), opts, lob_limit)),
        }
    }

    /// Appends a string column of bytes [`dmsrs_codec::is_clean_ascii`] accepted.
    fn push_clean(&mut self, bytes: &[u8]) {
        let start = self.clean.len();
        self.clean.extend_from_slice(bytes);
        self.cells.push(Cell::Clean(start, self.clean.len()));
    }
}

/// `bytes` as text when they are UTF-8 (checked with SIMD: most text columns go through here).
fn utf8(bytes: &[u8]) -> Result<&str, simdutf8::basic::Utf8Error> {
    simdutf8::basic::from_utf8(bytes)
}

/// An owned copy of a borrowed value.
pub(crate) fn owned(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Literal("true") => Value::Bool(true),
        ValueRef::Literal("false") => Value::Bool(false),
        ValueRef::Literal(l) => {
            dmsrs_codec::Number::from_literal(l).map_or(Value::Null, Value::Number)
        }
        ValueRef::Str(s) => Value::String(s.to_owned()),
        ValueRef::CleanStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        ValueRef::Value(v) => v.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kinds() -> Vec<ColumnKind> {
        vec![
            ColumnKind::Integer {
                bytes: 8,
                unsigned: true,
            },
            ColumnKind::Integer {
                bytes: 4,
                unsigned: false,
            },
            ColumnKind::Year,
            ColumnKind::String { length: 10 },
            ColumnKind::Text { length: 255 },
            ColumnKind::Clob,
            ColumnKind::Json,
            ColumnKind::Boolean,
            ColumnKind::Double,
            ColumnKind::Decimal {
                precision: 10,
                scale: 2,
            },
            ColumnKind::Binary { length: 4 },
            ColumnKind::Enum(vec!["a".into()]),
            ColumnKind::Date,
        ]
    }

    fn values() -> Vec<MyValue> {
        vec![
            MyValue::NULL,
            MyValue::Int(0),
            MyValue::Int(-7),
            MyValue::Int(i64::MAX),
            MyValue::Int(i64::MIN),
            MyValue::Int(9_999_999_999_999_999),
            MyValue::UInt(u64::MAX),
            MyValue::Bytes(b"plain".to_vec()),
            MyValue::Bytes("é \" \\ \n".as_bytes().to_vec()),
            MyValue::Bytes(vec![0xff, 0x00, 0x41]),
            MyValue::Bytes(b"12.50".to_vec()),
            MyValue::Bytes(b"".to_vec()),
            MyValue::Double(1.5),
            MyValue::Date(2024, 2, 29, 0, 0, 0, 0),
        ]
    }

    /// Every kind and value renders exactly as `ColumnKind::render`, through either entry.
    #[test]
    fn pushes_render_as_column_kind_render() {
        for opts in [
            RenderOptions::default(),
            RenderOptions {
                no_hex_prefix: true,
                use_large_integer_value: true,
            },
        ] {
            for lob in [None, Some(3)] {
                for kind in kinds() {
                    for v in values() {
                        let want = kind.render(v.clone(), &opts, lob);
                        let mut rows = RenderedRows::new();
                        rows.start_row();
                        rows.push_source(&kind, v.clone(), &opts, lob);
                        if let MyValue::Bytes(b) = &v {
                            rows.push_text_bytes(&kind, b, &opts, lob);
                        }
                        let row = rows.row(0);
                        for i in 0..row.len() {
                            assert_eq!(row.to_value(i), want, "{kind:?} {v:?} {opts:?} {lob:?}");
                            assert_eq!(
                                row.key_text(i).map(Cow::into_owned),
                                (!want.is_null()).then(|| want.to_key_text())
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rows_hold_their_own_columns_and_clear_keeps_nothing() {
        let mut rows = RenderedRows::new();
        rows.start_row();
        rows.push_str("a");
        rows.push_value(Value::Array(vec![Value::Null]));
        rows.start_row();
        rows.push_null();
        rows.push_integer(-5, &RenderOptions::default());
        rows.push_value(Value::Bool(true));
        assert_eq!(rows.rows(), 2);
        let (a, b) = (rows.row(0), rows.row(1));
        assert_eq!((a.len(), b.len()), (2, 3));
        assert_eq!(a.get(0), ValueRef::Str("a"));
        assert_eq!(a.key_text(1).as_deref(), Some("[null]"));
        assert_eq!(b.get(0), ValueRef::Null);
        assert_eq!(b.key_text(0), None);
        assert_eq!(b.get(1), ValueRef::Literal("-5"));
        assert_eq!(b.to_value(2), Value::Bool(true));
        assert_eq!(b.get(3), ValueRef::Null, "past the end");
        assert!(rows.row(2).is_empty());
        rows.clear();
        assert_eq!(rows.rows(), 0);
        rows.start_row();
        rows.push_integer(5, &RenderOptions::default());
        assert_eq!(rows.row(0).get(0), ValueRef::Literal("5"));
    }
}
