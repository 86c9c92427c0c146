//! `garrison contract lint` as CI uses it: exit codes, and findings that name the file, the
//! JSON pointer and the rule.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

const CLEAN: &str = r#"openapi: 3.1.0
info:
  title: Test
  version: 1.0.0
  description: A test API.
  contact: {email: team@example.gov.uk}
servers:
  - url: https://api.example.gov.uk
security:
  - apiKey: []
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: api-key}
paths:
  /citizens:
    get:
      operationId: listCitizens
      summary: List citizens
      responses:
        '404': {description: none}
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write contract");
    path
}

fn lint(args: &[&str], files: &[&Path]) -> Output {
    Command::new(BIN)
        .args(["contract", "lint"])
        .args(args)
        .args(files)
        .output()
        .expect("run garrison")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_clean_contract_exits_0() {
    let dir = garrison_testkit::temp_dir("contract-clean");
    let file = write(&dir, "clean.yaml", CLEAN);
    let out = lint(&[], &[&file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 file: 0 errors, 0 warnings, 0 info"));
}

#[test]
fn an_error_finding_exits_1_and_names_file_pointer_and_rule() {
    let dir = garrison_testkit::temp_dir("contract-error");
    let file = write(
        &dir,
        "plain.yaml",
        &CLEAN.replace("https://api.example", "http://api.example"),
    );
    let out = lint(&[], &[&file]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "{}: #/servers/0/url: [error https-servers-only] server URL",
        file.display()
    );
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));

    // Turned down to a warning, the same contract passes.
    let out = lint(&["--rule-severity", "https-servers-only=warning"], &[&file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("[warning https-servers-only]"));
}

#[test]
fn json_output_lists_findings_with_their_location() {
    let dir = garrison_testkit::temp_dir("contract-json");
    let file = write(
        &dir,
        "nosummary.yaml",
        &CLEAN.replace("      summary: List citizens\n", ""),
    );
    let out = lint(&["--format", "json"], &[&file]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let finding = &report["files"][0]["findings"][0];
    assert_eq!(report["files"][0]["file"], file.display().to_string());
    assert_eq!(finding["rule"], "operation-summary");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["pointer"], "#/paths/~1citizens/get");
    assert_eq!(report["summary"]["warnings"], 1);
}

#[test]
fn an_unloadable_contract_exits_2_with_file_and_pointer() {
    let dir = garrison_testkit::temp_dir("contract-broken");
    let clean = write(&dir, "clean.yaml", CLEAN);
    let broken = write(
        &dir,
        "broken.yaml",
        &CLEAN.replace(
            "'404': {description: none}",
            "'404': {$ref: '#/components/responses/Nope'}",
        ),
    );
    let out = lint(&[], &[&clean, &broken]);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!(
        "{}: #/paths/~1citizens/get/responses/404: $ref \"#/components/responses/Nope\" does not resolve",
        broken.display()
    );
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
}

#[test]
fn an_unknown_rule_is_a_usage_error() {
    let dir = garrison_testkit::temp_dir("contract-usage");
    let file = write(&dir, "clean.yaml", CLEAN);
    let out = lint(&["--rule-severity", "no-such-rule=error"], &[&file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rule"));
}

#[test]
fn the_shipped_contracts_lint_clean() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/citizen-match.yaml");
    let out = lint(&[], &[&file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
