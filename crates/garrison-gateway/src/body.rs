//! Request bodies streamed to the upstream under a size limit and a deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// Why the gateway stopped reading a request body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum BodyError {
    /// The body grew past the route's limit.
    #[error("request body exceeds the limit")]
    TooLarge,
    /// The body was not received before the deadline (a slow or stalled client).
    #[error("request body not received in time")]
    Timeout,
    /// The client's connection failed.
    #[error("request body: {0}")]
    Client(#[from] hyper::Error),
}

/// A request body that fails with [`BodyError::TooLarge`] past `limit` bytes and with
/// [`BodyError::Timeout`] if it is not complete by its deadline. Bytes are forwarded as they
/// arrive; nothing is buffered.
pub(crate) struct GuardedBody {
    inner: Incoming,
    remaining: u64,
    // Boxed because the upstream client needs an `Unpin` body; only requests that have a
    // body pay for it.
    deadline: Pin<Box<Sleep>>,
    /// Set once the whole body has come (see [`GuardedBody::received`]).
    received: Arc<AtomicBool>,
}

impl GuardedBody {
    /// Guards `inner` with a byte `limit` and a `timeout` for the whole body.
    pub(crate) fn new(inner: Incoming, limit: u64, timeout: Duration) -> Self {
        GuardedBody {
            inner,
            remaining: limit,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
            received: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A flag set once the client has sent the whole body: until then, an upstream that has
    /// not answered may be waiting for the client, not failing.
    pub(crate) fn received(&self) -> Arc<AtomicBool> {
        self.received.clone()
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.remaining {
                        return Poll::Ready(Some(Err(BodyError::TooLarge)));
                    }
                    this.remaining -= len;
                }
                // With a declared length (or an h2 END_STREAM) the body ends with its last
                // frame: hyper then never asks for the end below.
                if this.inner.is_end_stream() {
                    this.received.store(true, Ordering::Release);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Client(e)))),
            Poll::Ready(None) => {
                this.received.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Timeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
