//! Instances that break exactly one rule of a schema: a valid instance with one mutation
//! (a required property removed, a bound overstepped, a value of the wrong type…).

use serde_json::{Map, Value, json};

use super::primitive::Bounds;
use super::schema::{allowed_types, merge, required};
use super::{Builder, HARD_DEPTH, OPTIONAL_DEPTH, Pattern};

/// The ways to break a schema, tried in random order until one applies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    WrongType,
    NotInEnum,
    NotConst,
    MissingRequired(usize),
    Unexpected,
    Nested(usize),
    TooFewItems,
    TooManyItems,
    BadItem,
    Duplicate,
    Format,
    TooShort,
    TooLong,
    Pattern,
    BelowMinimum,
    AboveMaximum,
    NotMultiple,
}

/// An invalid instance of `schema` at `path` (`""` for the root, `a.b[0]` below it).
pub(super) fn instance(
    b: &mut Builder<'_>,
    schema: &Value,
    depth: usize,
    path: &str,
) -> Option<(Value, String)> {
    if depth > OPTIONAL_DEPTH + 2 || depth > HARD_DEPTH {
        return None;
    }
    let branch_types = branch_types(b, schema);
    let s = b.effective(schema)?;
    let valid = b.build_effective(&s, depth);
    let mut candidates = candidates(&s, &valid);
    b.rng.shuffle(&mut candidates);
    candidates
        .into_iter()
        .find_map(|m| apply(b, &s, &valid, m, depth, path, &branch_types))
}

/// The types each `oneOf`/`anyOf` branch of `schema` allows (with the schema's own keywords
/// merged in), so that a value of the wrong type for the chosen branch is not of a type
/// another branch accepts; empty when there are no branches.
fn branch_types(b: &Builder<'_>, schema: &Value) -> Vec<Vec<&'static str>> {
    let Some(base) = b.flatten(schema, 0) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = base.get(key) else {
            continue;
        };
        for branch in branches {
            let mut merged = base.clone();
            merged.remove("oneOf");
            merged.remove("anyOf");
            if let Some(branch) = b.flatten(branch, 0) {
                merge(&mut merged, branch);
                out.push(allowed_types(&merged));
            }
        }
    }
    out
}

fn candidates(s: &Map<String, Value>, valid: &Value) -> Vec<Mutation> {
    use Mutation::*;
    let mut out = Vec::new();
    let has = |k: &str| s.contains_key(k);
    if !allowed_types(s).is_empty() && s.contains_key("type") {
        out.push(WrongType);
    }
    if has("enum") {
        out.push(NotInEnum);
    }
    if has("const") {
        out.push(NotConst);
    }
    match valid {
        Value::Object(map) => {
            out.extend((0..required(s).len()).map(MissingRequired));
            let closed = |k: &str| s.get(k) == Some(&Value::Bool(false));
            if closed("additionalProperties") || closed("unevaluatedProperties") {
                out.push(Unexpected);
            }
            let declared = s.get("properties").and_then(Value::as_object);
            out.extend(
                map.keys()
                    .enumerate()
                    .filter(|(_, k)| declared.is_some_and(|d| d.contains_key(*k)))
                    .map(|(i, _)| Nested(i)),
            );
        }
        Value::Array(_) => {
            if s.get("minItems").and_then(Value::as_u64).unwrap_or(0) > 0 {
                out.push(TooFewItems);
            }
            if has("maxItems") {
                out.push(TooManyItems);
            }
            if has("items") || has("prefixItems") {
                out.push(BadItem);
            }
            if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                out.push(Duplicate);
            }
        }
        Value::String(_) => {
            if has("format") {
                out.push(Format);
            }
            if s.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0 {
                out.push(TooShort);
            }
            if has("maxLength") {
                out.push(TooLong);
            }
            if has("pattern") {
                out.push(Pattern);
            }
        }
        Value::Number(_) => {
            let bounds = Bounds::of(s);
            if bounds.low.is_some() {
                out.push(BelowMinimum);
            }
            if bounds.high.is_some() {
                out.push(AboveMaximum);
            }
            if bounds.multiple.is_some() {
                out.push(NotMultiple);
            }
        }
        _ => {}
    }
    out
}

