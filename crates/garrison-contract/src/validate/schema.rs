//! Schemas to compiled validators, and validation errors to [`Violation`]s.
//!
//! Every schema is normalised to JSON Schema 2020-12 and compiled once. The loaded contract may
//! still hold `$ref`s to recursive targets (`#/components/schemas/Node`, `#/$defs/name`,
//! or any `#/…` of the document): those pointers are document-absolute, so each schema holding
//! one is compiled with a *skeleton* of the document beside it — its `components`, `$defs` or
//! `paths` keys holding only the (normalised) targets the schema can reach — which makes every
//! such `$ref` resolve inside the schema's own resource, with no network or file access.

use std::collections::HashSet;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, ValidationOptions, Validator};
use serde_json::{Map, Value};

use super::{CompileError, Violation};
use crate::pointer::{escape_segment, lookup, percent_decode};
use crate::{Contract, normalise_schema};

/// Compiles the schemas of one contract.
pub(super) struct SchemaCompiler<'a> {
    contract: &'a Contract,
    options: ValidationOptions<'static>,
}

impl<'a> SchemaCompiler<'a> {
    pub(super) fn new(contract: &'a Contract) -> Self {
        let options = jsonschema::options()
            .with_draft(Draft::Draft202012)
            // Formats are assertions here: a contract saying `format: date` means it.
            .should_validate_formats(true)
            // OpenAPI's own formats (int32, byte, password, …) are not JSON Schema's.
            .should_ignore_unknown_formats(true)
            // Belt and braces beside the disabled `resolve-http`/`resolve-file` features: a
            // contract must never make the gateway fetch anything.
            .offline();
        Self { contract, options }
    }

    pub(super) fn error(&self, pointer: &str, message: impl Into<String>) -> CompileError {
        CompileError {
            file: self.contract.file.clone(),
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }

    /// Normalises `schema` (found at `pointer`) and compiles it; returns the validator and the
    /// normalised schema.
    pub(super) fn compile(
        &self,
        schema: &Value,
        pointer: &str,
    ) -> Result<(Validator, Value), CompileError> {
        let normalised = normalise_schema(schema, self.contract.version);
        let built = match self.reachable_targets(&normalised, pointer)? {
            None => self.options.build(&normalised),
            Some(skeleton) => {
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
                self.options.build(&wrapped)
            }
        };
        let validator =
            built.map_err(|e| self.error(pointer, format!("the schema does not compile: {e}")))?;
        Ok((validator, normalised))
    }

    /// The document skeleton holding every `$ref` target `schema` can reach, normalised; `None`
    /// when it holds no `$ref`.
    fn reachable_targets(
        &self,
        schema: &Value,
        pointer: &str,
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
            let normalised = normalise_schema(target, self.contract.version);
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
