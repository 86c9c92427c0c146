//! Match ids: only for the consumer that matched, expiring, and a bounded registry of them.

use std::time::Duration;

use garrison_citizen::ServiceOptions;
use http::Method;

use crate::support::{assert_conforms, claimant, get, match_id, send, start, try_match, unique};

#[tokio::test]
async fn an_id_is_only_for_the_consumer_that_matched() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let id = match_id(service.addr, "dfe", unique(&p)).await;
    for suffix in [
        "",
        "/address",
        "/claims",
        "/income?fromMonth=2026-01&toMonth=2026-02",
    ] {
        let path = format!("/capi/v2/citizens/{id}{suffix}");
        let theirs = send(service.addr, Method::GET, &path, Some("hmrc"), None).await;
        theirs.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
        let unknown = get(
            service.addr,
            &format!("/capi/v2/citizens/3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15{suffix}"),
        )
        .await;
        assert_eq!(
            unknown.body, theirs.body,
            "another's id reads exactly as an unknown one"
        );
        let ours = get(service.addr, &path).await;
        assert_eq!(ours.status, 200, "{path}");
    }
}

#[tokio::test]
async fn an_expired_id_is_404() {
    let service = start(ServiceOptions::default().with_match_ttl(Duration::ZERO)).await;
    let id = match_id(service.addr, "dfe", unique(&claimant())).await;
    let answer = get(service.addr, &format!("/capi/v2/citizens/{id}")).await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn a_full_id_registry_refuses_new_matches_with_503() {
    let service = start(ServiceOptions::default().with_max_matches(2)).await;
    let p = claimant();
    match_id(service.addr, "dfe", unique(&p)).await;
    match_id(service.addr, "dfe", unique(&p)).await;
    let answer = try_match(service.addr, "dfe", unique(&p)).await;
    answer.assert_problem(503, "SERVICE_UNAVAILABLE");
    assert_eq!(answer.headers["retry-after"], "1");
    assert_conforms("match", &answer);
}
