//! How source column values are rendered in DMS records.
//!
//! Every choice the DMS documentation leaves open is made here, in one place, and explained
//! in docs/dms-format.md. The engine renders full-load rows and CDC rows through these
//! functions only, so the two always agree.

use crate::value::{Number, Value};

/// Endpoint settings that change how values render.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// `KinesisSettings.NoHexPrefix`: binary values without the `0x` prefix.
    pub no_hex_prefix: bool,
    /// `KinesisSettings.UseLargeIntegerValue`: integers up to 18 digits stay integers.
    pub use_large_integer_value: bool,
}

/// Digits an integer may have before DMS switches to scientific notation
/// ("values of BigInt data type with more than 16 digits" in the DMS guide).
pub const MAX_PLAIN_INTEGER_DIGITS: usize = 16;
/// Digits allowed with `UseLargeIntegerValue` ("up to 18 digit int").
pub const MAX_LARGE_INTEGER_DIGITS: usize = 18;

/// A signed or unsigned integer column value.
///
/// Up to 16 digits (18 with `UseLargeIntegerValue`) it is a plain JSON integer; beyond, DMS
/// goes through a C double, which we render as the shortest round-trip scientific notation
/// with a C-style exponent (`1.2345678901234567e+19`).
pub fn integer(v: i128, opts: &RenderOptions) -> Value {
    let mut text = String::new();
    integer_into(v, opts, &mut text);
    Value::Number(Number::from_valid(text))
}

/// Appends the number literal [`integer`] renders.
pub fn integer_into(v: i128, opts: &RenderOptions, out: &mut String) {
    /// The largest magnitudes written as plain integers: 16 digits, 18 with
    /// UseLargeIntegerValue (both fit an i64).
    const PLAIN: i64 = 10i64.pow(MAX_PLAIN_INTEGER_DIGITS as u32) - 1;
    const LARGE: i64 = 10i64.pow(MAX_LARGE_INTEGER_DIGITS as u32) - 1;
    let limit = if opts.use_large_integer_value {
        LARGE
    } else {
        PLAIN
    };
    match i64::try_from(v) {
        Ok(small) if (-limit..=limit).contains(&small) => {
            out.push_str(itoa::Buffer::new().format(small));
        }
        _ => out.push_str(&scientific(v as f64)),
    }
}

/// Shortest round-trip scientific notation with a signed, at least two-digit exponent.
fn scientific(d: f64) -> String {
    c_exponent(format!("{d:e}"))
}

/// A C `printf("%e")` rendering: six fractional digits, exponent with sign and two digits.
fn c_exp(d: f64) -> String {
    c_exponent(format!("{d:.6e}"))
}

/// Rewrites Rust's exponent (`1.5e7`, `1.5e-7`) the C way (`1.5e+07`, `1.5e-07`).
fn c_exponent(s: String) -> String {
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(rest) => ('-', rest),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// A floating-point value the way DMS's JSON writer (cJSON) prints a double:
/// integral values in range as integers, `|x| < 1e-6` or `|x| > 1e9` as `%e`,
/// everything else as `%f` (six fractional digits). This is what produced the only
/// real MySQL capture of a DECIMAL (`"ticket_price":\t46.570000`).
///
/// NaN and infinities are not JSON; they render as `null` (DMS cannot read them from
/// MariaDB either: the server refuses to store them).
pub fn double(d: f64) -> Value {
    if !d.is_finite() {
        return Value::Null;
    }
    let text = if d == d.trunc() && d.abs() < 1.0e60 {
        format!("{d:.0}")
    } else if d != 0.0 && (d.abs() < 1.0e-6 || d.abs() > 1.0e9) {
        c_exp(d)
    } else {
        format!("{d:.6}")
    };
    // A negative zero prints as "-0", which is valid JSON; keep it.
    Value::Number(Number::from_valid(text))
}

/// A FLOAT (single precision) column: widened to double first, as DMS does (`REAL4`).
pub fn float(f: f32) -> Value {
    double(f as f64)
}

/// A DECIMAL/NUMERIC column given as its decimal text (`"1500.00"`): rendered through a
/// double like every DMS number (see [`double`]). Text that is not a number renders as a
/// string so no value is lost.
pub fn decimal(text: &str) -> Value {
    match text.trim().parse::<f64>() {
        Ok(d) if d.is_finite() => double(d),
        _ => Value::String(text.to_owned()),
    }
}

/// A DATE: `YYYY-MM-DD`. The zero date (`0000-00-00`) and dates with a zero month or day
/// render as `null` ("zero dates become null if the target can't store them").
pub fn date(year: u16, month: u8, day: u8) -> Value {
    if month == 0 || day == 0 {
        return Value::Null;
    }
    Value::String(format!("{year:04}-{month:02}-{day:02}"))
}

/// A DATETIME or TIMESTAMP (already in UTC for TIMESTAMP): `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`,
/// with six fractional digits only when the fraction is not zero. Zero dates render `null`.
pub fn datetime(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
) -> Value {
    if month == 0 || day == 0 {
        return Value::Null;
    }
    let mut s = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if micros != 0 {
        s.push_str(&format!(".{micros:06}"));
    }
    s.push('Z');
    Value::String(s)
}

/// A TIME: `[-]HH:MM:SS[.ffffff]`; hours may exceed 24 (MySQL's range is ±838:59:59).
pub fn time(negative: bool, hours: u32, minute: u8, second: u8, micros: u32) -> Value {
    let mut s = String::with_capacity(16);
    if negative {
        s.push('-');
    }
    s.push_str(&format!("{hours:02}:{minute:02}:{second:02}"));
    if micros != 0 {
        s.push_str(&format!(".{micros:06}"));
    }
    Value::String(s)
}

/// Binary data (BINARY, VARBINARY, BLOB, BIT(n>1)): uppercase hex, `0x`-prefixed unless
/// `NoHexPrefix`.
pub fn binary(bytes: &[u8], opts: &RenderOptions) -> Value {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2 + 2);
    if !opts.no_hex_prefix {
        s.push_str("0x");
    }
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    Value::String(s)
}

