//! Pre-rendered parts of data records, for writers that encode many records of one table.
//!
//! A record written through a [`DataRecordTemplate`] is byte for byte what
//! [`encode_data_into`](super::encode_data_into) writes for the same values: the keys of the
//! `data` and before-image objects are escaped and laid out once per table, and the
//! `metadata` object once per group of records that share everything but their
//! `transaction-record-id` and `partition-key-value` (the rows of one rows event, or one
//! chunk of a full load).

use super::{
    Hole, MessageFormat, MetadataRef, Out, PlainKey, write_escaped, write_metadata, write_u64,
};
use crate::value::ValueRef;

/// A member's separator and key (`,\n\t\t"name":\t` or `,"name":`), as written for every
/// member but the first; the first skips the leading `,` (and newline).
type MemberKey = Box<[u8]>;

/// The keys of one table's data records, pre-rendered in one message layout.
#[derive(Clone, Debug)]
pub struct DataRecordTemplate {
    pretty: bool,
    /// Bytes of a [`MemberKey`] a first member leaves out.
    first_skip: usize,
    data_keys: Vec<MemberKey>,
    /// The before-image member's key (never the first member), and its objects' keys.
    before_image: Option<(MemberKey, Vec<MemberKey>)>,
}

/// The `metadata` object of a group of data records, with the record id and the partition
/// key value left out: made by [`DataRecordTemplate::metadata`].
#[derive(Clone, Debug)]
pub struct MetadataTemplate {
    bytes: Vec<u8>,
    holes: Vec<(usize, Hole)>,
}

fn member_keys<I, S>(pretty: bool, depth: usize, names: I) -> Vec<MemberKey>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    names
        .into_iter()
        .map(|n| member_key(pretty, depth, n.as_ref()))
        .collect()
}

fn member_key(pretty: bool, depth: usize, name: &str) -> MemberKey {
    let mut buf = Vec::with_capacity(name.len() + depth + 6);
    let mut out = Out {
        buf: &mut buf,
        pretty,
    };
    out.key(depth, &mut false, name);
    buf.into_boxed_slice()
}

