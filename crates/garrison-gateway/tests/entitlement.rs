//! Entitlements over mutual TLS: a consumer receives only the response fields its subscription
//! lists, may call only the operations it lists, must state a purpose it lists — and the audit
//! trail records which fields were disclosed.

mod common;

use bytes::Bytes;
use common::{Harness, Setup, assert_problem};
use garrison_audit::SearchFilter;
use garrison_testkit::client::{Protocol, json, request};
use http::Response;
use serde_json::json;

fn setup() -> Setup {
    Setup {
        audit: true,
        extra_routes: r#"  - name: details-get
    group: details
    methods: [GET]
    path: /details/{id}
    upstream: main
    audit: true
  - name: details-post
    group: details
    methods: [POST]
    path: /details/{id}
    upstream: main
"#
        .to_owned(),
        // carol: entitled to two fields of the answer, one operation, one purpose. bob: the
        // whole answer.
        extra_subscriptions: r#"  - consumer: carol
    group: details
    plan: standard
    operations: [details-get]
    fields: [method, headers.context, headers.accept-encoding]
    purposes: [DVLA-LICENSING]
  - consumer: bob
    group: details
    plan: standard
"#
        .to_owned(),
        ..Setup::default()
    }
}

async fn call(h: &Harness, who: &str, method: &str, context: Option<&str>) -> Response<Bytes> {
    let key = h.consumer(who).key.clone();
    let mut req = request(method, "/details/QQ123456C", Some(&key), Bytes::new());
    if let Some(context) = context {
        req.headers_mut()
            .insert("context", context.parse().expect("value"));
    }
    // carol has no bound certificate; she calls with alice's transport identity.
    let client = if who == "carol" { "alice" } else { who };
    h.client(client, Protocol::Http1)
        .send(h.addr, req)
        .await
        .expect("response")
}

/// `GET /details/QQ123456C` as `who` with `headers`.
async fn call_with(h: &Harness, who: &str, headers: &[(&'static str, &str)]) -> Response<Bytes> {
    let key = h.consumer(who).key.clone();
    let mut req = request("GET", "/details/QQ123456C", Some(&key), Bytes::new());
    for (name, value) in headers {
        req.headers_mut()
            .append(*name, value.parse().expect("value"));
    }
    let client = if who == "carol" { "alice" } else { who };
    h.client(client, Protocol::Http1)
        .send(h.addr, req)
        .await
        .expect("response")
}

#[tokio::test]
async fn a_consumer_receives_only_what_it_is_entitled_to_and_the_audit_says_what() {
    let h = Harness::start(setup()).await;

    let response = call(&h, "carol", "GET", Some("DVLA-LICENSING")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(&response),
        json!({"method": "GET", "headers": {"context": "DVLA-LICENSING"}}),
        "the path (holding an identifier), the other headers and the rest are removed"
    );
    assert!(!String::from_utf8_lossy(response.body()).contains("QQ123456C"));

    // An error answer is reduced too: to its problem members, or to no body at all — an
    // error can carry a record (or a list of candidates) as well as an answer can.
    let failed = call_with(
        &h,
        "carol",
        &[
            ("context", "DVLA-LICENSING"),
            ("test-status", "409"),
            ("test-content-type", "application/json"),
        ],
    )
    .await;
    assert_eq!(failed.status(), 409);
    assert_eq!(json(&failed), json!({}), "the echo holds no problem member");
    let page = call_with(
        &h,
        "carol",
        &[
            ("context", "DVLA-LICENSING"),
            ("test-status", "500"),
            ("test-content-type", "text/html"),
        ],
    )
    .await;
    assert_eq!(page.status(), 500);
    assert!(page.body().is_empty(), "{:?}", page.body());
    // An answer without a body passes as it is; a compressed one is never asked for.
    let empty = call_with(
        &h,
        "carol",
        &[("context", "DVLA-LICENSING"), ("test-status", "204")],
    )
    .await;
    assert_eq!(empty.status(), 204);
    let plain = call_with(
        &h,
        "carol",
        &[("context", "DVLA-LICENSING"), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(plain.status(), 200, "{:?}", plain.body());
    assert_eq!(
        json(&plain)["headers"].get("accept-encoding"),
        None,
        "the upstream was not asked for a compressed answer"
    );

    // Another consumer without a field list gets the whole answer.
    let whole = call(&h, "bob", "GET", None).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(json(&whole)["path"], "/details/QQ123456C");

    // Outside the entitlement: another operation, another purpose, no purpose.
    let before = h.upstream.requests();
    assert_problem(
        &call(&h, "carol", "POST", Some("DVLA-LICENSING")).await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    assert_problem(
        &call(&h, "carol", "GET", Some("MARKETING")).await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    // Stated twice, a purpose could be checked as one and acted on as the other.
    let twice = call_with(
        &h,
        "carol",
        &[("context", "DVLA-LICENSING"), ("context", "MARKETING")],
    )
    .await;
    assert_problem(&twice, 400, "REQUEST_INVALID");
    assert_eq!(json(&twice)["errors"][0]["location"], "header.context");
    let missing = call(&h, "carol", "GET", None).await;
    assert_problem(&missing, 400, "REQUEST_INVALID");
    assert_eq!(json(&missing)["errors"][0]["location"], "header.context");
    assert_eq!(
        h.upstream.requests(),
        before,
        "no refused call reached the upstream"
    );

    let dir = h.dir.join("audit");
    let Harness { gateway, .. } = h;
    gateway.shutdown(std::time::Duration::from_secs(5)).await;
    let records: Vec<_> = garrison_audit::search(&dir, &SearchFilter::default())
        .expect("search")
        .into_iter()
        .map(|f| f.record)
        .filter(|r| r.operation == "details-get")
        .collect();
    let carol_allowed = records
        .iter()
        .find(|r| r.consumer.as_deref() == Some("carol") && r.upstream_status == Some(200))
        .expect("carol's allowed call is recorded");
    let mut disclosed = carol_allowed.disclosed_fields.clone();
    disclosed.sort();
    assert_eq!(disclosed, ["headers.context", "method"]);
    let bob = records
        .iter()
        .find(|r| r.consumer.as_deref() == Some("bob"))
        .expect("bob's call is recorded");
    assert_eq!(bob.disclosed_fields, ["*"], "the whole answer");
    let refused = records
        .iter()
        .filter(|r| r.consumer.as_deref() == Some("carol") && r.upstream_status.is_none())
        .count();
    assert_eq!(
        refused, 2,
        "the refused GETs are recorded, with nothing disclosed"
    );
    assert!(
        records
            .iter()
            .filter(|r| r.upstream_status.is_none())
            .all(|r| r.disclosed_fields.is_empty())
    );
}
