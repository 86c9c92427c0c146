//! An in-process upstream whose behaviour a test picks by path:
//!
//! - `…/hang` never answers (until the test ends);
//! - `…/reset` closes the connection without answering;
//! - anything else answers 200 with JSON describing the request it received (method, path,
//!   headers, body length), naming the data subject given in a `test-subject` request header
//!   (or a `testSubject` query parameter, which a check's step can send) in a
//!   `garrison-subject` response header, as a citizen service does — with the status a
//!   `test-status` request header names, the content type `test-content-type` names, and a
//!   `pad` member of as many bytes as `test-pad` says.
//!
//! It counts requests and connections so tests can assert what reached it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// A running test upstream.
#[derive(Clone)]
pub struct TestUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl TestUpstream {
    /// Starts an upstream on `127.0.0.1:0`.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let upstream = TestUpstream {
            addr: listener.local_addr().expect("addr"),
            requests: Arc::new(AtomicUsize::new(0)),
            connections: Arc::new(AtomicUsize::new(0)),
            paths: Arc::new(Mutex::new(Vec::new())),
        };
        let counters = upstream.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                counters.connections.fetch_add(1, Ordering::Relaxed);
                let requests = counters.requests.clone();
                let paths = counters.paths.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        requests.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut paths) = paths.lock() {
                            paths.push(request.uri().path().to_owned());
                        }
                        respond(request)
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        upstream
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The paths of every request received so far, in order.
    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

/// An address on which nothing listens (bound, then released).
pub async fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = request.uri().path().to_owned();
    if path.ends_with("/hang") {
        // Never answers: the gateway's timeout is what ends the exchange.
        std::future::pending::<()>().await;
    }
    if path.ends_with("/reset") {
        // Failing the service makes hyper close the connection without a response.
        return Err(std::io::Error::other("reset requested"));
    }
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    // A test names the data subjects of the answer as a citizen service would: one
    // `garrison-subject` header for each `;`-separated part.
    let subject = request
        .headers()
        .get("test-subject")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            request.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|pair| pair.strip_prefix("testSubject="))
                    .map(str::to_owned)
            })
        });
    let status = request
        .headers()
        .get("test-status")
        .and_then(|v| v.to_str().ok()?.parse::<u16>().ok())
        .unwrap_or(200);
    let content_type = request
        .headers()
        .get("test-content-type")
        .cloned()
        .unwrap_or_else(|| http::HeaderValue::from_static("application/json"));
    let pad = request
        .headers()
        .get("test-pad")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let query = request.uri().query().map(str::to_owned);
    let body = request.into_body().collect().await;
    let body = match body {
        Ok(b) => b.to_bytes(),
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let mut echo = serde_json::json!({
        "uri": uri,
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "bodyBytes": body.len(),
    });
    if let Some(pad) = pad {
        echo["pad"] = serde_json::Value::String("x".repeat(pad));
    }
    let mut builder = Response::builder().status(status);
    for subject in subject.iter().flat_map(|s| s.split(';')) {
        builder = builder.header("garrison-subject", subject);
    }
    Ok(builder
        .header("content-type", content_type)
        .header("connection", "keep-alive")
        .header("x-upstream", "test")
        .body(Full::new(Bytes::from(echo.to_string())))
        .expect("response"))
}
