//! References and names.

use super::*;

#[test]
fn a_route_naming_an_unknown_upstream_is_refused() {
    let yaml = mistake(
        "    upstream: checks\n    auth",
        "    upstream: chekcs\n    auth",
    );
    let (_s, file, problems) = rejected("unknown-upstream", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "chekcs"),
        "routes[3].upstream",
        &["no upstream is named \"chekcs\""],
    );
}

#[test]
fn a_subscription_to_unknown_names_reports_each_one() {
    let yaml = mistake(
        "  - consumer: council\n    group: files\n    plan: bulk\n",
        "  - consumer: councl\n    group: filez\n    plan: gold\n",
    );
    let (_s, file, problems) = rejected("unknown-subscription", &yaml);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "councl"),
        "subscriptions[1].consumer",
        &["no consumer is named \"councl\""],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "filez"),
        "subscriptions[1].group",
        &["no route is in group \"filez\""],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "gold"),
        "subscriptions[1].plan",
        &["no plan is named \"gold\""],
    );
}

#[test]
fn a_consumer_subscribed_twice_to_a_group_is_refused() {
    let yaml = mistake(
        "    plan: bulk\n",
        "    plan: bulk\n  - consumer: council # again\n    group: files\n    plan: standard\n",
    );
    let (_s, file, problems) = rejected("duplicate-subscription", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "council # again"),
        "subscriptions[2]",
        &["already subscribed to this group"],
    );
}

#[test]
fn duplicate_names_are_refused_at_the_second_use() {
    for (section, from, to, field) in [
        (
            "upstream",
            "  - name: checks\n",
            "  - name: records\n",
            "upstreams[1].name",
        ),
        (
            "route",
            "  - name: citizen-match\n",
            "  - name: citizen-lookup\n",
            "routes[1].name",
        ),
        (
            "plan",
            "  - name: bulk\n",
            "  - name: standard\n",
            "plans[1].name",
        ),
        (
            "consumer",
            "  - name: council\n",
            "  - name: dvla\n",
            "consumers[1].name",
        ),
        (
            "key id",
            "      - id: dvla-old\n",
            "      - id: dvla-1\n",
            "consumers[0].keys[1].id",
        ),
    ] {
        let yaml = mistake(from, to);
        let (_s, file, problems) = rejected(section, &yaml);
        let name = to
            .trim()
            .trim_start_matches("- ")
            .split_once(": ")
            .expect("kv")
            .1;
        // (References to the name that disappeared are reported too, each at its own line.)
        assert_problem(
            &problems,
            &file,
            position_nth(&yaml, &format!(": {name}\n"), 1).add_columns(2),
            field,
            &[&format!("the name \"{name}\" is used twice")],
        );
    }

    let yaml = mistake(
        "    address: 127.0.0.1:8443\n",
        "    address: 127.0.0.1:8443\n  - name: public\n    address: 127.0.0.1:8444\n",
    );
    let (_s, file, problems) = rejected("listener", &yaml);
    assert_only(
        &problems,
        &file,
        position_nth(&yaml, "public", 1),
        "listeners[1].name",
        &["used twice"],
    );
}

#[test]
fn names_outside_the_allowed_characters_are_refused() {
    let yaml = mistake("plans:\n", "plans:\n  - name: bulk plan\n    rate: 1/s\n");
    let (_s, file, problems) = rejected("bad-name", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "bulk plan"),
        "plans[0].name",
        &["1-64 characters of letters, digits, '-', '_' and '.'"],
    );
}

// === routes ===

#[test]
fn conflicting_route_templates_are_refused() {
    let yaml = mistake(
        "plans:\n",
        "  - name: by-nino\n    methods: [GET]\n    path: /citizens/{nino}\n    upstream: records\nplans:\n",
    );
    let (_s, file, problems) = rejected("conflict-param", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "/citizens/{nino}"),
        "routes[4].path",
        &["cannot route GET /citizens/{nino}", "/citizens/{id}"],
    );

    // A route without methods claims every method, so it conflicts with any route on the path.
    let yaml = mistake(
        "plans:\n",
        "  - name: more-files\n    host: files.example.gov.uk\n    methods: [PUT]\n    path: /files/{*other}\n    upstream: checks\nplans:\n",
    );
    let (_s, file, problems) = rejected("conflict-catch-all", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "/files/{*other}"),
        "routes[4].path",
        &["cannot route PUT /files/{*other}", "/files/{*rest}"],
    );

    let yaml = mistake("path: /files/{*rest}", "path: /files/{*rest}/meta");
    let (_s, file, problems) = rejected("catch-all-not-last", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "/files/{*rest}/meta"),
        "routes[2].path",
        &["Catch-all parameters are only allowed at the end"],
    );
}

