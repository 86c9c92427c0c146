//! The operations a contract declares: one entry per path and method, in a stable order,
//! with the path item's parameters merged into the operation's.
//!
//! Everything that works per operation — route derivation, validation, mocks, contract
//! tests — enumerates operations through [`operations`], so that an index into its result
//! means the same operation everywhere.

use serde_json::Value;

use crate::Contract;
use crate::lint::{deref, pointer};

/// The HTTP methods a path item may hold, in the order the OpenAPI specification lists them.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of a contract.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationInfo<'a> {
    /// The method, upper case (`GET`).
    pub method: &'static str,
    /// The path template as written under `paths` (`/citizens/{id}`).
    pub path: &'a str,
    /// The `operationId`, when there is one.
    pub operation_id: Option<&'a str>,
    /// The JSON pointer of the Operation Object (`#/paths/~1citizens~1{id}/get`).
    pub pointer: String,
    /// The Operation Object.
    pub operation: &'a Value,
    /// The effective Parameter Objects (path item's, overridden by the operation's with the
    /// same `in` and `name`), each with its JSON pointer.
    pub parameters: Vec<(String, &'a Value)>,
}

/// Every operation of `contract`: paths in lexical order (the order the loaded document
/// keeps them in), methods in [`METHODS`] order.
pub fn operations(contract: &Contract) -> Vec<OperationInfo<'_>> {
    let doc = &contract.document;
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = deref(doc, item);
        let item_pointer = pointer(&["paths", path.as_str()]);
        for (method, upper) in METHODS.iter().zip(UPPER) {
            let Some(operation) = item.get(*method) else {
                continue;
            };
            let operation = deref(doc, operation);
            let op_pointer = pointer(&["paths", path.as_str(), method]);
            let parameters = effective_parameters(doc, item, operation, &item_pointer, &op_pointer);
            out.push(OperationInfo {
                method: upper,
                path,
                operation_id: operation.get("operationId").and_then(Value::as_str),
                pointer: op_pointer,
                operation,
                parameters,
            });
        }
    }
    out
}

const UPPER: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

fn effective_parameters<'a>(
    doc: &'a Value,
    item: &'a Value,
    operation: &'a Value,
    item_pointer: &str,
    op_pointer: &str,
) -> Vec<(String, &'a Value)> {
    let mut out: Vec<(String, &'a Value)> = Vec::new();
    for (holder, at) in [(item, item_pointer), (operation, op_pointer)] {
        let Some(list) = holder.get("parameters").and_then(Value::as_array) else {
            continue;
        };
        for (i, parameter) in list.iter().enumerate() {
            let parameter = deref(doc, parameter);
            let key = |p: &Value| {
                (
                    p.get("in").and_then(Value::as_str).map(str::to_owned),
                    p.get("name").and_then(Value::as_str).map(str::to_owned),
                )
            };
            let this = key(parameter);
            out.retain(|(_, existing)| key(existing) != this);
            out.push((format!("{at}/parameters/{i}"), parameter));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn operations_in_stable_order_with_merged_parameters() {
        let text = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /people/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
      - {name: trace, in: header, schema: {type: string}}
    post:
      operationId: updatePerson
      parameters:
        - {name: trace, in: header, required: true, schema: {type: string}}
    get:
      operationId: getPerson
  /health:
    get: {}
"##;
        let contract = crate::load_str(Path::new("c.yaml"), text).unwrap();
        let ops = operations(&contract);
        let names: Vec<_> = ops.iter().map(|o| (o.method, o.path)).collect();
        assert_eq!(
            names,
            [
                ("GET", "/health"),
                ("GET", "/people/{id}"),
                ("POST", "/people/{id}")
            ]
        );
        assert_eq!(ops[2].operation_id, Some("updatePerson"));
        assert_eq!(ops[2].pointer, "#/paths/~1people~1{id}/post");
        let post: Vec<_> = ops[2].parameters.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            post,
            [
                "#/paths/~1people~1{id}/parameters/0",
                "#/paths/~1people~1{id}/post/parameters/0"
            ]
        );
        assert_eq!(ops[0].operation_id, None);
        assert!(ops[0].parameters.is_empty());
    }
}
