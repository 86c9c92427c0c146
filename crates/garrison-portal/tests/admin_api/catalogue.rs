//! The catalogue: API owners publish APIs and versions for their organisation, and lifecycles.

use serde_json::json;

use crate::support::{Published, Tour, bad_request, conflict, forbidden, id, not_found, status};

/// Tour step: API owners publish for their organisation; everyone signed in reads the
/// catalogue.
pub(crate) async fn owners_publish_for_their_organisation(t: &Tour) -> Published {
    let s = &t.s;
    let api = json!({"slug": "citizen-match", "title": "Citizen match", "description": "Finds a citizen.",
        "classification": "official_sensitive", "tags": ["citizen"]});
    let refused = s
        .call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&t.consumer),
            Some(api.clone()),
        )
        .await;
    forbidden(&refused);
    let foreign = s
        .call("createApi", "POST", "/admin/v1/apis", Some(&t.owner),
            Some(json!({"slug": "x", "title": "X", "description": "", "classification": "official", "owner": t.nhs})))
        .await;
    forbidden(&foreign);
    let published = s
        .call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&t.owner),
            Some(api.clone()),
        )
        .await;
    status(&published, 201);
    assert_eq!(published.json()["owner"], t.dwp);
    let api_id = id(&published);
    conflict(
        &s.call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&t.owner),
            Some(api),
        )
        .await,
    );
    let version = json!({"version": "v1", "group": "citizen-match", "status": "beta"});
    let path = format!("/admin/v1/apis/{api_id}/versions");
    for who in [&t.consumer, &t.other_owner] {
        let refused = s
            .call(
                "createApiVersion",
                "POST",
                &path,
                Some(who),
                Some(version.clone()),
            )
            .await;
        forbidden(&refused);
    }
    let v1 = s
        .call(
            "createApiVersion",
            "POST",
            &path,
            Some(&t.owner),
            Some(version.clone()),
        )
        .await;
    status(&v1, 201);
    let v1 = id(&v1);
    conflict(
        &s.call(
            "createApiVersion",
            "POST",
            &path,
            Some(&t.owner),
            Some(version),
        )
        .await,
    );
    let v2 = s
        .call(
            "createApiVersion",
            "POST",
            &path,
            Some(&t.owner),
            Some(json!({"version": "v2", "group": "citizen-match-v2", "status": "alpha"})),
        )
        .await;
    let v2 = id(&v2);
    // Another organisation's owner cannot put its own API's version on DWP's route group:
    // approving subscriptions to it would grant access to DWP's service.
    let theirs = s
        .call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&t.other_owner),
            Some(
                json!({"slug": "lookalike", "title": "Lookalike", "description": "",
                "classification": "official"}),
            ),
        )
        .await;
    status(&theirs, 201);
    let lookalike = format!("/admin/v1/apis/{}/versions", id(&theirs));
    for group in ["citizen-match", "citizen-match-v2"] {
        conflict(
            &s.call(
                "createApiVersion",
                "POST",
                &lookalike,
                Some(&t.other_owner),
                Some(json!({"version": "v1", "group": group, "status": "stable"})),
            )
            .await,
        );
    }
    not_found(
        &s.call(
            "createApiVersion",
            "POST",
            "/admin/v1/apis/999/versions",
            Some(&t.owner),
            Some(json!({"version": "v1", "group": "g", "status": "beta"})),
        )
        .await,
    );
    let catalogue = s
        .call("listApis", "GET", "/admin/v1/apis", Some(&t.stranger), None)
        .await;
    status(&catalogue, 200);
    assert_eq!(
        catalogue.json()["apis"][0]["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let one = s
        .call(
            "getApi",
            "GET",
            &format!("/admin/v1/apis/{api_id}"),
            Some(&t.consumer),
            None,
        )
        .await;
    status(&one, 200);
    not_found(
        &s.call(
            "getApi",
            "GET",
            "/admin/v1/apis/999",
            Some(&t.consumer),
            None,
        )
        .await,
    );
    Published {
        api: api_id,
        v1,
        v2,
    }
}

/// Tour step: only the owning organisation's API owner deprecates a version, with a sunset.
pub(crate) async fn lifecycle_is_the_owners(t: &Tour, published: &Published) {
    let s = &t.s;
    let Published {
        api: api_id,
        v1,
        v2,
    } = *published;
    let lifecycle = format!("/admin/v1/apis/{api_id}/versions/{v1}/lifecycle");
    let deprecate = json!({"status": "deprecated", "sunset": "2027-03-31", "successor": v2});
    forbidden(
        &s.call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&t.consumer),
            Some(deprecate.clone()),
        )
        .await,
    );
    forbidden(
        &s.call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&t.other_owner),
            Some(deprecate.clone()),
        )
        .await,
    );
    bad_request(
        &s.call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&t.owner),
            Some(json!({"status": "deprecated"})),
        )
        .await,
    );
    let done = s
        .call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&t.owner),
            Some(deprecate),
        )
        .await;
    status(&done, 200);
    assert_eq!(done.json()["sunset"], "2027-03-31");
}
