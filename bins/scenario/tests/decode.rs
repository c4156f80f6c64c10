//! `scenario decode` as a user runs it: the real binary, real inputs.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

const INSERT: &str = r#"{"data":{"id":1,"name":"Alice"},"metadata":{"timestamp":"2024-01-01T00:00:00.000000Z","record-type":"data","operation":"insert","partition-key-type":"schema-table","schema-name":"dms_sample","table-name":"accounts","transaction-id":42}}"#;
const DROP: &str = "{\n\t\"control\":\t{\n\t},\n\t\"metadata\":\t{\n\t\t\"timestamp\":\t\"2024-05-23T19:17:33.126000Z\",\n\t\t\"record-type\":\t\"control\",\n\t\t\"operation\":\t\"drop-table\",\n\t\t\"partition-key-type\":\t\"task-id\",\n\t\t\"schema-name\":\t\"dms_sample\",\n\t\t\"table-name\":\t\"accounts\"\n\t}\n}";

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn concatenated_records_of_both_layouts() {
    let o = run(&[], format!("{DROP}{INSERT}\n{INSERT}").as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let l = lines(&o);
    assert_eq!(l.len(), 3);
    assert_eq!(l[0]["operation"], "drop-table");
    assert_eq!(l[0]["control"], serde_json::json!({}));
    assert_eq!(l[0]["data"], serde_json::Value::Null);
    assert_eq!(l[1]["record_type"], "data");
    assert_eq!(l[1]["schema"], "dms_sample");
    assert_eq!(l[1]["table"], "accounts");
    assert_eq!(l[1]["transaction_id"], 42);
    assert_eq!(l[1]["data"]["name"], "Alice");
    assert_eq!(l[1]["partition_key"], serde_json::Value::Null);
    let keys: Vec<_> = l[1].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 10);
}

#[test]
fn aws_get_records_output_and_summary() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let input = serde_json::json!({
        "Records": [
            {"SequenceNumber": "1", "ApproximateArrivalTimestamp": 1.7e9, "Data": b64(DROP), "PartitionKey": "T.dms_sample.accounts"},
            {"SequenceNumber": "2", "ApproximateArrivalTimestamp": 1.7e9, "Data": b64(INSERT), "PartitionKey": "dms_sample.accounts"},
            {"SequenceNumber": "3", "ApproximateArrivalTimestamp": 1.7e9, "Data": b64(INSERT), "PartitionKey": "dms_sample.accounts"}
        ],
        "NextShardIterator": "x", "MillisBehindLatest": 0
    })
    .to_string();
    let o = run(&[], input.as_bytes());
    assert!(o.status.success());
    let l = lines(&o);
    assert_eq!(l.len(), 3);
    assert_eq!(l[0]["partition_key"], "T.dms_sample.accounts");
    assert_eq!(l[2]["operation"], "insert");

    let o = run(&["--summary"], input.as_bytes());
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("dms_sample.accounts  drop-table  1"),
        "{text}"
    );
    assert!(
        text.contains("dms_sample.accounts  insert      2"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("3 record(s)"), "{text}");
}

#[test]
fn malformed_record_stops_after_printing_the_good_ones() {
    let bad = INSERT.replace(r#""operation":"insert","#, "");
    let o = run(&[], format!("{INSERT}\n{bad}\n{INSERT}\n").as_bytes());
    assert!(!o.status.success());
    assert_eq!(lines(&o).len(), 1);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("record #2"), "{err}");
    assert!(err.contains("metadata.operation"), "{err}");
}

#[test]
fn keep_going_skips_and_reports() {
    let o = run(
        &["--keep-going"],
        format!("{INSERT}\n{{\"data\": [\n{INSERT}\n").as_bytes(),
    );
    assert!(o.status.success());
    assert_eq!(lines(&o).len(), 2);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("skipped record #2"), "{err}");
    assert!(err.contains("1 malformed record(s) skipped"), "{err}");
}

#[test]
fn invalid_utf8_is_reported_at_its_record() {
    let mut input = format!("{INSERT}\n").into_bytes();
    let second = INSERT.replace("Alice", "Al\u{1}ce").into_bytes();
    let at = input.len() + second.iter().position(|&b| b == 1).unwrap();
    input.extend_from_slice(&second);
    input[at] = 0xff;
    let o = run(&[], &input);
    assert!(!o.status.success());
    assert_eq!(lines(&o).len(), 1);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("record #2") && err.contains("invalid UTF-8"),
        "{err}"
    );
}

#[test]
fn reads_a_file_and_names_a_missing_one() {
    let dir = std::env::temp_dir().join(format!("dmsrs-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("in.json");
    std::fs::write(&f, INSERT).unwrap();
    let o = run(&["--input", f.to_str().unwrap()], b"");
    assert!(o.status.success());
    assert_eq!(lines(&o).len(), 1);
    let o = run(&["--input", dir.join("nope.json").to_str().unwrap()], b"");
    assert!(!o.status.success());
    assert!(String::from_utf8(o.stderr).unwrap().contains("nope.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}
