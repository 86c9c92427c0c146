//! Running a compiled check against a [`Caller`].

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Value};
use futures_util::future::try_join_all;

use crate::compile::{CompiledCall, CompiledCheck, Expression};
use crate::convert::{describe, from_json, map, to_json, type_name};
use crate::error::RunError;
use crate::{CallRequest, Caller};

/// The result of a check.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The decision's value: a JSON object.
    pub answer: serde_json::Value,
    /// Every step, in declaration order, for the audit log.
    pub calls: Vec<StepRecord>,
}

/// What one step did (never what it sent or received).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// The operation called, or that would have been.
    pub operation: String,
    /// The HTTP status of the response; 0 when skipped.
    pub status: u16,
    /// Whether `when` was false, so no call was made.
    pub skipped: bool,
}

/// The values an expression can read.
struct Variables {
    request: Value,
    today: Value,
    /// `steps`: the result of every finished step, by name.
    steps: HashMap<Key, Value>,
}

// === impl CompiledCheck ===

impl CompiledCheck {
    /// Runs the check: the steps in order, the calls of a parallel group concurrently, then the
    /// decision.
    ///
    /// `request` is the check's JSON request body, `today` the date the check is made on
    /// (`YYYY-MM-DD`, passed in so that a check is a function of its inputs). A response of any
    /// status is recorded in `steps.<name>` for later expressions to judge; only a
    /// [`CallError`](crate::CallError) stops the check. Within a parallel group every call's
    /// expressions are evaluated before any call starts, and a failing call cancels the calls
    /// still in flight.
    pub async fn run<C: Caller>(
        &self,
        caller: &C,
        request: serde_json::Value,
        today: &str,
    ) -> Result<Outcome, RunError> {
        let mut variables = Variables {
            request: from_json(&request),
            today: Value::from(today),
            steps: HashMap::new(),
        };
        let mut calls = Vec::new();
        for (index, group) in self.steps.iter().enumerate() {
            // Built and dropped before the calls are awaited: a CEL context is not `Send`.
            let planned = {
                let context = self.context(&variables)?;
                self.refuse(&context, index)?;
                group
                    .iter()
                    .map(|call| self.plan(&context, call))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let responses =
                try_join_all(group.iter().zip(planned).map(|(call, request)| async move {
                    let Some(request) = request else {
                        return Ok(None);
                    };
                    caller
                        .call(&call.operation, request)
                        .await
                        .map(Some)
                        .map_err(|source| RunError::Call {
                            check: self.name.clone(),
                            step: call.name.clone(),
                            operation: call.operation.clone(),
                            source,
                        })
                }))
                .await?;
            for (call, response) in group.iter().zip(responses) {
                let (status, body, skipped) = match response {
                    Some(response) => (response.status, from_json(&response.body), false),
                    None => (0, Value::Null, true),
                };
                let result = map([
                    ("status", Value::Int(i64::from(status))),
                    ("body", body),
                    ("skipped", Value::Bool(skipped)),
                ]);
                variables
                    .steps
                    .insert(Key::String(Arc::new(call.name.clone())), result);
                calls.push(StepRecord {
                    name: call.name.clone(),
                    operation: call.operation.clone(),
                    status,
                    skipped,
                });
            }
        }
        let context = self.context(&variables)?;
        self.refuse(&context, self.steps.len())?;
        let answer = match self.evaluate(&context, &self.decision)? {
            decision @ Value::Map(_) => to_json(&decision).map_err(|found| {
                self.wrong_type(&self.decision, found, "a map JSON can represent")
            })?,
            other => return Err(self.wrong_type(&self.decision, type_name(&other), "a map")),
        };
        Ok(Outcome { answer, calls })
    }

    /// A context holding the variables and the helper functions.
    fn context(&self, variables: &Variables) -> Result<Context<'static, 'static>, RunError> {
        let mut context = Context::with_env(Arc::clone(&self.env));
        // Registration fails only if a helper's name clashes with the standard library's, which
        // the tests would show; report it against the decision rather than panic.
        crate::functions::register(&mut context).map_err(|error| RunError::Evaluation {
            check: self.name.clone(),
            site: self.decision.site.clone(),
            message: error.to_string(),
        })?;
        context.add_variable_from_value("request", variables.request.clone());
        context.add_variable_from_value("today", variables.today.clone());
        context.add_variable_from_value(
            "steps",
            Value::Map(Map {
                map: Arc::new(variables.steps.clone()),
            }),
        );
        Ok(context)
    }

    /// Evaluates the refusals that become decidable before step group `ready` (after the last
    /// group when it is the number of groups), in declaration order: the first that holds ends
    /// the check.
    fn refuse(&self, context: &Context<'_, '_>, ready: usize) -> Result<(), RunError> {
        for (index, refusal) in self.refusals.iter().enumerate() {
            if refusal.when.ready != ready {
                continue;
            }
            match self.evaluate(context, &refusal.when)? {
                Value::Bool(false) => {}
                Value::Bool(true) => {
                    return Err(RunError::Refused {
                        check: self.name.clone(),
                        index,
                        kind: refusal.kind,
                        detail: refusal.detail.clone(),
                    });
                }
                other => return Err(self.wrong_type(&refusal.when, type_name(&other), "a bool")),
            }
        }
        Ok(())
    }

    /// Evaluates a call's expressions: `None` when `when` is false.
    fn plan(
        &self,
        context: &Context<'_, '_>,
        call: &CompiledCall,
    ) -> Result<Option<CallRequest>, RunError> {
        if let Some(when) = &call.when {
            match self.evaluate(context, when)? {
                Value::Bool(true) => {}
                Value::Bool(false) => return Ok(None),
                other => return Err(self.wrong_type(when, type_name(&other), "a bool")),
            }
        }
        let mut request = CallRequest::default();
        for (name, expression) in &call.path {
            match self.evaluate(context, expression)? {
                Value::List(_) | Value::Null => {
                    return Err(self.wrong_type(expression, "a list or null", PARAMETER));
                }
                value => request
                    .path
                    .push((name.clone(), self.parameter(expression, &value)?)),
            }
        }
        for (name, expression) in &call.query {
            match self.evaluate(context, expression)? {
                Value::Null => {}
                Value::List(values) => {
                    for value in values.iter() {
                        request
                            .query
                            .push((name.clone(), self.parameter(expression, value)?));
                    }
                }
                value => request
                    .query
                    .push((name.clone(), self.parameter(expression, &value)?)),
            }
        }
        if let Some(body) = &call.body {
            request.body =
                match self.evaluate(context, body)? {
                    Value::Null => None,
                    value => Some(to_json(&value).map_err(|found| {
                        self.wrong_type(body, found, "a value JSON can represent")
                    })?),
                };
        }
        Ok(Some(request))
    }

    /// The text of a parameter's value.
    fn parameter(&self, expression: &Expression, value: &Value) -> Result<String, RunError> {
        match value {
            Value::String(s) => Ok(s.as_str().to_owned()),
            Value::Int(i) => Ok(i.to_string()),
            Value::UInt(u) => Ok(u.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.wrong_type(expression, type_name(other), PARAMETER)),
        }
    }

    fn evaluate(
        &self,
        context: &Context<'_, '_>,
        expression: &Expression,
    ) -> Result<Value, RunError> {
        expression
            .program
            .execute(context)
            .map_err(|error| RunError::Evaluation {
                check: self.name.clone(),
                site: expression.site.clone(),
                message: describe(&error, &expression.source),
            })
    }

    fn wrong_type(
        &self,
        expression: &Expression,
        found: &'static str,
        expected: &'static str,
    ) -> RunError {
        RunError::WrongType {
            check: self.name.clone(),
            site: expression.site.clone(),
            found,
            expected,
        }
    }
}

const PARAMETER: &str = "a string, number or bool";
