//! The Kinesis writer's partial-failure retry against a real kinesis-local.
//!
//! kinesis-local cannot fail records on demand, so this test puts a small fault-injecting HTTP
//! proxy (127.0.0.1 only) between `KinesisStream` and kinesis-local. For the first
//! [`FAULTY_REQUESTS`] PutRecords requests the proxy forwards only a subset of the records (it
//! drops every third entry and every entry of [`DROP_KEY`]) and answers the writer with a
//! PutRecords response that lists, in the original order, kinesis-local's real results for the
//! forwarded entries and `ProvisionedThroughputExceededException` for the dropped ones: exactly
//! what Kinesis answers on a partial failure. Everything else passes through unchanged.
//!
//! The records are then read back directly from kinesis-local and checked against the writer
//! contract: nothing lost, the last copies of each key's records in input order, duplicates
//! exactly where the retry rule puts them, metrics and receipt consistent with the stream.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use dmsrs_streams::{
    InRecord, KinesisStream, OutRecord, RetryPolicy, StreamWriter, compare_sequence_numbers,
    partition_key_hash, read_all, shard_hash_ranges, shard_id,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

const STREAM: &str = "dmsrs-partial-failure";
const SHARDS: u32 = 4;
const RECORDS: usize = 1_500;
const KEYS: usize = 50;
/// The first this many PutRecords requests are partially failed by the proxy.
const FAULTY_REQUESTS: usize = 3;
/// Every record of this key fails in a faulty request.
const DROP_KEY: &str = "db.t.7";
const PUT_RECORDS: &str = "Kinesis_20131202.PutRecords";
const THROTTLED: &str = "ProvisionedThroughputExceededException";

// ------------------------------------------------------------------------------ HTTP/1.1

/// One HTTP/1.1 request or response, body read completely.
#[derive(Debug, Clone)]
struct Message {
    /// Request line or status line, without CRLF.
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replaces the body; framing becomes a recomputed `Content-Length`.
    fn set_body(&mut self, body: Vec<u8>) {
        self.remove_header("content-length");
        self.remove_header("transfer-encoding");
        self.headers
            .push(("Content-Length".to_owned(), body.len().to_string()));
        self.body = body;
    }

    /// Status code of a response.
    fn status(&self) -> u16 {
        self.start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || self.start.ends_with("HTTP/1.0")
            || self.start.starts_with("HTTP/1.0")
    }

    /// Serialized with `Content-Length` framing (a chunked body read from the peer is sent
    /// on de-chunked).
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 512);
        out.extend_from_slice(self.start.as_bytes());
        out.extend_from_slice(b"\r\n");
        let mut has_length = false;
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("transfer-encoding") {
                continue;
            }
            if n.eq_ignore_ascii_case("content-length") {
                has_length = true;
                out.extend_from_slice(format!("{n}: {}\r\n", self.body.len()).as_bytes());
                continue;
            }
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if !has_length {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

fn bad_data(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Start line and headers; `None` on a clean EOF before the first byte.
async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<Option<Message>> {
    let mut start = String::new();
    if r.read_line(&mut start).await? == 0 {
        return Ok(None);
    }
    let start = start.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| bad_data(format!("malformed header line {line:?}")))?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(Some(Message {
        start,
        headers,
        body: Vec::new(),
    }))
}

/// Reads the body announced by `head` (Content-Length, chunked, or for responses without
/// either: up to EOF).
async fn read_body<R: AsyncBufRead + Unpin>(
    r: &mut R,
    head: &mut Message,
    is_response: bool,
) -> io::Result<()> {
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| bad_data(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    let mut t = String::new();
                    if r.read_line(&mut t).await? == 0 || t.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let at = body.len();
            body.resize(at + size, 0);
            r.read_exact(&mut body[at..]).await?;
            let mut crlf = [0_u8; 2];
            r.read_exact(&mut crlf).await?;
        }
        head.body = body;
    } else if let Some(len) = head.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad_data(format!("bad Content-Length {len:?}")))?;
        let mut body = vec![0_u8; len];
        r.read_exact(&mut body).await?;
        head.body = body;
    } else if is_response && !matches!(head.status(), 100..=199 | 204 | 304) {
        r.read_to_end(&mut head.body).await?;
    }
    Ok(())
}

/// A keep-alive connection to kinesis-local, opened on first use and reopened when the
/// server closed it.
#[derive(Debug)]
struct Upstream {
    addr: SocketAddr,
    conn: Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)>,
    /// Requests sent a second time because a reused connection had been closed.
    resent: usize,
}

