//! Schemas to compiled validators, and validation errors to [`Violation`]s.
//!
//! Every schema is normalised to JSON Schema 2020-12 and compiled once. The loaded contract may
//! still hold `$ref`s to recursive targets (`#/components/schemas/Node`, `#/$defs/name`,
//! or any `#/…` of the document): those pointers are document-absolute, so each schema holding
//! one is compiled with a *skeleton* of the document beside it — its `components`, `$defs` or
//! `paths` keys holding only the (normalised) targets the schema can reach — which makes every
//! such `$ref` resolve inside the schema's own resource, with no network or file access.
//!
//! The loader inlines every non-recursive `$ref`, so a component used by many operations
//! reaches the compiler as many equal copies: compiled schemas are kept by content, and an
//! equal schema shares the validator already built (a `Validator` is reference-counted
//! inside, and validation never depends on where the schema was written).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, Retrieve, ValidationOptions, Validator};
use serde_json::{Map, Value};

use super::instance::Borrowed;
use super::{CompileError, Violation};
use crate::Contract;
use crate::generate::Direction;
use crate::normalise::normalise_for;
use crate::pointer::{escape_segment, lookup, percent_decode};

/// Compiles the schemas of one contract.
pub(super) struct SchemaCompiler<'a> {
    contract: &'a Contract,
    options: ValidationOptions<'static>,
    /// The same options for [`Instance`](super::instance::Instance) bodies.
    body_options: ValidationOptions<'static, Arc<dyn Retrieve>, Borrowed>,
    /// Schemas compiled so far, by [`content_hash`]; equal hashes are told apart by equality.
    compiled: RefCell<HashMap<u64, Vec<Compiled>>>,
}

/// One schema as written, what it compiled to and its normalised form.
struct Compiled {
    schema: Value,
    /// The messages it checks: in OAS 3.0, what `required` means depends on it.
    direction: Direction,
    /// The normalised schema with the skeleton of its `$ref` targets: what is compiled.
    resource: Value,
    validator: Validator,
    /// Built on first use for a body.
    body: Option<Validator<Borrowed>>,
    normalised: Rc<Value>,
}

/// A body schema compiled twice: `quick` checks an [`Instance`](super::instance::Instance)
/// and `full`, with the same outcome, describes what is wrong with a `Value`.
#[derive(Clone)]
pub(super) struct BodyValidator {
    pub(super) quick: Validator<Borrowed>,
    pub(super) full: Validator,
}

impl<'a> SchemaCompiler<'a> {
    pub(super) fn new(contract: &'a Contract) -> Self {
        // Formats are assertions here: a contract saying `format: date` means it.
        // OpenAPI's own formats (int32, byte, password, …) are not JSON Schema's.
        // `offline` is belt and braces beside the disabled `resolve-http`/`resolve-file`
        // features: a contract must never make the gateway fetch anything.
        let options = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .offline();
        let body_options = jsonschema::options_for::<Borrowed>()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .offline();
        Self {
            contract,
            options,
            body_options,
            compiled: RefCell::new(HashMap::new()),
        }
    }

