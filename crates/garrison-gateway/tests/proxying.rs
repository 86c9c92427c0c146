//! Forwarding: header hygiene, request ids and trace context, routing errors, upstream
//! failures (refused, hanging, reset), retries, the circuit breaker and body limits.

mod common;

use bytes::Bytes;
use common::{Harness, Setup, assert_problem};
use garrison_testkit::client::{Protocol, get, json, request};
use http::Request;
use http_body_util::Full;

fn with_headers(path: &str, key: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut req = get(path, Some(key));
    for (name, value) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            http::HeaderValue::from_str(value).expect("value"),
        );
    }
    req
}

#[tokio::test]
async fn forged_identity_and_hop_by_hop_headers_never_reach_the_upstream() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    let response = h
        .client("alice", Protocol::Http1)
        .send(
            h.addr,
            with_headers(
                "/citizens/9",
                &key,
                &[
                    ("x-forwarded-for", "6.6.6.6"),
                    ("forwarded", "for=6.6.6.6"),
                    ("x-client-cert", "forged"),
                    ("x-ssl-client-s-dn", "CN=bob"),
                    ("true-client-ip", "6.6.6.6"),
                    ("x-original-url", "/admin/export"),
                    ("x-http-method-override", "DELETE"),
                    ("garrison-consumer", "bob"),
                    ("connection", "keep-alive, x-private"),
                    ("x-private", "hop"),
                    ("keep-alive", "timeout=5"),
                    ("x-request-id", "caller-chose-this-id"),
                    (
                        "traceparent",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    ),
                ],
            ),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let seen = &json(&response)["headers"];
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["forwarded"], "for=127.0.0.1;proto=https");
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(seen["x-forwarded-host"], "localhost");
    assert_eq!(seen["garrison-consumer"], "alice");
    assert!(seen.get("x-client-cert").is_none());
    for forged in [
        "x-ssl-client-s-dn",
        "true-client-ip",
        "x-original-url",
        "x-http-method-override",
    ] {
        assert!(seen.get(forged).is_none(), "{forged} reached the upstream");
    }
    assert!(seen.get("x-private").is_none());
    assert!(seen.get("keep-alive").is_none());
    assert_eq!(seen["x-request-id"], "caller-chose-this-id");
    assert_eq!(response.headers()["x-request-id"], "caller-chose-this-id");
    let trace = seen["traceparent"].as_str().expect("traceparent");
    assert!(
        trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{trace}"
    );
    assert!(
        !trace.contains("00f067aa0ba902b7"),
        "the gateway's hop gets its own parent id"
    );
    assert_eq!(
        response.headers()["x-upstream"],
        "test",
        "end-to-end headers pass back"
    );
}

#[tokio::test]
async fn unknown_paths_methods_and_ambiguous_paths_get_problems() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    let client = h.client("alice", Protocol::Http2);
    let not_found = client
        .send(h.addr, get("/nothing/here", Some(&key)))
        .await
        .expect("response");
    assert_problem(&not_found, 404, "MATCHING_RESOURCE_NOT_FOUND");
    let wrong_method = client
        .send(
            h.addr,
            request("DELETE", "/citizens/1", Some(&key), Bytes::new()),
        )
        .await
        .expect("response");
    assert_problem(&wrong_method, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong_method.headers()["allow"], "GET, POST");
    for path in [
        "/citizens/..%2Fadmin",
        "/citizens/..;/admin",
        "/citizens/%65xport",
        "/citizens/%2e%2e",
        "/public//status",
    ] {
        let response = client
            .send(h.addr, get(path, Some(&key)))
            .await
            .expect("response");
        assert_problem(&response, 400, "BAD_REQUEST");
    }
    assert_eq!(h.upstream.requests(), 0);
}

#[tokio::test]
async fn an_upstream_that_refuses_hangs_or_resets_maps_to_502_504_502() {
    let h = Harness::start(Setup::default()).await;
    let refused = h.get_as("alice", "/down/1").await;
    assert_problem(&refused, 502, "BAD_GATEWAY");
    let hang = h.get_as("alice", "/slow/hang").await;
    assert_problem(&hang, 504, "GATEWAY_TIMEOUT");
    let reset = h.get_as("alice", "/boom/reset").await;
    assert_problem(&reset, 502, "BAD_GATEWAY");
    for response in [&refused, &hang, &reset] {
        let detail = json(response)["detail"]
            .as_str()
            .expect("detail")
            .to_owned();
        assert!(
            !detail.contains("127.0.0.1"),
            "no internal address: {detail}"
        );
    }
}

