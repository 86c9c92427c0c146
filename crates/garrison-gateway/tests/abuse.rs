//! Limits against abuse: request smuggling, slow clients, oversized heads, connection floods.
//! These tests speak raw bytes over real TLS so they can send what no well-behaved client
//! would.

mod common;

use std::time::Duration;

use common::{Harness, Setup};
use garrison_testkit::client::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Writes `raw` on a fresh TLS connection as alice and reads until the server closes or
/// `wait` passes; returns what was read and whether the server closed.
async fn exchange_raw(h: &Harness, raw: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = h
        .client("alice", Protocol::Http1)
        .connect(h.addr)
        .await
        .expect("connect");
    stream.write_all(raw).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

fn statuses(response: &str) -> Vec<u16> {
    response
        .match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| response.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

#[tokio::test]
async fn smuggling_attempts_never_reach_the_upstream_as_a_second_request() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    // The inner request carries no key: if the upstream ever sees its path, the gateway and the
    // upstream disagreed about where a request ends.
    let smuggled = "GET /citizens/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let transfer_encodings = [
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: xchunked\r\n",
        "Transfer-Encoding : chunked\r\n",
        "Transfer-Encoding: chunked, identity\r\n",
        "Transfer-Encoding:\tchunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        " Transfer-Encoding: chunked\r\n",
    ];
    for te in transfer_encodings {
        // CL.TE: Content-Length covers only "0\r\n\r\n"; TE.CL: the chunked body hides the rest.
        let cl_te = format!(
            "POST /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\nContent-Length: 5\r\n{te}\r\n0\r\n\r\n{smuggled}"
        );
        let te_cl = format!(
            "POST /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\n{te}Content-Length: 4\r\n\r\n{:x}\r\n{smuggled}\r\n0\r\n\r\n",
            smuggled.len()
        );
        for raw in [cl_te, te_cl] {
            let (response, _) = exchange_raw(&h, raw.as_bytes(), Duration::from_secs(2)).await;
            let codes = statuses(&response);
            assert!(!codes.is_empty(), "no response to {te:?}: {response:?}");
            // Whatever the gateway made of it, a second request (if it saw one) had no key.
            assert!(
                codes.iter().skip(1).all(|&c| c == 401),
                "{te:?} → {codes:?}"
            );
        }
    }
    let paths = h.upstream.paths();
    assert!(
        !paths.iter().any(|p| p.contains("smuggled")),
        "the upstream saw a smuggled request: {paths:?}"
    );
}

