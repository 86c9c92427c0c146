//! Credentials: API keys (shown once, rotated, revoked) and client certificates, per organisation.

use serde_json::json;

use crate::support::{App, Tour, bad_request, conflict, count, id, not_found, status};

/// Tour step: keys are listed by prefix, issued, rotated and revoked by the application's
/// organisation only; returns the production key and the rotated sandbox key.
pub(crate) async fn keys_are_the_organisations(t: &Tour, app: &App) -> (String, String) {
    let s = &t.s;
    let (sandbox_key, sandbox_key_id) = (&app.sandbox_key, app.sandbox_key_id);
    let keys_path = format!("{}/keys", app.path);
    for who in [&t.stranger, &t.other_owner] {
        not_found(&s.call("listKeys", "GET", &keys_path, Some(who), None).await);
        not_found(
            &s.call(
                "createKey",
                "POST",
                &keys_path,
                Some(who),
                Some(json!({"environment": "sandbox"})),
            )
            .await,
        );
    }
    let listed = s
        .call("listKeys", "GET", &keys_path, Some(&t.consumer), None)
        .await;
    status(&listed, 200);
    assert_eq!(listed.json()["keys"][0]["prefix"], sandbox_key[..13]);
    let live = s
        .call(
            "createKey",
            "POST",
            &keys_path,
            Some(&t.consumer),
            Some(json!({"environment": "production"})),
        )
        .await;
    status(&live, 201);
    let live_key = live.json()["key"].as_str().unwrap().to_owned();
    assert!(live_key.starts_with("grn_live_"));
    bad_request(
        &s.call(
            "createKey",
            "POST",
            &keys_path,
            Some(&t.consumer),
            Some(json!({"environment": "staging"})),
        )
        .await,
    );
    let rotate_path = format!("{keys_path}/{sandbox_key_id}/rotate");
    not_found(
        &s.call("rotateKey", "POST", &rotate_path, Some(&t.stranger), None)
            .await,
    );
    let rotated = s
        .call("rotateKey", "POST", &rotate_path, Some(&t.consumer), None)
        .await;
    status(&rotated, 201);
    let rotated = rotated.json();
    assert_eq!(rotated["revoked"], sandbox_key_id);
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with("grn_test_") && new_key != *sandbox_key);
    conflict(
        &s.call("rotateKey", "POST", &rotate_path, Some(&t.consumer), None)
            .await,
    );
    let new_id = rotated["credential"]["id"].as_i64().unwrap();
    let revoke_path = format!("{keys_path}/{new_id}");
    not_found(
        &s.call("revokeKey", "DELETE", &revoke_path, Some(&t.stranger), None)
            .await,
    );
    status(
        &s.call("revokeKey", "DELETE", &revoke_path, Some(&t.consumer), None)
            .await,
        204,
    );
    not_found(
        &s.call(
            "revokeKey",
            "DELETE",
            &format!("{keys_path}/999"),
            Some(&t.consumer),
            None,
        )
        .await,
    );
    let listed = s
        .call("listKeys", "GET", &keys_path, Some(&t.consumer), None)
        .await;
    let keys = listed.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert_eq!(
        keys.iter().filter(|k| k["revokedAt"].is_null()).count(),
        1,
        "only the live key"
    );
    // Ten unrevoked keys at most (the live key is one of them); each is
    // compiled into the gateway's snapshot.
    let mut extra = Vec::new();
    for _ in 0..9 {
        let key = s
            .call(
                "createKey",
                "POST",
                &keys_path,
                Some(&t.consumer),
                Some(json!({"environment": "sandbox"})),
            )
            .await;
        status(&key, 201);
        extra.push(key.json()["credential"]["id"].as_i64().unwrap());
    }
    conflict(
        &s.call(
            "createKey",
            "POST",
            &keys_path,
            Some(&t.consumer),
            Some(json!({"environment": "sandbox"})),
        )
        .await,
    );
    for key in extra {
        status(
            &s.call(
                "revokeKey",
                "DELETE",
                &format!("{keys_path}/{key}"),
                Some(&t.consumer),
                None,
            )
            .await,
            204,
        );
    }
    (live_key, new_key)
}

/// Tour step: a client certificate is bound by fingerprint, listed and revoked by the
/// application's organisation only.
pub(crate) async fn certificates_are_the_organisations(t: &Tour, app: &App) {
    let s = &t.s;
    let ca = garrison_pki::CertificateAuthority::generate("Test CA").unwrap();
    let cert = ca.issue_client("licensing").unwrap();
    let certs_path = format!("{}/certificates", app.path);
    let bound = s
        .call(
            "addCertificate",
            "POST",
            &certs_path,
            Some(&t.consumer),
            Some(json!({"pem": cert.cert_pem, "label": "CN=licensing"})),
        )
        .await;
    status(&bound, 201);
    assert_eq!(
        bound.json()["fingerprint"],
        cert.fingerprint_hex().replace(':', "").to_lowercase()
    );
    let cert_id = id(&bound);
    bad_request(
        &s.call(
            "addCertificate",
            "POST",
            &certs_path,
            Some(&t.consumer),
            Some(json!({"pem": "not a certificate"})),
        )
        .await,
    );
    not_found(
        &s.call(
            "addCertificate",
            "POST",
            &certs_path,
            Some(&t.stranger),
            Some(json!({"pem": cert.cert_pem})),
        )
        .await,
    );
    let listed = s
        .call(
            "listCertificates",
            "GET",
            &certs_path,
            Some(&t.consumer),
            None,
        )
        .await;
    assert_eq!(count(&listed, "certificates"), 1);
    not_found(
        &s.call(
            "listCertificates",
            "GET",
            &certs_path,
            Some(&t.stranger),
            None,
        )
        .await,
    );
    let cert_path = format!("{certs_path}/{cert_id}");
    not_found(
        &s.call(
            "revokeCertificate",
            "DELETE",
            &cert_path,
            Some(&t.other_owner),
            None,
        )
        .await,
    );
    status(
        &s.call(
            "revokeCertificate",
            "DELETE",
            &cert_path,
            Some(&t.consumer),
            None,
        )
        .await,
        204,
    );
}
