//! The API library's web pages, server-rendered HTML with no script and no build step, on a
//! listener of their own (`garrison up`: http://127.0.0.1:8080), never the gateway's public
//! one: sign in, the catalogue (search and filters), applications and their keys (shown
//! once), subscription requests, API owners' approvals, the try-it console (a sandbox call
//! relayed through the gateway), usage charts, sign out.
//!
//! With `control_plane.self_sign_up`, consumer developers create their own accounts on
//! `/sign-up`, each in a new organisation of their own.
//!
//! Security: the session is the admin API's (a `grn_sess_` token in an `HttpOnly`, `Secure`,
//! `SameSite=Strict` cookie); every state-changing form carries a CSRF token derived from the
//! session (and sign-in, which has no session yet, must come from the portal's own origin);
//! every page is sent with a strict Content-Security-Policy, `no-store` and `nosniff`, and all
//! text is HTML-escaped.

mod console;
mod credentials;
mod docs;
mod form;
mod pages;
mod selfservice;
mod signup;
mod usage;

pub use console::ConsoleSettings;
pub(crate) use pages::escape as escape_text;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use garrison_core::KeyDigest;
use garrison_store::User;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::Portal;
use crate::auth::{self, SESSION_PREFIX};
use crate::identity::{SignInFailure, open_session};

/// The session cookie's name.
/// The session cookie's name. The `__Host-` prefix makes browsers refuse it unless it is
/// `Secure`, has `Path=/` and no `Domain` — so a sibling subdomain cannot plant its own
/// session here (login fixation: the victim working in the attacker's account).
const COOKIE: &str = "__Host-garrison_session";
/// The largest form body read.
const MAX_FORM: usize = 32 * 1024;
/// The portal's own stylesheet, embedded in the binary.
const STYLESHEET: &str = include_str!("portal.css");

type Page = Response<Full<Bytes>>;

