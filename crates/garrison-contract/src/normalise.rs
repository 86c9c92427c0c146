//! OpenAPI 3.0 Schema Objects to JSON Schema 2020-12.
//!
//! OpenAPI 3.0 schemas are "an extended subset" of JSON Schema draft 4/5 (OAS 3.0.3, Schema
//! Object); a 2020-12 validator misreads some of their keywords. [`normalise_schema`] rewrites
//! them, one pure rule per keyword, applied to every subschema. OpenAPI 3.1 schemas already are
//! JSON Schema 2020-12 and pass through unchanged.

use serde_json::{Map, Value};

use crate::OpenApiVersion;
use crate::generate::Direction;

/// Keywords whose value is one subschema.
const ONE_SCHEMA: &[&str] = &[
    "not",
    "additionalProperties",
    "items",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
];
/// Keywords whose value is an array of subschemas.
const SCHEMA_ARRAYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is a map of subschemas.
const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// OpenAPI-only keywords that are not JSON Schema and do not constrain instances.
const OPENAPI_ONLY: &[&str] = &["xml", "externalDocs"];

/// Returns `schema` (of a contract of `version`) as JSON Schema 2020-12.
pub fn normalise_schema(schema: &Value, version: OpenApiVersion) -> Value {
    normalise_for(schema, version, Direction::Any, None)
}

/// [`normalise_schema`] for the messages of one `direction`: in OAS 3.0 a property that is
/// `readOnly` is not required of a request, nor a `writeOnly` one of a response, even when
/// listed in `required` ("the required will take effect on the response only", 3.0.3 Schema
/// Object). A flag is seen on the property, or through its `$ref` and `allOf` (resolved in
/// `document`, the contract), and on the properties an `allOf` composes. In 3.1 both are
/// JSON Schema annotations and `required` holds as written.
pub(crate) fn normalise_for(
    schema: &Value,
    version: OpenApiVersion,
    direction: Direction,
    document: Option<&Value>,
) -> Value {
    match version {
        OpenApiVersion::V3_1 => schema.clone(),
        _ => normalise_3_0(schema, direction, document),
    }
}

fn normalise_3_0(schema: &Value, direction: Direction, document: Option<&Value>) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        // Under `not` and `if` a looser `required` would change the meaning, not relax it.
        let direction = if key == "not" || key == "if" {
            Direction::Any
        } else {
            direction
        };
        let normalise = |value: &Value| normalise_3_0(value, direction, document);
        let value = if ONE_SCHEMA.contains(&key.as_str()) {
            normalise(value)
        } else if SCHEMA_ARRAYS.contains(&key.as_str()) {
            match value {
                Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
                other => other.clone(),
            }
        } else if SCHEMA_MAPS.contains(&key.as_str()) {
            match value {
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
                }
                other => other.clone(),
            }
        } else {
            value.clone()
        };
        out.insert(key.clone(), value);
    }
    let out = ref_siblings_ignored(out);
    let out = drop_openapi_only(out);
    let out = example_to_examples(out);
    let out = exclusive_bounds(out);
    let out = required_in(out, direction, document);
    Value::Object(nullable_to_type(out))
}

/// Most `$ref`s followed looking for a flag: a cycle ends there.
const REF_HOPS: usize = 16;

/// Drops from `required` — the object's own and its inline `allOf` branches' — the
/// properties a message of `direction` does not carry: `readOnly` ones from a request's,
/// `writeOnly` ones from a response's.
pub(crate) fn required_in(
    mut schema: Map<String, Value>,
    direction: Direction,
    document: Option<&Value>,
) -> Map<String, Value> {
    let flag = match direction {
        Direction::Request => "readOnly",
        Direction::Response => "writeOnly",
        _ => return schema,
    };
    let mut flagged = Vec::new();
    flagged_properties(&schema, document, flag, 0, &mut flagged);
    if flagged.is_empty() {
        return schema;
    }
    let carried = |name: &Value| {
        !name
            .as_str()
            .is_some_and(|n| flagged.iter().any(|f| f == n))
    };
    drop_required(&mut schema, &carried);
    if let Some(Value::Array(parts)) = schema.get_mut("allOf") {
        for part in parts {
            if let Value::Object(part) = part
                && !part.contains_key("$ref")
            {
                drop_required(part, &carried);
            }
        }
    }
    schema
}

fn drop_required(schema: &mut Map<String, Value>, carried: &impl Fn(&Value) -> bool) {
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(carried);
        if required.is_empty() {
            schema.remove("required");
        }
    }
}

/// Adds to `out` the names of the properties of object schema `schema` — its own, and those
/// its `$ref` or `allOf` branches bring — whose schema is flagged `flag`.
fn flagged_properties(
    schema: &Map<String, Value>,
    document: Option<&Value>,
    flag: &str,
    hops: usize,
    out: &mut Vec<String>,
) {
    if hops > REF_HOPS {
        return;
    }
    if schema.contains_key("$ref") {
        // 3.0: a Reference Object's siblings are ignored; only its target counts.
        if let Some(Value::Object(target)) = resolve(schema, document) {
            flagged_properties(target, document, flag, hops + 1, out);
        }
        return;
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            if is_flagged(property, document, flag, 0) && !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        for part in parts {
            if let Value::Object(part) = part {
                flagged_properties(part, document, flag, hops + 1, out);
            }
        }
    }
}

