//! `garrison contract diff` as CI uses it: exit codes and the three output formats.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

const OLD: &str = r#"openapi: 3.1.0
info: {title: Test, version: 1.0.0}
paths:
  /citizens:
    get:
      parameters:
        - {name: page, in: query, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  name: {type: string}
                  status: {type: string, enum: [active, closed]}
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write contract");
    path
}

fn diff(args: &[&str], old: &Path, new: &Path) -> Output {
    Command::new(BIN)
        .args(["contract", "diff"])
        .args(args)
        .arg(old)
        .arg(new)
        .output()
        .expect("run garrison")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_unchanged_contract_exits_0() {
    let dir = garrison_testkit::temp_dir("diff-same");
    let old = write(&dir, "old.yaml", OLD);
    let new = write(&dir, "new.yaml", OLD);
    let out = diff(&[], &old, &new);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 breaking, 0 warnings, 0 info"));
}

#[test]
fn a_breaking_change_exits_1_in_every_format() {
    let dir = garrison_testkit::temp_dir("diff-breaking");
    let old = write(&dir, "old.yaml", OLD);
    let new = write(
        &dir,
        "new.yaml",
        &OLD.replace("                  name: {type: string}\n", ""),
    );
    let out = diff(&[], &old, &new);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(
            "[breaking response-property-removed] old:#/paths/~1citizens/get/responses/200/content/application~1json/schema/properties/name: "
        ),
        "{}",
        stdout(&out)
    );

    let out = diff(&["--format", "markdown"], &old, &new);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("## Breaking changes\n\n- **response-property-removed**"),
        "{text}"
    );
    assert!(text.contains("## Warnings\n\nNone."), "{text}");
    assert!(text.contains("## Other changes"), "{text}");

    let out = diff(&["--format", "json"], &old, &new);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(json["summary"]["breaking"], 1);
    assert_eq!(json["changes"][0]["check"], "response-property-removed");
    assert_eq!(json["changes"][0]["level"], "breaking");
    assert_eq!(json["changes"][0]["document"], "old");
}

#[test]
fn a_warning_exits_0_unless_fail_on_warning() {
    let dir = garrison_testkit::temp_dir("diff-warning");
    let old = write(&dir, "old.yaml", OLD);
    let new = write(
        &dir,
        "new.yaml",
        &OLD.replace("[active, closed]", "[active, closed, merged]"),
    );
    let out = diff(&[], &old, &new);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Warnings:\n  [warning response-enum-value-added]"),
        "{}",
        stdout(&out)
    );
    let out = diff(&["--fail-on", "warning"], &old, &new);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_contract_that_cannot_load_exits_2() {
    let dir = garrison_testkit::temp_dir("diff-broken");
    let old = write(&dir, "old.yaml", OLD);
    let new = write(&dir, "new.yaml", "swagger: '2.0'\n");
    let out = diff(&[], &old, &new);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Swagger 2.0 is not supported"));
}