/// Serves the web pages on `listener` until the task is dropped.
pub async fn serve(portal: Arc<Portal>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, most likely: back off rather than spin.
                tracing::warn!(error = %e, "accepting a portal connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let portal = portal.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let portal = portal.clone();
                async move { Ok::<_, Infallible>(handle(portal, peer, request).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // A client that never finishes its request head is cut off (slowloris).
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

/// A request, read whole (forms are small), as the pages see it.
struct Visit {
    method: Method,
    path: String,
    query: Option<String>,
    headers: http::HeaderMap,
    body: Bytes,
    peer: SocketAddr,
}

async fn handle(portal: Arc<Portal>, peer: SocketAddr, request: Request<Incoming>) -> Page {
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, MAX_FORM).collect().await else {
        return pages::plain(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let visit = Visit {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: body.to_bytes(),
        peer,
    };
    if visit.method == Method::POST && console_path(&visit.path).is_some() {
        // The console's post reads the store (blocking), then relays through the gateway
        // (async), then draws.
        let prepared = crate::answered(move || console_post(&portal, &visit)).await;
        return secure(match prepared {
            Ok(Ok(relay)) => console::send(relay).await,
            Ok(Err(page)) => *page,
            Err(_) => pages::plain(StatusCode::INTERNAL_SERVER_ERROR, "Something failed."),
        });
    }
    // The store is synchronous and sign-in hashes a password: off the event loop.
    crate::answered(move || route(&portal, &visit))
        .await
        .unwrap_or_else(|_| pages::plain(StatusCode::INTERNAL_SERVER_ERROR, "Something failed."))
}

/// The API slug and version of a console path, `/apis/{slug}/{version}/console`.
fn console_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/apis/")?.strip_suffix("/console")?;
    let (slug, version) = rest.split_once('/')?;
    (!slug.is_empty() && !version.is_empty() && !version.contains('/')).then_some((slug, version))
}

/// A console form post: signed in, from this portal (CSRF), read into a relay.
fn console_post(portal: &Portal, visit: &Visit) -> Result<console::Relay, Box<Page>> {
    let Some((user, token)) = signed_in(portal, visit) else {
        return Err(Box::new(pages::plain(
            StatusCode::FORBIDDEN,
            "Sign in first.",
        )));
    };
    let csrf = csrf_token(&token);
    if !(same_origin(visit) && csrf_matches(visit, &csrf)) {
        return Err(Box::new(pages::plain(
            StatusCode::FORBIDDEN,
            "The form did not come from this portal.",
        )));
    }
    let Some((slug, version)) = console_path(&visit.path) else {
        return Err(Box::new(pages::plain(
            StatusCode::NOT_FOUND,
            "There is no such page.",
        )));
    };
    let console = console::load(portal, user, csrf, slug, version, None)?;
    Ok(console::prepare(portal, console, visit))
}

fn route(portal: &Portal, visit: &Visit) -> Page {
    let page = match (&visit.method, visit.path.as_str()) {
        (&Method::GET, "/assets/portal.css") => {
            let mut page = Response::new(Full::new(Bytes::from_static(STYLESHEET.as_bytes())));
            page.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            );
            return secure(page);
        }
        (&Method::GET, "/sign-in") => {
            pages::sign_in(None, StatusCode::OK, portal.settings.self_sign_up)
        }
        (&Method::POST, "/sign-in") => sign_in(portal, visit),
        // Without self sign-up there is no such page.
        (_, "/sign-up") if !portal.settings.self_sign_up => {
            pages::plain(StatusCode::NOT_FOUND, "There is no such page.")
        }
        (&Method::GET, "/sign-up") => {
            signup::page(&signup::Entered::default(), None, StatusCode::OK)
        }
        (&Method::POST, "/sign-up") => signup::sign_up(portal, visit),
        (&Method::GET, "/") => pages::redirect("/catalogue"),
        (&Method::GET, "/catalogue") => match signed_in(portal, visit) {
            Some((user, token)) => {
                let filters = form::Filters::parse(visit.query.as_deref().unwrap_or(""));
                pages::catalogue(portal, &user, &csrf_token(&token), &filters)
            }
            None => pages::redirect("/sign-in"),
        },
        (&Method::POST, "/sign-out") => sign_out(portal, visit),
        (_, "/sign-in" | "/sign-up" | "/catalogue" | "/sign-out" | "/" | "/assets/portal.css") => {
            pages::plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "This page does not take that method.",
            )
        }
        _ if visit.path.starts_with("/apis/") => return secure(documentation(portal, visit)),
        _ => self_service(portal, visit),
    };
    secure(page)
}

/// `/apis/{slug}`, `/apis/{slug}/{version}/openapi.json`, `/apis/{slug}/{version}/docs/…`.
fn documentation(portal: &Portal, visit: &Visit) -> Page {
    if visit.method != Method::GET {
        return pages::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "This page does not take that method.",
        );
    }
    let Some((user, token)) = signed_in(portal, visit) else {
        return pages::redirect("/sign-in");
    };
    let rest = visit.path.trim_start_matches("/apis/");
    let mut parts = rest.splitn(4, '/');
    let (slug, version, kind) = (parts.next(), parts.next(), parts.next());
    match (slug, version, kind) {
        (Some(slug), None, None) => docs::api_page(portal, &user, &csrf_token(&token), slug),
        (Some(slug), Some("usage"), None) => usage::api(
            portal,
            &user,
            &csrf_token(&token),
            slug,
            usage::window(visit.query.as_deref()),
        ),
        (Some(slug), Some(version), Some("console")) if parts.next().is_none() => {
            let selected = form::decode(visit.query.as_deref().unwrap_or("").as_bytes())
                .into_iter()
                .find(|(k, _)| k == "op")
                .and_then(|(_, v)| v.parse().ok());
            match console::load(portal, user, csrf_token(&token), slug, version, selected) {
                Ok(console) => console::draw(&console, None),
                Err(page) => *page,
            }
        }
        (Some(slug), Some(version), Some("openapi.json")) => docs::openapi(portal, slug, version),
        (Some(slug), Some(version), Some("docs")) => {
            let file = parts.next().map(|f| format!("/{f}")).unwrap_or_default();
            let mut page = docs::swagger(portal, slug, version, &file);
            page.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(docs::DOCS_POLICY),
            );
            page
        }
        _ => pages::plain(StatusCode::NOT_FOUND, "There is no such page."),
    }
}

