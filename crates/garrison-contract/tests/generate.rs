//! Every schema of the fixtures under `tests/fixtures/mock/` (OpenAPI 3.0 and 3.1): its
//! example and 500 random instances validate against it (normalised to 2020-12, formats on),
//! and 500 instances that break one rule are rejected; likewise for a set of awkward schemas.

// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

use garrison_contract::generate::example;
use garrison_contract::{Generator, OpenApiVersion, normalise_schema};
use serde_json::json;
use support::{fixture, validator};

#[test]
fn generated_instances_validate_and_broken_ones_do_not() {
    for name in ["citizens-3.0.yaml", "library-3.1.yaml"] {
        let c = fixture(name);
        let schemas = c.document["components"]["schemas"].as_object().unwrap();
        for (schema_name, schema) in schemas {
            let v = validator(&c, schema);
            let e = example(&c.document, c.version, schema);
            assert!(v.is_valid(&e), "{name} {schema_name} example: {e}");
            let mut g = Generator::new(2026);
            let mut rules = std::collections::BTreeSet::new();
            for _ in 0..500 {
                let instance = g.valid(&c.document, c.version, schema);
                assert!(v.is_valid(&instance), "{name} {schema_name}: {instance}");
                let (bad, why) = g.invalid(&c.document, c.version, schema).unwrap();
                assert!(!v.is_valid(&bad), "{name} {schema_name}: {why}: {bad}");
                rules.insert(why);
            }
            assert!(rules.len() >= 2, "{name} {schema_name}: {rules:?}");
        }
    }
}

/// Bounds, tuples, unique items, closed objects, mixed types, patterns and formats that are
/// easy to get wrong: random and example instances validate, broken ones do not.
#[test]
fn edge_cases_validate() {
    let doc = json!({});
    let schemas = [
        (
            OpenApiVersion::V3_0,
            json!({"type": "integer", "minimum": -5, "maximum": 5, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": 2}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "number", "exclusiveMinimum": 0.05, "maximum": 1.3, "multipleOf": 0.1}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "number", "minimum": -1e6, "exclusiveMaximum": -999999}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "object", "minProperties": 2, "maxProperties": 3, "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}, "c": {"type": "null"}, "d": {}}}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "array", "uniqueItems": true, "minItems": 2, "maxItems": 2, "items": {"type": "boolean"}}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "minLength": 5, "maxLength": 8, "pattern": "^[a-c]+$"}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "minLength": 12, "pattern": "[0-9]{3}"}),
        ),
        (
            OpenApiVersion::V3_0,
            json!({"type": "string", "enum": ["x", "y"], "nullable": true}),
        ),
        (OpenApiVersion::V3_1, json!({"const": 3})),
        (
            OpenApiVersion::V3_1,
            json!({"type": ["integer", "string"], "minimum": 3, "maxLength": 2}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "object", "additionalProperties": {"type": "integer", "maximum": 0}, "maxProperties": 2}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"allOf": [{"type": "integer", "minimum": 10}, {"maximum": 20}, {"multipleOf": 3}]}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "format": "ipv4"}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "format": "hostname"}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "format": "ipv6"}),
        ),
        (
            OpenApiVersion::V3_0,
            json!({"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}, "oneOf": [
            {"properties": {"kind": {"enum": ["a"]}, "x": {"type": "integer"}}, "required": ["x"]},
            {"properties": {"kind": {"enum": ["b"]}, "y": {"type": "string", "format": "email"}}, "required": ["y"]}]}),
        ),
        (
            OpenApiVersion::V3_0,
            json!({"nullable": true, "allOf": [{"type": "object", "properties": {"a": {"type": "integer", "nullable": true}}, "required": ["a"]}]}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 1}, "minItems": 1}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "maxLength": 0}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "array", "maxItems": 0}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "object", "required": ["z"], "properties": {"a": {"type": "string"}}}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"enum": [{"a": 1}, [1, 2], "s", null]}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "integer", "multipleOf": 0.5, "minimum": 0.2}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "number", "multipleOf": 3, "minimum": -10, "maximum": -2}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "pattern": "^\\d+(\\.\\d{1,2})?$", "maxLength": 6}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "string", "pattern": "^[^a-z]{3}$"}),
        ),
        (
            OpenApiVersion::V3_1,
            json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "format": "uuid"}], "items": false}),
        ),
    ];
    let mut failures = Vec::new();
    for (version, schema) in &schemas {
        let v = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&normalise_schema(schema, *version))
            .unwrap();
        let e = garrison_contract::generate::example(&doc, *version, schema);
        if !v.is_valid(&e) {
            failures.push(format!("example {schema}: {e}"));
        }
        for seed in 0..5u64 {
            let mut g = Generator::new(seed);
            for _ in 0..200 {
                let i = g.valid(&doc, *version, schema);
                if !v.is_valid(&i) {
                    failures.push(format!("valid {schema}: {i}"));
                }
                if let Some((b, why)) = g.invalid(&doc, *version, schema)
                    && v.is_valid(&b)
                {
                    failures.push(format!("invalid {schema}: {why}: {b}"));
                }
            }
        }
    }
    failures.truncate(10);
    assert!(failures.is_empty(), "{failures:#?}");
}
