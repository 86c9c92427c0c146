//! Signing in and out by form: the session cookie, the catalogue and API pages, throttling.

use garrison_store::{Role, Store};

use crate::common::raw;
use crate::support::{
    any_event, count_events, csrf_of, get, header, post, post_as, post_sign_in, publish,
    session_cookie, sign_in_form, start, status,
};

#[tokio::test]
async fn signing_in_shows_the_catalogue_with_its_filters_and_signing_out_needs_the_csrf_token() {
    let (s, addr) = start().await;
    let org = s.organisation("dvla");
    s.user("dev@dvla.example", Some(org), Role::ConsumerDeveloper);
    publish(&s);

    // Every page requires a session; every answer carries the security headers.
    let anonymous = get(addr, "/catalogue", None).await;
    assert_eq!(status(&anonymous), 303, "{anonymous}");
    assert_eq!(header(&anonymous, "location"), Some("/sign-in"));
    let form = get(addr, "/sign-in", None).await;
    assert_eq!(status(&form), 200);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("referrer-policy", "same-origin"),
    ] {
        assert_eq!(header(&form, name), Some(value), "{name}");
    }
    let csp = header(&form, "content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(form.contains("<label for=\"email\">"), "labelled fields");

    // Sign-in: only from the portal's own pages; a wrong password says so, and no cookie.
    let credentials = sign_in_form("dev@dvla.example");
    let cross_site = post(addr, "/sign-in", &credentials, "https://evil.example", None).await;
    assert_eq!(status(&cross_site), 403, "{cross_site}");
    let wrong = post_sign_in(addr, "email=dev%40dvla.example&password=nope").await;
    assert_eq!(status(&wrong), 401);
    assert!(wrong.contains("role=\"alert\""), "{wrong}");
    assert!(header(&wrong, "set-cookie").is_none());
    let signed = post_sign_in(addr, &credentials).await;
    assert_eq!(status(&signed), 303, "{signed}");
    let set_cookie = header(&signed, "set-cookie").unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let cookie = session_cookie(&signed);
    assert!(cookie.starts_with("__Host-garrison_session=grn_sess_"));

    // The catalogue: owner, classification, lifecycle with sunset, tags; text escaped.
    let page = get(addr, "/catalogue", Some(&cookie)).await;
    assert_eq!(status(&page), 200, "{page}");
    assert!(
        page.contains("Citizen match") && page.contains("dwp agency"),
        "{page}"
    );
    assert!(page.contains("OFFICIAL-SENSITIVE"));
    assert!(page.contains("status-deprecated") && page.contains("sunset 2027-03-31"));
    assert!(page.contains("2 of 2 APIs"));
    assert!(
        !page.contains("<script>"),
        "markup from the store is escaped"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<img"), "{page}");
    let deprecated = get(addr, "/catalogue?status=deprecated", Some(&cookie)).await;
    assert!(deprecated.contains("1 of 2 APIs") && deprecated.contains("Citizen match"));
    let tagged = get(addr, "/catalogue?tag=reference", Some(&cookie)).await;
    assert!(tagged.contains("1 of 2 APIs") && !tagged.contains("Citizen match"));
    let searched = get(addr, "/catalogue?q=finds+CITIZEN", Some(&cookie)).await;
    assert!(searched.contains("1 of 2 APIs") && searched.contains("Citizen match"));
    let none = get(addr, "/catalogue?q=%3Cnothing%3E", Some(&cookie)).await;
    assert!(none.contains("No API matches") && none.contains("value=\"&lt;nothing&gt;\""));

    // Sign-out needs the page's CSRF token.
    let forged = post_as(addr, &cookie, "/sign-out", "csrf=guess").await;
    assert_eq!(status(&forged), 403);
    assert_eq!(
        status(&get(addr, "/catalogue", Some(&cookie)).await),
        200,
        "still signed in"
    );
    let csrf = csrf_of(&page);
    let out = post_as(addr, &cookie, "/sign-out", &format!("csrf={csrf}")).await;
    assert_eq!(status(&out), 303, "{out}");
    assert!(header(&out, "set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        status(&get(addr, "/catalogue", Some(&cookie)).await),
        303,
        "the session ended"
    );

    let css = get(addr, "/assets/portal.css", None).await;
    assert_eq!(status(&css), 200);
    assert_eq!(
        header(&css, "content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(status(&get(addr, "/nothing", None).await), 404);

    // The API's page, its contract and Swagger UI rendering it (from the crate that packages
    // it); a version without a contract has no documentation.
    let signed = post_sign_in(addr, &credentials).await;
    let cookie = session_cookie(&signed);
    let api = get(addr, "/apis/citizen-match", Some(&cookie)).await;
    assert_eq!(status(&api), 200, "{api}");
    assert!(
        api.contains("href=\"/apis/citizen-match/v1/docs/\""),
        "{api}"
    );
    let spec = get(addr, "/apis/citizen-match/v1/openapi.json", Some(&cookie)).await;
    assert_eq!(status(&spec), 200);
    assert_eq!(header(&spec, "content-type"), Some("application/json"));
    assert!(spec.contains("\"title\": \"Citizen match\""), "{spec}");
    let bare = get(addr, "/apis/citizen-match/v1/docs", Some(&cookie)).await;
    assert_eq!(status(&bare), 303);
    assert_eq!(
        header(&bare, "location"),
        Some("/apis/citizen-match/v1/docs/")
    );
    let docs = get(addr, "/apis/citizen-match/v1/docs/", Some(&cookie)).await;
    assert_eq!(status(&docs), 200, "{docs}");
    assert!(docs.contains("swagger-ui"), "{docs}");
    let policy = header(&docs, "content-security-policy").unwrap();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-eval"),
        "{policy}"
    );
    let init = get(
        addr,
        "/apis/citizen-match/v1/docs/swagger-initializer.js",
        Some(&cookie),
    )
    .await;
    assert_eq!(status(&init), 200);
    assert!(
        init.contains("/apis/citizen-match/v1/openapi.json"),
        "{init}"
    );
    assert_eq!(
        status(&get(addr, "/apis/hostile/v1/docs/", Some(&cookie)).await),
        404
    );
    assert_eq!(
        status(&get(addr, "/apis/nothing", Some(&cookie)).await),
        404
    );
    assert_eq!(
        status(&get(addr, "/apis/citizen-match", None).await),
        303,
        "sign-in first"
    );
    // The admin API's answers are unaffected by the portal (same store, same sessions).
    let api = raw(
        s.admin_addr(),
        "GET",
        "/admin/v1/apis",
        Some(&s.admin_token),
        None,
    )
    .await;
    assert_eq!(api.status, 200);
}

#[tokio::test]
async fn the_sign_in_form_is_throttled() {
    let (s, addr) = start().await;
    let org = s.organisation("dvla");
    s.user("dev@dvla.example", Some(org), Role::ConsumerDeveloper);
    for _ in 0..3 {
        let wrong = post_sign_in(addr, "email=dev%40dvla.example&password=guess").await;
        assert_eq!(status(&wrong), 401);
    }
    let credentials = sign_in_form("dev@dvla.example");
    let blocked = post_sign_in(addr, &credentials).await;
    assert_eq!(status(&blocked), 429, "{blocked}");
    assert!(blocked.contains("Too many failed sign-ins"));
    assert!(header(&blocked, "set-cookie").is_none());
    let events = s.store.events(10).unwrap();
    assert_eq!(
        count_events(&events, "signIn", "INVALID_CREDENTIALS"),
        3,
        "failed sign-ins are admin events"
    );
    assert!(any_event(&events, "signIn", "MESSAGE_THROTTLED_OUT"));
}
