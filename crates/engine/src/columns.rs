//! Source column types and how their values become DMS JSON values.
//!
//! One [`ColumnKind`] per column, derived once from `information_schema.COLUMNS`, decides
//! both the control record's `table-def` entry and the rendering of every value, for full
//! load (binary protocol values) and CDC (binlog values) alike, so the two always agree.

use dmsrs_codec::{ColumnDef, RenderOptions, Value, render};
use mysql_async::Value as MyValue;

/// What kind of values a column holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// TINYINT .. BIGINT; `bytes` is the storage width (1, 2, 3, 4, 8).
    Integer {
        /// Storage width in bytes.
        bytes: u8,
        /// UNSIGNED.
        unsigned: bool,
    },
    /// DECIMAL(p, s).
    Decimal {
        /// Precision.
        precision: u32,
        /// Scale.
        scale: u32,
    },
    /// FLOAT.
    Float,
    /// DOUBLE / REAL.
    Double,
    /// BIT(1).
    Boolean,
    /// BIT(n > 1).
    Bits {
        /// Width in bits.
        width: u32,
    },
    /// DATE.
    Date,
    /// DATETIME(fsp).
    DateTime,
    /// TIMESTAMP(fsp): stored in UTC.
    Timestamp,
    /// TIME(fsp).
    Time,
    /// YEAR.
    Year,
    /// CHAR / VARCHAR(n).
    String {
        /// Maximum length in characters.
        length: u64,
    },
    /// TINYTEXT / TEXT (WSTRING).
    Text {
        /// Maximum length in bytes.
        length: u64,
    },
    /// MEDIUMTEXT / LONGTEXT (NCLOB): a LOB.
    Clob,
    /// JSON (MariaDB: a LONGTEXT alias): a LOB.
    Json,
    /// ENUM('a', ...): values in definition order.
    Enum(Vec<String>),
    /// SET('a', ...): values in definition order.
    Set(Vec<String>),
    /// BINARY / VARBINARY(n).
    Binary {
        /// Maximum length in bytes.
        length: u64,
    },
    /// TINYBLOB / BLOB: `BYTES(65535)`.
    Blob {
        /// Maximum length in bytes.
        length: u64,
    },
    /// MEDIUMBLOB / LONGBLOB / geometry: a LOB.
    LongBlob,
}

impl ColumnKind {
    /// Derives the kind from `DATA_TYPE` and `COLUMN_TYPE` of `information_schema.COLUMNS`.
    pub fn from_information_schema(
        data_type: &str,
        column_type: &str,
        char_max_length: Option<u64>,
        numeric_precision: Option<u64>,
        numeric_scale: Option<u64>,
    ) -> ColumnKind {
        let dt = data_type.to_ascii_lowercase();
        let ct = column_type.to_ascii_lowercase();
        let unsigned = ct.contains("unsigned");
        let len = char_max_length.unwrap_or(0);
        match dt.as_str() {
            "tinyint" => ColumnKind::Integer { bytes: 1, unsigned },
            "smallint" => ColumnKind::Integer { bytes: 2, unsigned },
            "mediumint" => ColumnKind::Integer { bytes: 3, unsigned },
            "int" | "integer" => ColumnKind::Integer { bytes: 4, unsigned },
            "bigint" => ColumnKind::Integer { bytes: 8, unsigned },
            "decimal" | "numeric" => ColumnKind::Decimal {
                precision: numeric_precision.unwrap_or(10) as u32,
                scale: numeric_scale.unwrap_or(0) as u32,
            },
            "float" => ColumnKind::Float,
            "double" | "real" | "double precision" => ColumnKind::Double,
            "bit" => {
                let width = numeric_precision
                    .map(|p| p as u32)
                    .or_else(|| paren_number(&ct))
                    .unwrap_or(1);
                if width <= 1 {
                    ColumnKind::Boolean
                } else {
                    ColumnKind::Bits { width }
                }
            }
            "date" => ColumnKind::Date,
            "datetime" => ColumnKind::DateTime,
            "timestamp" => ColumnKind::Timestamp,
            "time" => ColumnKind::Time,
            "year" => ColumnKind::Year,
            "char" | "varchar" => ColumnKind::String { length: len },
            "tinytext" | "text" => ColumnKind::Text { length: len },
            "mediumtext" | "longtext" => ColumnKind::Clob,
            "json" => ColumnKind::Json,
            // The values keep their case: only the keyword part was lower-cased for matching.
            "enum" => ColumnKind::Enum(quoted_list(column_type)),
            "set" => ColumnKind::Set(quoted_list(column_type)),
            "binary" | "varbinary" => ColumnKind::Binary { length: len },
            "tinyblob" | "blob" => ColumnKind::Blob { length: len },
            _ => ColumnKind::LongBlob,
        }
    }

