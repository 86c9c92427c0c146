//! The request lifecycle, as named phases over one per-request context:
//!
//! 1. **route** — canonical path, host, method, template → a route of the snapshot;
//! 2. **admit** — address allow-lists, API key, certificate binding, subscription, rate limit;
//! 3. **check** — for a route derived from an API, the whole request against its contract
//!    operation (a mocked operation is answered here);
//! 4. **forward** — header hygiene, body guards, the upstream exchange (and, when the API
//!    says so, the response against the contract);
//! 5. **respond** — response headers, then metrics and the access log.
//!
//! Every refusal is a [`GatewayError`] that becomes `application/problem+json` at the edge.

pub(crate) mod headers;
mod policy;
mod recording;

use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use garrison_core::ProblemCode;
use http::{HeaderValue, Request, Response, Uri, Version, header};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body as _, Incoming};

use crate::GatewayBody;
use crate::audit;
use crate::body::{BodyError, GuardedBody};
use crate::contract;
use crate::entitlement;
use crate::error::GatewayError;
use crate::identity::ConnectionIdentity;
use crate::metrics::Metrics;
use crate::router::{self, Match};
use crate::server::GatewayState;
use crate::snapshot::Snapshot;
use crate::upstream::{BodyErrorKind, Failure, UpstreamBody};

use self::headers::{API_KEY, CONSUMER, REQUEST_ID, TRACEPARENT};
pub(crate) use self::policy::Admission;
use self::recording::Unrecorded;

