//! What a check is, as declared in configuration.
//!
//! The gateway builds these from its YAML; every expression is CEL source text, compiled once by
//! [`compile`](crate::compile).

/// A check: steps that call granular APIs, then a decision rule over their results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckDefinition {
    /// The check's name, used in error messages.
    pub name: String,
    /// The steps, run in order.
    pub steps: Vec<StepDefinition>,
    /// CEL: evaluates to the check's answer, a map that becomes a JSON object.
    pub decision: String,
    /// When the check answers no decision at all, in order: the first that holds refuses the
    /// request. Each is evaluated as soon as the steps it reads have run — before any call
    /// when it reads only `request` and `today`.
    pub refusals: Vec<RefusalDefinition>,
}

/// A condition under which a check gives no decision: a decision made on a failed call
/// ("not exempt" because the benefit records could not be read) or on a question the records
/// cannot answer would be a wrong answer given with confidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalDefinition {
    /// CEL, a bool: the request is refused when true.
    pub when: String,
    /// What the refusal means to the caller.
    pub kind: RefusalKind,
    /// What the caller is told; the gateway's wording for `kind` when absent. Written in
    /// configuration, so it never holds a value of the request.
    pub detail: Option<String>,
}

/// What a refusal means to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// The request matches the contract but is not one the check can answer (a date in the
    /// future, say): the caller's to change (the gateway answers 422).
    Invalid,
    /// A service the check depends on failed, so no decision can be made: the caller may try
    /// again later (the gateway answers 502).
    Unavailable,
}

/// One step of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepDefinition {
    /// One call, started after every earlier step has finished.
    Call(CallDefinition),
    /// Calls started together; each sees only the steps before the group, and every later step
    /// sees all of them.
    Parallel(Vec<CallDefinition>),
}

/// A call of one operation of a granular API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallDefinition {
    /// The step's name: its result is `steps.<name>` in later expressions. A CEL identifier.
    pub name: String,
    /// The operation to call, opaque to this crate (e.g. `"citizen-match.matchCitizen"`): handed
    /// to the [`Caller`](crate::Caller) as it is.
    pub operation: String,
    /// CEL, a bool: when false the call is skipped and `steps.<name>` is
    /// `{"status": 0, "skipped": true, "body": null}`.
    pub when: Option<String>,
    /// Path parameters: name, then a CEL expression whose value (a string, number or bool) is
    /// the parameter's text.
    pub path: Vec<(String, String)>,
    /// Query parameters: name, then a CEL expression as for `path`; a null value omits the
    /// parameter and a list repeats it once per element.
    pub query: Vec<(String, String)>,
    /// CEL: the JSON body of the call; null or absent sends none.
    pub body: Option<String>,
}

impl StepDefinition {
    /// The calls of this step: one, or those of the parallel group.
    pub fn calls(&self) -> &[CallDefinition] {
        match self {
            StepDefinition::Call(call) => std::slice::from_ref(call),
            StepDefinition::Parallel(calls) => calls,
        }
    }
}