    /// A MySQL `DATA_TYPE`-like name for mapping rules that match on data types (the
    /// exact source name when the kind came from `information_schema`, else the closest).
    pub fn data_type_name(&self) -> &'static str {
        match self {
            ColumnKind::Integer { bytes: 1, .. } => "tinyint",
            ColumnKind::Integer { bytes: 2, .. } => "smallint",
            ColumnKind::Integer { bytes: 3, .. } => "mediumint",
            ColumnKind::Integer { bytes: 4, .. } => "int",
            ColumnKind::Integer { .. } => "bigint",
            ColumnKind::Decimal { .. } => "decimal",
            ColumnKind::Float => "float",
            ColumnKind::Double => "double",
            ColumnKind::Boolean | ColumnKind::Bits { .. } => "bit",
            ColumnKind::Date => "date",
            ColumnKind::DateTime => "datetime",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::Time => "time",
            ColumnKind::Year => "year",
            ColumnKind::String { .. } => "varchar",
            ColumnKind::Text { .. } => "text",
            ColumnKind::Clob => "longtext",
            ColumnKind::Json => "json",
            ColumnKind::Enum(_) => "enum",
            ColumnKind::Set(_) => "set",
            ColumnKind::Binary { .. } => "varbinary",
            ColumnKind::Blob { .. } => "blob",
            ColumnKind::LongBlob => "longblob",
        }
    }

    /// True for LOB columns (limited LOB mode truncates them; `non-lob` before-images skip them).
    pub fn is_lob(&self) -> bool {
        matches!(
            self,
            ColumnKind::Text { .. }
                | ColumnKind::Clob
                | ColumnKind::Json
                | ColumnKind::Blob { .. }
                | ColumnKind::LongBlob
        )
    }

    /// True for the character columns that are not LOBs (CHAR, VARCHAR, ENUM, SET): their
    /// bytes render as the text they hold, never cut.
    pub fn is_plain_text(&self) -> bool {
        matches!(
            self,
            ColumnKind::String { .. } | ColumnKind::Enum(_) | ColumnKind::Set(_)
        )
    }

    /// The `table-def` entry, with DMS's MySQL type mapping (INT4, WSTRING, NUMERIC, ...).
    pub fn column_def(&self, nullable: bool) -> ColumnDef {
        let (ty, length, precision, scale): (&str, Option<u64>, Option<u64>, Option<i64>) =
            match self {
                ColumnKind::Integer { bytes, unsigned } => {
                    let t = match (bytes, unsigned) {
                        (1, false) => "INT1",
                        (1, true) => "UINT1",
                        (2, false) => "INT2",
                        (2, true) => "UINT2",
                        (3 | 4, false) => "INT4",
                        (3 | 4, true) => "UINT4",
                        (_, false) => "INT8",
                        (_, true) => "UINT8",
                    };
                    (t, None, None, None)
                }
                ColumnKind::Decimal { precision, scale } => (
                    "NUMERIC",
                    None,
                    Some(u64::from(*precision)),
                    Some(i64::from(*scale)),
                ),
                ColumnKind::Float => ("REAL4", None, None, None),
                ColumnKind::Double => ("REAL8", None, None, None),
                ColumnKind::Boolean => ("BOOLEAN", None, None, None),
                ColumnKind::Bits { width } => {
                    ("BYTES", Some(u64::from(width.div_ceil(8))), None, None)
                }
                ColumnKind::Date => ("DATE", None, None, None),
                ColumnKind::DateTime | ColumnKind::Timestamp => ("DATETIME", None, None, None),
                ColumnKind::Time => ("STRING", Some(20), None, None),
                ColumnKind::Year => ("INT2", None, None, None),
                ColumnKind::String { length } => ("WSTRING", Some(*length), None, None),
                ColumnKind::Text { length } => ("WSTRING", Some(*length), None, None),
                ColumnKind::Clob => ("NCLOB", None, None, None),
                ColumnKind::Json => ("CLOB", None, None, None),
                ColumnKind::Enum(v) | ColumnKind::Set(v) => {
                    let longest = if matches!(self, ColumnKind::Set(_)) {
                        v.iter().map(|s| s.chars().count() as u64 + 1).sum::<u64>()
                    } else {
                        v.iter()
                            .map(|s| s.chars().count() as u64)
                            .max()
                            .unwrap_or(0)
                    };
                    ("WSTRING", Some(longest.max(1)), None, None)
                }
                ColumnKind::Binary { length } => ("BYTES", Some(*length), None, None),
                ColumnKind::Blob { length } => ("BYTES", Some(*length), None, None),
                ColumnKind::LongBlob => ("BLOB", None, None, None),
            };
        ColumnDef {
            data_type: ty.to_owned(),
            length,
            precision,
            scale,
            nullable: Some(nullable),
            extra: Default::default(),
        }
    }

    /// Renders a value read by full load (binary protocol, session time zone UTC).
    ///
    /// `lob_limit`: LOB columns are cut to this many bytes (limited LOB mode).
    pub fn render(&self, v: MyValue, opts: &RenderOptions, lob_limit: Option<usize>) -> Value {
        match v {
            MyValue::NULL => Value::Null,
            MyValue::Int(i) => match self {
                ColumnKind::Boolean => render::boolean(i != 0),
                ColumnKind::Float | ColumnKind::Double => render::double(i as f64),
                _ => render::integer(i128::from(i), opts),
            },
            MyValue::UInt(u) => render::integer(i128::from(u), opts),
            MyValue::Float(f) => render::float(f),
            MyValue::Double(d) => render::double(d),
            MyValue::Date(y, mo, d, h, mi, s, us) => match self {
                ColumnKind::Date => render::date(y, mo, d),
                _ => render::datetime(y, mo, d, h, mi, s, us),
            },
            MyValue::Time(neg, days, h, mi, s, us) => {
                render::time(neg, days * 24 + u32::from(h), mi, s, us)
            }
            MyValue::Bytes(b) => self.render_bytes(b, opts, lob_limit),
        }
    }

    /// Renders a value that arrived as bytes (text, decimals, binary, bits).
    pub fn render_bytes(
        &self,
        b: Vec<u8>,
        opts: &RenderOptions,
        lob_limit: Option<usize>,
    ) -> Value {
        match self {
            ColumnKind::Decimal { .. } => render::decimal(&String::from_utf8_lossy(&b)),
            ColumnKind::Boolean => render::boolean(b.iter().any(|&x| x != 0)),
            ColumnKind::Bits { .. } | ColumnKind::Binary { .. } => render::binary(&b, opts),
            ColumnKind::Blob { .. } | ColumnKind::LongBlob => {
                render::binary(cut(&b, lob_limit), opts)
            }
            ColumnKind::Integer { .. } | ColumnKind::Year => {
                let s = String::from_utf8_lossy(&b);
                match s.trim().parse::<i128>() {
                    Ok(i) => render::integer(i, opts),
                    Err(_) => render::text(s.into_owned()),
                }
            }
            ColumnKind::Float | ColumnKind::Double => {
                let s = String::from_utf8_lossy(&b);
                match s.trim().parse::<f64>() {
                    Ok(d) => render::double(d),
                    Err(_) => render::text(s.into_owned()),
                }
            }
            k if k.is_lob() => render::text(utf8_cut(b, lob_limit)),
            _ => render::text(utf8(b)),
        }
    }
}

