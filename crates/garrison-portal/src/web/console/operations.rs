//! The operations of a contract as the console's form needs them: method, path, summary,
//! the path, query and header parameters with their examples, and the body's example.

use std::fmt::Write;

use serde_json::Value;

/// One parameter of an operation, as a form field.
#[derive(Debug, Clone)]
pub(super) struct Parameter {
    pub(super) name: String,
    /// `header`, `path` or `query`.
    pub(super) place: String,
    pub(super) required: bool,
    pub(super) example: String,
    pub(super) description: String,
}

/// One operation of the contract.
#[derive(Debug, Clone)]
pub(super) struct Operation {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) summary: String,
    pub(super) parameters: Vec<Parameter>,
    pub(super) body_example: Option<String>,
    /// The status codes the contract documents for it (`200`, `422`, …): the answers the
    /// sandbox can be asked for with `Prefer: code=…`.
    pub(super) statuses: Vec<String>,
}

/// Follows a local `$ref`.
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    for _ in 0..8 {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| doc.pointer(p))
        {
            Some(target) => value = target,
            None => break,
        }
    }
    value
}

fn example_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every operation of the contract, in its order (paths as listed, methods in the
/// specification's order).
pub(super) fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let item = deref(doc, item);
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(op) = item.get(method).map(|o| deref(doc, o)) else {
                continue;
            };
            let mut parameters: Vec<Parameter> = Vec::new();
            let declared = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(
                    op.get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            for p in declared {
                let p = deref(doc, p);
                let (Some(name), Some(place)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                if !matches!(place, "header" | "path" | "query") {
                    continue;
                }
                let example = p
                    .get("example")
                    .or_else(|| {
                        p.get("schema")
                            .map(|s| deref(doc, s))
                            .and_then(|s| s.get("example"))
                    })
                    .map(example_text)
                    .unwrap_or_default();
                let parameter = Parameter {
                    name: name.to_owned(),
                    place: place.to_owned(),
                    required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                    example,
                    description: p
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                };
                // An operation's parameter overrides the path item's of the same name and place.
                parameters.retain(|q| !(q.name == parameter.name && q.place == parameter.place));
                parameters.push(parameter);
            }
            let body_example = op
                .get("requestBody")
                .map(|b| deref(doc, b))
                .and_then(|b| b.get("content"))
                .and_then(|c| c.get("application/json"))
                .map(|media| {
                    media
                        .get("example")
                        .or_else(|| {
                            media
                                .get("examples")
                                .and_then(Value::as_object)
                                .and_then(|e| e.values().next())
                                .map(|e| deref(doc, e))
                                .and_then(|e| e.get("value"))
                        })
                        .or_else(|| {
                            media
                                .get("schema")
                                .map(|s| deref(doc, s))
                                .and_then(|s| s.get("example"))
                        })
                        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                        .unwrap_or_default()
                });
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op
                    .get("summary")
                    .and_then(Value::as_str)
                    .or_else(|| op.get("operationId").and_then(Value::as_str))
                    .unwrap_or("")
                    .to_owned(),
                parameters,
                body_example,
                statuses: op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|r| r.keys())
                    .filter(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
                    .cloned()
                    .collect(),
            });
        }
    }
    out
}

/// Percent-encodes a path segment or query component: everything but unreserved
/// characters (and `.`, so a value can never be a `..` segment).
pub(super) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_leave_their_segment() {
        assert_eq!(encode("../admin"), "%2E%2E%2Fadmin");
        assert_eq!(encode("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(encode("AB-12_~"), "AB-12_~");
    }

    #[test]
    fn operations_merge_parameters_and_find_the_example() {
        let doc = serde_json::json!({
            "components": {"parameters": {"Ctx": {"name": "context", "in": "header",
                "required": true, "example": "DVLA"}}},
            "paths": {"/things/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Ctx"},
                               {"name": "id", "in": "path", "required": true,
                                "schema": {"type": "string", "example": "t1"}}],
                "post": {"summary": "Make", "requestBody": {"content": {"application/json":
                    {"example": {"a": 1}}}},
                    "parameters": [{"name": "context", "in": "header", "example": "NHS"}]},
                "get": {"operationId": "getThing"}}}
        });
        let ops = operations(&doc);
        assert_eq!(ops.len(), 2);
        assert_eq!(
            (ops[0].method.as_str(), ops[0].summary.as_str()),
            ("GET", "getThing")
        );
        let post = &ops[1];
        assert_eq!(post.body_example.as_deref(), Some("{\n  \"a\": 1\n}"));
        let ctx: Vec<_> = post
            .parameters
            .iter()
            .filter(|p| p.name == "context")
            .collect();
        assert_eq!(
            ctx.len(),
            1,
            "the operation's parameter overrides the path item's"
        );
        assert_eq!(ctx[0].example, "NHS");
        assert!(
            post.parameters
                .iter()
                .any(|p| p.name == "id" && p.example == "t1")
        );
    }
}
