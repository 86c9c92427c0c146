//! Platform administration: organisations, users and plans, for platform admins only.

use serde_json::{Value, json};

use crate::common::Answer;
use crate::support::{Tour, bad_request, conflict, count, forbidden, id, not_found, status};

/// Tour step: organisations, users and plans are made by platform admins only; returns the
/// `bronze` plan's id.
pub(crate) async fn organisations_users_and_plans(t: &Tour) -> i64 {
    let s = &t.s;
    let org = json!({"slug": "hmrc", "name": "HM Revenue and Customs"});
    for who in [&t.consumer, &t.owner] {
        let refused = s
            .call(
                "createOrganisation",
                "POST",
                "/admin/v1/organisations",
                Some(who),
                Some(org.clone()),
            )
            .await;
        forbidden(&refused);
    }
    let created = s
        .call(
            "createOrganisation",
            "POST",
            "/admin/v1/organisations",
            Some(&t.token),
            Some(org.clone()),
        )
        .await;
    status(&created, 201);
    let hmrc = id(&created);
    let again = s
        .call(
            "createOrganisation",
            "POST",
            "/admin/v1/organisations",
            Some(&t.admin),
            Some(org),
        )
        .await;
    conflict(&again);
    let bad_slug = s
        .call(
            "createOrganisation",
            "POST",
            "/admin/v1/organisations",
            Some(&t.admin),
            Some(json!({"slug": "Has Spaces", "name": "x"})),
        )
        .await;
    bad_request(&bad_slug);
    let orgs = s
        .call(
            "listOrganisations",
            "GET",
            "/admin/v1/organisations",
            Some(&t.stranger),
            None,
        )
        .await;
    status(&orgs, 200);
    assert_eq!(count(&orgs, "organisations"), 4);

    let new_user = json!({"email": "new@hmrc.example", "name": "New", "organisation": hmrc,
        "role": "api_owner", "password": "a long enough password"});
    forbidden(&create_user(t, &t.owner, new_user.clone()).await);
    let made = create_user(t, &t.admin, new_user.clone()).await;
    status(&made, 201);
    assert!(
        !made.text().contains("argon2"),
        "no password hash leaves the store"
    );
    conflict(&create_user(t, &t.admin, new_user).await);
    let short = create_user(
        t,
        &t.admin,
        json!({"email": "x@hmrc.example", "name": "X", "organisation": hmrc,
            "role": "api_owner", "password": "short"}),
    )
    .await;
    bad_request(&short);
    let dangling = create_user(
        t,
        &t.admin,
        json!({"email": "y@ghost.example", "name": "Y", "organisation": 999,
            "role": "consumer_developer", "password": "a long enough password"}),
    )
    .await;
    not_found(&dangling);
    let users = s
        .call(
            "listUsers",
            "GET",
            "/admin/v1/users",
            Some(&t.consumer),
            None,
        )
        .await;
    status(&users, 200);
    let users = users.json();
    let users = users["users"].as_array().unwrap();
    assert_eq!(
        users.len(),
        1,
        "a consumer sees its organisation's users only"
    );
    assert_eq!(users[0]["email"], "dev@dvla.example");
    let all_users = s
        .call("listUsers", "GET", "/admin/v1/users", Some(&t.admin), None)
        .await;
    assert_eq!(count(&all_users, "users"), 6);

    let plan = json!({"name": "bronze", "requests": 3, "periodSeconds": 1, "burst": 3});
    forbidden(&create_plan(t, &t.owner, plan.clone()).await);
    let bronze = create_plan(t, &t.token, plan.clone()).await;
    status(&bronze, 201);
    let bronze = id(&bronze);
    conflict(&create_plan(t, &t.token, plan).await);
    let zero = create_plan(
        t,
        &t.token,
        json!({"name": "none", "requests": 0, "periodSeconds": 1, "burst": 1}),
    )
    .await;
    bad_request(&zero);
    let plans = s
        .call(
            "listPlans",
            "GET",
            "/admin/v1/plans",
            Some(&t.consumer),
            None,
        )
        .await;
    assert_eq!(plans.json()["plans"][0]["name"], "bronze");
    bronze
}

/// Calls `createUser` as `who`.
async fn create_user(t: &Tour, who: &str, body: Value) -> Answer {
    t.s.call(
        "createUser",
        "POST",
        "/admin/v1/users",
        Some(who),
        Some(body),
    )
    .await
}

/// Calls `createPlan` as `who`.
async fn create_plan(t: &Tour, who: &str, body: Value) -> Answer {
    t.s.call(
        "createPlan",
        "POST",
        "/admin/v1/plans",
        Some(who),
        Some(body),
    )
    .await
}
