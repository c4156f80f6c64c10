//! The HTTP side: AWS JSON 1.1 over HTTP/1.1 (`POST /`, `X-Amz-Target`), any SigV4
//! credentials accepted.

use crate::fault::Fault;
use crate::server::DmsServer;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::net::TcpListener;
use tracing::{debug, warn};

/// The `X-Amz-Target` prefix of DMS operations.
pub const TARGET_PREFIX: &str = "AmazonDMSv20160101.";

/// Largest request body accepted (table mappings can be long; DMS itself caps far lower).
const MAX_BODY: usize = 16 * 1024 * 1024;

impl DmsServer {
    /// Serves the DMS API on `listener` until `shutdown` completes, then stops the running
    /// tasks (each saves its checkpoint) and saves the state. A background loop saves the
    /// state every `save_every` while serving, so statistics and checkpoints of running
    /// tasks survive a crash.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        save_every: std::time::Duration,
    ) -> std::io::Result<()> {
        let saver = {
            let server = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(save_every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = server.save().await {
                        warn!(error = %e, "could not save the state");
                    }
                }
            })
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            warn!(error = %e, "accept failed");
                            continue;
                        }
                    };
                    let server = self.clone();
                    tokio::spawn(async move {
                        let svc = service_fn(move |req| {
                            let server = server.clone();
                            async move { Ok::<_, Infallible>(server.handle(req).await) }
                        });
                        if let Err(e) = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), svc)
                            .await
                        {
                            debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
            }
        }
        saver.abort();
        self.shutdown().await;
        Ok(())
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);
        let request_id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            REQUEST_IDS.fetch_add(1, Ordering::Relaxed)
        );
        let started = Instant::now();
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let result = self.answer(req, target.as_deref()).await;
        let op = target
            .as_deref()
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or("-");
        let (status, body) = match result {
            Ok(v) => (200, v.to_string()),
            Err(f) => {
                if f.status >= 500 {
                    warn!(op, code = f.code, message = %f.message, "request failed");
                } else {
                    debug!(op, code = f.code, message = %f.message, "request refused");
                }
                (f.status, f.body())
            }
        };
        debug!(
            op,
            status,
            ms = started.elapsed().as_millis() as u64,
            "request"
        );
        Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-requestid", request_id)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }

    async fn answer(
        &self,
        req: Request<Incoming>,
        target: Option<&str>,
    ) -> Result<serde_json::Value, Fault> {
        if req.method() != Method::POST {
            return Err(Fault::new(
                "UnknownOperationException",
                format!(
                    "{} {} is not a DMS request: send POST / with X-Amz-Target {TARGET_PREFIX}<Operation>",
                    req.method(),
                    req.uri().path()
                ),
            ));
        }
        let target = target.ok_or_else(|| {
            Fault::new(
                "UnknownOperationException",
                format!("the X-Amz-Target header is missing: send {TARGET_PREFIX}<Operation>"),
            )
        })?;
        let op = target.strip_prefix(TARGET_PREFIX).ok_or_else(|| {
            Fault::new(
                "UnknownOperationException",
                format!("X-Amz-Target {target:?} does not name a DMS operation ({TARGET_PREFIX}<Operation>)"),
            )
        })?;
        let body = Limited::new(req.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                Fault::serialization(format!(
                    "could not read the request body (at most {MAX_BODY} bytes): {e}"
                ))
            })?
            .to_bytes();
        self.call(op, &body).await
    }
}
