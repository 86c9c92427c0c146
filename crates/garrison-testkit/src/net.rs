//! Loopback ports and readiness, for tests that start a whole `garrison` process.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback address with a port that was free a moment ago (bound, then released), for a
/// process the test starts with `--listen`-style flags.
pub async fn free_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:0: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local address: {e}"))
}

/// Whether the admin listener at `admin` answers `GET /readyz` with 200.
pub async fn admin_ready(admin: SocketAddr) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(admin).await else {
        return false;
    };
    let request = b"GET /readyz HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out).await;
    out.starts_with("HTTP/1.1 200")
}

/// Polls [`admin_ready`] every 100 ms for up to `limit`; whether it became ready.
pub async fn wait_admin_ready(admin: SocketAddr, limit: Duration) -> bool {
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        poll.tick().await;
        if admin_ready(admin).await {
            return true;
        }
    }
    false
}
