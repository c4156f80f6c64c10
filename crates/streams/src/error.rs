//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while writing to or reading from a stream.
///
/// Errors are classified two ways:
///
/// * [`is_retryable`](Self::is_retryable): a transient condition (throttling, a 5xx answer, a
///   timeout, a dropped connection). Sending the same request again later may succeed. Every other
///   error is *definite*: repeating the call unchanged fails the same way.
/// * [`is_user_error`](Self::is_user_error): the user can fix it (a missing stream, missing
///   permissions or credentials, a record that is too large, a bad path or endpoint). The message
///   says what to do. The remaining errors are service faults or internal bugs.
///
/// A failed [`put_batch`](crate::StreamWriter::put_batch) may have stored a prefix of the batch
/// before it failed; [`stored_prefix`](Self::stored_prefix) tells how many leading records are
/// known to be stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream does not exist (Kinesis `ResourceNotFoundException`).
    #[error("stream '{stream}' not found{}: run `scenario deploy` to create it, or check --endpoint-url and --region", endpoint_note(.endpoint))]
    StreamNotFound {
        /// Stream name or ARN as configured.
        stream: String,
        /// The endpoint that was asked, when one was configured explicitly.
        endpoint: Option<String>,
    },
    /// The caller is not allowed to use the stream (Kinesis `AccessDeniedException`, KMS access).
    #[error(
        "access to stream '{stream}' denied: {message}; grant kinesis:PutRecords/GetRecords/ListShards (and KMS use for encrypted streams) to the credentials in use"
    )]
    AccessDenied {
        /// Stream name or ARN.
        stream: String,
        /// The service's message.
        message: String,
    },
    /// Credentials are missing, invalid or expired.
    #[error(
        "AWS credentials rejected or missing: {message}; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (any value works against local emulators)"
    )]
    Credentials {
        /// Details from the SDK or the service.
        message: String,
    },
    /// The stream refused the request because a shard or the account is over its throughput
    /// (`ProvisionedThroughputExceededException`, `ThrottlingException`, `LimitExceededException`).
    #[error(
        "stream '{stream}' throttled the request ({code}): {message}; add shards or lower the write rate"
    )]
    Throttled {
        /// Stream name or ARN.
        stream: String,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// The service failed (HTTP 5xx, `InternalFailure`, `ServiceUnavailable`).
    #[error("stream service error{}: {code}: {message}", status_note(*.status))]
    Service {
        /// HTTP status, when there was a response.
        status: Option<u16>,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// A request did not finish in time.
    #[error("{operation} timed out: {message}")]
    Timeout {
        /// The operation, e.g. `PutRecords`.
        operation: &'static str,
        /// Details.
        message: String,
    },
    /// The endpoint could not be reached.
    #[error("cannot reach the stream endpoint{}: {message}; check --endpoint-url / AWS_ENDPOINT_URL and that the service is running", endpoint_note(.endpoint))]
    Connection {
        /// The endpoint, when known.
        endpoint: Option<String>,
        /// Details.
        message: String,
    },
    /// The service rejected the request as invalid (`ValidationException`,
    /// `InvalidArgumentException`), or a local check found the same problem.
    #[error("invalid request: {message}")]
    Validation {
        /// What is wrong.
        message: String,
    },
    /// One record (data plus partition key) is larger than the stream accepts. Nothing of the batch
    /// was sent.
    #[error(
        "record #{index} (partition key '{partition_key}') is {size} bytes, over the {limit}-byte record limit; nothing of the batch was sent: shrink the record (e.g. LOB size) or drop it"
    )]
    RecordTooLarge {
        /// Index of the record in the batch passed to `put_batch`.
        index: usize,
        /// The record's partition key.
        partition_key: String,
        /// Data plus partition key, in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A partition key is empty or longer than 256 characters. Nothing of the batch was sent.
    #[error("record #{index}: invalid partition key: {reason}; nothing of the batch was sent")]
    InvalidPartitionKey {
        /// Index of the record in the batch passed to `put_batch`.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The stream exists but is in a state that does not allow the call (e.g. `CREATING`), or a
    /// stream of that name already exists (`ResourceInUseException`).
    #[error("stream '{stream}' is in use: {message}")]
    ResourceInUse {
        /// Stream name or ARN.
        stream: String,
        /// The service's message.
        message: String,
    },
    /// A shard iterator is older than 5 minutes (`ExpiredIteratorException`): get a new one.
    #[error("shard iterator expired: {message}; request a new iterator")]
    ExpiredIterator {
        /// The service's message.
        message: String,
    },
    /// A shard iterator that this stream did not hand out.
    #[error("invalid shard iterator '{iterator}'")]
    InvalidIterator {
        /// The iterator.
        iterator: String,
    },
    /// `put_batch` stored the first `stored` of `total` records, then failed. Resend the records
    /// from index `stored` on, in order.
    #[error(
        "{source} (the first {stored} of {total} records were stored; resend the rest in order)"
    )]
    Incomplete {
        /// Number of leading records that are stored.
        stored: usize,
        /// Number of records in the batch.
        total: usize,
        /// Why it stopped.
        #[source]
        source: Box<StreamError>,
    },
    /// Waiting for records ended before enough arrived.
    #[error("timed out after {waited:?} waiting for {wanted} records; {got} arrived")]
    WaitTimeout {
        /// Records asked for.
        wanted: usize,
        /// Records seen.
        got: usize,
        /// How long it waited.
        waited: Duration,
    },
    /// Reading or writing a local file (NDJSON) failed.
    #[error("{}: {source}", path_note(.path))]
    Io {
        /// The file, or `None` for stdout/other writers.
        path: Option<PathBuf>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line of an NDJSON record file could not be read.
    #[error("{}line {line}: {message}", path_prefix(.path))]
    Decode {
        /// The file, when known.
        path: Option<PathBuf>,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Bad configuration (no region, a malformed endpoint URL or ARN, ...).
    #[error("configuration error: {message}")]
    Config {
        /// What to fix.
        message: String,
    },
    /// Anything else (an unexpected answer, a bug). Not retryable.
    #[error("internal error: {message}")]
    Internal {
        /// Details.
        message: String,
    },
}

fn endpoint_note(endpoint: &Option<String>) -> String {
    match endpoint {
        Some(e) => format!(" at {e}"),
        None => String::new(),
    }
}

fn status_note(status: Option<u16>) -> String {
    match status {
        Some(s) => format!(" (HTTP {s})"),
        None => String::new(),
    }
}

fn path_note(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("I/O error on {}", p.display()),
        None => "I/O error".to_owned(),
    }
}