/// `path` as the subject of a description.
fn subject(path: &str) -> String {
    if path.is_empty() {
        "the value".to_owned()
    } else {
        format!("`{path}`")
    }
}

fn apply(
    b: &mut Builder<'_>,
    s: &Map<String, Value>,
    valid: &Value,
    mutation: Mutation,
    depth: usize,
    path: &str,
    branch_types: &[Vec<&'static str>],
) -> Option<(Value, String)> {
    let who = subject(path);
    let types = allowed_types(s);
    // An enum or const holds the value to one of a few: a changed string or number would
    // break it too, so only the enum/const mutations apply to those.
    let pinned = s.contains_key("enum") || s.contains_key("const");
    match mutation {
        Mutation::WrongType => {
            // A branch without a type accepts every type: nothing is of the wrong type.
            if branch_types.iter().any(Vec::is_empty) {
                return None;
            }
            let allows = |types: &[&str], v: &Value| match v {
                Value::Null => types.contains(&"null"),
                Value::Bool(_) => types.contains(&"boolean"),
                Value::String(_) => types.contains(&"string"),
                Value::Array(_) => types.contains(&"array"),
                Value::Object(_) => types.contains(&"object"),
                Value::Number(n) => {
                    types.contains(&"number") || (types.contains(&"integer") && n.is_i64())
                }
            };
            let wrong = [
                json!("not-a-value"),
                json!(12345),
                json!(1.5),
                json!(true),
                json!({}),
                json!([]),
            ]
            .into_iter()
            .find(|v| !allows(&types, v) && !branch_types.iter().any(|t| allows(t, v)))?;
            let expected = types
                .iter()
                .find(|t| **t != "null")
                .copied()
                .unwrap_or("null");
            let article = if expected.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            Some((wrong, format!("{who} is not {article} {expected}")))
        }
        Mutation::NotInEnum => {
            let values = s.get("enum")?.as_array()?;
            let candidate = match values.iter().find(|v| !v.is_null()) {
                Some(Value::String(first)) => (0..)
                    .map(|i| json!(format!("{first}-unknown{i}")))
                    .find(|v| !values.contains(v))?,
                Some(Value::Number(_)) => {
                    let top = values.iter().filter_map(Value::as_f64).fold(0.0, f64::max);
                    json!(top.floor() as i64 + 1)
                }
                Some(Value::Bool(_)) => [json!(true), json!(false)]
                    .into_iter()
                    .find(|v| !values.contains(v))?,
                _ => return None,
            };
            Some((candidate, format!("{who} is not one of the allowed values")))
        }
        Mutation::NotConst => {
            let constant = s.get("const")?;
            let other = match constant {
                Value::String(c) => json!(format!("{c}-other")),
                Value::Number(n) => json!(n.as_f64()? + 1.0),
                Value::Bool(v) => json!(!v),
                _ => json!("other"),
            };
            Some((other, format!("{who} is not the required constant")))
        }
        Mutation::MissingRequired(i) => {
            let name = required(s).get(i)?.to_string();
            let mut map = valid.as_object()?.clone();
            // A property the direction leaves out is not there to remove.
            map.remove(&name)?;
            // Removing a property may break `minProperties` as well: avoid a second rule.
            let min = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0);
            if (map.len() as u64) < min {
                return None;
            }
            let place = if path.is_empty() {
                String::new()
            } else {
                format!(" in `{path}`")
            };
            Some((
                Value::Object(map),
                format!("missing required property `{name}`{place}"),
            ))
        }
        Mutation::Unexpected => {
            let mut map = valid.as_object()?.clone();
            if s.get("maxProperties")
                .and_then(Value::as_u64)
                .is_some_and(|m| map.len() as u64 >= m)
            {
                return None;
            }
            let name = "unexpectedProperty";
            map.insert(name.to_owned(), json!("x"));
            Some((
                Value::Object(map),
                format!("{who} has an undeclared property `{name}`"),
            ))
        }
        Mutation::Nested(i) => {
            let mut map = valid.as_object()?.clone();
            let key = map.keys().nth(i)?.clone();
            let schema = s.get("properties")?.get(&key)?.clone();
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let (value, description) = instance(b, &schema, depth + 1, &inner)?;
            map.insert(key, value);
            Some((Value::Object(map), description))
        }
        Mutation::TooFewItems => {
            let min = s.get("minItems")?.as_u64()? as usize;
            let mut items = valid.as_array()?.clone();
            items.truncate(min - 1);
            Some((
                Value::Array(items),
                format!("{who} has fewer than {min} items"),
            ))
        }
        Mutation::TooManyItems => {
            let max = s.get("maxItems")?.as_u64()? as usize;
            let mut items = valid.as_array()?.clone();
            let unique = s.get("uniqueItems") == Some(&Value::Bool(true));
            let schema = s.get("items").cloned().unwrap_or(json!({}));
            let mut tries = 0;
            while items.len() <= max && tries < 64 {
                tries += 1;
                let item = b.value(&schema, depth + 1);
                if !unique || !items.contains(&item) {
                    items.push(item);
                }
            }
            (items.len() > max).then(|| {
                (
                    Value::Array(items),
                    format!("{who} has more than {max} items"),
                )
            })
        }
        Mutation::BadItem => {
            let mut items = valid.as_array()?.clone();
            let schema = match s.get("prefixItems").and_then(Value::as_array) {
                Some(prefix) if !prefix.is_empty() => prefix[0].clone(),
                _ => s.get("items")?.clone(),
            };
            let inner = format!("{path}[0]");
            let (value, description) = instance(b, &schema, depth + 1, &inner)?;
            match items.first_mut() {
                Some(first) => *first = value,
                None => {
                    // Adding an item must not break `maxItems` (0) instead.
                    if s.get("maxItems").and_then(Value::as_u64) == Some(0) {
                        return None;
                    }
                    items.push(value);
                }
            }
            if s.get("uniqueItems") == Some(&Value::Bool(true)) && items[1..].contains(&items[0]) {
                return None;
            }
            Some((Value::Array(items), description))
        }
        Mutation::Duplicate => {
            let mut items = valid.as_array()?.clone();
            let max = s
                .get("maxItems")
                .and_then(Value::as_u64)
                .map(|m| m as usize);
            let first = items.first()?.clone();
            if max.is_some_and(|m| items.len() >= m) {
                return None;
            }
            items.push(first);
            Some((Value::Array(items), format!("{who} has duplicate items")))
        }
        Mutation::Format => {
            if pinned {
                return None;
            }
            let format = s.get("format")?.as_str()?;
            let (bad, noun) = match format {
                "date" => ("31/01/2026", "a date"),
                "date-time" => ("2026-01-31 09:30", "a date-time"),
                "time" => ("9.30am", "a time"),
                "uuid" => ("not-a-uuid", "a UUID"),
                "email" | "idn-email" => ("not-an-email", "an email address"),
                "uri" | "iri" => ("not a uri", "a URI"),
                "ipv4" => ("300.1.2.3", "an IPv4 address"),
                "ipv6" => ("2001:db8:::1:::", "an IPv6 address"),
                "hostname" | "idn-hostname" => ("-bad-.host-", "a host name"),
                _ => return None,
            };
            let text = bad.to_owned();
            string_breaks_only(s, &text, "format")
                .then(|| (json!(text), format!("{who} is not {noun}")))
        }
        Mutation::TooShort => {
            if pinned {
                return None;
            }
            let min = s.get("minLength")?.as_u64()? as usize;
            let text: String = valid.as_str()?.chars().take(min - 1).collect();
            Some((
                json!(text),
                format!("{who} is shorter than {min} characters"),
            ))
        }
        Mutation::TooLong => {
            if pinned {
                return None;
            }
            let max = s.get("maxLength")?.as_u64()? as usize;
            let mut text = valid.as_str()?.to_owned();
            let pad = text.chars().last().unwrap_or('x');
            while text.chars().count() <= max {
                text.push(pad);
            }
            Some((
                json!(text),
                format!("{who} is longer than {max} characters"),
            ))
        }
        Mutation::Pattern => {
            if pinned {
                return None;
            }
            let source = s.get("pattern")?.as_str()?;
            let pattern = Pattern::parse(source)?;
            let text = ["!", "0", "a", "A", "~~", "a0", "__", " "]
                .into_iter()
                .map(|c| {
                    c.repeat(
                        s.get("minLength")
                            .and_then(Value::as_u64)
                            .unwrap_or(1)
                            .max(1) as usize,
                    )
                })
                .find(|t| !pattern.is_match(t) && string_breaks_only(s, t, "pattern"))?;
            Some((
                json!(text),
                format!("{who} does not match the pattern `{source}`"),
            ))
        }
        Mutation::BelowMinimum | Mutation::AboveMaximum | Mutation::NotMultiple => {
            if pinned {
                return None;
            }
            number(s, valid, mutation, &who, types.contains(&"number"))
        }
    }
}

