//! Schemas, compared in the direction data flows: a request schema may not accept less than
//! it did (clients send what used to be valid), a response schema may not produce more (clients
//! parse what they were promised).

use serde_json::{Map, Value};

use super::{At, Cx, Side, deref};

/// Which way the data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// Bounds whose lowering narrows what is accepted.
const UPPER: &[&str] = &[
    "maxLength",
    "maxItems",
    "maxProperties",
    "maximum",
    "exclusiveMaximum",
];
/// Bounds whose raising narrows what is accepted.
const LOWER: &[&str] = &[
    "minLength",
    "minItems",
    "minProperties",
    "minimum",
    "exclusiveMinimum",
];

/// Deeper than this, schemas are not compared (a backstop; cycles are stopped by `seen`).
const MAX_DEPTH: usize = 64;

#[allow(clippy::too_many_arguments)]
pub(crate) fn schema(
    cx: &mut Cx<'_>,
    dir: Dir,
    at: &At,
    label: &str,
    old: &Value,
    new: &Value,
    depth: usize,
) {
    let (old, new) = (deref(cx.old, old), deref(cx.new, new));
    if depth > MAX_DEPTH
        || !cx.seen.insert((
            std::ptr::from_ref(old) as usize,
            std::ptr::from_ref(new) as usize,
        ))
    {
        return;
    }
    types(cx, dir, at, label, old, new);
    format(cx, dir, at, label, old, new);
    limits(cx, dir, at, label, old, new);
    enums(cx, dir, at, label, old, new);
    properties(cx, dir, at, label, old, new, depth);
    for key in ["items", "additionalProperties"] {
        // Only schemas: `items: false` or `additionalProperties: true` are not walked.
        let (Some(o), Some(n)) = (old.get(key), new.get(key)) else {
            continue;
        };
        if o.is_object() && n.is_object() {
            let label = format!("{label}{}", if key == "items" { "[]" } else { ".*" });
            schema(cx, dir, &at.child(&[key]), &label, o, n, depth + 1);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        let (Some(os), Some(ns)) = (
            old.get(key).and_then(Value::as_array),
            new.get(key).and_then(Value::as_array),
        ) else {
            continue;
        };
        for (i, (o, n)) in os.iter().zip(ns).enumerate() {
            let label = format!("{label}.{key}[{i}]");
            let at = at.child(&[key.to_owned(), i.to_string()]);
            schema(cx, dir, &at, &label, o, n, depth + 1);
        }
    }
}

/// The set of types a schema allows, `None` when it does not say.
fn type_set(schema: &Value) -> Option<Vec<&str>> {
    let mut types: Vec<&str> = match schema.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        types.push("null");
    }
    Some(types)
}

/// Every value of a type in `from` is also of a type in `to` (`integer` is a `number`).
fn covers(to: &[&str], from: &[&str]) -> bool {
    from.iter()
        .all(|t| to.contains(t) || (*t == "integer" && to.contains(&"number")))
}

fn types(cx: &mut Cx<'_>, dir: Dir, at: &At, label: &str, old: &Value, new: &Value) {
    let (Some(o), Some(n)) = (type_set(old), type_set(new)) else {
        return;
    };
    let broken = match dir {
        Dir::Request => !covers(&n, &o),
        Dir::Response => !covers(&o, &n),
    };
    if broken {
        let message = format!(
            "{label}: type changed from {} to {}",
            o.join("|"),
            n.join("|")
        );
        cx.push("type-changed", Side::New, &at.new, message);
    }
}

fn format(cx: &mut Cx<'_>, dir: Dir, at: &At, label: &str, old: &Value, new: &Value) {
    let (o, n) = (
        old.get("format").and_then(Value::as_str),
        new.get("format").and_then(Value::as_str),
    );
    let broken = match (o, n, dir) {
        (Some(o), Some(n), _) => o != n,
        (None, Some(_), Dir::Request) | (Some(_), None, Dir::Response) => true,
        _ => false,
    };
    if broken {
        let message = format!(
            "{label}: format changed from {} to {}",
            o.unwrap_or("none"),
            n.unwrap_or("none")
        );
        cx.push("format-changed", Side::New, &at.new, message);
    }
}

