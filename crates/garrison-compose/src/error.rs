//! What can go wrong compiling or running a check.

use std::fmt;

use crate::{CallError, RefusalKind};

/// Where in a check an expression is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The step, or `None` for the decision.
    pub step: Option<String>,
    /// The field of the step.
    pub field: Field,
}

/// A field of a check that holds an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// A step's `when` condition.
    When,
    /// A step's path parameter.
    Path(String),
    /// A step's query parameter.
    Query(String),
    /// A step's body.
    Body,
    /// The check's decision.
    Decision,
    /// The `when` of the check's refusal with this index (from 0).
    Refusal(usize),
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(step) = &self.step {
            write!(f, "step `{step}`, ")?;
        }
        match &self.field {
            Field::When => f.write_str("`when`"),
            Field::Path(name) => write!(f, "path parameter `{name}`"),
            Field::Query(name) => write!(f, "query parameter `{name}`"),
            Field::Body => f.write_str("`body`"),
            Field::Decision => f.write_str("`decision`"),
            Field::Refusal(index) => write!(f, "`refuse[{index}].when`"),
        }
    }
}

/// A check definition that cannot be compiled. Each names the check, and where it can the step
/// and field; the gateway prefixes the configuration file and line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileError {
    /// An expression is not valid CEL; `message` is CEL's, with the offending line.
    #[error("check `{check}`, {site}: invalid CEL: {message}")]
    Syntax {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
        /// CEL's parse errors.
        message: String,
    },
    /// An expression names a variable other than `request`, `steps` and `today`.
    #[error(
        "check `{check}`, {site}: unknown variable `{name}` (only `request`, `steps` and `today` exist)"
    )]
    UnknownVariable {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
        /// The variable.
        name: String,
    },
    /// An expression uses `steps` other than as `steps.<name>`, so what it reads cannot be known.
    #[error("check `{check}`, {site}: `steps` must be used as `steps.<name>`")]
    StepsNotSelected {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
    },
    /// An expression reads `steps.<name>` of a step the check does not have.
    #[error("check `{check}`, {site}: no step is named `{name}`")]
    UnknownStep {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
        /// The name read.
        name: String,
    },
    /// An expression reads `steps.<name>` of a step that has not finished when it is evaluated:
    /// itself, a later step, or one of its own parallel group.
    #[error("check `{check}`, {site}: step `{name}` has not run yet when this is evaluated")]
    ForwardReference {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
        /// The name read.
        name: String,
    },
    /// Two steps have the same name.
    #[error("check `{check}`: more than one step is named `{step}`")]
    DuplicateStep {
        /// The check.
        check: String,
        /// The name.
        step: String,
    },
    /// A step name is not a CEL identifier, so `steps.<name>` could not be written.
    #[error(
        "check `{check}`: step name `{step}` is not an identifier (letters, digits and `_`, not starting with a digit, not a CEL reserved word)"
    )]
    InvalidStepName {
        /// The check.
        check: String,
        /// The name.
        step: String,
    },
}

impl CompileError {
    /// The expression the error is about, when it is about one.
    pub fn site(&self) -> Option<&Site> {
        match self {
            CompileError::Syntax { site, .. }
            | CompileError::UnknownVariable { site, .. }
            | CompileError::StepsNotSelected { site, .. }
            | CompileError::UnknownStep { site, .. }
            | CompileError::ForwardReference { site, .. } => Some(site),
            CompileError::DuplicateStep { .. } | CompileError::InvalidStepName { .. } => None,
        }
    }
}

/// A check that failed while running. Messages never contain values from the request or from a
/// response: they may be personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// An expression failed to evaluate.
    #[error("check `{check}`, {site}: {message}")]
    Evaluation {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
        /// What failed, without the values involved.
        message: String,
    },
    /// An expression evaluated to a value of the wrong type for its field: `when` not a bool, a
    /// parameter not a string, number or bool, a body JSON cannot represent.
    #[error("check `{check}`, {site}: evaluated to {found}, expected {expected}")]
    WrongType {
        /// The check.
        check: String,
        /// The expression.
        site: Site,
        /// The CEL type found.
        found: &'static str,
        /// What the field needs.
        expected: &'static str,
    },
    /// A refusal's condition held: the check gives no decision.
    #[error("check `{check}`: refused by `refuse[{index}]` ({kind:?})")]
    Refused {
        /// The check.
        check: String,
        /// Which refusal (from 0).
        index: usize,
        /// What the refusal means.
        kind: RefusalKind,
        /// What the caller is told, if the check says.
        detail: Option<String>,
    },
    /// A call produced no usable response.
    #[error("check `{check}`, step `{step}`: call of `{operation}` failed")]
    Call {
        /// The check.
        check: String,
        /// The step.
        step: String,
        /// The operation called.
        operation: String,
        /// What the caller reported.
        #[source]
        source: CallError,
    },
}
