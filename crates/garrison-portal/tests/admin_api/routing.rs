//! Routing: admin API on the admin listener only; unknown paths and methods are problems.

use garrison_portal::PortalSettings;

use crate::common::{self, Server};

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
