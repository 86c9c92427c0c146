//! The control-plane store feeds the gateway: an application's key, certificate and approved
//! subscription written to the store admit its calls over mTLS without a restart; revoking
//! the key, rejecting the purpose or presenting another certificate is refused.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, Setup, assert_problem};
use garrison_core::{ApiKey, CertFingerprint, Environment};
use garrison_gateway::GatewayOptions;
use garrison_store::{
    Decision, Lifecycle, NewApi, NewApiVersion, NewApplication, NewOrganisation, NewPlan,
    NewSubscription, NewUser, Role, SqliteStore, Store, SubscriptionStatus,
};
use garrison_testkit::client::{Protocol, TlsClient, get};
use http::HeaderValue;

/// What the test wrote to the store.
struct World {
    store: Arc<SqliteStore>,
    app: i64,
    subscription: i64,
    owner: i64,
}

fn world() -> World {
    let dir = garrison_testkit::temp_dir("gateway-store");
    let store = Arc::new(SqliteStore::open(&dir.join("control-plane.db")).expect("store"));
    let dvla = store
        .create_organisation(NewOrganisation {
            slug: "dvla".into(),
            name: "DVLA".into(),
        })
        .expect("org");
    let dwp = store
        .create_organisation(NewOrganisation {
            slug: "dwp".into(),
            name: "DWP".into(),
        })
        .expect("org");
    let developer = store
        .create_user(NewUser {
            email: "dev@dvla.example".into(),
            name: "Dev".into(),
            organisation: Some(dvla.id),
            role: Role::ConsumerDeveloper,
            password_hash: "unused".into(),
        })
        .expect("user");
    let owner = store
        .create_user(NewUser {
            email: "owner@dwp.example".into(),
            name: "Owner".into(),
            organisation: Some(dwp.id),
            role: Role::ApiOwner,
            password_hash: "unused".into(),
        })
        .expect("user");
    let app = store
        .create_application(NewApplication {
            organisation: dvla.id,
            slug: "licensing".into(),
            name: "Licensing".into(),
        })
        .expect("app");
    let api = store
        .create_api(NewApi {
            slug: "citizen".into(),
            title: "Citizen".into(),
            owner: dwp.id,
            description: "The harness's citizen routes.".into(),
            classification: garrison_store::Classification::OfficialSensitive,
            tags: vec![],
        })
        .expect("api");
    let version = store
        .create_api_version(NewApiVersion {
            api: api.id,
            version: "v1".into(),
            group: "citizen".into(),
            status: Lifecycle::Stable,
        })
        .expect("version");
    let plan = store
        .create_plan(NewPlan {
            name: "bronze".into(),
            requests: 100,
            period_seconds: 1,
            burst: 100,
        })
        .expect("plan");
    let subscription = store
        .request_subscription(NewSubscription {
            application: app.id,
            api_version: version.id,
            plan: plan.id,
            purpose: "DVLA-LICENSING".into(),
            requested_by: developer.id,
        })
        .expect("subscription");
    World {
        store,
        app: app.id,
        subscription: subscription.id,
        owner: owner.id,
    }
}

