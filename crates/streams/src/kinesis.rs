//! Amazon Kinesis Data Streams through aws-sdk-kinesis (AWS, kinesis-local, moto, LocalStack).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType, StreamStatus};
use bytes::Bytes;

use crate::error::StreamError;
use crate::hash::parse_hash_key;
use crate::reader::StreamReader;
use crate::record::{
    GetRecordsOutput, InRecord, Limits, MAX_GET_RECORDS_LIMIT, OutRecord, PutEntry, PutReceipt,
    ShardInfo, ShardIterator, StartPosition,
};
use crate::writer::{
    EntryOutcome, RequestSink, RetryPolicy, StreamWriter, WriterMetrics, WriterMetricsSnapshot,
    put_batch_with,
};

/// How often the control-plane helpers poll `DescribeStreamSummary` (the SDK waiter sleeps
/// at least 10 s between polls).
const CONTROL_POLL: Duration = Duration::from_millis(100);

/// A stream named by name or by ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRef {
    /// Stream name, resolved in the client's account and region.
    Name(String),
    /// Stream ARN.
    Arn(String),
}

impl StreamRef {
    /// `arn:...` strings become [`StreamRef::Arn`], anything else a name.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("arn:") {
            Self::Arn(s.to_owned())
        } else {
            Self::Name(s.to_owned())
        }
    }

    /// The stream name (for an ARN, the part after `stream/`).
    pub fn name(&self) -> &str {
        match self {
            Self::Name(n) => n,
            Self::Arn(a) => a.rsplit_once("stream/").map_or(a.as_str(), |(_, n)| n),
        }
    }

    /// The name or ARN as given.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Name(s) | Self::Arn(s) => s,
        }
    }
}

/// Connection settings on top of the AWS conventions. Unset fields fall back to what
/// aws-config reads itself: `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_KINESIS`, `AWS_REGION`,
/// `AWS_PROFILE`, the shared config files, and the usual credential chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KinesisOptions {
    /// Endpoint URL, e.g. `http://127.0.0.1:4567` for kinesis-local.
    pub endpoint_url: Option<String>,
    /// Region, e.g. `us-east-1`.
    pub region: Option<String>,
    /// Named profile of the shared config files.
    pub profile: Option<String>,
}

/// What [`KinesisStream::describe`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDescription {
    /// Stream name.
    pub name: String,
    /// Stream ARN.
    pub arn: String,
    /// `CREATING`, `ACTIVE`, `UPDATING` or `DELETING`.
    pub status: String,
    /// Open shards.
    pub open_shard_count: u32,
    /// Retention in hours.
    pub retention_hours: u32,
    /// Every shard, open and closed.
    pub shards: Vec<ShardInfo>,
}

/// A Kinesis data stream: a [`StreamWriter`] (PutRecords) and a [`StreamReader`]
/// (ListShards, GetShardIterator, GetRecords), plus control-plane helpers.
///
/// Writing follows the [`StreamWriter`] contract: batches are cut into PutRecords requests of
/// at most 500 records and 5 MiB ([`Limits`]), one request in flight at a time; failed entries
/// (per-record `ErrorCode`) and retryable request errors are retried with exponential backoff
/// and jitter ([`RetryPolicy`]); a failed entry is resent together with every later record of
/// its partition key from the same request, so per-key order holds for the last copies.
/// Whole-request retries of the SDK itself (its standard retry mode, 3 attempts, configurable
/// with `AWS_MAX_ATTEMPTS`) happen below that.
///
/// The handle is cheap to clone; clones share the client and the metrics.
#[derive(Debug, Clone)]
pub struct KinesisStream {
    client: Client,
    stream: StreamRef,
    endpoint: Option<String>,
    limits: Limits,
    retry: RetryPolicy,
    metrics: Arc<WriterMetrics>,
}

macro_rules! with_stream {
    ($builder:expr, $stream:expr) => {
        match $stream {
            StreamRef::Name(n) => $builder.stream_name(n.clone()),
            StreamRef::Arn(a) => $builder.stream_arn(a.clone()),
        }
    };
}

