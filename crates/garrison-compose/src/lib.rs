//! Composed checks for Garrison.
//!
//! A check answers a cross-organisation question ("is this child eligible for free school
//! meals?") with the minimum of data, by composing calls to small granular APIs: match a citizen
//! to an opaque id, read that id's claims, decide. A check is declared in configuration, not
//! written in code: a [`CheckDefinition`] lists sequential and parallel steps, the values each
//! passes to the next, and a decision rule, all as expressions in the Common Expression Language
//! (CEL). [`compile`] parses and checks a definition once; [`CompiledCheck::run`] runs it for a
//! request, making its calls through a [`Caller`].
//!
//! Expressions read three variables: `request` (the check's JSON request body), `today`
//! (`YYYY-MM-DD`) and `steps` (`steps.<name>` is `{status, body, skipped}` for every step that
//! has finished), and may call CEL's standard library (`size`, `in`, `has`, the `all`, `exists`,
//! `exists_one`, `filter` and `map` macros, …) and these helpers, called as functions:
//!
//! | function | result |
//! |---|---|
//! | `lastFour(string)` | the last four characters (all of them when there are fewer) |
//! | `digits(string)` | the ASCII digits only: `lastFour(digits('QQ123456C'))` is `'3456'` |
//! | `upper(string)` | upper case |
//! | `normalise(string)` | upper case with all white space removed, for NI numbers and postcodes |
//! | `addDays(date, int)` | a `YYYY-MM-DD` date moved by a number of days, either way |
//! | `addMonths(date, int)` | a `YYYY-MM-DD` date moved by whole months, the day clamped to the end of a shorter month: `addMonths('2026-05-31', -3)` is `'2026-02-28'` |
//! | `sum(list)` | the sum of a list of numbers: an `int` when all are ints (0 when empty), else a `double` |
//!
//! Dates are `YYYY-MM-DD` strings, which compare correctly as strings.
//!
//! This crate is the engine only: it knows nothing of HTTP, credentials, YAML or the
//! configuration files. The gateway parses the configuration into definitions and implements
//! [`Caller`] with its HTTP client. Errors never carry values from the request or a response,
//! which may be personal data.

mod calendar;
mod caller;
mod compile;
mod convert;
mod definition;
mod error;
mod functions;
mod run;

#[cfg(test)]
mod tests;

pub use calendar::uk_date;
pub use caller::{CallError, CallRequest, CallResponse, Caller};
pub use compile::{CompiledCheck, compile};
pub use definition::{
    CallDefinition, CheckDefinition, RefusalDefinition, RefusalKind, StepDefinition,
};
pub use error::{CompileError, Field, RunError, Site};
pub use run::{Outcome, StepRecord};