impl Upstream {
    fn new(addr: SocketAddr) -> Self {
        assert!(addr.ip().is_loopback(), "upstream {addr} is not loopback");
        Self {
            addr,
            conn: None,
            resent: 0,
        }
    }

    async fn forward(&mut self, req: &Message) -> io::Result<Message> {
        let reused = self.conn.is_some();
        match self.try_forward(req).await {
            Err(_) if reused => {
                // kinesis-local closed the idle keep-alive connection: once more on a new one.
                self.conn = None;
                self.resent += 1;
                self.try_forward(req).await
            }
            other => other,
        }
    }

    async fn try_forward(&mut self, req: &Message) -> io::Result<Message> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            let (r, w) = s.into_split();
            self.conn = Some((BufReader::new(r), w));
        }
        let (r, w) = self.conn.as_mut().unwrap();
        let result = async {
            w.write_all(&req.to_bytes()).await?;
            loop {
                let mut head = read_head(r)
                    .await?
                    .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
                read_body(r, &mut head, true).await?;
                if !(100..=199).contains(&head.status()) {
                    return Ok(head);
                }
            }
        }
        .await;
        match &result {
            Ok(resp) if !resp.wants_close() && !req.wants_close() => {}
            _ => self.conn = None,
        }
        result
    }
}

// ----------------------------------------------------------------------------- the proxy

/// What the proxy did with one PutRecords request.
#[derive(Debug, Clone)]
struct PutLog {
    /// Arrival number among PutRecords requests (0-based).
    number: usize,
    /// The records as the writer sent them: (partition key, data).
    records: Vec<(String, Bytes)>,
    /// Entries the proxy failed instead of forwarding.
    dropped: Vec<bool>,
    /// The answer per entry: `Some((shard, sequence number))` if stored.
    answered: Vec<Option<(String, String)>>,
    /// Entries kinesis-local itself failed (expected 0).
    upstream_failed: usize,
}

#[derive(Debug, Default)]
struct ProxyLog {
    puts: Vec<PutLog>,
    /// `X-Amz-Target` of every request, in arrival order.
    targets: Vec<String>,
    /// Requests without a SigV4 `Authorization` header.
    unsigned: usize,
    /// `Content-Type`s of PutRecords requests.
    put_content_types: HashSet<String>,
    /// Upstream answers with a status other than 200.
    upstream_errors: Vec<String>,
    /// Connection-level errors of the proxy.
    io_errors: Vec<String>,
    resent_upstream: usize,
}

#[derive(Debug)]
struct Proxy {
    upstream: SocketAddr,
    faulty_requests: usize,
    drop_key: String,
    shard_ranges: Vec<(u128, u128)>,
    next_put: Mutex<usize>,
    log: Mutex<ProxyLog>,
}

impl Proxy {
    fn new(upstream: SocketAddr) -> Self {
        Self {
            upstream,
            faulty_requests: FAULTY_REQUESTS,
            drop_key: DROP_KEY.to_owned(),
            shard_ranges: shard_hash_ranges(SHARDS),
            next_put: Mutex::new(0),
            log: Mutex::new(ProxyLog::default()),
        }
    }

    /// The fault plan: in faulty requests, every third entry and every entry of the drop key.
    fn drops(&self, request: usize, position: usize, key: &str) -> bool {
        request < self.faulty_requests && (position % 3 == 2 || key == self.drop_key)
    }

    fn shard_of(&self, key: &str) -> String {
        let h = partition_key_hash(key);
        let idx = self
            .shard_ranges
            .iter()
            .position(|&(a, b)| a <= h && h <= b)
            .unwrap_or(0);
        shard_id(idx)
    }