/// The signed-in pages under `/applications`, `/approvals` and `/subscriptions`.
fn self_service(portal: &Portal, visit: &Visit) -> Page {
    let segments: Vec<&str> = visit.path.trim_matches('/').split('/').collect();
    let known = matches!(
        (&visit.method, segments.as_slice()),
        (
            &Method::GET,
            ["applications"] | ["applications", _] | ["applications", _, "usage"] | ["approvals"]
        ) | (&Method::POST, ["applications"])
            | (
                &Method::POST,
                [
                    "applications",
                    _,
                    "keys" | "certificates" | "subscriptions" | "allow-list"
                ]
            )
            | (
                &Method::POST,
                ["applications", _, "keys", _, "revoke" | "rotate"]
            )
            | (
                &Method::POST,
                ["applications", _, "certificates", _, "revoke"]
            )
            | (&Method::POST, ["subscriptions", _, "decide"])
    );
    if !known {
        return pages::plain(StatusCode::NOT_FOUND, "There is no such page.");
    }
    let Some((user, token)) = signed_in(portal, visit) else {
        return if visit.method == Method::GET {
            pages::redirect("/sign-in")
        } else {
            pages::plain(StatusCode::FORBIDDEN, "Sign in first.")
        };
    };
    let csrf = csrf_token(&token);
    if visit.method == Method::POST && !(same_origin(visit) && csrf_matches(visit, &csrf)) {
        return pages::plain(
            StatusCode::FORBIDDEN,
            "The form did not come from this portal.",
        );
    }
    let session = selfservice::Session {
        portal,
        user: &user,
        csrf: &csrf,
        context: garrison_gateway::AdminContext::new(visit.peer, None),
    };
    match (&visit.method, segments.as_slice()) {
        (&Method::GET, ["applications"]) => selfservice::applications(&session),
        (&Method::POST, ["applications"]) => selfservice::create_application(&session, visit),
        (&Method::GET, ["applications", id]) => selfservice::application(&session, id),
        (&Method::GET, ["applications", id, "usage"]) => {
            usage::application(&session, id, usage::window(visit.query.as_deref()))
        }
        (&Method::POST, ["applications", id, "keys"]) => {
            selfservice::create_key(&session, visit, id)
        }
        (&Method::POST, ["applications", id, "keys", key, "revoke"]) => {
            selfservice::revoke_key(&session, id, key)
        }
        (&Method::POST, ["applications", id, "keys", key, "rotate"]) => {
            credentials::rotate_key(&session, id, key)
        }
        (&Method::POST, ["applications", id, "certificates"]) => {
            credentials::add_certificate(&session, visit, id)
        }
        (&Method::POST, ["applications", id, "certificates", cert, "revoke"]) => {
            credentials::revoke_certificate(&session, id, cert)
        }
        (&Method::POST, ["applications", id, "allow-list"]) => {
            credentials::set_allow_list(&session, visit, id)
        }
        (&Method::POST, ["applications", id, "subscriptions"]) => {
            selfservice::request_subscription(&session, visit, id)
        }
        (&Method::GET, ["approvals"]) => selfservice::approvals(&session),
        (&Method::POST, ["subscriptions", id, "decide"]) => {
            selfservice::decide(&session, visit, id)
        }
        _ => pages::plain(StatusCode::NOT_FOUND, "There is no such page."),
    }
}

/// Whether the form's `csrf` field is the session's token (compared in constant time).
fn csrf_matches(visit: &Visit, expected: &str) -> bool {
    let fields = form::decode(&visit.body);
    let presented = form::field(&fields, "csrf").unwrap_or_default();
    KeyDigest::of(presented.as_bytes()).ct_eq(&KeyDigest::of(expected.as_bytes()))
}

/// The headers every answer carries.
fn secure(mut page: Page) -> Page {
    let headers = page.headers_mut();
    // The documentation pages set a policy of their own (Swagger UI needs script).
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
    // form posts (Fetch, "append a request Origin header"), which the same-origin check needs.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    page
}

/// The session token of the cookie, if any.
fn cookie_token(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.starts_with(SESSION_PREFIX))
}

