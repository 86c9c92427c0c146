//! The try-it console: a form on an API version's page that calls the version's **sandbox**
//! (its `mock: true` route group) with the user's sandbox key, relayed by the portal
//! **through the gateway** over mutual TLS, so the gateway's key check, contract validation,
//! rate limit and audit apply as to any other call; the answer (status, headers, body) is
//! shown escaped.
//!
//! Security: the key is typed into a password field for one call and never stored, logged or
//! echoed back. Only a sandbox key (`grn_test_`) of an application of the user's own
//! organisation is relayed, only to the base path of a sandbox route group, and the gateway
//! itself refuses a sandbox key on any other route. Only the header parameters the contract
//! declares are sent. The body is bounded ([`MAX_BODY`]), the answer read up to
//! [`MAX_ANSWER`], and the whole call bounded by the settings' timeout.
//!
//! `operations` reads the contract into the form's fields, `page` draws it, `relay` holds how
//! the gateway is reached and makes the call.

mod operations;
mod page;
mod relay;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use garrison_store::User;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::Full;

use super::pages::plain;
use super::{Page, Visit, form};
use crate::Portal;
use operations::{Operation, encode, operations};
pub(super) use page::draw;
pub use relay::ConsoleSettings;
use relay::exchange;

/// The largest request body the console relays.
pub(super) const MAX_BODY: usize = 16 * 1024;
/// The most of an answer's body the console reads and shows.
pub(super) const MAX_ANSWER: usize = 64 * 1024;
/// The prefix of sandbox keys: the only ones the console relays.
const SANDBOX_PREFIX: &str = "grn_test_";

/// The console of one API version, ready to draw or to send.
pub(super) struct Console {
    user: User,
    csrf: String,
    api_slug: String,
    api_title: String,
    version: String,
    base: String,
    operations: Vec<Operation>,
    selected: usize,
    /// The values typed (never the key).
    values: HashMap<String, String>,
    body: Option<String>,
}

/// What the gateway answered, or why there is no answer.
pub(super) enum Outcome {
    /// The gateway's answer.
    Answer {
        status: StatusCode,
        headers: Vec<(String, String)>,
        body: String,
        truncated: bool,
    },
    /// The console refused to send (the reason, and the page's status).
    Refused(StatusCode, String),
    /// The gateway could not be reached or did not answer in time.
    Failed(StatusCode, String),
}

/// `/apis/{slug}/{version}/console`, read from the store and the contract.
pub(super) fn load(
    portal: &Portal,
    user: User,
    csrf: String,
    slug: &str,
    version: &str,
    selected: Option<usize>,
) -> Result<Console, Box<Page>> {
    let not_found = || {
        Box::new(plain(
            StatusCode::NOT_FOUND,
            "There is no such API version.",
        ))
    };
    let api = portal
        .store
        .apis()
        .ok()
        .and_then(|apis| apis.into_iter().find(|a| a.slug == slug))
        .ok_or_else(not_found)?;
    let found = portal
        .store
        .api_versions(api.id)
        .ok()
        .and_then(|vs| vs.into_iter().find(|v| v.version == version))
        .ok_or_else(not_found)?;
    let (Some(base), Some(contract)) = (
        portal.sandbox_base(&found.group),
        portal.contract(&found.group),
    ) else {
        return Err(Box::new(plain(
            StatusCode::NOT_FOUND,
            "This version has no sandbox to try.",
        )));
    };
    let operations = operations(&contract);
    let selected = selected
        .unwrap_or(0)
        .min(operations.len().saturating_sub(1));
    let mut values = HashMap::new();
    if let Some(op) = operations.get(selected) {
        for p in &op.parameters {
            values.insert(format!("{}.{}", p.place, p.name), p.example.clone());
        }
    }
    let body = operations
        .get(selected)
        .and_then(|o| o.body_example.clone());
    Ok(Console {
        user,
        csrf,
        api_slug: api.slug,
        api_title: api.title,
        version: found.version,
        base,
        operations,
        selected,
        values,
        body,
    })
}

/// A relay ready to send: the request (with the key) and the console to draw after.
pub(super) struct Relay {
    console: Console,
    request: Option<Request<Full<Bytes>>>,
    refusal: Option<(StatusCode, String)>,
    settings: Option<Arc<ConsoleSettings>>,
}

