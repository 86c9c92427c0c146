//! Rules about names: personal identifiers kept out of URLs, and one naming style throughout.

use std::collections::HashSet;

use serde_json::Value;

use super::operations::{Operation, is_json, operations};
use super::{Findings, child, pointer};

pub(super) const NINO_IN_URL: &str = "nino-in-url";
pub(super) const PATH_KEBAB_CASE: &str = "path-kebab-case";
pub(super) const PARAMETER_CAMEL_CASE: &str = "parameter-camel-case";
pub(super) const PROPERTY_CAMEL_CASE: &str = "property-camel-case";

pub(super) fn check(doc: &Value, out: &mut Findings) {
    let ops = operations(doc);
    for op in &ops {
        nino_in_url(op, out);
        parameter_names(op, out);
    }
    path_segments(doc, out);
    property_names(doc, &ops, out);
}

// === nino-in-url ===

/// A URL ends up in access logs, proxies, browser history and `Referer` headers; a National
/// Insurance number there is personal data leaked to all of them (GDS: "do not put personal
/// data in URLs"; OWASP API3). Send it in the request body (a `POST … /match`) instead.
fn nino_in_url(op: &Operation<'_>, out: &mut Findings) {
    for (at, parameter) in &op.parameters {
        let location = parameter.get("in").and_then(Value::as_str).unwrap_or("");
        if location != "path" && location != "query" {
            continue;
        }
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
        let reason = if name_suggests_nino(name) {
            Some("its name suggests a National Insurance number".to_owned())
        } else if let Some(p) = nino_pattern(parameter) {
            Some(format!(
                "its pattern {p:?} matches National Insurance numbers"
            ))
        } else if parameter_examples(parameter)
            .iter()
            .any(|e| looks_like_nino(e))
        {
            Some("its example is a National Insurance number".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            out.push(
                NINO_IN_URL,
                at.clone(),
                format!(
                    "{}: {location} parameter {name:?} would put a National Insurance number in the URL ({reason}); send it in the request body",
                    op.label()
                ),
            );
        }
    }
}

/// `nino`, `ninoFragment`, `nationalInsuranceNumber`, `ni_number`, `NINumber`, …
pub(super) fn name_suggests_nino(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    folded.contains("nino")
        || folded.contains("nationalinsurance")
        || folded.starts_with("ninumber")
        || folded.starts_with("ninum")
        || folded == "ni"
}

fn nino_pattern(parameter: &Value) -> Option<&str> {
    let pattern = parameter.pointer("/schema/pattern")?.as_str()?;
    pattern_matches_nino_shape(pattern).then_some(pattern)
}

/// Whether a regular expression describes NINO shape: two letters, six digits (possibly in
/// pairs), a suffix A–D. Without a regex engine this reads the pattern's text: six digits
/// (`\d{6}`, `[0-9]{6}` or three `\d{2}`) and an `A-D` suffix class.
pub(super) fn pattern_matches_nino_shape(pattern: &str) -> bool {
    let p: String = pattern.chars().filter(|c| !c.is_whitespace()).collect();
    let six_digits = p.contains(r"\d{6}")
        || p.contains("[0-9]{6}")
        || p.matches(r"\d{2}").count() >= 3
        || p.matches("[0-9]{2}").count() >= 3;
    let suffix = p.contains("A-D") || p.contains("[ABCD]");
    six_digits && suffix
}

/// Two prefix letters, six digits, an optional suffix A–D, spaces ignored (HMRC NIM39110).
pub(super) fn looks_like_nino(text: &str) -> bool {
    let s: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let shape = (s.len() == 8 || s.len() == 9)
        && s[..2].iter().all(u8::is_ascii_alphabetic)
        && s[2..8].iter().all(u8::is_ascii_digit);
    shape && s.get(8).is_none_or(|c| (b'A'..=b'D').contains(c))
}

fn parameter_examples(parameter: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for at in ["/example", "/schema/example"] {
        if let Some(s) = parameter.pointer(at).and_then(Value::as_str) {
            out.push(s);
        }
    }
    if let Some(Value::Array(list)) = parameter.pointer("/schema/examples") {
        out.extend(list.iter().filter_map(Value::as_str));
    }
    if let Some(Value::Object(named)) = parameter.get("examples") {
        out.extend(named.values().filter_map(|e| e.get("value")?.as_str()));
    }
    out
}

// === naming ===

/// `dateOfBirth`: a lower-case letter, then letters and digits.
pub(super) fn is_camel_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `benefit-claims`, `v2`, `openapi.json`: lower-case words joined by `-` (or `.`).
pub(super) fn is_kebab_case(segment: &str) -> bool {
    !segment.is_empty()
        && segment.split(['-', '.']).all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `date_of_birth`, `Date-Of-Birth` → `dateOfBirth`, for messages.
pub(super) fn camel_case(name: &str) -> String {
    let mut out = String::new();
    for (i, word) in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.push(first.to_ascii_lowercase());
            } else {
                out.push(first.to_ascii_uppercase());
            }
            out.extend(chars);
        }
    }
    out
}

