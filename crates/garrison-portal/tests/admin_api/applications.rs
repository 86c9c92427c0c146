//! Applications: a consumer developer's own, hidden from other organisations; the allow-list.

use serde_json::json;

use crate::support::{App, Tour, bad_request, conflict, count, forbidden, not_found, status};

/// Tour step: a consumer developer creates an application (with a sandbox key shown once);
/// other organisations neither see nor list it.
pub(crate) async fn consumers_own_applications(t: &Tour) -> App {
    let s = &t.s;
    let refused = s
        .call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&t.owner),
            Some(json!({"slug": "x", "name": "X"})),
        )
        .await;
    forbidden(&refused);
    let for_other = s
        .call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&t.consumer),
            Some(json!({"slug": "x", "name": "X", "organisation": t.nhs})),
        )
        .await;
    forbidden(&for_other);
    let created = s
        .call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&t.consumer),
            Some(json!({"slug": "licensing", "name": "Driver licensing"})),
        )
        .await;
    status(&created, 201);
    assert_eq!(created.headers["cache-control"], "no-store");
    let created = created.json();
    let app = created["application"]["id"].as_i64().unwrap();
    let sandbox_key = created["sandboxKey"]["key"].as_str().unwrap().to_owned();
    assert!(sandbox_key.starts_with("grn_test_"));
    assert_eq!(
        garrison_core::api_key::check_format(&sandbox_key),
        Ok(garrison_core::Environment::Test)
    );
    let sandbox_key_id = created["sandboxKey"]["credential"]["id"].as_i64().unwrap();
    conflict(
        &s.call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&t.consumer),
            Some(json!({"slug": "licensing", "name": "Twin"})),
        )
        .await,
    );
    let app_path = format!("/admin/v1/applications/{app}");
    status(
        &s.call("getApplication", "GET", &app_path, Some(&t.consumer), None)
            .await,
        200,
    );
    status(
        &s.call("getApplication", "GET", &app_path, Some(&t.admin), None)
            .await,
        200,
    );
    for who in [&t.stranger, &t.other_owner] {
        let hidden = s
            .call("getApplication", "GET", &app_path, Some(who), None)
            .await;
        not_found(&hidden);
        let listed = s
            .call(
                "listApplications",
                "GET",
                "/admin/v1/applications",
                Some(who),
                None,
            )
            .await;
        status(&listed, 200);
        assert!(listed.json()["applications"].as_array().unwrap().is_empty());
    }
    let listed = s
        .call(
            "listApplications",
            "GET",
            "/admin/v1/applications",
            Some(&t.consumer),
            None,
        )
        .await;
    assert_eq!(count(&listed, "applications"), 1);
    App {
        id: app,
        path: app_path,
        sandbox_key,
        sandbox_key_id,
    }
}

/// Tour step: the allow-list is normalised, no wider than /24 (or /64), and the
/// organisation's only.
pub(crate) async fn allow_list_is_no_wider_than_a_slash_24(t: &Tour, app: &App) {
    let s = &t.s;
    let allow_path = format!("{}/allow-list", app.path);
    let set = s
        .call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&t.consumer),
            Some(json!({"networks": ["203.0.113.9/24", "198.51.100.7", "2001:db8::/64"]})),
        )
        .await;
    status(&set, 200);
    assert_eq!(
        set.json()["networks"],
        json!(["198.51.100.7/32", "2001:db8::/64", "203.0.113.0/24"])
    );
    let wide = s
        .call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&t.consumer),
            Some(json!({"networks": ["10.0.0.0/16"]})),
        )
        .await;
    bad_request(&wide);
    assert!(wide.json()["detail"].as_str().unwrap().contains("/24"));
    bad_request(
        &s.call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&t.consumer),
            Some(json!({"networks": ["2001:db8::/48"]})),
        )
        .await,
    );
    not_found(
        &s.call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&t.stranger),
            Some(json!({"networks": []})),
        )
        .await,
    );
    let read = s
        .call("getAllowList", "GET", &allow_path, Some(&t.consumer), None)
        .await;
    assert_eq!(
        count(&read, "networks"),
        3,
        "the refused lists changed nothing"
    );
    not_found(
        &s.call("getAllowList", "GET", &allow_path, Some(&t.stranger), None)
            .await,
    );
}
