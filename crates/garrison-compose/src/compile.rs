//! Compiling a check: every expression parsed once, and every step reference checked.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::{Env, Program};

use crate::definition::{CallDefinition, CheckDefinition, RefusalKind};
use crate::error::{CompileError, Field, Site};

/// The variables an expression may read.
const VARIABLES: &[&str] = &["request", "steps", "today"];

/// Words CEL reserves, which cannot follow `steps.`.
const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "false",
    "for",
    "function",
    "if",
    "import",
    "in",
    "let",
    "loop",
    "package",
    "namespace",
    "null",
    "return",
    "true",
    "var",
    "void",
    "while",
];

/// A check ready to run: built once per configuration, shared by every request.
pub struct CompiledCheck {
    pub(crate) name: String,
    pub(crate) env: Arc<Env>,
    pub(crate) steps: Vec<Vec<CompiledCall>>,
    pub(crate) decision: Expression,
    pub(crate) refusals: Vec<CompiledRefusal>,
}

/// A refusal, its condition compiled.
#[derive(Debug)]
pub(crate) struct CompiledRefusal {
    pub(crate) when: Expression,
    pub(crate) kind: RefusalKind,
    pub(crate) detail: Option<String>,
}

/// One call, its expressions compiled.
#[derive(Debug)]
pub(crate) struct CompiledCall {
    pub(crate) name: String,
    pub(crate) operation: String,
    pub(crate) when: Option<Expression>,
    pub(crate) path: Vec<(String, Expression)>,
    pub(crate) query: Vec<(String, Expression)>,
    pub(crate) body: Option<Expression>,
}

/// A compiled expression, with its source and where it is written (for error messages).
#[derive(Debug)]
pub(crate) struct Expression {
    pub(crate) program: Program,
    pub(crate) source: String,
    pub(crate) site: Site,
    /// The first step group it can be evaluated before: one past the last group it reads
    /// (0 when it reads no step).
    pub(crate) ready: usize,
}

impl std::fmt::Debug for CompiledCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The CEL environment is not `Debug`, and says nothing about this check.
        f.debug_struct("CompiledCheck")
            .field("name", &self.name)
            .field("steps", &self.steps)
            .field("decision", &self.decision)
            .field("refusals", &self.refusals)
            .finish_non_exhaustive()
    }
}

