//! Lint: built-in rules drawn from the UK government API technical and data standards (and the
//! CDDO ruleset that checks them) and the OWASP API Security Top 10 (2023).
//!
//! Each rule has a stable id and a default [`Severity`]; a [`RuleSet`] changes severities or
//! turns rules off. [`lint`] checks one loaded contract; [`lint_files`] loads and checks many and
//! returns a [`LintReport`] that renders as text or JSON and knows the process exit code.

mod document;
mod naming;
mod operations;
mod report;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::Contract;

pub use report::{FileReport, LintReport, lint_files};

/// How much a finding matters. Any `Error` makes `garrison contract lint` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Breaks a standard the API must meet.
    Error,
    /// Breaks a convention; worth fixing.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// The lower-case name used in output and in `--rule-severity`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id, as in output and `--rule-severity`.
    pub id: &'static str,
    /// Severity unless a [`RuleSet`] says otherwise.
    pub default: Severity,
    /// One line: what the rule wants.
    pub summary: &'static str,
}

/// Every built-in rule, in the order they are documented.
pub const RULES: &[Rule] = &[
    rule(
        document::HTTPS_SERVERS_ONLY,
        Severity::Error,
        "every server URL is https://",
    ),
    rule(
        document::INFO_DESCRIPTION,
        Severity::Error,
        "info.description is present",
    ),
    rule(
        document::INFO_CONTACT,
        Severity::Error,
        "info.contact gives an email or URL",
    ),
    rule(
        document::INFO_VERSION,
        Severity::Error,
        "info.version is present",
    ),
    rule(
        document::NO_X_HEADERS,
        Severity::Error,
        "no X- prefixed request or response headers",
    ),
    rule(
        operations::OPERATION_ID,
        Severity::Error,
        "every operation has an operationId",
    ),
    rule(
        operations::OPERATION_ID_UNIQUE,
        Severity::Error,
        "operationIds are unique",
    ),
    rule(
        operations::OPERATION_SUMMARY,
        Severity::Warning,
        "every operation has a summary",
    ),
    rule(
        operations::OPERATION_4XX,
        Severity::Warning,
        "every operation documents a 4xx response",
    ),
    rule(
        operations::OPERATION_EXAMPLES,
        Severity::Warning,
        "JSON bodies have examples",
    ),
    rule(
        operations::EXAMPLE_VALID,
        Severity::Error,
        "every example matches its schema",
    ),
    rule(
        operations::OPERATION_SECURITY,
        Severity::Error,
        "every operation requires authentication",
    ),
    rule(
        naming::NINO_IN_URL,
        Severity::Error,
        "no National Insurance number in a path or query",
    ),
    rule(
        naming::PATH_KEBAB_CASE,
        Severity::Warning,
        "path segments are kebab-case",
    ),
    rule(
        naming::PARAMETER_CAMEL_CASE,
        Severity::Warning,
        "path/query/cookie parameters are camelCase",
    ),
    rule(
        naming::PROPERTY_CAMEL_CASE,
        Severity::Warning,
        "schema property names are camelCase",
    ),
];

const fn rule(id: &'static str, default: Severity, summary: &'static str) -> Rule {
    Rule {
        id,
        default,
        summary,
    }
}

/// One problem found in a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule broken.
    pub rule: &'static str,
    /// Its severity after the [`RuleSet`] is applied.
    pub severity: Severity,
    /// Where, as a `#/…` JSON pointer into the resolved document.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// Severity overrides: which rules run and how much each matters.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    overrides: HashMap<&'static str, Option<Severity>>,
}

/// A severity override that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleSetError {
    /// Not of the form `RULE=SEVERITY`.
    #[error("{0:?}: expected RULE=SEVERITY, e.g. nino-in-url=error")]
    Malformed(String),
    /// No built-in rule has this id.
    #[error("no lint rule is called {0:?}")]
    UnknownRule(String),
    /// Not one of error, warning, info, off.
    #[error("{0:?} is not a severity: use error, warning, info or off")]
    UnknownSeverity(String),
}

impl RuleSet {
    /// Applies `spec`, `RULE=SEVERITY` where severity is `error`, `warning`, `info` or `off`.
    pub fn set(&mut self, spec: &str) -> Result<(), RuleSetError> {
        let (id, severity) = spec
            .split_once('=')
            .ok_or_else(|| RuleSetError::Malformed(spec.to_owned()))?;
        let (id, severity) = (id.trim(), severity.trim());
        let rule = RULES
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| RuleSetError::UnknownRule(id.to_owned()))?;
        let severity = match severity {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            "off" => None,
            other => return Err(RuleSetError::UnknownSeverity(other.to_owned())),
        };
        self.overrides.insert(rule.id, severity);
        Ok(())
    }

    /// The severity of `rule`, or `None` when it is off.
    pub fn severity(&self, rule: &str) -> Option<Severity> {
        if let Some(over) = self.overrides.get(rule) {
            return *over;
        }
        RULES.iter().find(|r| r.id == rule).map(|r| r.default)
    }
}

/// Checks `contract` against every rule `rules` leaves on; findings in document order per
/// rule, rules in [`RULES`] order.
pub fn lint(contract: &Contract, rules: &RuleSet) -> Vec<Finding> {
    let mut out = Findings::default();
    let doc = &contract.document;
    document::check(doc, &mut out);
    operations::check(doc, &mut out);
    if rules.severity(operations::EXAMPLE_VALID).is_some() {
        // Compiles the contract's schemas: skipped when the rule is off.
        operations::valid_examples(contract, &mut out);
    }
    naming::check(doc, &mut out);
    let mut findings: Vec<Finding> = out
        .0
        .into_iter()
        .filter_map(|(rule, pointer, message)| {
            rules.severity(rule).map(|severity| Finding {
                rule,
                severity,
                pointer,
                message,
            })
        })
        .collect();
    let order = |id: &str| RULES.iter().position(|r| r.id == id).unwrap_or(usize::MAX);
    findings.sort_by_key(|f| order(f.rule));
    findings
}

/// Findings as rules report them: rule id, pointer, message.
#[derive(Debug, Default)]
pub(crate) struct Findings(Vec<(&'static str, String, String)>);

impl Findings {
    fn push(&mut self, rule: &'static str, pointer: String, message: impl Into<String>) {
        self.0.push((rule, pointer, message.into()));
    }
}

/// The `#/…` pointer of `segments` (unescaped tokens).
pub(crate) fn pointer<S: AsRef<str>>(segments: &[S]) -> String {
    let mut out = String::from("#");
    for s in segments {
        out.push('/');
        crate::pointer::push_escaped(&mut out, s.as_ref());
    }
    out
}

/// `pointer` extended by `segments`.
pub(crate) fn child<S: AsRef<str>>(pointer: &str, segments: &[S]) -> String {
    let mut out = pointer.to_owned();
    for s in segments {
        out.push('/');
        crate::pointer::push_escaped(&mut out, s.as_ref());
    }
    out
}

/// `value`, or, when it is a `$ref` kept by the loader (a recursive target), the value that
/// reference points at inside `doc`.
pub(crate) fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let target = value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(crate::pointer::percent_decode)
        .and_then(|p| crate::pointer::lookup(doc, &p));
    target.unwrap_or(value)
}

/// A non-blank string at `key` of `value`.
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests;
