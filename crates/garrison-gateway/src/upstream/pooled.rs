//! The keep-alive connections of one upstream target, and the response body that gives its
//! connection back when the upstream has finished sending.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;

use super::UpstreamBody;

/// A connection resting between two requests.
struct Idle {
    sender: SendRequest<UpstreamBody>,
    since: Instant,
}

/// Idle connections of one target, most recently used last (so the warmest is reused first
/// and the coldest expire first).
pub(crate) struct IdleConnections {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl IdleConnections {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Self {
        IdleConnections {
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
        }
    }

    /// The most recently used connection that is still open and not expired.
    pub(crate) fn take(&self) -> Option<SendRequest<UpstreamBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(entry) = idle.pop() {
            if !entry.sender.is_closed() && entry.since.elapsed() < self.idle_timeout {
                return Some(entry.sender);
            }
        }
        None
    }

    /// Puts a connection back after its response was read to the end.
    pub(crate) fn give_back(&self, sender: SendRequest<UpstreamBody>) {
        if sender.is_closed() || self.max_idle == 0 {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // Expired connections sit at the front; drop them (closing them) while here.
        let expired = idle
            .iter()
            .take_while(|e| e.since.elapsed() >= self.idle_timeout)
            .count();
        idle.drain(..expired);
        if idle.len() < self.max_idle {
            idle.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }
}

/// The upstream's response body. When it has been read to the end, its connection goes back
/// to the pool; if it is dropped before (the caller went away), the connection is closed, as
/// it is in an unknown state.
pub struct PooledBody {
    inner: Incoming,
    home: Option<(SendRequest<UpstreamBody>, Arc<IdleConnections>)>,
}

impl PooledBody {
    pub(crate) fn new(
        inner: Incoming,
        sender: SendRequest<UpstreamBody>,
        home: Arc<IdleConnections>,
    ) -> Self {
        let mut body = PooledBody {
            inner,
            home: Some((sender, home)),
        };
        if body.inner.is_end_stream() {
            body.release();
        }
        body
    }

    fn release(&mut self) {
        if let Some((sender, home)) = self.home.take() {
            home.give_back(sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.home = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PooledBody")
    }
}
