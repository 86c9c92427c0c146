//! Examples checked against their own schemas.
//!
//! An example is what a consumer copies first, what the portal's try-it sends and what a mock
//! answers with: one the gateway would refuse (a request) or report (a response) teaches the
//! wrong message and makes every try-it fail. Each example is checked with the validator the
//! gateway itself compiles for that place, so "valid" means exactly what enforcement means.

use serde_json::{Map, Value};

use super::schema::{SchemaCompiler, collect_violations};
use super::{Violation, content};
use crate::Contract;
use crate::generate::Direction;
use crate::lint::{child, deref};

/// One example that breaks its schema: where it is, and the first thing wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidExample {
    /// The `#/…` pointer of the example.
    pub(crate) pointer: String,
    /// What the operation is (`POST /checks/identity`), for the message.
    pub(crate) operation: String,
    /// The first violation; its message never repeats the example's value.
    pub(crate) violation: Violation,
}

/// Every example of `contract` — of a parameter, of a JSON request or response body, or of
/// the schema of either — that its schema refuses. A schema that does not compile is skipped:
/// compiling the contract reports it.
pub(crate) fn invalid_examples(contract: &Contract) -> Vec<InvalidExample> {
    let compiler = SchemaCompiler::new(contract);
    let doc = &contract.document;
    let mut out = Vec::new();
    for info in crate::operations(contract) {
        let label = format!("{} {}", info.method, info.path);
        let mut found = |pointer: String, violation: Violation| {
            out.push(InvalidExample {
                pointer,
                operation: label.clone(),
                violation,
            });
        };
        for (at, parameter) in &info.parameters {
            let Some(schema) = parameter.get("schema") else {
                continue;
            };
            let schema_at = child(at, &["schema"]);
            let Ok((validator, _)) = compiler.compile(schema, &schema_at) else {
                continue;
            };
            for (pointer, example) in examples_of(doc, parameter, at, schema, &schema_at) {
                let mut violations = Vec::new();
                collect_violations(&validator, example, "", &mut violations);
                if let Some(first) = violations.into_iter().next() {
                    found(pointer, first);
                }
            }
        }
        let mut bodies: Vec<(String, &Map<String, Value>, Direction)> = Vec::new();
        if let Some(body) = info.operation.get("requestBody")
            && let Some(Value::Object(content)) = deref(doc, body).get("content")
        {
            let at = child(&info.pointer, &["requestBody", "content"]);
            bodies.push((at, content, Direction::Request));
        }
        if let Some(Value::Object(responses)) = info.operation.get("responses") {
            for (code, response) in responses {
                if let Some(Value::Object(content)) = deref(doc, response).get("content") {
                    let at = child(&info.pointer, &["responses", code, "content"]);
                    bodies.push((at, content, Direction::Response));
                }
            }
        }
        for (base, content, direction) in bodies {
            for (media_type, media) in content {
                let json = media_type
                    .split(';')
                    .next()
                    .and_then(|essence| essence.trim().split_once('/'))
                    .is_some_and(|(_, subtype)| content::is_json(subtype));
                let Some(schema) = media.get("schema").filter(|_| json) else {
                    continue;
                };
                let at = child(&base, &[media_type.as_str()]);
                let schema_at = child(&at, &["schema"]);
                let Ok(validator) = compiler.compile_body(schema, &schema_at, direction) else {
                    continue;
                };
                for (pointer, example) in examples_of(doc, media, &at, schema, &schema_at) {
                    let mut violations = Vec::new();
                    collect_violations(&validator.full, example, "", &mut violations);
                    if let Some(first) = violations.into_iter().next() {
                        found(pointer, first);
                    }
                }
            }
        }
    }
    out
}

/// The examples `holder` (a Parameter or Media Type Object at `at`) and its `schema` give,
/// each with its pointer: `example`, every `examples.*.value` (through `$ref`), and the
/// schema's own `example` and `examples` list.
fn examples_of<'a>(
    doc: &'a Value,
    holder: &'a Value,
    at: &str,
    schema: &'a Value,
    schema_at: &str,
) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    if let Some(example) = holder.get("example") {
        out.push((child(at, &["example"]), example));
    }
    if let Some(Value::Object(named)) = holder.get("examples") {
        for (name, example) in named {
            // An Example Object may hold `externalValue` instead, which is never fetched.
            if let Some(value) = deref(doc, example).get("value") {
                out.push((child(at, &["examples", name.as_str(), "value"]), value));
            }
        }
    }
    let schema = deref(doc, schema);
    if let Some(example) = schema.get("example") {
        out.push((child(schema_at, &["example"]), example));
    }
    if let Some(Value::Array(list)) = schema.get("examples") {
        for (i, example) in list.iter().enumerate() {
            out.push((child(schema_at, &["examples", &i.to_string()]), example));
        }
    }
    out
}
