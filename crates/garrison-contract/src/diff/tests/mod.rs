//! For every check: a pair of documents that trips it; and an unchanged pair with no change.

use serde_json::{Value, json};

use super::*;

/// A small contract; each test changes one thing in a copy.
fn base() -> Value {
    json!({
        "openapi": "3.1.0",
        "security": [{"apiKey": []}],
        "paths": {
            "/citizens/match": {
                "parameters": [{"name": "correlation-id", "in": "header", "schema": {"type": "string"}}],
                "post": {
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10, "maximum": 100}}
                    ],
                    "requestBody": {
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["lastName"],
                            "properties": {
                                "lastName": {"type": "string", "maxLength": 35, "minLength": 1},
                                "dateOfBirth": {"type": "string", "format": "date"},
                                "benefit": {"type": "string", "enum": ["pip", "uc"]},
                                "score": {"type": "number"}
                            }
                        }}}
                    },
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string", "format": "uuid", "maxLength": 36},
                                "status": {"type": "string", "enum": ["matched", "unmatched"]},
                                "names": {"type": "array", "items": {"type": "object", "properties": {"given": {"type": "string"}}}}
                            }
                        }}}},
                        "404": {"description": "none"}
                    }
                }
            },
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}}
        }
    })
}

const OP: &str = "/paths/~1citizens~1match/post";
const REQ: &str = "/paths/~1citizens~1match/post/requestBody/content/application~1json/schema";
const RESP: &str = "/paths/~1citizens~1match/post/responses/200/content/application~1json/schema";

/// The changes found when `change` is applied to the base's copy.
fn changed(change: impl FnOnce(&mut Value)) -> Vec<Change> {
    let old = base();
    let mut new = base();
    change(&mut new);
    diff(&old, &new)
}

fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer).expect("pointer in base")
}

/// `changes` holds exactly one change, of `check`, at `pointer`; returns it.
#[track_caller]
fn only(changes: &[Change], check: &str, pointer: &str) -> Change {
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].check, check, "{changes:#?}");
    assert_eq!(changes[0].pointer, pointer, "{changes:#?}");
    let level = CHECKS
        .iter()
        .find(|c| c.id == check)
        .expect("known check")
        .level;
    assert_eq!(changes[0].level, level);
    changes[0].clone()
}

#[test]
fn an_unchanged_contract_has_no_change() {
    assert_eq!(diff(&base(), &base()), vec![]);
}

#[test]
fn path_removed_and_added() {
    let c = changed(|d| {
        let paths = at(d, "/paths").as_object_mut().unwrap();
        let v = paths.remove("/health").unwrap();
        paths.insert("/status".into(), v);
    });
    assert_eq!(c.len(), 2, "{c:#?}");
    assert_eq!(
        (c[0].check, c[0].side, c[0].pointer.as_str()),
        ("path-removed", Side::Old, "#/paths/~1health")
    );
    assert_eq!(
        (c[1].check, c[1].side, c[1].pointer.as_str()),
        ("path-added", Side::New, "#/paths/~1status")
    );
}

#[test]
fn operation_removed_added_and_deprecated() {
    let c = changed(|d| {
        let item = at(d, "/paths/~1health").as_object_mut().unwrap();
        let v = item.remove("get").unwrap();
        item.insert("head".into(), v);
    });
    assert_eq!(c.len(), 2, "{c:#?}");
    assert_eq!(
        (c[0].check, c[0].level),
        ("operation-removed", Level::Breaking)
    );
    assert_eq!(
        (c[1].check, c[1].pointer.as_str()),
        ("operation-added", "#/paths/~1health/head")
    );
    let c = changed(|d| at(d, OP)["deprecated"] = json!(true));
    only(&c, "operation-deprecated", &format!("#{OP}"));
}

#[test]
fn response_status_removed_only_for_2xx() {
    let c = changed(|d| {
        at(d, &format!("{OP}/responses"))
            .as_object_mut()
            .unwrap()
            .remove("200");
    });
    only(
        &c,
        "response-status-removed",
        &format!("#{OP}/responses/200"),
    );
    assert_eq!(c[0].side, Side::Old);
    let c = changed(|d| {
        at(d, &format!("{OP}/responses"))
            .as_object_mut()
            .unwrap()
            .remove("404");
    });
    assert_eq!(c, vec![]);
}

