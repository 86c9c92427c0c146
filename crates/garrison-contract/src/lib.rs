//! Garrison's OpenAPI contracts.
//!
//! A contract is an OpenAPI 3.0.x or 3.1.x document, written in YAML or JSON. [`load`] reads
//! one and resolves every `$ref` — inside the document and across relative files, never over
//! the network — into a single self-contained [`Contract`]; [`normalise_schema`] turns a 3.0
//! Schema Object into JSON Schema 2020-12; [`lint`] checks a contract against the built-in
//! rules drawn from the UK government API standards and the OWASP API Security Top 10;
//! [`diff`] finds breaking changes between two versions of a contract; [`compile`] turns its
//! operations into request and response validators; [`generate`] makes instances of its
//! schemas, which [`mock`] serves as responses and [`probe`] sends as contract-test requests.
//! Every problem names the file and the JSON pointer it concerns.
//!
//! This crate knows nothing about the gateway, its configuration or sockets: it reads contract
//! files and returns values. [`validate`] checks the parts of an HTTP message it is handed
//! (parameters, headers, body bytes) and never sees a connection.

pub mod diff;
mod error;
pub mod generate;
pub mod lint;
pub mod mock;
mod normalise;
mod operations;
mod pointer;
pub mod probe;
mod references;
mod resolve;
pub mod validate;
mod yaml;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use diff::{CHECKS, Change, Check, DiffReport, Level, Side, diff, diff_files};
pub use error::LoadError;
pub use generate::Generator;
pub use lint::{
    FileReport, Finding, LintReport, RULES, Rule, RuleSet, RuleSetError, Severity, lint, lint_files,
};
pub use mock::{MockError, MockOperation, MockResponse, Prefer, is_json, mock_operation};
pub use normalise::normalise_schema;
pub use operations::{METHODS, OperationInfo, operations};
pub use pointer::{escape_segment, unescape_segment};
pub use probe::{Case, Expect, cases, curl};
pub use validate::{
    CompileError, CompiledContract, CompiledOperation, RequestParts, Violation, Violations, compile,
};

/// The OpenAPI versions Garrison reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenApiVersion {
    /// OpenAPI 3.0.x: schemas are an extended subset of JSON Schema draft 4/5.
    V3_0,
    /// OpenAPI 3.1.x: schemas are JSON Schema 2020-12.
    V3_1,
}

/// A loaded contract: one self-contained JSON document.
///
/// Every `$ref` has been replaced by the value it points at, except a reference to a
/// *recursive* target (one that can reach itself through references, such as a tree node
/// schema): every reference to it stays a `$ref` whose target is inside `document` — `#/…`
/// (resolved in place) for a target in the root file, `#/$defs/<name>` for a target bundled
/// from another file.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// The file the contract was loaded from, as given.
    pub file: PathBuf,
    /// The `openapi` version the document declares.
    pub version: OpenApiVersion,
    /// The resolved document.
    pub document: Value,
}

/// Reads the contract at `path` (`.json` as JSON, anything else as YAML) and resolves it.
pub fn load(path: &Path) -> Result<Contract, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        file: path.to_owned(),
        source,
    })?;
    load_str(path, &text)
}

/// Parses contract `text` as if read from `path`, which chooses the syntax (`.json` or YAML),
/// anchors relative `$ref` files and names the file in errors.
pub fn load_str(path: &Path, text: &str) -> Result<Contract, LoadError> {
    let raw = yaml::parse_document(path, text)?;
    let version = detect_version(path, &raw)?;
    let document = resolve::resolve(path, raw, version)?;
    Ok(Contract {
        file: path.to_owned(),
        version,
        document,
    })
}

fn detect_version(path: &Path, document: &Value) -> Result<OpenApiVersion, LoadError> {
    let problem = |message: String| LoadError::Version {
        file: path.to_owned(),
        message,
    };
    match document.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0.") => Ok(OpenApiVersion::V3_0),
        Some(Value::String(v)) if v.starts_with("3.1.") => Ok(OpenApiVersion::V3_1),
        Some(Value::String(v)) => Err(problem(format!(
            "openapi {v:?} is not supported: Garrison reads OpenAPI 3.0.x and 3.1.x"
        ))),
        Some(_) => Err(problem(
            "openapi must be a string such as \"3.1.0\"".to_owned(),
        )),
        None if document.get("swagger").is_some() => Err(problem(
            "Swagger 2.0 is not supported: convert the document to OpenAPI 3".to_owned(),
        )),
        None => Err(problem(
            "no `openapi` field: this is not an OpenAPI document".to_owned(),
        )),
    }
}
