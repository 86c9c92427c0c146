//! Values.

use super::*;

#[test]
fn bad_durations_are_refused_with_the_units_that_work() {
    for (bad, says) in [
        ("3 s", "unknown unit"),
        ("1.5s", "unknown unit"),
        ("10", "no unit"),
        ("0s", "longer than zero"),
        ("25h", "at most 24h"),
        ("99999999999999999999s", "too long"),
    ] {
        let yaml = mistake("timeout: 3s", &format!("timeout: \"{bad}\""));
        let (_s, file, problems) = rejected("duration", &yaml);
        assert_only(
            &problems,
            &file,
            position(&yaml, &format!("\"{bad}\"")),
            "routes[0].timeout",
            &[says],
        );
    }
    let yaml = mistake("cooldown: 1m", "cooldown: soon");
    let (_s, file, problems) = rejected("duration-breaker", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "soon"),
        "upstreams[1].circuit_breaker.cooldown",
        &["500ms, 10s, 5m or 1h"],
    );
}

#[test]
fn a_zero_or_malformed_rate_is_refused() {
    let yaml = mistake("rate: 10/s", "rate: 0/s");
    let (_s, file, problems) = rejected("zero-rate", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "0/s"),
        "plans[0].rate",
        &["a rate of zero admits nothing"],
    );

    let yaml = mistake("rate: 10/s", "rate: 10/week");
    let (_s, file, problems) = rejected("rate-period", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "10/week"),
        "plans[0].rate",
        &["unknown period \"week\"", "s, min, h or day"],
    );

    let yaml = mistake("rate: 10/s", "rate: fast");
    let (_s, file, problems) = rejected("rate-shape", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "fast"),
        "plans[0].rate",
        &["not a rate", "100/s"],
    );
}

#[test]
fn numbers_out_of_range_name_the_range() {
    let yaml = mistake("burst: 50", "burst: 0");
    let (_s, file, problems) = rejected("burst-zero", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "burst: 0").add_columns(7),
        "plans[1].burst",
        &["between 1 and 1000000"],
    );

    let yaml = mistake(
        "listeners:\n",
        "gateway:\n  limits:\n    max_headers: 2\n    max_header_bytes: 1024\nlisteners:\n",
    );
    let (_s, file, problems) = rejected("limits", &yaml);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "max_headers: 2").add_columns(13),
        "gateway.limits.max_headers",
        &["between 8 and 1000"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "max_header_bytes: 1024").add_columns(18),
        "gateway.limits.max_header_bytes",
        &["between 8192 and 1048576"],
    );

    let yaml = mistake("failures: 3", "failures: 0");
    let (_s, file, problems) = rejected("breaker-failures", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "failures: 0").add_columns(10),
        "upstreams[1].circuit_breaker.failures",
        &["between 1 and 1000"],
    );
}
