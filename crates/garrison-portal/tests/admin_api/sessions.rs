//! Sessions: anonymous callers, sign-in and its throttle, self sign-up, `getMe` and sign-out.

use garrison_portal::PortalSettings;
use garrison_store::{Role, Store};
use serde_json::json;

use crate::common::{self, Server};
use crate::support::{Tour, problem, sign_in_with, sign_up_with, status};

/// Every operation that needs a caller, with a path that exists, for the anonymous sweep.
const GUARDED: &[(&str, &str, &str)] = &[
    ("signOut", "DELETE", "/admin/v1/sessions/current"),
    ("getMe", "GET", "/admin/v1/me"),
    ("listOrganisations", "GET", "/admin/v1/organisations"),
    ("createOrganisation", "POST", "/admin/v1/organisations"),
    ("listUsers", "GET", "/admin/v1/users"),
    ("createUser", "POST", "/admin/v1/users"),
    ("listPlans", "GET", "/admin/v1/plans"),
    ("createPlan", "POST", "/admin/v1/plans"),
    ("listEvents", "GET", "/admin/v1/events"),
    ("listApplications", "GET", "/admin/v1/applications"),
    ("createApplication", "POST", "/admin/v1/applications"),
    ("getApplication", "GET", "/admin/v1/applications/1"),
    ("listKeys", "GET", "/admin/v1/applications/1/keys"),
    ("createKey", "POST", "/admin/v1/applications/1/keys"),
    (
        "rotateKey",
        "POST",
        "/admin/v1/applications/1/keys/1/rotate",
    ),
    ("revokeKey", "DELETE", "/admin/v1/applications/1/keys/1"),
    (
        "listCertificates",
        "GET",
        "/admin/v1/applications/1/certificates",
    ),
    (
        "addCertificate",
        "POST",
        "/admin/v1/applications/1/certificates",
    ),
    (
        "revokeCertificate",
        "DELETE",
        "/admin/v1/applications/1/certificates/1",
    ),
    ("getAllowList", "GET", "/admin/v1/applications/1/allow-list"),
    ("setAllowList", "PUT", "/admin/v1/applications/1/allow-list"),
    ("listApis", "GET", "/admin/v1/apis"),
    ("createApi", "POST", "/admin/v1/apis"),
    ("getApi", "GET", "/admin/v1/apis/1"),
    ("createApiVersion", "POST", "/admin/v1/apis/1/versions"),
    (
        "setLifecycle",
        "PUT",
        "/admin/v1/apis/1/versions/1/lifecycle",
    ),
    ("listSubscriptions", "GET", "/admin/v1/subscriptions"),
    ("requestSubscription", "POST", "/admin/v1/subscriptions"),
    (
        "approveSubscription",
        "POST",
        "/admin/v1/subscriptions/1/approve",
    ),
    (
        "rejectSubscription",
        "POST",
        "/admin/v1/subscriptions/1/reject",
    ),
    (
        "revokeSubscription",
        "POST",
        "/admin/v1/subscriptions/1/revoke",
    ),
];

/// Tour step: every guarded operation wants a token, and a wrong one is refused.
pub(crate) async fn nobody_is_refused_everything(s: &Server) {
    for (op, method, path) in GUARDED {
        let answer = s.call(op, method, path, None, Some(json!({}))).await;
        problem(&answer, 401, "MISSING_CREDENTIALS");
        let answer = s
            .call(op, method, path, Some("grn_sess_0000"), Some(json!({})))
            .await;
        problem(&answer, 401, "INVALID_CREDENTIALS");
    }
    let forged = s
        .call("getMe", "GET", "/admin/v1/me", Some("not-a-token"), None)
        .await;
    problem(&forged, 401, "INVALID_CREDENTIALS");
}

/// Tour step: wrong passwords, unknown users and malformed bodies do not sign in; self
/// sign-up is off.
pub(crate) async fn bad_sign_ins_are_refused(s: &Server) {
    let wrong = sign_in_with(
        s,
        json!({"email": "dev@dvla.example", "password": "not the password"}),
    )
    .await;
    problem(&wrong, 401, "INVALID_CREDENTIALS");
    let unknown = sign_in_with(
        s,
        json!({"email": "ghost@nowhere.example", "password": "whatever it is"}),
    )
    .await;
    problem(&unknown, 401, "INVALID_CREDENTIALS");
    let malformed = sign_in_with(s, json!({"email": 1})).await;
    problem(&malformed, 400, "BAD_REQUEST");
    // Self sign-up is off by default: there is no such resource.
    let off = sign_up_with(
        s,
        json!({"name": "Eve", "email": "eve@example.test",
               "password": common::PASSWORD, "organisation": "DVLA"}),
    )
    .await;
    problem(&off, 404, "MATCHING_RESOURCE_NOT_FOUND");
}

