use std::path::Path;

use serde_json::{Value, json};

use super::*;

/// `schema` of `document`, normalised to 2020-12, with the document's component schemas
/// (normalised too) beside it so that kept `$ref`s resolve.
fn validator(document: &Value, version: OpenApiVersion, schema: &Value) -> jsonschema::Validator {
    let normalise = |v: &Value| crate::normalise_schema(v, version);
    let mut components = serde_json::Map::new();
    if let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            components.insert(name.clone(), normalise(s));
        }
    }
    let root = json!({
        "allOf": [normalise(schema)],
        "components": {"schemas": components},
    });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap()
}

fn load(text: &str) -> crate::Contract {
    crate::load_str(Path::new("c.yaml"), text).unwrap()
}

const PEOPLE_3_0: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Person:
      type: object
      required: [firstName, lastName, nino, dateOfBirth]
      additionalProperties: false
      properties:
        firstName: {type: string, minLength: 1, maxLength: 35}
        lastName: {type: string, minLength: 1, maxLength: 35}
        nino: {type: string, pattern: '^[A-Z]{2}[0-9]{6}[A-D]$'}
        dateOfBirth: {type: string, format: date}
        id: {type: string, format: uuid}
        email: {type: string, format: email, nullable: true}
        website: {type: string, format: uri}
        age: {type: integer, minimum: 0, maximum: 130}
        score: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 10, multipleOf: 0.25}
        band: {type: integer, minimum: 10, maximum: 90, multipleOf: 5}
        status: {type: string, enum: [active, inactive]}
        tags: {type: array, items: {type: string, enum: [a, b, c, d]}, uniqueItems: true, maxItems: 3}
        addresses:
          type: array
          minItems: 1
          items:
            type: object
            required: [postcode]
            properties:
              postcode: {type: string, pattern: '^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$'}
              lines: {type: array, items: {type: string}, maxItems: 4}
        employer:
          nullable: true
          allOf:
            - {type: object, required: [name], properties: {name: {type: string}}}
            - {type: object, properties: {since: {type: string, format: date-time}}}
        metadata: {type: object, additionalProperties: {type: integer}}
    Node:
      type: object
      required: [name]
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
        parent: {$ref: '#/components/schemas/Node'}
"##;

const PETS_3_1: &str = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Pet:
      oneOf:
        - type: object
          required: [kind, name]
          properties:
            kind: {const: cat}
            name: {type: string}
            lives: {type: integer, minimum: 1, maximum: 9}
        - type: object
          required: [kind, bark]
          properties:
            kind: {const: dog}
            bark: {type: [string, "null"], minLength: 2}
    Contact:
      anyOf:
        - {type: string, format: email}
        - {type: string, format: uuid}
    Reading:
      type: object
      required: [at, value]
      properties:
        at: {type: string, format: date-time}
        value: {type: number, exclusiveMinimum: 0, exclusiveMaximum: 1}
        code: {type: string, pattern: '^(GB|IE)-\d{3,5}$'}
        pair: {type: array, prefixItems: [{type: string}, {type: integer}], minItems: 2, maxItems: 2}
"##;

