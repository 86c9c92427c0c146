//! Diff: breaking-change detection between two versions of a contract.
//!
//! [`diff`] compares two resolved documents (as [`crate::load`] returns them) and reports every
//! [`Change`] with a [`Level`], a stable check id (see [`CHECKS`]), the document it points into
//! ([`Side`]) and a `#/…` JSON pointer. Operations are matched by path and method, parameters by
//! `name` and `in`, responses by status code and media type; schemas are walked recursively
//! through `properties`, `items`, `additionalProperties` and `allOf`/`oneOf`/`anyOf` (the
//! latter compared by index). A `$ref` the loader kept (a recursive schema) is followed inside
//! its own document, and each pair of schemas is compared once, which stops cycles.

mod operations;
mod report;
mod schema;

use std::collections::HashSet;
use std::fmt;

use serde_json::Value;

pub use report::{DiffReport, diff_files};

/// How much a change matters to existing clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Level {
    /// Existing clients can fail.
    Breaking,
    /// Existing clients may misbehave, or should act.
    Warning,
    /// Safe for existing clients.
    Info,
}

impl Level {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Breaking => "breaking",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which document a change's pointer is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The old contract (for something removed).
    Old,
    /// The new contract (for something added or changed).
    New,
}

impl Side {
    /// `old` or `new`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Old => "old",
            Side::New => "new",
        }
    }
}

/// A diff check: its stable id, level and what it detects.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable id, as in output.
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// One line: what it detects.
    pub summary: &'static str,
}

const fn check(id: &'static str, level: Level, summary: &'static str) -> Check {
    Check { id, level, summary }
}

/// Every check, in the order they are documented.
pub const CHECKS: &[Check] = &[
    check("path-removed", Level::Breaking, "a path was removed"),
    check(
        "operation-removed",
        Level::Breaking,
        "an operation was removed",
    ),
    check(
        "response-status-removed",
        Level::Breaking,
        "a 2xx response status was removed",
    ),
    check(
        "response-content-type-removed",
        Level::Breaking,
        "a response media type was removed",
    ),
    check(
        "response-property-removed",
        Level::Breaking,
        "a response property was removed",
    ),
    check(
        "response-enum-value-removed",
        Level::Breaking,
        "an enum value of a response schema was removed",
    ),
    check(
        "request-enum-value-removed",
        Level::Breaking,
        "an enum value of a request schema was removed",
    ),
    check(
        "parameter-added-required",
        Level::Breaking,
        "a new required parameter",
    ),
    check(
        "parameter-made-required",
        Level::Breaking,
        "an optional parameter became required",
    ),
    check(
        "request-body-made-required",
        Level::Breaking,
        "the request body became required",
    ),
    check(
        "request-property-added-required",
        Level::Breaking,
        "a new required request property",
    ),
    check(
        "request-property-made-required",
        Level::Breaking,
        "an optional request property became required",
    ),
    check(
        "type-changed",
        Level::Breaking,
        "a schema type changed incompatibly",
    ),
    check(
        "format-changed",
        Level::Breaking,
        "a schema format changed or was narrowed",
    ),
    check(
        "request-limit-narrowed",
        Level::Breaking,
        "a request limit was narrowed",
    ),
    check(
        "security-changed",
        Level::Breaking,
        "the security requirements demand more",
    ),
    check(
        "request-content-type-removed",
        Level::Breaking,
        "a request media type was removed",
    ),
    check(
        "response-limit-widened",
        Level::Warning,
        "a response limit was widened",
    ),
    check(
        "response-enum-value-added",
        Level::Warning,
        "an enum value was added to a response schema",
    ),
    check(
        "response-property-made-optional",
        Level::Warning,
        "a required response property became optional",
    ),
    check(
        "parameter-default-changed",
        Level::Warning,
        "an optional parameter's default changed",
    ),
    check(
        "parameter-removed",
        Level::Warning,
        "a parameter was removed",
    ),
    check(
        "request-property-removed",
        Level::Warning,
        "a request property was removed",
    ),
    check(
        "operation-deprecated",
        Level::Warning,
        "an operation was deprecated",
    ),
    check("path-added", Level::Info, "a path was added"),
    check("operation-added", Level::Info, "an operation was added"),
    check(
        "parameter-added",
        Level::Info,
        "an optional parameter was added",
    ),
    check(
        "request-property-added",
        Level::Info,
        "an optional request property was added",
    ),
    check(
        "response-property-added",
        Level::Info,
        "a response property was added",
    ),
    check(
        "request-enum-value-added",
        Level::Info,
        "an enum value was added to a request schema",
    ),
];

/// One difference between the old and the new contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The check id (one of [`CHECKS`]).
    pub check: &'static str,
    /// Its level.
    pub level: Level,
    /// The document `pointer` is in.
    pub side: Side,
    /// Where, as a `#/…` JSON pointer.
    pub pointer: String,
    /// What changed.
    pub message: String,
}

/// Compares two resolved contract documents; changes ordered by level, then as found.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut cx = Cx {
        old,
        new,
        out: Vec::new(),
        seen: HashSet::new(),
    };
    operations::paths(&mut cx);
    let mut changes = cx.out;
    changes.sort_by_key(|c| c.level);
    changes
}

/// Where the walk is: pointers into both documents.
#[derive(Debug, Clone)]
pub(crate) struct At {
    pub(crate) old: String,
    pub(crate) new: String,
}

impl At {
    pub(crate) fn child<S: AsRef<str>>(&self, segments: &[S]) -> At {
        At {
            old: crate::lint::child(&self.old, segments),
            new: crate::lint::child(&self.new, segments),
        }
    }
}

/// The comparison in progress.
pub(crate) struct Cx<'a> {
    pub(crate) old: &'a Value,
    pub(crate) new: &'a Value,
    out: Vec<Change>,
    /// Pairs of schemas (by address) already compared: stops recursive schemas.
    pub(crate) seen: HashSet<(usize, usize)>,
}

impl Cx<'_> {
    pub(crate) fn push(&mut self, check: &'static str, side: Side, pointer: &str, message: String) {
        let level = CHECKS
            .iter()
            .find(|c| c.id == check)
            .map_or(Level::Info, |c| c.level);
        self.out.push(Change {
            check,
            level,
            side,
            pointer: pointer.to_owned(),
            message,
        });
    }
}

/// `value`, with kept `$ref`s followed inside `doc` (at most a few hops).
pub(crate) fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let next = crate::lint::deref(doc, value);
        if std::ptr::eq(next, value) {
            break;
        }
        value = next;
    }
    value
}

#[cfg(test)]
mod tests;
