//! Structure: parse errors.

use super::*;

#[test]
fn an_unknown_field_is_named_with_the_fields_that_are_allowed() {
    let yaml = mistake("    request_timeout: 5s", "    request_timeuot: 5s");
    let (_s, file, problems) = rejected("typo", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "request_timeuot"),
        "upstreams[1].request_timeuot",
        &[
            "unknown field \"request_timeuot\"",
            "connect_timeout, request_timeout, idle_timeout",
        ],
    );

    let yaml = mistake("plans:\n", "route:\nplans:\n");
    let (_s, file, problems) = rejected("typo-top", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "route:\n"),
        "route",
        &["unknown field \"route\"", "routes"],
    );
}

#[test]
fn a_value_of_the_wrong_type_says_what_is_expected() {
    let yaml = mistake("burst: 50", "burst: fifty");
    let (_s, file, problems) = rejected("type-int", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "fifty"),
        "plans[1].burst",
        &["expected a whole number"],
    );

    let yaml = mistake("burst: 50", "burst: -5");
    let (_s, file, problems) = rejected("type-negative", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "-5"),
        "plans[1].burst",
        &["expected a whole number", "no sign"],
    );

    let yaml = mistake("revoked: true", "revoked: yes");
    let (_s, file, problems) = rejected("type-bool", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "yes"),
        "consumers[0].keys[1].revoked",
        &["expected true or false"],
    );

    let yaml = mistake("allow: [10.20.0.0/16, 10.1.2.3/8]", "allow: 10.20.0.0/16");
    let (_s, file, problems) = rejected("type-list", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "10.20.0.0/16"),
        "consumers[0].allow",
        &["expected a sequence"],
    );
}

#[test]
fn a_missing_required_field_is_reported_at_its_parent() {
    let yaml = mistake("    rate: 10/s\n", "");
    let (_s, file, problems) = rejected("missing-field", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p.file, file);
    // The line of the plan that lacks it (the column is the YAML library's mapping mark).
    assert_eq!(p.line, position(&yaml, "name: standard").0, "{p}");
    assert_eq!(p.field, "plans[0]");
    assert_eq!(p.message, "missing field `rate`");
}

#[test]
fn a_duplicate_yaml_key_is_refused_with_both_lines() {
    let yaml = mistake("    rate: 10/s\n", "    rate: 10/s\n    rate: 20/s\n");
    let (_s, file, problems) = rejected("duplicate-key", &yaml);
    let first = position(&yaml, "rate: 10/s").0;
    assert_only(
        &problems,
        &file,
        position(&yaml, "rate: 20/s"),
        "",
        &[
            "duplicate key \"rate\"",
            &format!("first defined on line {first}"),
        ],
    );
}

#[test]
fn broken_yaml_is_reported_at_its_line() {
    let yaml = mistake("methods: [POST]", "methods: [POST");
    let (_s, file, problems) = rejected("syntax", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, file);
    assert!(
        problems[0].message.starts_with("invalid YAML"),
        "{problems:?}"
    );
    // The scanner notices the unclosed flow sequence on the next line.
    assert_eq!(problems[0].line, position(&yaml, "path: /citizens/match").0);
}

#[test]
fn an_unreadable_configuration_file_is_reported_as_a_whole() {
    let scratch = Scratch::new("missing-file");
    let file = scratch.dir.join("absent.yaml");
    let error = garrison_config::load(&file).expect_err("no such file");
    assert_eq!(error.problems.len(), 1);
    let p = &error.problems[0];
    assert_eq!((p.file.as_path(), p.line, p.column), (file.as_path(), 0, 0));
    assert!(p.message.starts_with("cannot read the file"), "{p}");
    assert_eq!(p.to_string(), format!("{}: {}", file.display(), p.message));
}
