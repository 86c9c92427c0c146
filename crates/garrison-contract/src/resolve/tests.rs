//! Resolution rules on in-memory documents; file-based cases are in `tests/loader.rs`.

use super::*;
use serde_json::json;

fn resolve_value(doc: Value, version: OpenApiVersion) -> Result<Value, LoadError> {
    resolve(Path::new("mem.yaml"), doc, version)
}

#[test]
fn internal_refs_are_inlined() {
    let doc = json!({
        "components": {"schemas": {"Id": {"type": "string"}}},
        "x": {"$ref": "#/components/schemas/Id"}
    });
    let out = resolve_value(doc, OpenApiVersion::V3_0).unwrap();
    assert_eq!(out["x"], json!({"type": "string"}));
}

#[test]
fn escaped_and_percent_encoded_pointers_resolve() {
    let doc = json!({
        "paths": {"/a/{id}": {"get": {"summary": "s"}}},
        "defs": {"m~n": 1},
        "x": {"$ref": "#/paths/~1a~1%7Bid%7D/get"},
        "y": {"$ref": "#/defs/m~0n"}
    });
    let out = resolve_value(doc, OpenApiVersion::V3_1).unwrap();
    assert_eq!(out["x"], json!({"summary": "s"}));
    assert_eq!(out["y"], json!(1));
}

#[test]
fn refs_inside_examples_are_data() {
    let doc = json!({"example": {"$ref": "#/nowhere"}, "examples": {"a": {"value": {"$ref": 1}}}});
    let out = resolve_value(doc.clone(), OpenApiVersion::V3_1).unwrap();
    assert_eq!(out, doc);
}

#[test]
fn a_property_named_ref_is_not_a_reference() {
    let doc = json!({"properties": {"$ref": {"type": "string"}}});
    let out = resolve_value(doc.clone(), OpenApiVersion::V3_1).unwrap();
    assert_eq!(out, doc);
}

#[test]
fn recursive_schemas_keep_a_ref_to_themselves() {
    let doc = json!({"components": {"schemas": {"Node": {
        "type": "object",
        "properties": {"next": {"$ref": "#/components/schemas/Node"}}
    }}}, "x": {"$ref": "#/components/schemas/Node"}});
    let out = resolve_value(doc, OpenApiVersion::V3_1).unwrap();
    // Every use of a recursive target stays a reference; the target itself is resolved
    // in place.
    let node = json!({"$ref": "#/components/schemas/Node"});
    assert_eq!(out["x"], node);
    assert_eq!(
        out["components"]["schemas"]["Node"]["properties"]["next"],
        node
    );
}

#[test]
fn recursive_schemas_that_refer_to_each_other_resolve_in_linear_time() {
    // Each S{i} refers to itself and the next three: expanding while watching for cycles
    // would take Tribonacci(400) steps.
    let mut schemas = serde_json::Map::new();
    for i in 0..400 {
        let mut properties = serde_json::Map::new();
        properties.insert(
            "me".into(),
            json!({"$ref": format!("#/components/schemas/S{i}")}),
        );
        for j in i + 1..(i + 4).min(400) {
            properties.insert(
                format!("p{j}"),
                json!({"$ref": format!("#/components/schemas/S{j}")}),
            );
        }
        schemas.insert(
            format!("S{i}"),
            json!({"type": "object", "properties": properties}),
        );
    }
    let doc = json!({"components": {"schemas": schemas}});
    let out = resolve_value(doc, OpenApiVersion::V3_1).unwrap();
    assert_eq!(
        out["components"]["schemas"]["S0"]["properties"]["p1"],
        json!({"$ref": "#/components/schemas/S1"})
    );
}

#[test]
fn a_pure_reference_cycle_is_an_error() {
    let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}});
    let e = resolve_value(doc, OpenApiVersion::V3_1).unwrap_err();
    assert!(e.to_string().contains("never reaches a value"), "{e}");
}

#[test]
fn siblings_are_ignored_in_3_0_and_applied_in_3_1() {
    let doc = json!({"d": {"type": "string"}, "x": {"$ref": "#/d", "maxLength": 3}});
    let v30 = resolve_value(doc.clone(), OpenApiVersion::V3_0).unwrap();
    assert_eq!(v30["x"], json!({"type": "string"}));
    let v31 = resolve_value(doc, OpenApiVersion::V3_1).unwrap();
    assert_eq!(
        v31["x"],
        json!({"maxLength": 3, "allOf": [{"type": "string"}]})
    );
}

#[test]
fn description_beside_a_ref_overrides_in_3_1() {
    let doc = json!({"d": {"type": "string", "description": "old"},
                     "x": {"$ref": "#/d", "description": "new"}});
    let out = resolve_value(doc, OpenApiVersion::V3_1).unwrap();
    assert_eq!(out["x"], json!({"type": "string", "description": "new"}));
}

#[test]
fn uri_schemes_are_recognised() {
    assert_eq!(uri_scheme("https://x/y.yaml").as_deref(), Some("https"));
    assert_eq!(uri_scheme("file:///etc/x").as_deref(), Some("file"));
    assert_eq!(uri_scheme("./a:b.yaml"), None);
    assert_eq!(uri_scheme("schemas/a.yaml"), None);
}