    async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((conn, peer)) = listener.accept().await else {
                continue;
            };
            if !peer.ip().is_loopback() {
                continue;
            }
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.clone().serve_connection(conn).await {
                    me.log.lock().unwrap().io_errors.push(e.to_string());
                }
            });
        }
    }

    /// Requests of one keep-alive connection, one after the other.
    async fn serve_connection(self: Arc<Self>, conn: TcpStream) -> io::Result<()> {
        conn.set_nodelay(true)?;
        let (r, mut w) = conn.into_split();
        let mut r = BufReader::new(r);
        let mut upstream = Upstream::new(self.upstream);
        let result = async {
            loop {
                let Some(mut req) = read_head(&mut r).await? else {
                    return Ok(());
                };
                if req
                    .header("expect")
                    .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
                {
                    req.remove_header("expect");
                    w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
                }
                read_body(&mut r, &mut req, false).await?;
                let resp = self.handle(&req, &mut upstream).await?;
                w.write_all(&resp.to_bytes()).await?;
                if req.wants_close() || resp.wants_close() {
                    return Ok(());
                }
            }
        }
        .await;
        self.log.lock().unwrap().resent_upstream += upstream.resent;
        result
    }

    async fn handle(&self, req: &Message, upstream: &mut Upstream) -> io::Result<Message> {
        let target = req.header("x-amz-target").unwrap_or("").to_owned();
        {
            let mut log = self.log.lock().unwrap();
            log.targets.push(target.clone());
            if !req
                .header("authorization")
                .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 "))
            {
                log.unsigned += 1;
            }
            if target == PUT_RECORDS {
                log.put_content_types
                    .insert(req.header("content-type").unwrap_or("").to_owned());
            }
        }
        if target != PUT_RECORDS {
            let resp = upstream.forward(req).await?;
            self.note_status(&target, &resp);
            return Ok(resp);
        }
        self.put_records(req, upstream).await
    }

    fn note_status(&self, target: &str, resp: &Message) {
        if resp.status() != 200 {
            self.log.lock().unwrap().upstream_errors.push(format!(
                "{target}: {} {}",
                resp.start,
                String::from_utf8_lossy(&resp.body)
            ));
        }
    }

    async fn put_records(&self, req: &Message, upstream: &mut Upstream) -> io::Result<Message> {
        let number = {
            let mut n = self.next_put.lock().unwrap();
            *n += 1;
            *n - 1
        };
        let body: Value = serde_json::from_slice(&req.body)
            .map_err(|e| bad_data(format!("PutRecords body is not JSON: {e}")))?;
        let entries = body["Records"]
            .as_array()
            .ok_or_else(|| bad_data("PutRecords body without Records"))?
            .clone();
        let stream = body["StreamName"]
            .as_str()
            .or_else(|| {
                body["StreamARN"]
                    .as_str()
                    .and_then(|a| a.rsplit_once("stream/").map(|(_, n)| n))
            })
            .unwrap_or("?")
            .to_owned();
        let mut records = Vec::with_capacity(entries.len());
        for e in &entries {
            let key = e["PartitionKey"].as_str().unwrap_or("").to_owned();
            let data = BASE64
                .decode(e["Data"].as_str().unwrap_or(""))
                .map_err(|e| bad_data(format!("Data is not base64: {e}")))?;
            records.push((key, Bytes::from(data)));
        }
        let dropped: Vec<bool> = records
            .iter()
            .enumerate()
            .map(|(pos, (key, _))| self.drops(number, pos, key))
            .collect();

        // Forward the kept entries (the request unchanged if nothing is dropped).
        let kept: Vec<Value> = entries
            .iter()
            .zip(&dropped)
            .filter(|(_, d)| !**d)
            .map(|(e, _)| e.clone())
            .collect();
        let (real, template) = if kept.is_empty() {
            (Vec::new(), None)
        } else {
            let resp = if kept.len() == entries.len() {
                upstream.forward(req).await?
            } else {
                let mut forwarded = req.clone();
                let mut fbody = body.clone();
                fbody["Records"] = Value::Array(kept.clone());
                forwarded.set_body(serde_json::to_vec(&fbody).map_err(io::Error::other)?);
                upstream.forward(&forwarded).await?
            };
            if resp.status() != 200 {
                // An error answer goes back as it is (the test fails on it).
                self.note_status(PUT_RECORDS, &resp);
                return Ok(resp);
            }
            let v: Value = serde_json::from_slice(&resp.body)
                .map_err(|e| bad_data(format!("PutRecords answer is not JSON: {e}")))?;
            let real = v["Records"].as_array().cloned().unwrap_or_default();
            if real.len() != kept.len() {
                return Err(bad_data(format!(
                    "kinesis-local answered {} entries for {} records",
                    real.len(),
                    kept.len()
                )));
            }
            (real, Some((resp, v)))
        };

        // The answer in the original order: real results and synthesized failures.
        let mut real_iter = real.into_iter();
        let mut merged = Vec::with_capacity(entries.len());
        let mut answered = Vec::with_capacity(entries.len());
        let (mut failed, mut upstream_failed) = (0_usize, 0_usize);
        for ((key, _), &d) in records.iter().zip(&dropped) {
            if d {
                failed += 1;
                answered.push(None);
                merged.push(json!({
                    "ErrorCode": THROTTLED,
                    "ErrorMessage": format!(
                        "Rate exceeded for shard {} in stream {stream} under account 000000000000.",
                        self.shard_of(key)
                    ),
                }));
            } else {
                let r = real_iter.next().unwrap_or(Value::Null);
                match (r["SequenceNumber"].as_str(), r["ShardId"].as_str()) {
                    (Some(seq), Some(shard)) if r["ErrorCode"].is_null() => {
                        answered.push(Some((shard.to_owned(), seq.to_owned())));
                    }
                    _ => {
                        failed += 1;
                        upstream_failed += 1;
                        answered.push(None);
                    }
                }
                merged.push(r);
            }
        }
        let resp = match template {
            Some((resp, _)) if failed == 0 => resp, // passes through unchanged
            Some((mut resp, v)) => {
                let mut out = v;
                out["FailedRecordCount"] = json!(failed);
                out["Records"] = Value::Array(merged);
                resp.set_body(serde_json::to_vec(&out).map_err(io::Error::other)?);
                resp
            }
            None => {
                let mut resp = Message {
                    start: "HTTP/1.1 200 OK".to_owned(),
                    headers: vec![(
                        "Content-Type".to_owned(),
                        "application/x-amz-json-1.1".to_owned(),
                    )],
                    body: Vec::new(),
                };
                let out = json!({
                    "EncryptionType": "NONE",
                    "FailedRecordCount": failed,
                    "Records": merged,
                });
                resp.set_body(serde_json::to_vec(&out).map_err(io::Error::other)?);
                resp
            }
        };
        self.log.lock().unwrap().puts.push(PutLog {
            number,
            records,
            dropped,
            answered,
            upstream_failed,
        });
        Ok(resp)
    }
}