/// Sends `GET /citizens/1` with `key` and a purpose until the status is `want` (the gateway
/// recompiles in the background), for at most five seconds; returns the last response.
async fn until_status(
    h: &Harness,
    client: &TlsClient,
    key: &str,
    purpose: &str,
    want: u16,
) -> http::Response<bytes::Bytes> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut request = get("/citizens/1", Some(key));
        request
            .headers_mut()
            .insert("context", HeaderValue::from_str(purpose).expect("header"));
        let response = client.send(h.addr, request).await.expect("request");
        if response.status().as_u16() == want || tokio::time::Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_key_issued_in_the_store_admits_calls_without_a_restart_until_revoked() {
    let w = world();
    let store: Arc<dyn Store> = w.store.clone();
    let h = Harness::start_with(Setup::default(), |_| GatewayOptions {
        store: Some(store),
        ..Default::default()
    })
    .await;
    let generation = h.gateway.generation();
    let cert = h.pki.client("licensing");
    let client = TlsClient::new(&h.pki.ca.cert().cert_pem, Some(&cert), Protocol::Http1);

    // The key is issued while the gateway runs.
    let key = ApiKey::generate(Environment::Live).expect("key");
    let credential = w
        .store
        .add_key(w.app, Environment::Live, &key.expose()[..13], key.digest())
        .expect("add key");
    w.store
        .add_certificate(
            w.app,
            CertFingerprint::of_der(&cert.cert_der),
            "CN=licensing",
        )
        .expect("bind certificate");
    // Known, but not subscribed until the owner approves.
    let refused = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 403).await;
    assert_problem(&refused, 403, "RESOURCE_FORBIDDEN");
    w.store
        .decide_subscription(
            w.subscription,
            Decision {
                status: SubscriptionStatus::Approved,
                by: w.owner,
                reason: None,
                fields: None,
            },
        )
        .expect("approve");
    let admitted = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 200).await;
    assert_eq!(admitted.status(), 200, "{:?}", admitted.body());
    let echo = garrison_testkit::client::json(&admitted);
    assert_eq!(
        echo["headers"]["garrison-consumer"], "dvla/licensing",
        "the upstream learns the store application's name"
    );
    assert!(
        h.gateway.generation() > generation,
        "recompiled, not restarted"
    );

    // The subscription's purpose is the only one accepted.
    let wrong = until_status(&h, &client, key.expose(), "MARKETING", 403).await;
    assert_problem(&wrong, 403, "RESOURCE_FORBIDDEN");

    // The key is bound to its certificate: another trusted certificate is refused.
    let stranger = h.client("alice", Protocol::Http1);
    let unbound = until_status(&h, &stranger, key.expose(), "DVLA-LICENSING", 403).await;
    assert_eq!(unbound.status(), 403, "{:?}", unbound.body());

    w.store.revoke_key(credential.id).expect("revoke");
    let revoked = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 401).await;
    assert_problem(&revoked, 401, "INVALID_CREDENTIALS");

    // The configuration's own consumers were never disturbed.
    assert_eq!(h.get_as("alice", "/citizens/2").await.status(), 200);
}

#[tokio::test]
async fn a_configuration_reload_keeps_the_store_consumers() {
    let w = world();
    let key = ApiKey::generate(Environment::Live).expect("key");
    w.store
        .add_key(w.app, Environment::Live, &key.expose()[..13], key.digest())
        .expect("add key");
    w.store
        .decide_subscription(
            w.subscription,
            Decision {
                status: SubscriptionStatus::Approved,
                by: w.owner,
                reason: None,
                fields: None,
            },
        )
        .expect("approve");
    let store: Arc<dyn Store> = w.store.clone();
    let h = Harness::start_with(Setup::default(), |_| GatewayOptions {
        store: Some(store),
        ..Default::default()
    })
    .await;
    // Not bound to a certificate: any certificate of the trusted CA will do.
    let client = h.client("carol", Protocol::Http1);
    let before = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 200).await;
    assert_eq!(before.status(), 200, "{:?}", before.body());
    h.gateway.reload().expect("reload");
    let after = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 200).await;
    assert_eq!(after.status(), 200, "{:?}", after.body());
}

#[tokio::test]
async fn a_deprecated_version_announces_its_sunset_and_a_retired_one_answers_410() {
    let w = world();
    let key = ApiKey::generate(Environment::Live).expect("key");
    w.store
        .add_key(w.app, Environment::Live, &key.expose()[..13], key.digest())
        .expect("add key");
    w.store
        .decide_subscription(
            w.subscription,
            Decision {
                status: SubscriptionStatus::Approved,
                by: w.owner,
                reason: None,
                fields: None,
            },
        )
        .expect("approve");
    let store: Arc<dyn Store> = w.store.clone();
    let h = Harness::start_with(Setup::default(), |_| GatewayOptions {
        store: Some(store),
        ..Default::default()
    })
    .await;
    let client = h.client("carol", Protocol::Http1);
    let stable = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 200).await;
    assert_eq!(stable.status(), 200, "{:?}", stable.body());
    assert!(stable.headers().get("deprecation").is_none());

    let version = w
        .store
        .subscription(w.subscription)
        .expect("read")
        .expect("subscription")
        .api_version;
    let api = w
        .store
        .api_version(version)
        .expect("read")
        .expect("version")
        .api;
    let v2 = w
        .store
        .create_api_version(NewApiVersion {
            api,
            version: "v2".into(),
            group: "citizen-v2".into(),
            status: Lifecycle::Stable,
        })
        .expect("v2");
    w.store
        .set_lifecycle(
            version,
            garrison_store::LifecycleChange {
                status: Lifecycle::Deprecated,
                sunset: Some("2027-03-31".into()),
                successor: Some(v2.id),
            },
        )
        .expect("deprecate");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let deprecated = loop {
        let response = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 200).await;
        if response.headers().contains_key("deprecation") || tokio::time::Instant::now() > deadline
        {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(deprecated.status(), 200, "still callable until its sunset");
    let since = deprecated.headers()["deprecation"].to_str().expect("ascii");
    assert!(
        since.starts_with('@') && since[1..].parse::<i64>().is_ok(),
        "{since}"
    );
    assert_eq!(
        deprecated.headers()["sunset"],
        "Wed, 31 Mar 2027 23:59:59 GMT"
    );
    // Refusals of a deprecated version carry the announcement too.
    let unknown = until_status(&h, &client, "grn_test_unknown", "DVLA-LICENSING", 401).await;
    assert_eq!(unknown.headers()["sunset"], "Wed, 31 Mar 2027 23:59:59 GMT");

    w.store
        .set_lifecycle(
            version,
            garrison_store::LifecycleChange {
                status: Lifecycle::Retired,
                sunset: Some("2027-03-31".into()),
                successor: Some(v2.id),
            },
        )
        .expect("retire");
    let gone = until_status(&h, &client, key.expose(), "DVLA-LICENSING", 410).await;
    assert_problem(&gone, 410, "API_VERSION_RETIRED");
    let body = garrison_testkit::client::json(&gone);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("citizen-v2"),
        "{body}"
    );
    // Retired means retired for everyone, before any credential is looked at.
    let anonymous = h
        .anonymous_client(Protocol::Http1)
        .send(h.addr, get("/citizens/1", None))
        .await;
    // The listener requires client certificates: without one the handshake itself fails.
    assert!(anonymous.is_err() || anonymous.is_ok_and(|r| r.status() == 410));
    let alice = h.get_as("alice", "/citizens/3").await;
    assert_problem(&alice, 410, "API_VERSION_RETIRED");
}

