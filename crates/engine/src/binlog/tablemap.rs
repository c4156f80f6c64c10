//! TABLE_MAP events: parsing (by hand, so no input can panic), the per-column decode plan and
//! the [`BinlogColumn`]s of a table as of that event.

use std::sync::Arc;

use super::BinlogColumn;
use super::charset::{CharsetInfo, Collations, TextConv};
use crate::columns::ColumnKind;

// Binlog column types (`enum_field_types`).
pub(crate) const T_DECIMAL: u8 = 0;
pub(crate) const T_TINY: u8 = 1;
pub(crate) const T_SHORT: u8 = 2;
pub(crate) const T_LONG: u8 = 3;
pub(crate) const T_FLOAT: u8 = 4;
pub(crate) const T_DOUBLE: u8 = 5;
pub(crate) const T_NULL: u8 = 6;
pub(crate) const T_TIMESTAMP: u8 = 7;
pub(crate) const T_LONGLONG: u8 = 8;
pub(crate) const T_INT24: u8 = 9;
pub(crate) const T_DATE: u8 = 10;
pub(crate) const T_TIME: u8 = 11;
pub(crate) const T_DATETIME: u8 = 12;
pub(crate) const T_YEAR: u8 = 13;
pub(crate) const T_NEWDATE: u8 = 14;
pub(crate) const T_VARCHAR: u8 = 15;
pub(crate) const T_BIT: u8 = 16;
pub(crate) const T_TIMESTAMP2: u8 = 17;
pub(crate) const T_DATETIME2: u8 = 18;
pub(crate) const T_TIME2: u8 = 19;
pub(crate) const T_VECTOR: u8 = 242;
pub(crate) const T_JSON: u8 = 245;
pub(crate) const T_NEWDECIMAL: u8 = 246;
pub(crate) const T_ENUM: u8 = 247;
pub(crate) const T_SET: u8 = 248;
pub(crate) const T_TINY_BLOB: u8 = 249;
pub(crate) const T_MEDIUM_BLOB: u8 = 250;
pub(crate) const T_LONG_BLOB: u8 = 251;
pub(crate) const T_BLOB: u8 = 252;
pub(crate) const T_VAR_STRING: u8 = 253;
pub(crate) const T_STRING: u8 = 254;
pub(crate) const T_GEOMETRY: u8 = 255;

/// A little-endian cursor over event bytes; every read is checked.
#[derive(Debug, Clone)]
pub(crate) struct Cur<'a> {
    pub b: &'a [u8],
}

