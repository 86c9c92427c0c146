//! Helpers shared by the mock and probe integration tests.

// Each test binary uses a different subset of these helpers, and a helper failing is a test
// failure, so unwrap is the right report (allow-unwrap-in-tests covers only #[test] fns).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;

use garrison_contract::{Contract, OpenApiVersion, load, normalise_schema};
use serde_json::{Map, Value, json};

pub fn fixture(name: &str) -> Contract {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mock")
        .join(name);
    load(&path).unwrap()
}

/// A validator for `schema` of `contract`: normalised to JSON Schema 2020-12, with the
/// contract's component schemas (normalised too) beside it so that the `$ref`s the loader keeps
/// resolve, and with format validation on.
pub fn validator(contract: &Contract, schema: &Value) -> jsonschema::Validator {
    let version: OpenApiVersion = contract.version;
    let mut components = Map::new();
    if let Some(schemas) = contract
        .document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            components.insert(name.clone(), normalise_schema(s, version));
        }
    }
    let root = json!({
        "allOf": [normalise_schema(schema, version)],
        "components": {"schemas": components},
    });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap()
}

/// The value at JSON pointer `pointer` (`#/…` or `/…`) of the contract's document, following a
/// kept `$ref`.
pub fn at<'a>(contract: &'a Contract, pointer: &str) -> &'a Value {
    let pointer = pointer.trim_start_matches('#');
    let value = contract.document.pointer(pointer).unwrap();
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => contract
            .document
            .pointer(r.trim_start_matches('#'))
            .unwrap(),
        None => value,
    }
}
