//! Who may call: certificates, keys, bindings, allow-lists, subscriptions and rate limits,
//! each refused with its problem code — through real mTLS connections.

mod common;

use common::{Harness, IMPORTED_KEY, Setup, assert_problem};
use garrison_testkit::client::{Protocol, TlsClient, get, json};
use garrison_testkit::pki::TestPki;

#[tokio::test]
async fn the_happy_path_over_mutual_tls_on_http1_and_h2() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let mut sender = h
            .client("alice", protocol)
            .open(h.addr)
            .await
            .expect("connect");
        assert_eq!(sender.protocol(), protocol, "ALPN negotiated {protocol:?}");
        let response = sender
            .send(get("/citizens/123?benefitType=pensions_credit", Some(&key)))
            .await
            .expect("response");
        assert_eq!(response.status(), 200, "{protocol:?}");
        let expected_version = match protocol {
            Protocol::Http1 => http::Version::HTTP_11,
            Protocol::Http2 => http::Version::HTTP_2,
        };
        assert_eq!(response.version(), expected_version);
        let echo = json(&response);
        assert_eq!(echo["path"], "/citizens/123");
        assert_eq!(
            echo["uri"], "/citizens/123?benefitType=pensions_credit",
            "origin-form upstream, whatever the caller's protocol"
        );
        assert_eq!(echo["query"], "benefitType=pensions_credit");
        assert_eq!(echo["headers"]["garrison-consumer"], "alice");
        assert!(
            echo["headers"].get("x-api-key").is_none(),
            "the key never reaches the upstream"
        );
        assert_eq!(
            echo["headers"]["x-request-id"],
            response.headers()["x-request-id"].to_str().expect("ascii")
        );
        assert!(response.headers().contains_key("ratelimit-policy"));
        assert!(response.headers().contains_key("ratelimit"));
    }
}

#[tokio::test]
async fn an_imported_plaintext_key_authenticates_its_consumer() {
    let h = Harness::start(Setup::default()).await;
    let response = h
        .anonymous_client(Protocol::Http1)
        .send(h.addr, get("/citizens/1", Some(IMPORTED_KEY)))
        .await;
    // The listener requires a certificate: use carol's (frank is not bound to one).
    assert!(response.is_err(), "no certificate, no connection");
    let response = h
        .client("carol", Protocol::Http1)
        .send(h.addr, get("/citizens/1", Some(IMPORTED_KEY)))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response)["headers"]["garrison-consumer"], "frank");
}

#[tokio::test]
async fn no_client_certificate_or_one_from_another_ca_fails_the_handshake() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    let anonymous = h
        .anonymous_client(Protocol::Http1)
        .send(h.addr, get("/citizens/1", Some(&key)))
        .await;
    assert!(anonymous.is_err(), "got {anonymous:?}");
    let stranger = TestPki::untrusted_client("mallory");
    let foreign = TlsClient::new(&h.pki.ca.cert().cert_pem, Some(&stranger), Protocol::Http1)
        .send(h.addr, get("/citizens/1", Some(&key)))
        .await;
    assert!(foreign.is_err(), "got {foreign:?}");
    assert_eq!(h.upstream.requests(), 0);
}

#[tokio::test]
async fn a_valid_certificate_bound_to_another_consumer_is_forbidden() {
    let h = Harness::start(Setup::default()).await;
    let alice_key = h.consumer("alice").key.clone();
    let response = h
        .client("bob", Protocol::Http1)
        .send(h.addr, get("/citizens/1", Some(&alice_key)))
        .await
        .expect("response");
    assert_problem(&response, 403, "RESOURCE_FORBIDDEN");
    assert!(
        json(&response)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("certificate"))
    );
    assert_eq!(h.upstream.requests(), 0);
}

#[tokio::test]
async fn optional_client_certificates_still_bind_consumers_that_have_one() {
    let h = Harness::start(Setup {
        client_certificates: "optional",
        ..Setup::default()
    })
    .await;
    let alice_key = h.consumer("alice").key.clone();
    let carol_key = h.consumer("carol").key.clone();
    let anonymous = h.anonymous_client(Protocol::Http2);
    let bound_without_cert = anonymous
        .send(h.addr, get("/citizens/1", Some(&alice_key)))
        .await
        .expect("response");
    assert_problem(&bound_without_cert, 403, "RESOURCE_FORBIDDEN");
    // frank is unbound and subscribed: no certificate needed on an optional listener.
    let unbound = anonymous
        .send(h.addr, get("/citizens/1", Some(IMPORTED_KEY)))
        .await
        .expect("response");
    assert_eq!(unbound.status(), 200);
    // carol is unbound but not subscribed.
    let unsubscribed = anonymous
        .send(h.addr, get("/citizens/1", Some(&carol_key)))
        .await
        .expect("response");
    assert_problem(&unsubscribed, 403, "RESOURCE_FORBIDDEN");
}

#[tokio::test]
async fn missing_malformed_unknown_and_revoked_keys_are_refused() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("alice", Protocol::Http1);
    let send = |key: Option<String>| {
        let client = client.clone();
        let addr = h.addr;
        async move {
            client
                .send(addr, get("/citizens/1", key.as_deref()))
                .await
                .expect("response")
        }
    };
    assert_problem(&send(None).await, 401, "MISSING_CREDENTIALS");

    let mut typo = h.consumer("alice").key.clone().into_bytes();
    typo[15] = if typo[15] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).expect("ascii");
    assert_problem(&send(Some(typo)).await, 401, "INVALID_CREDENTIALS");
    assert_problem(
        &send(Some("grn_live_short".into())).await,
        401,
        "INVALID_CREDENTIALS",
    );
    let unknown = garrison_core::ApiKey::generate(garrison_core::Environment::Live)
        .expect("key")
        .expose()
        .to_owned();
    assert_problem(&send(Some(unknown)).await, 401, "INVALID_CREDENTIALS");
    // dave's key is revoked; dave has no bound certificate, so alice's connection is fine.
    let revoked = h.consumer("dave").key.clone();
    let response = send(Some(revoked)).await;
    assert_problem(&response, 401, "INVALID_CREDENTIALS");
    assert_eq!(
        json(&response)["detail"],
        json(&send(Some("nonsense-key-value".into())).await)["detail"],
        "a revoked key reads exactly like an unknown one"
    );
    assert_eq!(h.upstream.requests(), 0);
}

