//! Refusals: callers not from the gateway, and bad input that is a 4xx and never a panic.

use garrison_citizen::ServiceOptions;
use http::Method;
use serde_json::json;

use crate::support::{assert_conforms, claimant, get, match_body, match_id, send, start, unique};

#[tokio::test]
async fn a_request_not_from_the_gateway_is_403() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        None,
        Some(match_body(unique(&p))),
    )
    .await;
    answer.assert_problem(403, "RESOURCE_FORBIDDEN");
    assert_conforms("match", &answer);
    let id = match_id(service.addr, "dfe", unique(&p)).await;
    for consumer in [None, Some("")] {
        let answer = send(
            service.addr,
            Method::GET,
            &format!("/capi/v2/citizens/{id}"),
            consumer,
            None,
        )
        .await;
        answer.assert_problem(403, "RESOURCE_FORBIDDEN");
    }
}

#[tokio::test]
async fn bad_input_is_400_and_never_a_panic() {
    let service = start(ServiceOptions::default()).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"{}".to_vec(),
        match_body(json!({"lastName": "Smith"})),
        match_body(json!({"lastName": "Smith", "dateOfBirth": "1980-02-30"})),
        match_body(json!({"lastName": "x".repeat(36), "dateOfBirth": "1980-02-03"})),
        match_body(json!({"lastName": "Smith", "dateOfBirth": "1980-02-03", "ninoFragment": "12"})),
        match_body(json!({"lastName": "Smith", "dateOfBirth": "1980-02-03", "nino": "QQ123456C"})),
    ];
    for body in bodies {
        let answer = send(
            service.addr,
            Method::POST,
            "/capi/v2/citizens/match",
            Some("dfe"),
            Some(body.clone()),
        )
        .await;
        answer.assert_problem(400, "REQUEST_INVALID");
        assert_conforms("match", &answer);
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains("Smith") && !text.contains("QQ123456C"),
            "{text}"
        );
    }
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(vec![b' '; 64 * 1024]),
    )
    .await;
    answer.assert_problem(413, "PAYLOAD_TOO_LARGE");

    let answer = get(service.addr, "/capi/v2/citizens/not-a-uuid").await;
    answer.assert_problem(400, "REQUEST_INVALID");
    assert_conforms("details", &answer);
    let answer = get(service.addr, "/capi/v2/citizens/match").await;
    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    let answer = send(
        service.addr,
        Method::DELETE,
        "/capi/v2/citizens/3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15",
        Some("dfe"),
        None,
    )
    .await;
    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    for path in [
        "/",
        "/capi/v2/citizens",
        "/capi/v2/citizens/3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15/children",
    ] {
        let answer = get(service.addr, path).await;
        answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    }
}
