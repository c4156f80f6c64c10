//! The in-memory stream against the Kinesis rules, and the shared writer engine (splitting,
//! retries, ordering) through it.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use dmsrs_streams::{
    DynStreamWriter, Fault, InRecord, Limits, MemoryStream, OutRecord, RetryPolicy, StartPosition,
    StreamError, StreamReader, StreamTail, StreamWriter, TailStart, compare_sequence_numbers,
    partition_key_hash, read_all, shard_id, wait_for_records,
};

/// `n` records over `keys` keys; record `i` has key `k{i % keys}` and body `r{i}`.
fn records(n: usize, keys: usize) -> Vec<OutRecord> {
    (0..n)
        .map(|i| OutRecord::new(format!("k{}", i % keys), format!("r{i}")))
        .collect()
}

/// The consumer's view of a stream with duplicates: for each key, record bodies in the order of
/// their *last* occurrence.
fn last_occurrence_view(read: &[InRecord]) -> HashMap<String, Vec<Bytes>> {
    let mut view: HashMap<String, Vec<Bytes>> = HashMap::new();
    for r in read {
        let list = view.entry(r.partition_key.clone()).or_default();
        list.retain(|d| d != &r.data);
        list.push(r.data.clone());
    }
    view
}

/// Per key, the bodies in input order.
fn expected_view(input: &[OutRecord]) -> HashMap<String, Vec<Bytes>> {
    let mut view: HashMap<String, Vec<Bytes>> = HashMap::new();
    for r in input {
        view.entry(r.partition_key.clone())
            .or_default()
            .push(r.data.clone());
    }
    view
}

#[tokio::test]
async fn shard_assignment_follows_md5_hash_key_ranges() {
    // md5("a") = 0cc175b9..., md5("") is not a valid key; use known digests:
    // md5("b") = 92eb5ffe..., md5("c") = 4a8a08f0..., md5("hello") = 5d41402a...,
    // md5("k9") and others are computed below.
    for shards in [2_u32, 4] {
        let stream = MemoryStream::builder("s").shards(shards).build();
        let listed = stream.list_shards().await.unwrap();
        assert_eq!(listed.len(), shards as usize);
        let keys = ["a", "b", "c", "hello", "db.table.1", "k9", "orders", "ü"];
        let writer = stream.writer();
        let receipt = writer
            .put_batch(keys.iter().map(|k| OutRecord::new(*k, "x")).collect())
            .await
            .unwrap();
        for (key, entry) in keys.iter().zip(&receipt.entries) {
            let hash = partition_key_hash(key);
            // Equal ranges over 2^128 with a power-of-two count: the top bits pick the shard.
            let expected = (hash >> (128 - shards.trailing_zeros())) as usize;
            assert_eq!(
                entry.shard_id,
                shard_id(expected),
                "key {key} with {shards} shards"
            );
            let info = listed
                .iter()
                .find(|s| s.shard_id == entry.shard_id)
                .unwrap();
            assert!(info.starting_hash_key <= hash && hash <= info.ending_hash_key);
        }
    }
    // Spot checks against digests computed elsewhere.
    assert_eq!(partition_key_hash("a"), 0x0cc175b9c0f1b6a831c399e269772661);
    assert_eq!(
        partition_key_hash("hello"),
        0x5d41402abc4b2a76b9719d911017c592
    );
    let four = MemoryStream::builder("s").shards(4).build();
    assert_eq!(four.shard_for_key("a"), 0); // 0x0c -> 00
    assert_eq!(four.shard_for_key("hello"), 1); // 0x5d -> 01
    assert_eq!(four.shard_for_key("b"), 2); // 0x92 -> 10
    let two = MemoryStream::builder("s").shards(2).build();
    assert_eq!(two.shard_for_key("hello"), 0);
    assert_eq!(two.shard_for_key("b"), 1);
}