#[tokio::test]
async fn not_subscribed_and_outside_the_allow_lists_are_forbidden() {
    let h = Harness::start(Setup::default()).await;
    let carol = h.get_as("carol", "/citizens/1").await;
    assert_problem(&carol, 403, "RESOURCE_FORBIDDEN");
    assert!(
        json(&carol)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("subscribed"))
    );
    // erin may only call from 10.0.0.0/8; the test runs from 127.0.0.1.
    let erin = h.get_as("erin", "/citizens/1").await;
    assert_problem(&erin, 403, "RESOURCE_FORBIDDEN");
    assert!(
        json(&erin)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("address"))
    );
    assert_eq!(h.upstream.requests(), 0);

    let closed = Harness::start(Setup {
        global_allow: "[10.0.0.0/8]",
        ..Setup::default()
    })
    .await;
    let response = closed.get_as("alice", "/citizens/1").await;
    assert_problem(&response, 403, "RESOURCE_FORBIDDEN");
    let public = closed
        .client("alice", Protocol::Http1)
        .send(closed.addr, get("/public/status", None))
        .await
        .expect("response");
    assert_problem(&public, 403, "RESOURCE_FORBIDDEN");
    // Outside the allow-list even an unknown path is forbidden, not 404: nothing is revealed.
    let unknown = closed
        .client("alice", Protocol::Http1)
        .send(closed.addr, get("/no/such/path", None))
        .await
        .expect("response");
    assert_problem(&unknown, 403, "RESOURCE_FORBIDDEN");
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_spends_the_allowance() {
    let h = Harness::start(Setup {
        rate: "1/min",
        burst: 1,
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let client = h.client("alice", Protocol::Http1);
    let large = client
        .send(
            h.addr,
            garrison_testkit::client::request(
                "POST",
                "/citizens/1",
                Some(&key),
                bytes::Bytes::from(vec![b'a'; 4096]),
            ),
        )
        .await
        .expect("response");
    assert_problem(&large, 413, "PAYLOAD_TOO_LARGE");
    let first = client
        .send(h.addr, get("/citizens/1", Some(&key)))
        .await
        .expect("response");
    assert_eq!(
        first.status(),
        200,
        "the 413 did not use the only request of the burst"
    );
}

#[tokio::test]
async fn over_the_rate_is_throttled_with_retry_after_and_ratelimit_headers() {
    let h = Harness::start(Setup {
        rate: "1/min",
        burst: 3,
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let mut sender = h
        .client("alice", Protocol::Http2)
        .open(h.addr)
        .await
        .expect("connect");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let ok = sender
            .send(get("/citizens/1", Some(&key)))
            .await
            .expect("response");
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["ratelimit-policy"], "\"standard\";q=3;w=180");
        remaining.push(
            ok.headers()["ratelimit"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        );
    }
    assert!(
        remaining[0].starts_with("\"standard\";r=2;t="),
        "{remaining:?}"
    );
    assert!(
        remaining[2].starts_with("\"standard\";r=0;t="),
        "{remaining:?}"
    );
    let throttled = sender
        .send(get("/citizens/1", Some(&key)))
        .await
        .expect("response");
    assert_problem(&throttled, 429, "MESSAGE_THROTTLED_OUT");
    let retry: u64 = throttled.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert!(throttled.headers().contains_key("ratelimit-policy"));
    assert_eq!(h.upstream.requests(), 3);
    // Another consumer has its own allowance.
    assert_eq!(h.get_as("bob", "/citizens/1").await.status(), 200);
}

#[tokio::test]
async fn public_routes_need_no_key_but_still_a_permitted_address() {
    let h = Harness::start(Setup::default()).await;
    let response = h
        .client("carol", Protocol::Http1)
        .send(h.addr, get("/public/status", None))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert!(
        json(&response)["headers"]
            .get("garrison-consumer")
            .is_none()
    );
}

#[tokio::test]
async fn tls_1_2_is_accepted_by_default_and_refused_when_the_listener_requires_1_3() {
    let tls12 = |h: &Harness| {
        TlsClient::with_versions(
            &h.pki.ca.cert().cert_pem,
            Some(&h.consumer("alice").cert),
            Protocol::Http1,
            &[&rustls::version::TLS12],
        )
    };
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    let ok = tls12(&h)
        .send(h.addr, get("/citizens/1", Some(&key)))
        .await
        .expect("TLS 1.2 by default");
    assert_eq!(ok.status(), 200);

    let strict = Harness::start(Setup {
        min_tls_version: "1.3",
        ..Setup::default()
    })
    .await;
    let key = strict.consumer("alice").key.clone();
    assert!(
        tls12(&strict)
            .send(strict.addr, get("/citizens/1", Some(&key)))
            .await
            .is_err(),
        "a TLS 1.2 client is refused"
    );
    assert_eq!(strict.get_as("alice", "/citizens/1").await.status(), 200);
}
