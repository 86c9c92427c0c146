//! A developer's applications by form: keys shown once, certificates, allow-list, approvals.

use garrison_store::{Role, Store};

use crate::support::{any_event, csrf_of, get, post_as, publish, sign_in, start, status};

#[tokio::test]
async fn a_developer_creates_an_application_sees_its_key_once_and_an_owner_approves_its_request() {
    let (s, addr) = start().await;
    let dvla = s.organisation("dvla");
    let nhs = s.organisation("nhsbsa");
    s.user("dev@dvla.example", Some(dvla), Role::ConsumerDeveloper);
    s.user("dev@nhsbsa.example", Some(nhs), Role::ConsumerDeveloper);
    publish(&s);
    let dwp = s
        .store
        .organisations()
        .unwrap()
        .into_iter()
        .find(|o| o.slug == "dwp")
        .unwrap()
        .id;
    s.user("owner@dwp.example", Some(dwp), Role::ApiOwner);
    s.store
        .create_plan(garrison_store::NewPlan {
            name: "bronze".into(),
            requests: 3,
            period_seconds: 1,
            burst: 3,
        })
        .unwrap();

    let dev = sign_in(addr, "dev@dvla.example").await;
    let list = get(addr, "/applications", Some(&dev)).await;
    assert_eq!(status(&list), 200);
    assert!(list.contains("no application yet"));
    let csrf = csrf_of(&list);
    let missing_csrf = post_as(addr, &dev, "/applications", "slug=licensing&name=Licensing").await;
    assert_eq!(
        status(&missing_csrf),
        403,
        "a form without the CSRF token is refused"
    );
    let created = post_as(
        addr,
        &dev,
        "/applications",
        &format!("csrf={csrf}&slug=licensing&name=Driver+licensing"),
    )
    .await;
    assert_eq!(status(&created), 201, "{created}");
    let key = created
        .split("id=\"new-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(key.starts_with("grn_test_") && key.len() > 50, "{key}");
    assert!(created.contains("shown only this once"));
    let app = s.store.applications(Some(dvla)).unwrap()[0].id;

    // The application's page lists the key by its prefix only.
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert_eq!(status(&page), 200, "{page}");
    assert!(
        page.contains(&key[..13]) && !page.contains(&key),
        "never shown again"
    );
    // Another organisation's developer does not see it.
    let other = sign_in(addr, "dev@nhsbsa.example").await;
    let hidden = get(addr, &format!("/applications/{app}"), Some(&other)).await;
    assert_eq!(status(&hidden), 404, "{hidden}");
    let forged = post_as(
        addr,
        &other,
        &format!("/applications/{app}/keys"),
        &format!(
            "csrf={}&environment=production",
            csrf_of(&get(addr, "/applications", Some(&other)).await)
        ),
    )
    .await;
    assert_eq!(status(&forged), 404, "{forged}");

    // A production key, then its revocation.
    let issued = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/keys"),
        &format!("csrf={csrf}&environment=production"),
    )
    .await;
    assert_eq!(status(&issued), 201);
    assert!(issued.contains("grn_live_"));
    let live = s
        .store
        .keys(app)
        .unwrap()
        .into_iter()
        .find(|k| k.prefix.starts_with("grn_live_"))
        .unwrap();
    let revoked = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/keys/{}/revoke", live.id),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(status(&revoked), 303, "{revoked}");
    assert!(s.store.key(live.id).unwrap().unwrap().revoked_at.is_some());

    // Rotation: a new key shown once, the old one revoked.
    let sandbox = s
        .store
        .keys(app)
        .unwrap()
        .into_iter()
        .find(|k| k.prefix.starts_with("grn_test_"))
        .unwrap();
    let rotated = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/keys/{}/rotate", sandbox.id),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(status(&rotated), 201, "{rotated}");
    assert!(rotated.contains("id=\"new-key\">grn_test_") && !rotated.contains(&key));
    assert!(
        s.store
            .key(sandbox.id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    // A client certificate, bound from its PEM and unbound.
    let ca = garrison_pki::CertificateAuthority::generate("Test CA").unwrap();
    let cert = ca.issue_client("licensing").unwrap();
    let pem = cert
        .cert_pem
        .replace('\n', "%0A")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let bound = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/certificates"),
        &format!("csrf={csrf}&label=CN%3Dlicensing&pem={pem}"),
    )
    .await;
    assert_eq!(status(&bound), 303, "{bound}");
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(
        page.contains(&cert.fingerprint_hex().replace(':', "").to_lowercase()),
        "{page}"
    );
    let bad = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/certificates"),
        &format!("csrf={csrf}&pem=not+a+certificate"),
    )
    .await;
    assert_eq!(status(&bad), 400);
    assert!(bad.contains("role=\"alert\""));
    let cert_id = s.store.certificates(app).unwrap()[0].id;
    let unbound = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/certificates/{cert_id}/revoke"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(status(&unbound), 303);
    assert!(
        s.store
            .certificate(cert_id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    // The allow-list: no wider than a /24.
    let wide = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/allow-list"),
        &format!("csrf={csrf}&networks=10.0.0.0%2F16"),
    )
    .await;
    assert_eq!(status(&wide), 400);
    assert!(wide.contains("/24"), "{wide}");
    let saved = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/allow-list"),
        &format!("csrf={csrf}&networks=203.0.113.7%2F24%0D%0A198.51.100.1"),
    )
    .await;
    assert_eq!(status(&saved), 303, "{saved}");
    assert_eq!(s.store.allow_list(app).unwrap().len(), 2);
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(page.contains("<code>203.0.113.0/24</code>"), "{page}");

    // A subscription request, decided by the API's owner.
    let api = s
        .store
        .apis()
        .unwrap()
        .into_iter()
        .find(|a| a.slug == "citizen-match")
        .unwrap();
    let version = s.store.api_versions(api.id).unwrap()[0].id;
    let requested = post_as(
        addr,
        &dev,
        &format!("/applications/{app}/subscriptions"),
        &format!("csrf={csrf}&version={version}&plan=1&purpose=DVLA-LICENSING"),
    )
    .await;
    assert_eq!(status(&requested), 303, "{requested}");
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(page.contains("sub-requested"), "{page}");
    let owner = sign_in(addr, "owner@dwp.example").await;
    let queue = get(addr, "/approvals", Some(&owner)).await;
    assert_eq!(status(&queue), 200);
    assert!(queue.contains("DVLA-LICENSING"), "{queue}");
    // Who asks, by more than an id: the organisation's slug, the application, the person.
    for detail in [
        "<code>dvla</code>",
        "<code>licensing</code>",
        "Driver licensing",
        "dev@dvla.example",
    ] {
        assert!(queue.contains(detail), "{detail} in {queue}");
    }
    let sub = s.store.subscriptions(Some(app)).unwrap()[0].id;
    let self_approval = post_as(
        addr,
        &dev,
        &format!("/subscriptions/{sub}/decide"),
        &format!("csrf={csrf}&decision=approve"),
    )
    .await;
    assert_eq!(
        status(&self_approval),
        403,
        "a consumer cannot approve: {self_approval}"
    );
    let approved = post_as(
        addr,
        &owner,
        &format!("/subscriptions/{sub}/decide"),
        &format!("csrf={}&decision=approve&reason=Checked", csrf_of(&queue)),
    )
    .await;
    assert_eq!(status(&approved), 303, "{approved}");
    let page = get(addr, &format!("/applications/{app}"), Some(&dev)).await;
    assert!(page.contains("sub-approved"), "{page}");
    let events = s.store.events(50).unwrap();
    assert!(any_event(&events, "approveSubscription", "ok"));
    assert!(
        any_event(&events, "approveSubscription", "RESOURCE_FORBIDDEN"),
        "the pages' actions are admin events like the API's"
    );
}