#[tokio::test]
async fn the_circuit_breaker_opens_after_consecutive_failures() {
    let h = Harness::start(Setup {
        breaker_failures: 2,
        ..Setup::default()
    })
    .await;
    assert_problem(&h.get_as("alice", "/down/1").await, 502, "BAD_GATEWAY");
    assert_problem(&h.get_as("alice", "/down/2").await, 502, "BAD_GATEWAY");
    let open = h.get_as("alice", "/down/3").await;
    assert_problem(&open, 503, "SERVICE_UNAVAILABLE");
    let admin = h.gateway.admin_addr();
    let metrics = admin_get(admin, "/metrics").await;
    assert!(
        metrics.contains(&format!(
            "garrison_upstream_target_up{{upstream=\"down\",target=\"{}\"}} 0",
            h.refused
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_idempotent_request_is_retried_on_another_target_when_one_refuses() {
    let h = Harness::start(Setup::default()).await;
    // The pair upstream has a refusing target and a working one, tried round-robin: every GET
    // must still succeed.
    for i in 0..6 {
        let response = h.get_as("alice", &format!("/pair/{i}")).await;
        assert_eq!(response.status(), 200, "request {i}");
    }
    assert_eq!(
        h.upstream.requests(),
        6,
        "each request reached the upstream once"
    );
}

#[tokio::test]
async fn bodies_stream_within_their_limit_and_are_refused_past_it() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    let client = h.client("alice", Protocol::Http1);
    let small = client
        .send(
            h.addr,
            request(
                "POST",
                "/citizens/1",
                Some(&key),
                Bytes::from(vec![b'a'; 1000]),
            ),
        )
        .await
        .expect("response");
    assert_eq!(small.status(), 200);
    assert_eq!(json(&small)["bodyBytes"], 1000);
    let large = client
        .send(
            h.addr,
            request(
                "POST",
                "/citizens/1",
                Some(&key),
                Bytes::from(vec![b'a'; 2048]),
            ),
        )
        .await
        .expect("response");
    assert_problem(&large, 413, "PAYLOAD_TOO_LARGE");
    // A 3 MB upload streams through to the route that allows 4 MB, over h2.
    let upload = h
        .client("alice", Protocol::Http2)
        .send(
            h.addr,
            request(
                "PUT",
                "/uploads/1",
                Some(&key),
                Bytes::from(vec![b'z'; 3_000_000]),
            ),
        )
        .await
        .expect("response");
    assert_eq!(upload.status(), 200);
    assert_eq!(json(&upload)["bodyBytes"], 3_000_000);
}

async fn admin_get(admin: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(admin).await.expect("admin");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn keep_alive_connections_are_reused_and_a_closed_one_costs_no_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that answers one request per connection and then closes it, without saying
    // so: the gateway keeps the connection and finds it closed on the next request.
    let closing = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let closing_addr = closing.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = closing.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head and the 5-byte body the test sends.
                while !head.windows(4).any(|w| w == b"\r\n\r\n") || !head.ends_with(b"hello") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                // Dropping the stream closes the connection.
            });
        }
    });
    let h = Harness::start(Setup {
        extra_upstreams: format!("  - name: closing\n    targets: [{closing_addr}]\n"),
        extra_routes: "  - name: closing\n    group: citizen\n    methods: [POST]\n    path: /closing\n    upstream: closing\n".into(),
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let mut sender = h
        .client("alice", Protocol::Http1)
        .open(h.addr)
        .await
        .expect("connect");
    for i in 0..5 {
        let response = sender
            .send(request(
                "POST",
                "/closing",
                Some(&key),
                Bytes::from_static(b"hello"),
            ))
            .await
            .expect("response");
        assert_eq!(
            response.status(),
            200,
            "POST {i} must not fail: {:?}",
            response.body()
        );
        assert_eq!(response.body().as_ref(), b"ok");
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 5);

    // A well-behaved upstream: ten requests, one connection.
    let before = h.upstream.connections();
    for _ in 0..10 {
        let ok = sender
            .send(get("/citizens/1", Some(&key)))
            .await
            .expect("response");
        assert_eq!(ok.status(), 200);
    }
    assert_eq!(
        h.upstream.connections() - before,
        1,
        "one kept-alive connection"
    );
}
