//! Shared setup for the web portal tests: a portal on loopback, raw HTTP requests, forms.

use std::net::SocketAddr;

use garrison_portal::PortalSettings;
use garrison_store::{
    AdminEvent, Classification, Lifecycle, LifecycleChange, NewApi, NewApiVersion, Store,
};

use crate::common::{PASSWORD, Server, exchange};

pub(crate) async fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> String {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"),
    )
    .await
}

pub(crate) async fn post(
    addr: SocketAddr,
    path: &str,
    form: &str,
    origin: &str,
    cookie: Option<&str>,
) -> String {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    exchange(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n{cookie}\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await
}

/// Posts a form from the portal's own pages with the session cookie `cookie`.
pub(crate) async fn post_as(addr: SocketAddr, cookie: &str, path: &str, form: &str) -> String {
    post(addr, path, form, &origin(addr), Some(cookie)).await
}

/// The portal's own origin, as its pages send it.
fn origin(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

pub(crate) fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub(crate) fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The session cookie (`name=value`, without attributes) an answer sets.
pub(crate) fn session_cookie(answer: &str) -> String {
    header(answer, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The CSRF token of a page's forms.
pub(crate) fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

/// How many admin events record `action` with `outcome`.
pub(crate) fn count_events(events: &[AdminEvent], action: &str, outcome: &str) -> usize {
    events
        .iter()
        .filter(|e| e.action == action && e.outcome == outcome)
        .count()
}

/// Whether an admin event records `action` with `outcome`.
pub(crate) fn any_event(events: &[AdminEvent], action: &str, outcome: &str) -> bool {
    count_events(events, action, outcome) > 0
}

/// A portal with `settings`, its web pages served on a loopback port.
async fn start_with(settings: PortalSettings) -> (Server, SocketAddr) {
    let s = Server::start(settings).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(garrison_portal::web::serve(s.portal.clone(), listener));
    (s, addr)
}

/// A portal that throttles sign-in after 3 failures.
pub(crate) async fn start() -> (Server, SocketAddr) {
    start_with(PortalSettings {
        sign_in_failures: 3,
        ..PortalSettings::default()
    })
    .await
}

/// A portal with self sign-up, 4 sign-ups per window.
pub(crate) async fn start_with_sign_up() -> (Server, SocketAddr) {
    start_with(PortalSettings {
        self_sign_up: true,
        sign_ups_per_window: 4,
        ..PortalSettings::default()
    })
    .await
}

/// Publishes DWP's `citizen-match` (v1 deprecated, v2 beta, both with contracts) and a
/// `hostile` API whose title and description are markup.
pub(crate) fn publish(s: &Server) {
    let dwp = s.organisation("dwp");
    let contract = |paths: serde_json::Value| {
        std::sync::Arc::new(serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "Citizen match", "version": "1.0.0"},
            "paths": paths
        }))
    };
    let ok = serde_json::json!({"200": {"description": "Found."}});
    s.portal.set_contracts(
        [
            (
                "citizen-match".to_owned(),
                contract(serde_json::json!({
                    "/match": {"post": {"operationId": "matchCitizen", "responses": ok.clone()}},
                    "/lookup": {"get": {"operationId": "lookupCitizen", "responses": ok.clone()}}
                })),
            ),
            (
                "citizen-match-v2".to_owned(),
                contract(serde_json::json!({
                    "/match": {"post": {"operationId": "matchCitizen", "responses": ok}}
                })),
            ),
        ]
        .into(),
    );
    let api = s
        .store
        .create_api(NewApi {
            slug: "citizen-match".into(),
            title: "Citizen match".into(),
            owner: dwp,
            description: "Finds a citizen.".into(),
            classification: Classification::OfficialSensitive,
            tags: vec!["citizen".into()],
        })
        .unwrap();
    let v1 = s
        .store
        .create_api_version(NewApiVersion {
            api: api.id,
            version: "v1".into(),
            group: "citizen-match".into(),
            status: Lifecycle::Stable,
        })
        .unwrap();
    s.store
        .set_lifecycle(
            v1.id,
            LifecycleChange {
                status: Lifecycle::Deprecated,
                sunset: Some("2027-03-31".into()),
                successor: None,
            },
        )
        .unwrap();
    s.store
        .create_api_version(NewApiVersion {
            api: api.id,
            version: "v2".into(),
            group: "citizen-match-v2".into(),
            status: Lifecycle::Beta,
        })
        .unwrap();
    let hostile = s
        .store
        .create_api(NewApi {
            slug: "hostile".into(),
            title: "<script>alert(1)</script>".into(),
            owner: dwp,
            description: "\"><img src=x onerror=alert(2)>".into(),
            classification: Classification::Official,
            tags: vec!["reference".into()],
        })
        .unwrap();
    s.store
        .create_api_version(NewApiVersion {
            api: hostile.id,
            version: "v1".into(),
            group: "hostile".into(),
            status: Lifecycle::Beta,
        })
        .unwrap();
}

/// A sign-in form's body for `email` with the test password.
pub(crate) fn sign_in_form(email: &str) -> String {
    format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    )
}

/// Posts a sign-in form from the portal's own pages.
pub(crate) async fn post_sign_in(addr: SocketAddr, form: &str) -> String {
    post(addr, "/sign-in", form, &origin(addr), None).await
}

/// Signs in through the form; returns the cookie.
pub(crate) async fn sign_in(addr: SocketAddr, email: &str) -> String {
    let signed = post_sign_in(addr, &sign_in_form(email)).await;
    assert_eq!(status(&signed), 303, "{signed}");
    session_cookie(&signed)
}

/// Posts a sign-up form from the portal's own pages.
pub(crate) async fn post_sign_up(addr: SocketAddr, form: &str) -> String {
    post(addr, "/sign-up", form, &origin(addr), None).await
}

/// A sign-up form's body.
pub(crate) fn sign_up_form(name: &str, email: &str, password: &str, organisation: &str) -> String {
    let enc = |v: &str| {
        v.replace('%', "%25")
            .replace('@', "%40")
            .replace('&', "%26")
            .replace('<', "%3C")
            .replace(' ', "+")
    };
    format!(
        "name={}&email={}&password={}&organisation={}",
        enc(name),
        enc(email),
        enc(password),
        enc(organisation)
    )
}
