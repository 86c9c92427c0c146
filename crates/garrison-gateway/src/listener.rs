//! Accepting connections: per-IP limits, the TLS handshake under a deadline, the connection's
//! identity, then HTTP/1.1 or h2 (by ALPN) with the configured limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use garrison_core::CertFingerprint;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::identity::ConnectionIdentity;
use crate::proxy;
use crate::server::GatewayState;

/// Accepts connections on `listener` (the `index`-th configured) until shutdown.
pub(crate) async fn accept_loop(
    state: Arc<GatewayState>,
    listener: TcpListener,
    index: usize,
    mut shutdown: watch::Receiver<bool>,
    graceful: Arc<hyper_util::server::graceful::GracefulShutdown>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let snapshot = state.snapshot.load();
        let limits = &snapshot.settings.limits;
        let Some(permit) = state.connections.try_acquire(
            crate::conn_limit::client_key(peer.ip()),
            limits.max_connections_per_ip,
            limits.max_connections,
        ) else {
            state
                .shared
                .metrics
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        // Held while the connection lives, so that shutdown waits for it; the connection
        // itself is closed gracefully on `shutdown` (see `drive`).
        let watcher = graceful.watcher();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _watcher = watcher;
            serve_connection(state, stream, peer, index, shutdown).await;
        });
    }
}

async fn serve_connection(
    state: Arc<GatewayState>,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    index: usize,
    shutdown: watch::Receiver<bool>,
) {
    let snapshot = state.snapshot.load_full();
    let Some(listener) = snapshot.listeners.get(index) else {
        return;
    };
    let limits = snapshot.settings.limits.clone();
    match listener.tls.clone() {
        None => {
            let identity = ConnectionIdentity::new(peer, None, false, index);
            serve_http(state, stream, identity, None, &limits, shutdown).await;
        }
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let handshake =
                tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(stream)).await;
            let tls = match handshake {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    state
                        .shared
                        .metrics
                        .handshakes_failed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    state
                        .shared
                        .metrics
                        .handshakes_failed
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let (_, session) = tls.get_ref();
            let client_cert = session
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| CertFingerprint::of_der(leaf));
            let h2 = session.alpn_protocol() == Some(b"h2");
            let identity = ConnectionIdentity::new(peer, client_cert, true, index);
            serve_http(state, tls, identity, Some(h2), &limits, shutdown).await;
        }
    }
}

async fn serve_http<I>(
    state: Arc<GatewayState>,
    io: I,
    identity: ConnectionIdentity,
    h2: Option<bool>,
    limits: &garrison_config::Limits,
    shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let identity = Arc::new(identity);
    let started = Arc::new(AtomicU64::new(0));
    let requests = started.clone();
    let service = service_fn(move |request| {
        // Counted for the idle check: one relaxed increment per request, no clock read.
        requests.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        let identity = identity.clone();
        async move { Ok::<_, std::convert::Infallible>(proxy::serve(state, identity, request).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_pending_accept_reset_streams(limits.h2_max_pending_reset_streams)
        .max_local_error_reset_streams(limits.h2_max_local_error_reset_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(limits.keep_alive_timeout / 2)
        .keep_alive_timeout(limits.keep_alive_timeout / 2);
    // With TLS, ALPN has already decided the protocol; plain listeners detect the h2 preface.
    let builder = match h2 {
        Some(true) => builder.http2_only(),
        Some(false) => builder.http1_only(),
        None => builder,
    };
    let connection = builder.serve_connection(TokioIo::new(io), service);
    let closed = drive(
        connection,
        |connection| connection.graceful_shutdown(),
        shutdown,
        &started,
        limits.idle_timeout,
    );
    if let Err(e) = closed.await {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// Runs a connection to its end, closing it gracefully — a GOAWAY on h2, the end of the
/// response in progress on HTTP/1.1, so no request in flight is cut — when the gateway shuts
/// down or when no request has started on it for a whole `idle` period (checked every
/// `idle`, so it goes between one and two periods after its last request).
async fn drive<C, E>(
    connection: C,
    close_gracefully: impl Fn(std::pin::Pin<&mut C>),
    mut shutdown: watch::Receiver<bool>,
    started: &AtomicU64,
    idle: std::time::Duration,
) -> Result<(), E>
where
    C: Future<Output = Result<(), E>>,
{
    let mut connection = std::pin::pin!(connection);
    let mut closing = *shutdown.borrow_and_update();
    if closing {
        close_gracefully(connection.as_mut());
    }
    let mut check = tokio::time::interval_at(tokio::time::Instant::now() + idle, idle);
    // After a stall, one late check, not a burst that would find no request in between.
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = started.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            result = connection.as_mut() => return result,
            changed = shutdown.changed(), if !closing => {
                // A dropped sender is the gateway gone: close all the same.
                let _ = changed;
                closing = true;
                close_gracefully(connection.as_mut());
            }
            _ = check.tick(), if !closing => {
                let now = started.load(Ordering::Relaxed);
                if now == seen {
                    closing = true;
                    close_gracefully(connection.as_mut());
                }
                seen = now;
            }
        }
    }
}
