//! The web portal over real HTTP on loopback: sign-in with a form (throttled, same-origin
//! only), the session cookie's attributes, the catalogue with its search and filters, HTML
//! escaping, CSRF on sign-out, and the security headers of every page.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use common::{PASSWORD, Server, raw};
use garrison_portal::PortalSettings;
use garrison_store::{
    Classification, Lifecycle, LifecycleChange, NewApi, NewApiVersion, Role, Store,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends a raw request and returns the whole answer as text.
async fn exchange(addr: SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

async fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> String {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"),
    )
    .await
}

async fn post(
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

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

async fn start() -> (Server, SocketAddr) {
    let s = Server::start(PortalSettings {
        sign_in_failures: 3,
        ..PortalSettings::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(garrison_portal::web::serve(s.portal.clone(), listener));
    (s, addr)
}

fn publish(s: &Server) {
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

#[tokio::test]
async fn signing_in_shows_the_catalogue_with_its_filters_and_signing_out_needs_the_csrf_token() {
    let (s, addr) = start().await;
    let org = s.organisation("dvla");
    s.user("dev@dvla.example", Some(org), Role::ConsumerDeveloper);
    publish(&s);
    let origin = format!("http://{addr}");

    // Every page requires a session; every answer carries the security headers.
    let anonymous = get(addr, "/catalogue", None).await;
    assert_eq!(status(&anonymous), 303, "{anonymous}");
    assert_eq!(header(&anonymous, "location"), Some("/sign-in"));
    let form = get(addr, "/sign-in", None).await;
    assert_eq!(status(&form), 200);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("referrer-policy", "same-origin"),
    ] {
        assert_eq!(header(&form, name), Some(value), "{name}");
    }
    let csp = header(&form, "content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(form.contains("<label for=\"email\">"), "labelled fields");

    // Sign-in: only from the portal's own pages; a wrong password says so, and no cookie.
    let credentials = format!(
        "email=dev%40dvla.example&password={}",
        PASSWORD.replace(' ', "+")
    );
    let cross_site = post(addr, "/sign-in", &credentials, "https://evil.example", None).await;
    assert_eq!(status(&cross_site), 403, "{cross_site}");
    let wrong = post(
        addr,
        "/sign-in",
        "email=dev%40dvla.example&password=nope",
        &origin,
        None,
    )
    .await;
    assert_eq!(status(&wrong), 401);
    assert!(wrong.contains("role=\"alert\""), "{wrong}");
    assert!(header(&wrong, "set-cookie").is_none());
    let signed = post(addr, "/sign-in", &credentials, &origin, None).await;
    assert_eq!(status(&signed), 303, "{signed}");
    let set_cookie = header(&signed, "set-cookie").unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("garrison_session=grn_sess_"));

    // The catalogue: owner, classification, lifecycle with sunset, tags; text escaped.
    let page = get(addr, "/catalogue", Some(&cookie)).await;
    assert_eq!(status(&page), 200, "{page}");
    assert!(
        page.contains("Citizen match") && page.contains("dwp agency"),
        "{page}"
    );
    assert!(page.contains("OFFICIAL-SENSITIVE"));
    assert!(page.contains("status-deprecated") && page.contains("sunset 2027-03-31"));
    assert!(page.contains("2 of 2 APIs"));
    assert!(
        !page.contains("<script>"),
        "markup from the store is escaped"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<img"), "{page}");
    let deprecated = get(addr, "/catalogue?status=deprecated", Some(&cookie)).await;
    assert!(deprecated.contains("1 of 2 APIs") && deprecated.contains("Citizen match"));
    let tagged = get(addr, "/catalogue?tag=reference", Some(&cookie)).await;
    assert!(tagged.contains("1 of 2 APIs") && !tagged.contains("Citizen match"));
    let searched = get(addr, "/catalogue?q=finds+CITIZEN", Some(&cookie)).await;
    assert!(searched.contains("1 of 2 APIs") && searched.contains("Citizen match"));
    let none = get(addr, "/catalogue?q=%3Cnothing%3E", Some(&cookie)).await;
    assert!(none.contains("No API matches") && none.contains("value=\"&lt;nothing&gt;\""));

    // Sign-out needs the page's CSRF token.
    let forged = post(addr, "/sign-out", "csrf=guess", &origin, Some(&cookie)).await;
    assert_eq!(status(&forged), 403);
    assert_eq!(
        status(&get(addr, "/catalogue", Some(&cookie)).await),
        200,
        "still signed in"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let out = post(
        addr,
        "/sign-out",
        &format!("csrf={csrf}"),
        &origin,
        Some(&cookie),
    )
    .await;
    assert_eq!(status(&out), 303, "{out}");
    assert!(header(&out, "set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        status(&get(addr, "/catalogue", Some(&cookie)).await),
        303,
        "the session ended"
    );

    let css = get(addr, "/assets/portal.css", None).await;
    assert_eq!(status(&css), 200);
    assert_eq!(
        header(&css, "content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(status(&get(addr, "/nothing", None).await), 404);

    // The API's page, its contract and Swagger UI rendering it (from the crate that packages
    // it); a version without a contract has no documentation.
    let signed = post(addr, "/sign-in", &credentials, &origin, None).await;
    let cookie = header(&signed, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let api = get(addr, "/apis/citizen-match", Some(&cookie)).await;
    assert_eq!(status(&api), 200, "{api}");
    assert!(
        api.contains("href=\"/apis/citizen-match/v1/docs/\""),
        "{api}"
    );
    let spec = get(addr, "/apis/citizen-match/v1/openapi.json", Some(&cookie)).await;
    assert_eq!(status(&spec), 200);
    assert_eq!(header(&spec, "content-type"), Some("application/json"));
    assert!(spec.contains("\"title\": \"Citizen match\""), "{spec}");
    let bare = get(addr, "/apis/citizen-match/v1/docs", Some(&cookie)).await;
    assert_eq!(status(&bare), 303);
    assert_eq!(
        header(&bare, "location"),
        Some("/apis/citizen-match/v1/docs/")
    );
    let docs = get(addr, "/apis/citizen-match/v1/docs/", Some(&cookie)).await;
    assert_eq!(status(&docs), 200, "{docs}");
    assert!(docs.contains("swagger-ui"), "{docs}");
    let policy = header(&docs, "content-security-policy").unwrap();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-eval"),
        "{policy}"
    );
    let init = get(
        addr,
        "/apis/citizen-match/v1/docs/swagger-initializer.js",
        Some(&cookie),
    )
    .await;
    assert_eq!(status(&init), 200);
    assert!(
        init.contains("/apis/citizen-match/v1/openapi.json"),
        "{init}"
    );
    assert_eq!(
        status(&get(addr, "/apis/hostile/v1/docs/", Some(&cookie)).await),
        404
    );
    assert_eq!(
        status(&get(addr, "/apis/nothing", Some(&cookie)).await),
        404
    );
    assert_eq!(
        status(&get(addr, "/apis/citizen-match", None).await),
        303,
        "sign-in first"
    );
    // The admin API's answers are unaffected by the portal (same store, same sessions).
    let api = raw(
        s.admin_addr(),
        "GET",
        "/admin/v1/apis",
        Some(&s.admin_token),
        None,
    )
    .await;
    assert_eq!(api.status, 200);
}

#[tokio::test]
async fn the_sign_in_form_is_throttled() {
    let (s, addr) = start().await;
    let org = s.organisation("dvla");
    s.user("dev@dvla.example", Some(org), Role::ConsumerDeveloper);
    let origin = format!("http://{addr}");
    for _ in 0..3 {
        let wrong = post(
            addr,
            "/sign-in",
            "email=dev%40dvla.example&password=guess",
            &origin,
            None,
        )
        .await;
        assert_eq!(status(&wrong), 401);
    }
    let credentials = format!(
        "email=dev%40dvla.example&password={}",
        PASSWORD.replace(' ', "+")
    );
    let blocked = post(addr, "/sign-in", &credentials, &origin, None).await;
    assert_eq!(status(&blocked), 429, "{blocked}");
    assert!(blocked.contains("Too many failed sign-ins"));
    assert!(header(&blocked, "set-cookie").is_none());
    let events = s.store.events(10).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "signIn" && e.outcome == "INVALID_CREDENTIALS")
            .count(),
        3,
        "failed sign-ins are admin events"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "signIn" && e.outcome == "MESSAGE_THROTTLED_OUT")
    );
}

/// Signs in through the form; returns the cookie.
async fn sign_in(addr: SocketAddr, email: &str) -> String {
    let credentials = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let signed = post(
        addr,
        "/sign-in",
        &credentials,
        &format!("http://{addr}"),
        None,
    )
    .await;
    assert_eq!(status(&signed), 303, "{signed}");
    header(&signed, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_developer_creates_an_application_sees_its_key_once_and_an_owner_approves_its_request() {
    let (s, addr) = start().await;
    let origin = format!("http://{addr}");
    let dvla = s.organisation("dvla");
    let nhs = s.organisation("nhsbsa");
    s.user("dev@dvla.example", Some(dvla), Role::ConsumerDeveloper);
    s.user("dev@nhsbsa.example", Some(nhs), Role::ConsumerDeveloper);
    publish(&s);
    let dwp = s
        .store
        .organisations()
        .unwrap()
        .into_iter()
        .find(|o| o.slug == "dwp")
        .unwrap()
        .id;
    s.user("owner@dwp.example", Some(dwp), Role::ApiOwner);
    s.store
        .create_plan(garrison_store::NewPlan {
            name: "bronze".into(),
            requests: 3,
            period_seconds: 1,
            burst: 3,
        })
        .unwrap();

    let dev = sign_in(addr, "dev@dvla.example").await;
    let list = get(addr, "/applications", Some(&dev)).await;
    assert_eq!(status(&list), 200);
    assert!(list.contains("no application yet"));
    let csrf = csrf_of(&list);
    let missing_csrf = post(
        addr,
        "/applications",
        "slug=licensing&name=Licensing",
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(
        status(&missing_csrf),
        403,
        "a form without the CSRF token is refused"
    );
    let created = post(
        addr,
        "/applications",
        &format!("csrf={csrf}&slug=licensing&name=Driver+licensing"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&created), 201, "{created}");
    let key = created
        .split("id=\"new-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(key.starts_with("grn_test_") && key.len() > 50, "{key}");
    assert!(created.contains("shown only this once"));
    let app = s.store.applications(Some(dvla)).unwrap()[0].id;

    // The application's page lists the key by its prefix only.
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert_eq!(status(&page), 200, "{page}");
    assert!(
        page.contains(&key[..13]) && !page.contains(&key),
        "never shown again"
    );
    // Another organisation's developer does not see it.
    let other = sign_in(addr, "dev@nhsbsa.example").await;
    let hidden = get(addr, &format!("/applications/{app}"), Some(&other)).await;
    assert_eq!(status(&hidden), 404, "{hidden}");
    let forged = post(
        addr,
        &format!("/applications/{app}/keys"),
        &format!(
            "csrf={}&environment=production",
            csrf_of(&get(addr, "/applications", Some(&other)).await)
        ),
        &origin,
        Some(&other),
    )
    .await;
    assert_eq!(status(&forged), 404, "{forged}");

    // A production key, then its revocation.
    let issued = post(
        addr,
        &format!("/applications/{app}/keys"),
        &format!("csrf={csrf}&environment=production"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&issued), 201);
    assert!(issued.contains("grn_live_"));
    let live = s
        .store
        .keys(app)
        .unwrap()
        .into_iter()
        .find(|k| k.prefix.starts_with("grn_live_"))
        .unwrap();
    let revoked = post(
        addr,
        &format!("/applications/{app}/keys/{}/revoke", live.id),
        &format!("csrf={csrf}"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&revoked), 303, "{revoked}");
    assert!(s.store.key(live.id).unwrap().unwrap().revoked_at.is_some());

    // Rotation: a new key shown once, the old one revoked.
    let sandbox = s
        .store
        .keys(app)
        .unwrap()
        .into_iter()
        .find(|k| k.prefix.starts_with("grn_test_"))
        .unwrap();
    let rotated = post(
        addr,
        &format!("/applications/{app}/keys/{}/rotate", sandbox.id),
        &format!("csrf={csrf}"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&rotated), 201, "{rotated}");
    assert!(rotated.contains("id=\"new-key\">grn_test_") && !rotated.contains(&key));
    assert!(
        s.store
            .key(sandbox.id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    // A client certificate, bound from its PEM and unbound.
    let ca = garrison_pki::CertificateAuthority::generate("Test CA").unwrap();
    let cert = ca.issue_client("licensing").unwrap();
    let pem = cert
        .cert_pem
        .replace('\n', "%0A")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let bound = post(
        addr,
        &format!("/applications/{app}/certificates"),
        &format!("csrf={csrf}&label=CN%3Dlicensing&pem={pem}"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&bound), 303, "{bound}");
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(
        page.contains(&cert.fingerprint_hex().replace(':', "").to_lowercase()),
        "{page}"
    );
    let bad = post(
        addr,
        &format!("/applications/{app}/certificates"),
        &format!("csrf={csrf}&pem=not+a+certificate"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&bad), 400);
    assert!(bad.contains("role=\"alert\""));
    let cert_id = s.store.certificates(app).unwrap()[0].id;
    let unbound = post(
        addr,
        &format!("/applications/{app}/certificates/{cert_id}/revoke"),
        &format!("csrf={csrf}"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&unbound), 303);
    assert!(
        s.store
            .certificate(cert_id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    // The allow-list: no wider than a /24.
    let wide = post(
        addr,
        &format!("/applications/{app}/allow-list"),
        &format!("csrf={csrf}&networks=10.0.0.0%2F16"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&wide), 400);
    assert!(wide.contains("/24"), "{wide}");
    let saved = post(
        addr,
        &format!("/applications/{app}/allow-list"),
        &format!("csrf={csrf}&networks=203.0.113.7%2F24%0D%0A198.51.100.1"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&saved), 303, "{saved}");
    assert_eq!(s.store.allow_list(app).unwrap().len(), 2);
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(page.contains("<code>203.0.113.0/24</code>"), "{page}");

    // A subscription request, decided by the API's owner.
    let api = s
        .store
        .apis()
        .unwrap()
        .into_iter()
        .find(|a| a.slug == "citizen-match")
        .unwrap();
    let version = s.store.api_versions(api.id).unwrap()[0].id;
    let requested = post(
        addr,
        &format!("/applications/{app}/subscriptions"),
        &format!("csrf={csrf}&version={version}&plan=1&purpose=DVLA-LICENSING"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(status(&requested), 303, "{requested}");
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(page.contains("sub-requested"), "{page}");
    let owner = sign_in(addr, "owner@dwp.example").await;
    let queue = get(addr, "/approvals", Some(&owner)).await;
    assert_eq!(status(&queue), 200);
    assert!(queue.contains("DVLA-LICENSING"), "{queue}");
    let sub = s.store.subscriptions(Some(app)).unwrap()[0].id;
    let self_approval = post(
        addr,
        &format!("/subscriptions/{sub}/decide"),
        &format!("csrf={csrf}&decision=approve"),
        &origin,
        Some(&dev),
    )
    .await;
    assert_eq!(
        status(&self_approval),
        403,
        "a consumer cannot approve: {self_approval}"
    );
    let approved = post(
        addr,
        &format!("/subscriptions/{sub}/decide"),
        &format!("csrf={}&decision=approve&reason=Checked", csrf_of(&queue)),
        &origin,
        Some(&owner),
    )
    .await;
    assert_eq!(status(&approved), 303, "{approved}");
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(page.contains("sub-approved"), "{page}");
    let events = s.store.events(50).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "approveSubscription" && e.outcome == "ok")
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "approveSubscription" && e.outcome == "RESOURCE_FORBIDDEN"),
        "the pages' actions are admin events like the API's"
    );
}

async fn start_with_sign_up() -> (Server, SocketAddr) {
    let s = Server::start(PortalSettings {
        self_sign_up: true,
        sign_ups_per_window: 4,
        ..PortalSettings::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(garrison_portal::web::serve(s.portal.clone(), listener));
    (s, addr)
}

/// A sign-up form's body.
fn sign_up_form(name: &str, email: &str, password: &str, organisation: &str) -> String {
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

#[tokio::test]
async fn without_self_sign_up_there_is_no_sign_up_page_nor_link() {
    let (s, addr) = start().await;
    let page = get(addr, "/sign-in", None).await;
    assert_eq!(status(&page), 200);
    assert!(!page.contains("/sign-up"), "{page}");
    assert_eq!(status(&get(addr, "/sign-up", None).await), 404);
    let form = sign_up_form("Ada", "ada@example.test", PASSWORD, "Ada's team");
    let posted = post(addr, "/sign-up", &form, &format!("http://{addr}"), None).await;
    assert_eq!(status(&posted), 404, "{posted}");
    assert!(s.store.user_by_email("ada@example.test").unwrap().is_none());
    assert!(s.store.organisations().unwrap().is_empty());
}

#[tokio::test]
async fn a_developer_signs_up_into_a_new_organisation_of_their_own_and_is_signed_in() {
    let (s, addr) = start_with_sign_up().await;
    let origin = format!("http://{addr}");
    let dvla = s.organisation("dvla");
    let sign_in_page = get(addr, "/sign-in", None).await;
    assert!(sign_in_page.contains("href=\"/sign-up\""), "{sign_in_page}");
    let page = get(addr, "/sign-up", None).await;
    assert_eq!(status(&page), 200);
    for field in [
        "name=\"name\"",
        "name=\"email\"",
        "name=\"password\"",
        "name=\"organisation\"",
    ] {
        assert!(page.contains(field), "{field}: {page}");
    }

    // Naming an existing organisation does not join it: a new one is made, its slug unique.
    let form = sign_up_form("Ada <b>", "ada@example.test", PASSWORD, "DVLA");
    let signed = post(addr, "/sign-up", &form, &origin, None).await;
    assert_eq!(status(&signed), 303, "{signed}");
    assert_eq!(header(&signed, "location"), Some("/applications"));
    let cookie = header(&signed, "set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let (user, _) = s.store.user_by_email("ada@example.test").unwrap().unwrap();
    assert_eq!(user.role, Role::ConsumerDeveloper);
    assert_ne!(user.organisation, Some(dvla));
    let orgs = s.store.organisations().unwrap();
    let own = orgs
        .iter()
        .find(|o| Some(o.id) == user.organisation)
        .unwrap();
    assert_eq!((own.slug.as_str(), own.name.as_str()), ("dvla-2", "DVLA"));
    let list = get(addr, "/applications", Some(&cookie)).await;
    assert_eq!(status(&list), 200, "{list}");
    assert!(list.contains("no application yet"));
    assert!(list.contains("Signed in as ada@example.test"));

    // A second developer naming the same team gets yet another organisation.
    let form = sign_up_form("Bob", "bob@example.test", PASSWORD, "DVLA");
    assert_eq!(
        status(&post(addr, "/sign-up", &form, &origin, None).await),
        303
    );
    let (bob, _) = s.store.user_by_email("bob@example.test").unwrap().unwrap();
    assert_ne!(bob.organisation, user.organisation);
    assert_ne!(bob.organisation, Some(dvla));
    assert_eq!(s.store.organisations().unwrap().len(), 3);
    assert!(s.store.users(Some(dvla)).unwrap().is_empty());

    let events = s.store.events(20).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "signUp" && e.outcome == "ok")
            .count(),
        2,
        "sign-ups are admin events"
    );
}

#[tokio::test]
async fn sign_up_refuses_other_origins_weak_passwords_and_taken_emails_without_saying_so() {
    let (s, addr) = start_with_sign_up().await;
    let origin = format!("http://{addr}");
    s.user("taken@example.test", None, Role::PlatformAdmin);
    let form = sign_up_form("Eve", "eve@example.test", PASSWORD, "Eve's team");
    let forged = post(addr, "/sign-up", &form, "https://evil.example", None).await;
    assert_eq!(status(&forged), 403, "{forged}");

    let weak = sign_up_form("Eve <script>", "eve@example.test", "short pass", "Eve & co");
    let refused = post(addr, "/sign-up", &weak, &origin, None).await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert!(refused.contains("at least 12 characters"));
    // What was entered comes back escaped; the password never does.
    assert!(
        refused.contains("value=\"Eve &lt;script&gt;\""),
        "{refused}"
    );
    assert!(refused.contains("value=\"Eve &amp; co\""), "{refused}");
    assert!(!refused.contains("<script>") && !refused.contains("short pass"));
    assert!(header(&refused, "set-cookie").is_none());

    let bad_email = sign_up_form("Eve", "not-an-email", PASSWORD, "Eve's team");
    let refused = post(addr, "/sign-up", &bad_email, &origin, None).await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert!(refused.contains("Enter an email address"));

    let taken = sign_up_form("Eve", "TAKEN@example.test", PASSWORD, "Eve's team");
    let refused = post(addr, "/sign-up", &taken, &origin, None).await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert!(refused.contains("Check your details"), "{refused}");
    assert!(!refused.contains("already exists") && !refused.contains("taken"));
    assert!(header(&refused, "set-cookie").is_none());
    // No organisation was made for refused sign-ups, and the taken account is unchanged.
    assert!(s.store.organisations().unwrap().is_empty());
    let (user, _) = s
        .store
        .user_by_email("taken@example.test")
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::PlatformAdmin);
    assert!(s.store.user_by_email("eve@example.test").unwrap().is_none());
    let events = s.store.events(20).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "signUp" && e.outcome == "CONFLICT")
    );
}

#[tokio::test]
async fn sign_ups_from_one_address_are_throttled() {
    let (s, addr) = start_with_sign_up().await;
    let origin = format!("http://{addr}");
    // The limit is 4 attempts per window, successful or not.
    for i in 0..4 {
        let form = sign_up_form("Dev", &format!("dev{i}@example.test"), PASSWORD, "Team");
        assert_eq!(
            status(&post(addr, "/sign-up", &form, &origin, None).await),
            303
        );
    }
    let form = sign_up_form("Dev", "dev9@example.test", PASSWORD, "Team");
    let blocked = post(addr, "/sign-up", &form, &origin, None).await;
    assert_eq!(status(&blocked), 429, "{blocked}");
    assert!(blocked.contains("Too many sign-ups"));
    assert!(
        s.store
            .user_by_email("dev9@example.test")
            .unwrap()
            .is_none()
    );
    let slugs: Vec<String> = s
        .store
        .organisations()
        .unwrap()
        .into_iter()
        .map(|o| o.slug)
        .collect();
    assert_eq!(slugs, ["team", "team-2", "team-3", "team-4"]);
    assert!(
        s.store
            .events(20)
            .unwrap()
            .iter()
            .any(|e| e.action == "signUp" && e.outcome == "MESSAGE_THROTTLED_OUT")
    );
}
