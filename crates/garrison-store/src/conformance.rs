//! The behaviour every [`Store`] backend must have, written once against the trait.
//!
//! A backend's test runs each of [`CASES`] on a fresh, empty store of its own:
//!
//! ```text
//! for (name, case) in garrison_store::conformance::CASES {
//!     let store = open_a_fresh_store();
//!     case(&store); // panics with `name`'s assertion on failure
//! }
//! ```
//!
//! The cases panic on failure (they are test code, shipped in the library so that another
//! crate's backend can run them).

use garrison_core::{ApiKey, CertFingerprint, Environment};

use crate::model::*;
use crate::{Store, StoreError};

/// One case: it panics if the store misbehaves.
pub type Case = fn(&dyn Store);

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    ("organisations", organisations),
    ("users_and_passwords", users_and_passwords),
    ("sessions", sessions),
    ("applications", applications),
    ("keys", keys),
    ("certificates_and_allow_lists", certificates_and_allow_lists),
    ("apis_and_lifecycle", apis_and_lifecycle),
    ("plans", plans),
    ("subscription_state_machine", subscription_state_machine),
    ("gateway_view", gateway_view),
    ("revision_and_changes", revision_and_changes),
    ("events", events),
];

/// Fails with the case's context unless `result` is `Ok`.
#[track_caller]
fn ok<T>(result: Result<T, StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("store call failed: {e}"),
    }
}

/// An organisation, a consumer developer in it and an application, for cases that need them.
struct Fixture {
    org: Organisation,
    developer: User,
    app: Application,
}

fn fixture(store: &dyn Store, slug: &str) -> Fixture {
    let org = ok(store.create_organisation(NewOrganisation {
        slug: slug.into(),
        name: format!("{slug} agency"),
    }));
    let developer = ok(store.create_user(NewUser {
        email: format!("dev@{slug}.example"),
        name: "Developer".into(),
        organisation: Some(org.id),
        role: Role::ConsumerDeveloper,
        password_hash: "$argon2id$placeholder".into(),
    }));
    let app = ok(store.create_application(NewApplication {
        organisation: org.id,
        slug: "licensing".into(),
        name: "Licensing".into(),
    }));
    Fixture {
        org,
        developer,
        app,
    }
}

fn published_api(store: &dyn Store, owner: i64, group: &str) -> (Api, ApiVersion) {
    let api = ok(store.create_api(NewApi {
        slug: group.into(),
        title: format!("{group} API"),
        owner,
        description: "Finds a citizen.".into(),
        classification: Classification::OfficialSensitive,
        tags: vec!["citizen".into(), "dwp".into()],
    }));
    let version = ok(store.create_api_version(NewApiVersion {
        api: api.id,
        version: "v1".into(),
        group: group.into(),
        status: Lifecycle::Beta,
    }));
    (api, version)
}

fn bronze(store: &dyn Store) -> Plan {
    ok(store.create_plan(NewPlan {
        name: "bronze".into(),
        requests: 3,
        period_seconds: 1,
        burst: 3,
    }))
}