    pub(super) fn error(&self, pointer: &str, message: impl Into<String>) -> CompileError {
        CompileError {
            file: self.contract.file.clone(),
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }

    /// Normalises `schema` (found at `pointer`) and compiles it, or reuses the validator of an
    /// equal schema compiled before; returns the validator and the normalised schema.
    pub(super) fn compile(
        &self,
        schema: &Value,
        pointer: &str,
    ) -> Result<(Validator, Rc<Value>), CompileError> {
        self.with_compiled(schema, pointer, Direction::Any, |c| {
            Ok((c.validator.clone(), c.normalised.clone()))
        })
    }

    /// [`compile`](Self::compile) for the body schema of a request or of a response.
    pub(super) fn compile_body(
        &self,
        schema: &Value,
        pointer: &str,
        direction: Direction,
    ) -> Result<BodyValidator, CompileError> {
        self.with_compiled(schema, pointer, direction, |c| {
            let quick = match &c.body {
                Some(quick) => quick.clone(),
                None => {
                    let quick = self.body_options.build(&c.resource).map_err(|e| {
                        self.error(pointer, format!("the schema does not compile: {e}"))
                    })?;
                    c.body = Some(quick.clone());
                    quick
                }
            };
            Ok(BodyValidator {
                quick,
                full: c.validator.clone(),
            })
        })
    }

    /// Calls `f` with the compiled form of `schema`, compiling it unless an equal schema was.
    fn with_compiled<T>(
        &self,
        schema: &Value,
        pointer: &str,
        direction: Direction,
        f: impl FnOnce(&mut Compiled) -> Result<T, CompileError>,
    ) -> Result<T, CompileError> {
        // In 3.1 the direction changes nothing: one validator serves requests and responses.
        let direction = if self.contract.version == crate::OpenApiVersion::V3_1 {
            Direction::Any
        } else {
            direction
        };
        let hash = content_hash(schema);
        let mut compiled = self.compiled.borrow_mut();
        let list = compiled.entry(hash).or_default();
        if let Some(hit) = list
            .iter_mut()
            .find(|c| c.direction == direction && c.schema == *schema)
        {
            return f(hit);
        }
        let (resource, normalised) = self.resource(schema, pointer, direction)?;
        let validator = self
            .options
            .build(&resource)
            .map_err(|e| self.error(pointer, format!("the schema does not compile: {e}")))?;
        list.push(Compiled {
            schema: schema.clone(),
            direction,
            resource,
            validator,
            body: None,
            normalised: Rc::new(normalised),
        });
        let last = list.len() - 1;
        f(&mut list[last])
    }

    /// What `schema` compiles as: normalised, with the skeleton of the document holding its
    /// `$ref` targets beside it; and the normalised schema alone.
    fn resource(
        &self,
        schema: &Value,
        pointer: &str,
        direction: Direction,
    ) -> Result<(Value, Value), CompileError> {
        let document = Some(&self.contract.document);
        let normalised = normalise_for(schema, self.contract.version, direction, document);
        let Some(skeleton) = self.reachable_targets(&normalised, pointer, direction)? else {
            return Ok((normalised.clone(), normalised));
        };
        let mut wrapped = normalised.clone();
        if let Value::Object(root) = &mut wrapped {
            for (key, value) in skeleton {
                match (root.get_mut(&key), value) {
                    (Some(Value::Object(existing)), Value::Object(extra)) => {
                        existing.extend(extra);
                    }
                    (_, value) => {
                        root.insert(key, value);
                    }
                }
            }
        }
        Ok((wrapped, normalised))
    }

    /// The document skeleton holding every `$ref` target `schema` can reach, normalised; `None`
    /// when it holds no `$ref`.
    fn reachable_targets(
        &self,
        schema: &Value,
        pointer: &str,
        direction: Direction,
    ) -> Result<Option<Map<String, Value>>, CompileError> {
        let mut pending = Vec::new();
        collect_refs(schema, &mut pending);
        if pending.is_empty() {
            return Ok(None);
        }
        let doc = &self.contract.document;
        let mut seen = HashSet::new();
        let mut targets = Vec::new();
        while let Some(reference) = pending.pop() {
            if !seen.insert(reference.clone()) {
                continue;
            }
            let target = reference
                .strip_prefix('#')
                .and_then(percent_decode)
                .filter(|p| !p.is_empty())
                .and_then(|p| lookup(doc, &p).map(|t| (p, t)));
            let Some((target_pointer, target)) = target else {
                return Err(self.error(
                    pointer,
                    format!("$ref {reference:?} does not point inside the contract"),
                ));
            };
            let normalised = normalise_for(target, self.contract.version, direction, Some(doc));
            collect_refs(&normalised, &mut pending);
            targets.push((target_pointer, normalised));
        }
        // Shallow targets first, so a deeper one is written into (not over) its container.
        targets.sort_by_key(|(p, _)| p.matches('/').count());
        let mut skeleton = Value::Object(Map::new());
        for (target_pointer, value) in targets {
            insert_at(&mut skeleton, &target_pointer, value);
        }
        match skeleton {
            Value::Object(map) => Ok(Some(map)),
            _ => Ok(None),
        }
    }
}

/// A hash of `value`'s content: equal values hash alike, and a hit is confirmed by equality.
fn content_hash(value: &Value) -> u64 {
    fn feed(value: &Value, state: &mut FxHasher) {
        match value {
            Value::Null => 0u8.hash(state),
            Value::Bool(b) => (1u8, b).hash(state),
            Value::Number(n) => (2u8, n).hash(state),
            Value::String(s) => (3u8, s).hash(state),
            Value::Array(items) => {
                (4u8, items.len()).hash(state);
                items.iter().for_each(|item| feed(item, state));
            }
            Value::Object(map) => {
                (5u8, map.len()).hash(state);
                for (key, item) in map {
                    key.hash(state);
                    feed(item, state);
                }
            }
        }
    }
    let mut state = FxHasher(0);
    feed(value, &mut state);
    state.finish()
}

/// rustc's FxHash: a word at a time, several times cheaper than SipHash on the many short
/// strings of a schema. Not collision-resistant, which is harmless here: the contract is
/// the operator's, and a collision costs only an equality test.
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every `$ref` string in `value` that is a fragment of this document.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::String(r) if key == "$ref" && r.starts_with('#') => out.push(r.clone()),
                    _ => collect_refs(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

/// Writes `value` at JSON pointer `pointer` (`/a/b`) of `root`, creating objects on the way.
fn insert_at(root: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| crate::pointer::unescape_segment(t).unwrap_or_else(|| t.to_owned()))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut here = root;
    for token in parents {
        here = match here {
            Value::Array(items) => match token.parse::<usize>() {
                Ok(i) if i < items.len() => &mut items[i],
                _ => return,
            },
            other => {
                if !other.is_object() {
                    *other = Value::Object(Map::new());
                }
                match other {
                    Value::Object(map) => map
                        .entry(token.clone())
                        .or_insert_with(|| Value::Object(Map::new())),
                    _ => return,
                }
            }
        };
    }
    match here {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(items) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items[i] = value;
            }
        }
        other => {
            let mut map = Map::new();
            map.insert(last.clone(), value);
            *other = Value::Object(map);
        }
    }
}

