//! The Kinesis writer's retry paths with canned SDK responses (aws-smithy-mocks): per-record
//! failures, a throttled request, a definite error. Emulators cannot fail on demand; this can.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use dmsrs_streams::{KinesisStream, OutRecord, RetryPolicy, StreamError, StreamWriter};

const THROTTLED: &str = "ProvisionedThroughputExceededException";

/// Successful entries for `n` records, numbered from `seq_base`.
fn ok_output(n: usize, seq_base: usize) -> PutRecordsOutput {
    let entries = (0..n)
        .map(|i| {
            PutRecordsResultEntry::builder()
                .sequence_number(format!("{}", seq_base + i))
                .shard_id("shardId-000000000000")
                .build()
        })
        .collect();
    PutRecordsOutput::builder()
        .failed_record_count(0)
        .set_records(Some(entries))
        .build()
        .unwrap()
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

#[tokio::test]
async fn failed_entries_are_resent_with_later_records_of_their_keys() {
    // Bodies of every PutRecords request, in order.
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let rule = {
        let seen = seen.clone();
        mock!(Client::put_records)
            .match_requests(|r| r.stream_name() == Some("cdc"))
            .then_compute_output(move |req| {
                let bodies: Vec<String> = req
                    .records()
                    .iter()
                    .map(|e| String::from_utf8(e.data().as_ref().to_vec()).unwrap())
                    .collect();
                let mut seen = seen.lock().unwrap();
                let call = seen.len();
                seen.push(bodies.clone());
                // First call: r1 (key B) and r3 (key C) fail; everything else is stored.
                let entries = bodies
                    .iter()
                    .enumerate()
                    .map(|(i, body)| {
                        if call == 0 && (body == "r1" || body == "r3") {
                            PutRecordsResultEntry::builder()
                                .error_code(THROTTLED)
                                .error_message("Rate exceeded for shard shardId-000000000000")
                                .build()
                        } else {
                            PutRecordsResultEntry::builder()
                                .sequence_number(format!("{}", 100 * (call + 1) + i))
                                .shard_id("shardId-000000000000")
                                .build()
                        }
                    })
                    .collect();
                PutRecordsOutput::builder()
                    .failed_record_count(if call == 0 { 2 } else { 0 })
                    .set_records(Some(entries))
                    .build()
                    .unwrap()
            })
    };
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let ks = KinesisStream::new(client, "cdc").with_retry_policy(retry_policy());

    let input: Vec<OutRecord> = [
        ("A", "r0"),
        ("B", "r1"),
        ("B", "r2"),
        ("C", "r3"),
        ("A", "r4"),
    ]
    .into_iter()
    .map(|(k, d)| OutRecord::new(k, d))
    .collect();
    let receipt = ks.put_batch(input).await.unwrap();

    // r1 and r3 failed; r2 (key B, after r1) was stored but is resent after r1; r4 (key A) and
    // r0 are not resent.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![vec!["r0", "r1", "r2", "r3", "r4"], vec!["r1", "r2", "r3"]]
    );
    assert_eq!(rule.num_calls(), 2);
    let seqs: Vec<&str> = receipt
        .entries
        .iter()
        .map(|e| e.sequence_number.as_str())
        .collect();
    assert_eq!(seqs, ["100", "200", "201", "202", "104"]);
    let m = ks.metrics();
    assert_eq!(m.requests, 2);
    assert_eq!(m.retries, 1);
    assert_eq!(m.failed_records_retried, 2);
    assert_eq!(m.duplicates_sent, 1);
    assert_eq!(m.records_sent, 6);
}

#[tokio::test]
async fn throttled_request_is_retried_with_backoff() {
    let body = format!(r#"{{"__type":"{THROTTLED}","message":"Rate exceeded for stream cdc"}}"#);
    let rule = mock!(Client::put_records)
        .sequence()
        .http_status(400, Some(body))
        .times(2)
        .output(|| ok_output(3, 1))
        .build();
    let client = mock_client!(aws_sdk_kinesis, RuleMode::Sequential, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let ks = KinesisStream::new(client, "cdc").with_retry_policy(retry_policy());

    let started = Instant::now();
    let receipt = ks
        .put_batch(
            (0..3)
                .map(|i| OutRecord::new("k", format!("r{i}")))
                .collect(),
        )
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(receipt.len(), 3);
    assert_eq!(rule.num_calls(), 3);
    let m = ks.metrics();
    assert_eq!(m.requests, 3);
    assert_eq!(m.retries, 2);
    assert_eq!(m.failed_records_retried, 0);
    // Backoff: retry 1 waits 10..20 ms, retry 2 waits 20..40 ms.
    assert!(elapsed >= Duration::from_millis(30), "{elapsed:?}");
}

#[tokio::test]
async fn definite_errors_are_not_retried() {
    let body = r#"{"__type":"ResourceNotFoundException","message":"Stream cdc under account 000000000000 not found."}"#;
    let rule = mock!(Client::put_records)
        .sequence()
        .http_status(400, Some(body.to_owned()))
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_kinesis, RuleMode::Sequential, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let ks = KinesisStream::new(client, "cdc").with_retry_policy(retry_policy());

    let err = ks
        .put_batch(vec![OutRecord::new("k", "r0")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StreamError::StreamNotFound { ref stream, .. } if stream == "cdc"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.is_user_error());
    assert!(err.to_string().contains("scenario deploy"), "{err}");
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(ks.metrics().retries, 0);

    // Throttling that never ends: gives up after max_retries with a retryable error.
    let body = format!(r#"{{"__type":"{THROTTLED}","message":"Rate exceeded"}}"#);
    let rule = mock!(Client::put_records)
        .sequence()
        .http_status(400, Some(body))
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_kinesis, RuleMode::Sequential, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let ks = KinesisStream::new(client, "cdc").with_retry_policy(RetryPolicy {
        max_retries: 2,
        ..RetryPolicy::fast()
    });
    let err = ks
        .put_batch(vec![OutRecord::new("k", "r0")])
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Throttled { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(rule.num_calls(), 3);
}
