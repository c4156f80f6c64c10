//! JSON values as DMS writes them: ordered objects and numbers kept as their literal text.
//!
//! `serde_json::Value` would lose two things that matter for byte compatibility with DMS:
//! the order of keys (DMS writes columns in table order) and the exact text of numbers
//! (`46.570000` is not `46.57`, and a 30-digit integer must not become a float). So the codec
//! has its own small value type.

use std::fmt;

/// A JSON number kept as its literal text, validated against the JSON grammar.
///
/// Conversions (`as_i64`, `as_u64`, `as_f64`) never panic; they return `None` when the
/// number does not fit the requested type exactly.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

impl Number {
    /// Wraps `text` when it is a valid JSON number literal.
    pub fn from_literal(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        crate::json::is_number_literal(text.as_bytes()).then_some(Number(text))
    }

    /// Internal: the caller guarantees `text` is a valid literal.
    pub(crate) fn from_valid(text: String) -> Self {
        Number(text)
    }

    /// The literal text, exactly as read or as rendered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the literal has no fraction and no exponent.
    pub fn is_integer(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// The value as `i64` when it is an integer literal in range.
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The value as `u64` when it is a non-negative integer literal in range.
    pub fn as_u64(&self) -> Option<u64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The value as the nearest `f64` (infinite for literals beyond the `f64` range).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number(v.to_string())
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        Number(v.to_string())
    }
}

impl From<i32> for Number {
    fn from(v: i32) -> Self {
        Number(v.to_string())
    }
}

impl From<u32> for Number {
    fn from(v: u32) -> Self {
        Number(v.to_string())
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JSON value.
#[derive(Clone, PartialEq, Debug, Default)]
pub enum Value {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, kept as its literal text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object with its keys in document order.
    Object(Fields),
}

impl Value {
    /// The JSON type name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// The string, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, when this is a number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The object, when this is an object.
    pub fn as_object(&self) -> Option<&Fields> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as plain text, the way DMS puts a column value into a partition key:
    /// strings without quotes, numbers and booleans as written, `null` as an empty string.
    pub fn to_key_text(&self) -> String {
        let mut s = String::new();
        self.write_key_text(&mut s);
        s
    }

    /// Appends [`Value::to_key_text`] to `out` without allocating a temporary.
    pub fn write_key_text(&self, out: &mut String) {
        match self {
            Value::Null => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n.as_str()),
            Value::String(s) => out.push_str(s),
            Value::Array(_) | Value::Object(_) => {
                out.push_str(&crate::encode::to_compact_string(self))
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(v.into())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<Number> for Value {
    fn from(v: Number) -> Self {
        Value::Number(v)
    }
}

impl From<Fields> for Value {
    fn from(v: Fields) -> Self {
        Value::Object(v)
    }
}

/// An ordered list of `name -> value` pairs: a JSON object that keeps its key order.
///
/// Used for rows (`data`, before-images) and for any object the codec keeps as is.
/// Lookups are linear, which is faster than hashing for the few dozen columns of a row.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    /// An empty object.
    pub fn new() -> Self {
        Fields(Vec::new())
    }

    /// An empty object with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Fields(Vec::with_capacity(n))
    }

    /// Appends a field (no duplicate check: the caller keeps names unique).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value stored under `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Removes and returns the first value stored under `name`.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The field names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

impl IntoIterator for Fields {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Fields {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Fields(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A value to write, borrowed: either any [`Value`] or the text of a scalar kept elsewhere
/// (the engine renders rows into one buffer and writes records from it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// `null`.
    Null,
    /// A literal written as is: a number literal, `true` or `false`.
    Literal(&'a str),
    /// A string (escaped when written).
    Str(&'a str),
    /// A string whose bytes [`crate::is_clean_ascii`] accepted: printable ASCII with
    /// nothing to escape, written between quotes as is (no UTF-8 check, no escape scan).
    /// Bytes that break that promise make the record invalid JSON, so make this variant only
    /// from checked bytes.
    CleanStr(&'a [u8]),
    /// Any value.
    Value(&'a Value),
}

impl ValueRef<'_> {
    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Null | ValueRef::Value(Value::Null))
    }

    /// Appends the value as partition-key text (see [`Value::to_key_text`]).
    pub fn write_key_text(&self, out: &mut String) {
        match self {
            ValueRef::Null => {}
            ValueRef::Literal(s) | ValueRef::Str(s) => out.push_str(s),
            ValueRef::CleanStr(b) => out.push_str(&String::from_utf8_lossy(b)),
            ValueRef::Value(v) => v.write_key_text(out),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        ValueRef::Value(v)
    }
}
