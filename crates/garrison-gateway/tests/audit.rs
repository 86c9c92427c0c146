//! The audit trail of audited routes: every request recorded durably with who, why and what
//! was decided, before the response is released; the store verifies after shutdown.

mod common;

use common::{Harness, Setup, admin};
use garrison_audit::{Decision, PurposeHeader, SearchFilter};
use garrison_testkit::client::{Protocol, get};

/// `GET path` as `consumer` (its key and client certificate) with extra headers.
async fn get_stating(
    h: &Harness,
    consumer: &str,
    path: &str,
    headers: &[(&'static str, &str)],
) -> http::Response<bytes::Bytes> {
    let key = h.consumer(consumer).key.clone();
    let mut request = get(path, Some(&key));
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("value"));
    }
    h.client(consumer, Protocol::Http1)
        .send(h.addr, request)
        .await
        .expect("response")
}

#[tokio::test]
async fn audited_routes_record_who_why_and_the_decision_and_the_store_verifies() {
    let h = Harness::start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    let allowed = get_stating(
        &h,
        "alice",
        "/citizens/QQ123456C",
        &[
            ("context", "licence-application"),
            ("policy-id", "DVLA-2026-01"),
            ("correlation-id", "c-42"),
            // The upstream will name these subjects in two `Garrison-Subject` response headers,
            // the second a list — the first subject twice, written two ways.
            ("test-subject", "QQ 12 34 56 C;AB123456C, QQ123456C"),
        ],
    )
    .await;
    assert_eq!(allowed.status(), 200);
    assert!(
        allowed.headers().get("garrison-subject").is_none(),
        "the subject header never reaches the consumer"
    );
    // A refusal is recorded with the purpose stated all the same.
    let refused = get_stating(&h, "carol", "/citizens/1", &[("context", "fraud-check")]).await;
    assert_eq!(refused.status(), 403);
    let keys = garrison_audit::read_subject_keys(&h.dir.join("subject-keys"))
        .expect("subject keys")
        .keys;
    // Not an audited route: no record.
    let public = h
        .client("alice", Protocol::Http1)
        .send(h.addr, get("/public/status", None))
        .await
        .expect("response");
    assert_eq!(public.status(), 200);

    // Administrative changes are recorded too, refused attempts included.
    let admin_addr = h.gateway.admin_addr();
    assert_eq!(
        admin(admin_addr, "POST", "/admin/reload", None).await.0,
        401
    );
    assert_eq!(
        admin(admin_addr, "POST", "/admin/reload", Some(&h.admin_token))
            .await
            .0,
        200
    );

    let dir = h.dir.join("audit");
    let Harness { gateway, .. } = h;
    gateway.shutdown(std::time::Duration::from_secs(5)).await;

    let public_key =
        garrison_audit::read_public_key(&dir.join("audit-signing.pub")).expect("public key");
    let report = garrison_audit::verify(&dir, &public_key).expect("readable");
    assert!(report.problem.is_none(), "{:?}", report.problem);

    let found = garrison_audit::search(&dir, &SearchFilter::default()).expect("search");
    let (records, changes): (Vec<_>, Vec<_>) = found
        .into_iter()
        .map(|f| f.record)
        .partition(|r| r.api != "garrison-admin");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().all(|c| c.operation == "reloadConfiguration"
        && c.consumer.as_deref() == Some("admin")
        && c.source_addr.is_some_and(|a| a.is_loopback())));
    assert_eq!(
        changes[0].decision,
        Decision::Refused {
            reason: "MISSING_CREDENTIALS".into()
        }
    );
    assert_eq!(changes[1].decision, Decision::Allowed);
    assert_eq!(changes[1].request_id, "admin-generation-2");
    let alice = records
        .iter()
        .find(|r| r.consumer.as_deref() == Some("alice"))
        .expect("alice's record");
    assert_eq!(alice.decision, Decision::Allowed);
    assert_eq!(alice.upstream_status, Some(200));
    assert_eq!(alice.api, "citizen");
    assert_eq!(alice.operation, "citizen");
    assert_eq!(
        alice.request_id,
        allowed.headers()["x-request-id"].to_str().expect("id")
    );
    assert_eq!(
        alice
            .purpose
            .get(&PurposeHeader::Context)
            .map(String::as_str),
        Some("licence-application")
    );
    assert_eq!(alice.client_cert_sha256.as_deref().map(str::len), Some(64));
    assert_eq!(
        alice.subject,
        Some(keys[0].hash("QQ123456C")),
        "the subject, normalised and keyed-hashed"
    );
    assert_eq!(
        alice.other_subjects,
        [keys[0].hash("AB123456C")],
        "every subject named, each once"
    );
    assert_eq!(alice.disclosed_fields, ["*"]);
    // A subject search with the identifier finds exactly that access.
    let about = garrison_audit::search(&dir, &SearchFilter::default().subject("qq123456c", &keys))
        .expect("search");
    assert_eq!(about.len(), 1);
    assert_eq!(about[0].record.request_id, alice.request_id);
    // And so does a search for the other subject of the same access.
    let about = garrison_audit::search(&dir, &SearchFilter::default().subject("AB123456C", &keys))
        .expect("search");
    assert_eq!(about.len(), 1);
    assert_eq!(about[0].record.request_id, alice.request_id);
    let carol = records
        .iter()
        .find(|r| r.consumer.as_deref() == Some("carol"))
        .expect("carol's record");
    assert_eq!(
        carol.decision,
        Decision::Refused {
            reason: "RESOURCE_FORBIDDEN".into()
        }
    );
    let stated = |r: &garrison_audit::AuditRecord, header| r.purpose.get(&header).cloned();
    assert_eq!(
        stated(carol, PurposeHeader::Context).as_deref(),
        Some("fraud-check")
    );
    assert_eq!(
        stated(alice, PurposeHeader::CorrelationId).as_deref(),
        Some("c-42")
    );
    // The path held an identifier; the store must not.
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        for identifier in [&b"QQ123456C"[..], b"QQ 12 34 56 C", b"AB123456C"] {
            assert!(
                !bytes.windows(identifier.len()).any(|w| w == identifier),
                "identifier stored in clear"
            );
        }
    }
}