/// A mocked API: the sandbox a store application's sandbox key may call at once.
const PING: &str = r#"openapi: 3.1.0
info: {title: Ping, version: 1.0.0}
paths:
  /ping:
    get:
      operationId: ping
      responses:
        '200':
          description: Pong.
          content:
            application/json:
              schema:
                type: object
                required: [pong]
                properties:
                  pong: {type: boolean}
              example: {pong: true}
"#;

#[tokio::test]
async fn a_sandbox_key_calls_the_sandbox_at_once_and_nothing_else() {
    let w = world();
    let sandbox = ApiKey::generate(Environment::Test).expect("key");
    w.store
        .add_key(
            w.app,
            Environment::Test,
            &sandbox.expose()[..13],
            sandbox.digest(),
        )
        .expect("sandbox key");
    let live = ApiKey::generate(Environment::Live).expect("key");
    w.store
        .add_key(
            w.app,
            Environment::Live,
            &live.expose()[..13],
            live.digest(),
        )
        .expect("live key");
    // Approved for the real `citizen` group: only the production key may use it.
    w.store
        .decide_subscription(
            w.subscription,
            Decision {
                status: SubscriptionStatus::Approved,
                by: w.owner,
                reason: None,
                fields: None,
            },
        )
        .expect("approve");
    let store: Arc<dyn Store> = w.store.clone();
    let setup = Setup {
        files: vec![("ping.yaml", PING.to_owned())],
        apis: "  - name: ping-sandbox\n    contract: ping.yaml\n    base_path: /sandbox\n    mock: true\n"
            .to_owned(),
        ..Setup::default()
    };
    let h = Harness::start_with(setup, |_| GatewayOptions {
        store: Some(store),
        ..Default::default()
    })
    .await;
    let client = h.client("carol", Protocol::Http1);

    // The sandbox, with no subscription asked for: the sandbox key is admitted.
    let pong = client
        .send(h.addr, get("/sandbox/ping", Some(sandbox.expose())))
        .await
        .expect("request");
    assert_eq!(pong.status(), 200, "{:?}", pong.body());
    assert_eq!(garrison_testkit::client::json(&pong)["pong"], true);
    assert!(
        pong.headers()["ratelimit-policy"]
            .to_str()
            .unwrap_or("")
            .contains("sandbox")
    );

    // The real API: the sandbox key is refused even though the application is subscribed;
    // the production key is admitted.
    let refused = until_status(&h, &client, sandbox.expose(), "DVLA-LICENSING", 403).await;
    assert_problem(&refused, 403, "RESOURCE_FORBIDDEN");
    let body = garrison_testkit::client::json(&refused);
    assert!(
        body["detail"].as_str().unwrap_or("").contains("sandbox"),
        "{body}"
    );
    let admitted = until_status(&h, &client, live.expose(), "DVLA-LICENSING", 200).await;
    assert_eq!(admitted.status(), 200, "{:?}", admitted.body());

    // A consumer of the configuration keeps its own rules: not subscribed to the sandbox.
    let alice = h.get_as("alice", "/sandbox/ping").await;
    assert_problem(&alice, 403, "RESOURCE_FORBIDDEN");
}