/// GDS API data standards: use one naming convention throughout; Garrison's is camelCase for
/// names in JSON and URLs' query and path parameters.
fn parameter_names(op: &Operation<'_>, out: &mut Findings) {
    for (at, parameter) in &op.parameters {
        let location = parameter.get("in").and_then(Value::as_str).unwrap_or("");
        // Header names are case-insensitive and conventionally hyphenated (RFC 9110 §5.1).
        if location == "header" {
            continue;
        }
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
        if !is_camel_case(name) {
            out.push(
                PARAMETER_CAMEL_CASE,
                child(at, &["name"]),
                format!(
                    "{}: {location} parameter {name:?} is not camelCase (e.g. {:?})",
                    op.label(),
                    camel_case(name)
                ),
            );
        }
    }
}

/// GDS API standards: lower-case, hyphenated path segments.
fn path_segments(doc: &Value, out: &mut Findings) {
    let Some(Value::Object(paths)) = doc.get("paths") else {
        return;
    };
    for path in paths.keys() {
        let bad: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && !s.contains('{'))
            .filter(|s| !is_kebab_case(s))
            .collect();
        if !bad.is_empty() {
            out.push(
                PATH_KEBAB_CASE,
                pointer(&["paths", path.as_str()]),
                format!(
                    "path {path:?} has segments that are not kebab-case: {}",
                    bad.join(", ")
                ),
            );
        }
    }
}

/// Property names of every schema in `components.schemas` and in operation bodies; each bad
/// name is reported once, where first seen (resolved documents repeat inlined schemas).
fn property_names(doc: &Value, ops: &[Operation<'_>], out: &mut Findings) {
    let mut seen = HashSet::new();
    if let Some(Value::Object(schemas)) = doc.pointer("/components/schemas") {
        for (name, schema) in schemas {
            let at = pointer(&["components", "schemas", name.as_str()]);
            schema_properties(schema, &at, &mut seen, out);
        }
    }
    for op in ops {
        let mut bodies = Vec::new();
        if let Some(Value::Object(content)) = op.op.pointer("/requestBody/content") {
            let base = child(&op.pointer, &["requestBody", "content"]);
            bodies.extend(content.iter().map(|(m, v)| (child(&base, &[m]), m, v)));
        }
        if let Some(Value::Object(responses)) = op.op.get("responses") {
            for (code, response) in responses {
                if let Some(Value::Object(content)) = response.get("content") {
                    let base = child(&op.pointer, &["responses", code, "content"]);
                    bodies.extend(content.iter().map(|(m, v)| (child(&base, &[m]), m, v)));
                }
            }
        }
        for (at, media_type, media) in bodies {
            if let (true, Some(schema)) = (is_json(media_type), media.get("schema")) {
                schema_properties(schema, &child(&at, &["schema"]), &mut seen, out);
            }
        }
    }
}

fn schema_properties(schema: &Value, at: &str, seen: &mut HashSet<String>, out: &mut Findings) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::Object(properties)) = map.get("properties") {
        for (name, sub) in properties {
            let here = child(at, &["properties", name.as_str()]);
            if !is_camel_case(name) && seen.insert(name.clone()) {
                out.push(
                    PROPERTY_CAMEL_CASE,
                    here.clone(),
                    format!(
                        "property {name:?} is not camelCase (e.g. {:?})",
                        camel_case(name)
                    ),
                );
            }
            schema_properties(sub, &here, seen, out);
        }
    }
    for key in ["items", "additionalProperties", "not", "contains"] {
        if let Some(sub) = map.get(key) {
            schema_properties(sub, &child(at, &[key]), seen, out);
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(Value::Array(list)) = map.get(key) {
            for (i, sub) in list.iter().enumerate() {
                schema_properties(sub, &child(at, &[key, &i.to_string()]), seen, out);
            }
        }
    }
}