impl CompiledCheck {
    /// The check's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Compiles a check: parses every expression, and checks that step names are unique
/// identifiers, that expressions read only `request`, `today` and `steps.<name>`, and that a
/// step is read only by what is evaluated after it has finished.
///
/// References are found by walking each expression's parsed syntax tree, with the variables
/// that macros such as `exists` bind kept in scope, so `steps` in a string literal is not a
/// reference and `claims.exists(c, c.x)` reads no variable `c`.
pub fn compile(def: &CheckDefinition) -> Result<CompiledCheck, CompileError> {
    let check = def.name.as_str();
    // Which group each step runs in: a step may be read from any later group.
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    for (group, step) in def.steps.iter().enumerate() {
        for call in step.calls() {
            if !is_identifier(&call.name) {
                return Err(CompileError::InvalidStepName {
                    check: check.to_owned(),
                    step: call.name.clone(),
                });
            }
            if group_of.insert(call.name.as_str(), group).is_some() {
                return Err(CompileError::DuplicateStep {
                    check: check.to_owned(),
                    step: call.name.clone(),
                });
            }
        }
    }
    let compiler = Compiler {
        check,
        env: Env::stdlib(),
        group_of,
    };
    let steps = def
        .steps
        .iter()
        .enumerate()
        .map(|(group, step)| {
            step.calls()
                .iter()
                .map(|call| compiler.call(call, group))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let decision = compiler.expression(
        &def.decision,
        Site {
            step: None,
            field: Field::Decision,
        },
        def.steps.len(),
    )?;
    let refusals = def
        .refusals
        .iter()
        .enumerate()
        .map(|(index, refusal)| {
            let site = Site {
                step: None,
                field: Field::Refusal(index),
            };
            Ok(CompiledRefusal {
                when: compiler.expression(&refusal.when, site, def.steps.len())?,
                kind: refusal.kind,
                detail: refusal.detail.clone(),
            })
        })
        .collect::<Result<Vec<_>, CompileError>>()?;
    Ok(CompiledCheck {
        name: def.name.clone(),
        env: Arc::new(compiler.env),
        steps,
        decision,
        refusals,
    })
}

struct Compiler<'a> {
    check: &'a str,
    env: Env,
    group_of: HashMap<&'a str, usize>,
}

impl Compiler<'_> {
    fn call(&self, call: &CallDefinition, group: usize) -> Result<CompiledCall, CompileError> {
        let site = |field| Site {
            step: Some(call.name.clone()),
            field,
        };
        let params = |params: &[(String, String)], field: fn(String) -> Field| {
            params
                .iter()
                .map(|(name, source)| {
                    let compiled = self.expression(source, site(field(name.clone())), group)?;
                    Ok((name.clone(), compiled))
                })
                .collect::<Result<Vec<_>, CompileError>>()
        };
        Ok(CompiledCall {
            name: call.name.clone(),
            operation: call.operation.clone(),
            when: call
                .when
                .as_deref()
                .map(|source| self.expression(source, site(Field::When), group))
                .transpose()?,
            path: params(&call.path, Field::Path)?,
            query: params(&call.query, Field::Query)?,
            body: call
                .body
                .as_deref()
                .map(|source| self.expression(source, site(Field::Body), group))
                .transpose()?,
        })
    }

    /// Compiles an expression evaluated before step group `group` runs: it may read the steps
    /// of earlier groups only.
    fn expression(
        &self,
        source: &str,
        site: Site,
        group: usize,
    ) -> Result<Expression, CompileError> {
        let program = self
            .env
            .compile(source)
            .map_err(|errors| CompileError::Syntax {
                check: self.check.to_owned(),
                site: site.clone(),
                message: errors.to_string(),
            })?;
        let mut references = References::default();
        walk(program.expression(), &mut Vec::new(), &mut references);
        let error = |kind: fn(String, Site, String) -> CompileError, name: &str| {
            kind(self.check.to_owned(), site.clone(), name.to_owned())
        };
        if let Some(name) = references.unknown.first() {
            return Err(error(
                |check, site, name| CompileError::UnknownVariable { check, site, name },
                name,
            ));
        }
        if references.bare_steps {
            return Err(CompileError::StepsNotSelected {
                check: self.check.to_owned(),
                site,
            });
        }
        let mut ready = 0;
        for name in &references.steps {
            match self.group_of.get(name.as_str()) {
                None => {
                    return Err(error(
                        |check, site, name| CompileError::UnknownStep { check, site, name },
                        name,
                    ));
                }
                Some(&step_group) if step_group >= group => {
                    return Err(error(
                        |check, site, name| CompileError::ForwardReference { check, site, name },
                        name,
                    ));
                }
                Some(&step_group) => ready = ready.max(step_group + 1),
            }
        }
        Ok(Expression {
            program,
            source: source.to_owned(),
            site,
            ready,
        })
    }
}

/// What an expression reads, outside the variables its macros bind.
#[derive(Default)]
struct References {
    /// Variables other than `request`, `steps` and `today`.
    unknown: Vec<String>,
    /// The `<name>` of every `steps.<name>`, including in `has(steps.<name>)`.
    steps: Vec<String>,
    /// `steps` used any other way (`steps['x']`, `steps` alone, …).
    bare_steps: bool,
}

/// Collects the references of `expr`; `bound` holds the variables bound by the enclosing
/// comprehensions (the expansions of `all`, `exists`, `map`, …).
fn walk(expr: &IdedExpr, bound: &mut Vec<String>, references: &mut References) {
    match &expr.expr {
        Expr::Ident(name) => {
            if bound.iter().any(|b| b == name) {
                return;
            }
            if name == "steps" {
                references.bare_steps = true;
            } else if !VARIABLES.contains(&name.as_str()) {
                references.unknown.push(name.clone());
            }
        }
        Expr::Select(select) => match &select.operand.expr {
            Expr::Ident(name) if name == "steps" && !bound.iter().any(|b| b == name) => {
                references.steps.push(select.field.clone());
            }
            _ => walk(&select.operand, bound, references),
        },
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                walk(target, bound, references);
            }
            for arg in &call.args {
                walk(arg, bound, references);
            }
        }
        Expr::Comprehension(comprehension) => {
            // The range and the accumulator's initial value are evaluated outside the loop.
            walk(&comprehension.iter_range, bound, references);
            walk(&comprehension.accu_init, bound, references);
            let depth = bound.len();
            bound.push(comprehension.iter_var.clone());
            bound.extend(comprehension.iter_var2.iter().cloned());
            bound.push(comprehension.accu_var.clone());
            walk(&comprehension.loop_cond, bound, references);
            walk(&comprehension.loop_step, bound, references);
            walk(&comprehension.result, bound, references);
            bound.truncate(depth);
        }
        Expr::List(list) => {
            for element in &list.elements {
                walk(element, bound, references);
            }
        }
        Expr::Map(map) => walk_entries(&map.entries, bound, references),
        Expr::Struct(structure) => walk_entries(&structure.entries, bound, references),
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn walk_entries(
    entries: &[cel::common::ast::IdedEntryExpr],
    bound: &mut Vec<String>,
    references: &mut References,
) {
    for entry in entries {
        match &entry.expr {
            EntryExpr::MapEntry(entry) => {
                walk(&entry.key, bound, references);
                walk(&entry.value, bound, references);
            }
            EntryExpr::StructField(field) => walk(&field.value, bound, references),
        }
    }
}

/// Whether `name` can follow `steps.` in CEL.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name)
}
