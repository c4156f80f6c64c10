//! A deliberately tiny HTTP/1.1 client (loopback only) for readiness checks
//! and smoke requests against the emulators, so that tests need no HTTP or
//! AWS crates.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Result, TestkitError};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked, lossily decoded as UTF-8).
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET {endpoint_url}{path}` (e.g. `http_get("http://127.0.0.1:4566", "/moto-api/")`).
///
/// Only `http://` URLs whose host is a loopback address or `localhost` are accepted.
pub fn http_get(endpoint_url: &str, path: &str) -> Result<HttpResponse> {
    request(endpoint_url, "GET", path, &[], b"", IO_TIMEOUT)
}

/// An AWS JSON 1.1 request (`POST /` with `X-Amz-Target: {target}`), as the
/// AWS SDKs send it, e.g.
/// `aws_json_request(&url, "kinesis", "Kinesis_20131202.ListStreams", "{}")`.
///
/// The request carries a syntactically valid but unsigned SigV4
/// `Authorization` header for `test` credentials in `us-east-1`: the
/// emulators (moto, kinesis-local) pick the service from its credential
/// scope and do not verify signatures. Non-2xx responses are returned, not
/// turned into errors.
pub fn aws_json_request(
    endpoint_url: &str,
    service: &str,
    target: &str,
    body: &str,
) -> Result<HttpResponse> {
    aws_post(
        endpoint_url,
        service,
        "application/x-amz-json-1.1",
        Some(target),
        body,
    )
}

/// An AWS query-protocol request (`POST /`, form-encoded `Action=...&Version=...&...`), as
/// the SDKs send IAM, EC2 and RDS calls, e.g.
/// `aws_query_request(&url, "iam", &[("Action", "CreatePolicy"), ("Version", "2010-05-08"), ...])`.
/// Signed like [`aws_json_request`] (a valid shape, no real signature).
pub fn aws_query_request(
    endpoint_url: &str,
    service: &str,
    params: &[(&str, &str)],
) -> Result<HttpResponse> {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    aws_post(
        endpoint_url,
        service,
        "application/x-www-form-urlencoded; charset=utf-8",
        None,
        &body,
    )
}

/// `POST /` with an unsigned but well-formed SigV4 `Authorization` header for `test`
/// credentials in `us-east-1` (see [`aws_json_request`]); `target` is the `X-Amz-Target`
/// header, when the protocol has one.
fn aws_post(
    endpoint_url: &str,
    service: &str,
    content_type: &str,
    target: Option<&str>,
    body: &str,
) -> Result<HttpResponse> {
    let (date, datetime) = amz_dates(SystemTime::now());
    let signed = if target.is_some() {
        "content-type;host;x-amz-date;x-amz-target"
    } else {
        "content-type;host;x-amz-date"
    };
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/{date}/us-east-1/{service}/aws4_request, \
         SignedHeaders={signed}, Signature={}",
        "0".repeat(64)
    );
    let mut headers = vec![("Content-Type", content_type.to_string())];
    if let Some(t) = target {
        headers.push(("X-Amz-Target", t.to_string()));
    }
    headers.push(("X-Amz-Date", datetime));
    headers.push(("Authorization", auth));
    request(
        endpoint_url,
        "POST",
        "/",
        &headers,
        body.as_bytes(),
        IO_TIMEOUT,
    )
}

/// Parses `http://HOST:PORT[/...]`, refusing anything but loopback hosts.
pub(crate) fn loopback_addr(endpoint_url: &str) -> Result<SocketAddr> {
    let bad = || TestkitError::NotLoopback(endpoint_url.to_string());
    let rest = endpoint_url.strip_prefix("http://").ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().map_err(|_| bad())?
    };
    if !ip.is_loopback() {
        return Err(bad());
    }
    Ok(SocketAddr::new(ip, port))
}

pub(crate) fn request(
    endpoint_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<HttpResponse> {
    let addr = loopback_addr(endpoint_url)?;
    let io_err = |what: &str, e| TestkitError::io(format!("HTTP {what} {endpoint_url}"), e);
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| io_err("connect to", e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| io_err("configure", e))?;

    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream
        .write_all(req.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(|e| io_err("send to", e))?;

    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| io_err("read from", e))?;
    parse_response(&raw).map_err(|detail| TestkitError::Http {
        endpoint: endpoint_url.to_string(),
        detail,
    })
}

fn parse_response(raw: &[u8]) -> std::result::Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header terminator in {} bytes", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_str = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_str.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// (`YYYYMMDD`, `YYYYMMDDTHHMMSSZ`) in UTC.
fn amz_dates(now: SystemTime) -> (String, String) {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let tod = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let date = format!("{y:04}{m:02}{d:02}");
    let datetime = format!(
        "{date}T{:02}{:02}{:02}Z",
        tod / 3600,
        (tod / 60) % 60,
        tod % 60
    );
    (date, datetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_known_values() {
        assert_eq!(
            amz_dates(UNIX_EPOCH),
            ("19700101".into(), "19700101T000000Z".into())
        );
        // 2024-02-29T12:34:56Z
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(amz_dates(t), ("20240229".into(), "20240229T123456Z".into()));
    }

    #[test]
    fn loopback_only() {
        assert!(loopback_addr("http://127.0.0.1:4566").is_ok());
        assert!(loopback_addr("http://localhost:1/x").is_ok());
        assert!(loopback_addr("http://[::1]:80").is_ok());
        assert!(loopback_addr("http://10.0.0.1:80").is_err());
        assert!(loopback_addr("http://example.com:80").is_err());
        assert!(loopback_addr("https://127.0.0.1:443").is_err());
    }

    #[test]
    fn parses_chunked_and_plain() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = parse_response(raw).expect("parse");
        assert_eq!((r.status, r.body.as_str()), (200, "abcde"));
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
        let r = parse_response(raw).expect("parse");
        assert_eq!((r.status, r.body.as_str()), (404, "no"));
        assert_eq!(r.header("Content-Length"), Some("2"));
    }
}
