//! MySQL's binary JSON (the `JSON` column type in MySQL row events) to JSON text, written the
//! way MySQL prints JSON (`{"a": 1, "b": [1, 2]}`), which is what full load reads.
//!
//! MariaDB's JSON is a LONGTEXT and arrives as text; this is only used for MySQL sources.

use std::fmt::Write;

const MAX_DEPTH: usize = 128;

/// Converts one binary JSON document to text.
pub(crate) fn to_text(data: &[u8]) -> Result<String, String> {
    let Some((&ty, body)) = data.split_first() else {
        // An empty value is how MySQL logs a JSON NULL stored in a NOT NULL column.
        return Ok("null".to_owned());
    };
    let mut out = String::with_capacity(data.len() + 16);
    // Elements may share offsets: cap the text so a hostile document cannot explode.
    let limit = data.len().saturating_mul(32).saturating_add(1024);
    value(ty, body, &mut out, 0, limit)?;
    Ok(out)
}

fn err<T>(what: &str) -> Result<T, String> {
    Err(format!("malformed binary JSON ({what})"))
}

fn uint(b: &[u8], at: usize, n: usize) -> Result<usize, String> {
    let s = b
        .get(at..at + n)
        .ok_or_else(|| "malformed binary JSON (offset out of range)".to_owned())?;
    Ok(s.iter()
        .rev()
        .fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
}

fn value(ty: u8, b: &[u8], out: &mut String, depth: usize, limit: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return err("nested too deep");
    }
    if out.len() > limit {
        return err("text larger than the document allows");
    }
    match ty {
        0x00 => container(b, false, true, out, depth, limit),
        0x01 => container(b, true, true, out, depth, limit),
        0x02 => container(b, false, false, out, depth, limit),
        0x03 => container(b, true, false, out, depth, limit),
        0x04 => literal(*b.first().ok_or("malformed binary JSON (literal)")?, out),
        0x05 => write_num(out, i64::from(i16::from_le_bytes(arr(b)?))),
        0x06 => write_num(out, i64::from(u16::from_le_bytes(arr(b)?))),
        0x07 => write_num(out, i64::from(i32::from_le_bytes(arr(b)?))),
        0x08 => write_num(out, i64::from(u32::from_le_bytes(arr(b)?))),
        0x09 => write_num(out, i64::from_le_bytes(arr(b)?)),
        0x0a => {
            let _ = write!(out, "{}", u64::from_le_bytes(arr(b)?));
            Ok(())
        }
        0x0b => {
            let d = f64::from_le_bytes(arr(b)?);
            if d.is_finite() {
                let _ = write!(out, "{d:?}");
            } else {
                out.push_str("null");
            }
            Ok(())
        }
        0x0c => {
            let (len, n) = varlen(b)?;
            let s = b.get(n..n + len).ok_or("malformed binary JSON (string)")?;
            quote(&String::from_utf8_lossy(s), out);
            Ok(())
        }
        0x0f => opaque(b, out),
        _ => err("unknown value type"),
    }
}

fn arr<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| "malformed binary JSON (number)".to_owned())
}

fn write_num(out: &mut String, v: i64) -> Result<(), String> {
    let _ = write!(out, "{v}");
    Ok(())
}

fn literal(v: u8, out: &mut String) -> Result<(), String> {
    out.push_str(match v {
        0x00 => "null",
        0x01 => "true",
        0x02 => "false",
        _ => return err("literal"),
    });
    Ok(())
}

/// A variable-length length: 7 bits per byte, low groups first, at most 5 bytes.
fn varlen(b: &[u8]) -> Result<(usize, usize), String> {
    let mut len = 0usize;
    for i in 0..5 {
        let x = *b.get(i).ok_or("malformed binary JSON (length)")?;
        len |= usize::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Ok((len, i + 1));
        }
    }
    err("length")
}