fn schemas(contract: &crate::Contract) -> Vec<(String, Value)> {
    contract.document["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn random_instances_validate_and_invalid_ones_are_rejected() {
    for text in [PEOPLE_3_0, PETS_3_1] {
        let contract = load(text);
        for (name, schema) in schemas(&contract) {
            let v = validator(&contract.document, contract.version, &schema);
            let example = example(&contract.document, contract.version, &schema);
            assert!(v.is_valid(&example), "{name} example {example}");
            let mut generator = Generator::new(42);
            let mut descriptions = std::collections::BTreeSet::new();
            for _ in 0..500 {
                let instance = generator.valid(&contract.document, contract.version, &schema);
                assert!(v.is_valid(&instance), "{name}: {instance}");
                let (bad, why) = generator
                    .invalid(&contract.document, contract.version, &schema)
                    .unwrap();
                assert!(!v.is_valid(&bad), "{name}: {why}: {bad}");
                descriptions.insert(why);
            }
            assert!(descriptions.len() > 1, "{name}: {descriptions:?}");
        }
    }
}

#[test]
fn invalid_instances_name_the_rule_they_break() {
    let contract = load(PEOPLE_3_0);
    let person = &contract.document["components"]["schemas"]["Person"];
    let mut generator = Generator::new(1);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..2000 {
        let (_, why) = generator
            .invalid(&contract.document, contract.version, person)
            .unwrap();
        seen.insert(why);
    }
    for expected in [
        "missing required property `lastName`",
        "`dateOfBirth` is not a date",
        "`nino` does not match the pattern `^[A-Z]{2}[0-9]{6}[A-D]$`",
        "the value is not an object",
        "the value has an undeclared property `unexpectedProperty`",
        "`age` is above its maximum",
        "missing required property `postcode` in `addresses[0]`",
    ] {
        assert!(seen.contains(expected), "{expected} not in {seen:#?}");
    }
}

#[test]
fn examples_prefer_what_the_schema_says() {
    let doc = json!({});
    let v30 = OpenApiVersion::V3_0;
    let v31 = OpenApiVersion::V3_1;
    assert_eq!(
        example(
            &doc,
            v30,
            &json!({"type": "string", "const": "x", "example": "y"})
        ),
        "x"
    );
    assert_eq!(
        example(
            &doc,
            v30,
            &json!({"type": "string", "example": "y", "default": "z"})
        ),
        "y"
    );
    assert_eq!(
        example(
            &doc,
            v31,
            &json!({"type": "string", "examples": ["w", "y"]})
        ),
        "w"
    );
    assert_eq!(
        example(
            &doc,
            v31,
            &json!({"type": "string", "default": "z", "enum": ["a"]})
        ),
        "z"
    );
    assert_eq!(example(&doc, v31, &json!({"enum": ["a", "b"]})), "a");
    assert_eq!(
        example(
            &doc,
            v30,
            &json!({"type": "object", "required": ["d"], "properties": {
                "d": {"type": "string", "format": "date"},
                "u": {"type": "string", "format": "uuid"},
                "n": {"type": "integer", "minimum": 5, "exclusiveMinimum": true, "multipleOf": 3},
                "s": {"type": "string", "maxLength": 3},
                "l": {"type": "array", "items": {"type": "boolean"}, "minItems": 2}
            }})
        ),
        json!({"d": "2026-01-31", "u": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
               "n": 6, "s": "str", "l": [true, true]})
    );
    assert_eq!(
        example(
            &doc,
            v31,
            &json!({"type": ["null", "integer"], "maximum": -4})
        ),
        json!(-4)
    );
}

#[test]
fn recursive_schemas_terminate() {
    let contract = load(PEOPLE_3_0);
    let node = &contract.document["components"]["schemas"]["Node"];
    assert_eq!(
        node["properties"]["parent"],
        json!({"$ref": "#/components/schemas/Node"})
    );
    let tree = example(&contract.document, contract.version, node);
    // Optional recursive properties stop at depth 3.
    assert_eq!(
        tree["parent"]["parent"]["parent"],
        json!({"name": "string"})
    );
    let mut generator = Generator::new(9);
    for _ in 0..200 {
        let t = generator.valid(&contract.document, contract.version, node);
        assert!(serde_json::to_string(&t).unwrap().len() < 100_000);
    }
}

#[test]
fn a_schema_accepting_everything_has_no_invalid_instance() {
    let mut generator = Generator::new(3);
    let doc = json!({});
    assert_eq!(
        generator.invalid(&doc, OpenApiVersion::V3_1, &json!({})),
        None
    );
    assert_eq!(
        generator.invalid(&doc, OpenApiVersion::V3_1, &json!({"description": "x"})),
        None
    );
}

#[test]
fn generation_is_reproducible_from_the_seed() {
    let contract = load(PEOPLE_3_0);
    let person = &contract.document["components"]["schemas"]["Person"];
    let run = |seed| {
        let mut g = Generator::new(seed);
        (0..5)
            .map(|_| g.valid(&contract.document, contract.version, person))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn directions_leave_out_read_only_and_write_only_properties() {
    let schema = json!({
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "string", "readOnly": true},
            "name": {"type": "string"},
            "password": {"type": "string", "writeOnly": true},
            "created": {"type": "string", "readOnly": true}
        }
    });
    let doc = json!({});
    let keys = |v: Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let v30 = OpenApiVersion::V3_0;
    let v31 = OpenApiVersion::V3_1;
    assert_eq!(
        keys(example_for(&doc, v30, &schema, Direction::Request)),
        ["name", "password"]
    );
    assert_eq!(
        keys(example_for(&doc, v30, &schema, Direction::Response)),
        ["created", "id", "name"]
    );
    // 3.1: `required` holds whatever the annotations say.
    assert_eq!(
        keys(example_for(&doc, v31, &schema, Direction::Request)),
        ["id", "name", "password"]
    );
    assert_eq!(keys(example(&doc, v30, &schema)).len(), 4);
    // A required property the direction leaves out is never "missing".
    let mut g = Generator::new(8).with_direction(Direction::Request);
    for _ in 0..200 {
        let instance = g.valid(&doc, v30, &schema);
        assert!(instance.get("id").is_none_or(Value::is_null) || !instance.is_object());
        if let Some((_, why)) = g.invalid(&doc, v30, &schema) {
            assert_ne!(why, "missing required property `id`");
        }
    }
}

#[test]
fn an_unsupported_pattern_falls_back_to_the_example() {
    let schema =
        json!({"type": "string", "pattern": "^(?=.*[0-9])[a-z0-9]{8}$", "example": "abcd1234"});
    let doc = json!({});
    let mut g = Generator::new(1);
    assert_eq!(g.valid(&doc, OpenApiVersion::V3_0, &schema), "abcd1234");
    assert_eq!(example(&doc, OpenApiVersion::V3_0, &schema), "abcd1234");
}
