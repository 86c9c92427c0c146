//! Upstream pools: keep-alive HTTP/1.1 connections per target, round-robin balancing, passive
//! circuit breaking, timeouts and the retries that are safe.
//!
//! The pool is Garrison's own rather than a general-purpose client's: a target's idle
//! connections are a short stack behind an uncontended lock, reached without hashing, and a
//! request goes straight to the connection it was given.

mod breaker;
mod pooled;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use garrison_config::Upstream;
use garrison_limits::Clock;
use http::uri::Authority;
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::{Either, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::{BodyError, GuardedBody};

pub(crate) use breaker::Breaker;
use pooled::IdleConnections;
pub use pooled::PooledBody;

/// The body sent upstream: the caller's guarded stream, or nothing.
/// A request body on its way upstream: streamed under guard, or already complete (empty, or
/// buffered to be validated against the contract).
pub(crate) type UpstreamBody = Either<GuardedBody, Full<Bytes>>;

/// Why an upstream exchange failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Every target's circuit is open.
    NoTarget,
    /// A connection could not be opened.
    Connect,
    /// The response head did not arrive in time.
    Timeout,
    /// The connection failed while the request was in flight.
    Broken,
    /// The caller's body broke the rules (too large, too slow) or its connection failed.
    Body(BodyErrorKind),
}

/// The caller-side body failures, without the error values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyErrorKind {
    TooLarge,
    Timeout,
    Client,
}

/// One target of a pool.
pub(crate) struct Target {
    pub(crate) authority: Authority,
    /// The `Host` header for requests to this target.
    host: HeaderValue,
    pub(crate) breaker: Breaker,
    idle: Arc<IdleConnections>,
}

/// A keep-alive pool over an upstream's targets.
pub(crate) struct UpstreamPool {
    pub(crate) config: Upstream,
    pub(crate) targets: Vec<Target>,
    next: AtomicUsize,
    clock: Clock,
}

impl std::fmt::Debug for UpstreamPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UpstreamPool({})", self.config.name)
    }
}

impl UpstreamPool {
    /// Builds the pool for `config`. Target authorities were checked by the configuration.
    pub(crate) fn new(config: &Upstream, clock: Clock) -> Self {
        let targets = config
            .targets
            .iter()
            .filter_map(|t| {
                let authority = t.parse::<Authority>().ok()?;
                let host = HeaderValue::from_str(authority.as_str()).ok()?;
                Some(Target {
                    authority,
                    host,
                    breaker: Breaker::new(config.breaker_failures, config.breaker_cooldown),
                    idle: Arc::new(IdleConnections::new(
                        config.max_idle_per_target,
                        config.idle_timeout,
                    )),
                })
            })
            .collect();
        UpstreamPool {
            config: config.clone(),
            targets,
            next: AtomicUsize::new(0),
            clock,
        }
    }

    /// Picks the next target whose circuit admits a request, round-robin.
    fn pick(&self, skip: Option<usize>) -> Option<usize> {
        let n = self.targets.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        (0..n)
            .map(|i| (start + i) % n)
            .filter(|&i| Some(i) != skip)
            .find(|&i| self.targets[i].breaker.allow(now))
    }

    /// Sends `request` (origin-form URI) to a target and waits up to `timeout` for the
    /// response head.
    ///
    /// Retries, only where they are safe:
    /// - a kept-alive connection found closed before the request was written: the same request
    ///   goes on a new connection (nothing reached the upstream, so any method is safe);
    /// - a complete (bodiless or buffered) request whose connection could not be opened, or an
    ///   idempotent complete one whose connection broke: tried once more on another target.
    pub(crate) async fn send(
        &self,
        request: Request<UpstreamBody>,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, Failure> {
        let idempotent = matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        );
        let first = self.pick(None).ok_or(Failure::NoTarget)?;
        let (failure, unsent) = match self.exchange(first, request, timeout).await {
            Ok(response) => return Ok(response),
            Err(failed) => failed,
        };
        let retry = match (&failure, unsent) {
            (Failure::Connect, Some(request)) => Some(request),
            (Failure::Broken, Some(request)) if idempotent => Some(request),
            _ => None,
        };
        match (retry, self.pick(Some(first))) {
            (Some(request), Some(second)) if second != first => self
                .exchange(second, request, timeout)
                .await
                .map_err(|(f, _)| f),
            _ => Err(failure),
        }
    }