/// Tour step: `getMe` tells a session and the admin token who they are.
pub(crate) async fn me_tells_callers_who_they_are(t: &Tour) {
    let s = &t.s;
    let me = s
        .call("getMe", "GET", "/admin/v1/me", Some(&t.consumer), None)
        .await;
    status(&me, 200);
    assert_eq!(me.json()["role"], "consumer_developer");
    assert_eq!(me.json()["organisation"], t.dvla);
    let me = s
        .call("getMe", "GET", "/admin/v1/me", Some(&t.token), None)
        .await;
    assert_eq!(me.json()["role"], "platform_admin");
}

/// Tour step: sign out ends the session.
pub(crate) async fn sign_out_ends_the_session(t: &Tour) {
    let s = &t.s;
    status(
        &s.call(
            "signOut",
            "DELETE",
            "/admin/v1/sessions/current",
            Some(&t.stranger),
            None,
        )
        .await,
        204,
    );
    problem(
        &s.call("getMe", "GET", "/admin/v1/me", Some(&t.stranger), None)
            .await,
        401,
        "INVALID_CREDENTIALS",
    );
}

#[tokio::test]
async fn sign_in_is_throttled_after_repeated_failures_even_with_the_right_password() {
    let settings = PortalSettings {
        sign_in_failures: 3,
        ..PortalSettings::default()
    };
    let s = Server::start(settings).await;
    let org = s.organisation("dvla");
    s.user("dev@dvla.example", Some(org), Role::ConsumerDeveloper);
    for _ in 0..3 {
        let wrong = sign_in_with(
            &s,
            json!({"email": "dev@dvla.example", "password": "guess guess guess"}),
        )
        .await;
        problem(&wrong, 401, "INVALID_CREDENTIALS");
    }
    let blocked = sign_in_with(
        &s,
        json!({"email": "dev@dvla.example", "password": common::PASSWORD}),
    )
    .await;
    problem(&blocked, 429, "MESSAGE_THROTTLED_OUT");
    let wait: u64 = blocked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
}

#[tokio::test]
async fn sign_ups_make_a_new_organisation_each_and_are_throttled() {
    let s = Server::start(PortalSettings {
        self_sign_up: true,
        sign_ups_per_window: 4,
        ..PortalSettings::default()
    })
    .await;
    let dvla = s.organisation("dvla");
    s.user("taken@example.test", Some(dvla), Role::ApiOwner);
    let body = |email: &str, password: &str| {
        json!({"name": "Dana Developer", "email": email, "password": password,
               "organisation": "DVLA"})
    };
    let signed = sign_up_with(&s, body("dana@example.test", common::PASSWORD)).await;
    status(&signed, 201);
    let user = &signed.json()["user"];
    assert_eq!(user["role"], "consumer_developer");
    assert_ne!(user["organisation"], json!(dvla));
    let token = signed.json()["token"].as_str().unwrap().to_owned();
    let me = s
        .call("getMe", "GET", "/admin/v1/me", Some(&token), None)
        .await;
    status(&me, 200);
    let orgs = s.store.organisations().unwrap();
    let own = orgs
        .iter()
        .find(|o| json!(o.id) == user["organisation"])
        .unwrap();
    assert_eq!((own.slug.as_str(), own.name.as_str()), ("dvla-2", "DVLA"));

    let weak = sign_up_with(&s, body("weak@example.test", "too short")).await;
    problem(&weak, 400, "BAD_REQUEST");
    let taken = sign_up_with(&s, body("Taken@example.test", common::PASSWORD)).await;
    problem(&taken, 400, "BAD_REQUEST");
    assert!(
        taken.text().contains("Check your details"),
        "{}",
        taken.text()
    );
    assert!(!taken.text().contains("exists"));
    assert_eq!(
        s.store.organisations().unwrap().len(),
        2,
        "no organisation for refusals"
    );
    // The fourth attempt from this address was the last of the window.
    let fourth = sign_up_with(&s, body("fourth@example.test", common::PASSWORD)).await;
    status(&fourth, 201);
    let blocked = sign_up_with(&s, body("fifth@example.test", common::PASSWORD)).await;
    problem(&blocked, 429, "MESSAGE_THROTTLED_OUT");
    assert!(blocked.headers.contains_key("retry-after"));
    assert!(
        s.store
            .user_by_email("fifth@example.test")
            .unwrap()
            .is_none()
    );
    let events = s.store.events(50).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "signUp" && e.outcome == "ok")
            .count(),
        2,
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "signUp" && e.outcome == "MESSAGE_THROTTLED_OUT")
    );
}