#[tokio::test]
async fn explicit_hash_key_overrides_partition_key() {
    let stream = MemoryStream::builder("s").shards(4).build();
    let w = stream.writer();
    let r = w
        .put_batch(vec![
            OutRecord::new("a", "x").with_explicit_hash_key(u128::MAX.to_string()),
            OutRecord::new("a", "y").with_explicit_hash_key("0"),
        ])
        .await
        .unwrap();
    assert_eq!(r.entries[0].shard_id, shard_id(3));
    assert_eq!(r.entries[1].shard_id, shard_id(0));
    let bad = w
        .put_batch(vec![OutRecord::new("a", "x").with_explicit_hash_key("12x")])
        .await
        .unwrap_err();
    assert!(matches!(bad, StreamError::Validation { .. }), "{bad}");
}

#[tokio::test]
async fn order_and_sequence_numbers() {
    let stream = MemoryStream::builder("s").shards(3).build();
    let writer = stream.writer();
    let input = records(2_000, 37);
    let receipt = writer.put_batch(input.clone()).await.unwrap();
    assert_eq!(receipt.len(), 2_000);
    assert_eq!(
        writer.metrics().requests,
        4,
        "2,000 records = 4 requests of 500"
    );
    assert_eq!(writer.metrics().records_sent, 2_000);

    let read = read_all(&stream).await.unwrap();
    assert_eq!(read.len(), 2_000);
    assert_eq!(last_occurrence_view(&read), expected_view(&input));
    // Every record's sequence number/shard match the receipt.
    let by_body: HashMap<&Bytes, &InRecord> = read.iter().map(|r| (&r.data, r)).collect();
    for (rec, entry) in input.iter().zip(&receipt.entries) {
        let got = by_body[&rec.data];
        assert_eq!(got.sequence_number, entry.sequence_number);
        assert_eq!(got.shard_id, entry.shard_id);
        assert_eq!(got.partition_key, rec.partition_key);
    }
    // Strictly increasing within each shard, 56 digits, and across the stream.
    let mut last: HashMap<&str, &str> = HashMap::new();
    for r in &read {
        assert_eq!(r.sequence_number.len(), 56);
        if let Some(prev) = last.insert(&r.shard_id, &r.sequence_number) {
            assert_eq!(
                compare_sequence_numbers(prev, &r.sequence_number),
                std::cmp::Ordering::Less
            );
        }
    }
    let all = stream.records();
    for w in all.windows(2) {
        assert_eq!(
            compare_sequence_numbers(&w[0].sequence_number, &w[1].sequence_number),
            std::cmp::Ordering::Less
        );
        assert!(w[0].approximate_arrival <= w[1].approximate_arrival);
    }
    assert_eq!(
        stream.latest_sequence_number().as_deref(),
        Some(all[all.len() - 1].sequence_number.as_str())
    );
}