impl KinesisStream {
    /// A stream reached through `client`; `stream` is a name or an ARN.
    pub fn new(client: Client, stream: &str) -> Self {
        Self {
            client,
            stream: StreamRef::parse(stream),
            endpoint: None,
            limits: Limits::KINESIS,
            retry: RetryPolicy::default(),
            metrics: Arc::new(WriterMetrics::default()),
        }
    }

    /// A stream reached with a client built from `config` (its endpoint URL, region,
    /// credentials and retry settings).
    pub fn from_sdk_config(config: &aws_config::SdkConfig, stream: &str) -> Self {
        let mut s = Self::new(Client::new(config), stream);
        s.endpoint = config.endpoint_url().map(str::to_owned);
        s
    }

    /// Loads the AWS configuration the usual way (environment, profile, credential chain) with
    /// `options` on top, and returns the stream.
    pub async fn connect(stream: &str, options: &KinesisOptions) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &options.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        let mut s = Self::from_sdk_config(&config, stream);
        if s.endpoint.is_none() {
            s.endpoint = std::env::var("AWS_ENDPOINT_URL_KINESIS")
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                .ok();
        }
        s
    }

    /// Sets the retry policy of the writer. Default [`RetryPolicy::default`].
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the request limits. Default [`Limits::KINESIS`]; streams with a raised
    /// `MaxRecordSizeInKiB` accept larger records (up to 10 MiB per record and request).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The endpoint named in error messages (set automatically from the SDK config).
    #[must_use]
    pub fn with_endpoint_label(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The stream.
    pub fn stream(&self) -> &StreamRef {
        &self.stream
    }

    fn map_err<E>(&self, operation: &'static str, err: SdkError<E>) -> StreamError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        map_sdk_error(
            operation,
            self.stream.as_str(),
            self.endpoint.as_deref(),
            err,
        )
    }

    /// Creates the stream with `shard_count` shards (provisioned mode) and waits until it is
    /// `ACTIVE`, polling every 100 ms for up to `timeout`. Fails with
    /// [`StreamError::ResourceInUse`] if it exists already.
    pub async fn create_stream(
        &self,
        shard_count: u32,
        timeout: Duration,
    ) -> Result<StreamDescription, StreamError> {
        let shards = i32::try_from(shard_count.max(1)).map_err(|_| StreamError::Config {
            message: format!("{shard_count} shards is too many"),
        })?;
        self.client
            .create_stream()
            .stream_name(self.stream.name())
            .shard_count(shards)
            .send()
            .await
            .map_err(|e| self.map_err("CreateStream", e))?;
        self.wait_active(timeout).await
    }

    /// Waits until the stream is `ACTIVE` (polling `DescribeStreamSummary` every 100 ms; a
    /// stream that is not visible yet is waited for too).
    pub async fn wait_active(&self, timeout: Duration) -> Result<StreamDescription, StreamError> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = match self.summary().await {
                Ok(summary) => Some(summary.stream_status().clone()),
                Err(StreamError::StreamNotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            if status == Some(StreamStatus::Active) {
                return self.describe().await;
            }
            if Instant::now() >= deadline {
                return Err(StreamError::Timeout {
                    operation: "waiting for the stream to become ACTIVE",
                    message: format!(
                        "stream '{}' is {} after {timeout:?}",
                        self.stream.as_str(),
                        status.as_ref().map_or("not visible", StreamStatus::as_str)
                    ),
                });
            }
            tokio::time::sleep(CONTROL_POLL).await;
        }
    }

    async fn summary(
        &self,
    ) -> Result<aws_sdk_kinesis::types::StreamDescriptionSummary, StreamError> {
        let out = with_stream!(self.client.describe_stream_summary(), &self.stream)
            .send()
            .await
            .map_err(|e| self.map_err("DescribeStreamSummary", e))?;
        out.stream_description_summary
            .ok_or_else(|| StreamError::internal("DescribeStreamSummary returned no summary"))
    }

    /// Name, ARN, status, retention and shards of the stream.
    pub async fn describe(&self) -> Result<StreamDescription, StreamError> {
        let summary = self.summary().await?;
        let shards = self.list_shards_impl().await?;
        Ok(StreamDescription {
            name: summary.stream_name().to_owned(),
            arn: summary.stream_arn().to_owned(),
            status: summary.stream_status().as_str().to_owned(),
            open_shard_count: u32::try_from(summary.open_shard_count()).unwrap_or(0),
            retention_hours: u32::try_from(summary.retention_period_hours()).unwrap_or(0),
            shards,
        })
    }

    /// `true` if the stream exists (in any state).
    pub async fn exists(&self) -> Result<bool, StreamError> {
        match self.summary().await {
            Ok(_) => Ok(true),
            Err(StreamError::StreamNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the stream (and its consumers). With `wait`, polls every 100 ms until the stream
    /// is gone, for up to that long.
    pub async fn delete_stream(&self, wait: Option<Duration>) -> Result<(), StreamError> {
        with_stream!(self.client.delete_stream(), &self.stream)
            .enforce_consumer_deletion(true)
            .send()
            .await
            .map_err(|e| self.map_err("DeleteStream", e))?;
        let Some(timeout) = wait else {
            return Ok(());
        };
        let deadline = Instant::now() + timeout;
        loop {
            if !self.exists().await? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StreamError::Timeout {
                    operation: "waiting for the stream to be deleted",
                    message: format!(
                        "stream '{}' still exists after {timeout:?}",
                        self.stream.as_str()
                    ),
                });
            }
            tokio::time::sleep(CONTROL_POLL).await;
        }
    }

    async fn list_shards_impl(&self) -> Result<Vec<ShardInfo>, StreamError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // With a NextToken the stream must not be named.
            let req = match &token {
                Some(t) => self.client.list_shards().next_token(t.clone()),
                None => with_stream!(self.client.list_shards(), &self.stream),
            };
            let out = req
                .send()
                .await
                .map_err(|e| self.map_err("ListShards", e))?;
            for s in out.shards() {
                let range = s.hash_key_range();
                let parse = |v: Option<&str>| {
                    v.and_then(parse_hash_key).ok_or_else(|| {
                        StreamError::internal(format!(
                            "shard {} has an invalid hash key range",
                            s.shard_id()
                        ))
                    })
                };
                let seq = s.sequence_number_range();
                shards.push(ShardInfo {
                    shard_id: s.shard_id().to_owned(),
                    starting_hash_key: parse(range.map(|r| r.starting_hash_key()))?,
                    ending_hash_key: parse(range.map(|r| r.ending_hash_key()))?,
                    parent_shard_id: s.parent_shard_id().map(str::to_owned),
                    starting_sequence_number: seq
                        .map(|r| r.starting_sequence_number().to_owned())
                        .unwrap_or_default(),
                    ending_sequence_number: seq
                        .and_then(|r| r.ending_sequence_number())
                        .map(str::to_owned),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        shards.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
        Ok(shards)
    }

    async fn iterator_impl(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> Result<ShardIterator, StreamError> {
        let req = with_stream!(self.client.get_shard_iterator(), &self.stream).shard_id(shard_id);
        let req = match position {
            StartPosition::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            StartPosition::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            StartPosition::AtSequenceNumber(s) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s),
            StartPosition::AfterSequenceNumber(s) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s),
            StartPosition::AtTimestamp(t) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from(t)),
        };
        let out = req
            .send()
            .await
            .map_err(|e| self.map_err("GetShardIterator", e))?;
        out.shard_iterator
            .map(ShardIterator)
            .ok_or_else(|| StreamError::internal("GetShardIterator returned no iterator"))
    }

    async fn get_records_impl(
        &self,
        shard_id: &str,
        iterator: &str,
        limit: usize,
    ) -> Result<GetRecordsOutput, StreamError> {
        let limit = i32::try_from(limit.clamp(1, MAX_GET_RECORDS_LIMIT)).unwrap_or(10_000);
        let out = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(limit)
            .send()
            .await
            .map_err(|e| self.map_err("GetRecords", e))?;
        let records = out
            .records
            .into_iter()
            .map(|r| {
                let arrival = r
                    .approximate_arrival_timestamp()
                    .and_then(|t| SystemTime::try_from(*t).ok())
                    .unwrap_or(UNIX_EPOCH);
                InRecord {
                    sequence_number: r.sequence_number().to_owned(),
                    partition_key: r.partition_key().unwrap_or_default().to_owned(),
                    data: Bytes::from(r.data.into_inner()),
                    approximate_arrival: arrival,
                    shard_id: shard_id.to_owned(),
                }
            })
            .collect();
        Ok(GetRecordsOutput {
            records,
            next_iterator: out.next_shard_iterator.map(ShardIterator),
            millis_behind: out
                .millis_behind_latest
                .map(|m| u64::try_from(m).unwrap_or(0)),
        })
    }
}

