//! Golden fixtures written from the examples in the DMS documentation and the seed, one per
//! record kind, plus malformed-input classes and property tests.
#![allow(clippy::unwrap_used)]

use dmsrs_codec::{
    CodecError, ColumnDef, Control, DecodeOptions, Fields, MessageFormat, Messages, Metadata,
    Number, Operation, PartitionKeyType, Record, RecordType, TableDef, Value, decode, decode_with,
    encode, render,
};
use proptest::prelude::*;
use std::path::PathBuf;

fn num(s: &str) -> Number {
    Number::from_literal(s).unwrap()
}

fn meta(op: Operation, schema: &str, table: &str, ts: &str) -> Metadata {
    let rt = if op.is_data() {
        RecordType::Data
    } else {
        RecordType::Control
    };
    Metadata::new(ts, rt, op, schema, table)
}

fn col(ty: &str, length: Option<u64>, nullable: bool) -> ColumnDef {
    ColumnDef {
        data_type: ty.into(),
        length,
        nullable: Some(nullable),
        ..Default::default()
    }
}

/// The golden records: (file name, layout, record).
fn goldens() -> Vec<(&'static str, MessageFormat, Record)> {
    let mut v = Vec::new();

    // DMS guide (Kafka/Kinesis message format): insert with every optional metadata field.
    let mut m = meta(
        Operation::Insert,
        "sbtest",
        "sbtest_x",
        "2019-10-31T22:53:59.721201Z",
    );
    m.partition_key_type = Some(PartitionKeyType::PrimaryKey);
    m.partition_key_value = Some("sbtest.sbtest_x.100000161".into());
    m.transaction_id = Some(num("9324410911751"));
    m.transaction_record_id = Some(num("1"));
    m.prev_transaction_id = Some(num("9324410910341"));
    m.prev_transaction_record_id = Some(num("10"));
    m.commit_timestamp = Some("2019-10-31T22:53:55.000000Z".into());
    m.stream_position = Some(
        "mysql-bin-changelog.002171:36912271:0:36912333:9324410911751:mysql-bin-changelog.002171:36912209".into(),
    );
    let data: Fields = [
        ("id", Value::from(100000161)),
        ("fname", "val61s".into()),
        ("lname", "val61s".into()),
        ("REGION", "val61s".into()),
    ]
    .into_iter()
    .collect();
    v.push((
        "insert-all-metadata.json",
        MessageFormat::Json,
        Record::data(data, m),
    ));

    // DMS guide: create-table control record with a table-def.
    let mut m = meta(
        Operation::CreateTable,
        "sbtest",
        "sbtest_t1",
        "2019-11-21T19:14:22.223792Z",
    );
    m.partition_key_type = Some(PartitionKeyType::TaskId);
    let td = TableDef {
        columns: vec![
            ("id".into(), col("WSTRING", Some(512), false)),
            ("fname".into(), col("WSTRING", Some(255), true)),
            ("lname".into(), col("WSTRING", Some(255), true)),
            ("REGION".into(), col("WSTRING", Some(1000), true)),
        ],
        primary_key: Some(vec!["id".into()]),
        collation_name: Some("latin1_swedish_ci".into()),
        ..Default::default()
    };
    v.push((
        "create-table.json",
        MessageFormat::Json,
        Record::control(
            Some(Control {
                table_def: Some(td),
                ..Default::default()
            }),
            m,
        ),
    ));

    // Seed (LocalStack output of full-load task 1): drop-table with `"control": {}`.
    let mut m = meta(
        Operation::DropTable,
        "dms_sample",
        "accounts",
        "2024-05-23T19:17:33.126000Z",
    );
    m.partition_key_type = Some(PartitionKeyType::TaskId);
    m.partition_key_value = Some("FQWFF7YIZ4VGQHBIXCLI9FJTUUS17NSECIM0UR7".into());
    v.push((
        "drop-table.json",
        MessageFormat::Json,
        Record::control(Some(Control::default()), m.clone()),
    ));
    v.push((
        "drop-table.unformatted.json",
        MessageFormat::JsonUnformatted,
        Record::control(Some(Control::default()), m),
    ));

    // Blog capture (IncludeControlDetails=false): no control key; awsdms_apply_exceptions.
    let mut m = meta(
        Operation::CreateTable,
        "",
        "awsdms_apply_exceptions",
        "2021-02-18T23:09:09.509179Z",
    );
    m.partition_key_type = Some(PartitionKeyType::TaskId);
    v.push((
        "create-table-no-details.unformatted.json",
        MessageFormat::JsonUnformatted,
        Record::control(None, m),
    ));

    // Seed data, full load of accounts (PartitionIncludeSchemaTable, IncludeNullAndEmpty).
    let o = render::RenderOptions::default();
    let mut m = meta(
        Operation::Load,
        "dms_sample",
        "accounts",
        "2024-05-23T19:17:33.130000Z",
    );
    m.partition_key_type = Some(PartitionKeyType::PrimaryKey);
    m.partition_key_value = Some("dms_sample.accounts.1".into());
    let data: Fields = [
        ("id", render::integer(1, &o)),
        ("name", render::text("Alice")),
        ("age", render::integer(30, &o)),
        ("birth_date", render::date(1991, 5, 21)),
        ("account_balance", render::decimal("1500.00")),
        ("is_active", render::integer(1, &o)),
        ("signup_time", render::datetime(2021, 1, 8, 9, 0, 0, 0)),
        ("last_login", render::datetime(2021, 3, 10, 8, 0, 0, 0)),
        ("bio", render::text("Bio of Alice")),
        ("profile_picture", Value::Null),
        ("favorite_color", render::text("red")),
        ("height", render::float(1.7)),
        ("weight", render::double(60.5)),
    ]
    .into_iter()
    .collect();
    v.push((
        "load-accounts.json",
        MessageFormat::Json,
        Record::data(data, m),
    ));

    // CDC update with a before-image (ColumnFilter all) and transaction details.
    let mut m = meta(
        Operation::Update,
        "dms_sample",
        "authors",
        "2024-05-23T19:20:01.000001Z",
    );
    m.partition_key_type = Some(PartitionKeyType::SchemaTable);
    m.transaction_id = Some(num("7"));
    m.transaction_record_id = Some(num("1"));
    m.prev_transaction_id = Some(num("6"));
    m.prev_transaction_record_id = Some(num("4"));
    m.commit_timestamp = Some("2024-05-23T19:20:01.000000Z".into());
    m.stream_position = Some("mysql-bin.000001:1520:0:1744:7:mysql-bin.000001:1520".into());
    let after: Fields = [
        ("author_id", Value::from(1)),
        ("email", "jd@example.com".into()),
    ]
    .into_iter()
    .collect();
    let before: Fields = [
        ("author_id", Value::from(1)),
        ("email", "john.doe@example.com".into()),
    ]
    .into_iter()
    .collect();
    let mut r = Record::data(after, m);
    r.before_image = Some(before);
    v.push((
        "update-before-image.unformatted.json",
        MessageFormat::JsonUnformatted,
        r,
    ));

    // CDC delete: the deleted row in `data`.
    let mut m = meta(
        Operation::Delete,
        "dms_sample",
        "novels",
        "2024-05-23T19:20:02.000002Z",
    );
    m.partition_key_type = Some(PartitionKeyType::SchemaTable);
    m.transaction_id = Some(num("8"));
    let data: Fields = [
        ("novel_id", Value::from(2)),
        ("title", "Journey to the Stars".into()),
    ]
    .into_iter()
    .collect();
    v.push((
        "delete.unformatted.json",
        MessageFormat::JsonUnformatted,
        Record::data(data, m),
    ));

    // ALTER control records (bodies undocumented: the new table-def, docs/dms-format.md).
    for (file, op, table, column) in [
        (
            "column-type-change.json",
            Operation::ColumnTypeChange,
            "authors",
            ("email", col("WSTRING", Some(100), true)),
        ),
        (
            "add-column.json",
            Operation::AddColumn,
            "novels",
            ("is_stock", col("INT1", None, true)),
        ),
    ] {
        let mut m = meta(op, "dms_sample", table, "2024-05-23T19:21:00.000000Z");
        m.partition_key_type = Some(PartitionKeyType::TaskId);
        m.partition_key_value = Some("CDCTASK1".into());
        let td = TableDef {
            columns: vec![(column.0.into(), column.1)],
            primary_key: None,
            ..Default::default()
        };
        v.push((
            file,
            MessageFormat::Json,
            Record::control(
                Some(Control {
                    table_def: Some(td),
                    ..Default::default()
                }),
                m,
            ),
        ));
    }
    v
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Encoding each golden record gives the golden bytes, and decoding the bytes gives the
/// record back. `DMSRS_BLESS=1` rewrites the files (review the diff!).
#[test]
fn golden_fixtures() {
    for (file, format, record) in goldens() {
        let bytes = encode(&record, format);
        let path = golden_dir().join(file);
        if std::env::var_os("DMSRS_BLESS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&expected),
            "{file}"
        );
        assert_eq!(decode(&expected).unwrap(), record, "{file}");
    }
}

#[test]
fn every_operation_round_trips() {
    let ops = [
        "load",
        "insert",
        "update",
        "delete",
        "create-table",
        "rename-table",
        "drop-table",
        "change-columns",
        "add-column",
        "drop-column",
        "rename-column",
        "column-type-change",
    ];
    for op in ops {
        let parsed = Operation::parse(op);
        assert!(!matches!(parsed, Operation::Other(_)), "{op}");
        assert_eq!(parsed.as_str(), op);
        let m = meta(parsed.clone(), "s", "t", "2024-01-01T00:00:00.000000Z");
        let r = if parsed.is_data() {
            Record::data([("id", Value::from(1))].into_iter().collect(), m)
        } else {
            Record::control(Some(Control::default()), m)
        };
        for f in [MessageFormat::Json, MessageFormat::JsonUnformatted] {
            assert_eq!(decode(&encode(&r, f)).unwrap(), r, "{op} {f:?}");
        }
    }
}

#[test]
fn before_image_field_name_is_configurable() {
    let text = br#"{"data":{"id":1},"BI":{"id":2},"metadata":{"timestamp":"t","record-type":"data","operation":"update","schema-name":"s","table-name":"t"}}"#;
    let default = decode(text).unwrap();
    assert!(default.before_image.is_none());
    assert!(default.extra.get("BI").is_some(), "unknown key kept");
    let opts = DecodeOptions {
        before_image_field: "BI".into(),
    };
    let r = decode_with(text, &opts).unwrap();
    assert_eq!(
        r.before_image.as_ref().unwrap().get("id"),
        Some(&Value::from(2))
    );
    let out = encode(&r, MessageFormat::JsonUnformatted);
    assert_eq!(&out[..out.len() - 1], &text[..]);
}

// ---- malformed input, one test per class ----

const GOOD: &str = r#"{"data":{"id":1},"metadata":{"timestamp":"2024-01-01T00:00:00.000000Z","record-type":"data","operation":"insert","partition-key-type":"schema-table","schema-name":"s","table-name":"t"}}"#;

#[test]
fn truncated_json_is_an_error_at_every_cut() {
    for cut in 0..GOOD.len() {
        let e = decode(&GOOD.as_bytes()[..cut]).unwrap_err();
        assert!(matches!(e, CodecError::Syntax(_)), "cut {cut}: {e}");
    }
    assert!(decode(GOOD.as_bytes()).is_ok());
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        (
            GOOD.replace(r#""operation":"insert""#, r#""operation":5"#),
            "metadata.operation",
        ),
        (GOOD.replace(r#""data":{"id":1}"#, r#""data":[1]"#), "data"),
        (
            GOOD.replace(r#""table-name":"t""#, r#""table-name":null"#),
            "metadata.table-name",
        ),
        (
            GOOD.replace(r#""record-type""#, r#""transaction-id":"12","record-type""#),
            "metadata.transaction-id",
        ),
        ("[1,2]".to_owned(), "(record)"),
    ];
    for (text, field) in cases {
        match decode(text.as_bytes()).unwrap_err() {
            CodecError::WrongType { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other}"),
        }
    }
    let e = decode(br#"{"control":{"table-def":{"columns":{"a":{"type":"INT32","nullable":"yes"}}}},"metadata":{"timestamp":"t","record-type":"control","operation":"create-table","schema-name":"s","table-name":"t"}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field `control.table-def.columns.a.nullable` must be a boolean, found string"
    );
}

#[test]
fn missing_metadata_names_the_field() {
    for (text, field) in [
        (r#"{"data":{"id":1}}"#.to_owned(), "metadata"),
        (
            GOOD.replace(r#""operation":"insert","#, ""),
            "metadata.operation",
        ),
        (
            GOOD.replace(r#""timestamp":"2024-01-01T00:00:00.000000Z","#, ""),
            "metadata.timestamp",
        ),
        (
            GOOD.replace(r#""schema-name":"s","#, ""),
            "metadata.schema-name",
        ),
        (GOOD.replace(r#""data":{"id":1},"#, ""), "data"),
    ] {
        assert_eq!(
            decode(text.as_bytes()).unwrap_err(),
            CodecError::MissingField {
                field: field.into()
            }
        );
    }
}

#[test]
fn unknown_operation_and_fields_are_kept() {
    let text = GOOD
        .replace(r#""operation":"insert""#, r#""operation":"merge""#)
        .replace(
            r#""table-name":"t""#,
            r#""table-name":"t","new-field":[1,{"x":true}]"#,
        )
        .replace(r#"{"data""#, r#"{"future":"yes","data""#);
    let r = decode(text.as_bytes()).unwrap();
    assert_eq!(r.metadata.operation, Operation::Other("merge".into()));
    assert!(r.metadata.extra.get("new-field").is_some());
    assert_eq!(r.extra.get("future"), Some(&Value::from("yes")));
    // Kept on re-encode (unknown top-level keys go after metadata).
    let again = decode(&encode(&r, MessageFormat::Json)).unwrap();
    assert_eq!(again, r);
}

#[test]
fn huge_numbers_are_kept_exactly() {
    let big = "123456789012345678901234567890123456789";
    let text = GOOD.replace(
        r#""id":1"#,
        &format!(r#""id":{big},"f":1e400,"n":-0.000000000000000000001"#),
    );
    let r = decode(text.as_bytes()).unwrap();
    let d = r.data.as_ref().unwrap();
    let id = d.get("id").unwrap().as_number().unwrap();
    assert_eq!(id.as_str(), big);
    assert_eq!(id.as_i64(), None);
    assert_eq!(id.as_u64(), None);
    assert_eq!(
        d.get("f").unwrap().as_number().unwrap().as_f64(),
        Some(f64::INFINITY)
    );
    let out = encode(&r, MessageFormat::JsonUnformatted);
    assert!(String::from_utf8(out).unwrap().contains(big));
}

#[test]
fn invalid_utf8_is_an_error_with_offset() {
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("\"s\"").unwrap() + 1;
    bytes[at] = 0xff;
    assert_eq!(
        decode(&bytes).unwrap_err(),
        CodecError::InvalidUtf8 { offset: at }
    );
}

#[test]
fn bad_base64_in_an_envelope_is_reported_and_reading_goes_on() {
    use base64::Engine as _;
    let good = base64::engine::general_purpose::STANDARD.encode(GOOD);
    let input = format!(
        "{{\"Records\":[{{\"Data\":\"{good}\",\"PartitionKey\":\"s.t\",\"SequenceNumber\":\"1\"}},{{\"Data\":\"!!not base64\",\"PartitionKey\":\"x\"}},{{\"Data\":\"{good}\",\"PartitionKey\":\"s.t\"}}]}}"
    );
    let items: Vec<_> = Messages::new(&input, DecodeOptions::default()).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0].as_ref().unwrap().partition_key.as_deref(),
        Some("s.t")
    );
    assert_eq!(
        items[0].as_ref().unwrap().sequence_number.as_deref(),
        Some("1")
    );
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.index, 2);
    assert!(matches!(e.source, CodecError::Base64 { .. }), "{e}");
    assert!(items[2].is_ok());
}

#[test]
fn multi_record_input_reports_position_and_resynchronises() {
    let formatted = String::from_utf8(encode(
        &decode(GOOD.as_bytes()).unwrap(),
        MessageFormat::Json,
    ))
    .unwrap();
    let input = format!("{GOOD}\n{formatted}\n{{\"data\": tru\n{GOOD}{GOOD}\n");
    let items: Vec<_> = Messages::new(&input, DecodeOptions::default()).collect();
    assert_eq!(items.len(), 5, "{items:?}");
    assert!(items[0].is_ok() && items[1].is_ok());
    let e = items[2].as_ref().unwrap_err();
    assert_eq!(e.index, 3);
    assert!(e.to_string().starts_with("record #3 (byte "), "{e}");
    assert!(items[3].is_ok() && items[4].is_ok());
}

// ---- properties ----

fn arb_value() -> impl Strategy<Value = Value> {
    let o = render::RenderOptions::default();
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(move |i| render::integer(i as i128, &o)),
        any::<u64>().prop_map(move |i| render::integer(i as i128, &o)),
        any::<f64>().prop_map(render::double),
        any::<f32>().prop_map(render::float),
        "\\PC{0,20}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(move |b| render::binary(&b, &o)),
        (
            0u16..9999,
            1u8..13,
            1u8..29,
            0u8..24,
            0u8..60,
            0u8..60,
            0u32..1_000_000
        )
            .prop_map(|(y, mo, d, h, mi, s, us)| render::datetime(y, mo, d, h, mi, s, us)),
    ]
}

fn arb_fields() -> impl Strategy<Value = Fields> {
    proptest::collection::vec(("[a-zA-Z_][a-zA-Z0-9_ é\"\\\\]{0,12}", arb_value()), 0..12)
        .prop_map(|v| v.into_iter().collect())
}

fn arb_metadata(data: bool) -> impl Strategy<Value = Metadata> {
    let ops: Vec<&str> = if data {
        vec!["load", "insert", "update", "delete"]
    } else {
        vec![
            "create-table",
            "drop-table",
            "rename-table",
            "add-column",
            "drop-column",
            "rename-column",
            "column-type-change",
            "change-columns",
        ]
    };
    (
        proptest::sample::select(ops),
        any::<String>(),
        any::<String>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<String>()),
        proptest::option::of(proptest::sample::select(vec![
            "schema-table",
            "primary-key",
            "task-id",
            "constant",
        ])),
    )
        .prop_map(move |(op, schema, table, txn, pos, pkt)| {
            let mut m = Metadata::new(
                render::now_timestamp(),
                if data {
                    RecordType::Data
                } else {
                    RecordType::Control
                },
                Operation::parse(op),
                schema,
                table,
            );
            m.transaction_id = txn.map(Number::from);
            m.transaction_record_id = txn.map(|_| Number::from(1u64));
            m.stream_position = pos;
            m.partition_key_type = pkt.map(PartitionKeyType::parse);
            m
        })
}

fn arb_record() -> impl Strategy<Value = Record> {
    let data = (
        arb_fields(),
        proptest::option::of(arb_fields()),
        arb_metadata(true),
    )
        .prop_map(|(d, bi, m)| {
            let mut r = Record::data(d, m);
            r.before_image = bi;
            r
        });
    let column = (
        "[A-Z0-9]{1,8}",
        proptest::option::of(0u64..100_000),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(t, length, nullable)| ColumnDef {
            data_type: t,
            length,
            nullable,
            ..Default::default()
        });
    let table_def = (
        proptest::collection::vec(("[a-z_]{1,10}", column), 0..8),
        proptest::option::of(proptest::collection::vec("[a-z_]{1,10}", 0..3)),
        proptest::option::of("[a-z0-9_]{1,20}"),
    )
        .prop_map(|(columns, primary_key, collation_name)| TableDef {
            columns,
            primary_key,
            collation_name,
            ..Default::default()
        });
    let control = (
        proptest::option::of(proptest::option::of(table_def)),
        arb_metadata(false),
    )
        .prop_map(|(c, m)| {
            Record::control(
                c.map(|table_def| Control {
                    table_def,
                    ..Default::default()
                }),
                m,
            )
        });
    prop_oneof![data, control]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_round_trips(r in arb_record()) {
        for f in [MessageFormat::Json, MessageFormat::JsonUnformatted] {
            let bytes = encode(&r, f);
            let back = decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
            prop_assert_eq!(&back, &r);
            // Re-encoding is stable.
            prop_assert_eq!(encode(&back, f), bytes);
        }
    }

    #[test]
    fn unformatted_is_one_line(r in arb_record()) {
        let bytes = encode(&r, MessageFormat::JsonUnformatted);
        prop_assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(bytes.last(), Some(&b'\n'));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
        if let Ok(m) = Messages::from_bytes(&bytes, DecodeOptions::default()) {
            for _ in m {}
        }
    }

    #[test]
    fn decode_never_panics_on_mutated_records(cut in 0usize..300, byte in any::<u8>(), at in 0usize..300) {
        let mut b = GOOD.as_bytes().to_vec();
        let at = at % b.len();
        b[at] = byte;
        b.truncate(cut.max(1));
        let _ = decode(&b);
    }
}

#[test]
fn records_iterator_skips_exactly_one_bad_document() {
    use dmsrs_codec::Records;
    let bad = GOOD.replace(r#""operation":"insert""#, r#""operation":1"#);
    let input = format!("{GOOD}{bad}{GOOD} {{\"x\": [}}\n{GOOD}");
    let items: Vec<_> = Records::new(&input, DecodeOptions::default()).collect();
    assert_eq!(items.len(), 5, "{items:?}");
    assert!(items[0].is_ok());
    assert!(matches!(
        items[1].as_ref().unwrap_err().source,
        CodecError::WrongType { .. }
    ));
    assert!(items[2].is_ok());
    assert!(matches!(
        items[3].as_ref().unwrap_err().source,
        CodecError::Syntax(_)
    ));
    assert!(items[4].is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The borrowed fast path writes exactly what `encode` writes for the same record.
    #[test]
    fn encode_data_into_matches_encode(r in arb_record()) {
        use dmsrs_codec::{MetadataRef, encode_data_into};
        if let Some(data) = &r.data {
            prop_assume!(r.metadata.extra.is_empty() && r.extra.is_empty());
            for f in [MessageFormat::Json, MessageFormat::JsonUnformatted] {
                let mut fast = Vec::new();
                let bi = r.before_image.as_ref().map(|b| (r.before_image_field.as_str(), b.iter()));
                encode_data_into(f, data.iter(), bi, &MetadataRef::from(&r.metadata), &mut fast);
                let slow = encode(&r, f);
                prop_assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&slow));
            }
        }
    }
}