#[tokio::test]
async fn limits_split_and_reject() {
    let stream = MemoryStream::new("s");
    let writer = stream.writer();

    // 501 records: two requests.
    writer.put_batch(records(501, 7)).await.unwrap();
    assert_eq!(writer.metrics().requests, 2);

    // Six records of ~1 MiB: 5 MiB per request means two requests.
    let big = |i: usize| OutRecord::new(format!("big{i}"), vec![b'x'; 1024 * 1024 - 4]);
    writer.put_batch((0..6).map(big).collect()).await.unwrap();
    assert_eq!(writer.metrics().requests, 4);

    // A record of exactly 1 MiB (data + key) is fine, 1 MiB + 1 is rejected, and nothing of
    // its batch is stored.
    let before = stream.len();
    let exact = OutRecord::new("k", vec![b'x'; 1024 * 1024 - 1]);
    let over = OutRecord::new("k", vec![b'x'; 1024 * 1024]);
    let err = writer
        .put_batch(vec![OutRecord::new("k", "first"), exact.clone(), over])
        .await
        .unwrap_err();
    match &err {
        StreamError::RecordTooLarge {
            index,
            partition_key,
            size,
            limit,
        } => {
            assert_eq!(*index, 2);
            assert_eq!(partition_key, "k");
            assert_eq!(*size, 1024 * 1024 + 1);
            assert_eq!(*limit, 1024 * 1024);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(!err.is_retryable());
    assert!(err.is_user_error());
    assert_eq!(
        stream.len(),
        before,
        "nothing of the rejected batch was stored"
    );
    writer.put_batch(vec![exact]).await.unwrap();

    // Bad partition keys.
    let err = writer
        .put_batch(vec![OutRecord::new("", "x")])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StreamError::InvalidPartitionKey { index: 0, .. }
    ));
    let err = writer
        .put_batch(vec![
            OutRecord::new("ok", "x"),
            OutRecord::new("k".repeat(257), "x"),
        ])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StreamError::InvalidPartitionKey { index: 1, .. }
    ));

    // The raw request enforces the Kinesis limits itself.
    let err = stream.put_request(&records(501, 3)).unwrap_err();
    assert!(matches!(err, StreamError::Validation { .. }), "{err}");
    let six: Vec<OutRecord> = (0..6).map(big).collect();
    let err = stream.put_request(&six).unwrap_err();
    assert!(err.to_string().contains("bytes"), "{err}");
    assert!(stream.put_request(&records(500, 3)).is_ok());

    // Empty batch: nothing to do.
    assert!(writer.put_batch(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn custom_limits() {
    let stream = MemoryStream::builder("s")
        .limits(Limits {
            max_records_per_request: 10,
            max_request_bytes: 1000,
            max_record_bytes: 100,
        })
        .build();
    let w = stream.writer();
    w.put_batch(records(25, 2)).await.unwrap();
    assert_eq!(w.metrics().requests, 3);
    let err = w
        .put_batch(vec![OutRecord::new("k", vec![0_u8; 100])])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StreamError::RecordTooLarge { limit: 100, .. }
    ));
}

#[tokio::test]
async fn iterators_for_every_start_position() {
    let stream = MemoryStream::new("s");
    let w = stream.writer();
    let first = w.put_batch(records(5, 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = w
        .put_batch(
            (5..10)
                .map(|i| OutRecord::new("k", format!("r{i}")))
                .collect(),
        )
        .await
        .unwrap();
    let seqs: Vec<String> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|e| e.sequence_number.clone())
        .collect();
    let shard = shard_id(0);

    let read = |pos: StartPosition| {
        let stream = stream.clone();
        let shard = shard.clone();
        async move {
            let it = stream.iterator(&shard, pos).await.unwrap();
            let out = stream.get_records(&it, 100).await.unwrap();
            out.records
                .into_iter()
                .map(|r| String::from_utf8(r.data.to_vec()).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let bodies = |r: std::ops::Range<usize>| r.map(|i| format!("r{i}")).collect::<Vec<_>>();

    assert_eq!(read(StartPosition::TrimHorizon).await, bodies(0..10));
    assert_eq!(
        read(StartPosition::AtSequenceNumber(seqs[3].clone())).await,
        bodies(3..10)
    );
    assert_eq!(
        read(StartPosition::AfterSequenceNumber(seqs[3].clone())).await,
        bodies(4..10)
    );
    assert_eq!(
        read(StartPosition::AtTimestamp(between)).await,
        bodies(5..10)
    );
    assert_eq!(
        read(StartPosition::AtTimestamp(SystemTime::UNIX_EPOCH)).await,
        bodies(0..10)
    );

    // LATEST: nothing now, the next record later.
    let latest = stream
        .iterator(&shard, StartPosition::Latest)
        .await
        .unwrap();
    let out = stream.get_records(&latest, 100).await.unwrap();
    assert!(out.records.is_empty());
    assert_eq!(out.millis_behind, Some(0));
    w.put_batch(vec![OutRecord::new("k", "r10")]).await.unwrap();
    let out = stream
        .get_records(out.next_iterator.as_ref().unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].data, Bytes::from("r10"));

    // AT_TIMESTAMP in the future: only records that arrive at or after it.
    let future = SystemTime::now() + Duration::from_millis(30);
    let it = stream
        .iterator(&shard, StartPosition::AtTimestamp(future))
        .await
        .unwrap();
    w.put_batch(vec![OutRecord::new("k", "early")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    w.put_batch(vec![OutRecord::new("k", "late")])
        .await
        .unwrap();
    let out = stream.get_records(&it, 100).await.unwrap();
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].data, Bytes::from("late"));

    // Paging with a limit.
    let it = stream
        .iterator(&shard, StartPosition::TrimHorizon)
        .await
        .unwrap();
    let page = stream.get_records(&it, 3).await.unwrap();
    assert_eq!(page.records.len(), 3);
    assert!(page.millis_behind.unwrap() > 0, "more records follow");
    let rest = stream
        .get_records(page.next_iterator.as_ref().unwrap(), 10_000)
        .await
        .unwrap();
    assert_eq!(rest.records.len(), 10);
    assert_eq!(rest.millis_behind, Some(0));

    // Errors.
    let other = MemoryStream::builder("t").shards(2).build();
    let seq_shard1 = other
        .writer()
        .put_batch(vec![OutRecord::new("b", "x")])
        .await
        .unwrap()
        .entries[0]
        .clone();
    assert_eq!(seq_shard1.shard_id, shard_id(1));
    let err = other
        .iterator(
            &shard_id(0),
            StartPosition::AtSequenceNumber(seq_shard1.sequence_number.clone()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Validation { .. }), "{err}");
    let err = stream
        .iterator("shardId-000000000007", StartPosition::TrimHorizon)
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Validation { .. }), "{err}");
    let err = stream
        .get_records(&dmsrs_streams::ShardIterator("nope".into()), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::InvalidIterator { .. }), "{err}");
}

