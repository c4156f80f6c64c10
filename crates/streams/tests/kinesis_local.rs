//! `KinesisStream` against real emulators: kinesis-local (kinesis-mock) for the full data plane,
//! moto for the basics. Both come from `dmsrs-testkit` (installed by `scripts/setup.sh`).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dmsrs_streams::{
    InRecord, KinesisStream, OutRecord, RetryPolicy, StartPosition, StreamError, StreamReader,
    StreamTail, StreamWriter, TailStart, partition_key_hash, read_all, shard_hash_ranges, shard_id,
};

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .empty_test_environment()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await
}

fn records(from: usize, to: usize, keys: usize) -> Vec<OutRecord> {
    (from..to)
        .map(|i| OutRecord::new(format!("db.t.{}", i % keys), format!("r{i}")))
        .collect()
}

fn view(read: &[InRecord]) -> HashMap<String, Vec<Bytes>> {
    let mut v: HashMap<String, Vec<Bytes>> = HashMap::new();
    for r in read {
        v.entry(r.partition_key.clone())
            .or_default()
            .push(r.data.clone());
    }
    v
}

fn expected(input: &[OutRecord]) -> HashMap<String, Vec<Bytes>> {
    let mut v: HashMap<String, Vec<Bytes>> = HashMap::new();
    for r in input {
        v.entry(r.partition_key.clone())
            .or_default()
            .push(r.data.clone());
    }
    v
}

