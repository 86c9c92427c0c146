//! Admin events: every change and every refused attempt is recorded, for platform admins only.

use serde_json::Value;

use crate::support::{Tour, forbidden, status};

/// Tour step: the events list is a platform admin's, and records the tour's approvals,
/// refusals and lifecycle change.
pub(crate) async fn changes_and_refusals_are_recorded(t: &Tour) {
    let s = &t.s;
    forbidden(
        &s.call(
            "listEvents",
            "GET",
            "/admin/v1/events",
            Some(&t.owner),
            None,
        )
        .await,
    );
    let events = s
        .call(
            "listEvents",
            "GET",
            "/admin/v1/events",
            Some(&t.admin),
            None,
        )
        .await;
    status(&events, 200);
    let events: Vec<Value> = events.json()["events"].as_array().unwrap().clone();
    let has = |action: &str, outcome: &str| {
        events
            .iter()
            .any(|e| e["action"] == action && e["outcome"] == outcome)
    };
    assert!(has("approveSubscription", "ok"));
    assert!(
        has("approveSubscription", "RESOURCE_FORBIDDEN"),
        "the consumer's attempt is recorded"
    );
    assert!(has("setLifecycle", "ok"));
}