#[tokio::test]
async fn wait_for_wakes_on_arrival() {
    let stream = MemoryStream::builder("s").shards(2).build();
    let w = stream.writer();
    let before = w.put_batch(records(3, 3)).await.unwrap();
    let after = stream.latest_sequence_number().unwrap();
    assert_eq!(
        after,
        before
            .entries
            .iter()
            .map(|e| e.sequence_number.clone())
            .max_by(|a, b| compare_sequence_numbers(a, b))
            .unwrap()
    );

    let producer = {
        let w = w.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            w.put_batch(records(4, 4)).await.unwrap();
        })
    };
    let started = Instant::now();
    let got = stream
        .wait_for(Some(&after), 4, Duration::from_secs(30))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    producer.await.unwrap();
    assert_eq!(got.len(), 4);
    assert!(elapsed < Duration::from_secs(5), "woke after {elapsed:?}");
    let bodies: Vec<&[u8]> = got.iter().map(|r| r.data.as_ref()).collect();
    assert_eq!(bodies, vec![&b"r0"[..], b"r1", b"r2", b"r3"]);

    // idle_wait returns on arrival too.
    let w2 = w.clone();
    let t = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        w2.put_batch(records(1, 1)).await.unwrap();
    });
    let started = Instant::now();
    stream.idle_wait(Duration::from_secs(30)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    t.await.unwrap();

    // Timeout reports what arrived.
    let err = stream
        .wait_for(Some(&after), 100, Duration::from_millis(50))
        .await
        .unwrap_err();
    match err {
        StreamError::WaitTimeout { wanted, got, .. } => {
            assert_eq!(wanted, 100);
            assert_eq!(got, 5);
        }
        other => panic!("unexpected {other}"),
    }
    let err = stream
        .wait_for(Some("123"), 1, Duration::from_millis(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Validation { .. }));
}