/// Reads one shard from `position` to its current end, paging with `limit`.
async fn read_shard(
    ks: &KinesisStream,
    shard: &str,
    position: StartPosition,
    limit: usize,
) -> Vec<InRecord> {
    let mut it = ks.iterator(shard, position).await.unwrap();
    let mut out = Vec::new();
    loop {
        let page = ks.get_records(&it, limit).await.unwrap();
        let empty = page.records.is_empty();
        out.extend(page.records);
        it = page.next_iterator.unwrap();
        if empty && page.millis_behind.is_none_or(|m| m == 0) {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_local_full_round_trip() {
    let mock = dmsrs_testkit::KinesisMock::start().unwrap();
    let config = sdk_config(&mock.endpoint_url()).await;
    let ks = KinesisStream::from_sdk_config(&config, "dmsrs-streams-it")
        .with_retry_policy(RetryPolicy::fast());

    // Create: 3 shards, ACTIVE, with the hash-key ranges we compute ourselves.
    let desc = ks.create_stream(3, Duration::from_secs(30)).await.unwrap();
    assert_eq!(desc.status, "ACTIVE");
    assert_eq!(desc.name, "dmsrs-streams-it");
    assert!(
        desc.arn.ends_with(":stream/dmsrs-streams-it"),
        "{}",
        desc.arn
    );
    assert_eq!(desc.shards.len(), 3);
    let ranges: Vec<(u128, u128)> = desc
        .shards
        .iter()
        .map(|s| (s.starting_hash_key, s.ending_hash_key))
        .collect();
    assert_eq!(ranges, shard_hash_ranges(3));

    // Put 1,200 records over 40 keys in two halves, with a timestamp between them.
    let first_half = records(0, 600, 40);
    let second_half = records(600, 1_200, 40);
    let r1 = ks.put_batch(first_half.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let middle = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r2 = ks.put_batch(second_half.clone()).await.unwrap();
    let m = ks.metrics();
    assert_eq!(m.records_sent, 1_200);
    assert_eq!(m.requests, 4, "600 records = 2 requests, twice");
    assert_eq!(m.retries, 0);
    let all_input: Vec<OutRecord> = first_half.iter().chain(&second_half).cloned().collect();
    let receipts: Vec<_> = r1.entries.iter().chain(&r2.entries).cloned().collect();

    // Kinesis put each record on the shard its MD5 hash key says.
    for (rec, entry) in all_input.iter().zip(&receipts) {
        let h = partition_key_hash(&rec.partition_key);
        let idx = ranges.iter().position(|&(a, b)| a <= h && h <= b).unwrap();
        assert_eq!(entry.shard_id, shard_id(idx), "key {}", rec.partition_key);
    }

    // TRIM_HORIZON over the whole stream: everything once, per-key order kept.
    let all = read_all(&ks).await.unwrap();
    assert_eq!(all.len(), 1_200);
    assert_eq!(view(&all), expected(&all_input));
    let by_body: HashMap<&Bytes, &InRecord> = all.iter().map(|r| (&r.data, r)).collect();
    for (rec, entry) in all_input.iter().zip(&receipts) {
        let got = by_body[&rec.data];
        assert_eq!(got.sequence_number, entry.sequence_number);
        assert_eq!(got.shard_id, entry.shard_id);
        assert!(got.approximate_arrival > SystemTime::UNIX_EPOCH);
    }

    // TRIM_HORIZON shard by shard with small pages.
    let mut paged = Vec::new();
    for s in &desc.shards {
        paged.extend(read_shard(&ks, &s.shard_id, StartPosition::TrimHorizon, 37).await);
    }
    assert_eq!(paged.len(), 1_200);
    assert_eq!(view(&paged), expected(&all_input));

    // AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER from record 10.
    let e10 = &receipts[10];
    let at = read_shard(
        &ks,
        &e10.shard_id,
        StartPosition::AtSequenceNumber(e10.sequence_number.clone()),
        10_000,
    )
    .await;
    assert_eq!(at[0].data, all_input[10].data);
    let after = read_shard(
        &ks,
        &e10.shard_id,
        StartPosition::AfterSequenceNumber(e10.sequence_number.clone()),
        10_000,
    )
    .await;
    assert_eq!(after.len(), at.len() - 1);
    assert_eq!(after[0].data, at[1].data);

    // AT_TIMESTAMP: exactly the second half.
    let mut since = Vec::new();
    for s in &desc.shards {
        since
            .extend(read_shard(&ks, &s.shard_id, StartPosition::AtTimestamp(middle), 10_000).await);
    }
    assert_eq!(since.len(), 600);
    assert_eq!(view(&since), expected(&second_half));

    // LATEST: nothing now; a tail started at LATEST sees only what comes after.
    let shard0 = &desc.shards[0].shard_id;
    let latest = ks.iterator(shard0, StartPosition::Latest).await.unwrap();
    let page = ks.get_records(&latest, 100).await.unwrap();
    assert!(page.records.is_empty());
    let mut tail = StreamTail::start(&ks, TailStart::Every(StartPosition::Latest))
        .await
        .unwrap();
    let more = records(1_200, 1_250, 40);
    ks.put_batch(more.clone()).await.unwrap();
    let got = tail
        .next_records(50, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(view(&got), expected(&more));
    // ... and resumes from its checkpoint.
    let checkpoint = tail.checkpoint().clone();
    let last = records(1_250, 1_260, 40);
    ks.put_batch(last.clone()).await.unwrap();
    let got = dmsrs_streams::wait_for_records(
        &ks,
        TailStart::After(checkpoint),
        10,
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert_eq!(view(&got), expected(&last));

    // A stream that does not exist: a definite error that says what to do.
    let missing = KinesisStream::from_sdk_config(&config, "no-such-stream")
        .with_retry_policy(RetryPolicy::fast());
    let err = missing
        .put_batch(vec![OutRecord::new("k", "x")])
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::StreamNotFound { .. }), "{err}");
    assert!(!err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-stream") && msg.contains(&mock.endpoint_url()),
        "{msg}"
    );
    assert_eq!(missing.metrics().requests, 1, "not retried");
    assert!(!missing.exists().await.unwrap());

    // Creating it twice is a definite error.
    let err = ks
        .create_stream(1, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::ResourceInUse { .. }), "{err}");

    // Delete and wait until gone.
    ks.delete_stream(Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(!ks.exists().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_local_by_arn_and_unreachable_endpoint() {
    let mock = dmsrs_testkit::KinesisMock::start().unwrap();
    let config = sdk_config(&mock.endpoint_url()).await;
    let by_name = KinesisStream::from_sdk_config(&config, "arn-test");
    let desc = by_name
        .create_stream(1, Duration::from_secs(30))
        .await
        .unwrap();
    let by_arn = KinesisStream::from_sdk_config(&config, &desc.arn);
    by_arn.put_batch(records(0, 20, 3)).await.unwrap();
    let read = read_all(&by_arn).await.unwrap();
    assert_eq!(view(&read), expected(&records(0, 20, 3)));
    drop(mock);

    // Nothing listens any more: a retryable connection error naming the endpoint.
    let ks = KinesisStream::from_sdk_config(&config, "arn-test")
        .with_retry_policy(RetryPolicy::no_retries());
    let err = ks.put_batch(records(0, 1, 1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StreamError::Connection { .. } | StreamError::Timeout { .. }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_basic_put_and_get() {
    let moto = dmsrs_testkit::MotoServer::start().unwrap();
    let config = sdk_config(&moto.endpoint_url()).await;
    let ks = KinesisStream::from_sdk_config(&config, "dmsrs-moto");
    let desc = ks.create_stream(2, Duration::from_secs(30)).await.unwrap();
    assert_eq!(desc.shards.len(), 2);
    let input = records(0, 300, 11);
    let receipt = ks.put_batch(input.clone()).await.unwrap();
    assert_eq!(receipt.len(), 300);
    let read = read_all(&ks).await.unwrap();
    assert_eq!(read.len(), 300);
    assert_eq!(view(&read), expected(&input));
    let e = &receipt.entries[5];
    let at = read_shard(
        &ks,
        &e.shard_id,
        StartPosition::AtSequenceNumber(e.sequence_number.clone()),
        100,
    )
    .await;
    assert_eq!(at[0].data, input[5].data);
    ks.delete_stream(Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(!ks.exists().await.unwrap());
}