fn cut(b: &[u8], limit: Option<usize>) -> &[u8] {
    match limit {
        Some(l) if b.len() > l => &b[..l],
        _ => b,
    }
}

/// Bytes as text: UTF-8 as is; anything else decoded losslessly per byte (latin1).
pub(crate) fn utf8(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&c| c as char).collect(),
    }
}

fn utf8_cut(b: Vec<u8>, limit: Option<usize>) -> String {
    let mut s = utf8(b);
    if let Some(l) = limit
        && s.len() > l
    {
        let mut at = l;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}

fn paren_number(ct: &str) -> Option<u32> {
    let start = ct.find('(')? + 1;
    let end = ct[start..].find(')')? + start;
    ct[start..end].trim().parse().ok()
}

/// The quoted values of `enum('a','b''c')` / `set(...)`.
fn quoted_list(ct: &str) -> Vec<String> {
    let Some(start) = ct.find('(') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut chars = ct[start + 1..].chars().peekable();
    let mut cur = String::new();
    let mut in_quote = false;
    while let Some(c) = chars.next() {
        if in_quote {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    cur.push('\'');
                    chars.next();
                } else {
                    in_quote = false;
                    out.push(std::mem::take(&mut cur));
                }
            } else if c == '\\' {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            } else {
                cur.push(c);
            }
        } else if c == '\'' {
            in_quote = true;
        } else if c == ')' {
            break;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_information_schema() {
        let k = |dt: &str, ct: &str| {
            ColumnKind::from_information_schema(dt, ct, Some(10), Some(10), Some(2))
        };
        assert_eq!(
            k("tinyint", "tinyint(3) unsigned"),
            ColumnKind::Integer {
                bytes: 1,
                unsigned: true
            }
        );
        assert_eq!(
            k("enum", "enum('red','green','it''s')"),
            ColumnKind::Enum(vec!["red".into(), "green".into(), "it's".into()])
        );
        assert_eq!(
            ColumnKind::from_information_schema("bit", "bit(1)", None, Some(1), None),
            ColumnKind::Boolean
        );
        assert_eq!(
            ColumnKind::from_information_schema("bit", "bit(12)", None, Some(12), None),
            ColumnKind::Bits { width: 12 }
        );
        assert!(k("longtext", "longtext").is_lob());
        assert!(!k("varchar", "varchar(10)").is_lob());
        assert_eq!(
            k("decimal", "decimal(10,2)").column_def(true).data_type,
            "NUMERIC"
        );
    }

    #[test]
    fn lob_cut_respects_char_boundaries() {
        assert_eq!(utf8_cut("héllo".as_bytes().to_vec(), Some(2)), "h");
        assert_eq!(utf8_cut(b"abc".to_vec(), Some(5)), "abc");
        assert_eq!(utf8(vec![0x41, 0xe9]), "Aé");
    }
}