    /// One attempt against target `index`, within `timeout`. When a complete request fails, a
    /// copy is handed back so that `send` can decide whether to try it elsewhere.
    async fn exchange(
        &self,
        index: usize,
        mut request: Request<UpstreamBody>,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, (Failure, Option<Request<UpstreamBody>>)> {
        let target = &self.targets[index];
        request
            .headers_mut()
            .insert(header::HOST, target.host.clone());
        // Only a pool with somewhere else to go keeps a copy for a retry.
        let spare = (self.targets.len() > 1 && matches!(request.body(), Either::Right(_)))
            .then(|| clone_complete(&request));
        // A body still arriving from the client when the time is up says nothing of the
        // upstream, which may be waiting for it: one slow client must not open the breaker
        // for every consumer.
        let received = match request.body() {
            Either::Left(streamed) => Some(streamed.received()),
            Either::Right(_) => None,
        };
        let attempt = tokio::time::timeout(timeout, self.on_connection(target, request));
        let result = attempt.await;
        let now = self.clock.now();
        match result {
            Ok(Ok(response)) => {
                target.breaker.success();
                Ok(response)
            }
            Ok(Err(failure)) => {
                if !matches!(failure, Failure::Body(_)) {
                    target.breaker.failure(now);
                }
                Err((failure, spare))
            }
            Err(_elapsed) => {
                if received.is_none_or(|r| r.load(std::sync::atomic::Ordering::Acquire)) {
                    target.breaker.failure(now);
                }
                Err((Failure::Timeout, None))
            }
        }
    }

    /// Sends on a kept-alive connection of `target` if one is ready, else on a new one. A kept-
    /// alive connection that turns out to be closed before the request was written hands the
    /// request back, and it goes on a new connection.
    async fn on_connection(
        &self,
        target: &Target,
        request: Request<UpstreamBody>,
    ) -> Result<Response<PooledBody>, Failure> {
        let mut request = request;
        if let Some(mut sender) = target.idle.take()
            && sender.ready().await.is_ok()
        {
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(pooled(response, sender, target)),
                Err(mut error) => match error.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(classify(&error.into_error())),
                },
            }
        }
        let mut sender = self.connect(target).await?;
        match sender.send_request(request).await {
            Ok(response) => Ok(pooled(response, sender, target)),
            Err(error) => Err(classify(&error)),
        }
    }

    /// Opens a new connection to `target`; its driver runs as a task of its own.
    async fn connect(&self, target: &Target) -> Result<http1::SendRequest<UpstreamBody>, Failure> {
        let address = target.authority.as_str();
        let stream = tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(address))
            .await
            .map_err(|_| Failure::Connect)?
            .map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection closed with an error");
            }
        });
        Ok(sender)
    }
}

fn pooled(
    response: Response<hyper::body::Incoming>,
    sender: http1::SendRequest<UpstreamBody>,
    target: &Target,
) -> Response<PooledBody> {
    response.map(|body| PooledBody::new(body, sender, target.idle.clone()))
}

/// Whose fault an upstream error is.
fn classify(error: &hyper::Error) -> Failure {
    match body_error(error) {
        Some(kind) => Failure::Body(kind),
        None => Failure::Broken,
    }
}

/// A copy of a complete request (head and buffered body, a cheap `Bytes` clone), for a retry.
fn clone_complete(request: &Request<UpstreamBody>) -> Request<UpstreamBody> {
    let body = match request.body() {
        Either::Right(complete) => complete.clone(),
        Either::Left(_) => Full::new(Bytes::new()),
    };
    let mut copy = Request::new(Either::Right(body));
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Finds a [`BodyError`] in the error's source chain.
fn body_error(error: &(dyn std::error::Error + 'static)) -> Option<BodyErrorKind> {
    let mut source = error.source();
    while let Some(e) = source {
        if let Some(body) = e.downcast_ref::<BodyError>() {
            return Some(match body {
                BodyError::TooLarge => BodyErrorKind::TooLarge,
                BodyError::Timeout => BodyErrorKind::Timeout,
                _ => BodyErrorKind::Client,
            });
        }
        source = e.source();
    }
    None
}

/// Pools kept across reloads: an upstream whose settings did not change keeps its warm
/// connections and its breaker state.
#[derive(Debug, Default)]
pub(crate) struct PoolCache {
    pools: std::sync::Mutex<std::collections::HashMap<String, Arc<UpstreamPool>>>,
}

impl PoolCache {
    pub(crate) fn get(&self, config: &Upstream, clock: Clock) -> Arc<UpstreamPool> {
        let mut pools = self
            .pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pool) = pools.get(&config.name)
            && same_settings(&pool.config, config)
        {
            return pool.clone();
        }
        let pool = Arc::new(UpstreamPool::new(config, clock));
        pools.insert(config.name.clone(), pool.clone());
        pool
    }

    /// Forgets pools no longer configured.
    pub(crate) fn retain(&self, names: &[&str]) {
        self.pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|name, _| names.contains(&name.as_str()));
    }
}

fn same_settings(a: &Upstream, b: &Upstream) -> bool {
    a.targets == b.targets
        && a.connect_timeout == b.connect_timeout
        && a.request_timeout == b.request_timeout
        && a.idle_timeout == b.idle_timeout
        && a.max_idle_per_target == b.max_idle_per_target
        && a.breaker_failures == b.breaker_failures
        && a.breaker_cooldown == b.breaker_cooldown
}
