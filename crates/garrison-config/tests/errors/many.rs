//! Many problems at once.

use super::*;

#[test]
fn every_problem_in_a_file_is_reported_in_line_order() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8443
upstreams:
  - name: records
    targets: [127.0.0.1:9101]
    request_timeout: 30
routes:
  - name: lookup
    path: /citizens/{id}
    upstream: recods
plans:
  - name: standard
    rate: 0/s
consumers:
  - name: dvla
    keys:
      - id: k1
        digest: sha256:abc
    allow: [10.0.0.0/99]
subscriptions:
  - consumer: dvla
    group: lookup
    plan: gold
";
    let (_s, file, problems) = rejected("many", yaml);
    let f = file.display();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            format!(
                "{f}:7:22: upstreams[0].request_timeout: \"30\" has no unit: write e.g. 500ms, 10s, 5m or 1h"
            ),
            format!("{f}:11:15: routes[0].upstream: no upstream is named \"recods\""),
            format!("{f}:14:11: plans[0].rate: \"0/s\": a rate of zero admits nothing"),
            format!(
                "{f}:19:17: consumers[0].keys[0].digest: expected sha256: followed by 64 hex digits"
            ),
            format!(
                "{f}:20:13: consumers[0].allow[0]: \"10.0.0.0/99\" is not an IP address or CIDR network (e.g. 203.0.113.0/24)"
            ),
            format!("{f}:24:11: subscriptions[0].plan: no plan is named \"gold\""),
        ]
    );
    // And the whole report, as `garrison config check` prints it: one problem per line.
    let report = garrison_config::load(&file)
        .expect_err("refused")
        .to_string();
    assert_eq!(report, lines.join("\n"));
}