#[tokio::test]
async fn partial_failure_resends_failed_and_later_records_of_the_key() {
    let stream = MemoryStream::new("s");
    let w = stream.writer_with(RetryPolicy::fast());
    let keys = ["A", "B", "A", "C", "A", "B", "C", "A", "B", "C"];
    let input: Vec<OutRecord> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| OutRecord::new(*k, format!("r{i}")))
        .collect();
    // Record 2 (key A) fails once.
    stream.fail_next_puts(1, &[2]);
    let receipt = w.put_batch(input.clone()).await.unwrap();

    let stored: Vec<String> = stream
        .records()
        .iter()
        .map(|r| String::from_utf8(r.data.to_vec()).unwrap())
        .collect();
    // First request stores all but r2; the retry resends r2 and the later A records r4, r7.
    assert_eq!(
        stored,
        [
            "r0", "r1", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r2", "r4", "r7"
        ]
    );
    assert_eq!(
        last_occurrence_view(&stream.records()),
        expected_view(&input)
    );
    // Receipts point at the last copies.
    let all = stream.records();
    assert_eq!(receipt.entries[2].sequence_number, all[9].sequence_number);
    assert_eq!(receipt.entries[4].sequence_number, all[10].sequence_number);
    assert_eq!(receipt.entries[7].sequence_number, all[11].sequence_number);
    let m = w.metrics();
    assert_eq!(m.requests, 2);
    assert_eq!(m.retries, 1);
    assert_eq!(m.failed_records_retried, 1);
    assert_eq!(m.duplicates_sent, 2);
    assert_eq!(m.records_sent, 12);
    assert_eq!(stream.pending_faults(), 0);
}

#[tokio::test]
async fn many_partial_failures_lose_and_reorder_nothing() {
    let stream = MemoryStream::builder("s").shards(4).build();
    let w = stream.writer_with(RetryPolicy::fast());
    let input = records(1_700, 23);
    // Several requests fail scattered records, and some fail as a whole.
    stream.fail_next_puts(2, &[0, 7, 8, 250, 499]);
    stream.inject_fault(Fault::Throttle);
    stream.fail_next_puts(1, &[1, 2, 3, 100, 101, 102, 103, 104]);
    stream.inject_fault(Fault::InternalFailure);
    stream.fail_next_puts(3, &[0, 1, 2]);
    w.put_batch(input.clone()).await.unwrap();
    assert_eq!(stream.pending_faults(), 0);
    let read = read_all(&stream).await.unwrap();
    assert_eq!(last_occurrence_view(&read), expected_view(&input));
    let m = w.metrics();
    assert_eq!(m.retries, 8);
    assert_eq!(m.failed_records_retried, 2 * 5 + 8 + 3 * 3);
    assert!(m.duplicates_sent > 0);
    assert_eq!(m.records_sent, read.len() as u64);
}

#[tokio::test]
async fn without_receipts_the_same_records_are_stored_the_same_way() {
    // One stream written with receipts, one without, through the same faults: the stored
    // records (keys, bodies, sequence numbers, order) and the metrics are the same.
    let run = |receipts: bool| async move {
        let stream = MemoryStream::builder("s").shards(3).build();
        let w = stream.writer_with(RetryPolicy::fast());
        stream.fail_next_puts(1, &[0, 5, 9, 300]);
        stream.inject_fault(Fault::Throttle);
        let input = records(1_200, 17);
        let stored = if receipts {
            w.put_batch(input.clone()).await.unwrap().len()
        } else {
            w.put_batch_no_receipt(input.clone()).await.unwrap()
        };
        assert_eq!(stored, input.len());
        assert_eq!(stream.pending_faults(), 0);
        let read = read_all(&stream).await.unwrap();
        assert_eq!(last_occurrence_view(&read), expected_view(&input));
        let read: Vec<(String, String, Bytes)> = read
            .into_iter()
            .map(|r| (r.sequence_number, r.partition_key, r.data))
            .collect();
        (read, w.metrics())
    };
    let (with, with_metrics) = run(true).await;
    let (without, without_metrics) = run(false).await;
    assert_eq!(with, without);
    assert_eq!(with_metrics, without_metrics);

    // Through the object-safe form too.
    let stream = MemoryStream::new("s");
    let w: Arc<dyn DynStreamWriter> = Arc::new(stream.writer());
    assert_eq!(w.put_batch_no_receipt(records(3, 2)).await.unwrap(), 3);
    assert_eq!(stream.records().len(), 3);
}

