//! Rows events: header parsing and value decoding into the shapes full load reads.
//!
//! Full load reads rows through the binary protocol with a UTC session, so it sees integers as
//! `Int` (`UInt` only above `i64::MAX`), YEAR as `Int`, FLOAT/DOUBLE as `Float`/`Double`,
//! DATE/DATETIME/TIMESTAMP as `Date(..)` in UTC, TIME as `Time(..)` with days and hours < 24,
//! and everything else as `Bytes`: DECIMAL as its text, ENUM/SET as their names, strings as
//! UTF-8, binary data and BIT as raw bytes. The decoder below produces exactly those shapes.

use mysql_async::Value;

use super::charset::{TextConv, is_ascii, to_utf8};
use super::tablemap::{Cur, Dec, TableMeta};
use super::{RowImage, RowKind};

// Rows event type codes.
pub(crate) const WRITE_ROWS_V1: u8 = 23;
pub(crate) const UPDATE_ROWS_V1: u8 = 24;
pub(crate) const DELETE_ROWS_V1: u8 = 25;
pub(crate) const WRITE_ROWS_V2: u8 = 30;
pub(crate) const UPDATE_ROWS_V2: u8 = 31;
pub(crate) const DELETE_ROWS_V2: u8 = 32;

/// The fixed part of a rows event.
#[derive(Debug)]
pub(crate) struct RowsHeader<'a> {
    pub table_id: u64,
    pub kind: RowKind,
    pub ncols: usize,
    pub present: &'a [u8],
    pub present_after: Option<&'a [u8]>,
    pub rows: &'a [u8],
}

/// Parses the header of a rows event body. `post_header_len` comes from the format
/// description (8 for v1 events, 10 for v2; 6 means a 4-byte table id).
pub(crate) fn parse_rows_header(
    data: &[u8],
    event_type: u8,
    post_header_len: u8,
) -> Option<RowsHeader<'_>> {
    let (kind, v2) = match event_type {
        WRITE_ROWS_V1 => (RowKind::Insert, false),
        UPDATE_ROWS_V1 => (RowKind::Update, false),
        DELETE_ROWS_V1 => (RowKind::Delete, false),
        WRITE_ROWS_V2 => (RowKind::Insert, true),
        UPDATE_ROWS_V2 => (RowKind::Update, true),
        DELETE_ROWS_V2 => (RowKind::Delete, true),
        _ => return None,
    };
    let mut c = Cur::new(data);
    let id_len = if post_header_len == 6 { 4 } else { 6 };
    let table_id = c.uint_le(id_len)?;
    c.take(2)?; // flags
    if v2 {
        let extra = usize::try_from(c.uint_le(2)?).ok()?;
        c.take(extra.checked_sub(2)?)?;
    }
    let ncols = usize::try_from(c.packed()?).ok()?;
    let present = c.take(ncols.div_ceil(8))?;
    let present_after = if kind == RowKind::Update {
        Some(c.take(ncols.div_ceil(8))?)
    } else {
        None
    };
    Some(RowsHeader {
        table_id,
        kind,
        ncols,
        present,
        present_after,
        rows: c.b,
    })
}

fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn all_present(bits: &[u8], n: usize) -> bool {
    (0..n).all(|i| bit(bits, i))
}

/// Checks a rows event against its table map before its rows are decoded: the column count,
/// and that every column is present (a partial row image means `binlog_row_image` is not
/// FULL). Errors are text for [`super::BinlogError::Decode`].
pub(crate) fn check_rows(meta: &TableMeta, h: &RowsHeader<'_>) -> Result<(), String> {
    let n = meta.plan.len();
    if n == 0 {
        return Err("a rows event for a table without columns".to_owned());
    }
    if h.ncols != n {
        return Err(format!(
            "the rows event has {} columns, its table map {n}",
            h.ncols
        ));
    }
    if !all_present(h.present, n) || h.present_after.is_some_and(|a| !all_present(a, n)) {
        return Err(format!(
            "a partial row image for {}.{}: the source logs only some columns; set binlog_row_image=FULL \
             (globally and in every session that writes) and restart the writers",
            meta.schema, meta.table
        ));
    }
    Ok(())
}

