//! A source row rendered for writing: the JSON text of every column in one buffer.
//!
//! Full load and CDC render each row into a [`RenderedRow`] (reused from row to row, so a
//! row costs no allocation once the buffers have grown), and the encoder writes records from
//! it. Values are rendered exactly as [`ColumnKind::render`] renders them; the common kinds
//! (integers, character data) are written straight into the buffer, the rest go through
//! `render`.

use crate::columns::ColumnKind;
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
    /// Any other value: `others[i]`.
    Other(usize),
}

/// One rendered row: its columns (by source index) as JSON values.
#[derive(Clone, Debug, Default)]
pub struct RenderedRow {
    text: String,
    cells: Vec<Cell>,
    others: Vec<Value>,
}

impl RenderedRow {
    /// An empty row.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the row, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cells.clear();
        self.others.clear();
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True without columns.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Column `i` (`null` past the end).
    pub fn get(&self, i: usize) -> ValueRef<'_> {
        match self.cells.get(i) {
            None | Some(Cell::Null) => ValueRef::Null,
            Some(Cell::Literal(a, b)) => ValueRef::Literal(self.text.get(*a..*b).unwrap_or("")),
            Some(Cell::Str(a, b)) => ValueRef::Str(self.text.get(*a..*b).unwrap_or("")),
            Some(Cell::Other(k)) => self.others.get(*k).map_or(ValueRef::Null, ValueRef::Value),
        }
    }

    /// Column `i` as text, the way filters, expressions and partition keys see it; `None`
    /// for `null`.
    pub fn key_text(&self, i: usize) -> Option<Cow<'_, str>> {
        match self.get(i) {
            ValueRef::Null | ValueRef::Value(Value::Null) => None,
            ValueRef::Literal(s) | ValueRef::Str(s) => Some(Cow::Borrowed(s)),
            ValueRef::Value(v) => Some(Cow::Owned(v.to_key_text())),
        }
    }

    /// Column `i` as an owned value.
    pub fn to_value(&self, i: usize) -> Value {
        owned(self.get(i))
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
            (kind, MyValue::Bytes(b)) if kind.is_plain_text() => match std::str::from_utf8(&b) {
                Ok(s) => self.push_str(s),
                Err(_) => self.push_value(kind.render(MyValue::Bytes(b), opts, lob_limit)),
            },
            (kind, v) => self.push_value(kind.render(v, opts, lob_limit)),
        }
    }

    /// Appends the text of a character column of kind `kind` (`bytes` in UTF-8 unless the
    /// column's character set says otherwise), as [`RenderedRow::push_source`] would for
    /// `MyValue::Bytes(bytes)`, without copying `bytes` first.
    pub fn push_text_bytes(
        &mut self,
        kind: &ColumnKind,
        bytes: &[u8],
        opts: &RenderOptions,
        lob_limit: Option<usize>,
    ) {
        match std::str::from_utf8(bytes) {
            Ok(s) if kind.is_plain_text() => self.push_str(s),
            _ => self.push_value(kind.render(MyValue::Bytes(bytes.to_vec()), opts, lob_limit)),
        }
    }
}

/// An owned copy of a borrowed value.
pub(crate) fn owned(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Literal("true") => Value::Bool(true),
        ValueRef::Literal("false") => Value::Bool(false),
        ValueRef::Literal(l) => dmsrs_codec::Number::from_literal(l).map_or(Value::Null, Value::Number),
        ValueRef::Str(s) => Value::String(s.to_owned()),
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
                        let mut row = RenderedRow::new();
                        row.push_source(&kind, v.clone(), &opts, lob);
                        if let MyValue::Bytes(b) = &v {
                            row.push_text_bytes(&kind, b, &opts, lob);
                        }
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
    fn clear_keeps_nothing() {
        let mut row = RenderedRow::new();
        row.push_str("a");
        row.push_value(Value::Array(vec![Value::Null]));
        row.clear();
        assert!(row.is_empty());
        assert_eq!(row.get(0), ValueRef::Null);
        row.push_integer(5, &RenderOptions::default());
        assert_eq!(row.get(0), ValueRef::Literal("5"));
    }
}