/// Whether a property's schema is flagged `flag`: itself, its `$ref` target or an `allOf`
/// branch.
fn is_flagged(schema: &Value, document: Option<&Value>, flag: &str, hops: usize) -> bool {
    let Value::Object(map) = schema else {
        return false;
    };
    if hops > REF_HOPS {
        return false;
    }
    if map.contains_key("$ref") {
        return resolve(map, document).is_some_and(|t| is_flagged(t, document, flag, hops + 1));
    }
    map.get(flag) == Some(&Value::Bool(true))
        || map
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|parts| {
                parts
                    .iter()
                    .any(|p| is_flagged(p, document, flag, hops + 1))
            })
}

/// The target of a schema's local `$ref` in `document`.
fn resolve<'a>(schema: &Map<String, Value>, document: Option<&'a Value>) -> Option<&'a Value> {
    let reference = schema.get("$ref")?.as_str()?;
    let path = crate::pointer::percent_decode(reference.strip_prefix('#')?)?;
    crate::pointer::lookup(document?, &path)
}

/// OAS 3.0 Reference Object: "any properties added SHALL be ignored", so a `$ref` stands
/// alone (in 2020-12 its siblings would apply).
pub(crate) fn ref_siblings_ignored(mut schema: Map<String, Value>) -> Map<String, Value> {
    if let Some(reference) = schema.remove("$ref") {
        schema.clear();
        schema.insert("$ref".to_owned(), reference);
    }
    schema
}

/// `xml` and `externalDocs` describe serialisation and documentation, not instances.
pub(crate) fn drop_openapi_only(mut schema: Map<String, Value>) -> Map<String, Value> {
    for key in OPENAPI_ONLY {
        schema.remove(*key);
    }
    schema
}

/// 3.0 `example: v` is 2020-12 `examples: [v]`.
pub(crate) fn example_to_examples(mut schema: Map<String, Value>) -> Map<String, Value> {
    if let Some(example) = schema.remove("example") {
        match schema.get_mut("examples") {
            Some(Value::Array(examples)) => examples.insert(0, example),
            _ => {
                schema.insert("examples".to_owned(), Value::Array(vec![example]));
            }
        }
    }
    schema
}

/// Draft 4's boolean `exclusiveMinimum: true` beside `minimum: m` is 2020-12's
/// `exclusiveMinimum: m` (and likewise for the maximum); `false` means inclusive.
pub(crate) fn exclusive_bounds(mut schema: Map<String, Value>) -> Map<String, Value> {
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match schema.get(exclusive) {
            Some(Value::Bool(true)) => {
                schema.remove(exclusive);
                // Without the bound, `true` constrains nothing.
                if let Some(limit) = schema.remove(bound) {
                    schema.insert(exclusive.to_owned(), limit);
                }
            }
            Some(Value::Bool(false)) => {
                schema.remove(exclusive);
            }
            _ => {}
        }
    }
    schema
}

