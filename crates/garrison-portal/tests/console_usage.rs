//! The try-it console and the usage pages over real HTTP on loopback, against a real gateway
//! with mutual TLS from the test PKI serving a mocked (sandbox) API: the console relays a
//! sandbox key's call through the gateway and shows the mock's answer escaped; refuses a
//! production key, an oversize body and a post without the CSRF token; the usage pages chart
//! what the gateway counted, for the application's organisation and the API's owner only.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{PASSWORD, exchange};
use garrison_core::{ApiKey, Environment};
use garrison_gateway::{Gateway, GatewayOptions};
use garrison_portal::web::ConsoleSettings;
use garrison_portal::{Portal, PortalExtension, PortalSettings};
use garrison_store::{
    Classification, Lifecycle, NewApi, NewApiVersion, NewApplication, NewOrganisation, NewUser,
    Role, SqliteStore, Store, password,
};
use garrison_testkit::pki::TestPki;

/// A sandbox contract: one operation with a required purpose header and a body example; its
/// answer's example holds markup, which the console must escape.
const ECHO: &str = r#"openapi: 3.1.0
info: {title: Echo, version: 1.0.0}
paths:
  /echo:
    post:
      operationId: echo
      summary: Echo a name
      parameters:
        - name: context
          in: header
          required: true
          schema: {type: string, maxLength: 32}
          example: DVLA-LICENSING
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, maxLength: 64}
            example: {name: Ada}
      responses:
        '200':
          description: Echoed.
          content:
            application/json:
              schema:
                type: object
                required: [greeting]
                properties:
                  greeting: {type: string}
              example: {greeting: "<script>alert(1)</script> hello"}
        '422':
          description: Not a name we greet.
          content:
            application/json:
              schema:
                type: object
                required: [reason]
                properties:
                  reason: {type: string}
              example: {reason: unknown name}
"#;

struct World {
    _gateway: Gateway,
    portal: Arc<Portal>,
    store: Arc<SqliteStore>,
    ca: String,
    web: SocketAddr,
    app: i64,
    sandbox_key: String,
    live_key: String,
}

fn user(store: &SqliteStore, email: &str, organisation: i64, role: Role) {
    store
        .create_user(NewUser {
            email: email.into(),
            name: email.into(),
            organisation: Some(organisation),
            role,
            password_hash: password::hash(PASSWORD).unwrap(),
        })
        .unwrap();
}

