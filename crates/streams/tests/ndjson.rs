//! NDJSON record files: write, append, read back.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dmsrs_streams::{
    NdjsonWriter, OutRecord, StreamError, StreamWriter, compare_sequence_numbers,
    parse_ndjson_line, read_ndjson_file, shard_id,
};

fn batch(from: usize, to: usize) -> Vec<OutRecord> {
    (from..to)
        .map(|i| {
            OutRecord::new(
                format!("db.t.{}", i % 3),
                format!(r#"{{"data":{{"id":{i},"s":"line\nbreak é"}},"metadata":{{}}}}"#),
            )
        })
        .collect()
}

#[tokio::test]
async fn round_trip_and_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.ndjson");
    let started = SystemTime::now() - Duration::from_secs(1);

    let w = NdjsonWriter::create(&path).await.unwrap();
    let r1 = w.put_batch(batch(0, 5)).await.unwrap();
    let mut binary = batch(5, 7);
    binary.push(
        OutRecord::new("bin", Bytes::from_static(&[0, 159, 255, 10])).with_explicit_hash_key("42"),
    );
    let r2 = w.put_batch(binary).await.unwrap();
    assert_eq!(w.metrics().requests, 2);
    assert_eq!(w.metrics().records_sent, 8);
    drop(w);

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 8, "one line per record");
    assert!(text.ends_with('\n'));
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["PartitionKey"], "db.t.0");
    assert!(first["Data"].is_string());
    assert!(first["SequenceNumber"].is_string());
    assert!(first["ApproximateArrivalTimestamp"].is_number());
    assert!(first.get("ExplicitHashKey").is_none());

    // Appending continues the numbering.
    let w = NdjsonWriter::append(&path).await.unwrap();
    let r3 = w.put_batch(batch(7, 10)).await.unwrap();
    drop(w);

    let read = read_ndjson_file(&path).await.unwrap();
    assert_eq!(read.len(), 11);
    let mut expected = batch(0, 7);
    expected.push(OutRecord::new(
        "bin",
        Bytes::from_static(&[0, 159, 255, 10]),
    ));
    expected.extend(batch(7, 10));
    let receipts: Vec<_> = r1
        .entries
        .iter()
        .chain(&r2.entries)
        .chain(&r3.entries)
        .collect();
    for ((got, want), entry) in read.iter().zip(&expected).zip(receipts) {
        assert_eq!(got.partition_key, want.partition_key);
        assert_eq!(got.data, want.data);
        assert_eq!(got.sequence_number, entry.sequence_number);
        assert_eq!(got.shard_id, shard_id(0));
        assert!(got.approximate_arrival >= started);
    }
    for w in read.windows(2) {
        assert_eq!(
            compare_sequence_numbers(&w[0].sequence_number, &w[1].sequence_number),
            std::cmp::Ordering::Less
        );
    }
}

#[tokio::test]
async fn too_large_record_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.ndjson");
    let w = NdjsonWriter::create(&path).await.unwrap();
    let err = w
        .put_batch(vec![
            OutRecord::new("k", "ok"),
            OutRecord::new("k", vec![b'x'; 1024 * 1024]),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::RecordTooLarge { index: 1, .. }));
    assert_eq!(std::fs::read(&path).unwrap().len(), 0);
}

#[test]
fn reads_aws_cli_get_records_output() {
    // `aws kinesis get-records` prints {"Records":[...], ...}; each entry is also a valid line.
    let line = r#"{"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ApproximateArrivalTimestamp":1732390000.5,"Data":"aGVsbG8=","PartitionKey":"k1"},{"SequenceNumber":"49590338271490256608559692538361571095921575989136588899","Data":"d29ybGQ","PartitionKey":"k2"}],"NextShardIterator":"x","MillisBehindLatest":0}"#;
    let recs = parse_ndjson_line(line, 1).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].data, Bytes::from("hello"));
    assert_eq!(
        recs[1].data,
        Bytes::from("world"),
        "unpadded base64 accepted"
    );
    assert_eq!(
        recs[0].approximate_arrival,
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_732_390_000_500)
    );
    assert_eq!(recs[1].approximate_arrival, SystemTime::UNIX_EPOCH);
    assert!(parse_ndjson_line("   ", 2).unwrap().is_empty());
    assert!(parse_ndjson_line("{", 3).is_err());
    assert!(
        parse_ndjson_line(r#"{"Data":"aGk="}"#, 4)
            .unwrap_err()
            .contains("PartitionKey")
    );
    assert!(
        parse_ndjson_line(r#"{"Data":"!!","PartitionKey":"k"}"#, 5)
            .unwrap_err()
            .contains("base64")
    );
    // No sequence number: numbered by line.
    let r = parse_ndjson_line(r#"{"Data":"aGk=","PartitionKey":"k"}"#, 7).unwrap();
    assert_eq!(r[0].sequence_number.len(), 56);
}

#[tokio::test]
async fn decode_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    std::fs::write(
        &path,
        "{\"Data\":\"aGk=\",\"PartitionKey\":\"k\"}\n\nnot json\n",
    )
    .unwrap();
    let err = read_ndjson_file(&path).await.unwrap_err();
    match &err {
        StreamError::Decode { line, path: p, .. } => {
            assert_eq!(*line, 3);
            assert_eq!(p.as_deref(), Some(path.as_path()));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("line 3"), "{err}");
    let missing = read_ndjson_file(dir.path().join("missing"))
        .await
        .unwrap_err();
    assert!(matches!(missing, StreamError::Io { .. }));
    assert!(missing.is_user_error());
}