/// Whether `text` satisfies the string rules of `s` other than `except` (so that a mutation
/// breaks only the rule it names). Format is not checked here: callers pick texts that are not
/// of any format but their own.
fn string_breaks_only(s: &Map<String, Value>, text: &str, except: &str) -> bool {
    let n = text.chars().count() as u64;
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    let max = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let pattern_ok = except == "pattern"
        || s.get("pattern")
            .and_then(Value::as_str)
            .and_then(Pattern::parse)
            .is_none_or(|p| p.is_match(text));
    n >= min && n <= max && pattern_ok && (except == "format" || !s.contains_key("format"))
}

fn number(
    s: &Map<String, Value>,
    valid: &Value,
    mutation: Mutation,
    who: &str,
    fractional: bool,
) -> Option<(Value, String)> {
    let bounds = Bounds::of(s);
    let integer = !fractional;
    // Steps that keep an integer an integer, and a multiple a multiple.
    let step = match bounds.multiple {
        Some(m) if integer => (bounds.integer_step() as f64).max(m),
        Some(m) => m,
        None => 1.0,
    };
    let on_grid = |v: f64| (v - v.round()).abs() < 1e-9;
    let grid = |v: f64| (!integer || on_grid(v)) && bounds.multiple.is_none_or(|m| on_grid(v / m));
    let value = match mutation {
        Mutation::BelowMinimum => {
            let (low, exclusive) = bounds.low?;
            if exclusive && grid(low) {
                low
            } else {
                ((low / step).ceil() - 1.0) * step
            }
        }
        Mutation::AboveMaximum => {
            let (high, exclusive) = bounds.high?;
            if exclusive && grid(high) {
                high
            } else {
                ((high / step).floor() + 1.0) * step
            }
        }
        _ => {
            let m = bounds.multiple?;
            let base = valid.as_f64()?;
            let v = if integer {
                if m <= 1.0 || !on_grid(m) {
                    return None;
                }
                base + 1.0
            } else {
                base + m / 2.0
            };
            let inside = bounds
                .low
                .is_none_or(|(l, ex)| if ex { v > l } else { v >= l })
                && bounds
                    .high
                    .is_none_or(|(h, ex)| if ex { v < h } else { v <= h });
            if !inside {
                return None;
            }
            return Some((
                json_number(v, integer),
                format!("{who} is not a multiple of {m}"),
            ));
        }
    };
    let description = match mutation {
        Mutation::BelowMinimum => format!("{who} is below its minimum"),
        _ => format!("{who} is above its maximum"),
    };
    Some((json_number(value, integer), description))
}

fn json_number(v: f64, integer: bool) -> Value {
    if integer && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}
