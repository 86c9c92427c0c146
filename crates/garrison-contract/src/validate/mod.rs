//! Validate: a contract's operations compiled into request and response validators.
//!
//! [`compile`] reads every operation of a contract (in [`crate::operations`] order), normalises
//! and compiles each schema once, and returns a [`CompiledContract`]. On the request path the
//! gateway calls [`CompiledOperation::validate_request`] and
//! [`CompiledOperation::validate_response`], which never compile and, for a valid message,
//! allocate no more than parsing it needs.
//!
//! A failed check lists *every* [`Violation`]: a location the consumer can act on (`/body/…`,
//! `path.id`, `query.name`, `header.name`, `status`), the rule broken and a short sentence.
//! Messages never repeat the offending value: it may be personal data.

mod content;
mod examples;
mod instance;
mod parameter;
mod schema;
mod serialisation;

use std::fmt;
use std::path::PathBuf;

use http::HeaderMap;
use serde_json::Value;

use self::content::Content;
pub(crate) use self::examples::invalid_examples;
use self::parameter::Parameter;
use self::schema::SchemaCompiler;
use crate::Contract;
use crate::generate::Direction;
use crate::lint::child;

/// A contract compiled for validation.
#[derive(Debug)]
pub struct CompiledContract {
    operations: Vec<CompiledOperation>,
}

impl CompiledContract {
    /// The operations, in the order [`crate::operations`] lists them.
    pub fn operations(&self) -> &[CompiledOperation] {
        &self.operations
    }
}

/// One operation compiled for validation.
#[derive(Debug)]
pub struct CompiledOperation {
    method: &'static str,
    path: String,
    operation_id: Option<String>,
    pointer: String,
    parameters: Vec<Parameter>,
    body: Option<RequestBody>,
    responses: Responses,
}

/// The parts of a request validation looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Path parameters: name and raw (still percent-encoded) value as matched in the URL path.
    pub path_params: &'a [(&'a str, &'a str)],
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The body; empty when there is none.
    pub body: &'a [u8],
}

/// One way a request or response breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `/body/…` (a JSON pointer under `/body`), `path.id`, `query.name`,
    /// `header.name` (lower case) or `status`.
    pub location: String,
    /// The rule broken: a JSON Schema keyword (`type`, `required`, `format`, …) or one of
    /// `required`, `content-type`, `json`, `style`, `status`.
    pub rule: String,
    /// A short sentence, never repeating the offending value.
    pub message: String,
}

impl Violation {
    fn new(location: impl Into<String>, rule: &str, message: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.location, self.message, self.rule)
    }
}

/// Every violation found in one request or response; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// A contract that cannot be compiled: a schema or parameter the validator cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {pointer}: {message}", file.display())]
pub struct CompileError {
    /// The contract file.
    pub file: PathBuf,
    /// The JSON pointer (`#/…`) of the offending schema or parameter.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// A compiled Request Body Object.
#[derive(Debug)]
struct RequestBody {
    required: bool,
    content: Content,
}

/// A compiled Responses Object.
#[derive(Debug)]
struct Responses {
    exact: Vec<(u16, Content)>,
    /// `1XX` to `5XX`, by the status's first digit minus one.
    ranges: [Option<Content>; 5],
    default: Option<Content>,
}

impl Responses {
    fn find(&self, status: u16) -> Option<&Content> {
        self.exact
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, c)| c)
            .or_else(|| {
                let class = usize::from(status / 100);
                self.ranges.get(class.checked_sub(1)?)?.as_ref()
            })
            .or(self.default.as_ref())
    }
}