/// Organisations are created, read back, listed, and their slugs are unique.
pub fn organisations(store: &dyn Store) {
    let dvla = ok(store.create_organisation(NewOrganisation {
        slug: "dvla".into(),
        name: "Driver and Vehicle Licensing Agency".into(),
    }));
    assert_eq!(dvla.slug, "dvla");
    assert!(dvla.created_at > 0);
    assert_eq!(ok(store.organisation(dvla.id)), Some(dvla.clone()));
    assert_eq!(ok(store.organisation(dvla.id + 1000)), None);
    let again = store.create_organisation(NewOrganisation {
        slug: "dvla".into(),
        name: "Another".into(),
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let nhs = ok(store.create_organisation(NewOrganisation {
        slug: "nhsbsa".into(),
        name: "NHS Business Services Authority".into(),
    }));
    assert_eq!(ok(store.organisations()), vec![dvla, nhs]);
}

/// Users keep their role and organisation; emails are unique case-insensitively; only a
/// platform admin may have no organisation; the stored password hash comes back to verify.
pub fn users_and_passwords(store: &dyn Store) {
    let f = fixture(store, "dvla");
    assert_eq!(f.developer.role, Role::ConsumerDeveloper);
    assert_eq!(f.developer.organisation, Some(f.org.id));
    let hash = ok(crate::password::hash("a long enough password"));
    let admin = ok(store.create_user(NewUser {
        email: "Admin@Platform.Example".into(),
        name: "Admin".into(),
        organisation: None,
        role: Role::PlatformAdmin,
        password_hash: hash,
    }));
    assert_eq!(admin.email, "admin@platform.example");
    let (found, stored) = ok(store.user_by_email("ADMIN@platform.example")).expect("found");
    assert_eq!(found, admin);
    assert!(crate::password::verify("a long enough password", &stored));
    assert!(!crate::password::verify("another password!", &stored));
    assert_eq!(ok(store.user_by_email("nobody@example")), None);

    let duplicate = store.create_user(NewUser {
        email: "admin@platform.example".into(),
        name: "Twin".into(),
        organisation: None,
        role: Role::PlatformAdmin,
        password_hash: "x".into(),
    });
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let orphan = store.create_user(NewUser {
        email: "owner@nowhere.example".into(),
        name: "Orphan".into(),
        organisation: None,
        role: Role::ApiOwner,
        password_hash: "x".into(),
    });
    assert!(matches!(orphan, Err(StoreError::Invalid(_))), "{orphan:?}");
    let dangling = store.create_user(NewUser {
        email: "dev@ghost.example".into(),
        name: "Ghost".into(),
        organisation: Some(f.org.id + 1000),
        role: Role::ConsumerDeveloper,
        password_hash: "x".into(),
    });
    assert!(
        matches!(dangling, Err(StoreError::NotFound(_))),
        "{dangling:?}"
    );
    assert_eq!(ok(store.users(Some(f.org.id))), vec![f.developer.clone()]);
    assert_eq!(ok(store.users(None)).len(), 2);
    assert_eq!(ok(store.user(admin.id)), Some(admin));
}

/// A session is found by its token's digest until it expires or is deleted.
pub fn sessions(store: &dyn Store) {
    let f = fixture(store, "dvla");
    let token = garrison_core::KeyDigest::of(b"session-token");
    let at = now();
    ok(store.create_session(token, f.developer.id, at + 3600));
    let session = ok(store.session(&token, at)).expect("open");
    assert_eq!(session.user, f.developer.id);
    assert_eq!(session.expires_at, at + 3600);
    assert_eq!(ok(store.session(&token, at + 3600)), None, "expired");
    let other = garrison_core::KeyDigest::of(b"another-token");
    assert_eq!(ok(store.session(&other, at)), None);
    assert!(ok(store.delete_session(&token)));
    assert!(!ok(store.delete_session(&token)));
    assert_eq!(ok(store.session(&token, at)), None);
}

/// Application slugs are unique within an organisation, not across organisations.
pub fn applications(store: &dyn Store) {
    let dvla = fixture(store, "dvla");
    let nhs = fixture(store, "nhsbsa");
    assert_eq!(nhs.app.slug, dvla.app.slug);
    let twin = store.create_application(NewApplication {
        organisation: dvla.org.id,
        slug: "licensing".into(),
        name: "Twin".into(),
    });
    assert!(matches!(twin, Err(StoreError::Conflict(_))), "{twin:?}");
    assert_eq!(
        ok(store.applications(Some(dvla.org.id))),
        vec![dvla.app.clone()]
    );
    assert_eq!(ok(store.applications(None)).len(), 2);
    assert_eq!(ok(store.application(nhs.app.id)), Some(nhs.app));
}

/// Keys are kept as digest and prefix; revoking is idempotent and recorded; a digest is
/// unique.
pub fn keys(store: &dyn Store) {
    let f = fixture(store, "dvla");
    let issued = ApiKey::generate(Environment::Test).expect("random");
    let prefix = &issued.expose()[..13];
    let key = ok(store.add_key(f.app.id, Environment::Test, prefix, issued.digest()));
    assert_eq!(key.prefix, prefix);
    assert_eq!(key.environment, Environment::Test);
    assert!(key.digest.ct_eq(&issued.digest()));
    assert_eq!(key.revoked_at, None);
    let dup = store.add_key(f.app.id, Environment::Test, prefix, issued.digest());
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let ghost = ApiKey::generate(Environment::Live).expect("random");
    let orphan = store.add_key(
        f.app.id + 1000,
        Environment::Live,
        "grn_live_x",
        ghost.digest(),
    );
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");

    let live = ok(store.add_key(f.app.id, Environment::Live, "grn_live_abcd", ghost.digest()));
    assert!(ok(store.revoke_key(key.id)));
    assert!(!ok(store.revoke_key(key.id)), "already revoked");
    assert!(matches!(
        store.revoke_key(live.id + 1000),
        Err(StoreError::NotFound(_))
    ));
    let listed = ok(store.keys(f.app.id));
    assert_eq!(listed.len(), 2);
    assert!(listed[0].revoked_at.is_some());
    assert_eq!(listed[1], live);
    assert_eq!(ok(store.key(live.id)), Some(live));
}

/// Certificates bind by fingerprint until revoked; an allow-list is replaced whole and kept
/// normalised.
pub fn certificates_and_allow_lists(store: &dyn Store) {
    let f = fixture(store, "dvla");
    let fp = CertFingerprint::of_der(b"certificate der");
    let cert = ok(store.add_certificate(f.app.id, fp, "CN=licensing"));
    assert_eq!(cert.fingerprint, fp);
    assert_eq!(ok(store.certificate(cert.id)), Some(cert.clone()));
    assert!(ok(store.revoke_certificate(cert.id)));
    assert!(!ok(store.revoke_certificate(cert.id)));
    assert!(ok(store.certificates(f.app.id))[0].revoked_at.is_some());

    let nets: Vec<ipnet::IpNet> = vec![
        "198.51.100.7/24".parse().expect("net"),
        "2001:db8::/48".parse().expect("net"),
    ];
    ok(store.set_allow_list(f.app.id, &nets));
    let stored = ok(store.allow_list(f.app.id));
    assert_eq!(stored.len(), 2);
    assert!(
        stored.contains(&"198.51.100.0/24".parse().expect("net")),
        "{stored:?}"
    );
    ok(store.set_allow_list(f.app.id, &[]));
    assert!(ok(store.allow_list(f.app.id)).is_empty());
    assert!(matches!(
        store.set_allow_list(f.app.id + 1000, &nets),
        Err(StoreError::NotFound(_))
    ));
}

/// APIs keep their metadata and tags; versions move through the lifecycle with a valid
/// sunset date and a successor.
pub fn apis_and_lifecycle(store: &dyn Store) {
    let dwp = fixture(store, "dwp");
    let (api, v1) = published_api(store, dwp.org.id, "citizen-match");
    assert_eq!(api.tags, vec!["citizen".to_owned(), "dwp".to_owned()]);
    assert_eq!(api.classification, Classification::OfficialSensitive);
    assert_eq!(ok(store.api(api.id)), Some(api.clone()));
    assert_eq!(ok(store.apis()), vec![api.clone()]);
    assert_eq!(v1.status, Lifecycle::Beta);
    let twin = store.create_api_version(NewApiVersion {
        api: api.id,
        version: "v1".into(),
        group: "other".into(),
        status: Lifecycle::Alpha,
    });
    assert!(matches!(twin, Err(StoreError::Conflict(_))), "{twin:?}");
    let v2 = ok(store.create_api_version(NewApiVersion {
        api: api.id,
        version: "v2".into(),
        group: "citizen-match-v2".into(),
        status: Lifecycle::Stable,
    }));
    let deprecated = ok(store.set_lifecycle(
        v1.id,
        LifecycleChange {
            status: Lifecycle::Deprecated,
            sunset: Some("2027-03-31".into()),
            successor: Some(v2.id),
        },
    ));
    assert_eq!(deprecated.status, Lifecycle::Deprecated);
    assert_eq!(deprecated.sunset.as_deref(), Some("2027-03-31"));
    assert_eq!(deprecated.successor, Some(v2.id));
    let bad_date = store.set_lifecycle(
        v1.id,
        LifecycleChange {
            status: Lifecycle::Deprecated,
            sunset: Some("2027-02-30".into()),
            successor: None,
        },
    );
    assert!(
        matches!(bad_date, Err(StoreError::Invalid(_))),
        "{bad_date:?}"
    );
    let missing = store.set_lifecycle(
        v1.id + 1000,
        LifecycleChange {
            status: Lifecycle::Retired,
            sunset: None,
            successor: None,
        },
    );
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(ok(store.api_versions(api.id)), vec![deprecated, v2]);
}

/// Plans have unique names and admit something.
pub fn plans(store: &dyn Store) {
    let plan = bronze(store);
    assert_eq!((plan.requests, plan.period_seconds, plan.burst), (3, 1, 3));
    assert!(matches!(
        store.create_plan(NewPlan {
            name: "bronze".into(),
            requests: 1,
            period_seconds: 1,
            burst: 1
        }),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_plan(NewPlan {
            name: "nothing".into(),
            requests: 0,
            period_seconds: 1,
            burst: 1
        }),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(ok(store.plans()), vec![plan.clone()]);
    assert_eq!(ok(store.plan(plan.id)), Some(plan));
}

/// requested → approved → revoked, requested → rejected; nothing else; one live request per
/// application and version.
pub fn subscription_state_machine(store: &dyn Store) {
    let dvla = fixture(store, "dvla");
    let dwp = fixture(store, "dwp");
    let (_, v1) = published_api(store, dwp.org.id, "citizen-match");
    let plan = bronze(store);
    let ask = || NewSubscription {
        application: dvla.app.id,
        api_version: v1.id,
        plan: plan.id,
        purpose: "DVLA-LICENSING".into(),
        requested_by: dvla.developer.id,
    };
    let requested = ok(store.request_subscription(ask()));
    assert_eq!(requested.status, SubscriptionStatus::Requested);
    assert_eq!(requested.decided_by, None);
    let twice = store.request_subscription(ask());
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let decide = |status| Decision {
        status,
        by: dwp.developer.id,
        reason: Some("checked".into()),
        fields: None,
    };
    assert!(matches!(
        store.decide_subscription(requested.id, decide(SubscriptionStatus::Revoked)),
        Err(StoreError::Invalid(_))
    ));
    let approved =
        ok(store.decide_subscription(requested.id, decide(SubscriptionStatus::Approved)));
    assert_eq!(approved.status, SubscriptionStatus::Approved);
    assert_eq!(approved.decided_by, Some(dwp.developer.id));
    assert_eq!(approved.fields, None, "no field list: the whole response");
    assert!(approved.decided_at.is_some());
    assert!(matches!(
        store.decide_subscription(requested.id, decide(SubscriptionStatus::Rejected)),
        Err(StoreError::Invalid(_))
    ));
    let revoked = ok(store.decide_subscription(requested.id, decide(SubscriptionStatus::Revoked)));
    assert_eq!(revoked.status, SubscriptionStatus::Revoked);
    // Once revoked, asking again is allowed, and may be rejected.
    let again = ok(store.request_subscription(ask()));
    let rejected = ok(store.decide_subscription(again.id, decide(SubscriptionStatus::Rejected)));
    assert_eq!(rejected.reason.as_deref(), Some("checked"));
    assert_eq!(ok(store.subscriptions(Some(dvla.app.id))).len(), 2);
    assert_eq!(ok(store.subscriptions(Some(dwp.app.id))).len(), 0);
    assert!(matches!(
        store.decide_subscription(again.id + 1000, decide(SubscriptionStatus::Approved)),
        Err(StoreError::NotFound(_))
    ));
    let no_purpose = store.request_subscription(NewSubscription {
        purpose: "  ".into(),
        ..ask()
    });
    assert!(
        matches!(no_purpose, Err(StoreError::Invalid(_))),
        "{no_purpose:?}"
    );
}

/// The gateway's view holds applications with keys (named `org/app`), their live
/// certificates and allow-lists, approved subscriptions only, and announced lifecycles.
pub fn gateway_view(store: &dyn Store) {
    let dvla = fixture(store, "dvla");
    let dwp = fixture(store, "dwp");
    let (_, v1) = published_api(store, dwp.org.id, "citizen-match");
    let plan = bronze(store);
    assert!(ok(store.gateway_view()).consumers.is_empty(), "no keys yet");

    let key = ApiKey::generate(Environment::Test).expect("random");
    let credential = ok(store.add_key(
        dvla.app.id,
        Environment::Test,
        "grn_test_abcd",
        key.digest(),
    ));
    let fp = CertFingerprint::of_der(b"dvla cert");
    ok(store.add_certificate(dvla.app.id, fp, "CN=dvla"));
    let old = ok(store.add_certificate(dvla.app.id, CertFingerprint::of_der(b"old"), "old"));
    ok(store.revoke_certificate(old.id));
    ok(store.set_allow_list(dvla.app.id, &["203.0.113.0/24".parse().expect("net")]));
    let sub = ok(store.request_subscription(NewSubscription {
        application: dvla.app.id,
        api_version: v1.id,
        plan: plan.id,
        purpose: "DVLA-LICENSING".into(),
        requested_by: dvla.developer.id,
    }));

    let view = ok(store.gateway_view());
    assert_eq!(view.consumers.len(), 1);
    let consumer = &view.consumers[0];
    assert_eq!(consumer.name, "dvla/licensing");
    assert_eq!(consumer.keys.len(), 1);
    assert_eq!(consumer.keys[0].id, format!("store-key-{}", credential.id));
    assert!(consumer.keys[0].digest.ct_eq(&key.digest()));
    assert!(!consumer.keys[0].revoked);
    assert!(consumer.keys[0].sandbox, "a grn_test_ key is a sandbox key");
    assert_eq!(consumer.certificates, vec![fp]);
    assert_eq!(
        consumer.allow,
        vec!["203.0.113.0/24".parse::<ipnet::IpNet>().expect("net")]
    );
    assert!(view.subscriptions.is_empty(), "requested is not approved");

    let approved = ok(store.decide_subscription(
        sub.id,
        Decision {
            status: SubscriptionStatus::Approved,
            by: dwp.developer.id,
            reason: None,
            fields: Some(vec!["data.id".into(), "data.attributes.verified".into()]),
        },
    ));
    assert_eq!(approved.fields.as_ref().map(Vec::len), Some(2));
    ok(store.revoke_key(credential.id));
    let v2 = ok(store.create_api_version(NewApiVersion {
        api: v1.api,
        version: "v2".into(),
        group: "citizen-match-v2".into(),
        status: Lifecycle::Stable,
    }));
    ok(store.set_lifecycle(
        v1.id,
        LifecycleChange {
            status: Lifecycle::Deprecated,
            sunset: Some("2027-03-31".into()),
            successor: Some(v2.id),
        },
    ));
    let view = ok(store.gateway_view());
    assert!(
        view.consumers[0].keys[0].revoked,
        "the revoked key is listed as revoked"
    );
    assert_eq!(view.subscriptions.len(), 1);
    let granted = &view.subscriptions[0];
    assert_eq!(granted.consumer, "dvla/licensing");
    assert_eq!(granted.group, "citizen-match");
    assert_eq!(granted.plan, plan);
    assert_eq!(granted.purpose, "DVLA-LICENSING");
    assert_eq!(
        granted.fields,
        Some(vec![
            "data.id".to_owned(),
            "data.attributes.verified".to_owned()
        ])
    );
    assert_eq!(view.lifecycle.len(), 1);
    let since = view.lifecycle[0].since;
    assert!((now() - since).abs() < 60, "deprecated just now: {since}");
    assert_eq!(
        view.lifecycle,
        vec![ViewLifecycle {
            group: "citizen-match".into(),
            status: Lifecycle::Deprecated,
            sunset: Some("2027-03-31".into()),
            successor_group: Some("citizen-match-v2".into()),
            since,
        }]
    );
    assert_eq!(view.revision, ok(store.revision()));
}

/// Changes the gateway cares about advance the revision and notify watchers; others do not.
pub fn revision_and_changes(store: &dyn Store) {
    let mut changes = store.changes();
    let start = ok(store.revision());
    assert_eq!(*changes.borrow_and_update(), start);
    let f = fixture(store, "dvla");
    assert_eq!(
        ok(store.revision()),
        start,
        "an application without keys changes nothing"
    );
    assert!(!changes.has_changed().expect("sender alive"));
    let key = ApiKey::generate(Environment::Test).expect("random");
    let credential = ok(store.add_key(f.app.id, Environment::Test, "grn_test_x", key.digest()));
    let after_key = ok(store.revision());
    assert!(after_key > start);
    assert!(changes.has_changed().expect("sender alive"));
    assert_eq!(*changes.borrow_and_update(), after_key);
    ok(store.revoke_key(credential.id));
    assert!(ok(store.revision()) > after_key);
    assert!(changes.has_changed().expect("sender alive"));
}

/// Admin events are kept newest first.
pub fn events(store: &dyn Store) {
    ok(store.record_event("user:1", "createApplication", "application:1", "ok"));
    ok(store.record_event(
        "user:2",
        "approveSubscription",
        "subscription:4",
        "RESOURCE_FORBIDDEN",
    ));
    let events = ok(store.events(10));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].action, "approveSubscription");
    assert_eq!(events[0].outcome, "RESOURCE_FORBIDDEN");
    assert_eq!(events[1].actor, "user:1");
    assert!(events[0].id > events[1].id);
    assert_eq!(ok(store.events(1)).len(), 1);
}