fn path_prefix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

impl StreamError {
    /// `true` when the same call may succeed if repeated later: throttling, 5xx/internal failures,
    /// timeouts and connection errors. [`Incomplete`](Self::Incomplete) follows its cause.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Throttled { .. }
            | Self::Service { .. }
            | Self::Timeout { .. }
            | Self::Connection { .. } => true,
            Self::Incomplete { source, .. } => source.is_retryable(),
            Self::StreamNotFound { .. }
            | Self::AccessDenied { .. }
            | Self::Credentials { .. }
            | Self::Validation { .. }
            | Self::RecordTooLarge { .. }
            | Self::InvalidPartitionKey { .. }
            | Self::ResourceInUse { .. }
            | Self::ExpiredIterator { .. }
            | Self::InvalidIterator { .. }
            | Self::WaitTimeout { .. }
            | Self::Io { .. }
            | Self::Decode { .. }
            | Self::Config { .. }
            | Self::Internal { .. } => false,
        }
    }

    /// `true` when the user can fix the cause (configuration, permissions, input data); the message
    /// says how. `false` for transient conditions, service faults and internal errors.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::StreamNotFound { .. }
            | Self::AccessDenied { .. }
            | Self::Credentials { .. }
            | Self::Validation { .. }
            | Self::RecordTooLarge { .. }
            | Self::InvalidPartitionKey { .. }
            | Self::ResourceInUse { .. }
            | Self::Io { .. }
            | Self::Decode { .. }
            | Self::Config { .. }
            | Self::Connection { .. } => true,
            Self::Incomplete { source, .. } => source.is_user_error(),
            Self::Throttled { .. }
            | Self::Service { .. }
            | Self::Timeout { .. }
            | Self::ExpiredIterator { .. }
            | Self::InvalidIterator { .. }
            | Self::WaitTimeout { .. }
            | Self::Internal { .. } => false,
        }
    }

    /// How many leading records of the failed `put_batch` call are known to be stored (0 unless
    /// this is [`Incomplete`](Self::Incomplete)). Resend the records from this index on.
    pub fn stored_prefix(&self) -> usize {
        match self {
            Self::Incomplete { stored, .. } => *stored,
            _ => 0,
        }
    }

    /// The underlying error: the cause of [`Incomplete`](Self::Incomplete), otherwise `self`.
    pub fn root(&self) -> &StreamError {
        match self {
            Self::Incomplete { source, .. } => source.root(),
            other => other,
        }
    }

    pub(crate) fn io(path: Option<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path, source }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let nf = StreamError::StreamNotFound {
            stream: "x".into(),
            endpoint: Some("http://127.0.0.1:4567".into()),
        };
        assert!(!nf.is_retryable());
        assert!(nf.is_user_error());
        let msg = nf.to_string();
        assert!(msg.contains("stream 'x' not found"), "{msg}");
        assert!(msg.contains("scenario deploy"), "{msg}");
        assert!(msg.contains("http://127.0.0.1:4567"), "{msg}");

        let thr = StreamError::Throttled {
            stream: "x".into(),
            code: "ProvisionedThroughputExceededException".into(),
            message: "slow down".into(),
        };
        assert!(thr.is_retryable());
        assert!(!thr.is_user_error());

        let inc = StreamError::Incomplete {
            stored: 3,
            total: 10,
            source: Box::new(thr),
        };
        assert!(inc.is_retryable());
        assert_eq!(inc.stored_prefix(), 3);
        assert!(matches!(inc.root(), StreamError::Throttled { .. }));
        assert!(inc.to_string().contains("first 3 of 10"));

        let big = StreamError::RecordTooLarge {
            index: 0,
            partition_key: "k".into(),
            size: 2,
            limit: 1,
        };
        assert!(!big.is_retryable());
        assert!(big.is_user_error());
    }
}