/// Receives row images as they are decoded: [`decode_images`] calls `start_image` before
/// each image, then `value`, `integer` or `text` once per column, in column order.
pub(crate) trait ImageSink {
    /// A new image starts.
    fn start_image(&mut self);
    /// Column `col`'s value, in the shape full load reads (see [`super::RowImage`]).
    fn value(&mut self, col: usize, v: Value);
    /// Column `col` of an integer type (TINYINT to BIGINT, signed or not): what
    /// [`Self::value`] would get as `Value::Int(v)`, or `Value::UInt(v)` past `i64::MAX`.
    fn integer(&mut self, col: usize, v: i128) {
        self.value(col, int_value(v));
    }
    /// Column `col` of a character or binary string type stored as is (UTF-8 or ASCII text, or raw
    /// bytes for binary strings): what [`Self::value`] would get as `Value::Bytes(raw)`,
    /// borrowed from the event.
    fn text(&mut self, col: usize, raw: &[u8]);
}

/// Decodes the row images of a rows event body (`rows`: the part after the header) of
/// kind `kind` with the table's plan; an update is its before image, then its after image.
/// Returns the number of rows.
pub(crate) fn decode_images(
    plan: &[Dec],
    kind: RowKind,
    rows: &[u8],
    sink: &mut impl ImageSink,
) -> Result<u64, String> {
    let mut c = Cur::new(rows);
    let mut count = 0;
    while !c.is_empty() {
        read_image(&mut c, plan, sink)?;
        if kind == RowKind::Update {
            read_image(&mut c, plan, sink)?;
        }
        count += 1;
    }
    Ok(count)
}

/// Collects images as [`RowImage`]s.
struct Images {
    kind: RowKind,
    rows: Vec<RowImage>,
    current: Vec<Value>,
    /// Images started (updates pair them).
    started: usize,
}

impl Images {
    fn finish_image(&mut self) {
        if self.started == 0 {
            return;
        }
        let image = std::mem::take(&mut self.current);
        match self.kind {
            RowKind::Insert => self.rows.push(RowImage {
                before: None,
                after: Some(image),
            }),
            RowKind::Delete => self.rows.push(RowImage {
                before: Some(image),
                after: None,
            }),
            RowKind::Update if self.started % 2 == 1 => self.rows.push(RowImage {
                before: Some(image),
                after: None,
            }),
            RowKind::Update => {
                if let Some(last) = self.rows.last_mut() {
                    last.after = Some(image);
                }
            }
        }
    }
}

impl ImageSink for Images {
    fn start_image(&mut self) {
        self.finish_image();
        self.started += 1;
    }

    fn value(&mut self, _col: usize, v: Value) {
        self.current.push(v);
    }

    fn text(&mut self, _col: usize, raw: &[u8]) {
        self.current.push(Value::Bytes(raw.to_vec()));
    }
}

/// Decodes every row of a rows event (checked with [`check_rows`]) into [`RowImage`]s.
pub(crate) fn decode_rows(
    plan: &[Dec],
    kind: RowKind,
    rows: &[u8],
) -> Result<Vec<RowImage>, String> {
    let mut images = Images {
        kind,
        rows: Vec::new(),
        current: Vec::with_capacity(plan.len()),
        started: 0,
    };
    decode_images(plan, kind, rows, &mut images)?;
    images.finish_image();
    Ok(images.rows)
}

fn eof() -> String {
    "the row data ends early (truncated or malformed rows event)".to_owned()
}

