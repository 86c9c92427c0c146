//! Garrison's admin API answers as its own contract (`contracts/garrison-admin.yaml`) says:
//! every answer of a running gateway — success and failure — is checked with the same
//! validators the gateway applies to the APIs it serves.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{Harness, Setup};
use garrison_contract::{CompiledContract, compile, load};
use http::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request to the admin listener: status, headers and body.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, HeaderMap, Vec<u8>) {
    call_with(addr, method, path, token, "").await
}

/// [`call`] with a JSON request body.
async fn call_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("admin");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: admin\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.get(9..12))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.append(
                http::HeaderName::from_bytes(name.trim().as_bytes()).expect("name"),
                value.trim().parse().expect("value"),
            );
        }
    }
    (status, headers, raw[split + 4..].to_vec())
}

fn admin_contract() -> CompiledContract {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/garrison-admin.yaml");
    let contract = load(&file).unwrap_or_else(|e| panic!("{e}"));
    compile(&contract).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn conforms(contract: &CompiledContract, operation_id: &str, answer: &(u16, HeaderMap, Vec<u8>)) {
    let operation = contract
        .operations()
        .iter()
        .find(|o| o.operation_id() == Some(operation_id))
        .unwrap_or_else(|| panic!("no operation {operation_id}"));
    if let Err(violations) = operation.validate_response(answer.0, &answer.1, &answer.2) {
        panic!(
            "{operation_id} answered {} outside its contract: {violations}\n{}",
            answer.0,
            String::from_utf8_lossy(&answer.2)
        );
    }
}

#[tokio::test]
async fn every_admin_answer_conforms_to_the_admin_contract() {
    let contract = admin_contract();
    let h = Harness::start(Setup::default()).await;
    let addr = h.gateway.admin_addr();

    conforms(
        &contract,
        "getHealth",
        &call(addr, "GET", "/healthz", None).await,
    );
    let ready = call(addr, "GET", "/readyz", None).await;
    assert_eq!(ready.0, 200);
    conforms(&contract, "getReadiness", &ready);
    let metrics = call(addr, "GET", "/metrics", None).await;
    assert_eq!(metrics.0, 200);
    conforms(&contract, "getMetrics", &metrics);

    let missing = call(addr, "POST", "/admin/reload", None).await;
    assert_eq!(missing.0, 401);
    conforms(&contract, "reloadConfiguration", &missing);
    let wrong = call(addr, "POST", "/admin/reload", Some("not-the-token")).await;
    assert_eq!(wrong.0, 401);
    conforms(&contract, "reloadConfiguration", &wrong);
    let search = call(addr, "GET", "/admin/audit", None).await;
    assert_eq!(search.0, 401);
    conforms(&contract, "searchAudit", &search);
    let search = call(addr, "GET", "/admin/audit?limit=5", Some(&h.admin_token)).await;
    assert_eq!(search.0, 404, "this gateway keeps no audit trail");
    conforms(&contract, "searchAudit", &search);
    let reloaded = call(addr, "POST", "/admin/reload", Some(&h.admin_token)).await;
    assert_eq!(reloaded.0, 200);
    conforms(&contract, "reloadConfiguration", &reloaded);

    std::fs::write(h.config_path(), "listeners: [}").expect("break the configuration");
    let refused = call(addr, "POST", "/admin/reload", Some(&h.admin_token)).await;
    assert_eq!(refused.0, 400);
    conforms(&contract, "reloadConfiguration", &refused);

    // The checks can fail: an answer from another operation does not pass as this one.
    let operation = contract
        .operations()
        .iter()
        .find(|o| o.operation_id() == Some("getHealth"))
        .expect("getHealth");
    assert!(
        operation
            .validate_response(ready.0, &ready.1, &ready.2)
            .is_err()
    );
}

#[tokio::test]
async fn audit_search_answers_conform_to_the_admin_contract() {
    let contract = admin_contract();
    let h = Harness::start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    assert_eq!(h.get_as("alice", "/citizens/1").await.status(), 200);
    let addr = h.gateway.admin_addr();
    let found = call(
        addr,
        "GET",
        "/admin/audit?consumer=alice",
        Some(&h.admin_token),
    )
    .await;
    assert_eq!(found.0, 200);
    conforms(&contract, "searchAudit", &found);
    let bad = call(
        addr,
        "GET",
        "/admin/audit?decision=maybe",
        Some(&h.admin_token),
    )
    .await;
    assert_eq!(bad.0, 400);
    conforms(&contract, "searchAudit", &bad);
}

#[tokio::test]
async fn subject_access_reports_find_the_person_record_the_lookup_and_conform() {
    let contract = admin_contract();
    let h = Harness::start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    // Two accesses, one about the person and one about someone else; the upstream names the
    // subject (`test-subject`) as a citizen service would.
    for subject in ["QQ 12 34 56 C", "AB123456C"] {
        let key = h.consumer("alice").key.clone();
        let mut request = garrison_testkit::client::get("/citizens/1", Some(&key));
        request
            .headers_mut()
            .insert("test-subject", subject.parse().expect("value"));
        let response = h
            .client("alice", garrison_testkit::client::Protocol::Http1)
            .send(h.addr, request)
            .await
            .expect("response");
        assert_eq!(response.status(), 200);
    }
    let addr = h.gateway.admin_addr();
    let path = "/admin/audit/subject-access";
    let body = r#"{"identifier": "qq123456c"}"#;

    let refused = call_with(addr, "POST", path, None, body).await;
    assert_eq!(refused.0, 401);
    conforms(&contract, "subjectAccessReport", &refused);

    let report = call_with(addr, "POST", path, Some(&h.admin_token), body).await;
    assert_eq!(report.0, 200, "{}", String::from_utf8_lossy(&report.2));
    conforms(&contract, "subjectAccessReport", &report);
    let answer: serde_json::Value = serde_json::from_slice(&report.2).expect("JSON");
    assert_eq!(answer["count"], 1, "{answer}");
    assert_eq!(answer["accesses"][0]["record"]["consumer"], "alice");
    assert!(
        !String::from_utf8_lossy(&report.2).contains("123456"),
        "the answer does not repeat the identifier"
    );

    // The lookup is itself an access to the person's data, recorded against them.
    let again = call_with(addr, "POST", path, Some(&h.admin_token), body).await;
    let answer: serde_json::Value = serde_json::from_slice(&again.2).expect("JSON");
    assert_eq!(answer["count"], 2, "{answer}");
    assert_eq!(answer["accesses"][1]["record"]["api"], "garrison-admin");
    assert_eq!(
        answer["accesses"][1]["record"]["operation"],
        "subjectAccessReport"
    );

    for bad in [
        r#"{"id": "QQ123456C"}"#,
        r#"{"identifier": ""}"#,
        r#"{"identifier": "QQ123456C", "more": 1}"#,
        "QQ123456C",
    ] {
        let answer = call_with(addr, "POST", path, Some(&h.admin_token), bad).await;
        assert_eq!(answer.0, 400, "{bad}");
        conforms(&contract, "subjectAccessReport", &answer);
        assert!(
            !String::from_utf8_lossy(&answer.2).contains("QQ123456C"),
            "a refusal does not echo the identifier"
        );
    }
    let large = format!(r#"{{"identifier": "{}"}}"#, "Q".repeat(2000));
    let answer = call_with(addr, "POST", path, Some(&h.admin_token), &large).await;
    assert_eq!(answer.0, 413);
    conforms(&contract, "subjectAccessReport", &answer);
}