/// Compiles every operation of `contract`.
pub fn compile(contract: &Contract) -> Result<CompiledContract, CompileError> {
    let compiler = SchemaCompiler::new(contract);
    let operations = crate::operations(contract)
        .into_iter()
        .map(|info| {
            let mut parameters = Vec::new();
            for (at, parameter) in &info.parameters {
                if let Some(p) = Parameter::compile(&compiler, parameter, at)? {
                    parameters.push(p);
                }
            }
            let body = match info.operation.get("requestBody") {
                Some(body) => {
                    let body = crate::lint::deref(&contract.document, body);
                    let at = child(&info.pointer, &["requestBody"]);
                    Some(RequestBody {
                        required: body.get("required").and_then(Value::as_bool) == Some(true),
                        content: Content::compile(&compiler, body, &at, Direction::Request)?,
                    })
                }
                None => None,
            };
            let responses = compile_responses(&compiler, contract, info.operation, &info.pointer)?;
            Ok(CompiledOperation {
                method: info.method,
                path: info.path.to_owned(),
                operation_id: info.operation_id.map(str::to_owned),
                pointer: info.pointer,
                parameters,
                body,
                responses,
            })
        })
        .collect::<Result<_, CompileError>>()?;
    Ok(CompiledContract { operations })
}

fn compile_responses(
    compiler: &SchemaCompiler<'_>,
    contract: &Contract,
    operation: &Value,
    pointer: &str,
) -> Result<Responses, CompileError> {
    let mut responses = Responses {
        exact: Vec::new(),
        ranges: Default::default(),
        default: None,
    };
    let Some(map) = operation.get("responses").and_then(Value::as_object) else {
        return Ok(responses);
    };
    for (key, response) in map {
        let response = crate::lint::deref(&contract.document, response);
        let at = child(pointer, &["responses", key.as_str()]);
        let content = Content::compile(compiler, response, &at, Direction::Response)?;
        let bytes = key.as_bytes();
        if key == "default" {
            responses.default = Some(content);
        } else if let Ok(status) = key.parse::<u16>() {
            responses.exact.push((status, content));
        } else if bytes.len() == 3
            && (b'1'..=b'5').contains(&bytes[0])
            && bytes[1..].eq_ignore_ascii_case(b"XX")
        {
            responses.ranges[usize::from(bytes[0] - b'1')] = Some(content);
        } else {
            return Err(compiler.error(&at, "not a status code, a range such as 4XX or default"));
        }
    }
    Ok(responses)
}

impl CompiledOperation {
    /// The method, upper case (`GET`).
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The path template as written in the contract (`/citizens/{id}`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `operationId`, when there is one.
    pub fn operation_id(&self) -> Option<&str> {
        self.operation_id.as_deref()
    }

    /// The JSON pointer of the Operation Object (`#/paths/~1x/get`).
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// Whether the operation declares a `requestBody`.
    pub fn accepts_body(&self) -> bool {
        self.body.is_some()
    }

    /// Checks a request's parameters, `Content-Type` and body; `Err` lists every violation.
    ///
    /// A body sent to an operation declaring none is not checked here: whether to accept it is
    /// the caller's decision ([`accepts_body`](Self::accepts_body)).
    pub fn validate_request(&self, request: &RequestParts<'_>) -> Result<(), Violations> {
        let mut out = Vec::new();
        for parameter in &self.parameters {
            parameter.check(request, &mut out);
        }
        if let Some(body) = &self.body {
            if request.body.is_empty() {
                if body.required {
                    out.push(Violation::new(
                        "/body",
                        "required",
                        "the operation requires a body",
                    ));
                }
            } else {
                body.content.check(request.headers, request.body, &mut out);
            }
        }
        finish(out)
    }

    /// Checks a response's status, `Content-Type` and body; `Err` lists every violation.
    ///
    /// Response headers other than `Content-Type` are not checked.
    pub fn validate_response(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Violations> {
        let Some(content) = self.responses.find(status) else {
            return finish(vec![Violation::new(
                "status",
                "status",
                "the operation does not document this status",
            )]);
        };
        let mut out = Vec::new();
        if content.is_empty() {
            // No content declared: nothing to check the body against.
        } else if body.is_empty() {
            out.push(Violation::new(
                "/body",
                "required",
                "the contract declares a body for this status",
            ));
        } else {
            content.check(headers, body, &mut out);
        }
        finish(out)
    }
}

fn finish(out: Vec<Violation>) -> Result<(), Violations> {
    if out.is_empty() {
        Ok(())
    } else {
        Err(Violations(out))
    }
}
