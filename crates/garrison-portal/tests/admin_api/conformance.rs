//! The conformance tour: every contract operation, called by every kind of caller, in one run.

use garrison_portal::PortalSettings;
use garrison_store::Role;

use crate::common::Server;
use crate::support::Tour;
use crate::{applications, catalogue, credentials, events, platform, sessions, subscriptions};

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

    sessions::nobody_is_refused_everything(&s).await;
    sessions::bad_sign_ins_are_refused(&s).await;
    let admin = s.sign_in("admin@platform.example").await;
    let consumer = s.sign_in("dev@dvla.example").await;
    let owner = s.sign_in("owner@dwp.example").await;
    let stranger = s.sign_in("dev@nhsbsa.example").await;
    let other_owner = s.sign_in("owner@nhsbsa.example").await;
    let token = s.admin_token.clone();
    let t = Tour {
        s,
        dvla,
        dwp,
        nhs,
        admin,
        consumer,
        owner,
        stranger,
        other_owner,
        token,
    };
    sessions::me_tells_callers_who_they_are(&t).await;

    let bronze = platform::organisations_users_and_plans(&t).await;
    let published = catalogue::owners_publish_for_their_organisation(&t).await;
    let app = applications::consumers_own_applications(&t).await;
    let (live_key, new_key) = credentials::keys_are_the_organisations(&t, &app).await;
    credentials::certificates_are_the_organisations(&t, &app).await;
    applications::allow_list_is_no_wider_than_a_slash_24(&t, &app).await;
    subscriptions::decided_by_the_apis_owner_only(&t, &app, &published, bronze).await;
    catalogue::lifecycle_is_the_owners(&t, &published).await;
    events::changes_and_refusals_are_recorded(&t).await;
    sessions::sign_out_ends_the_session(&t).await;

    // --- a key is never shown twice: no answer but the issuing one holds it ---
    let s = &t.s;
    let bodies = s.bodies.lock().unwrap().clone();
    for key in [&app.sandbox_key, &live_key, &new_key] {
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