/// The signed-in user and their session token.
fn signed_in(portal: &Portal, visit: &Visit) -> Option<(User, String)> {
    let token = cookie_token(&visit.headers)?;
    let session = portal
        .store
        .session(&auth::token_digest(&token), garrison_store::now())
        .ok()??;
    let user = portal.store.user(session.user).ok()??;
    Some((user, token))
}

/// The CSRF token of a session: derived from the session token (which the page's script
/// could not read even if there were script: the cookie is `HttpOnly`), so nothing more is
/// stored, and useless for any other session.
fn csrf_token(session: &str) -> String {
    garrison_store::hex(KeyDigest::of(format!("garrison-csrf:{session}").as_bytes()).as_bytes())
}

/// Whether a form post comes from the portal's own pages: the browser's `Origin` (or,
/// failing it, `Sec-Fetch-Site`) must not name another site.
fn same_origin(visit: &Visit) -> bool {
    let host = visit
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = visit
        .headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
    {
        let origin = origin.to_str().unwrap_or("");
        return origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| authority == host);
    }
    match visit
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        Some(site) => site == "same-origin",
        // A client that sends neither is not a browser acting for a third-party page.
        None => true,
    }
}

fn sign_in(portal: &Portal, visit: &Visit) -> Page {
    if !same_origin(visit) {
        return pages::plain(
            StatusCode::FORBIDDEN,
            "The form did not come from this portal.",
        );
    }
    let fields = form::decode(&visit.body);
    let email = form::field(&fields, "email").unwrap_or_default();
    let password = form::field(&fields, "password").unwrap_or_default();
    let outcome = open_session(portal, &email, &password, visit.peer.ip());
    // Sign-ins through the pages are admin events like the API's `signIn`.
    let (actor, result) = match &outcome {
        Ok((_, _, user)) => (format!("user:{}", user.id), "ok"),
        Err(SignInFailure::Throttled(_)) => ("anonymous".to_owned(), "MESSAGE_THROTTLED_OUT"),
        Err(SignInFailure::Invalid) => ("anonymous".to_owned(), "INVALID_CREDENTIALS"),
        Err(SignInFailure::Failed(_)) => ("anonymous".to_owned(), "INTERNAL_SERVER_ERROR"),
    };
    portal.record_event(&actor, "signIn", "portal", result);
    match outcome {
        Ok((token, expires_at, _)) => {
            let mut page = pages::redirect("/catalogue");
            session_cookie(&mut page, &token, expires_at);
            page
        }
        Err(SignInFailure::Throttled(wait)) => pages::sign_in(
            Some(&format!(
                "Too many failed sign-ins. Try again in {} minutes.",
                wait.as_secs().div_ceil(60).max(1)
            )),
            StatusCode::TOO_MANY_REQUESTS,
            portal.settings.self_sign_up,
        ),
        Err(SignInFailure::Invalid) => pages::sign_in(
            Some("The email or password is not right."),
            StatusCode::UNAUTHORIZED,
            portal.settings.self_sign_up,
        ),
        Err(SignInFailure::Failed(refusal)) => pages::plain(
            refusal.code.status(),
            "Signing in failed; try again in a moment.",
        ),
    }
}

/// Sets the session cookie of a new session on `page`.
fn session_cookie(page: &mut Page, token: &str, expires_at: i64) {
    let max_age = (expires_at - garrison_store::now()).max(0);
    let cookie =
        format!("{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        page.headers_mut().insert(header::SET_COOKIE, value);
    }
}

fn sign_out(portal: &Portal, visit: &Visit) -> Page {
    let Some((_, token)) = signed_in(portal, visit) else {
        return pages::redirect("/sign-in");
    };
    if !csrf_matches(visit, &csrf_token(&token)) || !same_origin(visit) {
        return pages::plain(
            StatusCode::FORBIDDEN,
            "The form did not come from this portal.",
        );
    }
    if let Err(e) = portal.store.delete_session(&auth::token_digest(&token)) {
        tracing::error!(error = %e, "signing out failed");
    }
    let mut page = pages::redirect("/sign-in");
    page.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-garrison_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
        ),
    );
    page
}