fn read_image(c: &mut Cur<'_>, plan: &[Dec], sink: &mut impl ImageSink) -> Result<(), String> {
    let n = plan.len();
    let nulls = c.take(n.div_ceil(8)).ok_or_else(eof)?;
    sink.start_image();
    for (i, dec) in plan.iter().enumerate() {
        if bit(nulls, i) {
            sink.value(i, Value::NULL);
            continue;
        }
        match dec {
            // Character data in UTF-8 (or ASCII in latin1) and binary strings: handed over
            // borrowed.
            Dec::Str {
                prefix,
                conv,
                pad: None,
            } => {
                let raw = c
                    .uint_le(usize::from(*prefix))
                    .and_then(|len| c.take(usize::try_from(len).ok()?))
                    .ok_or_else(|| format!("column {}: {}", i + 1, eof()))?;
                if *conv == TextConv::Raw || (*conv == TextConv::Latin1 && is_ascii(raw)) {
                    sink.text(i, raw);
                } else {
                    sink.value(i, Value::Bytes(to_utf8(*conv, raw)));
                }
            }
            Dec::Int { bytes, unsigned } => sink.integer(
                i,
                read_int(c, *bytes, *unsigned)
                    .ok_or_else(|| format!("column {}: {}", i + 1, eof()))?,
            ),
            dec => sink.value(
                i,
                read_value(c, dec).map_err(|e| format!("column {}: {e}", i + 1))?,
            ),
        }
    }
    Ok(())
}

/// An integer column's value as full load reads it: `Int`, or `UInt` past `i64::MAX`.
pub(crate) fn int_value(v: i128) -> Value {
    match i64::try_from(v) {
        Ok(i) => Value::Int(i),
        Err(_) => u64::try_from(v).map_or(Value::NULL, Value::UInt),
    }
}

/// Reads an integer column of `bytes` bytes.
fn read_int(c: &mut Cur<'_>, bytes: u8, unsigned: bool) -> Option<i128> {
    let raw = c.uint_le(usize::from(bytes))?;
    Some(if unsigned {
        i128::from(raw)
    } else {
        i128::from(sign_extend(raw, bytes))
    })
}

fn sign_extend(v: u64, bytes: u8) -> i64 {
    let shift = 64 - 8 * u32::from(bytes);
    ((v << shift) as i64) >> shift
}

