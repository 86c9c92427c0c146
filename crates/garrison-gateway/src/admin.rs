//! The admin listener: Prometheus metrics, liveness and readiness, and configuration reload.
//! It is a separate socket from the public listeners so it can stay on loopback or a
//! management network; `POST` endpoints require the admin bearer token when one is configured.

use std::sync::Arc;

use bytes::Bytes;
use garrison_core::problem::PROBLEM_JSON;
use garrison_core::{KeyDigest, Problem, ProblemCode};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::GatewayState;

type AdminResponse = Response<Full<Bytes>>;

/// The largest request body the admin listener reads for an extension.
const MAX_EXTENSION_BODY: usize = 256 * 1024;

/// What an [`AdminExtension`] learns about a request besides the request itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdminContext {
    /// The peer's address.
    pub peer: std::net::SocketAddr,
    /// The SHA-256 of the admin bearer token in force (`admin.token_digest`), if any: its
    /// holder is a platform administrator.
    pub admin_token: Option<KeyDigest>,
}

impl AdminContext {
    /// A context for `peer` under the admin token digest `admin_token`.
    pub fn new(peer: std::net::SocketAddr, admin_token: Option<KeyDigest>) -> Self {
        AdminContext { peer, admin_token }
    }
}

/// The future an [`AdminExtension`] answers with.
pub type AdminFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Response<Full<Bytes>>> + Send>>;

/// Endpoints served on the admin listener by another crate (the admin REST API). The
/// listener reads the whole body (at most 256 KiB) before handing the request over.
pub trait AdminExtension: Send + Sync {
    /// Whether the extension serves `path` (checked before the listener's own endpoints
    /// are considered unknown).
    fn serves(&self, path: &str) -> bool;
    /// Answers one request.
    fn handle(&self, request: Request<Bytes>, context: AdminContext) -> AdminFuture;
}

/// Most connections the admin listener holds open from one address, and in all: it reads
/// bodies before it checks the token, so unauthenticated clients must not hold it all.
const ADMIN_CONNECTIONS_PER_IP: u32 = 16;
const ADMIN_CONNECTIONS: usize = 64;

