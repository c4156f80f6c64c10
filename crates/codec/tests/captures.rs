//! Every record that real AWS DMS produced (../shared/fixtures/dms-captures.jsonl) decodes,
//! and the byte-exact ones re-encode to the very same bytes.
#![allow(clippy::unwrap_used)]

use dmsrs_codec::{MessageFormat, Operation, RecordType, Value, decode, encode};
use std::path::PathBuf;

fn shared_dir() -> PathBuf {
    if let Ok(d) = std::env::var("DMSRS_SHARED_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

struct Capture {
    line: usize,
    format: String,
    engine: String,
    partition_key: Option<String>,
    raw: String,
}

fn captures() -> Vec<Capture> {
    let path = shared_dir().join("fixtures/dms-captures.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (the shared/ folder must sit beside the clone, or set DMSRS_SHARED_DIR)", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Capture {
                line: i + 1,
                format: v["format"].as_str().unwrap().to_owned(),
                engine: v["engine"].as_str().unwrap().to_owned(),
                partition_key: v["partition_key"].as_str().map(str::to_owned),
                raw: v["raw"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

#[test]
fn all_45_captures_decode() {
    let caps = captures();
    assert_eq!(caps.len(), 45);
    for c in &caps {
        let r = decode(c.raw.as_bytes()).unwrap_or_else(|e| panic!("capture line {}: {e}", c.line));
        // The model agrees with an independent parse of the same bytes.
        let v: serde_json::Value = serde_json::from_str(&c.raw).unwrap();
        let m = &v["metadata"];
        assert_eq!(
            r.metadata.operation.as_str(),
            m["operation"].as_str().unwrap(),
            "line {}",
            c.line
        );
        assert_eq!(
            r.metadata.record_type.as_str(),
            m["record-type"].as_str().unwrap()
        );
        assert_eq!(r.metadata.table_name, m["table-name"].as_str().unwrap());
        assert_eq!(r.metadata.schema_name, m["schema-name"].as_str().unwrap());
        assert!(
            !matches!(r.metadata.operation, Operation::Other(_)),
            "line {}: unknown operation",
            c.line
        );
        match r.metadata.record_type {
            RecordType::Data => {
                let data = r.data.as_ref().unwrap();
                let expected = v["data"].as_object().unwrap();
                assert_eq!(data.len(), expected.len(), "line {}", c.line);
                for (k, ev) in expected {
                    let got = data
                        .get(k)
                        .unwrap_or_else(|| panic!("line {}: column {k} missing", c.line));
                    match (got, ev) {
                        (Value::Number(n), serde_json::Value::Number(e)) => {
                            assert_eq!(n.as_f64(), e.as_f64(), "line {} column {k}", c.line)
                        }
                        (Value::String(s), serde_json::Value::String(e)) => assert_eq!(s, e),
                        (Value::Null, serde_json::Value::Null) => {}
                        (Value::Bool(b), serde_json::Value::Bool(e)) => assert_eq!(b, e),
                        (g, e) => panic!("line {} column {k}: {g:?} vs {e:?}", c.line),
                    }
                }
                if let Some(bi) = v.get("before-image") {
                    assert_eq!(
                        r.before_image.as_ref().unwrap().len(),
                        bi.as_object().unwrap().len()
                    );
                } else {
                    assert!(r.before_image.is_none());
                }
            }
            RecordType::Control => {
                if let Some(ctl) = v.get("control") {
                    let c2 = r.control.as_ref().unwrap();
                    match ctl.get("table-def") {
                        Some(td) => {
                            let t = c2.table_def.as_ref().unwrap();
                            assert_eq!(t.columns.len(), td["columns"].as_object().unwrap().len());
                            assert_eq!(t.primary_key.is_some(), td.get("primary-key").is_some());
                        }
                        None => assert!(c2.table_def.is_none()),
                    }
                }
            }
            RecordType::Other(ref o) => panic!("line {}: unknown record type {o}", c.line),
        }
        assert!(
            r.extra.is_empty() && r.metadata.extra.is_empty(),
            "line {}: unexpected unknown keys",
            c.line
        );
    }
}

/// Lines 1-2 are byte-exact DMS `json` output: re-encoding gives the same bytes.
#[test]
fn formatted_captures_reencode_byte_exact() {
    let caps = captures();
    let formatted: Vec<_> = caps.iter().filter(|c| c.format == "json").collect();
    assert_eq!(formatted.len(), 2);
    for c in formatted {
        let r = decode(c.raw.as_bytes()).unwrap();
        let out = encode(&r, MessageFormat::Json);
        assert_eq!(String::from_utf8(out).unwrap(), c.raw, "line {}", c.line);
    }
}

/// Lines 11-32 are a real compact Kinesis dump: `json-unformatted` re-encoding gives the same
/// bytes (plus DMS's trailing newline), which pins key order, before-image position and the
/// table-def layout.
#[test]
fn compact_dump_reencodes_byte_exact() {
    let caps = captures();
    let mut n = 0;
    for c in caps.iter().filter(|c| (11..=32).contains(&c.line)) {
        let r = decode(c.raw.as_bytes()).unwrap();
        let out = encode(&r, MessageFormat::JsonUnformatted);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{}\n", c.raw),
            "line {}",
            c.line
        );
        n += 1;
    }
    assert_eq!(n, 22);
}

/// The real partition keys of the dump follow the codec's partition rules.
#[test]
fn real_partition_keys_follow_the_rules() {
    use dmsrs_codec::partition;
    let mut checked = 0;
    for c in captures().iter().filter(|c| c.partition_key.is_some()) {
        let r = decode(c.raw.as_bytes()).unwrap();
        let m = &r.metadata;
        let expected = match m.partition_key_type.as_ref().map(|t| t.as_str()) {
            Some("task-id") => partition::control_key(
                m.partition_key_value
                    .as_deref()
                    .unwrap_or("DZ6OKLFYA5BWVG4RYROQUHXU4E"),
                &m.schema_name,
                &m.table_name,
            ),
            Some("schema-table") => partition::schema_table_key(&m.schema_name, &m.table_name),
            Some("primary-key") => m.partition_key_value.clone().unwrap(),
            other => panic!("line {}: {other:?}", c.line),
        };
        // Two control records of the dump carry no partition-key-value; the task id is the
        // dump's task.
        let expected = expected.replace("TASK", "DZ6OKLFYA5BWVG4RYROQUHXU4E");
        assert_eq!(
            &expected,
            c.partition_key.as_ref().unwrap(),
            "line {} ({})",
            c.line,
            c.engine
        );
        checked += 1;
    }
    assert_eq!(checked, 24);
}