impl DataRecordTemplate {
    /// The template for records whose `data` members are named `data_names` (by index) and,
    /// when `before_image` is given, whose before-image member is called `before_image.0`
    /// with members named `before_image.1` (by index).
    pub fn new<D, B, S, T>(
        format: MessageFormat,
        data_names: D,
        before_image: Option<(&str, B)>,
    ) -> Self
    where
        D: IntoIterator<Item = S>,
        S: AsRef<str>,
        B: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let pretty = format == MessageFormat::Json;
        DataRecordTemplate {
            pretty,
            first_skip: if pretty { 2 } else { 1 },
            data_keys: member_keys(pretty, 2, data_names),
            before_image: before_image.map(|(field, names)| {
                (member_key(pretty, 1, field), member_keys(pretty, 2, names))
            }),
        }
    }

    /// The `metadata` object for records that share `m` but for `transaction_record_id`
    /// and `partition_key_value`: when those are `Some`, their keys are written and their
    /// values come with each record ([`DataRecordTemplate::encode_into`]); the values given
    /// here are ignored.
    pub fn metadata(&self, m: &MetadataRef<'_>) -> MetadataTemplate {
        let mut bytes = Vec::with_capacity(512);
        let mut holes = Vec::with_capacity(2);
        let mut out = Out {
            buf: &mut bytes,
            pretty: self.pretty,
        };
        write_metadata(&mut out, 2, m, std::iter::empty(), Some(&mut holes));
        MetadataTemplate { bytes, holes }
    }

    /// Appends a data record: `data` and `before_image` are `(member index, value)` pairs in
    /// the order to write (indices as given to [`DataRecordTemplate::new`]; unknown indices
    /// are skipped), `record_id` and `partition_key_value` fill the metadata's holes. The
    /// before-image is written only when the template has one.
    pub fn encode_into<'d, 'b, D, B>(
        &self,
        data: D,
        before_image: Option<B>,
        metadata: &MetadataTemplate,
        record_id: u64,
        partition_key_value: &str,
        buf: &mut Vec<u8>,
    ) where
        D: Iterator<Item = (usize, ValueRef<'d>)>,
        B: Iterator<Item = (usize, ValueRef<'b>)>,
    {
        let mut out = Out {
            buf,
            pretty: self.pretty,
        };
        out.open();
        out.key_plain(1, &mut true, plain_key!("data"));
        self.object(&mut out, &self.data_keys, data);
        if let (Some((field, keys)), Some(before)) = (&self.before_image, before_image) {
            out.buf.extend_from_slice(field);
            self.object(&mut out, keys, before);
        }
        out.key_plain(1, &mut false, plain_key!("metadata"));
        metadata.write(out.buf, record_id, partition_key_value);
        out.close(1, false);
        if !self.pretty {
            out.buf.push(b'\n');
        }
    }

    /// An object of the second level (`data`, the before-image).
    fn object<'v>(
        &self,
        out: &mut Out<'_>,
        keys: &[MemberKey],
        members: impl Iterator<Item = (usize, ValueRef<'v>)>,
    ) {
        out.open();
        let mut empty = true;
        for (i, v) in members {
            let Some(key) = keys.get(i) else { continue };
            let key = if empty {
                key.get(self.first_skip..).unwrap_or_default()
            } else {
                key
            };
            out.buf.extend_from_slice(key);
            empty = false;
            match v {
                ValueRef::Null => out.raw("null"),
                ValueRef::Literal(l) => out.raw(l),
                ValueRef::Str(s) => out.string(s),
                ValueRef::CleanStr(b) => super::write_clean(out.buf, b),
                ValueRef::Value(v) => out.value(3, v),
            }
        }
        out.close(2, empty);
    }
}

impl MetadataTemplate {
    fn write(&self, buf: &mut Vec<u8>, record_id: u64, partition_key_value: &str) {
        let mut at = 0;
        for &(offset, hole) in &self.holes {
            buf.extend_from_slice(self.bytes.get(at..offset).unwrap_or_default());
            match hole {
                Hole::RecordId => write_u64(buf, record_id),
                Hole::PartitionKeyValue => write_escaped(buf, partition_key_value),
            }
            at = offset;
        }
        buf.extend_from_slice(self.bytes.get(at..).unwrap_or_default());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::encode::{NumRef, encode_data_into};
    use crate::value::{Fields, Number, Value};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(Number::from_valid(n.to_string()))),
            ".{0,40}".prop_map(Value::String),
            "[a-z\"\\\\\t\n\u{1}é]{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec(("[a-z\"]{1,5}", inner), 0..3)
                    .prop_map(|v| Value::Object(v.into_iter().collect::<Fields>())),
            ]
        })
    }

    /// Scalars as the engine passes them (borrowed text), the rest as values.
    fn as_ref(v: &Value) -> ValueRef<'_> {
        match v {
            Value::Null => ValueRef::Null,
            Value::Number(n) => ValueRef::Literal(n.as_str()),
            Value::Bool(true) => ValueRef::Literal("true"),
            Value::Bool(false) => ValueRef::Literal("false"),
            // Clean strings of even length as the engine passes them, the rest as text.
            Value::String(s) if s.len() % 2 == 0 && crate::is_clean_ascii(s.as_bytes()) => {
                ValueRef::CleanStr(s.as_bytes())
            }
            Value::String(s) => ValueRef::Str(s),
            other => ValueRef::Value(other),
        }
    }

    fn meta<'a>(
        pk_value: Option<&'a str>,
        record_id: Option<u64>,
        stream_position: &'a str,
    ) -> MetadataRef<'a> {
        MetadataRef {
            timestamp: "2026-11-24T00:00:00.123456Z",
            record_type: "data",
            operation: "update",
            partition_key_type: Some("primary-key"),
            partition_key_value: pk_value,
            schema_name: "s\"chema",
            table_name: "t",
            transaction_id: Some(NumRef::U64(17)),
            transaction_record_id: record_id.map(NumRef::U64),
            prev_transaction_id: Some(NumRef::U64(3)),
            prev_transaction_record_id: None,
            commit_timestamp: Some("2026-11-24T00:00:00Z"),
            stream_position: Some(stream_position),
        }
    }

    proptest! {
        #[test]
        fn template_writes_what_encode_data_into_writes(
            names in proptest::collection::vec("[a-z\"\\\\\t]{0,6}", 1..5),
            rows in proptest::collection::vec(
                (proptest::collection::vec((0usize..6, value()), 0..6),
                 proptest::option::of(proptest::collection::vec((0usize..6, value()), 0..6)),
                 any::<u64>(), "[0-9a-z\"]{0,12}"),
                1..4),
            with_id in any::<bool>(),
            with_pk in any::<bool>(),
            field in "[a-z\\-]{1,12}",
            pretty in any::<bool>(),
        ) {
            let format = if pretty { MessageFormat::Json } else { MessageFormat::JsonUnformatted };
            let tpl = DataRecordTemplate::new(format, &names, Some((field.as_str(), &names)));
            let m = tpl.metadata(&meta(with_pk.then_some(""), with_id.then_some(0), "f:1:0"));
            for (data, before, id, pk) in rows {
                // Only indices the template knows (as the engine gives).
                let data: Vec<_> = data.into_iter().filter(|(i, _)| *i < names.len()).collect();
                let before: Option<Vec<_>> = before
                    .map(|b| b.into_iter().filter(|(i, _)| *i < names.len()).collect());
                let mut got = Vec::new();
                tpl.encode_into(
                    data.iter().map(|(i, v)| (*i, as_ref(v))),
                    before.as_ref().map(|b| b.iter().map(|(i, v)| (*i, as_ref(v)))),
                    &m,
                    id,
                    &pk,
                    &mut got,
                );
                let mut want = Vec::new();
                encode_data_into(
                    format,
                    data.iter().map(|(i, v)| (names[*i].as_str(), v)),
                    before
                        .as_ref()
                        .map(|b| (field.as_str(), b.iter().map(|(i, v)| (names[*i].as_str(), v)))),
                    &meta(with_pk.then_some(pk.as_str()), with_id.then_some(id), "f:1:0"),
                    &mut want,
                );
                prop_assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap());
            }
        }
    }

    #[test]
    fn without_before_image_the_member_is_left_out() {
        let names = ["id", "name"];
        let tpl = DataRecordTemplate::new(MessageFormat::Json, names, None::<(&str, [&str; 0])>);
        let v = Value::String("x".into());
        let m = tpl.metadata(&meta(None, Some(1), "p"));
        let mut got = Vec::new();
        tpl.encode_into(
            [(1, ValueRef::Value(&v))].into_iter(),
            Some([(0, ValueRef::Str("x"))].into_iter()),
            &m,
            5,
            "",
            &mut got,
        );
        let text = String::from_utf8(got).unwrap();
        assert!(
            text.starts_with("{\n\t\"data\":\t{\n\t\t\"name\":\t\"x\"\n\t},"),
            "{text}"
        );
        assert!(text.contains("\"transaction-record-id\":\t5,"), "{text}");
        assert!(!text.contains("before"), "{text}");
    }
}