pub(crate) async fn serve(
    state: Arc<GatewayState>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let per_address = crate::conn_limit::ConnectionLimiter::new();
    let in_all = Arc::new(tokio::sync::Semaphore::new(ADMIN_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, most likely: back off rather than spin.
                    tracing::warn!(error = %e, "accepting an admin connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        // The host's own probes and operators (loopback) are not counted in the total, so
        // other addresses cannot shut them out; every address has its own bound.
        let ip = crate::conn_limit::client_key(peer.ip());
        let local = crate::proxy::headers::canonical(peer.ip()).is_loopback();
        // The admin listener's total is the semaphore below (loopback excluded).
        let place = per_address.try_acquire(ip, ADMIN_CONNECTIONS_PER_IP, u32::MAX);
        let slot = if local {
            None
        } else {
            in_all.clone().try_acquire_owned().ok()
        };
        let (Some(place), true) = (place, local || slot.is_some()) else {
            // Over a limit: closed at once, nothing read.
            drop(stream);
            continue;
        };
        let held = (place, slot);
        let state = state.clone();
        tokio::spawn(async move {
            let _held = held;
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(state, peer, request).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10));
            let _ = builder
                .http1_only()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<GatewayState>,
    peer: std::net::SocketAddr,
    request: Request<Incoming>,
) -> AdminResponse {
    if let Some(extension) = state.admin_extension.clone()
        && extension.serves(request.uri().path())
    {
        return extend(&state, extension, peer, request).await;
    }
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/healthz") => json(StatusCode::OK, r#"{"status":"ok"}"#.into()),
        (&Method::GET, "/readyz") => {
            if state.is_ready() {
                let generation = state.snapshot.load().generation;
                json(
                    StatusCode::OK,
                    format!(r#"{{"status":"ready","generation":{generation}}}"#),
                )
            } else {
                json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"status":"starting"}"#.into(),
                )
            }
        }
        (&Method::GET, "/metrics") => {
            let mut response = Response::new(Full::new(Bytes::from(
                state.shared.metrics.render(state.shared.audit.as_deref()),
            )));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        (&Method::POST, "/admin/reload") => {
            if let Err((code, refused)) = authorise(&state, &request) {
                record_change(&state, peer, "reloadConfiguration", Some(code), None).await;
                return *refused;
            }
            // Compiled on a blocking thread: a single-threaded gateway keeps serving meanwhile.
            let result = state.clone().reload_off_thread().await;
            let refusal = result.as_ref().err().map(|_| "CONFIG_INVALID");
            let generation = result.as_ref().ok().copied();
            record_change(&state, peer, "reloadConfiguration", refusal, generation).await;
            match result {
                Ok(generation) => json(
                    StatusCode::OK,
                    format!(r#"{{"status":"reloaded","generation":{generation}}}"#),
                ),
                Err(e) => {
                    let problems = serde_json::json!({
                        "type": ProblemCode::BadRequest.type_uri(),
                        "title": "The configuration was refused; the running configuration stays in force",
                        "status": 400,
                        "code": "CONFIG_INVALID",
                        "detail": e.lines().join("\n"),
                        "problems": e.lines(),
                    });
                    problem_response(StatusCode::BAD_REQUEST, problems.to_string())
                }
            }
        }
        (&Method::GET, "/admin/audit") => {
            // Who looked at whose data is itself personal data: never open to whoever can reach
            // the admin address, as a reload is when no token is configured.
            if state.snapshot.load().admin_token.is_none() {
                record_change(
                    &state,
                    peer,
                    "searchAudit",
                    Some("RESOURCE_FORBIDDEN"),
                    None,
                )
                .await;
                return problem(
                    ProblemCode::ResourceForbidden,
                    "Audit searches need an admin token (admin.token_digest) to be configured.",
                );
            }
            if let Err((code, refused)) = authorise(&state, &request) {
                record_change(&state, peer, "searchAudit", Some(code), None).await;
                return *refused;
            }
            let Some(settings) = state.snapshot.load().config.audit.clone() else {
                return problem(
                    ProblemCode::MatchingResourceNotFound,
                    "This gateway keeps no audit trail.",
                );
            };
            let query = match crate::admin_audit::parse(request.uri().query()) {
                Ok(query) => query,
                Err(why) => {
                    return problem_response(
                        StatusCode::BAD_REQUEST,
                        String::from_utf8_lossy(
                            &Problem::new(ProblemCode::BadRequest, why).to_json(),
                        )
                        .into_owned(),
                    );
                }
            };
            // The search reads segment files: off the event loop.
            let answer =
                tokio::task::spawn_blocking(move || crate::admin_audit::run(settings.dir, query))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
            let recorded = record_change(
                &state,
                peer,
                "searchAudit",
                answer.as_ref().err().map(|_| "INTERNAL_SERVER_ERROR"),
                None,
            )
            .await;
            match answer {
                Ok(body) if recorded => json(StatusCode::OK, body),
                Ok(_) => withheld(),
                Err(e) => {
                    tracing::error!(error = %e, "audit search failed");
                    problem(
                        ProblemCode::InternalError,
                        "The audit trail could not be searched.",
                    )
                }
            }
        }
        (&Method::POST, "/admin/audit/subject-access") => {
            subject_access(&state, peer, request).await
        }
        (
            _,
            path @ ("/healthz"
            | "/readyz"
            | "/metrics"
            | "/admin/reload"
            | "/admin/audit"
            | "/admin/audit/subject-access"),
        ) => {
            let mut response = problem(
                ProblemCode::MethodNotAllowed,
                "The endpoint does not support this method.",
            );
            let allow = if path == "/admin/reload" || path == "/admin/audit/subject-access" {
                "POST"
            } else {
                "GET"
            };
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        }
        _ => problem(
            ProblemCode::MatchingResourceNotFound,
            "No admin endpoint matches the request.",
        ),
    }
}

/// Reads a request body of at most `limit` bytes, within the gateway's body timeout
/// (`gateway.limits.body_timeout`, as on the data path): a body read before the token is
/// checked must not let a slow client hold the connection and its buffer for ever.
async fn read_body(
    state: &GatewayState,
    body: Incoming,
    limit: usize,
) -> Result<bytes::Bytes, AdminResponse> {
    use http_body_util::{BodyExt, Limited};
    let timeout = state.snapshot.load().settings.limits.body_timeout;
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(problem(
            ProblemCode::PayloadTooLarge,
            "The request body is too large or was not received whole.",
        )),
        Err(_) => Err(problem(
            ProblemCode::RequestTimeout,
            "The request body was not received in time.",
        )),
    }
}

/// Hands a request to the extension with its body read (bounded).
async fn extend(
    state: &GatewayState,
    extension: std::sync::Arc<dyn AdminExtension>,
    peer: std::net::SocketAddr,
    request: Request<Incoming>,
) -> AdminResponse {
    let (parts, body) = request.into_parts();
    let body = match read_body(state, body, MAX_EXTENSION_BODY).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let context = AdminContext {
        peer,
        admin_token: state.snapshot.load().admin_token,
    };
    extension
        .handle(Request::from_parts(parts, body), context)
        .await
}

/// Records an administrative change — or a refused attempt at one — in the audit trail, when
/// the gateway keeps one: who (the admin token's holder, from which address), what, and the
/// outcome. A record that cannot be stored is logged (a change has happened all the same);
/// returns whether it was stored, or there is no trail to store it in — an answer that
/// discloses records must not leave without its own.
async fn record_change(
    state: &GatewayState,
    peer: std::net::SocketAddr,
    operation: &str,
    refusal: Option<&str>,
    generation: Option<u64>,
) -> bool {
    record_admin_access(state, peer, operation, refusal, generation, None).await
}

/// [`record_change`] about a data subject (a subject-access lookup), given as its keyed hash.
async fn record_admin_access(
    state: &GatewayState,
    peer: std::net::SocketAddr,
    operation: &str,
    refusal: Option<&str>,
    generation: Option<u64>,
    subject: Option<garrison_audit::SubjectHash>,
) -> bool {
    let Some(log) = &state.shared.audit else {
        return true;
    };
    let decision = match refusal {
        None => garrison_audit::Decision::Allowed,
        Some(code) => garrison_audit::Decision::Refused {
            reason: code.to_owned(),
        },
    };
    let id = format!(
        "admin-{}",
        generation.map_or_else(|| "refused".to_owned(), |g| format!("generation-{g}"))
    );
    let mut record = garrison_audit::AuditRecord::new(id, "garrison-admin", operation, decision);
    record.consumer = Some("admin".to_owned());
    record.source_addr = Some(peer.ip());
    record.subject = subject;
    match log.append(record).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, "the audit record of an administrative access was not stored");
            false
        }
    }
}

