//! Self sign-up: off by default, an organisation of one's own, discreet refusals, throttling.

use garrison_store::{Role, Store};

use crate::common::PASSWORD;
use crate::support::{
    any_event, count_events, get, header, post, post_sign_up, session_cookie, sign_up_form, start,
    start_with_sign_up, status,
};

#[tokio::test]
async fn without_self_sign_up_there_is_no_sign_up_page_nor_link() {
    let (s, addr) = start().await;
    let page = get(addr, "/sign-in", None).await;
    assert_eq!(status(&page), 200);
    assert!(!page.contains("/sign-up"), "{page}");
    assert_eq!(status(&get(addr, "/sign-up", None).await), 404);
    let form = sign_up_form("Ada", "ada@example.test", PASSWORD, "Ada's team");
    let posted = post_sign_up(addr, &form).await;
    assert_eq!(status(&posted), 404, "{posted}");
    assert!(s.store.user_by_email("ada@example.test").unwrap().is_none());
    assert!(s.store.organisations().unwrap().is_empty());
}

#[tokio::test]
async fn a_developer_signs_up_into_a_new_organisation_of_their_own_and_is_signed_in() {
    let (s, addr) = start_with_sign_up().await;
    let dvla = s.organisation("dvla");
    let sign_in_page = get(addr, "/sign-in", None).await;
    assert!(sign_in_page.contains("href=\"/sign-up\""), "{sign_in_page}");
    let page = get(addr, "/sign-up", None).await;
    assert_eq!(status(&page), 200);
    for field in [
        "name=\"name\"",
        "name=\"email\"",
        "name=\"password\"",
        "name=\"organisation\"",
    ] {
        assert!(page.contains(field), "{field}: {page}");
    }

    // Naming an existing organisation does not join it: a new one is made, its slug unique.
    let form = sign_up_form("Ada <b>", "ada@example.test", PASSWORD, "DVLA");
    let signed = post_sign_up(addr, &form).await;
    assert_eq!(status(&signed), 303, "{signed}");
    assert_eq!(header(&signed, "location"), Some("/applications"));
    let set_cookie = header(&signed, "set-cookie").unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = session_cookie(&signed);
    let (user, _) = s.store.user_by_email("ada@example.test").unwrap().unwrap();
    assert_eq!(user.role, Role::ConsumerDeveloper);
    assert_ne!(user.organisation, Some(dvla));
    let orgs = s.store.organisations().unwrap();
    let own = orgs
        .iter()
        .find(|o| Some(o.id) == user.organisation)
        .unwrap();
    assert_eq!((own.slug.as_str(), own.name.as_str()), ("dvla-2", "DVLA"));
    let list = get(addr, "/applications", Some(&cookie)).await;
    assert_eq!(status(&list), 200, "{list}");
    assert!(list.contains("no application yet"));
    assert!(list.contains("Signed in as ada@example.test"));

    // A second developer naming the same team gets yet another organisation.
    let form = sign_up_form("Bob", "bob@example.test", PASSWORD, "DVLA");
    assert_eq!(status(&post_sign_up(addr, &form).await), 303);
    let (bob, _) = s.store.user_by_email("bob@example.test").unwrap().unwrap();
    assert_ne!(bob.organisation, user.organisation);
    assert_ne!(bob.organisation, Some(dvla));
    assert_eq!(s.store.organisations().unwrap().len(), 3);
    assert!(s.store.users(Some(dvla)).unwrap().is_empty());

    let events = s.store.events(20).unwrap();
    assert_eq!(
        count_events(&events, "signUp", "ok"),
        2,
        "sign-ups are admin events"
    );
}

#[tokio::test]
async fn sign_up_refuses_other_origins_weak_passwords_and_taken_emails_without_saying_so() {
    let (s, addr) = start_with_sign_up().await;
    s.user("taken@example.test", None, Role::PlatformAdmin);
    let form = sign_up_form("Eve", "eve@example.test", PASSWORD, "Eve's team");
    let forged = post(addr, "/sign-up", &form, "https://evil.example", None).await;
    assert_eq!(status(&forged), 403, "{forged}");

    let weak = sign_up_form("Eve <script>", "eve@example.test", "short pass", "Eve & co");
    let refused = post_sign_up(addr, &weak).await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert!(refused.contains("at least 12 characters"));
    // What was entered comes back escaped; the password never does.
    assert!(
        refused.contains("value=\"Eve &lt;script&gt;\""),
        "{refused}"
    );
    assert!(refused.contains("value=\"Eve &amp; co\""), "{refused}");
    assert!(!refused.contains("<script>") && !refused.contains("short pass"));
    assert!(header(&refused, "set-cookie").is_none());

    let bad_email = sign_up_form("Eve", "not-an-email", PASSWORD, "Eve's team");
    let refused = post_sign_up(addr, &bad_email).await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert!(refused.contains("Enter an email address"));

    let taken = sign_up_form("Eve", "TAKEN@example.test", PASSWORD, "Eve's team");
    let refused = post_sign_up(addr, &taken).await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert!(refused.contains("Check your details"), "{refused}");
    assert!(!refused.contains("already exists") && !refused.contains("taken"));
    assert!(header(&refused, "set-cookie").is_none());
    // No organisation was made for refused sign-ups, and the taken account is unchanged.
    assert!(s.store.organisations().unwrap().is_empty());
    let (user, _) = s
        .store
        .user_by_email("taken@example.test")
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::PlatformAdmin);
    assert!(s.store.user_by_email("eve@example.test").unwrap().is_none());
    let events = s.store.events(20).unwrap();
    assert!(any_event(&events, "signUp", "CONFLICT"));
}

#[tokio::test]
async fn sign_ups_from_one_address_are_throttled() {
    let (s, addr) = start_with_sign_up().await;
    // The limit is 4 attempts per window, successful or not.
    for i in 0..4 {
        let form = sign_up_form("Dev", &format!("dev{i}@example.test"), PASSWORD, "Team");
        assert_eq!(status(&post_sign_up(addr, &form).await), 303);
    }
    let form = sign_up_form("Dev", "dev9@example.test", PASSWORD, "Team");
    let blocked = post_sign_up(addr, &form).await;
    assert_eq!(status(&blocked), 429, "{blocked}");
    assert!(blocked.contains("Too many sign-ups"));
    assert!(
        s.store
            .user_by_email("dev9@example.test")
            .unwrap()
            .is_none()
    );
    let slugs: Vec<String> = s
        .store
        .organisations()
        .unwrap()
        .into_iter()
        .map(|o| o.slug)
        .collect();
    assert_eq!(slugs, ["team", "team-2", "team-3", "team-4"]);
    assert!(any_event(
        &s.store.events(20).unwrap(),
        "signUp",
        "MESSAGE_THROTTLED_OUT"
    ));
}