/// A boolean column (MySQL `BIT(1)` maps to DMS `BOOLEAN`): JSON `true`/`false`.
pub fn boolean(b: bool) -> Value {
    Value::Bool(b)
}

/// Character data (CHAR, VARCHAR, TEXT, ENUM, SET, JSON columns): a JSON string.
pub fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

/// A metadata timestamp as fixed-size text (no allocation): `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TimestampText([u8; 27]);

impl TimestampText {
    /// From microseconds since the Unix epoch (years 0 to 9999; others are clamped).
    pub fn from_micros(micros_since_epoch: i64) -> Self {
        let secs = micros_since_epoch.div_euclid(1_000_000);
        let micros = micros_since_epoch.rem_euclid(1_000_000) as u32;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400) as u32;
        let y = y.clamp(0, 9999) as u32;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, (sod % 3600) / 60);
        put(17, 2, sod % 60);
        put(20, 6, micros);
        TimestampText(b)
    }

    /// The current time.
    pub fn now() -> Self {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Self::from_micros(micros)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00.000000Z")
    }
}

impl std::fmt::Debug for TimestampText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Metadata timestamps (`timestamp`, `commit-timestamp`): UTC with exactly six fractional
/// digits and `Z`, from microseconds since the Unix epoch.
pub fn metadata_timestamp(micros_since_epoch: i64) -> String {
    TimestampText::from_micros(micros_since_epoch)
        .as_str()
        .to_owned()
}

/// Converts days since 1970-01-01 into a (year, month, day) civil date (proleptic
/// Gregorian), after Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The current time as a metadata timestamp.
pub fn now_timestamp() -> String {
    TimestampText::now().as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(v: Value) -> String {
        match v {
            Value::Number(n) => n.as_str().to_owned(),
            Value::String(s) => s,
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn integers() {
        let o = RenderOptions::default();
        assert_eq!(text_of(integer(0, &o)), "0");
        assert_eq!(text_of(integer(-2147483648, &o)), "-2147483648");
        assert_eq!(
            text_of(integer(9_999_999_999_999_999, &o)),
            "9999999999999999"
        );
        assert_eq!(
            text_of(integer(18_446_744_073_709_551_615, &o)),
            "1.8446744073709552e+19"
        );
        assert_eq!(
            text_of(integer(-12_345_678_901_234_567, &o)),
            "-1.2345678901234568e+16"
        );
        let large = RenderOptions {
            use_large_integer_value: true,
            ..o
        };
        assert_eq!(
            text_of(integer(123_456_789_012_345_678, &large)),
            "123456789012345678"
        );
        assert_eq!(
            text_of(integer(1_234_567_890_123_456_789, &large)),
            "1.2345678901234568e+18"
        );
    }

    #[test]
    fn doubles_follow_cjson() {
        assert_eq!(text_of(decimal("46.57")), "46.570000");
        assert_eq!(text_of(decimal("1500.00")), "1500");
        assert_eq!(text_of(decimal("-0.50")), "-0.500000");
        assert_eq!(text_of(double(60.5)), "60.500000");
        assert_eq!(text_of(float(1.7)), "1.700000");
        assert_eq!(text_of(double(1.0e-7)), "1.000000e-07");
        assert_eq!(text_of(double(12345678901.5)), "1.234568e+10");
        assert_eq!(text_of(double(0.0)), "0");
        assert_eq!(text_of(double(f64::NAN)), "null");
        assert_eq!(text_of(decimal("not a number")), "not a number");
    }

    #[test]
    fn temporal() {
        assert_eq!(text_of(date(1980, 1, 1)), "1980-01-01");
        assert_eq!(text_of(date(0, 0, 0)), "null");
        assert_eq!(
            text_of(datetime(2021, 3, 10, 8, 0, 0, 0)),
            "2021-03-10T08:00:00Z"
        );
        assert_eq!(
            text_of(datetime(2010, 11, 1, 0, 2, 0, 100_000)),
            "2010-11-01T00:02:00.100000Z"
        );
        assert_eq!(text_of(time(false, 8, 5, 3, 0)), "08:05:03");
        assert_eq!(text_of(time(true, 838, 59, 59, 500)), "-838:59:59.000500");
        assert_eq!(
            metadata_timestamp(1_572_562_439_721_201),
            "2019-10-31T22:53:59.721201Z"
        );
        assert_eq!(metadata_timestamp(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            metadata_timestamp(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn binary_hex() {
        let o = RenderOptions::default();
        assert_eq!(
            text_of(binary(&[0x80, 0x05, 0x7d, 0x94, 0x2e], &o)),
            "0x80057D942E"
        );
        let n = RenderOptions {
            no_hex_prefix: true,
            ..o
        };
        assert_eq!(text_of(binary(&[0xab], &n)), "AB");
        assert_eq!(text_of(binary(&[], &o)), "0x");
    }
}
