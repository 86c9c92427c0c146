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

/// A streamed response body: the upstream's response, or one the gateway produces itself
/// chunk by chunk (a file download). For an upstream's, when it has been read to the end, its
/// connection goes back to the pool; if it is dropped before (the caller went away), the
/// connection is closed, as it is in an unknown state.
pub struct PooledBody {
    inner: Source,
    home: Option<(SendRequest<UpstreamBody>, Arc<IdleConnections>)>,
}

enum Source {
    Upstream(Incoming),
    /// Chunks from a producer task; the stream ends when the producer is done or gives up (a
    /// failed integrity check ends it early, so the client sees a truncated body).
    Local {
        chunks: tokio::sync::mpsc::Receiver<Bytes>,
        remaining: u64,
    },
}

impl PooledBody {
    pub(crate) fn new(
        inner: Incoming,
        sender: SendRequest<UpstreamBody>,
        home: Arc<IdleConnections>,
    ) -> Self {
        let mut body = PooledBody {
            inner: Source::Upstream(inner),
            home: Some((sender, home)),
        };
        if body.is_end_stream() {
            body.release();
        }
        body
    }

    /// A body of `length` bytes sent by a producer through `chunks`.
    pub(crate) fn local(chunks: tokio::sync::mpsc::Receiver<Bytes>, length: u64) -> Self {
        PooledBody {
            inner: Source::Local {
                chunks,
                remaining: length,
            },
            home: None,
        }
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
        let inner = match &mut this.inner {
            Source::Upstream(inner) => inner,
            Source::Local { chunks, remaining } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                return match chunks.poll_recv(cx) {
                    Poll::Ready(Some(chunk)) => {
                        *remaining = remaining.saturating_sub(chunk.len() as u64);
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                };
            }
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        let ended = inner.is_end_stream();
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if ended => this.release(),
            Poll::Ready(Some(Err(_))) => this.home = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Source::Upstream(inner) => inner.is_end_stream(),
            Source::Local { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Source::Upstream(inner) => inner.size_hint(),
            Source::Local { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PooledBody")
    }
}
