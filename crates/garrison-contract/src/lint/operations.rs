//! Rules about each operation: identity, summary, error responses, examples, security. Also
//! the walk over operations and their parameters that the other rule modules share.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Findings, child, deref, pointer, text};

pub(super) const OPERATION_ID: &str = "operation-id";
pub(super) const OPERATION_ID_UNIQUE: &str = "operation-id-unique";
pub(super) const OPERATION_SUMMARY: &str = "operation-summary";
pub(super) const OPERATION_4XX: &str = "operation-4xx-response";
pub(super) const OPERATION_EXAMPLES: &str = "operation-examples";
pub(super) const EXAMPLE_VALID: &str = "example-valid";
pub(super) const OPERATION_SECURITY: &str = "operation-security";

/// The HTTP methods a Path Item Object can hold (OAS 3.0.3 / 3.1.0 §4.8.9).
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of the contract.
pub(super) struct Operation<'a> {
    /// The path template, e.g. `/citizens/{id}`.
    pub(super) path: &'a str,
    /// The method key, lower case.
    pub(super) method: &'a str,
    /// The Operation Object.
    pub(super) op: &'a Value,
    /// `#/paths/…/{method}`.
    pub(super) pointer: String,
    /// The effective parameters (path-item ones overridden by the operation's), each with its
    /// pointer.
    pub(super) parameters: Vec<(String, &'a Value)>,
}

impl Operation<'_> {
    /// `POST /capi/v2/citizens/match`, for messages.
    pub(super) fn label(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }
}

/// Every operation under `paths`, in document order.
pub(super) fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    let Some(Value::Object(paths)) = doc.get("paths") else {
        return out;
    };
    for (path, item) in paths {
        let item_pointer = pointer(&["paths", path.as_str()]);
        for method in METHODS {
            let Some(op) = item.get(*method).filter(|op| op.is_object()) else {
                continue;
            };
            let mut parameters: Vec<(String, &Value)> = Vec::new();
            let sources = [
                (
                    child(&item_pointer, &["parameters"]),
                    item.get("parameters"),
                ),
                (
                    child(&item_pointer, &[*method, "parameters"]),
                    op.get("parameters"),
                ),
            ];
            for (base, list) in sources {
                let Some(Value::Array(list)) = list else {
                    continue;
                };
                for (i, p) in list.iter().enumerate() {
                    // An operation's parameter overrides the path item's of the same name
                    // and location.
                    let same = |(_, q): &(String, &Value)| {
                        q.get("name") == p.get("name") && q.get("in") == p.get("in")
                    };
                    parameters.retain(|x| !same(x));
                    parameters.push((child(&base, &[i.to_string()]), p));
                }
            }
            out.push(Operation {
                path,
                method,
                op,
                pointer: child(&item_pointer, &[*method]),
                parameters,
            });
        }
    }
    out
}

pub(super) fn check(doc: &Value, out: &mut Findings) {
    let mut ids: HashMap<&str, String> = HashMap::new();
    for op in operations(doc) {
        match text(op.op, "operationId") {
            None => out.push(
                OPERATION_ID,
                op.pointer.clone(),
                format!("{} has no operationId", op.label()),
            ),
            Some(id) => {
                if let Some(first) = ids.get(id) {
                    out.push(
                        OPERATION_ID_UNIQUE,
                        child(&op.pointer, &["operationId"]),
                        format!("operationId {id:?} is also used by {first}"),
                    );
                } else {
                    ids.insert(id, op.label());
                }
            }
        }
        if text(op.op, "summary").is_none() {
            out.push(
                OPERATION_SUMMARY,
                op.pointer.clone(),
                format!("{} has no summary", op.label()),
            );
        }
        error_responses(&op, out);
        examples(doc, &op, out);
        security(doc, &op, out);
    }
}

/// Consumers need to know how a call fails (GDS API standards: document error responses).
/// A public operation that takes no input at all (no parameters, no body — a health check)
/// cannot be called wrongly, so it has no client error to document.
fn error_responses(op: &Operation<'_>, out: &mut Findings) {
    let takes_nothing = op.op.get("x-garrison-public") == Some(&Value::Bool(true))
        && op.parameters.is_empty()
        && op.op.get("requestBody").is_none();
    if takes_nothing {
        return;
    }
    let has_4xx = op
        .op
        .get("responses")
        .and_then(Value::as_object)
        .is_some_and(|r| r.keys().any(|code| code.starts_with('4')));
    if !has_4xx {
        out.push(
            OPERATION_4XX,
            child(&op.pointer, &["responses"]),
            format!("{} documents no 4xx error response", op.label()),
        );
    }
}