/// Reads a console form post into a request for the gateway, or a refusal to show.
pub(super) fn prepare(portal: &Portal, mut console: Console, visit: &Visit) -> Relay {
    let fields = form::decode(&visit.body);
    let key = form::field(&fields, "key").unwrap_or_default();
    let selected = form::field(&fields, "operation")
        .and_then(|o| o.parse::<usize>().ok())
        .filter(|o| *o < console.operations.len());
    let settings = portal.console_settings();
    let refuse = |console: Console, status, why: &str| Relay {
        console,
        request: None,
        refusal: Some((status, why.to_owned())),
        settings: None,
    };
    let Some(selected) = selected else {
        return refuse(console, StatusCode::BAD_REQUEST, "Choose an operation.");
    };
    console.selected = selected;
    let op = console.operations[selected].clone();
    console.values.clear();
    for p in &op.parameters {
        let value = form::field(&fields, &format!("{}.{}", p.place, p.name)).unwrap_or_default();
        console
            .values
            .insert(format!("{}.{}", p.place, p.name), value);
    }
    let prefer = form::field(&fields, "prefer").unwrap_or_default();
    console.values.insert("prefer".to_owned(), prefer.clone());
    console.body = op
        .body_example
        .as_ref()
        .map(|_| form::field(&fields, "body").unwrap_or_default());
    // Only an answer the contract documents may be asked for.
    if !prefer.is_empty() && !op.statuses.contains(&prefer) {
        return refuse(
            console,
            StatusCode::BAD_REQUEST,
            "Choose one of the answers the contract documents.",
        );
    }
    let body = console.body.clone().unwrap_or_default();
    if body.len() > MAX_BODY {
        return refuse(
            console,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "The body is larger than the console sends ({} KiB).",
                MAX_BODY / 1024
            ),
        );
    }
    let key = key.trim();
    if !key.starts_with(SANDBOX_PREFIX) {
        return refuse(
            console,
            StatusCode::FORBIDDEN,
            "The console calls the sandbox with a sandbox key (grn_test_…) only: a production \
             key is never sent from here.",
        );
    }
    if !own_sandbox_key(portal, &console.user, key) {
        return refuse(
            console,
            StatusCode::FORBIDDEN,
            "That is not a live sandbox key of an application of your organisation.",
        );
    }
    let Some(settings) = settings else {
        return refuse(
            console,
            StatusCode::SERVICE_UNAVAILABLE,
            "The console is off.",
        );
    };
    let mut path = format!("{}{}", console.base.trim_end_matches('/'), op.path);
    let mut query = Vec::new();
    for p in &op.parameters {
        let value = console
            .values
            .get(&format!("{}.{}", p.place, p.name))
            .cloned()
            .unwrap_or_default();
        match p.place.as_str() {
            "path" => path = path.replace(&format!("{{{}}}", p.name), &encode(&value)),
            "query" if !value.is_empty() => {
                query.push(format!("{}={}", encode(&p.name), encode(&value)))
            }
            _ => {}
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let mut builder = Request::builder()
        .method(Method::from_bytes(op.method.as_bytes()).unwrap_or(Method::GET))
        .uri(&path)
        .header(header::HOST, "localhost");
    let mut bad = None;
    for p in op.parameters.iter().filter(|p| p.place == "header") {
        let value = console
            .values
            .get(&format!("header.{}", p.name))
            .cloned()
            .unwrap_or_default();
        if value.is_empty() {
            continue;
        }
        match (
            HeaderName::from_bytes(p.name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => builder = builder.header(name, value),
            _ => bad = Some(p.name.clone()),
        }
    }
    if let Some(name) = bad {
        return refuse(
            console,
            StatusCode::BAD_REQUEST,
            &format!("The value of the header {name} cannot be sent in a header."),
        );
    }
    let Ok(key) = HeaderValue::from_str(key) else {
        return refuse(console, StatusCode::BAD_REQUEST, "That is not a key.");
    };
    builder = builder.header("x-api-key", key);
    if !prefer.is_empty() {
        // The sandbox answers with the contract's example for this status (`garrison mock`).
        builder = builder.header("prefer", format!("code={prefer}"));
    }
    if console.body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    match builder.body(Full::new(Bytes::from(body))) {
        Ok(request) => Relay {
            console,
            request: Some(request),
            refusal: None,
            settings: Some(settings),
        },
        Err(_) => refuse(
            console,
            StatusCode::BAD_REQUEST,
            "The request could not be built.",
        ),
    }
}

/// Whether `key` is an unrevoked sandbox key of an application of the user's organisation
/// (any application, for a platform admin). The portal's client certificate opens the
/// gateway's listener, so the console must not become a way to use somebody else's key.
fn own_sandbox_key(portal: &Portal, user: &User, key: &str) -> bool {
    let digest = garrison_core::ApiKey::from_plaintext(key).digest();
    let scope = match user.role {
        garrison_store::Role::PlatformAdmin => None,
        _ => match user.organisation {
            Some(organisation) => Some(organisation),
            None => return false,
        },
    };
    let Ok(applications) = portal.store.applications(scope) else {
        return false;
    };
    applications.iter().any(|app| {
        portal.store.keys(app.id).is_ok_and(|keys| {
            keys.iter().any(|k| {
                k.environment == garrison_core::Environment::Test
                    && k.revoked_at.is_none()
                    && k.digest.ct_eq(&digest)
            })
        })
    })
}

/// Sends the relay's request (if any) and draws the console with the answer.
pub(super) async fn send(relay: Relay) -> Page {
    let outcome = match (relay.request, relay.settings, relay.refusal) {
        (_, _, Some((status, why))) => Outcome::Refused(status, why),
        (Some(request), Some(settings), None) => {
            match tokio::time::timeout(settings.timeout, exchange(&settings, request)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(why)) => Outcome::Failed(
                    StatusCode::BAD_GATEWAY,
                    format!("The gateway could not be reached: {why}"),
                ),
                Err(_) => Outcome::Failed(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "The gateway did not answer in time ({} s).",
                        settings.timeout.as_secs()
                    ),
                ),
            }
        }
        _ => Outcome::Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The console is off.".into(),
        ),
    };
    draw(&relay.console, Some(&outcome))
}
