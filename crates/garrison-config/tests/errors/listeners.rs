//! Listeners and upstreams.

use super::*;

#[test]
fn listener_and_admin_addresses_are_checked() {
    let yaml = mistake("address: 127.0.0.1:8443", "address: localhost:8443");
    let (_s, file, problems) = rejected("listener-address", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "localhost:8443"),
        "listeners[0].address",
        &["0.0.0.0:8443"],
    );

    let yaml = mistake(
        "    address: 127.0.0.1:8443\n",
        "    address: 127.0.0.1:8443\n  - name: second\n    address: 127.0.0.1:8443 # again\n",
    );
    let (_s, file, problems) = rejected("listener-twice", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "127.0.0.1:8443 # again"),
        "listeners[1].address",
        &["two listeners bind the same address"],
    );

    let yaml = mistake("listeners:\n", "admin:\n  listen: 8081\nlisteners:\n");
    let (_s, file, problems) = rejected("admin-listen", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "8081"),
        "admin.listen",
        &["127.0.0.1:8081"],
    );
}

#[test]
fn a_file_without_listeners_is_refused_as_a_whole() {
    let yaml = mistake(
        "listeners:\n  - name: public\n    address: 127.0.0.1:8443\n",
        "",
    );
    let (_s, file, problems) = rejected("no-listeners", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!((&problems[0].file, problems[0].line), (&file, 0));
    assert_eq!(
        problems[0].to_string(),
        format!(
            "{}: no listeners: declare at least one under `listeners:`",
            file.display()
        )
    );
}

#[test]
fn upstream_targets_must_be_plain_host_and_port() {
    let yaml = mistake(
        "targets: [127.0.0.1:9201]",
        "targets: [127.0.0.1, \"https://checks.internal:443\", checks.internal:9201]",
    );
    let (_s, file, problems) = rejected("targets", &yaml);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "127.0.0.1,"),
        "upstreams[1].targets[0]",
        &["expected host:port"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "\"https://checks.internal:443\""),
        "upstreams[1].targets[1]",
        &["TLS to upstreams is not supported yet"],
    );

    let yaml = mistake("targets: [127.0.0.1:9201]", "targets: []");
    let (_s, file, problems) = rejected("no-targets", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "[]"),
        "upstreams[1].targets",
        &["at least one target"],
    );
}