#[tokio::test]
async fn a_client_that_sends_its_head_too_slowly_is_disconnected() {
    let h = Harness::start(Setup::default()).await;
    // Half a request head, then silence: header_read_timeout is 1s in the test configuration.
    let started = std::time::Instant::now();
    let (response, closed) = exchange_raw(
        &h,
        b"GET /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-",
        Duration::from_secs(5),
    )
    .await;
    assert!(closed, "the server must close the connection");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!response.contains("200 OK"), "{response}");
    assert_eq!(h.upstream.requests(), 0);
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_and_a_chunked_body_past_the_limit_gets_413() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    // Promises 100 bytes, sends 10, stalls: body_timeout is 1s.
    let stalled = format!(
        "POST /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\nContent-Length: 100\r\n\r\n0123456789"
    );
    let (response, _) = exchange_raw(&h, stalled.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(statuses(&response), vec![408], "{response}");
    assert!(response.contains("REQUEST_TIMEOUT"), "{response}");

    // No Content-Length: the limit (1024) is enforced while streaming.
    let chunk = "a".repeat(600);
    let chunked = format!(
        "POST /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let (response, _) = exchange_raw(&h, chunked.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(statuses(&response), vec![413], "{response}");
    assert!(response.contains("PAYLOAD_TOO_LARGE"), "{response}");
}

#[tokio::test]
async fn oversized_and_overnumerous_headers_are_refused() {
    let h = Harness::start(Setup::default()).await;
    let key = h.consumer("alice").key.clone();
    let huge = format!(
        "GET /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\nx-filler: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    let (response, closed) = exchange_raw(&h, huge.as_bytes(), Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(statuses(&response), vec![431], "{response}");

    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let numerous =
        format!("GET /citizens/1 HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\n{many}\r\n");
    let (response, closed) = exchange_raw(&h, numerous.as_bytes(), Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(statuses(&response), vec![431], "{response}");
    assert_eq!(h.upstream.requests(), 0);
}

#[tokio::test]
async fn connections_over_the_per_address_limit_are_dropped() {
    let h = Harness::start(Setup {
        limits: "    max_connections_per_ip: 3",
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let client = h.client("alice", Protocol::Http1);
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut sender = client.open(h.addr).await.expect("within the limit");
        let ok = sender
            .send(garrison_testkit::client::get("/citizens/1", Some(&key)))
            .await
            .expect("response");
        assert_eq!(ok.status(), 200);
        open.push(sender);
    }
    let fourth = client
        .send(
            h.addr,
            garrison_testkit::client::get("/citizens/1", Some(&key)),
        )
        .await;
    assert!(fourth.is_err(), "the fourth connection must be refused");
    drop(open);
    // Places are freed when connections close; poll until a new one is accepted.
    let mut accepted = false;
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..100 {
        poll.tick().await;
        if let Ok(response) = client
            .send(
                h.addr,
                garrison_testkit::client::get("/citizens/1", Some(&key)),
            )
            .await
        {
            accepted = response.status() == 200;
            break;
        }
    }
    assert!(accepted, "a connection is accepted again once others close");
}

/// Every address together is bounded too: with the per-address limit far away, the total
/// refuses the third connection, and frees its place when one closes.
#[tokio::test]
async fn connections_over_the_total_limit_are_dropped() {
    let h = Harness::start(Setup {
        limits: "    max_connections: 2",
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let client = h.client("alice", Protocol::Http1);
    let get = || garrison_testkit::client::get("/citizens/1", Some(&key));
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut sender = client.open(h.addr).await.expect("within the limit");
        assert_eq!(sender.send(get()).await.expect("response").status(), 200);
        open.push(sender);
    }
    assert!(
        client.send(h.addr, get()).await.is_err(),
        "the third connection must be refused"
    );
    drop(open.pop());
    let mut accepted = false;
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..100 {
        poll.tick().await;
        if let Ok(response) = client.send(h.addr, get()).await {
            accepted = response.status() == 200;
            break;
        }
    }
    assert!(accepted, "a place is freed when a connection closes");
    drop(open);
}

/// The admin listener reads a body before it checks the token: a client may hold only so many
/// of its connections, and a body must arrive within the body timeout.
#[tokio::test]
async fn the_admin_listener_bounds_connections_and_slow_bodies() {
    let h = Harness::start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    let admin = h.gateway.admin_addr();
    // A body that never comes: 408 within the body timeout (1 s here), not a connection held.
    let mut slow = tokio::net::TcpStream::connect(admin)
        .await
        .expect("connect");
    let head = format!(
        "POST /admin/audit/subject-access HTTP/1.1\r\nhost: admin\r\nauthorization: Bearer {}\r\ncontent-length: 100\r\n\r\n{{",
        h.admin_token
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
            .await
            .expect("answered within the body timeout")
            .expect("read");
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        statuses(&String::from_utf8_lossy(&answer)),
        vec![408],
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // Sixteen idle connections from one address; the seventeenth is closed unread.
    let mut idle = Vec::new();
    for _ in 0..16 {
        idle.push(
            tokio::net::TcpStream::connect(admin)
                .await
                .expect("connect"),
        );
    }
    let mut over = tokio::net::TcpStream::connect(admin)
        .await
        .expect("connect");
    let _ = over
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: admin\r\n\r\n")
        .await;
    let read = tokio::time::timeout(Duration::from_secs(5), over.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "served over the limit: {read:?}"
    );
    // One of those within the limit is served; once they close, others are again.
    let within = &mut idle[0];
    within
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: admin\r\n\r\n")
        .await
        .expect("write");
    let n = within.read(&mut buf).await.expect("read");
    assert_eq!(statuses(&String::from_utf8_lossy(&buf[..n])), vec![200]);
    drop(idle);
    let mut served = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (status, _) = common::admin(admin, "GET", "/healthz", None).await;
        if status == 200 {
            served = true;
            break;
        }
    }
    assert!(served, "places are freed when connections close");
}

/// A route's timeout that falls while the client is still sending its body says nothing of the
/// upstream (it is waiting for that body): a client dripping its bodies must not open the
/// circuit breaker, which would refuse every consumer of the upstream.
#[tokio::test]
async fn a_client_dripping_its_body_does_not_open_the_circuit_for_everyone() {
    let drip = garrison_testkit::upstream::TestUpstream::start().await;
    let h = Harness::start(Setup {
        extra_upstreams: format!(
            "  - name: drip\n    targets: [{}]\n    circuit_breaker:\n      failures: 2\n      cooldown: 60s\n",
            drip.addr
        ),
        extra_routes: "  - name: drip\n    group: citizen\n    methods: [GET, POST]\n    path: /drip/{id}\n    upstream: drip\n    timeout: 200ms\n"
            .to_owned(),
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let raw = format!(
        "POST /drip/1 HTTP/1.1\r\nhost: localhost\r\nx-api-key: {key}\r\ncontent-length: 100\r\n\r\n{{"
    );
    for _ in 0..3 {
        let (response, _) = exchange_raw(&h, raw.as_bytes(), Duration::from_millis(900)).await;
        assert_eq!(statuses(&response), vec![504], "{response}");
    }
    let served = h.get_as("alice", "/drip/1").await;
    assert_eq!(served.status(), 200, "the circuit stayed closed");
    // A whole body sent to an upstream that then hangs is the upstream's failure: twice, and
    // the circuit opens.
    let whole = format!(
        "POST /drip/hang HTTP/1.1\r\nhost: localhost\r\nx-api-key: {key}\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    for _ in 0..2 {
        let (response, _) = exchange_raw(&h, whole.as_bytes(), Duration::from_millis(900)).await;
        assert_eq!(statuses(&response), vec![504], "{response}");
    }
    let refused = h.get_as("alice", "/drip/1").await;
    assert_eq!(refused.status(), 503, "the circuit opened");
}

/// An h2 client answers the gateway's pings, so `keep_alive_timeout` never closes its idle
/// connection: `idle_timeout` does, gracefully, once no request has started for a period —
/// and not while requests keep coming.
#[tokio::test]
async fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let h = Harness::start(Setup {
        limits: "    idle_timeout: 300ms",
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let client = h.client("alice", Protocol::Http2);
    let closed = |sender: &garrison_testkit::client::Sender| match sender {
        garrison_testkit::client::Sender::Http2(s) => s.is_closed(),
        garrison_testkit::client::Sender::Http1(s) => s.is_closed(),
    };

    // Busy: a request every 100 ms for four idle periods keeps it open.
    let mut busy = client.open(h.addr).await.expect("connect");
    for _ in 0..12 {
        let response = busy
            .send(garrison_testkit::client::get("/citizens/1", Some(&key)))
            .await
            .expect("the connection stays open while used");
        assert_eq!(response.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!closed(&busy));

    // Idle: closed within two periods of the last request (polled, never used).
    let started = std::time::Instant::now();
    let mut waited = tokio::time::interval(Duration::from_millis(50));
    while !closed(&busy) && started.elapsed() < Duration::from_secs(5) {
        waited.tick().await;
    }
    assert!(closed(&busy), "an idle h2 connection must be closed");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "not before a period has passed: {:?}",
        started.elapsed()
    );
    // A new connection is served as usual.
    let response = client
        .send(
            h.addr,
            garrison_testkit::client::get("/citizens/1", Some(&key)),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
}