/// The answer to a search whose own record could not be stored: as on the data path, nothing
/// is disclosed unrecorded.
fn withheld() -> AdminResponse {
    problem(
        ProblemCode::ServiceUnavailable,
        "The access could not be recorded in the audit trail, so no data is released.",
    )
}

/// Checks the bearer token of a state-changing admin request; a refusal says why (the problem
/// code) for the audit trail.
fn authorise(
    state: &GatewayState,
    request: &Request<Incoming>,
) -> Result<(), (&'static str, Box<AdminResponse>)> {
    let Some(expected) = state.snapshot.load().admin_token else {
        return Ok(());
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        None => Err((
            ProblemCode::MissingCredentials.as_str(),
            Box::new(problem(
                ProblemCode::MissingCredentials,
                "A bearer token is required.",
            )),
        )),
        Some(token) if KeyDigest::of(token.as_bytes()).ct_eq(&expected) => Ok(()),
        Some(_) => Err((
            ProblemCode::InvalidCredentials.as_str(),
            Box::new(problem(
                ProblemCode::InvalidCredentials,
                "The bearer token is not valid.",
            )),
        )),
    }
}

fn json(status: StatusCode, body: String) -> AdminResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn problem(code: ProblemCode, detail: &'static str) -> AdminResponse {
    problem_response(
        code.status(),
        String::from_utf8_lossy(&Problem::new(code, detail).to_json()).into_owned(),
    )
}

fn problem_response(status: StatusCode, body: String) -> AdminResponse {
    let mut response = json(status, body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// `POST /admin/audit/subject-access`: every recorded access to one person's data. Personal data
/// about who looked at whom, so a token is required even where other admin endpoints are open.
async fn subject_access(
    state: &GatewayState,
    peer: std::net::SocketAddr,
    request: Request<Incoming>,
) -> AdminResponse {
    const OPERATION: &str = "subjectAccessReport";
    if state.snapshot.load().admin_token.is_none() {
        record_change(state, peer, OPERATION, Some("RESOURCE_FORBIDDEN"), None).await;
        return problem(
            ProblemCode::ResourceForbidden,
            "Subject-access reports need an admin token (admin.token_digest) to be configured.",
        );
    }
    if let Err((code, refused)) = authorise(state, &request) {
        record_change(state, peer, OPERATION, Some(code), None).await;
        return *refused;
    }
    let config = state.snapshot.load().config.clone();
    let (Some(settings), Some(keys_file)) = (
        config.audit.clone(),
        config.audit.as_ref().and_then(|a| a.subject_keys.clone()),
    ) else {
        return problem(
            ProblemCode::MatchingResourceNotFound,
            "This gateway records no data subjects (no audit.subject_keys).",
        );
    };
    let body = match read_body(
        state,
        request.into_body(),
        crate::admin_audit::MAX_SUBJECT_BODY,
    )
    .await
    {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let identifier = match crate::admin_audit::parse_subject(&body) {
        Ok(identifier) => identifier,
        Err(why) => {
            record_change(state, peer, OPERATION, Some("BAD_REQUEST"), None).await;
            return problem_response(
                StatusCode::BAD_REQUEST,
                String::from_utf8_lossy(&Problem::new(ProblemCode::BadRequest, why).to_json())
                    .into_owned(),
            );
        }
    };
    let answer = tokio::task::spawn_blocking(move || {
        crate::admin_audit::subject_access(settings.dir, keys_file, identifier)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match answer {
        Ok((body, subject)) => {
            if record_admin_access(state, peer, OPERATION, None, None, Some(subject)).await {
                json(StatusCode::OK, body)
            } else {
                withheld()
            }
        }
        Err(e) => {
            record_change(state, peer, OPERATION, Some("INTERNAL_SERVER_ERROR"), None).await;
            tracing::error!(error = %e, "subject-access report failed");
            problem(
                ProblemCode::InternalError,
                "The audit trail could not be searched.",
            )
        }
    }
}