impl<'a> Cur<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cur { b }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&h, t) = self.b.split_first()?;
        self.b = t;
        Some(h)
    }

    /// Unsigned little-endian integer of `n` (<= 8) bytes.
    pub(crate) fn uint_le(&mut self, n: usize) -> Option<u64> {
        let s = self.take(n)?;
        Some(
            s.iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
        )
    }

    /// Unsigned big-endian integer of `n` (<= 8) bytes.
    pub(crate) fn uint_be(&mut self, n: usize) -> Option<u64> {
        let s = self.take(n)?;
        Some(s.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// The binlog's packed integer (`net_field_length`).
    pub(crate) fn packed(&mut self) -> Option<u64> {
        match self.u8()? {
            x @ 0..=250 => Some(u64::from(x)),
            252 => self.uint_le(2),
            253 => self.uint_le(3),
            254 => self.uint_le(8),
            _ => None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

/// One column as the TABLE_MAP describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MapColumn {
    /// Binlog type byte.
    pub ty: u8,
    /// Real type: for `MYSQL_TYPE_STRING` the one in the metadata (STRING, ENUM or SET).
    pub real: u8,
    /// Type metadata, normalised: see [`parse_metadata`].
    pub m0: u16,
    /// Second metadata value.
    pub m1: u16,
    /// NULL allowed.
    pub nullable: bool,
}

/// A parsed TABLE_MAP event body.
#[derive(Clone, Debug)]
pub(crate) struct RawTableMap {
    pub table_id: u64,
    pub schema: String,
    pub table: String,
    pub columns: Vec<MapColumn>,
    pub opt: OptionalMeta,
}

/// Optional metadata (binlog_row_metadata MINIMAL / FULL).
#[derive(Clone, Debug, Default)]
pub(crate) struct OptionalMeta {
    /// Per numeric column (in column order): unsigned.
    pub signedness: Option<Vec<bool>>,
    /// Per character column: collation id.
    pub charsets: Option<CharsetList>,
    /// Per ENUM/SET column: collation id.
    pub enum_set_charsets: Option<CharsetList>,
    pub names: Option<Vec<String>>,
    pub enum_values: Option<Vec<Vec<Vec<u8>>>>,
    pub set_values: Option<Vec<Vec<Vec<u8>>>>,
    pub primary_key: Option<Vec<u64>>,
}

/// Charsets in either of the two encodings of the optional metadata.
#[derive(Clone, Debug)]
pub(crate) enum CharsetList {
    /// Default collation plus `(index among the counted columns, collation)` exceptions.
    Default {
        default: u16,
        exceptions: Vec<(u64, u16)>,
    },
    /// One collation per counted column.
    PerColumn(Vec<u16>),
}

impl CharsetList {
    fn get(&self, k: usize) -> Option<u16> {
        match self {
            CharsetList::Default {
                default,
                exceptions,
            } => Some(
                exceptions
                    .iter()
                    .find(|(i, _)| *i == k as u64)
                    .map(|(_, c)| *c)
                    .unwrap_or(*default),
            ),
            CharsetList::PerColumn(v) => v.get(k).copied(),
        }
    }

    fn len_hint(&self) -> Option<usize> {
        match self {
            CharsetList::PerColumn(v) => Some(v.len()),
            CharsetList::Default { .. } => None,
        }
    }
}

/// Parses a TABLE_MAP body (`event.data()`: after the common header, checksum stripped).
/// `table_id_len` is 6 (post-header length 8, every server since 5.1) or 4.
pub(crate) fn parse_table_map(data: &[u8], table_id_len: usize) -> Option<RawTableMap> {
    let mut c = Cur::new(data);
    let table_id = c.uint_le(table_id_len)?;
    c.take(2)?; // flags
    let dl = usize::from(c.u8()?);
    let schema = String::from_utf8_lossy(c.take(dl)?).into_owned();
    c.take(1)?;
    let tl = usize::from(c.u8()?);
    let table = String::from_utf8_lossy(c.take(tl)?).into_owned();
    c.take(1)?;
    let n = usize::try_from(c.packed()?).ok()?;
    if n > 4096 {
        return None;
    }
    let types = c.take(n)?;
    let meta_len = usize::try_from(c.packed()?).ok()?;
    let meta = c.take(meta_len)?;
    let null_bits = c.take(n.div_ceil(8))?;
    let mut mc = Cur::new(meta);
    let mut columns = Vec::with_capacity(n);
    for (i, &ty) in types.iter().enumerate() {
        let (real, m0, m1) = parse_metadata(ty, &mut mc)?;
        let nullable = null_bits
            .get(i / 8)
            .is_some_and(|b| b & (1 << (i % 8)) != 0);
        columns.push(MapColumn {
            ty,
            real,
            m0,
            m1,
            nullable,
        });
    }
    let opt = parse_optional(c.b, &columns);
    Some(RawTableMap {
        table_id,
        schema,
        table,
        columns,
        opt,
    })
}

/// Reads one column's type metadata. Returns `(real type, m0, m1)`:
/// - FLOAT/DOUBLE: m0 = size; BLOB/GEOMETRY/JSON/VECTOR: m0 = length bytes;
///   TIMESTAMP2/DATETIME2/TIME2: m0 = fractional digits;
/// - VARCHAR/VAR_STRING: m0 = max bytes;
/// - NEWDECIMAL: m0 = precision, m1 = scale; BIT: m0 = bits % 8, m1 = bytes;
/// - STRING: real type from the metadata; CHAR: m0 = max bytes; ENUM/SET: m0 = pack length.
fn parse_metadata(ty: u8, c: &mut Cur<'_>) -> Option<(u8, u16, u16)> {
    Some(match ty {
        T_FLOAT | T_DOUBLE | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB | T_BLOB | T_GEOMETRY
        | T_TIME2 | T_DATETIME2 | T_TIMESTAMP2 | T_JSON | T_VECTOR => (ty, u16::from(c.u8()?), 0),
        T_VARCHAR | T_VAR_STRING => (ty, c.uint_le(2)? as u16, 0),
        T_NEWDECIMAL | T_BIT => {
            let a = c.u8()?;
            let b = c.u8()?;
            (ty, u16::from(a), u16::from(b))
        }
        T_ENUM | T_SET => {
            let _real = c.u8()?;
            let pack = c.u8()?;
            (ty, u16::from(pack), 0)
        }
        T_STRING => {
            let b0 = c.u8()?;
            let b1 = c.u8()?;
            if b0 != 0 && (b0 & 0x30) != 0x30 {
                // A CHAR longer than 255 bytes: two length bits folded into the type byte.
                let len = u16::from(b1) | ((u16::from(b0 & 0x30) ^ 0x30) << 4);
                (b0 | 0x30, len, 0)
            } else if b0 == 0 {
                (T_STRING, u16::from(b1) << 8, 0)
            } else {
                (b0, u16::from(b1), 0)
            }
        }
        // Everything else has no metadata.
        _ => (ty, 0, 0),
    })
}

fn is_numeric(real: u8) -> bool {
    matches!(
        real,
        T_TINY
            | T_SHORT
            | T_INT24
            | T_LONG
            | T_LONGLONG
            | T_NEWDECIMAL
            | T_FLOAT
            | T_DOUBLE
            | T_DECIMAL
            | T_YEAR
    )
}

/// Character columns for the charset metadata; MariaDB counts GEOMETRY too (its field class
/// derives from BLOB), MySQL does not.
fn is_character(real: u8, with_geometry: bool) -> bool {
    matches!(
        real,
        T_STRING | T_VAR_STRING | T_VARCHAR | T_BLOB | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB
    ) || (with_geometry && real == T_GEOMETRY)
}

fn is_enum_or_set(real: u8) -> bool {
    matches!(real, T_ENUM | T_SET)
}

fn parse_charsets(v: &[u8], default_form: bool) -> Option<CharsetList> {
    let mut c = Cur::new(v);
    if default_form {
        let default = c.packed()? as u16;
        let mut exceptions = Vec::new();
        while !c.is_empty() {
            let idx = c.packed()?;
            let coll = c.packed()? as u16;
            exceptions.push((idx, coll));
        }
        Some(CharsetList::Default {
            default,
            exceptions,
        })
    } else {
        let mut out = Vec::new();
        while !c.is_empty() {
            out.push(c.packed()? as u16);
        }
        Some(CharsetList::PerColumn(out))
    }
}

fn parse_str_values(v: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    let mut c = Cur::new(v);
    let mut out = Vec::new();
    while !c.is_empty() {
        let count = usize::try_from(c.packed()?).ok()?;
        let mut vals = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let len = usize::try_from(c.packed()?).ok()?;
            vals.push(c.take(len)?.to_vec());
        }
        out.push(vals);
    }
    Some(out)
}

/// Parses the optional metadata TLVs; a malformed field is dropped (as if absent).
fn parse_optional(mut data: &[u8], columns: &[MapColumn]) -> OptionalMeta {
    let mut out = OptionalMeta::default();
    loop {
        let mut c = Cur::new(data);
        let Some(t) = c.u8() else { break };
        let Some(len) = c.packed().and_then(|l| usize::try_from(l).ok()) else {
            break;
        };
        let Some(v) = c.take(len) else { break };
        data = c.b;
        match t {
            1 => {
                let n = columns.iter().filter(|col| is_numeric(col.real)).count();
                let bits: Vec<bool> = (0..n)
                    .map(|i| v.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
                    .collect();
                out.signedness = Some(bits);
            }
            2 => out.charsets = parse_charsets(v, true),
            3 => out.charsets = parse_charsets(v, false),
            4 => {
                let mut c = Cur::new(v);
                let mut names = Vec::with_capacity(columns.len());
                while !c.is_empty() {
                    let Some(name) = c.packed().and_then(|l| c.take(usize::try_from(l).ok()?))
                    else {
                        break;
                    };
                    names.push(String::from_utf8_lossy(name).into_owned());
                }
                out.names = Some(names);
            }
            5 => out.set_values = parse_str_values(v),
            6 => out.enum_values = parse_str_values(v),
            8 => {
                let mut c = Cur::new(v);
                let mut pk = Vec::new();
                while let Some(i) = c.packed() {
                    pk.push(i);
                }
                out.primary_key = Some(pk);
            }
            9 => {
                let mut c = Cur::new(v);
                let mut pk = Vec::new();
                while let (Some(i), Some(_prefix)) = (c.packed(), c.packed()) {
                    pk.push(i);
                }
                out.primary_key = Some(pk);
            }
            10 => out.enum_set_charsets = parse_charsets(v, true),
            11 => out.enum_set_charsets = parse_charsets(v, false),
            _ => {}
        }
    }
    out
}

/// How one column's value is read from a row image.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Dec {
    Null,
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Year,
    Date,
    Time,
    DateTime,
    Timestamp,
    Timestamp2 {
        fsp: u8,
    },
    DateTime2 {
        fsp: u8,
    },
    Time2 {
        fsp: u8,
    },
    Bit {
        bytes: usize,
    },
    /// Length-prefixed text or bytes; `pad` = fixed length of a BINARY(n) (re-padded with 0x00).
    Str {
        prefix: u8,
        conv: TextConv,
        pad: Option<usize>,
    },
    Blob {
        prefix: u8,
        conv: TextConv,
    },
    Json {
        prefix: u8,
    },
    Enum {
        pack: u8,
        names: Arc<Vec<Vec<u8>>>,
    },
    Set {
        pack: u8,
        names: Arc<Vec<Vec<u8>>>,
    },
    /// A type this reader cannot decode (its size is unknown: later columns are unreadable).
    Unsupported {
        type_code: u8,
    },
}

/// What the reader knows about a table from the information schema (MINIMAL/NOBLOB metadata).
#[derive(Clone, Debug)]
pub(crate) struct SchemaColumn {
    pub name: String,
    pub kind: ColumnKind,
    pub is_primary_key: bool,
    /// Character set name, for text columns.
    pub charset: Option<String>,
    /// ENUM / SET values with their original case.
    pub values: Option<Vec<String>>,
    pub unsigned: bool,
}

/// A table as of one TABLE_MAP event: columns for consumers, decode plan for the reader.
#[derive(Debug)]
pub(crate) struct TableMeta {
    pub schema: String,
    pub table: String,
    pub columns: Arc<Vec<BinlogColumn>>,
    pub plan: Vec<Dec>,
    /// The TABLE_MAP body this was built from (a cache key: same bytes, same meaning).
    pub raw: Vec<u8>,
    /// False when the table filter rejected the table: its rows are skipped undecoded.
    pub selected: bool,
    /// Why the table cannot be decoded, when it cannot (reported only if rows arrive).
    pub problem: Option<String>,
}

/// Whether the TABLE_MAP carries FULL metadata (column names).
pub(crate) fn has_full_metadata(map: &RawTableMap) -> bool {
    map.opt
        .names
        .as_ref()
        .is_some_and(|n| n.len() == map.columns.len())
}

/// Per-column charsets, taking MariaDB's GEOMETRY counting into account.
fn column_charsets(
    map: &RawTableMap,
    mariadb: bool,
    collations: &Collations,
) -> Vec<Option<CharsetInfo>> {
    let count = |geo: bool| {
        map.columns
            .iter()
            .filter(|c| is_character(c.real, geo))
            .count()
    };
    // Prefer what the per-column list's length proves; otherwise the flavour's rule.
    let with_geometry = match map.opt.charsets.as_ref().and_then(CharsetList::len_hint) {
        Some(n) if n == count(true) && n != count(false) => true,
        Some(n) if n == count(false) && n != count(true) => false,
        _ => mariadb,
    };
    let mut k_char = 0;
    let mut k_es = 0;
    map.columns
        .iter()
        .map(|c| {
            if is_character(c.real, with_geometry) {
                let id = map.opt.charsets.as_ref().and_then(|l| l.get(k_char));
                k_char += 1;
                id.map(|id| collations.get(id))
            } else if is_enum_or_set(c.real) {
                let id = map.opt.enum_set_charsets.as_ref().and_then(|l| l.get(k_es));
                k_es += 1;
                id.map(|id| collations.get(id))
            } else {
                None
            }
        })
        .collect()
}

/// Width in bits of a BIT column from its metadata.
fn bit_width(c: &MapColumn) -> u32 {
    u32::from(c.m1) * 8 + u32::from(c.m0)
}

fn int_bytes(real: u8) -> u8 {
    match real {
        T_TINY => 1,
        T_SHORT => 2,
        T_INT24 => 3,
        T_LONG => 4,
        _ => 8,
    }
}

fn blob_len(prefix: u16) -> u64 {
    match prefix {
        1 => 255,
        2 => 65_535,
        3 => 16_777_215,
        _ => 4_294_967_295,
    }
}

/// Builds the decode plan entry for one column.
fn plan_for(
    c: &MapColumn,
    unsigned: bool,
    cs: Option<CharsetInfo>,
    names: Option<Arc<Vec<Vec<u8>>>>,
) -> Dec {
    let conv = cs.map_or(TextConv::Raw, |c| c.conv);
    let binary = cs.is_some_and(|c| c.binary);
    let prefix_for = |max: u16| if max > 255 { 2 } else { 1 };
    match c.real {
        T_NULL => Dec::Null,
        T_TINY | T_SHORT | T_INT24 | T_LONG | T_LONGLONG => Dec::Int {
            bytes: int_bytes(c.real),
            unsigned,
        },
        T_FLOAT => Dec::Float,
        T_DOUBLE => Dec::Double,
        T_NEWDECIMAL => Dec::Decimal {
            precision: c.m0 as u8,
            scale: c.m1 as u8,
        },
        T_YEAR => Dec::Year,
        T_DATE | T_NEWDATE => Dec::Date,
        T_TIME => Dec::Time,
        T_DATETIME => Dec::DateTime,
        T_TIMESTAMP => Dec::Timestamp,
        T_TIMESTAMP2 => Dec::Timestamp2 { fsp: c.m0 as u8 },
        T_DATETIME2 => Dec::DateTime2 { fsp: c.m0 as u8 },
        T_TIME2 => Dec::Time2 { fsp: c.m0 as u8 },
        T_BIT => Dec::Bit {
            bytes: (bit_width(c) as usize).div_ceil(8),
        },
        T_VARCHAR | T_VAR_STRING => Dec::Str {
            prefix: prefix_for(c.m0),
            conv,
            pad: None,
        },
        T_STRING => Dec::Str {
            prefix: prefix_for(c.m0),
            conv,
            pad: binary.then_some(usize::from(c.m0)),
        },
        T_BLOB | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB | T_GEOMETRY | T_VECTOR => Dec::Blob {
            prefix: c.m0 as u8,
            conv: if c.real == T_GEOMETRY || c.real == T_VECTOR {
                TextConv::Raw
            } else {
                conv
            },
        },
        T_JSON => Dec::Json { prefix: c.m0 as u8 },
        T_ENUM => Dec::Enum {
            pack: c.m0 as u8,
            names: names.unwrap_or_default(),
        },
        T_SET => Dec::Set {
            pack: c.m0 as u8,
            names: names.unwrap_or_default(),
        },
        other => Dec::Unsupported { type_code: other },
    }
}

/// The [`ColumnKind`] a TABLE_MAP column implies (FULL metadata), matching what
/// [`ColumnKind::from_information_schema`] derives for the same column.
fn kind_for(
    c: &MapColumn,
    unsigned: bool,
    cs: Option<CharsetInfo>,
    values: Option<Vec<String>>,
) -> ColumnKind {
    let binary = cs.is_some_and(|c| c.binary);
    let maxlen = u64::from(cs.map_or(1, |c| c.maxlen.max(1)));
    match c.real {
        T_TINY | T_SHORT | T_INT24 | T_LONG | T_LONGLONG => ColumnKind::Integer {
            bytes: int_bytes(c.real),
            unsigned,
        },
        T_NEWDECIMAL | T_DECIMAL => ColumnKind::Decimal {
            precision: u32::from(c.m0),
            scale: u32::from(c.m1),
        },
        T_FLOAT => ColumnKind::Float,
        T_DOUBLE => ColumnKind::Double,
        T_BIT => match bit_width(c) {
            0 | 1 => ColumnKind::Boolean,
            width => ColumnKind::Bits { width },
        },
        T_DATE | T_NEWDATE => ColumnKind::Date,
        T_DATETIME | T_DATETIME2 => ColumnKind::DateTime,
        T_TIMESTAMP | T_TIMESTAMP2 => ColumnKind::Timestamp,
        T_TIME | T_TIME2 => ColumnKind::Time,
        T_YEAR => ColumnKind::Year,
        T_VARCHAR | T_VAR_STRING | T_STRING => {
            if binary {
                ColumnKind::Binary {
                    length: u64::from(c.m0),
                }
            } else {
                ColumnKind::String {
                    length: u64::from(c.m0) / maxlen,
                }
            }
        }
        T_BLOB | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB => match (binary, c.m0) {
            (true, 1 | 2) => ColumnKind::Blob {
                length: blob_len(c.m0),
            },
            (true, _) => ColumnKind::LongBlob,
            (false, 1 | 2) => ColumnKind::Text {
                length: blob_len(c.m0),
            },
            (false, _) => ColumnKind::Clob,
        },
        T_JSON => ColumnKind::Json,
        T_ENUM => ColumnKind::Enum(values.unwrap_or_default()),
        T_SET => ColumnKind::Set(values.unwrap_or_default()),
        _ => ColumnKind::LongBlob,
    }
}

fn utf8_values(vals: &[Vec<u8>], cs: Option<CharsetInfo>) -> Vec<Vec<u8>> {
    let conv = cs.map_or(TextConv::Raw, |c| c.conv);
    vals.iter()
        .map(|v| super::charset::to_utf8(conv, v))
        .collect()
}

/// Builds a table from FULL metadata alone.
pub(crate) fn build_full(
    map: &RawTableMap,
    raw: &[u8],
    mariadb: bool,
    collations: &Collations,
) -> TableMeta {
    let charsets = column_charsets(map, mariadb, collations);
    let mut signs = map.opt.signedness.iter().flatten().copied();
    let mut enums = map.opt.enum_values.iter().flatten();
    let mut sets = map.opt.set_values.iter().flatten();
    let names = map.opt.names.clone().unwrap_or_default();
    let pk = map.opt.primary_key.clone().unwrap_or_default();
    let mut columns = Vec::with_capacity(map.columns.len());
    let mut plan = Vec::with_capacity(map.columns.len());
    let mut problem = None;
    for (i, c) in map.columns.iter().enumerate() {
        let unsigned = if is_numeric(c.real) {
            signs.next().unwrap_or(false)
        } else {
            false
        };
        let cs = charsets.get(i).copied().flatten();
        let raw_values = match c.real {
            T_ENUM => enums.next(),
            T_SET => sets.next(),
            _ => None,
        };
        let utf8 = raw_values.map(|v| Arc::new(utf8_values(v, cs)));
        let values = utf8.as_ref().map(|v| {
            v.iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect()
        });
        let dec = plan_for(c, unsigned, cs, utf8);
        if let Dec::Unsupported { type_code } = dec {
            problem.get_or_insert(format!(
                "column {} has binlog type {type_code}, which dmsrs cannot decode",
                i + 1
            ));
        }
        plan.push(dec);
        columns.push(BinlogColumn {
            name: names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("@{}", i + 1)),
            kind: kind_for(c, unsigned, cs, values),
            nullable: c.nullable,
            is_primary_key: pk.contains(&(i as u64)),
        });
    }
    TableMeta {
        schema: map.schema.clone(),
        table: map.table.clone(),
        columns: Arc::new(columns),
        plan,
        raw: raw.to_vec(),
        selected: true,
        problem,
    }
}

/// Whether a TABLE_MAP column can hold values of an information-schema column kind.
fn compatible(c: &MapColumn, kind: &ColumnKind) -> bool {
    use ColumnKind as K;
    match kind {
        K::Integer { bytes, .. } => {
            matches!(c.real, T_TINY | T_SHORT | T_INT24 | T_LONG | T_LONGLONG)
                && int_bytes(c.real) == *bytes
        }
        K::Decimal { precision, scale } => {
            c.real == T_NEWDECIMAL && u32::from(c.m0) == *precision && u32::from(c.m1) == *scale
        }
        K::Float => c.real == T_FLOAT,
        K::Double => c.real == T_DOUBLE,
        K::Boolean | K::Bits { .. } => c.real == T_BIT,
        K::Date => matches!(c.real, T_DATE | T_NEWDATE),
        K::DateTime => matches!(c.real, T_DATETIME | T_DATETIME2),
        K::Timestamp => matches!(c.real, T_TIMESTAMP | T_TIMESTAMP2),
        K::Time => matches!(c.real, T_TIME | T_TIME2),
        K::Year => c.real == T_YEAR,
        K::String { .. } | K::Binary { .. } => {
            matches!(c.real, T_VARCHAR | T_VAR_STRING | T_STRING)
        }
        K::Enum(_) => c.real == T_ENUM,
        K::Set(_) => c.real == T_SET,
        K::Text { .. } | K::Clob | K::Blob { .. } => {
            matches!(c.real, T_BLOB | T_TINY_BLOB | T_MEDIUM_BLOB | T_LONG_BLOB)
        }
        K::Json => matches!(c.real, T_JSON | T_BLOB | T_LONG_BLOB),
        // Geometry, MariaDB UUID/INET and other types the information schema maps to LongBlob.
        K::LongBlob => !matches!(
            c.real,
            T_TINY
                | T_SHORT
                | T_INT24
                | T_LONG
                | T_LONGLONG
                | T_FLOAT
                | T_DOUBLE
                | T_NEWDECIMAL
                | T_DATE
                | T_NEWDATE
                | T_DATETIME
                | T_DATETIME2
                | T_TIMESTAMP
                | T_TIMESTAMP2
                | T_TIME
                | T_TIME2
                | T_YEAR
                | T_BIT
                | T_ENUM
                | T_SET
        ),
    }
}

/// Builds a table from a TABLE_MAP without column names (MINIMAL / NOBLOB / NO_LOG metadata)
/// and the information-schema columns of the same table. Fails when the two disagree (the
/// table changed between this event and the information-schema read).
pub(crate) fn build_with_schema(
    map: &RawTableMap,
    raw: &[u8],
    mariadb: bool,
    collations: &Collations,
    schema_cols: &[SchemaColumn],
) -> Result<TableMeta, String> {
    if schema_cols.len() != map.columns.len() {
        return Err(format!(
            "the binlog row has {} columns but the table has {} now (information_schema)",
            map.columns.len(),
            schema_cols.len()
        ));
    }
    let charsets = column_charsets(map, mariadb, collations);
    let mut signs = map.opt.signedness.as_ref().map(|s| s.iter().copied());
    let mut columns = Vec::with_capacity(map.columns.len());
    let mut plan = Vec::with_capacity(map.columns.len());
    let mut problem = None;
    for (i, (c, s)) in map.columns.iter().zip(schema_cols).enumerate() {
        if !compatible(c, &s.kind) {
            return Err(format!(
                "column {} ({}) is {:?} in information_schema but binlog type {} in the row event",
                i + 1,
                s.name,
                s.kind,
                c.real
            ));
        }
        let unsigned = if is_numeric(c.real) {
            // The signedness metadata (logged even with MINIMAL) wins; else the schema's.
            signs
                .as_mut()
                .and_then(Iterator::next)
                .unwrap_or(s.unsigned)
        } else {
            false
        };
        let cs = charsets
            .get(i)
            .copied()
            .flatten()
            .or_else(|| {
                s.charset
                    .as_deref()
                    .map(|n| CharsetInfo::from_name(n, None))
            })
            .or_else(|| {
                matches!(
                    s.kind,
                    ColumnKind::Binary { .. } | ColumnKind::Blob { .. } | ColumnKind::LongBlob
                )
                .then_some(CharsetInfo::BINARY)
            });
        let names = s
            .values
            .as_ref()
            .map(|v| Arc::new(v.iter().map(|x| x.as_bytes().to_vec()).collect()));
        let dec = plan_for(c, unsigned, cs, names);
        if let Dec::Unsupported { type_code } = dec {
            problem.get_or_insert(format!(
                "column {} ({}) has binlog type {type_code}, which dmsrs cannot decode",
                i + 1,
                s.name
            ));
        }
        plan.push(dec);
        columns.push(BinlogColumn {
            name: s.name.clone(),
            kind: s.kind.clone(),
            nullable: c.nullable,
            is_primary_key: s.is_primary_key,
        });
    }
    Ok(TableMeta {
        schema: map.schema.clone(),
        table: map.table.clone(),
        columns: Arc::new(columns),
        plan,
        raw: raw.to_vec(),
        selected: true,
        problem,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The TABLE_MAP body MariaDB 10.11 wrote for
    /// `p (id INT PRIMARY KEY, y YEAR, u INT UNSIGNED, g GEOMETRY, t TEXT latin1, v VARCHAR(10),
    /// e ENUM('A','b'), b BINARY(4), j JSON, s SET('x','y') latin1)` (database default latin1).
    const MARIADB_TME: &[u8] = &[
        0x12, 0, 0, 0, 0, 0, 0x01, 0, 0x0a, b'd', b'm', b's', b'_', b's', b'a', b'm', b'p', b'l',
        b'e', 0, 0x01, b'p', 0, 0x0a, 0x03, 0x0d, 0x03, 0xff, 0xfc, 0x0f, 0xfe, 0xfe, 0xfc, 0xfe,
        0x0b, 0x04, 0x02, 0x0a, 0x00, 0xf7, 0x01, 0xfe, 0x04, 0x04, 0xf8, 0x01, 0xfe, 0x03, 0x01,
        0x01, 0x60, 0x03, 0x05, 0x3f, 0x08, 0x08, 0x3f, 0x2e, 0x07, 0x01, 0x00, 0x04, 0x15, 0x02,
        b'i', b'd', 0x01, b'y', 0x01, b'u', 0x01, b'g', 0x01, b't', 0x01, b'v', 0x01, b'e', 0x01,
        b'b', 0x01, b'j', 0x01, b's', 0x0a, 0x01, 0x08, 0x05, 0x05, 0x02, 0x01, b'x', 0x01, b'y',
        0x06, 0x05, 0x02, 0x01, b'A', 0x01, b'b', 0x08, 0x01, 0x00,
    ];

    #[test]
    fn parses_mariadb_full_metadata() {
        let map = parse_table_map(MARIADB_TME, 6).unwrap();
        assert_eq!(
            (map.table_id, map.schema.as_str(), map.table.as_str()),
            (18, "dms_sample", "p")
        );
        assert!(has_full_metadata(&map));
        let t = build_full(&map, MARIADB_TME, true, &Collations::default());
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "y", "u", "g", "t", "v", "e", "b", "j", "s"]);
        let k: Vec<&ColumnKind> = t.columns.iter().map(|c| &c.kind).collect();
        assert_eq!(
            k[0],
            &ColumnKind::Integer {
                bytes: 4,
                unsigned: false
            }
        );
        assert_eq!(
            k[2],
            &ColumnKind::Integer {
                bytes: 4,
                unsigned: true
            }
        );
        assert_eq!(k[3], &ColumnKind::LongBlob);
        assert_eq!(k[4], &ColumnKind::Text { length: 65_535 });
        assert_eq!(k[5], &ColumnKind::String { length: 10 });
        assert_eq!(k[6], &ColumnKind::Enum(vec!["A".into(), "b".into()]));
        assert_eq!(k[7], &ColumnKind::Binary { length: 4 });
        assert_eq!(k[8], &ColumnKind::Clob);
        assert_eq!(k[9], &ColumnKind::Set(vec!["x".into(), "y".into()]));
        assert!(t.columns[0].is_primary_key && !t.columns[1].is_primary_key);
        assert!(!t.columns[0].nullable && t.columns[1].nullable);
        // GEOMETRY counts as a character column on MariaDB: t is latin1, b binary, j utf8mb4.
        assert!(matches!(
            t.plan[4],
            Dec::Blob {
                prefix: 2,
                conv: TextConv::Latin1
            }
        ));
        assert!(matches!(
            t.plan[7],
            Dec::Str {
                prefix: 1,
                conv: TextConv::Raw,
                pad: Some(4)
            }
        ));
        assert!(matches!(
            t.plan[8],
            Dec::Blob {
                prefix: 4,
                conv: TextConv::Raw
            }
        ));
        assert!(t.problem.is_none());
    }

    #[test]
    fn truncated_table_maps_are_rejected() {
        for n in 0..MARIADB_TME.len() - 30 {
            // Cutting the body anywhere before the optional metadata must fail cleanly.
            let _ = parse_table_map(&MARIADB_TME[..n], 6);
        }
        assert!(parse_table_map(&MARIADB_TME[..20], 6).is_none());
    }

    proptest::proptest! {
        #[test]
        fn table_maps_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300), flip in 0usize..120, byte in proptest::num::u8::ANY) {
            let _ = parse_table_map(&data, 6);
            // Mutations of a real table map exercise the deeper paths.
            let mut real = MARIADB_TME.to_vec();
            if flip < real.len() {
                real[flip] = byte;
            }
            if let Some(map) = parse_table_map(&real, 6) {
                let _ = build_full(&map, &real, true, &Collations::default());
                let _ = build_full(&map, &real, false, &Collations::default());
            }
        }
    }

    #[test]
    fn long_char_metadata() {
        // CHAR(100) utf8mb4 = 400 bytes: 0xfe ^ (1 << 4) folded into the type byte.
        let mut c = Cur::new(&[0xee, 0x90]);
        assert_eq!(parse_metadata(T_STRING, &mut c), Some((T_STRING, 400, 0)));
    }
}