// ---------------------------------------------------------------------------- helpers

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

/// One raw Kinesis JSON call straight to kinesis-local.
async fn raw_call(
    addr: SocketAddr,
    target: &str,
    body: &str,
    authorization: Option<&str>,
) -> Message {
    let mut headers = vec![
        ("Host".to_owned(), addr.to_string()),
        (
            "Content-Type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        (
            "X-Amz-Target".to_owned(),
            format!("Kinesis_20131202.{target}"),
        ),
        ("X-Amz-Date".to_owned(), "20240101T000000Z".to_owned()),
    ];
    if let Some(a) = authorization {
        headers.push(("Authorization".to_owned(), a.to_owned()));
    }
    let mut req = Message {
        start: "POST / HTTP/1.1".to_owned(),
        headers,
        body: Vec::new(),
    };
    req.set_body(body.as_bytes().to_vec());
    let mut up = Upstream::new(addr);
    up.forward(&req).await.unwrap()
}

fn input_records() -> Vec<OutRecord> {
    (0..RECORDS)
        .map(|i| {
            let key = format!("db.t.{}", i % KEYS);
            // Unique bodies of varying length.
            let body = format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 37));
            OutRecord::new(key, body)
        })
        .collect()
}

// ------------------------------------------------------------------------------- the test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_local_partial_failures_are_retried_without_loss() {
    let t0 = Instant::now();
    let mock = dmsrs_testkit::KinesisMock::start().unwrap();
    let upstream = SocketAddr::from(([127, 0, 0, 1], mock.port()));
    let t_started = t0.elapsed();

    // kinesis-local wants a SigV4-shaped Authorization header but never checks the signature,
    // so requests whose body the proxy rewrote (signature now wrong) are still accepted.
    let unsigned = raw_call(upstream, "ListStreams", "{}", None).await;
    assert_eq!(unsigned.status(), 400);
    assert!(
        String::from_utf8_lossy(&unsigned.body).contains("MissingAuthenticationToken"),
        "{}",
        String::from_utf8_lossy(&unsigned.body)
    );
    let bogus = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/kinesis/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000";
    let forged = raw_call(upstream, "ListStreams", "{}", Some(bogus)).await;
    assert_eq!(
        forged.status(),
        200,
        "kinesis-local checks signatures after all: {}",
        String::from_utf8_lossy(&forged.body)
    );

    // The proxy on 127.0.0.1.
    let proxy = Arc::new(Proxy::new(upstream));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(proxy.clone().serve(listener));

    let policy = RetryPolicy {
        max_retries: 10,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
    };
    let via_proxy = KinesisStream::from_sdk_config(&sdk_config(&proxy_url).await, STREAM)
        .with_retry_policy(policy);
    let direct = KinesisStream::from_sdk_config(&sdk_config(&mock.endpoint_url()).await, STREAM);

    // Control plane through the proxy (passed through unchanged).
    let desc = via_proxy
        .create_stream(SHARDS, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(desc.status, "ACTIVE");
    assert_eq!(desc.shards.len(), SHARDS as usize);

    // Write through the proxy.
    let input = input_records();
    let t_write = Instant::now();
    let receipt = via_proxy.put_batch(input.clone()).await.unwrap();
    let write_time = t_write.elapsed();
    let m = via_proxy.metrics();
    assert_eq!(receipt.len(), input.len());

    // Read everything back directly from kinesis-local.
    let t_read = Instant::now();
    let read = read_all(&direct).await.unwrap();
    let read_time = t_read.elapsed();

    server.abort();
    let log = std::mem::take(&mut *proxy.log.lock().unwrap());
    let mut puts = log.puts.clone();
    puts.sort_by_key(|p| p.number);

    // ---------------------------------------------------------------- the proxy itself
    assert!(
        log.io_errors.is_empty(),
        "proxy errors: {:?}",
        log.io_errors
    );
    assert!(
        log.upstream_errors.is_empty(),
        "kinesis-local refused: {:?}",
        log.upstream_errors
    );
    assert_eq!(log.unsigned, 0, "every SDK request is SigV4-signed");
    assert_eq!(
        log.put_content_types,
        HashSet::from(["application/x-amz-json-1.1".to_owned()]),
        "the SDK speaks JSON (not CBOR) to Kinesis"
    );
    for t in [
        "Kinesis_20131202.CreateStream",
        "Kinesis_20131202.ListShards",
    ] {
        assert!(
            log.targets.iter().any(|x| x == t),
            "{t} not proxied: {:?}",
            log.targets
        );
    }
    assert!(puts.iter().all(|p| p.upstream_failed == 0));
    assert_eq!(
        puts.iter().map(|p| p.number).collect::<Vec<_>>(),
        (0..puts.len()).collect::<Vec<_>>()
    );
    assert!(puts.len() > FAULTY_REQUESTS, "{} requests", puts.len());

    // ------------------------------------- the writer's requests follow the retry rule
    // Replays the proxy's decisions: what each request must resend, what kinesis-local stored.
    let mut pending_retry: Option<Vec<(String, Bytes)>> = None;
    let mut fresh: Vec<(String, Bytes)> = Vec::new();
    let mut stored_per_key: HashMap<String, Vec<Bytes>> = HashMap::new();
    let mut copies: HashMap<Bytes, usize> = HashMap::new();
    let (mut exp_retries, mut exp_failed, mut exp_dups, mut exp_stored) = (0, 0, 0, 0);
    let mut drop_key_failures = 0;
    for put in &puts {
        let n = put.number;
        assert!(
            put.records.len() <= 500,
            "request {n} over the Kinesis limit"
        );
        let resent = pending_retry.take().unwrap_or_default();
        assert!(
            put.records.len() >= resent.len() && put.records[..resent.len()] == resent[..],
            "request {n} does not start with the {} records request {} must resend",
            resent.len(),
            n.saturating_sub(1)
        );
        fresh.extend(put.records[resent.len()..].iter().cloned());
        let mut failed_keys: HashSet<&str> = HashSet::new();
        let mut retry = Vec::new();
        for (((key, data), &dropped), answer) in
            put.records.iter().zip(&put.dropped).zip(&put.answered)
        {
            assert_eq!(dropped, answer.is_none());
            if dropped {
                failed_keys.insert(key);
                retry.push((key.clone(), data.clone()));
                exp_failed += 1;
                drop_key_failures += usize::from(key == DROP_KEY);
            } else {
                exp_stored += 1;
                *copies.entry(data.clone()).or_default() += 1;
                stored_per_key
                    .entry(key.clone())
                    .or_default()
                    .push(data.clone());
                if failed_keys.contains(key.as_str()) {
                    // Stored ahead of an earlier record of its key: must be sent again.
                    retry.push((key.clone(), data.clone()));
                    exp_dups += 1;
                }
            }
        }
        assert_eq!(put.dropped.iter().any(|d| *d), n < FAULTY_REQUESTS);
        if !retry.is_empty() {
            exp_retries += 1;
            pending_retry = Some(retry);
        }
    }
    assert!(
        pending_retry.is_none(),
        "the last request still had failures"
    );
    let input_pairs: Vec<(String, Bytes)> = input
        .iter()
        .map(|r| (r.partition_key.clone(), r.data.clone()))
        .collect();
    assert_eq!(
        fresh, input_pairs,
        "every record was sent once fresh, in order"
    );
    assert!(exp_dups > 0 && drop_key_failures > 0);

    // ------------------------------------------------------------------ metrics
    assert_eq!(m.requests, puts.len() as u64, "{m}");
    assert_eq!(m.retries, exp_retries, "{m}");
    assert_eq!(exp_retries, FAULTY_REQUESTS as u64);
    assert_eq!(m.failed_records_retried, exp_failed, "{m}");
    assert_eq!(m.duplicates_sent, exp_dups, "{m}");
    assert_eq!(m.records_sent, exp_stored, "{m}");
    assert_eq!(log.resent_upstream, 0, "a request was sent twice upstream");

    // ------------------------------------------------------- what kinesis-local holds
    // Nothing lost; duplicates exactly where the retry rule puts them.
    assert_eq!(read.len() as u64, exp_stored);
    assert_eq!(read.len() as u64, input.len() as u64 + exp_dups);
    let mut read_copies: HashMap<Bytes, usize> = HashMap::new();
    for r in &read {
        *read_copies.entry(r.data.clone()).or_default() += 1;
    }
    for (i, rec) in input.iter().enumerate() {
        let got = read_copies.get(&rec.data).copied().unwrap_or(0);
        assert!(got >= 1, "record {i} (key {}) lost", rec.partition_key);
        assert_eq!(got, copies[&rec.data], "copies of record {i}");
    }

    // Shard order is sequence-number order; the per-key sequence is what the replay predicts.
    let mut read_per_key: HashMap<String, Vec<&InRecord>> = HashMap::new();
    for pair in read.windows(2) {
        if pair[0].shard_id == pair[1].shard_id {
            assert!(
                compare_sequence_numbers(&pair[0].sequence_number, &pair[1].sequence_number)
                    .is_lt()
            );
        }
    }
    for r in &read {
        read_per_key
            .entry(r.partition_key.clone())
            .or_default()
            .push(r);
    }
    for (key, expected) in &stored_per_key {
        let got: Vec<Bytes> = read_per_key[key].iter().map(|r| r.data.clone()).collect();
        assert_eq!(&got, expected, "stored sequence of key {key}");
    }
    assert_eq!(read_per_key.len(), KEYS);

    // The ordering rule: the last occurrences of each key's records are in input order.
    let mut key_input: HashMap<&str, Vec<&Bytes>> = HashMap::new();
    for r in &input {
        key_input.entry(&r.partition_key).or_default().push(&r.data);
    }
    let mut last_of: HashMap<&Bytes, &InRecord> = HashMap::new();
    for (key, recs) in &read_per_key {
        let mut seen: HashSet<&Bytes> = HashSet::new();
        let mut last_order: Vec<&Bytes> = Vec::new();
        for r in recs.iter().rev() {
            if seen.insert(&r.data) {
                last_order.push(&r.data);
                last_of.insert(&r.data, r);
            }
        }
        last_order.reverse();
        assert_eq!(
            last_order,
            key_input[key.as_str()],
            "last occurrences of key {key} not in input order"
        );
    }

    // The receipt points at the last copies.
    for (i, (rec, entry)) in input.iter().zip(&receipt.entries).enumerate() {
        let last = last_of[&rec.data];
        assert_eq!(
            entry.sequence_number, last.sequence_number,
            "receipt of record {i}"
        );
        assert_eq!(entry.shard_id, last.shard_id, "receipt of record {i}");
    }

    let total = t0.elapsed();
    eprintln!(
        "kinesis-local up in {t_started:?}; wrote {} records in {write_time:?} ({} PutRecords, \
         {exp_failed} entries failed by the proxy, {exp_dups} resent for order, {} stored); \
         read back in {read_time:?}; total {total:?}; metrics: {m}",
        input.len(),
        puts.len(),
        read.len()
    );
    assert!(total < Duration::from_secs(30), "took {total:?}");
}