async fn world() -> World {
    let dir = garrison_testkit::temp_dir("portal-console");
    let pki = TestPki::create(&dir);
    std::fs::write(dir.join("echo.yaml"), ECHO).unwrap();
    let admin = ApiKey::generate(Environment::Live).unwrap();
    let yaml = format!(
        r#"
admin:
  listen: 127.0.0.1:0
  token_digest: "{digest}"
listeners:
  - name: public
    address: 127.0.0.1:0
    tls:
      certificate: server.pem
      key: server.key
      client_certificates: required
      client_ca: ca.pem
upstreams:
  - name: main
    targets: [127.0.0.1:9]
routes:
  - name: real
    group: real
    methods: [POST]
    path: /real/echo
    upstream: main
apis:
  - name: echo-sandbox
    contract: echo.yaml
    base_path: /sandbox
    mock: true
"#,
        digest = admin.digest()
    );
    std::fs::write(dir.join("garrison.yaml"), yaml).unwrap();
    let config =
        garrison_config::load(&dir.join("garrison.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let groups: HashMap<String, String> = config
        .routes
        .iter()
        .map(|r| (r.name.clone(), r.group.clone()))
        .collect();
    let contracts = config
        .apis
        .iter()
        .map(|a| (a.name.clone(), Arc::new(a.contract.document.clone())))
        .collect();

    let store = Arc::new(SqliteStore::open(&dir.join("control-plane.db")).unwrap());
    let org = |slug: &str| {
        store
            .create_organisation(NewOrganisation {
                slug: slug.into(),
                name: slug.into(),
            })
            .unwrap()
            .id
    };
    let (dvla, dwp, nhs) = (org("dvla"), org("dwp"), org("nhs"));
    user(&store, "dev@dvla.example", dvla, Role::ConsumerDeveloper);
    user(&store, "owner@dwp.example", dwp, Role::ApiOwner);
    user(&store, "dev@nhs.example", nhs, Role::ConsumerDeveloper);
    let api = store
        .create_api(NewApi {
            slug: "echo".into(),
            title: "Echo".into(),
            owner: dwp,
            description: "Echoes a name.".into(),
            classification: Classification::Official,
            tags: vec![],
        })
        .unwrap();
    for (version, group) in [("v1", "echo-sandbox"), ("v2", "real")] {
        store
            .create_api_version(NewApiVersion {
                api: api.id,
                version: version.into(),
                group: group.into(),
                status: Lifecycle::Stable,
            })
            .unwrap();
    }
    let app = store
        .create_application(NewApplication {
            organisation: dvla,
            slug: "licensing".into(),
            name: "Licensing".into(),
        })
        .unwrap()
        .id;
    let key = |environment| {
        let key = ApiKey::generate(environment).unwrap();
        store
            .add_key(app, environment, &key.expose()[..13], key.digest())
            .unwrap();
        key.expose().to_owned()
    };
    let (sandbox_key, live_key) = (key(Environment::Test), key(Environment::Live));

    let dyn_store: Arc<dyn Store> = store.clone();
    let portal = Portal::new(dyn_store.clone(), PortalSettings::default());
    portal.set_contracts(contracts);
    let gateway = Gateway::start_with(
        config,
        GatewayOptions {
            store: Some(dyn_store),
            admin_extension: Some(Arc::new(PortalExtension(portal.clone()))),
        },
    )
    .await
    .unwrap();
    portal.set_metrics(gateway.metrics_reader(), groups);
    let client = pki.client("garrison-portal-console");
    portal.set_console(
        ConsoleSettings::new(
            gateway.listen_addrs()[0],
            "localhost",
            &pki.ca.cert().cert_pem,
            &client.cert_pem,
            &client.key_pem,
            [("echo-sandbox".to_owned(), "/sandbox".to_owned())].into(),
            Duration::from_secs(5),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = listener.local_addr().unwrap();
    tokio::spawn(garrison_portal::web::serve(portal.clone(), listener));
    World {
        _gateway: gateway,
        portal,
        store,
        ca: pki.ca.cert().cert_pem.clone(),
        web,
        app,
        sandbox_key,
        live_key,
    }
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> String {
    exchange(
        addr,
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

async fn post(addr: SocketAddr, path: &str, form: &str, cookie: &str) -> String {
    exchange(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Form-encodes a value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn sign_in(addr: SocketAddr, email: &str) -> String {
    let form = format!("email={}&password={}", enc(email), enc(PASSWORD));
    let answer = post(addr, "/sign-in", &form, "").await;
    assert_eq!(status(&answer), 303, "{answer}");
    let head = answer.split("\r\n\r\n").next().unwrap();
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// The CSRF token of a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

fn console_form(csrf: &str, key: &str, body: &str) -> String {
    format!(
        "csrf={csrf}&operation=0&header.context=DVLA-LICENSING&body={}&key={}",
        enc(body),
        enc(key)
    )
}

const CONSOLE: &str = "/apis/echo/v1/console";

#[tokio::test]
async fn the_console_relays_a_sandbox_key_through_the_gateway_and_shows_the_answer() {
    let w = world().await;
    let cookie = sign_in(w.web, "dev@dvla.example").await;
    let api = get(w.web, "/apis/echo", &cookie).await;
    assert!(api.contains("href=\"/apis/echo/v1/console\""), "{api}");
    assert!(!api.contains("/apis/echo/v2/console"), "v2 is no sandbox");
    assert!(
        !api.contains("/apis/echo/usage"),
        "the usage of an API is its owner's"
    );

    let page = get(w.web, CONSOLE, &cookie).await;
    assert_eq!(status(&page), 200, "{page}");
    assert!(
        page.contains("POST /echo — Echo a name"),
        "the operation is offered"
    );
    assert!(
        page.contains("name=\"header.context\" value=\"DVLA-LICENSING\""),
        "{page}"
    );
    assert!(
        page.contains("{\n  &quot;name&quot;: &quot;Ada&quot;\n}</textarea>"),
        "the body is prefilled with the contract's example: {page}"
    );
    assert!(
        page.contains("type=\"password\""),
        "the key is typed, never shown"
    );

    let form = console_form(&csrf(&page), &w.sandbox_key, "{\"name\": \"Grace\"}");
    let answer = post(w.web, CONSOLE, &form, &cookie).await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(answer.contains("id=\"console-status\">200 OK"), "{answer}");
    assert!(
        answer.contains("&lt;script&gt;alert(1)&lt;/script&gt; hello"),
        "the mock's answer is shown, escaped: {answer}"
    );
    assert!(!answer.contains("<script>"), "never as markup");
    assert!(
        answer.contains("<code>content-type</code>"),
        "headers are shown"
    );
    assert!(
        !answer.contains(&w.sandbox_key),
        "the key is never echoed back"
    );

    // The sandbox can be asked for another documented answer, and only for one.
    assert!(
        page.contains("<option value=\"422\">422</option>"),
        "{page}"
    );
    let prefer = format!("{form}&prefer=422");
    let answer = post(w.web, CONSOLE, &prefer, &cookie).await;
    assert!(
        answer.contains("id=\"console-status\">422 Unprocessable Entity"),
        "{answer}"
    );
    assert!(answer.contains("unknown name"), "{answer}");
    let undocumented = post(w.web, CONSOLE, &format!("{form}&prefer=418"), &cookie).await;
    assert_eq!(status(&undocumented), 400, "{undocumented}");

    // The gateway validated the request against the contract: a body that breaks it is
    // refused there, and the console shows the gateway's problem.
    let invalid = console_form(&csrf(&page), &w.sandbox_key, "{\"nom\": 1}");
    let answer = post(w.web, CONSOLE, &invalid, &cookie).await;
    assert!(
        answer.contains("id=\"console-status\">400 Bad Request"),
        "{answer}"
    );
    assert!(answer.contains("REQUEST_INVALID"), "{answer}");

    // Both calls were counted by the gateway as the application's, and its usage shows them.
    let usage = get(w.web, &format!("/applications/{}/usage", w.app), &cookie).await;
    assert_eq!(status(&usage), 200, "{usage}");
    assert!(usage.contains("Requests in this period: 3."), "{usage}");
    assert!(usage.contains("<code>dvla/licensing</code>"));
    for title in [
        "Requests per minute",
        "Errors per minute (4xx and 5xx)",
        "Latency (p50 and p95, milliseconds)",
    ] {
        assert!(
            usage.contains(&format!("\">{title}</title>")),
            "{title}: {usage}"
        );
    }
    assert!(usage.contains("role=\"img\""));
    assert!(
        usage
            .contains("<tr><th scope=\"row\">echo-sandbox</th><td>3</td><td>2</td><td>0</td></tr>"),
        "the breakdown by API: {usage}"
    );
}

#[tokio::test]
async fn the_console_refuses_a_production_key_an_oversize_body_and_a_forged_post() {
    let w = world().await;
    let cookie = sign_in(w.web, "dev@dvla.example").await;
    let page = get(w.web, CONSOLE, &cookie).await;
    let token = csrf(&page);

    let live = post(
        w.web,
        CONSOLE,
        &console_form(&token, &w.live_key, "{}"),
        &cookie,
    )
    .await;
    assert_eq!(status(&live), 403, "{live}");
    assert!(live.contains("role=\"alert\""));
    assert!(live.contains("sandbox key (grn_test_…) only"), "{live}");

    // Another organisation's sandbox key is not relayed for this user.
    let nhs = sign_in(w.web, "dev@nhs.example").await;
    let theirs = get(w.web, CONSOLE, &nhs).await;
    let borrowed = post(
        w.web,
        CONSOLE,
        &console_form(&csrf(&theirs), &w.sandbox_key, "{\"name\": \"Ada\"}"),
        &nhs,
    )
    .await;
    assert_eq!(status(&borrowed), 403, "{borrowed}");
    assert!(borrowed.contains("of your organisation"), "{borrowed}");

    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(17 * 1024));
    let oversize = post(
        w.web,
        CONSOLE,
        &console_form(&token, &w.sandbox_key, &big),
        &cookie,
    )
    .await;
    assert_eq!(status(&oversize), 413, "{oversize}");

    let forged = post(
        w.web,
        CONSOLE,
        &console_form("0123", &w.sandbox_key, "{}"),
        &cookie,
    )
    .await;
    assert_eq!(status(&forged), 403, "{forged}");
    assert!(forged.contains("did not come from this portal"));
    let signed_out = post(
        w.web,
        CONSOLE,
        &console_form(&token, &w.sandbox_key, "{}"),
        "",
    )
    .await;
    assert_eq!(status(&signed_out), 403, "{signed_out}");

    // None of these reached the gateway.
    let usage = get(w.web, &format!("/applications/{}/usage", w.app), &cookie).await;
    assert!(usage.contains("Requests in this period: 0."), "{usage}");

    // A version without a sandbox has no console.
    let real = get(w.web, "/apis/echo/v2/console", &cookie).await;
    assert_eq!(status(&real), 404, "{real}");
}

#[tokio::test]
async fn usage_is_shown_to_the_application_organisation_and_the_api_owner_only() {
    let w = world().await;
    let dev = sign_in(w.web, "dev@dvla.example").await;
    let page = get(w.web, CONSOLE, &dev).await;
    let form = console_form(&csrf(&page), &w.sandbox_key, "{\"name\": \"Ada\"}");
    assert!(post(w.web, CONSOLE, &form, &dev).await.contains("200 OK"));

    let other = sign_in(w.web, "dev@nhs.example").await;
    let theirs = get(w.web, &format!("/applications/{}/usage", w.app), &other).await;
    assert_eq!(
        status(&theirs),
        404,
        "another organisation's application does not exist"
    );
    assert!(!theirs.contains("<svg"));
    assert_eq!(status(&get(w.web, "/apis/echo/usage", &other).await), 404);
    assert_eq!(status(&get(w.web, "/apis/echo/usage", &dev).await), 404);

    let owner = sign_in(w.web, "owner@dwp.example").await;
    let api = get(w.web, "/apis/echo", &owner).await;
    assert!(api.contains("href=\"/apis/echo/usage\""));
    let usage = get(w.web, "/apis/echo/usage?window=1440", &owner).await;
    assert_eq!(status(&usage), 200, "{usage}");
    assert!(usage.contains("<option value=\"1440\" selected>"));
    assert!(usage.contains("Requests in this period: 1."), "{usage}");
    assert!(usage.contains("dvla/licensing · echo-sandbox"), "{usage}");
    assert_eq!(
        usage.matches("<svg").count(),
        3,
        "requests, errors and latency are charted"
    );
    assert!(
        usage.contains("<polyline fill=\"none\" opacity=\"1\" stroke=\"#0072B2\""),
        "the requests line is drawn: {usage}"
    );
    assert_eq!(
        status(&get(w.web, "/apis/echo/usage", "").await),
        303,
        "signed out: sign in"
    );
}

#[tokio::test]
async fn the_relay_times_out_and_a_revoked_key_is_refused() {
    let w = world().await;
    let cookie = sign_in(w.web, "dev@dvla.example").await;
    let page = get(w.web, CONSOLE, &cookie).await;
    let form = console_form(&csrf(&page), &w.sandbox_key, "{\"name\": \"Ada\"}");

    // A "gateway" that accepts connections and never answers: the relay gives up in time.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let client = garrison_pki::CertificateAuthority::generate("Another CA")
        .unwrap()
        .issue_client("console")
        .unwrap();
    w.portal.set_console(
        ConsoleSettings::new(
            silent_addr,
            "localhost",
            &w.ca,
            &client.cert_pem,
            &client.key_pem,
            [("echo-sandbox".to_owned(), "/sandbox".to_owned())].into(),
            Duration::from_secs(1),
        )
        .unwrap(),
    );
    let started = std::time::Instant::now();
    let timed_out = post(w.web, CONSOLE, &form, &cookie).await;
    assert_eq!(status(&timed_out), 504, "{timed_out}");
    assert!(timed_out.contains("did not answer in time (1 s)"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the timeout"
    );

    // A revoked sandbox key is refused before anything is sent.
    let key = w
        .store
        .keys(w.app)
        .unwrap()
        .into_iter()
        .find(|k| k.environment == Environment::Test)
        .unwrap();
    assert!(w.store.revoke_key(key.id).unwrap());
    let revoked = post(w.web, CONSOLE, &form, &cookie).await;
    assert_eq!(status(&revoked), 403, "{revoked}");
    assert!(revoked.contains("not a live sandbox key"), "{revoked}");
}