fn limits(cx: &mut Cx<'_>, dir: Dir, at: &At, label: &str, old: &Value, new: &Value) {
    let (check, verb) = match dir {
        Dir::Request => ("request-limit-narrowed", "narrowed"),
        Dir::Response => ("response-limit-widened", "widened"),
    };
    for (keys, upper) in [(UPPER, true), (LOWER, false)] {
        for key in keys {
            let (o, n) = (
                old.get(*key).and_then(Value::as_f64),
                new.get(*key).and_then(Value::as_f64),
            );
            // Narrowed: a bound added, an upper bound lowered or a lower bound raised.
            let narrowed = match (o, n) {
                (None, Some(_)) => true,
                (Some(o), Some(n)) => (upper && n < o) || (!upper && n > o),
                _ => false,
            };
            let widened = match (o, n) {
                (Some(_), None) => true,
                (Some(o), Some(n)) => (upper && n > o) || (!upper && n < o),
                _ => false,
            };
            if (dir == Dir::Request && narrowed) || (dir == Dir::Response && widened) {
                let message = format!("{label}: {key} {verb} from {} to {}", show(o), show(n));
                cx.push(check, Side::New, &at.new, message);
            }
        }
    }
    let (o, n) = (old.get("pattern"), new.get("pattern"));
    let changed = match dir {
        Dir::Request => n.is_some() && o != n,
        Dir::Response => o.is_some() && o != n,
    };
    if changed {
        let message = format!(
            "{label}: pattern {verb} from {} to {}",
            o.map_or_else(|| "none".to_owned(), Value::to_string),
            n.map_or_else(|| "none".to_owned(), Value::to_string)
        );
        cx.push(check, Side::New, &at.new, message);
    }
}

fn show(v: Option<f64>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

fn enums(cx: &mut Cx<'_>, dir: Dir, at: &At, label: &str, old: &Value, new: &Value) {
    let (Some(o), Some(n)) = (
        old.get("enum").and_then(Value::as_array),
        new.get("enum").and_then(Value::as_array),
    ) else {
        return;
    };
    let (removed, added) = match dir {
        Dir::Request => ("request-enum-value-removed", "request-enum-value-added"),
        Dir::Response => ("response-enum-value-removed", "response-enum-value-added"),
    };
    for value in o.iter().filter(|v| !n.contains(v)) {
        let message = format!("{label}: enum value {value} was removed");
        cx.push(
            removed,
            Side::New,
            &crate::lint::child(&at.new, &["enum"]),
            message,
        );
    }
    for value in n.iter().filter(|v| !o.contains(v)) {
        let message = format!("{label}: enum value {value} was added");
        cx.push(
            added,
            Side::New,
            &crate::lint::child(&at.new, &["enum"]),
            message,
        );
    }
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn properties(
    cx: &mut Cx<'_>,
    dir: Dir,
    at: &At,
    label: &str,
    old: &Value,
    new: &Value,
    depth: usize,
) {
    let empty = Map::new();
    let olds = old
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let news = new
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (old_req, new_req) = (required(old), required(new));
    for (name, old_prop) in olds {
        let prop_at = at.child(&["properties", name]);
        let label = format!("{label}.{name}");
        match (news.get(name), dir) {
            (None, Dir::Response) => cx.push(
                "response-property-removed",
                Side::Old,
                &prop_at.old,
                format!("{label}: property was removed"),
            ),
            (None, Dir::Request) => cx.push(
                "request-property-removed",
                Side::Old,
                &prop_at.old,
                format!("{label}: property was removed"),
            ),
            (Some(new_prop), _) => {
                let (was, is) = (
                    old_req.contains(&name.as_str()),
                    new_req.contains(&name.as_str()),
                );
                if dir == Dir::Request && is && !was {
                    let message = format!("{label}: property is now required");
                    cx.push(
                        "request-property-made-required",
                        Side::New,
                        &prop_at.new,
                        message,
                    );
                }
                if dir == Dir::Response && was && !is {
                    let message = format!("{label}: property is no longer required");
                    cx.push(
                        "response-property-made-optional",
                        Side::New,
                        &prop_at.new,
                        message,
                    );
                }
                schema(cx, dir, &prop_at, &label, old_prop, new_prop, depth + 1);
            }
        }
    }
    for name in news.keys().filter(|n| !olds.contains_key(*n)) {
        let prop_at = at.child(&["properties", name]);
        let label = format!("{label}.{name}");
        let (check, message) = match dir {
            Dir::Request if new_req.contains(&name.as_str()) => (
                "request-property-added-required",
                format!("{label}: required property was added"),
            ),
            Dir::Request => (
                "request-property-added",
                format!("{label}: optional property was added"),
            ),
            Dir::Response => (
                "response-property-added",
                format!("{label}: property was added"),
            ),
        };
        cx.push(check, Side::New, &prop_at.new, message);
    }
}