/// What is known about a request as it moves through the phases.
pub(crate) struct Exchange {
    pub(crate) request_id: HeaderValue,
    pub(crate) client_ip: IpAddr,
    pub(crate) route: Option<usize>,
    pub(crate) consumer: Option<usize>,
    pub(crate) admission: Option<Admission>,
    /// The purpose headers, read for an audited route only (empty otherwise).
    pub(crate) purpose: garrison_audit::Purpose,
    /// The fields disclosed after entitlement filtering; `None` when the response was not
    /// filtered (the subscription is entitled to all of it).
    pub(crate) disclosed: Option<Vec<String>>,
    /// The data subjects the upstream named (`Garrison-Subject`), for the audit record only:
    /// hashed before they are written, never logged.
    pub(crate) subjects: Vec<String>,
    /// For a transfer route: what the request did (`create`, `append`, `complete`,
    /// `download`…), recorded as the operation.
    pub(crate) event: Option<&'static str>,
    /// For a transfer route: the file concerned, for the audit record.
    pub(crate) file: Option<garrison_audit::FileFacts>,
    /// A refusal answered with a response built by the handler (to carry protocol headers),
    /// recorded as a refusal all the same.
    pub(crate) refused: Option<(&'static str, crate::error::Side)>,
}

/// Serves one request from start to finish; never fails (errors become problem responses).
pub(crate) async fn serve(
    state: Arc<GatewayState>,
    conn: Arc<ConnectionIdentity>,
    request: Request<Incoming>,
) -> Response<GatewayBody> {
    let started = Instant::now();
    let snapshot = state.snapshot.load_full();
    let exchange = Exchange {
        request_id: headers::request_id(request.headers()),
        client_ip: headers::client_ip(
            conn.peer.ip(),
            request.headers(),
            &snapshot.settings.trusted_proxies,
        ),
        route: None,
        consumer: None,
        admission: None,
        purpose: garrison_audit::Purpose::new(),
        disclosed: None,
        subjects: Vec::new(),
        event: None,
        file: None,
        refused: None,
    };
    let mut exchange = Unrecorded::new(exchange, &state, &snapshot, &conn);
    let method = request.method().clone();
    let refusal;
    let mut response = match proxy(&snapshot, &conn, request, &mut exchange).await {
        Ok(response) => {
            refusal = exchange.refused.take();
            response
        }
        Err(error) => {
            refusal = Some((error.code.as_str(), error.side));
            let mut response = error.into_response(&exchange.request_id);
            if let Some(admission) = &exchange.admission {
                admission.write_headers(response.headers_mut());
            }
            response
        }
    };
    if let Some(lifecycle) = exchange
        .route
        .and_then(|i| snapshot.lifecycle(snapshot.routes[i].group))
    {
        lifecycle.write_headers(response.headers_mut());
    }
    let audited = exchange.route.filter(|&i| snapshot.routes[i].audited);
    if let (Some(log), Some(index)) = (&state.shared.audit, audited) {
        let status = response.status().as_u16();
        let record = recording::record_of(
            &mut exchange,
            &state,
            &snapshot,
            &conn,
            index,
            refusal,
            status,
            audit::build,
        );
        // Once queued, the record is the writer's to store even if this future is dropped.
        let queued = log.submit(record).await;
        exchange.queued();
        let stored = match queued {
            Ok(pending) => pending.durable().await.map(|_| ()),
            Err(e) => Err(e),
        };
        // Fail closed: a response whose record is not durable is not released.
        if let Err(e) = stored {
            tracing::error!(error = %e, "audit record not stored; response withheld");
            response = GatewayError::upstream(
                ProblemCode::ServiceUnavailable,
                "The request could not be recorded in the audit trail, so no data is released.",
            )
            .into_response(&exchange.request_id);
        }
    }
    record(
        &state.shared.metrics,
        &snapshot,
        &exchange,
        &method,
        response.status().as_u16(),
        started,
    );
    response
}

async fn proxy(
    snapshot: &Snapshot,
    conn: &ConnectionIdentity,
    request: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    // --- route ---------------------------------------------------------------------------
    // The global allow-list comes first: a caller from elsewhere learns nothing, not even
    // which paths exist.
    policy::check_global_allow(snapshot, exchange)?;
    let path = request.uri().path();
    let mut transfer_params = crate::transfer::TransferParams::default();
    if !router::is_canonical(path) {
        return Err(GatewayError::downstream(
            ProblemCode::BadRequest,
            "The request path is not in canonical form (dot segments, empty segments or encoded separators).",
        ));
    }
    let host = host_of(&request);
    let mut path_params: Vec<(&str, Range<usize>)> = Vec::new();
    let index = match snapshot.router.find(&host, request.method(), path) {
        Match::Route(index, params) => {
            // Path parameters are kept as byte ranges of the path, only for routes that check
            // requests against a contract: the router's slices borrow the request, which the
            // forward phase consumes.
            let wanted = snapshot.routes[index]
                .contract
                .as_ref()
                .is_some_and(|c| c.buffers_requests());
            if wanted {
                path_params = params
                    .iter()
                    .map(|(name, value)| (name, range_within(path, value)))
                    .collect();
            }
            if snapshot.routes[index].transfer.is_some() {
                transfer_params.id = params.get("id").map(str::to_owned);
                transfer_params.inbox = params.get("inbox").map(str::to_owned);
            }
            index
        }
        Match::MethodNotAllowed(allowed) => {
            // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
            let mut response = GatewayError::downstream(
                ProblemCode::MethodNotAllowed,
                "The resource does not support this method.",
            )
            .into_response(&exchange.request_id);
            let list = allowed
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = HeaderValue::from_str(&list) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return Ok(response);
        }
        Match::NotFound => {
            return Err(GatewayError::downstream(
                ProblemCode::MatchingResourceNotFound,
                "No API resource matches the request.",
            ));
        }
    };
    exchange.route = Some(index);
    let route = &snapshot.routes[index];
    // Read while the request is whole, and only where it will be recorded: before any check
    // that may refuse, since a refusal is recorded with the purpose stated.
    if route.audited {
        exchange.purpose = audit::purpose(request.headers()).map_err(repeated_purpose)?;
    }
    if let Some(retired) = snapshot
        .lifecycle(route.group)
        .and_then(|l| l.retired.as_ref())
    {
        return Err(GatewayError::downstream(
            ProblemCode::VersionRetired,
            "This version is retired.",
        )
        .with_detail(retired.clone()));
    }

    // --- admit ---------------------------------------------------------------------------
    let subscription =
        policy::authenticate(snapshot, conn, route, index, request.headers(), exchange)?;
    // An oversized body is refused before it can spend any of the plan's allowance. (A
    // transfer route checks its bodies against the upload itself, and answers in tus terms.)
    if let Some(length) = request.body().size_hint().exact()
        && length > route.max_body
        && route.transfer.is_none()
    {
        return Err(GatewayError::downstream(
            ProblemCode::PayloadTooLarge,
            "The request body is larger than this resource accepts.",
        ));
    }
    if let Some(subscription) = subscription {
        policy::throttle(snapshot, subscription, exchange)?;
    }

    // --- transfer: a file transfer route is served here, by the gateway itself ------------
    if let (Some((transfer, operation)), Some(consumer)) = (route.transfer, exchange.consumer) {
        let call = crate::transfer::Call {
            snapshot,
            transfer: &snapshot.transfers[transfer],
            subscription,
            consumer,
            params: transfer_params,
            body_idle_timeout: snapshot.settings.limits.body_timeout,
        };
        return crate::transfer::serve(call, operation, request, exchange).await;
    }

    // --- forward -------------------------------------------------------------------------
    let (mut parts, body) = request.into_parts();
    let body_timeout = snapshot.settings.limits.body_timeout;
    let body: UpstreamBody = match route
        .contract
        .as_ref()
        .filter(|c| c.buffers_requests() || route.check.is_some())
    {
        Some(contract) => {
            let whole = GuardedBody::new(body, route.max_body, body_timeout)
                .collect()
                .await
                .map_err(body_error)?
                .to_bytes();
            contract.check_request(
                parts.uri.path(),
                &path_params,
                parts.uri.query(),
                &parts.headers,
                &whole,
                &route.stats,
            )?;
            // A mocked API answers from its contract first: a sandbox route must never reach a
            // service, as a check's steps would.
            if let Some(mock) = contract.mock() {
                let mut response =
                    contract::mock_response(mock, &parts.headers, fastrand::u64(..))?;
                let headers = response.headers_mut();
                headers.insert(REQUEST_ID.clone(), exchange.request_id.clone());
                if let Some(admission) = &exchange.admission {
                    admission.write_headers(headers);
                }
                return Ok(response);
            }
            if let Some(check) = &route.check {
                let consumer = exchange.consumer.map(|c| &snapshot.consumers[c].header);
                // Collected into the exchange even when the check fails, so that its record
                // names whoever's records were read before it did.
                let mut unaudited = Vec::new();
                let subjects = if route.audited {
                    &mut exchange.subjects
                } else {
                    &mut unaudited
                };
                let mut response = check
                    .answer(
                        snapshot,
                        &parts.headers,
                        consumer,
                        &exchange.request_id,
                        &whole,
                        subjects,
                    )
                    .await?;
                let headers = response.headers_mut();
                headers.insert(REQUEST_ID.clone(), exchange.request_id.clone());
                if let Some(admission) = &exchange.admission {
                    admission.write_headers(headers);
                }
                return Ok(response);
            }
            Either::Right(Full::new(whole))
        }
        None if body.is_end_stream() => Either::Right(Full::new(Bytes::new())),
        None => Either::Left(GuardedBody::new(body, route.max_body, body_timeout)),
    };
    let trusted_peer = headers::contains(&snapshot.settings.trusted_proxies, conn.peer.ip());
    let headers = &mut parts.headers;
    let original_host = headers.remove(header::HOST).or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    headers::strip_hop_by_hop(headers);
    headers.remove(header::EXPECT);
    if subscription.is_some_and(|s| s.fields.is_some()) {
        // The answer is to be reduced to the entitled fields: it must come whole and plain
        // (a compressed or partial answer cannot be filtered, and would be withheld).
        headers.remove(header::ACCEPT_ENCODING);
        headers.remove(header::RANGE);
        headers.remove(header::IF_RANGE);
    }
    if !trusted_peer {
        headers::strip_identity(headers);
    } else {
        headers.remove(&CONSUMER);
    }
    headers::set_forwarded(headers, conn, trusted_peer, original_host.as_ref());
    headers.remove(&API_KEY);
    if let Some(consumer) = exchange.consumer {
        headers.insert(
            CONSUMER.clone(),
            snapshot.consumers[consumer].header.clone(),
        );
    }
    headers.insert(REQUEST_ID.clone(), exchange.request_id.clone());
    let traceparent = headers::traceparent(headers);
    headers.insert(TRACEPARENT.clone(), traceparent);
    parts.version = Version::HTTP_11;
    // h2 requests (and absolute-form HTTP/1.1 ones) carry scheme and authority in the URI;
    // the upstream gets origin-form, the only form every server accepts.
    if parts.uri.authority().is_some() {
        parts.uri = parts
            .uri
            .path_and_query()
            .cloned()
            .map(Uri::from)
            .unwrap_or_else(|| Uri::from_static("/"));
    }

    let upstream_request = Request::from_parts(parts, body);
    let Some(pool) = &route.pool else {
        return Err(GatewayError::upstream(
            ProblemCode::ServiceUnavailable,
            "The service is temporarily unavailable.",
        ));
    };
    let response = pool
        .send(upstream_request, route.timeout)
        .await
        .map_err(failure_to_error)?;
    let response = match route.contract.as_ref().filter(|c| c.checks_responses()) {
        Some(contract) => {
            contract
                .check_response(&route.name, &exchange.request_id, response, &route.stats)
                .await?
        }
        None => response.map(Either::Left),
    };
    // Data minimisation: only the fields the subscription entitles the consumer to.
    let response = match subscription.and_then(|s| s.fields.as_ref()) {
        Some(filter) => {
            let (response, disclosed) = entitlement::minimise(filter, response).await?;
            exchange.disclosed = Some(disclosed);
            response
        }
        None => response,
    };

    // --- respond -------------------------------------------------------------------------
    let (mut parts, body) = response.into_parts();
    headers::strip_hop_by_hop(&mut parts.headers);
    // The upstream names the data subjects for the audit trail; the consumer never sees them.
    audit::take_subjects(
        &mut parts.headers,
        route.audited.then_some(&mut exchange.subjects),
    );
    parts
        .headers
        .insert(REQUEST_ID.clone(), exchange.request_id.clone());
    if let Some(admission) = &exchange.admission {
        admission.write_headers(&mut parts.headers);
    }
    Ok(Response::from_parts(parts, body))
}

/// The byte range `part` (a slice of `whole`) occupies in `whole`.
fn range_within(whole: &str, part: &str) -> Range<usize> {
    // Both point into the same string, so the difference of the addresses is the offset.
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

fn body_error(error: BodyError) -> GatewayError {
    failure_to_error(Failure::Body(match error {
        BodyError::TooLarge => BodyErrorKind::TooLarge,
        BodyError::Timeout => BodyErrorKind::Timeout,
        BodyError::Client(_) => BodyErrorKind::Client,
    }))
}

/// The host a request is for: the URI authority (h2, absolute-form) or the `Host` header,
/// without port, lower-cased.
fn host_of(request: &Request<Incoming>) -> std::borrow::Cow<'_, str> {
    let raw = request
        .uri()
        .host()
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(strip_port)
        })
        .unwrap_or("");
    if raw.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(raw.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map(|(h, _)| &h[1..]).unwrap_or(host);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

fn failure_to_error(failure: Failure) -> GatewayError {
    match failure {
        Failure::NoTarget => GatewayError::upstream(
            ProblemCode::ServiceUnavailable,
            "The service is temporarily unavailable.",
        ),
        Failure::Connect | Failure::Broken => GatewayError::upstream(
            ProblemCode::BadGateway,
            "The upstream service failed to answer.",
        ),
        Failure::Timeout => GatewayError::upstream(
            ProblemCode::GatewayTimeout,
            "The upstream service did not answer in time.",
        ),
        Failure::Body(BodyErrorKind::TooLarge) => GatewayError::downstream(
            ProblemCode::PayloadTooLarge,
            "The request body is larger than this resource accepts.",
        ),
        Failure::Body(BodyErrorKind::Timeout) => GatewayError::downstream(
            ProblemCode::RequestTimeout,
            "The request body was not received in time.",
        ),
        Failure::Body(BodyErrorKind::Client) => GatewayError::downstream(
            ProblemCode::BadRequest,
            "The request body could not be read.",
        ),
    }
}

/// Metrics and the access log. Logs carry ids and names only: never a key, a path, a query
/// string or a body, any of which may hold personal data.
fn record(
    metrics: &Metrics,
    snapshot: &Snapshot,
    exchange: &Exchange,
    method: &http::Method,
    status: u16,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let route = exchange.route.map(|i| &snapshot.routes[i]);
    match (route, exchange.consumer) {
        (Some(route), Some(consumer)) => {
            route.stats.latency.observe(elapsed);
            route
                .consumer_stats(consumer, &snapshot.consumers[consumer].name)
                .record(status);
        }
        (Some(route), None) => {
            route.stats.latency.observe(elapsed);
            route.stats.anonymous.record(status);
        }
        (None, _) => metrics.unrouted.record(status),
    }
    if snapshot.settings.access_log {
        tracing::info!(
            target: "garrison::access",
            request_id = exchange.request_id.to_str().unwrap_or_default(),
            route = route.map(|r| &*r.name).unwrap_or(""),
            consumer = exchange.consumer.map(|c| &*snapshot.consumers[c].name).unwrap_or(""),
            method = method.as_str(),
            status,
            duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            client_ip = %exchange.client_ip,
        );
    }
}

/// The refusal of a request stating one purpose header twice: which one the upstream acts on
/// is its own affair, and the record (or the entitlement check) would vouch for the other.
pub(crate) fn repeated_purpose(name: &'static str) -> GatewayError {
    GatewayError::downstream(
        ProblemCode::RequestInvalid,
        "A purpose header is stated more than once.",
    )
    .with_errors(vec![garrison_core::ProblemItem {
        location: format!("header.{name}"),
        rule: "single".to_owned(),
        message: format!("{name} must be stated once"),
    }])
}
