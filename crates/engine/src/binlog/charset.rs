//! Character sets of binlog string values: collation ids to charsets, and conversion to UTF-8.
//!
//! Row events carry strings in the column's character set; full load reads them converted to
//! utf8mb4 by the server. To render CDC exactly like full load, text is converted here.

use std::collections::HashMap;

/// How a column's bytes become UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextConv {
    /// utf8mb3 / utf8mb4 / ascii, or binary data: bytes as they are.
    Raw,
    /// latin1 (MariaDB/MySQL latin1 is Windows-1252).
    Latin1,
    /// ucs2 (UCS-2 big endian).
    Ucs2,
    /// utf16 (big endian).
    Utf16,
    /// utf16le.
    Utf16Le,
    /// utf32 (big endian).
    Utf32,
    /// Another multi-byte charset (gbk, sjis, ...): bytes kept as they are (a documented limitation).
    Unsupported,
}

/// A character set: conversion and maximum bytes per character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CharsetInfo {
    /// Conversion to UTF-8.
    pub conv: TextConv,
    /// Bytes per character at most (`MAXLEN`).
    pub maxlen: u8,
    /// The binary pseudo charset (collation 63).
    pub binary: bool,
}

impl CharsetInfo {
    pub(crate) const BINARY: CharsetInfo = CharsetInfo {
        conv: TextConv::Raw,
        maxlen: 1,
        binary: true,
    };
    pub(crate) const UTF8MB4: CharsetInfo = CharsetInfo {
        conv: TextConv::Raw,
        maxlen: 4,
        binary: false,
    };

    /// By charset name (`information_schema.CHARACTER_SETS.CHARACTER_SET_NAME`).
    pub(crate) fn from_name(name: &str, maxlen: Option<u8>) -> CharsetInfo {
        let n = name.to_ascii_lowercase();
        let (conv, default_len) = match n.as_str() {
            "binary" => return CharsetInfo::BINARY,
            "utf8mb4" => (TextConv::Raw, 4),
            "utf8" | "utf8mb3" => (TextConv::Raw, 3),
            "ascii" => (TextConv::Raw, 1),
            "latin1" => (TextConv::Latin1, 1),
            "ucs2" => (TextConv::Ucs2, 2),
            "utf16" => (TextConv::Utf16, 4),
            "utf16le" => (TextConv::Utf16Le, 4),
            "utf32" => (TextConv::Utf32, 4),
            _ => (TextConv::Unsupported, 1),
        };
        CharsetInfo {
            conv,
            maxlen: maxlen.unwrap_or(default_len).max(1),
            binary: false,
        }
    }
}

/// Collation id → charset, loaded once per reader from `information_schema`, with built-in
/// knowledge of the common ids as a fallback.
#[derive(Clone, Debug, Default)]
pub(crate) struct Collations {
    by_id: HashMap<u16, CharsetInfo>,
}

impl Collations {
    /// From `(collation id, charset name, maxlen)` rows.
    pub(crate) fn from_rows(
        rows: impl IntoIterator<Item = (u16, String, Option<u8>)>,
    ) -> Collations {
        let by_id = rows
            .into_iter()
            .map(|(id, name, maxlen)| (id, CharsetInfo::from_name(&name, maxlen)))
            .collect();
        Collations { by_id }
    }

    /// The charset of a collation id.
    pub(crate) fn get(&self, id: u16) -> CharsetInfo {
        if let Some(c) = self.by_id.get(&id) {
            return *c;
        }
        builtin(id)
    }
}

/// Well-known collation ids (MySQL 8 and MariaDB agree on these).
fn builtin(id: u16) -> CharsetInfo {
    match id {
        63 => CharsetInfo::BINARY,
        5 | 8 | 15 | 31 | 47 | 48 | 49 | 94 => CharsetInfo::from_name("latin1", None),
        11 | 65 => CharsetInfo::from_name("ascii", None),
        33 | 83 | 192..=215 | 223 | 576..=578 | 1057..=1069 => {
            CharsetInfo::from_name("utf8mb3", None)
        }
        35 | 90 | 128..=151 | 159 => CharsetInfo::from_name("ucs2", None),
        54 | 55 | 101..=124 | 608..=610 => CharsetInfo::from_name("utf16", None),
        56 | 62 => CharsetInfo::from_name("utf16le", None),
        60 | 61 | 160..=183 => CharsetInfo::from_name("utf32", None),
        // utf8mb4 (45, 46, 224-247, 255-309 on MySQL 8, 2048+ uca1400 on MariaDB 11) and the
        // rest: assume UTF-8, the overwhelmingly common case.
        _ => CharsetInfo::UTF8MB4,
    }
}

/// Windows-1252 bytes 0x80..=0x9F; MariaDB/MySQL map the five undefined ones to U+0081 etc.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

/// True when every byte is ASCII. Whole 16-byte blocks are checked without branches, which
/// the compiler turns into SIMD (`<[u8]>::is_ascii` does not here).
pub(crate) fn is_ascii(bytes: &[u8]) -> bool {
    let (blocks, rest) = bytes.as_chunks::<16>();
    blocks
        .iter()
        .all(|b| b.iter().fold(0u8, |acc, &x| acc | x) < 0x80)
        && rest.iter().all(u8::is_ascii)
}

/// Converts `bytes` in charset `conv` to UTF-8 bytes.
pub(crate) fn to_utf8(conv: TextConv, bytes: &[u8]) -> Vec<u8> {
    match conv {
        TextConv::Raw | TextConv::Unsupported => bytes.to_vec(),
        TextConv::Latin1 => {
            if is_ascii(bytes) {
                return bytes.to_vec();
            }
            let mut s = String::with_capacity(bytes.len() + 8);
            for &b in bytes {
                s.push(match b {
                    0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
                    _ => char::from(b),
                });
            }
            s.into_bytes()
        }
        TextConv::Ucs2 | TextConv::Utf16 => {
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .map(|r| r.unwrap_or('\u{FFFD}'))
                .collect::<String>()
                .into_bytes()
        }
        TextConv::Utf16Le => {
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .map(|r| r.unwrap_or('\u{FFFD}'))
                .collect::<String>()
                .into_bytes()
        }
        TextConv::Utf32 => bytes
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('\u{FFFD}')
            })
            .collect::<String>()
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_at_every_length_and_offset() {
        for len in 0..70 {
            let clean = vec![b'a'; len];
            assert!(is_ascii(&clean));
            for at in 0..len {
                let mut dirty = clean.clone();
                dirty[at] = 0x80 | (at as u8);
                assert!(!is_ascii(&dirty), "len {len}, at {at}");
            }
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(to_utf8(TextConv::Latin1, b"abc"), b"abc");
        assert_eq!(
            String::from_utf8(to_utf8(TextConv::Latin1, &[0x80, 0xE9, 0x81, 0xFF])).ok(),
            Some("€é\u{81}ÿ".to_owned())
        );
        assert_eq!(
            to_utf8(TextConv::Ucs2, &[0, 0x41, 0x00, 0xE9]),
            "Aé".as_bytes()
        );
        assert_eq!(to_utf8(TextConv::Utf16Le, &[0x41, 0]), b"A");
        assert_eq!(
            to_utf8(TextConv::Utf32, &[0, 1, 0xF6, 0x00]),
            "😀".as_bytes()
        );
        assert!(builtin(63).binary);
        assert_eq!(builtin(8).conv, TextConv::Latin1);
        assert_eq!(builtin(45).maxlen, 4);
        assert_eq!(builtin(33).maxlen, 3);
    }
}
