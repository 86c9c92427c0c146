//! Subscriptions: requested by consumers, decided by the API's owner only, seen by parties only.

use serde_json::json;

use crate::support::{App, Published, Tour, bad_request, conflict, forbidden, not_found, status};

/// Tour step: the whole life of a subscription, and who may take each step.
pub(crate) async fn decided_by_the_apis_owner_only(
    t: &Tour,
    app: &App,
    published: &Published,
    bronze: i64,
) {
    let s = &t.s;
    let (app, v1, v2) = (app.id, published.v1, published.v2);
    let ask =
        json!({"application": app, "apiVersion": v1, "plan": bronze, "purpose": "DVLA-LICENSING"});
    not_found(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&t.stranger),
            Some(ask.clone()),
        )
        .await,
    );
    let alpha =
        json!({"application": app, "apiVersion": v2, "plan": bronze, "purpose": "DVLA-LICENSING"});
    bad_request(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&t.consumer),
            Some(alpha),
        )
        .await,
    );
    let bad_purpose =
        json!({"application": app, "apiVersion": v1, "plan": bronze, "purpose": "has spaces"});
    bad_request(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&t.consumer),
            Some(bad_purpose),
        )
        .await,
    );
    let requested = s
        .call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&t.consumer),
            Some(ask.clone()),
        )
        .await;
    status(&requested, 201);
    assert_eq!(requested.json()["status"], "requested");
    let sub = requested.json()["id"].as_i64().unwrap();
    conflict(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&t.consumer),
            Some(ask),
        )
        .await,
    );
    let approve = format!("/admin/v1/subscriptions/{sub}/approve");
    let self_approval = s
        .call(
            "approveSubscription",
            "POST",
            &approve,
            Some(&t.consumer),
            Some(json!({})),
        )
        .await;
    forbidden(&self_approval);
    let foreign_owner = s
        .call(
            "approveSubscription",
            "POST",
            &approve,
            Some(&t.other_owner),
            Some(json!({})),
        )
        .await;
    not_found(&foreign_owner);
    let reject = format!("/admin/v1/subscriptions/{sub}/reject");
    forbidden(
        &s.call(
            "rejectSubscription",
            "POST",
            &reject,
            Some(&t.consumer),
            Some(json!({"reason": "no"})),
        )
        .await,
    );
    bad_request(
        &s.call(
            "rejectSubscription",
            "POST",
            &reject,
            Some(&t.owner),
            Some(json!({})),
        )
        .await,
    );
    let approved = s
        .call(
            "approveSubscription",
            "POST",
            &approve,
            Some(&t.owner),
            Some(json!({"reason": "Checked the DPIA.", "fields": ["data.id"]})),
        )
        .await;
    status(&approved, 200);
    assert_eq!(approved.json()["status"], "approved");
    assert_eq!(approved.json()["fields"], json!(["data.id"]));
    conflict(
        &s.call(
            "rejectSubscription",
            "POST",
            &reject,
            Some(&t.owner),
            Some(json!({"reason": "late"})),
        )
        .await,
    );
    not_found(
        &s.call(
            "approveSubscription",
            "POST",
            "/admin/v1/subscriptions/999/approve",
            Some(&t.owner),
            None,
        )
        .await,
    );
    let seen_by = |who: &str| {
        let who = who.to_owned();
        async move {
            let answer = s
                .call(
                    "listSubscriptions",
                    "GET",
                    "/admin/v1/subscriptions",
                    Some(&who),
                    None,
                )
                .await;
            status(&answer, 200);
            answer.json()["subscriptions"].as_array().unwrap().len()
        }
    };
    assert_eq!(seen_by(&t.consumer).await, 1);
    assert_eq!(
        seen_by(&t.owner).await,
        1,
        "the owner sees requests to its APIs"
    );
    // …and who asks: organisation, application, person and plan, not just an id.
    let listed = s
        .call(
            "listSubscriptions",
            "GET",
            "/admin/v1/subscriptions",
            Some(&t.owner),
            None,
        )
        .await;
    let requester = &listed.json()["subscriptions"][0]["requester"];
    for field in ["organisation", "application"] {
        assert!(requester[field]["name"].is_string(), "{requester}");
        assert!(requester[field]["slug"].is_string(), "{requester}");
    }
    assert!(
        requester["email"].as_str().is_some_and(|e| e.contains('@')),
        "{requester}"
    );
    assert!(requester["plan"].is_string(), "{requester}");
    assert_eq!(seen_by(&t.stranger).await, 0);
    assert_eq!(seen_by(&t.other_owner).await, 0);
    assert_eq!(seen_by(&t.admin).await, 1);
    let revoke = format!("/admin/v1/subscriptions/{sub}/revoke");
    forbidden(
        &s.call(
            "revokeSubscription",
            "POST",
            &revoke,
            Some(&t.consumer),
            None,
        )
        .await,
    );
    let revoked = s
        .call(
            "revokeSubscription",
            "POST",
            &revoke,
            Some(&t.admin),
            Some(json!({"reason": "Contract ended."})),
        )
        .await;
    status(&revoked, 200);
    assert_eq!(revoked.json()["status"], "revoked");
}