/// Maps an SDK error to a [`StreamError`].
fn map_sdk_error<E>(
    operation: &'static str,
    stream: &str,
    endpoint: Option<&str>,
    err: SdkError<E>,
) -> StreamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let looks_like_credentials = {
        let d = detail.to_ascii_lowercase();
        d.contains("credential") && (d.contains("no credentials") || d.contains("provider"))
    };
    match &err {
        SdkError::ConstructionFailure(_) => {
            if looks_like_credentials {
                StreamError::Credentials { message: detail }
            } else {
                StreamError::Config {
                    message: format!(
                        "{operation}: {detail} (is a region set? AWS_REGION / --region)"
                    ),
                }
            }
        }
        SdkError::TimeoutError(_) => StreamError::Timeout {
            operation,
            message: detail,
        },
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                StreamError::Timeout {
                    operation,
                    message: detail,
                }
            } else if looks_like_credentials {
                StreamError::Credentials { message: detail }
            } else if d.is_user() {
                StreamError::Config {
                    message: format!("{operation}: {detail}"),
                }
            } else {
                StreamError::Connection {
                    endpoint: endpoint.map(str::to_owned),
                    message: format!("{operation}: {detail}"),
                }
            }
        }
        SdkError::ResponseError(r) => StreamError::Service {
            status: Some(r.raw().status().as_u16()),
            code: "ResponseError".to_owned(),
            message: format!("{operation}: {detail}"),
        },
        SdkError::ServiceError(se) => {
            let status = se.raw().status();
            let code = err.code().unwrap_or("Unknown").to_owned();
            let message = err.message().unwrap_or_default().to_owned();
            classify_service_error(operation, stream, endpoint, &code, message, status.as_u16())
        }
        _ => StreamError::internal(format!("{operation}: {detail}")),
    }
}