#[tokio::test]
async fn gives_up_with_the_stored_prefix_and_a_resend_completes() {
    let stream = MemoryStream::new("s");
    let w = stream.writer_with(RetryPolicy {
        max_retries: 2,
        ..RetryPolicy::fast()
    });
    let input = records(600, 9);
    // The first request succeeds; the second keeps failing its first record.
    stream.inject_fault(Fault::FailRecords(Vec::new()));
    stream.fail_next_puts(5, &[0]);
    let err = w.put_batch(input.clone()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.stored_prefix(), 500, "{err}");
    assert!(matches!(err.root(), StreamError::Throttled { .. }));
    assert!(err.to_string().contains("first 500 of 600"), "{err}");
    stream.clear_faults();
    // The caller resends the rest, in order.
    w.put_batch(input[err.stored_prefix()..].to_vec())
        .await
        .unwrap();
    let read = read_all(&stream).await.unwrap();
    assert_eq!(last_occurrence_view(&read), expected_view(&input));

    // A whole-request failure on the first request: plain error, nothing stored.
    let stream = MemoryStream::new("t");
    let w = stream.writer_with(RetryPolicy::no_retries());
    stream.inject_fault(Fault::Throttle);
    let err = w.put_batch(records(3, 1)).await.unwrap_err();
    assert!(matches!(err, StreamError::Throttled { .. }), "{err}");
    assert_eq!(err.stored_prefix(), 0);
    assert!(stream.is_empty());
}

#[tokio::test]
async fn retention_by_count() {
    let stream = MemoryStream::builder("s").retention(5).build();
    let w = stream.writer();
    w.put_batch(records(12, 2)).await.unwrap();
    assert_eq!(stream.len(), 5);
    let read = read_all(&stream).await.unwrap();
    let bodies: Vec<&[u8]> = read.iter().map(|r| r.data.as_ref()).collect();
    assert_eq!(bodies, vec![&b"r7"[..], b"r8", b"r9", b"r10", b"r11"]);
}

#[tokio::test]
async fn tail_across_shards_with_checkpoints() {
    let stream = MemoryStream::builder("s").shards(4).build();
    let w = stream.writer();
    w.put_batch(records(50, 10)).await.unwrap();

    let mut tail = StreamTail::start(stream.clone(), TailStart::Every(StartPosition::Latest))
        .await
        .unwrap();
    let input = records(300, 17);
    let producer = {
        let w = w.clone();
        let input = input.clone();
        tokio::spawn(async move {
            for chunk in input.chunks(60) {
                w.put_batch(chunk.to_vec()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let got = tail
        .next_records(300, Duration::from_secs(10))
        .await
        .unwrap();
    producer.await.unwrap();
    assert_eq!(last_occurrence_view(&got), expected_view(&input));

    // Resume from the checkpoint: only newer records.
    let checkpoint = tail.checkpoint().clone();
    assert!(!checkpoint.is_empty());
    let more = records(20, 3);
    w.put_batch(more.clone()).await.unwrap();
    let got = wait_for_records(
        &stream,
        TailStart::After(checkpoint),
        20,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(last_occurrence_view(&got), expected_view(&more));

    // A tail that waits too long says so, and keeps what it read.
    let err = tail
        .next_records(21, Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StreamError::WaitTimeout {
                wanted: 21,
                got: 20,
                ..
            }
        ),
        "{err}"
    );
    let kept = tail
        .next_records(20, Duration::from_millis(30))
        .await
        .unwrap();
    assert_eq!(last_occurrence_view(&kept), expected_view(&more));
}

#[tokio::test]
async fn dyn_writer_and_reader() {
    let stream = MemoryStream::new("s");
    let writer: Arc<dyn DynStreamWriter> = Arc::new(stream.writer());
    let receipt = writer.put_batch(records(3, 1)).await.unwrap();
    assert_eq!(receipt.len(), 3);
    assert_eq!(writer.metrics().records_sent, 3);
    let reader: Arc<dyn dmsrs_streams::DynStreamReader> = Arc::new(stream.clone());
    assert_eq!(read_all(&reader).await.unwrap().len(), 3);
}
