//! Schema checks: properties, enums, types, formats, limits, composition and recursion.

use serde_json::json;

use super::*;

#[test]
fn response_properties_removed_added_and_made_optional() {
    let c = changed(|d| {
        at(d, &format!("{RESP}/properties"))
            .as_object_mut()
            .unwrap()
            .remove("status");
    });
    only(
        &c,
        "response-property-removed",
        &format!("#{RESP}/properties/status"),
    );
    let c = changed(|d| at(d, &format!("{RESP}/properties"))["extra"] = json!({"type": "string"}));
    only(
        &c,
        "response-property-added",
        &format!("#{RESP}/properties/extra"),
    );
    let c = changed(|d| at(d, RESP)["required"] = json!([]));
    only(
        &c,
        "response-property-made-optional",
        &format!("#{RESP}/properties/id"),
    );
}

#[test]
fn nested_response_properties_are_walked_through_items() {
    let c = changed(|d| {
        at(d, &format!("{RESP}/properties/names/items/properties"))
            .as_object_mut()
            .unwrap()
            .remove("given");
    });
    let change = only(
        &c,
        "response-property-removed",
        &format!("#{RESP}/properties/names/items/properties/given"),
    );
    assert!(
        change.message.contains("names[].given"),
        "{}",
        change.message
    );
}

#[test]
fn enum_values_in_responses() {
    let c = changed(|d| *at(d, &format!("{RESP}/properties/status/enum")) = json!(["matched"]));
    only(
        &c,
        "response-enum-value-removed",
        &format!("#{RESP}/properties/status/enum"),
    );
    let c = changed(|d| {
        *at(d, &format!("{RESP}/properties/status/enum")) = json!(["matched", "unmatched", "maybe"])
    });
    only(
        &c,
        "response-enum-value-added",
        &format!("#{RESP}/properties/status/enum"),
    );
}

#[test]
fn enum_values_in_requests() {
    let c = changed(|d| *at(d, &format!("{REQ}/properties/benefit/enum")) = json!(["pip"]));
    only(
        &c,
        "request-enum-value-removed",
        &format!("#{REQ}/properties/benefit/enum"),
    );
    let c = changed(|d| {
        *at(d, &format!("{REQ}/properties/benefit/enum")) = json!(["pip", "uc", "esa"])
    });
    only(
        &c,
        "request-enum-value-added",
        &format!("#{REQ}/properties/benefit/enum"),
    );
}

#[test]
fn request_properties_added_made_required_and_removed() {
    let c = changed(|d| {
        at(d, &format!("{REQ}/properties"))["nino"] = json!({"type": "string"});
        at(d, &format!("{REQ}/required"))
            .as_array_mut()
            .unwrap()
            .push(json!("nino"));
    });
    only(
        &c,
        "request-property-added-required",
        &format!("#{REQ}/properties/nino"),
    );
    let c = changed(|d| at(d, &format!("{REQ}/properties"))["nino"] = json!({"type": "string"}));
    only(
        &c,
        "request-property-added",
        &format!("#{REQ}/properties/nino"),
    );
    let c = changed(|d| {
        at(d, &format!("{REQ}/required"))
            .as_array_mut()
            .unwrap()
            .push(json!("score"))
    });
    only(
        &c,
        "request-property-made-required",
        &format!("#{REQ}/properties/score"),
    );
    let c = changed(|d| {
        at(d, &format!("{REQ}/properties"))
            .as_object_mut()
            .unwrap()
            .remove("score");
    });
    only(
        &c,
        "request-property-removed",
        &format!("#{REQ}/properties/score"),
    );
}

#[test]
fn type_changed_in_the_direction_that_breaks() {
    // Request: number -> integer rejects 1.5; string -> object rejects every old value.
    let c = changed(|d| *at(d, &format!("{REQ}/properties/score/type")) = json!("integer"));
    only(&c, "type-changed", &format!("#{REQ}/properties/score"));
    let c = changed(|d| *at(d, &format!("{REQ}/properties/lastName")) = json!({"type": "object"}));
    only(&c, "type-changed", &format!("#{REQ}/properties/lastName"));
    // Response: string -> string|null can send null to a client that never saw one.
    let c =
        changed(|d| *at(d, &format!("{RESP}/properties/status/type")) = json!(["string", "null"]));
    only(&c, "type-changed", &format!("#{RESP}/properties/status"));
    // Widening a request type is safe.
    let c =
        changed(|d| *at(d, &format!("{REQ}/properties/score/type")) = json!(["number", "string"]));
    assert_eq!(c, vec![]);
}

#[test]
fn format_changed() {
    let c =
        changed(|d| *at(d, &format!("{REQ}/properties/dateOfBirth/format")) = json!("date-time"));
    only(
        &c,
        "format-changed",
        &format!("#{REQ}/properties/dateOfBirth"),
    );
    let c = changed(|d| at(d, &format!("{REQ}/properties/lastName"))["format"] = json!("email"));
    only(&c, "format-changed", &format!("#{REQ}/properties/lastName"));
    let c = changed(|d| {
        at(d, &format!("{RESP}/properties/id"))
            .as_object_mut()
            .unwrap()
            .remove("format");
    });
    only(&c, "format-changed", &format!("#{RESP}/properties/id"));
}

#[test]
fn request_limits_narrowed() {
    let name = format!("{REQ}/properties/lastName");
    for (key, value) in [
        ("maxLength", json!(20)),
        ("minLength", json!(2)),
        ("pattern", json!("^[A-Z]")),
    ] {
        let c = changed(|d| at(d, &name)[key] = value);
        let change = only(&c, "request-limit-narrowed", &format!("#{name}"));
        assert!(change.message.contains(key), "{}", change.message);
    }
    let c = changed(|d| *at(d, &format!("{OP}/parameters/0/schema/maximum")) = json!(50));
    only(
        &c,
        "request-limit-narrowed",
        &format!("#{OP}/parameters/0/schema"),
    );
    // Widened request limits are safe.
    let c = changed(|d| at(d, &name)["maxLength"] = json!(70));
    assert_eq!(c, vec![]);
}

#[test]
fn response_limits_widened() {
    let id = format!("{RESP}/properties/id");
    let c = changed(|d| at(d, &id)["maxLength"] = json!(100));
    only(&c, "response-limit-widened", &format!("#{id}"));
    let c = changed(|d| at(d, &id)["maxLength"] = json!(30));
    assert_eq!(c, vec![]);
}

#[test]
fn composed_schemas_are_compared_by_index() {
    let mut old = base();
    *at(&mut old, RESP) = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
    let mut new = old.clone();
    *at(&mut new, &format!("{RESP}/oneOf/1/type")) = json!("number");
    only(
        &diff(&old, &new),
        "type-changed",
        &format!("#{RESP}/oneOf/1"),
    );
}

#[test]
fn recursive_schemas_are_followed_once() {
    let node = json!({"type": "object", "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
    }});
    let mut old = base();
    old["components"] = json!({"schemas": {"Node": node}});
    *at(&mut old, RESP) = json!({"$ref": "#/components/schemas/Node"});
    assert_eq!(diff(&old, &old.clone()), vec![]);
    let mut new = old.clone();
    *at(&mut new, "/components/schemas/Node/properties/name/type") = json!("integer");
    let c = diff(&old, &new);
    only(&c, "type-changed", &format!("#{RESP}/properties/name"));
}
