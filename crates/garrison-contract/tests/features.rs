//! A realistic OpenAPI 3.0 contract (`tests/fixtures/benefits-3.0.yaml`) loads, resolves its
//! cross-file and recursive references, normalises to JSON Schema 2020-12 and lints clean.

use std::path::PathBuf;

use garrison_contract::{OpenApiVersion, RuleSet, lint, load, normalise_schema};
use serde_json::json;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/benefits-3.0.yaml")
}

#[test]
fn a_3_0_contract_with_shared_and_recursive_components_loads() {
    let c = load(&fixture()).unwrap();
    assert_eq!(c.version, OpenApiVersion::V3_0);
    let op = c
        .document
        .pointer("/paths/~1citizens~1{citizenId}~1claims/get")
        .unwrap();
    // Parameters and responses from common.yaml are inline.
    assert_eq!(op["parameters"][1]["name"], "correlation-id");
    assert_eq!(
        c.document
            .pointer("/paths/~1citizens~1{citizenId}~1claims/parameters/0/name")
            .unwrap(),
        "citizenId"
    );
    assert_eq!(
        op.pointer("/responses/404/content/application~1problem+json/example/code")
            .unwrap(),
        "MATCHING_RESOURCE_NOT_FOUND"
    );
    // The self-referencing schema is kept as a reference; the rest is inline.
    let claim = op
        .pointer("/responses/200/content/application~1json/schema/properties/claims/items")
        .unwrap();
    assert_eq!(
        claim["oneOf"][1],
        json!({"$ref": "#/components/schemas/PensionCreditClaim"})
    );
    assert_eq!(
        claim["oneOf"][0]["properties"]["benefitType"]["enum"],
        json!(["universal_credit"])
    );
    assert_eq!(lint(&c, &RuleSet::default()), vec![]);
}

#[test]
fn its_schemas_normalise_to_2020_12() {
    let c = load(&fixture()).unwrap();
    let claim = c.document.pointer("/components/schemas/Claim").unwrap();
    let out = normalise_schema(claim, c.version);
    assert_eq!(
        out["oneOf"][0]["properties"]["takeHomePay"],
        json!({"type": "number", "exclusiveMinimum": 0, "examples": [612.5]})
    );
    assert_eq!(
        out["oneOf"][0]["properties"]["endDate"],
        json!({"type": ["string", "null"], "format": "date"})
    );
    assert_eq!(out["discriminator"], json!({"propertyName": "benefitType"}));
}