fn read_value(c: &mut Cur<'_>, dec: &Dec) -> Result<Value, String> {
    Ok(match dec {
        Dec::Null => Value::NULL,
        Dec::Int { bytes, unsigned } => int_value(read_int(c, *bytes, *unsigned).ok_or_else(eof)?),
        Dec::Float => {
            let b = c.take(4).ok_or_else(eof)?;
            Value::Float(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        Dec::Double => {
            let b = c.take(8).ok_or_else(eof)?;
            Value::Double(f64::from_le_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ]))
        }
        Dec::Decimal { precision, scale } => {
            Value::Bytes(read_decimal(c, *precision, *scale)?.into_bytes())
        }
        Dec::Year => {
            let y = c.u8().ok_or_else(eof)?;
            Value::Int(if y == 0 { 0 } else { 1900 + i64::from(y) })
        }
        Dec::Date => {
            let v = c.uint_le(3).ok_or_else(eof)?;
            Value::Date(
                (v >> 9) as u16,
                ((v >> 5) & 15) as u8,
                (v & 31) as u8,
                0,
                0,
                0,
                0,
            )
        }
        Dec::Time => {
            // Old (pre-5.6) TIME: HHMMSS as a 3-byte integer.
            let v = sign_extend(c.uint_le(3).ok_or_else(eof)?, 3);
            let (neg, v) = (v < 0, v.unsigned_abs());
            let h = v / 10_000;
            Value::Time(
                neg,
                (h / 24) as u32,
                (h % 24) as u8,
                ((v / 100) % 100) as u8,
                (v % 100) as u8,
                0,
            )
        }
        Dec::DateTime => {
            let v = c.uint_le(8).ok_or_else(eof)?;
            let (d, t) = (v / 1_000_000, v % 1_000_000);
            Value::Date(
                (d / 10_000) as u16,
                ((d / 100) % 100) as u8,
                (d % 100) as u8,
                (t / 10_000) as u8,
                ((t / 100) % 100) as u8,
                (t % 100) as u8,
                0,
            )
        }
        Dec::Timestamp => {
            let secs = c.uint_le(4).ok_or_else(eof)?;
            timestamp_value(secs as i64, 0)
        }
        Dec::Timestamp2 { fsp } => {
            let secs = c.uint_be(4).ok_or_else(eof)?;
            let usec = read_frac(c, *fsp)?;
            timestamp_value(secs as i64, usec)
        }
        Dec::DateTime2 { fsp } => {
            let int_part = c.uint_be(5).ok_or_else(eof)? as i64 - 0x80_0000_0000;
            let usec = read_frac(c, *fsp)?;
            let ymdhms = int_part.unsigned_abs();
            let ymd = ymdhms >> 17;
            let ym = ymd >> 5;
            let hms = ymdhms % (1 << 17);
            Value::Date(
                (ym / 13) as u16,
                (ym % 13) as u8,
                (ymd % 32) as u8,
                (hms >> 12) as u8,
                ((hms >> 6) % 64) as u8,
                (hms % 64) as u8,
                usec,
            )
        }
        Dec::Time2 { fsp } => time2(c, *fsp)?,
        Dec::Bit { bytes } => Value::Bytes(c.take(*bytes).ok_or_else(eof)?.to_vec()),
        Dec::Str { prefix, conv, pad } => {
            let len = c.uint_le(usize::from(*prefix)).ok_or_else(eof)? as usize;
            let raw = c.take(len).ok_or_else(eof)?;
            let mut v = to_utf8(*conv, raw);
            if let Some(p) = pad
                && v.len() < *p
            {
                v.resize(*p, 0);
            }
            Value::Bytes(v)
        }
        Dec::Blob { prefix, conv } => {
            if !(1..=4).contains(prefix) {
                return Err(format!("bad BLOB length size {prefix}"));
            }
            let len = c.uint_le(usize::from(*prefix)).ok_or_else(eof)? as usize;
            let raw = c.take(len).ok_or_else(eof)?;
            Value::Bytes(if *conv == TextConv::Raw {
                raw.to_vec()
            } else {
                to_utf8(*conv, raw)
            })
        }
        Dec::Json { prefix } => {
            if !(1..=4).contains(prefix) {
                return Err(format!("bad JSON length size {prefix}"));
            }
            let len = c.uint_le(usize::from(*prefix)).ok_or_else(eof)? as usize;
            let raw = c.take(len).ok_or_else(eof)?;
            Value::Bytes(
                super::jsonb::to_text(raw)
                    .map_err(|e| format!("binary JSON: {e}"))?
                    .into_bytes(),
            )
        }
        Dec::Enum { pack, names } => {
            let idx = c.uint_le(usize::from(*pack)).ok_or_else(eof)? as usize;
            match idx {
                0 => Value::Bytes(Vec::new()),
                i => Value::Bytes(
                    names
                        .get(i - 1)
                        .ok_or_else(|| {
                            format!(
                                "ENUM index {i} but the column has {} values (table changed?)",
                                names.len()
                            )
                        })?
                        .clone(),
                ),
            }
        }
        Dec::Set { pack, names } => {
            let bits = c.uint_le(usize::from(*pack)).ok_or_else(eof)?;
            let mut out = Vec::new();
            for i in 0..64usize {
                if bits & (1u64 << i) != 0 {
                    let name = names.get(i).ok_or_else(|| {
                        format!(
                            "SET bit {i} but the column has {} values (table changed?)",
                            names.len()
                        )
                    })?;
                    if !out.is_empty() {
                        out.push(b',');
                    }
                    out.extend_from_slice(name);
                }
            }
            Value::Bytes(out)
        }
        Dec::Unsupported { type_code } => {
            return Err(format!("binlog column type {type_code} is not supported"));
        }
    })
}

