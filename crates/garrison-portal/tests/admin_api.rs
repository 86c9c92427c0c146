//! The admin REST API, through a real gateway's admin listener on loopback with a real
//! SQLite store: every operation's answers conform to `contracts/garrison-admin-api.yaml`,
//! and every operation refuses the callers it must refuse — anonymous callers, the wrong
//! role, and above all other organisations (a consumer cannot approve, cannot see another
//! organisation's applications, cannot read a key twice).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Answer, Server};
use garrison_portal::PortalSettings;
use garrison_store::{Role, Store};
use serde_json::{Value, json};

#[track_caller]
fn status(answer: &Answer, want: u16) {
    assert_eq!(answer.status, want, "{}", answer.text());
}

#[track_caller]
fn problem(answer: &Answer, want: u16, code: &str) {
    status(answer, want);
    assert_eq!(answer.json()["code"], code, "{}", answer.text());
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_conforms_and_refuses_whom_it_must() {
    let s = Server::start(PortalSettings::default()).await;
    let dvla = s.organisation("dvla");
    let dwp = s.organisation("dwp");
    let nhs = s.organisation("nhsbsa");
    s.user("admin@platform.example", None, Role::PlatformAdmin);
    s.user("dev@dvla.example", Some(dvla), Role::ConsumerDeveloper);
    s.user("owner@dwp.example", Some(dwp), Role::ApiOwner);
    s.user("dev@nhsbsa.example", Some(nhs), Role::ConsumerDeveloper);
    s.user("owner@nhsbsa.example", Some(nhs), Role::ApiOwner);

    // --- nobody: every guarded operation wants a token, and a wrong one is refused ---
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

    // --- sign in ---
    let wrong = s
        .call(
            "signIn",
            "POST",
            "/admin/v1/sessions",
            None,
            Some(json!({"email": "dev@dvla.example", "password": "not the password"})),
        )
        .await;
    problem(&wrong, 401, "INVALID_CREDENTIALS");
    let unknown = s
        .call(
            "signIn",
            "POST",
            "/admin/v1/sessions",
            None,
            Some(json!({"email": "ghost@nowhere.example", "password": "whatever it is"})),
        )
        .await;
    problem(&unknown, 401, "INVALID_CREDENTIALS");
    let malformed = s
        .call(
            "signIn",
            "POST",
            "/admin/v1/sessions",
            None,
            Some(json!({"email": 1})),
        )
        .await;
    problem(&malformed, 400, "BAD_REQUEST");
    // Self sign-up is off by default: there is no such resource.
    let off = s
        .call(
            "signUp",
            "POST",
            "/admin/v1/sign-ups",
            None,
            Some(json!({"name": "Eve", "email": "eve@example.test",
                        "password": common::PASSWORD, "organisation": "DVLA"})),
        )
        .await;
    problem(&off, 404, "MATCHING_RESOURCE_NOT_FOUND");
    let admin = s.sign_in("admin@platform.example").await;
    let consumer = s.sign_in("dev@dvla.example").await;
    let owner = s.sign_in("owner@dwp.example").await;
    let stranger = s.sign_in("dev@nhsbsa.example").await;
    let other_owner = s.sign_in("owner@nhsbsa.example").await;
    let token = s.admin_token.clone();

    let me = s
        .call("getMe", "GET", "/admin/v1/me", Some(&consumer), None)
        .await;
    status(&me, 200);
    assert_eq!(me.json()["role"], "consumer_developer");
    assert_eq!(me.json()["organisation"], dvla);
    let me = s
        .call("getMe", "GET", "/admin/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.json()["role"], "platform_admin");

    // --- organisations, users, plans: platform admins only ---
    let org = json!({"slug": "hmrc", "name": "HM Revenue and Customs"});
    for who in [&consumer, &owner] {
        let refused = s
            .call(
                "createOrganisation",
                "POST",
                "/admin/v1/organisations",
                Some(who),
                Some(org.clone()),
            )
            .await;
        problem(&refused, 403, "RESOURCE_FORBIDDEN");
    }
    let created = s
        .call(
            "createOrganisation",
            "POST",
            "/admin/v1/organisations",
            Some(&token),
            Some(org.clone()),
        )
        .await;
    status(&created, 201);
    let hmrc = created.json()["id"].as_i64().unwrap();
    let again = s
        .call(
            "createOrganisation",
            "POST",
            "/admin/v1/organisations",
            Some(&admin),
            Some(org),
        )
        .await;
    problem(&again, 409, "CONFLICT");
    let bad_slug = s
        .call(
            "createOrganisation",
            "POST",
            "/admin/v1/organisations",
            Some(&admin),
            Some(json!({"slug": "Has Spaces", "name": "x"})),
        )
        .await;
    problem(&bad_slug, 400, "BAD_REQUEST");
    let orgs = s
        .call(
            "listOrganisations",
            "GET",
            "/admin/v1/organisations",
            Some(&stranger),
            None,
        )
        .await;
    status(&orgs, 200);
    assert_eq!(orgs.json()["organisations"].as_array().unwrap().len(), 4);

    let new_user = json!({"email": "new@hmrc.example", "name": "New", "organisation": hmrc,
        "role": "api_owner", "password": "a long enough password"});
    let refused = s
        .call(
            "createUser",
            "POST",
            "/admin/v1/users",
            Some(&owner),
            Some(new_user.clone()),
        )
        .await;
    problem(&refused, 403, "RESOURCE_FORBIDDEN");
    let made = s
        .call(
            "createUser",
            "POST",
            "/admin/v1/users",
            Some(&admin),
            Some(new_user.clone()),
        )
        .await;
    status(&made, 201);
    assert!(
        !made.text().contains("argon2"),
        "no password hash leaves the store"
    );
    let twice = s
        .call(
            "createUser",
            "POST",
            "/admin/v1/users",
            Some(&admin),
            Some(new_user),
        )
        .await;
    problem(&twice, 409, "CONFLICT");
    let short = s
        .call(
            "createUser",
            "POST",
            "/admin/v1/users",
            Some(&admin),
            Some(
                json!({"email": "x@hmrc.example", "name": "X", "organisation": hmrc,
                "role": "api_owner", "password": "short"}),
            ),
        )
        .await;
    problem(&short, 400, "BAD_REQUEST");
    let dangling = s
        .call(
            "createUser",
            "POST",
            "/admin/v1/users",
            Some(&admin),
            Some(
                json!({"email": "y@ghost.example", "name": "Y", "organisation": 999,
                "role": "consumer_developer", "password": "a long enough password"}),
            ),
        )
        .await;
    problem(&dangling, 404, "MATCHING_RESOURCE_NOT_FOUND");
    let users = s
        .call("listUsers", "GET", "/admin/v1/users", Some(&consumer), None)
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
        .call("listUsers", "GET", "/admin/v1/users", Some(&admin), None)
        .await;
    assert_eq!(all_users.json()["users"].as_array().unwrap().len(), 6);

    let plan = json!({"name": "bronze", "requests": 3, "periodSeconds": 1, "burst": 3});
    let refused = s
        .call(
            "createPlan",
            "POST",
            "/admin/v1/plans",
            Some(&owner),
            Some(plan.clone()),
        )
        .await;
    problem(&refused, 403, "RESOURCE_FORBIDDEN");
    let bronze = s
        .call(
            "createPlan",
            "POST",
            "/admin/v1/plans",
            Some(&token),
            Some(plan.clone()),
        )
        .await;
    status(&bronze, 201);
    let bronze = bronze.json()["id"].as_i64().unwrap();
    problem(
        &s.call(
            "createPlan",
            "POST",
            "/admin/v1/plans",
            Some(&token),
            Some(plan),
        )
        .await,
        409,
        "CONFLICT",
    );
    let zero = s
        .call(
            "createPlan",
            "POST",
            "/admin/v1/plans",
            Some(&token),
            Some(json!({"name": "none", "requests": 0, "periodSeconds": 1, "burst": 1})),
        )
        .await;
    problem(&zero, 400, "BAD_REQUEST");
    let plans = s
        .call("listPlans", "GET", "/admin/v1/plans", Some(&consumer), None)
        .await;
    assert_eq!(plans.json()["plans"][0]["name"], "bronze");

    // --- the catalogue: API owners publish for their organisation ---
    let api = json!({"slug": "citizen-match", "title": "Citizen match", "description": "Finds a citizen.",
        "classification": "official_sensitive", "tags": ["citizen"]});
    let refused = s
        .call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&consumer),
            Some(api.clone()),
        )
        .await;
    problem(&refused, 403, "RESOURCE_FORBIDDEN");
    let foreign = s
        .call("createApi", "POST", "/admin/v1/apis", Some(&owner),
            Some(json!({"slug": "x", "title": "X", "description": "", "classification": "official", "owner": nhs})))
        .await;
    problem(&foreign, 403, "RESOURCE_FORBIDDEN");
    let published = s
        .call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&owner),
            Some(api.clone()),
        )
        .await;
    status(&published, 201);
    assert_eq!(published.json()["owner"], dwp);
    let api_id = published.json()["id"].as_i64().unwrap();
    problem(
        &s.call(
            "createApi",
            "POST",
            "/admin/v1/apis",
            Some(&owner),
            Some(api),
        )
        .await,
        409,
        "CONFLICT",
    );
    let version = json!({"version": "v1", "group": "citizen-match", "status": "beta"});
    let path = format!("/admin/v1/apis/{api_id}/versions");
    for who in [&consumer, &other_owner] {
        let refused = s
            .call(
                "createApiVersion",
                "POST",
                &path,
                Some(who),
                Some(version.clone()),
            )
            .await;
        problem(&refused, 403, "RESOURCE_FORBIDDEN");
    }
    let v1 = s
        .call(
            "createApiVersion",
            "POST",
            &path,
            Some(&owner),
            Some(version.clone()),
        )
        .await;
    status(&v1, 201);
    let v1 = v1.json()["id"].as_i64().unwrap();
    problem(
        &s.call(
            "createApiVersion",
            "POST",
            &path,
            Some(&owner),
            Some(version),
        )
        .await,
        409,
        "CONFLICT",
    );
    let v2 = s
        .call(
            "createApiVersion",
            "POST",
            &path,
            Some(&owner),
            Some(json!({"version": "v2", "group": "citizen-match-v2", "status": "alpha"})),
        )
        .await;
    let v2 = v2.json()["id"].as_i64().unwrap();
    problem(
        &s.call(
            "createApiVersion",
            "POST",
            "/admin/v1/apis/999/versions",
            Some(&owner),
            Some(json!({"version": "v1", "group": "g", "status": "beta"})),
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let catalogue = s
        .call("listApis", "GET", "/admin/v1/apis", Some(&stranger), None)
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
            Some(&consumer),
            None,
        )
        .await;
    status(&one, 200);
    problem(
        &s.call("getApi", "GET", "/admin/v1/apis/999", Some(&consumer), None)
            .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );

    // --- applications: a consumer developer's, invisible to other organisations ---
    let refused = s
        .call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&owner),
            Some(json!({"slug": "x", "name": "X"})),
        )
        .await;
    problem(&refused, 403, "RESOURCE_FORBIDDEN");
    let for_other = s
        .call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&consumer),
            Some(json!({"slug": "x", "name": "X", "organisation": nhs})),
        )
        .await;
    problem(&for_other, 403, "RESOURCE_FORBIDDEN");
    let created = s
        .call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&consumer),
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
    problem(
        &s.call(
            "createApplication",
            "POST",
            "/admin/v1/applications",
            Some(&consumer),
            Some(json!({"slug": "licensing", "name": "Twin"})),
        )
        .await,
        409,
        "CONFLICT",
    );
    let app_path = format!("/admin/v1/applications/{app}");
    status(
        &s.call("getApplication", "GET", &app_path, Some(&consumer), None)
            .await,
        200,
    );
    status(
        &s.call("getApplication", "GET", &app_path, Some(&admin), None)
            .await,
        200,
    );
    for who in [&stranger, &other_owner] {
        let hidden = s
            .call("getApplication", "GET", &app_path, Some(who), None)
            .await;
        problem(&hidden, 404, "MATCHING_RESOURCE_NOT_FOUND");
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
            Some(&consumer),
            None,
        )
        .await;
    assert_eq!(listed.json()["applications"].as_array().unwrap().len(), 1);

    // --- keys: shown once; rotated and revoked by the organisation only ---
    let keys_path = format!("{app_path}/keys");
    for who in [&stranger, &other_owner] {
        problem(
            &s.call("listKeys", "GET", &keys_path, Some(who), None).await,
            404,
            "MATCHING_RESOURCE_NOT_FOUND",
        );
        problem(
            &s.call(
                "createKey",
                "POST",
                &keys_path,
                Some(who),
                Some(json!({"environment": "sandbox"})),
            )
            .await,
            404,
            "MATCHING_RESOURCE_NOT_FOUND",
        );
    }
    let listed = s
        .call("listKeys", "GET", &keys_path, Some(&consumer), None)
        .await;
    status(&listed, 200);
    assert_eq!(listed.json()["keys"][0]["prefix"], sandbox_key[..13]);
    let live = s
        .call(
            "createKey",
            "POST",
            &keys_path,
            Some(&consumer),
            Some(json!({"environment": "production"})),
        )
        .await;
    status(&live, 201);
    let live_key = live.json()["key"].as_str().unwrap().to_owned();
    assert!(live_key.starts_with("grn_live_"));
    problem(
        &s.call(
            "createKey",
            "POST",
            &keys_path,
            Some(&consumer),
            Some(json!({"environment": "staging"})),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    let rotate_path = format!("{keys_path}/{sandbox_key_id}/rotate");
    problem(
        &s.call("rotateKey", "POST", &rotate_path, Some(&stranger), None)
            .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let rotated = s
        .call("rotateKey", "POST", &rotate_path, Some(&consumer), None)
        .await;
    status(&rotated, 201);
    let rotated = rotated.json();
    assert_eq!(rotated["revoked"], sandbox_key_id);
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with("grn_test_") && new_key != sandbox_key);
    problem(
        &s.call("rotateKey", "POST", &rotate_path, Some(&consumer), None)
            .await,
        409,
        "CONFLICT",
    );
    let new_id = rotated["credential"]["id"].as_i64().unwrap();
    let revoke_path = format!("{keys_path}/{new_id}");
    problem(
        &s.call("revokeKey", "DELETE", &revoke_path, Some(&stranger), None)
            .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    status(
        &s.call("revokeKey", "DELETE", &revoke_path, Some(&consumer), None)
            .await,
        204,
    );
    problem(
        &s.call(
            "revokeKey",
            "DELETE",
            &format!("{keys_path}/999"),
            Some(&consumer),
            None,
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let listed = s
        .call("listKeys", "GET", &keys_path, Some(&consumer), None)
        .await;
    let keys = listed.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert_eq!(
        keys.iter().filter(|k| k["revokedAt"].is_null()).count(),
        1,
        "only the live key"
    );

    // --- certificates ---
    let ca = garrison_pki::CertificateAuthority::generate("Test CA").unwrap();
    let cert = ca.issue_client("licensing").unwrap();
    let certs_path = format!("{app_path}/certificates");
    let bound = s
        .call(
            "addCertificate",
            "POST",
            &certs_path,
            Some(&consumer),
            Some(json!({"pem": cert.cert_pem, "label": "CN=licensing"})),
        )
        .await;
    status(&bound, 201);
    assert_eq!(
        bound.json()["fingerprint"],
        cert.fingerprint_hex().replace(':', "").to_lowercase()
    );
    let cert_id = bound.json()["id"].as_i64().unwrap();
    problem(
        &s.call(
            "addCertificate",
            "POST",
            &certs_path,
            Some(&consumer),
            Some(json!({"pem": "not a certificate"})),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    problem(
        &s.call(
            "addCertificate",
            "POST",
            &certs_path,
            Some(&stranger),
            Some(json!({"pem": cert.cert_pem})),
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let listed = s
        .call(
            "listCertificates",
            "GET",
            &certs_path,
            Some(&consumer),
            None,
        )
        .await;
    assert_eq!(listed.json()["certificates"].as_array().unwrap().len(), 1);
    problem(
        &s.call(
            "listCertificates",
            "GET",
            &certs_path,
            Some(&stranger),
            None,
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let cert_path = format!("{certs_path}/{cert_id}");
    problem(
        &s.call(
            "revokeCertificate",
            "DELETE",
            &cert_path,
            Some(&other_owner),
            None,
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    status(
        &s.call(
            "revokeCertificate",
            "DELETE",
            &cert_path,
            Some(&consumer),
            None,
        )
        .await,
        204,
    );

    // --- allow-list: no wider than /24 ---
    let allow_path = format!("{app_path}/allow-list");
    let set = s
        .call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&consumer),
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
            Some(&consumer),
            Some(json!({"networks": ["10.0.0.0/16"]})),
        )
        .await;
    problem(&wide, 400, "BAD_REQUEST");
    assert!(wide.json()["detail"].as_str().unwrap().contains("/24"));
    problem(
        &s.call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&consumer),
            Some(json!({"networks": ["2001:db8::/48"]})),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    problem(
        &s.call(
            "setAllowList",
            "PUT",
            &allow_path,
            Some(&stranger),
            Some(json!({"networks": []})),
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let read = s
        .call("getAllowList", "GET", &allow_path, Some(&consumer), None)
        .await;
    assert_eq!(
        read.json()["networks"].as_array().unwrap().len(),
        3,
        "the refused lists changed nothing"
    );
    problem(
        &s.call("getAllowList", "GET", &allow_path, Some(&stranger), None)
            .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );

    // --- subscriptions: requested by the consumer, decided by the API's owner only ---
    let ask =
        json!({"application": app, "apiVersion": v1, "plan": bronze, "purpose": "DVLA-LICENSING"});
    problem(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&stranger),
            Some(ask.clone()),
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let alpha =
        json!({"application": app, "apiVersion": v2, "plan": bronze, "purpose": "DVLA-LICENSING"});
    problem(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&consumer),
            Some(alpha),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    let bad_purpose =
        json!({"application": app, "apiVersion": v1, "plan": bronze, "purpose": "has spaces"});
    problem(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&consumer),
            Some(bad_purpose),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    let requested = s
        .call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&consumer),
            Some(ask.clone()),
        )
        .await;
    status(&requested, 201);
    assert_eq!(requested.json()["status"], "requested");
    let sub = requested.json()["id"].as_i64().unwrap();
    problem(
        &s.call(
            "requestSubscription",
            "POST",
            "/admin/v1/subscriptions",
            Some(&consumer),
            Some(ask),
        )
        .await,
        409,
        "CONFLICT",
    );
    let approve = format!("/admin/v1/subscriptions/{sub}/approve");
    let self_approval = s
        .call(
            "approveSubscription",
            "POST",
            &approve,
            Some(&consumer),
            Some(json!({})),
        )
        .await;
    problem(&self_approval, 403, "RESOURCE_FORBIDDEN");
    let foreign_owner = s
        .call(
            "approveSubscription",
            "POST",
            &approve,
            Some(&other_owner),
            Some(json!({})),
        )
        .await;
    problem(&foreign_owner, 404, "MATCHING_RESOURCE_NOT_FOUND");
    let reject = format!("/admin/v1/subscriptions/{sub}/reject");
    problem(
        &s.call(
            "rejectSubscription",
            "POST",
            &reject,
            Some(&consumer),
            Some(json!({"reason": "no"})),
        )
        .await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    problem(
        &s.call(
            "rejectSubscription",
            "POST",
            &reject,
            Some(&owner),
            Some(json!({})),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    let approved = s
        .call(
            "approveSubscription",
            "POST",
            &approve,
            Some(&owner),
            Some(json!({"reason": "Checked the DPIA.", "fields": ["data.id"]})),
        )
        .await;
    status(&approved, 200);
    assert_eq!(approved.json()["status"], "approved");
    assert_eq!(approved.json()["fields"], json!(["data.id"]));
    problem(
        &s.call(
            "rejectSubscription",
            "POST",
            &reject,
            Some(&owner),
            Some(json!({"reason": "late"})),
        )
        .await,
        409,
        "CONFLICT",
    );
    problem(
        &s.call(
            "approveSubscription",
            "POST",
            "/admin/v1/subscriptions/999/approve",
            Some(&owner),
            None,
        )
        .await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    let seen_by = |who: &str| {
        let who = who.to_owned();
        let s = &s;
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
    assert_eq!(seen_by(&consumer).await, 1);
    assert_eq!(
        seen_by(&owner).await,
        1,
        "the owner sees requests to its APIs"
    );
    assert_eq!(seen_by(&stranger).await, 0);
    assert_eq!(seen_by(&other_owner).await, 0);
    assert_eq!(seen_by(&admin).await, 1);
    let revoke = format!("/admin/v1/subscriptions/{sub}/revoke");
    problem(
        &s.call("revokeSubscription", "POST", &revoke, Some(&consumer), None)
            .await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    let revoked = s
        .call(
            "revokeSubscription",
            "POST",
            &revoke,
            Some(&admin),
            Some(json!({"reason": "Contract ended."})),
        )
        .await;
    status(&revoked, 200);
    assert_eq!(revoked.json()["status"], "revoked");

    // --- lifecycle ---
    let lifecycle = format!("/admin/v1/apis/{api_id}/versions/{v1}/lifecycle");
    let deprecate = json!({"status": "deprecated", "sunset": "2027-03-31", "successor": v2});
    problem(
        &s.call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&consumer),
            Some(deprecate.clone()),
        )
        .await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    problem(
        &s.call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&other_owner),
            Some(deprecate.clone()),
        )
        .await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    problem(
        &s.call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&owner),
            Some(json!({"status": "deprecated"})),
        )
        .await,
        400,
        "BAD_REQUEST",
    );
    let done = s
        .call(
            "setLifecycle",
            "PUT",
            &lifecycle,
            Some(&owner),
            Some(deprecate),
        )
        .await;
    status(&done, 200);
    assert_eq!(done.json()["sunset"], "2027-03-31");

    // --- admin events: every change and refused attempt, for platform admins only ---
    problem(
        &s.call("listEvents", "GET", "/admin/v1/events", Some(&owner), None)
            .await,
        403,
        "RESOURCE_FORBIDDEN",
    );
    let events = s
        .call("listEvents", "GET", "/admin/v1/events", Some(&admin), None)
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

    // --- sign out ends the session ---
    status(
        &s.call(
            "signOut",
            "DELETE",
            "/admin/v1/sessions/current",
            Some(&stranger),
            None,
        )
        .await,
        204,
    );
    problem(
        &s.call("getMe", "GET", "/admin/v1/me", Some(&stranger), None)
            .await,
        401,
        "INVALID_CREDENTIALS",
    );

    // --- a key is never shown twice: no answer but the issuing one holds it ---
    let bodies = s.bodies.lock().unwrap().clone();
    for key in [&sandbox_key, &live_key, &new_key] {
        let holding = bodies.iter().filter(|b| b.contains(key.as_str())).count();
        assert_eq!(holding, 1, "{} shown {holding} times", &key[..13]);
    }

    // --- every operation of the contract was exercised and checked ---
    let checked = s.checked.lock().unwrap().clone();
    for operation in s.contract.operations() {
        let id = operation.operation_id().unwrap();
        assert!(checked.contains(id), "{id} was never called");
    }
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
        let wrong = s
            .call(
                "signIn",
                "POST",
                "/admin/v1/sessions",
                None,
                Some(json!({"email": "dev@dvla.example", "password": "guess guess guess"})),
            )
            .await;
        problem(&wrong, 401, "INVALID_CREDENTIALS");
    }
    let blocked = s
        .call(
            "signIn",
            "POST",
            "/admin/v1/sessions",
            None,
            Some(json!({"email": "dev@dvla.example", "password": common::PASSWORD})),
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
    let signed = s
        .call(
            "signUp",
            "POST",
            "/admin/v1/sign-ups",
            None,
            Some(body("dana@example.test", common::PASSWORD)),
        )
        .await;
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

    let weak = s
        .call(
            "signUp",
            "POST",
            "/admin/v1/sign-ups",
            None,
            Some(body("weak@example.test", "too short")),
        )
        .await;
    problem(&weak, 400, "BAD_REQUEST");
    let taken = s
        .call(
            "signUp",
            "POST",
            "/admin/v1/sign-ups",
            None,
            Some(body("Taken@example.test", common::PASSWORD)),
        )
        .await;
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
    let fourth = s
        .call(
            "signUp",
            "POST",
            "/admin/v1/sign-ups",
            None,
            Some(body("fourth@example.test", common::PASSWORD)),
        )
        .await;
    status(&fourth, 201);
    let blocked = s
        .call(
            "signUp",
            "POST",
            "/admin/v1/sign-ups",
            None,
            Some(body("fifth@example.test", common::PASSWORD)),
        )
        .await;
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

#[tokio::test]
async fn the_admin_api_is_not_served_on_the_public_listener() {
    let s = Server::start(PortalSettings::default()).await;
    let public = s.gateway.listen_addrs()[0];
    let answer = common::raw(public, "GET", "/admin/v1/apis", Some(&s.admin_token), None).await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    let answer = common::raw(
        s.admin_addr(),
        "GET",
        "/admin/v1/apis",
        Some(&s.admin_token),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let s = Server::start(PortalSettings::default()).await;
    let missing = common::raw(
        s.admin_addr(),
        "GET",
        "/admin/v1/nothing",
        Some(&s.admin_token),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    let wrong = common::raw(
        s.admin_addr(),
        "PATCH",
        "/admin/v1/apis",
        Some(&s.admin_token),
        None,
    )
    .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers["allow"], "GET, POST");
}