fn classify_service_error(
    operation: &'static str,
    stream: &str,
    endpoint: Option<&str>,
    code: &str,
    message: String,
    status: u16,
) -> StreamError {
    let stream = stream.to_owned();
    match code {
        "ResourceNotFoundException" => StreamError::StreamNotFound {
            stream,
            endpoint: endpoint.map(str::to_owned),
        },
        "AccessDeniedException"
        | "KMSAccessDeniedException"
        | "KMSDisabledException"
        | "KMSInvalidStateException"
        | "KMSNotFoundException"
        | "KMSOptInRequired" => StreamError::AccessDenied {
            stream,
            message: format!("{code}: {message}"),
        },
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "IncompleteSignature" => StreamError::Credentials {
            message: format!("{code}: {message}"),
        },
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "LimitExceededException"
        | "KMSThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => StreamError::Throttled {
            stream,
            code: code.to_owned(),
            message,
        },
        "ValidationException"
        | "InvalidArgumentException"
        | "SerializationException"
        | "ExpiredNextTokenException" => StreamError::Validation {
            message: format!("{operation}: {code}: {message}"),
        },
        "ResourceInUseException" => StreamError::ResourceInUse { stream, message },
        "ExpiredIteratorException" => StreamError::ExpiredIterator { message },
        "InternalFailure"
        | "InternalFailureException"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "KMSInternalException" => StreamError::Service {
            status: Some(status),
            code: code.to_owned(),
            message,
        },
        _ if status >= 500 => StreamError::Service {
            status: Some(status),
            code: code.to_owned(),
            message,
        },
        _ => StreamError::Validation {
            message: format!("{operation}: {code} (HTTP {status}): {message}"),
        },
    }
}

/// The iterators this type hands out are `<shard id>|<Kinesis iterator>`, so that records read
/// with them know their shard.
fn split_iterator(it: &ShardIterator) -> Result<(&str, &str), StreamError> {
    it.as_str()
        .split_once('|')
        .ok_or_else(|| StreamError::InvalidIterator {
            iterator: it.0.clone(),
        })
}

