//! The demo upstream: answers every request with a JSON description of what reached it, so a
//! developer can see what the gateway added (consumer, request id, trace context, forwarding)
//! and what it removed (the API key).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Serves the echo upstream on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(echo))
                .await;
        });
    }
}

/// Binds `address` and serves the echo upstream in the background.
pub async fn spawn(address: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener));
    Ok(bound)
}

async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut body = serde_json::json!({
        "service": "garrison demo upstream",
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "consumer": header("garrison-consumer"),
        "requestId": header("x-request-id"),
        "traceparent": header("traceparent"),
        "forwardedFor": header("x-forwarded-for"),
        "apiKeyForwarded": request.headers().contains_key("x-api-key"),
    });
    let received = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    body["bodyBytes"] = received.into();
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
