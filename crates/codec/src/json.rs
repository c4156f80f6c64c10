//! A small, strict JSON reader that keeps key order and number literals.
//!
//! It never panics: every byte sequence yields either a value or a [`SyntaxError`] with the
//! byte offset, line and column of the problem. Nesting is limited to [`MAX_DEPTH`] so a
//! hostile input cannot overflow the stack.

use crate::value::{Fields, Number, Value};
use std::borrow::Cow;
use std::fmt;

/// Maximum nesting of arrays and objects. DMS records nest four levels deep
/// (`control.table-def.columns.<col>`); 128 leaves room for any JSON column a user adds.
pub const MAX_DEPTH: usize = 128;

/// A JSON syntax error at a byte offset of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes).
    pub column: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, column {} (byte {})",
            self.reason, self.line, self.column, self.offset
        )
    }
}

impl std::error::Error for SyntaxError {}

/// Reads consecutive JSON documents from one UTF-8 text.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
        }
    }

    /// Moves to `offset`, which must be a char boundary (callers pass the offset of an ASCII byte).
    pub(crate) fn set_offset(&mut self, offset: usize) {
        self.pos = offset.min(self.text.len());
        self.depth = 0;
    }

    /// Current byte offset.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips white space; returns true when input remains.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let b = self.bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        self.pos < b.len()
    }

    pub(crate) fn error_at(&self, offset: usize, reason: impl Into<String>) -> SyntaxError {
        let before = &self.bytes()[..offset.min(self.bytes().len())];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let column = offset
            - before
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        SyntaxError {
            offset,
            line,
            column,
            reason: reason.into(),
        }
    }

    fn err(&self, reason: impl Into<String>) -> SyntaxError {
        self.error_at(self.pos, reason)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Parses one value starting at the current position (after white space).
    pub(crate) fn value(&mut self) -> Result<Value, SyntaxError> {
        if !self.skip_ws() {
            return Err(self.err("unexpected end of input, expected a value"));
        }
        match self.bytes()[self.pos] {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string_cow().map(|s| Value::String(s.into_owned())),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            c => Err(self.err(format!(
                "unexpected character {}, expected a value",
                show(c)
            ))),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, SyntaxError> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err(format!("invalid literal, expected `{word}`")))
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// Consumes `{` (the caller checked it is there) and enters one nesting level.
    pub(crate) fn begin_object(&mut self) -> Result<(), SyntaxError> {
        self.enter()?;
        self.pos += 1;
        Ok(())
    }

    /// The next member of the object opened by [`Reader::begin_object`]: its key, with the
    /// reader positioned at its value; `None` after the closing `}`. `first` must start true.
    pub(crate) fn next_member(
        &mut self,
        first: &mut bool,
    ) -> Result<Option<Cow<'a, str>>, SyntaxError> {
        if !self.skip_ws() {
            return Err(self.err("unexpected end of input inside an object"));
        }
        let c = self.bytes()[self.pos];
        if *first {
            *first = false;
            if c == b'}' {
                self.pos += 1;
                self.depth -= 1;
                return Ok(None);
            }
        } else {
            match c {
                b',' => {
                    self.pos += 1;
                    if !self.skip_ws() {
                        return Err(self.err("unexpected end of input inside an object"));
                    }
                }
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(None);
                }
                c => {
                    return Err(self.err(format!(
                        "unexpected character {} in object, expected `,` or `}}`",
                        show(c)
                    )));
                }
            }
        }
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string key in object"));
        }
        let key = self.string_cow()?;
        if !self.skip_ws() {
            return Err(self.err("unexpected end of input, expected `:`"));
        }
        if self.peek() != Some(b':') {
            return Err(self.err("expected `:` after object key"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// True when the next non-blank byte is `c`.
    pub(crate) fn at(&mut self, c: u8) -> bool {
        self.skip_ws() && self.bytes()[self.pos] == c
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        self.begin_object()?;
        let mut fields = Fields::new();
        let mut first = true;
        while let Some(key) = self.next_member(&mut first)? {
            let v = self.value()?;
            fields.push(key.into_owned(), v);
        }
        Ok(Value::Object(fields))
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        self.enter()?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        if !self.skip_ws() {
            return Err(self.err("unexpected end of input inside an array"));
        }
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if !self.skip_ws() {
                return Err(self.err("unexpected end of input inside an array"));
            }
            match self.bytes()[self.pos] {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Array(items));
                }
                c => {
                    return Err(self.err(format!(
                        "unexpected character {} in array, expected `,` or `]`",
                        show(c)
                    )));
                }
            }
        }
    }

    /// Parses a string starting at the opening quote; borrowed when it has no escapes.
    fn string_cow(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        let b = self.bytes();
        let start = self.pos + 1;
        let mut i = start;
        // Fast path: no escapes.
        while i < b.len() {
            let c = b[i];
            if c >= 0x20 && c != b'"' && c != b'\\' {
                i += 1;
                continue;
            }
            match c {
                b'"' => {
                    self.pos = i + 1;
                    let text: &'a str = self.text;
                    return Ok(Cow::Borrowed(&text[start..i]));
                }
                b'\\' => break,
                _ => return Err(self.error_at(i, "control character in string (must be escaped)")),
            }
        }
        if i >= b.len() {
            return Err(self.error_at(i, "unexpected end of input inside a string"));
        }
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(&self.text[start..i]);
        let mut run = i;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    out.push_str(&self.text[run..i]);
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    out.push_str(&self.text[run..i]);
                    let esc = *b
                        .get(i + 1)
                        .ok_or_else(|| self.error_at(i, "unexpected end of input in escape"))?;
                    i += 2;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(i)?;
                            i += 4;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                                    let lo = self.hex4(i + 2)?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(
                                            self.error_at(i, "invalid low surrogate in \\u escape")
                                        );
                                    }
                                    i += 6;
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            match c {
                                Some(c) => out.push(c),
                                None => {
                                    return Err(self.error_at(i, "lone surrogate in \\u escape"));
                                }
                            }
                        }
                        other => {
                            return Err(
                                self.error_at(i - 1, format!("invalid escape \\{}", show(other)))
                            );
                        }
                    }
                    run = i;
                }
                c if c < 0x20 => {
                    return Err(self.error_at(i, "control character in string (must be escaped)"));
                }
                _ => i += 1,
            }
        }
        Err(self.error_at(i, "unexpected end of input inside a string"))
    }

    fn hex4(&self, at: usize) -> Result<u32, SyntaxError> {
        let digits = self
            .bytes()
            .get(at..at + 4)
            .ok_or_else(|| self.error_at(at, "unexpected end of input in \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.error_at(at, "invalid hex digit in \\u escape"))?;
            v = v * 16 + n;
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Number, SyntaxError> {
        let start = self.pos;
        let len = number_len(&self.bytes()[start..]).ok_or_else(|| self.err("invalid number"))?;
        self.pos += len;
        Ok(Number::from_valid(self.text[start..start + len].to_owned()))
    }
}

/// Length of the JSON number literal at the start of `b`, if valid.
fn number_len(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let s = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == s {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let s = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == s {
            return None;
        }
    }
    Some(i)
}

/// True when all of `b` is exactly one JSON number literal.
pub(crate) fn is_number_literal(b: &[u8]) -> bool {
    number_len(b) == Some(b.len())
}

fn show(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("`{}`", c as char)
    } else {
        format!("0x{c:02X}")
    }
}

/// Parses exactly one JSON document (surrounding white space allowed).
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    let mut r = Reader::new(text);
    let v = r.value()?;
    if r.skip_ws() {
        return Err(r.err("trailing characters after the JSON document"));
    }
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_literals() {
        let v = parse("{\"b\":46.570000,\"a\":[1,-2e5,0.5],\"c\":null}").unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.names().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(
            o.get("b").unwrap().as_number().unwrap().as_str(),
            "46.570000"
        );
    }

    #[test]
    fn escapes() {
        let v = parse(r#""a\"b\\c\/\n\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(v.as_str().unwrap(), "a\"b\\c/\né😀");
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("{\n\t\"a\": tru}").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
        assert!(parse("[1,]").is_err());
        assert!(parse("01").is_err());
        assert!(parse("1.").is_err());
        assert!(parse("\"\\ud800\"").is_err());
        assert!(parse("\"a\u{1}\"").is_err());
        assert!(parse("{} x").is_err());
    }

    #[test]
    fn depth_limit() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().reason.contains("nesting"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }
}
