//! Shutdown: serve returns once shutdown completes, closing idle connections.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use garrison_citizen::{CitizenService, ServiceOptions, serve};
use http::Request;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::support::store;

#[tokio::test]
async fn serve_returns_once_shutdown_completes_closing_idle_connections() {
    let service = Arc::new(CitizenService::new(store(), ServiceOptions::default()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, service, async move {
        let _ = stopped.await;
    }));
    // An idle keep-alive connection must not hold the shutdown up.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = Request::get("/capi/v2/citizens/match")
        .header("host", "citizen")
        .header("garrison-consumer", "dfe")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 405);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the idle connection is closed")
        .unwrap()
        .unwrap();
}