fn container(
    b: &[u8],
    large: bool,
    object: bool,
    out: &mut String,
    depth: usize,
    limit: usize,
) -> Result<(), String> {
    let w = if large { 4 } else { 2 };
    let count = uint(b, 0, w)?;
    let size = uint(b, w, w)?;
    if size > b.len() {
        return err("container size");
    }
    let b = &b[..size];
    let key_entries = 2 * w;
    let value_entry = 1 + w;
    let values_at = if object {
        2 * w
            + count
                .checked_mul(w + 2)
                .ok_or("malformed binary JSON (count)")?
    } else {
        2 * w
    };
    out.push(if object { '{' } else { '[' });
    for i in 0..count {
        if out.len() > limit {
            return err("text larger than the document allows");
        }
        if i > 0 {
            out.push_str(", ");
        }
        if object {
            let ko = uint(b, key_entries + i * (w + 2), w)?;
            let kl = uint(b, key_entries + i * (w + 2) + w, 2)?;
            let key = b.get(ko..ko + kl).ok_or("malformed binary JSON (key)")?;
            quote(&String::from_utf8_lossy(key), out);
            out.push_str(": ");
        }
        let at = values_at + i * value_entry;
        let vt = *b.get(at).ok_or("malformed binary JSON (value entry)")?;
        let inlined = matches!(vt, 0x04..=0x06) || (large && matches!(vt, 0x07 | 0x08));
        if inlined {
            let slot = b
                .get(at + 1..at + 1 + w)
                .ok_or("malformed binary JSON (inline value)")?;
            let mut padded = [0u8; 8];
            padded[..w].copy_from_slice(slot);
            value(vt, &padded, out, depth + 1, limit)?;
        } else {
            let off = uint(b, at + 1, w)?;
            let v = b.get(off..).ok_or("malformed binary JSON (value offset)")?;
            value(vt, v, out, depth + 1, limit)?;
        }
    }
    out.push(if object { '}' } else { ']' });
    Ok(())
}

fn quote(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Opaque values: DECIMAL and temporal types as MySQL prints them, others base64.
fn opaque(b: &[u8], out: &mut String) -> Result<(), String> {
    let (&field_type, rest) = b.split_first().ok_or("malformed binary JSON (opaque)")?;
    let (len, n) = varlen(rest)?;
    let data = rest
        .get(n..n + len)
        .ok_or("malformed binary JSON (opaque data)")?;
    match field_type {
        246 if data.len() >= 2 => {
            let mut c = super::tablemap::Cur::new(&data[2..]);
            out.push_str(&super::rows::read_decimal(&mut c, data[0], data[1])?);
        }
        10 | 12 | 7 | 11 if data.len() >= 8 => {
            let packed = i64::from_le_bytes(arr(data)?);
            out.push('"');
            temporal(field_type, packed, out);
            out.push('"');
        }
        t => {
            let _ = write!(out, "\"base64:type{t}:{}\"", base64(data));
        }
    }
    Ok(())
}

/// MySQL's packed temporal int64 (`TIME_to_longlong_*_packed`) as text.
fn temporal(field_type: u8, packed: i64, out: &mut String) {
    let neg = packed < 0;
    let p = packed.unsigned_abs();
    let frac = p % (1 << 24);
    let int_part = p >> 24;
    if field_type == 11 {
        let h = (int_part >> 12) % (1 << 10);
        let _ = write!(
            out,
            "{}{:02}:{:02}:{:02}",
            if neg { "-" } else { "" },
            h,
            (int_part >> 6) % 64,
            int_part % 64
        );
    } else {
        let ymd = int_part >> 17;
        let ym = ymd >> 5;
        let hms = int_part % (1 << 17);
        let _ = write!(out, "{:04}-{:02}-{:02}", ym / 13, ym % 13, ymd % 32);
        if field_type == 10 {
            return;
        }
        let _ = write!(
            out,
            " {:02}:{:02}:{:02}",
            hms >> 12,
            (hms >> 6) % 64,
            hms % 64
        );
    }
    if frac > 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                s.push(char::from(A[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        // {"a": 1, "b": [true, "x"]} in MySQL's small format.
        let doc: Vec<u8> = vec![
            0x00, // small object
            0x02, 0x00, 0x20, 0x00, // 2 elements, 32 bytes
            0x12, 0x00, 0x01, 0x00, // key "a" at 18
            0x13, 0x00, 0x01, 0x00, // key "b" at 19
            0x05, 0x01, 0x00, // int16 1 inline
            0x02, 0x14, 0x00, // small array at 20
            b'a', b'b', // keys
            0x02, 0x00, 0x0c, 0x00, // array: 2 elements, 12 bytes
            0x04, 0x01, 0x00, // true
            0x0c, 0x0a, 0x00, // string at 10
            0x01, b'x',
        ];
        assert_eq!(to_text(&doc).unwrap(), r#"{"a": 1, "b": [true, "x"]}"#);
        assert_eq!(to_text(&[0x0c, 0x02, b'"', b'\n']).unwrap(), r#""\"\n""#);
        assert_eq!(
            to_text(&[0x0b, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]).unwrap(),
            "1.5"
        );
        assert_eq!(
            to_text(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            "18446744073709551615"
        );
        assert_eq!(to_text(&[]).unwrap(), "null");
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        // Truncated documents fail instead of panicking.
        for n in 1..doc.len() {
            let _ = to_text(&doc[..n]);
        }
        assert!(to_text(&doc[..10]).is_err());
        // An array whose two elements are itself: bounded, not exponential.
        let cyclic = [
            0x02, 0x02, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
        ];
        assert!(to_text(&cyclic).is_err());
    }
}