#[test]
fn content_types_removed() {
    let c = changed(|d| {
        let content = at(d, &format!("{OP}/requestBody/content"))
            .as_object_mut()
            .unwrap();
        let v = content.remove("application/json").unwrap();
        content.insert("application/xml".into(), v);
    });
    only(
        &c,
        "request-content-type-removed",
        &format!("#{OP}/requestBody/content/application~1json"),
    );
    let c = changed(|d| {
        let content = at(d, &format!("{OP}/responses/200/content"))
            .as_object_mut()
            .unwrap();
        content.remove("application/json");
    });
    only(
        &c,
        "response-content-type-removed",
        &format!("#{OP}/responses/200/content/application~1json"),
    );
}

#[test]
fn parameters_added_required_optional_made_required_and_removed() {
    let params = format!("{OP}/parameters");
    let c = changed(|d| {
        at(d, &params)
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "page", "in": "query", "required": true}))
    });
    only(&c, "parameter-added-required", &format!("#{params}/1"));
    let c = changed(|d| {
        at(d, &params)
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "page", "in": "query"}))
    });
    only(&c, "parameter-added", &format!("#{params}/1"));
    // Same name, different place: a different parameter.
    let c = changed(|d| {
        at(d, &params)
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "limit", "in": "header"}))
    });
    only(&c, "parameter-added", &format!("#{params}/1"));
    let c = changed(|d| at(d, &format!("{params}/0"))["required"] = json!(true));
    only(&c, "parameter-made-required", &format!("#{params}/0"));
    let c = changed(|d| at(d, &params).as_array_mut().unwrap().clear());
    only(&c, "parameter-removed", &format!("#{params}/0"));
    // A path-item parameter, removed.
    let c = changed(|d| {
        at(d, "/paths/~1citizens~1match/parameters")
            .as_array_mut()
            .unwrap()
            .clear()
    });
    only(
        &c,
        "parameter-removed",
        "#/paths/~1citizens~1match/parameters/0",
    );
}

#[test]
fn parameter_default_changed() {
    let c = changed(|d| *at(d, &format!("{OP}/parameters/0/schema/default")) = json!(20));
    only(
        &c,
        "parameter-default-changed",
        &format!("#{OP}/parameters/0/schema"),
    );
}

#[test]
fn request_body_made_required() {
    let c = changed(|d| at(d, &format!("{OP}/requestBody"))["required"] = json!(true));
    only(
        &c,
        "request-body-made-required",
        &format!("#{OP}/requestBody"),
    );
}

#[test]
fn security_changed_when_more_is_demanded() {
    let c = changed(|d| at(d, OP)["security"] = json!([{"apiKey": [], "mtls": []}]));
    only(&c, "security-changed", &format!("#{OP}"));
    let c = changed(|d| d["security"] = json!([{"apiKey": ["citizens:read"]}]));
    assert_eq!(
        c.iter().filter(|c| c.check == "security-changed").count(),
        2,
        "{c:#?}"
    );
    // Another alternative accepted as well is not breaking.
    let c = changed(|d| d["security"] = json!([{"apiKey": []}, {"mtls": []}]));
    assert_eq!(c, vec![]);
}

#[test]
fn every_check_has_a_unique_id() {
    for (i, c) in CHECKS.iter().enumerate() {
        assert!(CHECKS[..i].iter().all(|d| d.id != c.id), "{}", c.id);
    }
}

#[test]
fn every_check_is_documented() {
    let docs = include_str!("../../../../../docs/contracts.md");
    for c in CHECKS {
        let row = format!("| `{}` | {} |", c.id, c.level);
        assert!(docs.contains(&row), "docs/contracts.md has no row {row}");
    }
}

#[test]
fn every_shipped_contract_diffs_clean_against_itself() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("contracts/") {
        let path = entry.expect("entry").path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            continue;
        }
        let contract = crate::load(&path).expect("shipped contract loads");
        assert_eq!(
            diff(&contract.document, &contract.document),
            vec![],
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn loaded_yaml_with_a_recursive_ref_is_followed() {
    let old = r#"openapi: 3.0.3
info: {title: T, version: '1'}
paths:
  /tree:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Node'}
components:
  schemas:
    Node:
      type: object
      properties:
        label: {type: string, nullable: false}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
"#;
    let new = old.replace("nullable: false", "nullable: true");
    let path = std::path::Path::new("tree.yaml");
    let old = crate::load_str(path, old).expect("old loads");
    let new = crate::load_str(path, &new).expect("new loads");
    let c = diff(&old.document, &new.document);
    let pointer =
        "#/paths/~1tree/get/responses/200/content/application~1json/schema/properties/label";
    only(&c, "type-changed", pointer);
}

mod schema;