#[tokio::test]
async fn the_admin_api_searches_the_audit_trail_for_the_token_holder_only() {
    let h = Harness::start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    assert_eq!(h.get_as("alice", "/citizens/1").await.status(), 200);
    assert_eq!(h.get_as("carol", "/citizens/1").await.status(), 403);
    let admin_addr = h.gateway.admin_addr();

    let (status, _) = admin(admin_addr, "GET", "/admin/audit", None).await;
    assert_eq!(status, 401, "the audit trail is not public");
    let (status, body) = admin(
        admin_addr,
        "GET",
        "/admin/audit?consumer=alice&decision=allowed",
        Some(&h.admin_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let records = answer["records"].as_array().expect("records");
    assert_eq!(records.len(), 1, "{answer}");
    assert_eq!(records[0]["record"]["consumer"], "alice");
    assert_eq!(answer["truncated"], false);
    let (status, body) = admin(
        admin_addr,
        "GET",
        "/admin/audit?decision=refused&limit=1",
        Some(&h.admin_token),
    )
    .await;
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        answer["truncated"], true,
        "carol's refusal and the refused search"
    );
    let (_, metrics) = admin(admin_addr, "GET", "/metrics", None).await;
    assert!(
        metrics.contains("garrison_audit_queue_depth 0"),
        "{metrics}"
    );
    assert!(metrics.contains("garrison_audit_shed_total 0"), "{metrics}");
    let value = |series: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing: {metrics}"))
    };
    // alice, carol, the refused search and the search: every record written, and synced.
    assert!(value("garrison_audit_records_total") >= 4, "{metrics}");
    let syncs = value("garrison_audit_fsync_duration_seconds_count");
    assert!(syncs >= 1, "{metrics}");
    assert_eq!(
        value("garrison_audit_fsync_duration_seconds_bucket{le=\"+Inf\"}"),
        syncs
    );
    assert!(metrics.contains("# TYPE garrison_audit_fsync_duration_seconds histogram"));
    let (status, body) = admin(
        admin_addr,
        "GET",
        "/admin/audit?limit=0",
        Some(&h.admin_token),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("limit: expected 1 to 1000"), "{body}");

    // Without an admin token configured, reloading is open to whoever reaches the admin
    // address; searching the trail and reporting on a person are not.
    let config = std::fs::read_to_string(h.config_path()).expect("config");
    let open: String = config
        .lines()
        .filter(|l| !l.contains("token_digest"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(h.config_path(), open).expect("write");
    h.gateway.reload().expect("reload");
    let (status, body) = admin(admin_addr, "GET", "/admin/audit", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("need an admin token"), "{body}");
    let (status, _) = admin(
        admin_addr,
        "POST",
        "/admin/audit/subject-access",
        Some("anything"),
    )
    .await;
    assert_eq!(status, 403);
}

/// A client that resets its HTTP/2 stream while the upstream works drops the gateway's service
/// future for that request — after the upstream may have acted on it — so the record is made
/// when the future is dropped: admitted, no upstream answer, nothing disclosed.
#[tokio::test]
async fn a_request_abandoned_by_its_client_is_recorded_all_the_same() {
    let h = Harness::start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    let key = h.consumer("alice").key.clone();
    let mut request = get("/citizens/hang", Some(&key));
    request
        .headers_mut()
        .insert("context", "licence-application".parse().expect("value"));
    let client = h.client("alice", Protocol::Http2);
    let mut connection = client.open(h.addr).await.expect("connection");
    // The upstream never answers `…/hang`: the client gives up, which resets the stream.
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        connection.send(request),
    )
    .await;
    assert!(gave_up.is_err(), "the upstream answered: {gave_up:?}");
    drop(connection);

    let dir = h.dir.join("audit");
    // Bounded wait for the record's own task, then a clean stop.
    let mut found = Vec::new();
    for _ in 0..50 {
        found = garrison_audit::search(&dir, &SearchFilter::default()).expect("search");
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let Harness { gateway, .. } = h;
    gateway.shutdown(std::time::Duration::from_secs(5)).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let record = &found[0].record;
    assert_eq!(record.consumer.as_deref(), Some("alice"));
    assert_eq!(record.operation, "citizen");
    assert_eq!(record.decision, Decision::Allowed);
    assert_eq!(record.upstream_status, None);
    assert!(record.disclosed_fields.is_empty());
    assert_eq!(
        record
            .purpose
            .get(&PurposeHeader::Context)
            .map(String::as_str),
        Some("licence-application")
    );
}