#[test]
fn route_methods_hosts_paths_and_auth_are_checked() {
    let yaml = mistake("methods: [GET, HEAD]", "methods: [GET, TRACE, get]");
    let (_s, file, problems) = rejected("methods", &yaml);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "TRACE"),
        "routes[3].methods[1]",
        &["expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"],
    );
    assert_problem(
        &problems,
        &file,
        position_nth(&yaml, "get]", 1),
        "routes[3].methods[2]",
        &["method listed twice"],
    );

    let yaml = mistake(
        "host: Files.Example.GOV.uk",
        "host: files.example.gov.uk:8443",
    );
    let (_s, file, problems) = rejected("host", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "files.example.gov.uk:8443"),
        "routes[2].host",
        &["without port or path"],
    );

    let yaml = mistake("path: /status", "path: status");
    let (_s, file, problems) = rejected("path", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "status\n    upstream"),
        "routes[3].path",
        &["starts with '/'"],
    );

    let yaml = mistake("auth: public", "auth: none");
    let (_s, file, problems) = rejected("auth", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "none"),
        "routes[3].auth",
        &["expected api_key or public"],
    );
}

#[test]
fn an_audited_route_needs_an_audit_store() {
    let yaml = mistake("    timeout: 3s\n", "    timeout: 3s\n    audit: true\n");
    let (_s, file, problems) = rejected("audit-without-store", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "audit: true").add_columns(7),
        "routes[0].audit",
        &["no `audit:` section"],
    );
    let with_store = format!("{yaml}audit:\n  dir: audit-store\n  queue: shed\n");
    let config = accepted("audit-with-store", &with_store);
    assert!(config.routes[0].audit);
    let audit = config.audit.expect("audit settings");
    assert!(audit.shed_when_full);
    assert!(audit.dir.ends_with("audit-store"));
    let bad_queue = format!("{yaml}audit:\n  dir: a\n  queue: drop\n");
    let (_s, file, problems) = rejected("audit-queue", &bad_queue);
    assert_only(
        &problems,
        &file,
        position(&bad_queue, "drop"),
        "audit.queue",
        &["expected block (fail closed) or shed"],
    );
}

#[test]
fn audit_durability_is_fsync_unless_write_is_chosen() {
    let yaml = mistake("    timeout: 3s\n", "    timeout: 3s\n    audit: true\n");
    let fsync = accepted("audit-fsync", &format!("{yaml}audit:\n  dir: a\n"));
    assert_eq!(fsync.audit.expect("audit").write_then_sync, None);
    let write = accepted(
        "audit-write",
        &format!("{yaml}audit:\n  dir: a\n  durability: write\n  sync_interval: 20ms\n"),
    );
    assert_eq!(
        write.audit.expect("audit").write_then_sync,
        Some(std::time::Duration::from_millis(20))
    );
    let default_interval = accepted(
        "audit-write-default",
        &format!("{yaml}audit:\n  dir: a\n  durability: write\n"),
    );
    assert_eq!(
        default_interval.audit.expect("audit").write_then_sync,
        Some(std::time::Duration::from_millis(100))
    );

    let bad = format!("{yaml}audit:\n  dir: a\n  durability: lazy\n");
    let (_s, file, problems) = rejected("audit-durability", &bad);
    assert_only(
        &problems,
        &file,
        position(&bad, "lazy"),
        "audit.durability",
        &["expected fsync", "or write"],
    );
    let stray = format!("{yaml}audit:\n  dir: a\n  sync_interval: 5ms\n");
    let (_s, file, problems) = rejected("audit-stray-interval", &stray);
    assert_only(
        &problems,
        &file,
        position(&stray, "5ms"),
        "audit.sync_interval",
        &["only to `durability: write`"],
    );
}

#[test]
fn audit_group_commit_is_off_unless_set_and_at_most_100ms() {
    let yaml = mistake("    timeout: 3s\n", "    timeout: 3s\n    audit: true\n");
    let off = accepted("audit-group-off", &format!("{yaml}audit:\n  dir: a\n"));
    assert_eq!(off.audit.expect("audit").group_commit, Duration::ZERO);
    for (text, expected) in [("2ms", Duration::from_millis(2)), ("0ms", Duration::ZERO)] {
        let config = accepted(
            "audit-group-set",
            &format!("{yaml}audit:\n  dir: a\n  group_commit: {text}\n"),
        );
        assert_eq!(
            config.audit.expect("audit").group_commit,
            expected,
            "{text}"
        );
    }
    for (text, complaint) in [
        ("101ms", "must be at most 100ms"),
        ("soon", "does not start with a whole number"),
        ("12345", "has no unit"),
        ("-1ms", "does not start with a whole number"),
    ] {
        let bad = format!("{yaml}audit:\n  dir: a\n  group_commit: {text}\n");
        let (_s, file, problems) = rejected("audit-group-bad", &bad);
        assert_only(
            &problems,
            &file,
            position(&bad, text),
            "audit.group_commit",
            &[complaint],
        );
    }
}