/// Fractional seconds of TIMESTAMP2 / DATETIME2 (unsigned, big-endian), in microseconds.
fn read_frac(c: &mut Cur<'_>, fsp: u8) -> Result<u32, String> {
    Ok(match fsp {
        1 | 2 => c.uint_be(1).ok_or_else(eof)? as u32 * 10_000,
        3 | 4 => c.uint_be(2).ok_or_else(eof)? as u32 * 100,
        5 | 6 => c.uint_be(3).ok_or_else(eof)? as u32,
        _ => 0,
    })
}

fn time2(c: &mut Cur<'_>, fsp: u8) -> Result<Value, String> {
    const INT_OFS: i64 = 0x80_0000;
    let packed: i64 = match fsp {
        1 | 2 => {
            let mut int_part = c.uint_be(3).ok_or_else(eof)? as i64 - INT_OFS;
            let mut frac = c.uint_be(1).ok_or_else(eof)? as i64;
            if int_part < 0 && frac > 0 {
                int_part += 1;
                frac -= 0x100;
            }
            int_part * (1 << 24) + frac * 10_000
        }
        3 | 4 => {
            let mut int_part = c.uint_be(3).ok_or_else(eof)? as i64 - INT_OFS;
            let mut frac = c.uint_be(2).ok_or_else(eof)? as i64;
            if int_part < 0 && frac > 0 {
                int_part += 1;
                frac -= 0x10000;
            }
            int_part * (1 << 24) + frac * 100
        }
        5 | 6 => c.uint_be(6).ok_or_else(eof)? as i64 - 0x8000_0000_0000,
        _ => (c.uint_be(3).ok_or_else(eof)? as i64 - INT_OFS) * (1 << 24),
    };
    let neg = packed < 0;
    let p = packed.unsigned_abs();
    let hms = p >> 24;
    let frac = (p % (1 << 24)) as u32;
    let h = ((hms >> 12) % 1024) as u32;
    Ok(Value::Time(
        neg,
        h / 24,
        (h % 24) as u8,
        ((hms >> 6) % 64) as u8,
        (hms % 64) as u8,
        frac,
    ))
}