/// `nullable: true` allows `null`: added to `type` (and to `enum`, which would otherwise
/// reject it); with no `type`, the schema becomes `anyOf: [schema, {type: null}]`.
pub(crate) fn nullable_to_type(mut schema: Map<String, Value>) -> Map<String, Value> {
    let nullable = schema.remove("nullable");
    if nullable != Some(Value::Bool(true)) {
        return schema;
    }
    let null = Value::String("null".to_owned());
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match schema.get_mut("type") {
        Some(Value::String(t)) => {
            let t = Value::String(std::mem::take(t));
            schema.insert("type".to_owned(), Value::Array(vec![t, null]));
            schema
        }
        Some(Value::Array(types)) => {
            if !types.contains(&null) {
                types.push(null);
            }
            schema
        }
        _ => {
            let mut null_schema = Map::new();
            null_schema.insert("type".to_owned(), null);
            let mut out = Map::new();
            out.insert(
                "anyOf".to_owned(),
                Value::Array(vec![Value::Object(schema), Value::Object(null_schema)]),
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn nullable_adds_null_to_a_single_type() {
        let out = nullable_to_type(obj(json!({"type": "string", "nullable": true})));
        assert_eq!(Value::Object(out), json!({"type": ["string", "null"]}));
    }

    #[test]
    fn nullable_adds_null_to_an_enum() {
        let out = nullable_to_type(obj(
            json!({"type": "string", "enum": ["a"], "nullable": true}),
        ));
        assert_eq!(
            Value::Object(out),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn nullable_without_type_becomes_any_of_null() {
        let out = nullable_to_type(obj(json!({"allOf": [{"$ref": "#/x"}], "nullable": true})));
        assert_eq!(
            Value::Object(out),
            json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]})
        );
    }

    #[test]
    fn nullable_false_is_dropped() {
        let out = nullable_to_type(obj(json!({"type": "integer", "nullable": false})));
        assert_eq!(Value::Object(out), json!({"type": "integer"}));
    }

    #[test]
    fn boolean_exclusive_bounds_become_numbers() {
        let out = exclusive_bounds(obj(json!({
            "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": false
        })));
        assert_eq!(
            Value::Object(out),
            json!({"exclusiveMinimum": 0, "maximum": 10})
        );
        let lone = exclusive_bounds(obj(json!({"exclusiveMaximum": true})));
        assert_eq!(Value::Object(lone), json!({}));
        let numeric = exclusive_bounds(obj(json!({"exclusiveMaximum": 5})));
        assert_eq!(Value::Object(numeric), json!({"exclusiveMaximum": 5}));
    }

    #[test]
    fn read_only_is_not_required_of_a_request_nor_write_only_of_a_response() {
        let schema = json!({
            "type": "object",
            "required": ["id", "name", "pin"],
            "properties": {
                "id": {"type": "string", "readOnly": true},
                "name": {"type": "string"},
                "pin": {"type": "string", "writeOnly": true},
                "nested": {"type": "object", "required": ["id"],
                    "properties": {"id": {"type": "string", "readOnly": true}}}
            }
        });
        let required = |direction| {
            let out = normalise_for(&schema, OpenApiVersion::V3_0, direction, None);
            (
                out["required"].clone(),
                out["properties"]["nested"].get("required").cloned(),
            )
        };
        assert_eq!(required(Direction::Request), (json!(["name", "pin"]), None));
        assert_eq!(
            required(Direction::Response),
            (json!(["id", "name"]), Some(json!(["id"])))
        );
        assert_eq!(
            required(Direction::Any),
            (json!(["id", "name", "pin"]), Some(json!(["id"])))
        );
        // 3.1: annotations only; `required` holds as written.
        assert_eq!(
            normalise_for(&schema, OpenApiVersion::V3_1, Direction::Request, None),
            schema
        );
    }

    #[test]
    fn flags_are_seen_through_refs_and_all_of_but_not_under_not_or_if() {
        let document = json!({"components": {"schemas": {
            "Id": {"type": "string", "readOnly": true},
            "Base": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"}}},
            "Loop": {"$ref": "#/components/schemas/Loop"}
        }}});
        let schema = json!({
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"type": "object", "required": ["id", "name"], "properties": {"name": {"type": "string"}}}
            ],
            "required": ["id"],
            "properties": {"loop": {"$ref": "#/components/schemas/Loop"}},
            "not": {"required": ["id"], "properties": {"id": {"readOnly": true}}}
        });
        let request = normalise_for(
            &schema,
            OpenApiVersion::V3_0,
            Direction::Request,
            Some(&document),
        );
        assert_eq!(
            request.get("required"),
            None,
            "the id its $ref'd base makes read-only"
        );
        assert_eq!(request["allOf"][1]["required"], json!(["name"]));
        assert_eq!(
            request["not"]["required"],
            json!(["id"]),
            "a negation keeps its meaning"
        );
        let response = normalise_for(
            &schema,
            OpenApiVersion::V3_0,
            Direction::Response,
            Some(&document),
        );
        assert_eq!(response["required"], json!(["id"]));
        assert_eq!(response["allOf"][1]["required"], json!(["id", "name"]));
    }

    #[test]
    fn example_becomes_examples() {
        let out = example_to_examples(obj(json!({"example": "QQ123456A"})));
        assert_eq!(Value::Object(out), json!({"examples": ["QQ123456A"]}));
    }

    #[test]
    fn openapi_only_keywords_are_dropped_and_annotations_kept() {
        let out = drop_openapi_only(obj(json!({
            "xml": {"name": "x"}, "externalDocs": {"url": "https://e"},
            "readOnly": true, "writeOnly": false, "discriminator": {"propertyName": "k"}
        })));
        assert_eq!(
            Value::Object(out),
            json!({"readOnly": true, "writeOnly": false, "discriminator": {"propertyName": "k"}})
        );
    }

    #[test]
    fn ref_siblings_are_ignored() {
        let out = ref_siblings_ignored(obj(json!({"$ref": "#/a", "maxLength": 3})));
        assert_eq!(Value::Object(out), json!({"$ref": "#/a"}));
    }

    #[test]
    fn rules_apply_to_every_subschema_but_not_to_literal_data() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "string", "nullable": true, "example": "x"},
                "b": {"type": "array", "items": {"type": "number", "minimum": 1, "exclusiveMinimum": true}}
            },
            "default": {"nullable": true},
            "oneOf": [{"type": "object", "nullable": true}]
        });
        let out = normalise_schema(&schema, OpenApiVersion::V3_0);
        assert_eq!(
            out,
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": ["string", "null"], "examples": ["x"]},
                    "b": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 1}}
                },
                "default": {"nullable": true},
                "oneOf": [{"type": ["object", "null"]}]
            })
        );
    }

    #[test]
    fn openapi_3_1_schemas_pass_unchanged() {
        let schema = json!({"type": "string", "nullable": true, "example": 1});
        assert_eq!(normalise_schema(&schema, OpenApiVersion::V3_1), schema);
    }
}
