//! The `control_plane` section.

use super::*;

#[test]
fn the_control_plane_resolves_its_store_against_the_file_and_has_defaults() {
    let yaml = format!("{VALID}\ncontrol_plane:\n  store: state/control-plane.db\n");
    let scratch = Scratch::new("control-plane");
    let (file, result) = load(&scratch, &yaml);
    let config = result.unwrap_or_else(|e| panic!("{e}"));
    let cp = config.control_plane.expect("a control plane");
    assert_eq!(
        cp.store,
        file.parent().unwrap().join("state/control-plane.db")
    );
    assert_eq!(cp.session_ttl, Duration::from_secs(8 * 3600));
    assert_eq!(
        (cp.allow_list_max_prefix_ipv4, cp.allow_list_max_prefix_ipv6),
        (24, 64)
    );
    assert!(!cp.self_sign_up, "self sign-up is off unless asked for");
    assert!(accepted("no-control-plane", VALID).control_plane.is_none());
}

#[test]
fn a_prefix_beyond_the_address_length_or_a_bad_ttl_is_refused_where_written() {
    let yaml = format!(
        "{VALID}\ncontrol_plane:\n  store: cp.db\n  session_ttl: forever\n  \
         allow_list_max_prefix_ipv4: \"33\"\n  allow_list_max_prefix_ipv6: \"/64\"\n"
    );
    let (_s, file, problems) = rejected("control-plane-bad", &yaml);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "\"33\""),
        "control_plane.allow_list_max_prefix_ipv4",
        &["0 to 32"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "\"/64\""),
        "control_plane.allow_list_max_prefix_ipv6",
        &["0 to 128"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "forever"),
        "control_plane.session_ttl",
        &[],
    );
}

#[test]
fn a_control_plane_needs_its_store() {
    let yaml = format!("{VALID}\ncontrol_plane:\n  session_ttl: 1h\n");
    let (_s, _file, problems) = rejected("control-plane-no-store", &yaml);
    assert!(
        problems.iter().any(|p| p.message.contains("store")),
        "{problems:#?}"
    );
}

#[test]
fn self_sign_up_is_a_boolean_written_as_true_or_false() {
    let yaml = format!("{VALID}\ncontrol_plane:\n  store: cp.db\n  self_sign_up: true\n");
    let cp = accepted("control-plane-sign-up", &yaml)
        .control_plane
        .expect("a control plane");
    assert!(cp.self_sign_up);

    let yaml = format!("{VALID}\ncontrol_plane:\n  store: cp.db\n  self_sign_up: open\n");
    let (_s, file, problems) = rejected("control-plane-sign-up-bad", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "open"),
        "control_plane.self_sign_up",
        &["expected true or false"],
    );
}