/// Appends a violation for every error of `instance` against `validator`, each located at
/// `prefix` followed by the instance's JSON pointer.
pub(super) fn collect_violations(
    validator: &Validator,
    instance: &Value,
    prefix: &str,
    out: &mut Vec<Violation>,
) {
    for error in validator.iter_errors(instance) {
        let at = format!("{prefix}{}", error.instance_path().as_str());
        let kind = error.kind();
        let rule = kind.keyword();
        match kind {
            // One violation per offending property, located at it: a consumer fixes them one
            // by one. The name is the schema's (`required`) or structure (`additional…`), not
            // a value.
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                for name in unexpected {
                    out.push(Violation::new(
                        format!("{at}/{}", escape_segment(name)),
                        rule,
                        "this property is not allowed",
                    ));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                out.push(Violation::new(
                    format!("{at}/{}", escape_segment(name)),
                    rule,
                    "this property is required",
                ));
            }
            // `false` is a schema, not a keyword: name the keyword holding it (`items`,
            // `additionalProperties`, …), as the consumer wrote no `false`.
            ValidationErrorKind::FalseSchema => {
                let path = error.schema_path().as_str();
                let holder = path
                    .rsplit('/')
                    .find(|segment| {
                        !segment.is_empty() && !segment.bytes().all(|b| b.is_ascii_digit())
                    })
                    .unwrap_or("false");
                out.push(Violation::new(at, holder, describe(kind)));
            }
            _ => out.push(Violation::new(at, rule, describe(kind))),
        }
    }
}

/// A short sentence for `kind` that never repeats the instance value (it may be personal
/// data); limits and options come from the schema and may be named.
fn describe(kind: &ValidationErrorKind) -> String {
    use ValidationErrorKind as K;
    match kind {
        K::Type { kind } => match kind {
            TypeKind::Single(t) => format!("must be of type {t}"),
            TypeKind::Multiple(set) => {
                let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
                format!("must be of one of the types {}", names.join(", "))
            }
        },
        K::Format { format } => format!("must be a valid {format}"),
        K::Enum { .. } => "must be one of the allowed values".to_owned(),
        K::Constant { .. } => "must equal the value the schema fixes".to_owned(),
        K::Maximum { limit } => format!("must be at most {limit}"),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
        K::MaxLength { limit } => format!("must be at most {limit} characters long"),
        K::MinLength { limit } => format!("must be at least {limit} characters long"),
        K::MaxItems { limit } => format!("must have at most {limit} items"),
        K::MinItems { limit } => format!("must have at least {limit} items"),
        K::MaxProperties { limit } => format!("must have at most {limit} properties"),
        K::MinProperties { limit } => format!("must have at least {limit} properties"),
        K::MultipleOf { multiple_of } => format!("must be a multiple of {multiple_of}"),
        K::Pattern { pattern } => format!("must match the pattern {pattern}"),
        K::UniqueItems => "must not contain duplicate items".to_owned(),
        K::Contains => "must contain an item matching the schema".to_owned(),
        K::OneOfNotValid { .. } => "must match exactly one of the alternatives".to_owned(),
        K::OneOfMultipleValid { .. } => {
            "matches more than one alternative where exactly one is allowed".to_owned()
        }
        K::AnyOf { .. } => "must match at least one of the alternatives".to_owned(),
        K::Not { .. } => "must not match the excluded schema".to_owned(),
        K::FalseSchema => "is not allowed here".to_owned(),
        K::AdditionalItems { limit } => format!("must have at most {limit} items"),
        K::UnevaluatedItems { .. } => "has items the schema does not allow".to_owned(),
        K::PropertyNames { .. } => "has a property name the schema does not allow".to_owned(),
        K::ContentEncoding { content_encoding } => {
            format!("must be encoded as {content_encoding}")
        }
        K::ContentMediaType { content_media_type } => {
            format!("must be a valid {content_media_type} document")
        }
        K::BacktrackLimitExceeded { .. } | K::RegexEngineFailure { .. } => {
            "could not be checked against the pattern".to_owned()
        }
        _ => format!("breaks the `{}` rule of the schema", kind.keyword()),
    }
}