/// A TIMESTAMP (seconds since the epoch) as the UTC date full load reads; 0 is the zero date.
fn timestamp_value(secs: i64, usec: u32) -> Value {
    if secs == 0 && usec == 0 {
        return Value::Date(0, 0, 0, 0, 0, 0, 0);
    }
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    Value::Date(
        y as u16,
        m as u8,
        d as u8,
        (rem / 3600) as u8,
        ((rem / 60) % 60) as u8,
        (rem % 60) as u8,
        usec,
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Reads a packed DECIMAL(precision, scale) and renders it as the server does
/// (`-12.30`, `0.50`, `42`).
pub(crate) fn read_decimal(c: &mut Cur<'_>, precision: u8, scale: u8) -> Result<String, String> {
    let (p, s) = (usize::from(precision), usize::from(scale));
    if s > p || p > 65 {
        return Err(format!("bad DECIMAL({p},{s})"));
    }
    let intg = p - s;
    let (intg0, intg0x, frac0, frac0x) = (intg / 9, intg % 9, s / 9, s % 9);
    let size = intg0 * 4 + DIG2BYTES[intg0x] + frac0 * 4 + DIG2BYTES[frac0x];
    let raw = c.take(size).ok_or_else(eof)?;
    decimal_text(raw, intg0, intg0x, frac0, frac0x).ok_or_else(|| "malformed DECIMAL".to_owned())
}

fn decimal_text(
    raw: &[u8],
    intg0: usize,
    intg0x: usize,
    frac0: usize,
    frac0x: usize,
) -> Option<String> {
    let mut buf = [0u8; 40];
    let b = buf.get_mut(..raw.len())?;
    b.copy_from_slice(raw);
    let first = b.first_mut()?;
    let negative = *first & 0x80 == 0;
    *first ^= 0x80;
    if negative {
        for x in b.iter_mut() {
            *x ^= 0xFF;
        }
    }
    let mut c = Cur::new(b);
    let mut int_digits = String::new();
    if intg0x > 0 {
        let v = c.uint_be(DIG2BYTES[intg0x])?;
        int_digits.push_str(&v.to_string());
    }
    for _ in 0..intg0 {
        let v = c.uint_be(4)?;
        if v > 999_999_999 {
            return None;
        }
        int_digits.push_str(&format!("{v:09}"));
    }
    let int_digits = int_digits.trim_start_matches('0');
    let mut out = String::with_capacity(int_digits.len() + frac0 * 9 + frac0x + 3);
    if negative {
        out.push('-');
    }
    out.push_str(if int_digits.is_empty() {
        "0"
    } else {
        int_digits
    });
    if frac0 + frac0x > 0 {
        out.push('.');
        for _ in 0..frac0 {
            let v = c.uint_be(4)?;
            if v > 999_999_999 {
                return None;
            }
            out.push_str(&format!("{v:09}"));
        }
        if frac0x > 0 {
            let v = c.uint_be(DIG2BYTES[frac0x])?;
            out.push_str(&format!("{v:0width$}", width = frac0x));
        }
    }
    if negative && out[1..].bytes().all(|x| x == b'0' || x == b'.') {
        out.remove(0);
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dec(raw: &[u8], p: u8, s: u8) -> String {
        read_decimal(&mut Cur::new(raw), p, s).unwrap()
    }

    #[test]
    fn decimals() {
        // DECIMAL(10,2): 4 bytes int part (8 digits -> 4 bytes), 1 byte fraction.
        assert_eq!(dec(&[0x80, 0x00, 0x00, 0x0c, 0x1e], 10, 2), "12.30");
        assert_eq!(dec(&[0x7f, 0xff, 0xff, 0xf3, 0xe1], 10, 2), "-12.30");
        assert_eq!(dec(&[0x80, 0x00, 0x00, 0x00, 0x32], 10, 2), "0.50");
        assert_eq!(dec(&[0x80, 0x00, 0x00, 0x00, 0x00], 10, 2), "0.00");
        assert_eq!(dec(&[0x80, 0x2a], 3, 0), "42");
        // DECIMAL(20,0): 2 digits in 1 byte + 2 full groups.
        assert_eq!(
            dec(
                &[0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
                20,
                0
            ),
            "1000000000000000000"
        );
        assert!(read_decimal(&mut Cur::new(&[0x80]), 10, 2).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(
            timestamp_value(1_709_210_096, 5),
            Value::Date(2024, 2, 29, 12, 34, 56, 5)
        );
        assert_eq!(timestamp_value(0, 0), Value::Date(0, 0, 0, 0, 0, 0, 0));
    }

    #[test]
    fn times() {
        // TIME(0) '-838:59:59' and '12:34:56'.
        let enc = |neg: bool, h: i64, m: i64, s: i64| {
            let v = (h << 12) | (m << 6) | s;
            let v = if neg { -v } else { v } + 0x80_0000;
            [(v >> 16) as u8, (v >> 8) as u8, v as u8]
        };
        assert_eq!(
            time2(&mut Cur::new(&enc(false, 12, 34, 56)), 0).unwrap(),
            Value::Time(false, 0, 12, 34, 56, 0)
        );
        assert_eq!(
            time2(&mut Cur::new(&enc(true, 838, 59, 59)), 0).unwrap(),
            Value::Time(true, 34, 22, 59, 59, 0)
        );
    }

    fn meta_with(plan: Vec<Dec>) -> TableMeta {
        TableMeta {
            schema: "s".into(),
            table: "t".into(),
            columns: std::sync::Arc::new(Vec::new()),
            plan,
            raw: Vec::new(),
            selected: true,
            problem: None,
        }
    }

    fn decode(meta: &TableMeta, h: &RowsHeader<'_>) -> Result<Vec<RowImage>, String> {
        check_rows(meta, h)?;
        decode_rows(&meta.plan, h.kind, h.rows)
    }

    fn every_decoder() -> Vec<Dec> {
        let names = std::sync::Arc::new(vec![b"a".to_vec(), b"b".to_vec()]);
        vec![
            Dec::Null,
            Dec::Int {
                bytes: 3,
                unsigned: false,
            },
            Dec::Float,
            Dec::Decimal {
                precision: 12,
                scale: 4,
            },
            Dec::Year,
            Dec::Date,
            Dec::Time,
            Dec::DateTime,
            Dec::Timestamp,
            Dec::Timestamp2 { fsp: 3 },
            Dec::DateTime2 { fsp: 6 },
            Dec::Time2 { fsp: 2 },
            Dec::Bit { bytes: 2 },
            Dec::Str {
                prefix: 1,
                conv: TextConv::Latin1,
                pad: Some(3),
            },
            Dec::Blob {
                prefix: 2,
                conv: TextConv::Utf16,
            },
            Dec::Str {
                prefix: 2,
                conv: TextConv::Raw,
                pad: None,
            },
            Dec::Json { prefix: 4 },
            Dec::Enum {
                pack: 1,
                names: names.clone(),
            },
            Dec::Set { pack: 1, names },
        ]
    }

    proptest::proptest! {
        #[test]
        fn rows_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400), ty in 20u8..35, post in 0u8..12) {
            if let Some(h) = parse_rows_header(&data, ty, post) {
                let _ = decode(&meta_with(every_decoder()), &h);
                let n = h.ncols.min(every_decoder().len());
                let _ = decode(&meta_with(every_decoder()[..n].to_vec()), &h);
            }
            for dec in every_decoder() {
                let _ = read_value(&mut Cur::new(&data), &dec);
            }
            // A valid UPDATE header for all decoders, then arbitrary row bytes.
            let n = every_decoder().len() as u8;
            let mut event = vec![1, 0, 0, 0, 0, 0, 0, 0, n, 0xff, 0xff, 0x07, 0xff, 0xff, 0x07];
            event.extend_from_slice(&data);
            let h = parse_rows_header(&event, UPDATE_ROWS_V1, 8).unwrap();
            let _ = decode(&meta_with(every_decoder()), &h);
            let _ = super::super::jsonb::to_text(&data);
        }
    }

    #[test]
    fn truncated_values_error() {
        for dec in [
            Dec::Int {
                bytes: 8,
                unsigned: false,
            },
            Dec::Double,
            Dec::Timestamp2 { fsp: 6 },
            Dec::DateTime2 { fsp: 3 },
            Dec::Time2 { fsp: 5 },
            Dec::Str {
                prefix: 2,
                conv: TextConv::Latin1,
                pad: Some(4),
            },
            Dec::Blob {
                prefix: 4,
                conv: TextConv::Raw,
            },
            Dec::Blob {
                prefix: 9,
                conv: TextConv::Raw,
            },
            Dec::Decimal {
                precision: 65,
                scale: 30,
            },
        ] {
            assert!(
                read_value(&mut Cur::new(&[0x05, 0x00]), &dec).is_err(),
                "{dec:?}"
            );
        }
        assert_eq!(
            read_value(
                &mut Cur::new(&[0xff]),
                &Dec::Int {
                    bytes: 1,
                    unsigned: false
                }
            )
            .unwrap(),
            Value::Int(-1)
        );
        assert_eq!(
            read_value(
                &mut Cur::new(&[0xff]),
                &Dec::Int {
                    bytes: 1,
                    unsigned: true
                }
            )
            .unwrap(),
            Value::Int(255)
        );
        assert_eq!(
            read_value(
                &mut Cur::new(&[0xff; 8]),
                &Dec::Int {
                    bytes: 8,
                    unsigned: true
                }
            )
            .unwrap(),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            read_value(
                &mut Cur::new(&[0xff, 0xff, 0xff]),
                &Dec::Int {
                    bytes: 3,
                    unsigned: false
                }
            )
            .unwrap(),
            Value::Int(-1)
        );
    }
}
