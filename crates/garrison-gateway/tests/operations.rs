//! What operators rely on: the access log says who did what without leaking keys or personal
//! data, and an h2 rapid-reset flood is cut off without hurting other callers.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Harness, Setup};
use garrison_testkit::client::Protocol;
use http::Request;

/// Collects what the JSON formatter writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// A current-thread runtime keeps every connection task on this thread, so the thread-local
// subscriber sees the gateway's events.
#[tokio::test(flavor = "current_thread")]
async fn the_access_log_names_route_consumer_and_status_but_no_key_path_or_query() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::start(Setup {
        access_log: true,
        ..Setup::default()
    })
    .await;
    let nino_like = "QQ123456C";
    let response = h
        .get_as("alice", &format!("/citizens/{nino_like}?lastName=Smith"))
        .await;
    assert_eq!(response.status(), 200);
    let bad_key = "grn_live_not-a-real-key-but-secret";
    let refused = h
        .client("alice", Protocol::Http1)
        .send(
            h.addr,
            garrison_testkit::client::get("/citizens/1", Some(bad_key)),
        )
        .await
        .expect("response");
    assert_eq!(refused.status(), 401);

    let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    let access: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "garrison::access")
        .collect();
    assert_eq!(access.len(), 2, "one line per request:\n{log}");
    let ok = &access[0]["fields"];
    assert_eq!(ok["route"], "citizen");
    assert_eq!(ok["consumer"], "alice");
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["method"], "GET");
    assert_eq!(ok["client_ip"], "127.0.0.1");
    assert_eq!(
        ok["request_id"],
        response.headers()["x-request-id"].to_str().expect("id")
    );
    assert!(ok["duration_us"].as_u64().is_some());
    assert_eq!(access[1]["fields"]["status"], 401);
    assert_eq!(access[1]["fields"]["consumer"], "");
    for secret in [
        nino_like,
        "Smith",
        bad_key,
        h.consumer("alice").key.as_str(),
    ] {
        assert!(!log.contains(secret), "the log leaks {secret:?}:\n{log}");
    }
}

#[tokio::test]
async fn an_h2_rapid_reset_flood_is_cut_off_and_other_callers_are_served() {
    let h = Harness::start(Setup {
        limits: "    h2_max_pending_reset_streams: 20",
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let stream = h
        .client("alice", Protocol::Http2)
        .connect(h.addr)
        .await
        .expect("connect");
    let (mut client, connection) = h2::client::handshake(stream).await.expect("h2 handshake");
    let driver = tokio::spawn(connection);
    // Open streams and reset each at once (CVE-2023-44487), far past the allowance. Bounded:
    // stops at the first refusal or after 5,000 streams.
    let mut sent = 0;
    for _ in 0..5_000 {
        let ready = match client.clone().ready().await {
            Ok(ready) => ready,
            Err(_) => break,
        };
        client = ready;
        let request = Request::get("https://localhost/slow/hang")
            .header("x-api-key", &key)
            .body(())
            .expect("request");
        match client.send_request(request, true) {
            Ok((response, _)) => drop(response), // dropping sends RST_STREAM(CANCEL)
            Err(_) => break,
        }
        sent += 1;
    }
    // The server answers the flood with GOAWAY: the connection ends by itself.
    let ended = tokio::time::timeout(Duration::from_secs(10), driver).await;
    let ended = ended
        .expect("the flooding connection was closed")
        .expect("driver task");
    // The client is still writing when the server hangs up, so it sees GOAWAY or a broken pipe.
    let error = ended.expect_err("closed by the server, not cleanly");
    assert!(error.is_go_away() || error.is_io(), "{error:?}");
    assert!(
        h.upstream.requests() < 100,
        "{} of {sent} reset streams reached the upstream",
        h.upstream.requests()
    );
    let again = Request::get("https://localhost/citizens/1")
        .body(())
        .expect("request");
    assert!(
        client.send_request(again, true).is_err(),
        "no more streams on that connection"
    );
    // Everybody else is unaffected.
    assert_eq!(h.get_as("bob", "/citizens/1").await.status(), 200);
}
