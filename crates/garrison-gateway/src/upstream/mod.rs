//! Upstream pools: keep-alive connections per target, round-robin balancing, passive circuit
//! breaking, timeouts and the one retry that is safe.

mod breaker;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use garrison_config::Upstream;
use garrison_limits::Clock;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Response, Uri};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::{BodyError, GuardedBody};

pub(crate) use breaker::Breaker;

/// The body sent upstream: the caller's guarded stream, or nothing.
pub(crate) type UpstreamBody = Either<GuardedBody, Empty<Bytes>>;

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
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) authority: Authority,
    pub(crate) breaker: Breaker,
}

/// A keep-alive pool over an upstream's targets.
pub(crate) struct UpstreamPool {
    pub(crate) config: Upstream,
    client: Client<HttpConnector, UpstreamBody>,
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
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.idle_timeout)
            .pool_max_idle_per_host(config.max_idle_per_target)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            // A pooled connection that the upstream closed before the request was written is
            // retried on a new connection by the client itself: nothing reached the upstream,
            // so this is safe for every method.
            .retry_canceled_requests(true)
            .build(connector);
        let targets = config
            .targets
            .iter()
            .filter_map(|t| t.parse::<Authority>().ok())
            .map(|authority| Target {
                authority,
                breaker: Breaker::new(config.breaker_failures, config.breaker_cooldown),
            })
            .collect();
        UpstreamPool {
            config: config.clone(),
            client,
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

    /// Sends `request` (whose URI holds only the path and query) to a target and waits up to
    /// `timeout` for the response head.
    ///
    /// A bodiless request that failed before any response is tried once more on another
    /// target when that is safe: the connection could not be opened (nothing was sent), or the
    /// method is idempotent, so sending it twice changes nothing. (A pooled connection found
    /// closed before the request was written is retried by the client itself.)
    pub(crate) async fn send(
        &self,
        request: Request<UpstreamBody>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, Failure> {
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

    /// One attempt against target `index`. When a bodiless request fails, a copy is handed
    /// back so that `send` can decide whether to try it elsewhere.
    async fn exchange(
        &self,
        index: usize,
        mut request: Request<UpstreamBody>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, (Failure, Option<Request<UpstreamBody>>)> {
        let target = &self.targets[index];
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(target.authority.clone());
        parts.path_and_query = Some(path);
        *request.uri_mut() = Uri::from_parts(parts).map_err(|_| (Failure::Broken, None))?;
        // Only a pool with somewhere else to go keeps a copy for a retry.
        let spare = (self.targets.len() > 1 && matches!(request.body(), Either::Right(_)))
            .then(|| clone_head(&request));
        let result = tokio::time::timeout(timeout, self.client.request(request)).await;
        let now = self.clock.now();
        match result {
            Ok(Ok(response)) => {
                target.breaker.success();
                Ok(response)
            }
            Ok(Err(error)) => {
                if let Some(kind) = body_error(&error) {
                    // The caller's fault, not the target's.
                    return Err((Failure::Body(kind), None));
                }
                target.breaker.failure(now);
                let failure = if error.is_connect() {
                    Failure::Connect
                } else {
                    Failure::Broken
                };
                Err((failure, spare))
            }
            Err(_elapsed) => {
                target.breaker.failure(now);
                Err((Failure::Timeout, None))
            }
        }
    }
}

/// A copy of a bodiless request's head, for a retry.
fn clone_head(request: &Request<UpstreamBody>) -> Request<UpstreamBody> {
    let mut copy = Request::new(Either::Right(Empty::new()));
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