/// Whether a media type carries JSON (`application/json`, `application/*+json`).
pub(super) fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn has_example(doc: &Value, media: &Value) -> bool {
    let present = |v: &Value, key: &str| match v.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) if key == "examples" => !a.is_empty(),
        Some(Value::Object(m)) if key == "examples" => !m.is_empty(),
        Some(_) => true,
    };
    let schema = deref(doc, media.get("schema").unwrap_or(&Value::Null));
    present(media, "example")
        || present(media, "examples")
        || present(schema, "example")
        || present(schema, "examples")
}

/// Examples let consumers build against an API before it exists and feed the sandbox mocks.
fn examples(doc: &Value, op: &Operation<'_>, out: &mut Findings) {
    let mut bodies: Vec<(String, &Map<String, Value>)> = Vec::new();
    if let Some(Value::Object(content)) = op.op.get("requestBody").and_then(|b| b.get("content")) {
        bodies.push((child(&op.pointer, &["requestBody", "content"]), content));
    }
    if let Some(Value::Object(responses)) = op.op.get("responses") {
        for (code, response) in responses {
            if let Some(Value::Object(content)) = response.get("content") {
                bodies.push((child(&op.pointer, &["responses", code, "content"]), content));
            }
        }
    }
    for (base, content) in bodies {
        for (media_type, media) in content {
            if is_json(media_type) && !has_example(doc, media) {
                out.push(
                    OPERATION_EXAMPLES,
                    child(&base, &[media_type]),
                    format!(
                        "{}: the JSON body ({media_type}) has no example",
                        op.label()
                    ),
                );
            }
        }
    }
}

/// An example its own schema refuses teaches consumers a message the gateway turns away, and
/// makes the portal's try-it (which sends it) fail.
pub(super) fn valid_examples(contract: &crate::Contract, out: &mut Findings) {
    for invalid in crate::validate::invalid_examples(contract) {
        let violation = &invalid.violation;
        let at = if violation.location.is_empty() {
            String::new()
        } else {
            format!(" at {}", violation.location)
        };
        out.push(
            EXAMPLE_VALID,
            invalid.pointer,
            format!(
                "{}: the example does not match its schema{at}: {} ({})",
                invalid.operation, violation.message, violation.rule
            ),
        );
    }
}

/// OWASP API2 (broken authentication): every operation names how callers authenticate.
/// An operation that is public on purpose (a health check) says so with
/// `x-garrison-public: true` and `security: []`, so the choice is explicit and reviewable.
fn security(doc: &Value, op: &Operation<'_>, out: &mut Findings) {
    let declared_public = op.op.get("x-garrison-public") == Some(&Value::Bool(true));
    let security = op.op.get("security").and_then(Value::as_array);
    if declared_public {
        if !security.is_some_and(|s| s.is_empty()) {
            out.push(
                OPERATION_SECURITY,
                op.pointer.clone(),
                format!(
                    "{}: x-garrison-public needs `security: []` on the operation, so no document-level requirement seems to apply",
                    op.label()
                ),
            );
        }
        return;
    }
    let (requirements, at) = match op.op.get("security") {
        Some(s) => (Some(s), child(&op.pointer, &["security"])),
        None => (doc.get("security"), pointer(&["security"])),
    };
    let label = op.label();
    let Some(requirements) = requirements else {
        out.push(
            OPERATION_SECURITY,
            op.pointer.clone(),
            format!("{label} has no security requirement (on the operation or the document)"),
        );
        return;
    };
    let Some(list) = requirements.as_array().filter(|l| !l.is_empty()) else {
        out.push(
            OPERATION_SECURITY,
            at,
            format!("{label} has an empty security list: anyone may call it"),
        );
        return;
    };
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    for (i, requirement) in list.iter().enumerate() {
        let Some(requirement) = requirement.as_object() else {
            continue;
        };
        if requirement.is_empty() {
            out.push(
                OPERATION_SECURITY,
                child(&at, &[i.to_string()]),
                format!("{label}: the empty requirement {{}} makes authentication optional"),
            );
        }
        for name in requirement.keys() {
            if !schemes.is_some_and(|s| s.contains_key(name)) {
                out.push(
                    OPERATION_SECURITY,
                    child(&at, &[i.to_string(), name.clone()]),
                    format!("{label}: security scheme {name:?} is not defined in components.securitySchemes"),
                );
            }
        }
    }
}