impl StreamReader for KinesisStream {
    fn list_shards(&self) -> impl Future<Output = Result<Vec<ShardInfo>, StreamError>> + Send {
        self.list_shards_impl()
    }

    /// The iterator is `<shard id>|<Kinesis shard iterator>`.
    async fn iterator(
        &self,
        shard_id: &str,
        position: StartPosition,
    ) -> Result<ShardIterator, StreamError> {
        let raw = self.iterator_impl(shard_id, position).await?;
        Ok(ShardIterator(format!("{shard_id}|{}", raw.0)))
    }

    async fn get_records(
        &self,
        iterator: &ShardIterator,
        limit: usize,
    ) -> Result<GetRecordsOutput, StreamError> {
        let (shard, raw) = split_iterator(iterator)?;
        let mut out = self.get_records_impl(shard, raw, limit).await?;
        out.next_iterator = out
            .next_iterator
            .map(|n| ShardIterator(format!("{shard}|{}", n.0)));
        Ok(out)
    }
}

impl RequestSink for KinesisStream {
    async fn send(
        &self,
        records: &[&OutRecord],
        _receipts: bool,
    ) -> Result<Vec<EntryOutcome>, StreamError> {
        let mut entries = Vec::with_capacity(records.len());
        for r in records {
            let entry = PutRecordsRequestEntry::builder()
                .data(Blob::new(r.data.to_vec()))
                .partition_key(r.partition_key.clone())
                .set_explicit_hash_key(r.explicit_hash_key.clone())
                .build()
                .map_err(|e| StreamError::internal(format!("building a PutRecords entry: {e}")))?;
            entries.push(entry);
        }
        let out = with_stream!(self.client.put_records(), &self.stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| self.map_err("PutRecords", e))?;
        Ok(out
            .records()
            .iter()
            .map(
                |e| match (e.error_code(), e.sequence_number(), e.shard_id()) {
                    (None, Some(seq), Some(shard)) => EntryOutcome::Stored(PutEntry {
                        shard_id: shard.to_owned(),
                        sequence_number: seq.to_owned(),
                    }),
                    (code, _, _) => EntryOutcome::Failed {
                        code: code.unwrap_or("InternalFailure").to_owned(),
                        message: e
                            .error_message()
                            .unwrap_or("entry has neither an error nor a sequence number")
                            .to_owned(),
                    },
                },
            )
            .collect())
    }

    fn label(&self) -> &str {
        self.stream.as_str()
    }
}

impl StreamWriter for KinesisStream {
    fn put_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> impl Future<Output = Result<PutReceipt, StreamError>> + Send {
        put_batch_with(
            self,
            records,
            &self.limits,
            &self.retry,
            &self.metrics,
            true,
        )
    }

    fn metrics(&self) -> WriterMetricsSnapshot {
        self.metrics.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_refs() {
        let arn = StreamRef::parse("arn:aws:kinesis:us-east-1:000000000000:stream/cdc");
        assert_eq!(arn.name(), "cdc");
        assert!(matches!(arn, StreamRef::Arn(_)));
        let name = StreamRef::parse("cdc");
        assert_eq!(name, StreamRef::Name("cdc".into()));
        assert_eq!(name.name(), "cdc");
    }

    #[test]
    fn service_errors_are_classified() {
        let e = classify_service_error(
            "PutRecords",
            "s",
            Some("http://x"),
            "ResourceNotFoundException",
            "gone".into(),
            400,
        );
        assert!(matches!(e, StreamError::StreamNotFound { .. }));
        assert!(!e.is_retryable());
        let e = classify_service_error(
            "PutRecords",
            "s",
            None,
            "ProvisionedThroughputExceededException",
            "slow".into(),
            400,
        );
        assert!(e.is_retryable());
        let e = classify_service_error("PutRecords", "s", None, "Whatever", "x".into(), 503);
        assert!(e.is_retryable());
        let e = classify_service_error("PutRecords", "s", None, "Whatever", "x".into(), 400);
        assert!(!e.is_retryable());
    }
}
