//! Reading schemas: the keywords generation needs, and `allOf` merging.

use serde_json::{Map, Value, json};

/// The `required` property names of `s`.
pub(super) fn required(s: &Map<String, Value>) -> Vec<&str> {
    s.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The JSON types `s` allows: `type` (string or array), plus `null` for 3.0 `nullable`, or
/// a type inferred from type-specific keywords when `type` is absent (empty: anything).
pub(super) fn allowed_types(s: &Map<String, Value>) -> Vec<&'static str> {
    const TYPES: [&str; 7] = [
        "object", "array", "string", "integer", "number", "boolean", "null",
    ];
    let canonical = |t: &str| TYPES.iter().copied().find(|c| *c == t);
    let mut types: Vec<&'static str> = match s.get("type") {
        Some(Value::String(t)) => canonical(t).into_iter().collect(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter_map(canonical)
            .collect(),
        _ => {
            let has = |keys: &[&str]| keys.iter().any(|k| s.contains_key(*k));
            if has(&[
                "properties",
                "required",
                "additionalProperties",
                "minProperties",
            ]) {
                vec!["object"]
            } else if has(&[
                "items",
                "prefixItems",
                "minItems",
                "maxItems",
                "uniqueItems",
            ]) {
                vec!["array"]
            } else if has(&["minLength", "maxLength", "pattern", "format"]) {
                vec!["string"]
            } else if has(&[
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "multipleOf",
            ]) {
                vec!["number"]
            } else {
                Vec::new()
            }
        }
    };
    if s.get("nullable") == Some(&Value::Bool(true))
        && !types.is_empty()
        && !types.contains(&"null")
    {
        types.push("null");
    }
    types
}

/// Merges schema `other` into `into` as `allOf` would: properties combined (a property in both
/// needs both schemas), `required` united, `type` and `enum` intersected, bounds tightened;
/// any other keyword is kept from `into` when both have it.
pub(super) fn merge(into: &mut Map<String, Value>, other: Map<String, Value>) {
    const LOWER: &[&str] = &[
        "minimum",
        "exclusiveMinimum",
        "minLength",
        "minItems",
        "minProperties",
    ];
    const UPPER: &[&str] = &[
        "maximum",
        "exclusiveMaximum",
        "maxLength",
        "maxItems",
        "maxProperties",
    ];
    for (key, value) in other {
        let Some(existing) = into.get_mut(&key) else {
            into.insert(key, value);
            continue;
        };
        match key.as_str() {
            "properties" => {
                if let (Value::Object(mine), Value::Object(theirs)) = (existing, value) {
                    for (name, schema) in theirs {
                        match mine.remove(&name) {
                            Some(previous) => {
                                mine.insert(name, json!({"allOf": [previous, schema]}));
                            }
                            None => {
                                mine.insert(name, schema);
                            }
                        }
                    }
                }
            }
            "required" => {
                if let (Value::Array(mine), Value::Array(theirs)) = (existing, value) {
                    for name in theirs {
                        if !mine.contains(&name) {
                            mine.push(name);
                        }
                    }
                }
            }
            "type" => {
                let as_list = |v: &Value| -> Vec<Value> {
                    match v {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    }
                };
                let theirs = as_list(&value);
                let both: Vec<Value> = as_list(existing)
                    .into_iter()
                    .filter_map(|t| {
                        if theirs.contains(&t) {
                            Some(t)
                        } else if t == "number" && theirs.contains(&json!("integer")) {
                            Some(json!("integer"))
                        } else if t == "integer" && theirs.contains(&json!("number")) {
                            Some(t)
                        } else {
                            None
                        }
                    })
                    .collect();
                if !both.is_empty() {
                    *existing = Value::Array(both);
                }
            }
            "enum" => {
                if let (Value::Array(mine), Value::Array(theirs)) = (existing, value) {
                    let both: Vec<Value> = mine
                        .iter()
                        .filter(|v| theirs.contains(v))
                        .cloned()
                        .collect();
                    if !both.is_empty() {
                        *mine = both;
                    }
                }
            }
            k if LOWER.contains(&k) || UPPER.contains(&k) => {
                if let (Some(a), Some(b)) = (existing.as_f64(), value.as_f64()) {
                    let tighter = if LOWER.contains(&k) { b > a } else { b < a };
                    if tighter {
                        *existing = value;
                    }
                }
            }
            // `nullable` must hold in every part for null to be allowed.
            "nullable" if value == Value::Bool(false) => *existing = value,
            _ => {}
        }
    }
}
