//! Instances from schemas: [`example`] builds one deterministic instance of a Schema Object,
//! for documentation and mock responses; a [`Generator`] builds random valid instances and
//! instances that break exactly one rule, for dynamic mocks and contract tests.
//!
//! Schemas are read as the loaded contract keeps them: 3.0 keywords (`nullable`, boolean
//! `exclusiveMinimum`, `example`) as well as 3.1 ones, and `$ref`s to recursive targets inside
//! the document, followed with a depth limit so that recursion terminates.
//!
//! Not modelled (the instance may then fail validation): `not`, `if`/`then`/`else`,
//! `patternProperties`, `propertyNames`, `contains`, `dependentRequired`/`dependentSchemas`,
//! and a `oneOf` whose branches overlap (the first or a random branch is built, which another
//! branch might also accept).

mod invalid;
mod pattern;
mod primitive;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

use crate::OpenApiVersion;
use crate::lint::deref;

pub(crate) use pattern::Pattern;
use schema::{allowed_types, merge, required};

/// Past this nesting depth, objects get only their required properties and arrays only their
/// `minItems`: a recursive schema (a tree node with optional children) terminates.
const OPTIONAL_DEPTH: usize = 3;
/// Past this nesting depth, generation gives up (`null`): only a schema that *requires* itself
/// recursively, which no finite instance satisfies, gets here.
const HARD_DEPTH: usize = 24;
/// `$ref` hops followed in a row before a reference is treated as the empty schema.
const REF_HOPS: usize = 16;

/// One deterministic instance of `schema` (of a contract of `version` whose resolved document is
/// `document`): its `const`, `example`/first of `examples`, `default` or first `enum` value when
/// it has one, otherwise one built from its keywords.
pub fn example(document: &Value, version: OpenApiVersion, schema: &Value) -> Value {
    example_for(document, version, schema, Direction::Any)
}

/// [`example`] for a message going in `direction`: without the properties that direction
/// does not carry.
pub fn example_for(
    document: &Value,
    version: OpenApiVersion,
    schema: &Value,
    direction: Direction,
) -> Value {
    // Deterministic choices use no randomness except to vary `uniqueItems` elements and to fill
    // patterns; a fixed seed keeps those stable.
    let mut rng = fastrand::Rng::with_seed(0);
    Builder::new(document, version, &mut rng, false, direction).value(schema, 0)
}

/// Which message an instance is for, which decides what `readOnly` and `writeOnly` properties
/// mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Direction {
    /// No message in particular: every property may appear.
    #[default]
    Any,
    /// A request body: no `readOnly` properties (in OAS 3.0 not even required ones: "the
    /// required will take effect on the response only").
    Request,
    /// A response body: no `writeOnly` properties (likewise in 3.0 even when required).
    Response,
}

/// Random instances of schemas, reproducible from a seed.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: fastrand::Rng,
    direction: Direction,
}

// === impl Generator ===

impl Generator {
    /// A generator whose sequence of instances is determined by `seed`.
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: fastrand::Rng::with_seed(seed),
            direction: Direction::Any,
        }
    }

    /// This generator, building instances for messages going in `direction`.
    pub fn with_direction(mut self, direction: Direction) -> Generator {
        self.direction = direction;
        self
    }

    /// A random instance `schema` accepts: random optional properties, enum values, lengths and
    /// numbers within the schema's bounds, `null` now and then where allowed.
    pub fn valid(&mut self, document: &Value, version: OpenApiVersion, schema: &Value) -> Value {
        Builder::new(document, version, &mut self.rng, true, self.direction).value(schema, 0)
    }

    /// An instance that breaks exactly one rule of `schema`, with a description of the rule
    /// ("missing required property `lastName`", "`dateOfBirth` is not a date"); `None` when
    /// `schema` accepts every instance.
    pub fn invalid(
        &mut self,
        document: &Value,
        version: OpenApiVersion,
        schema: &Value,
    ) -> Option<(Value, String)> {
        let mut builder = Builder::new(document, version, &mut self.rng, true, self.direction);
        invalid::instance(&mut builder, schema, 0, "")
    }

    /// A random number in `0..bound` (for callers choosing among cases).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        self.rng.usize(..bound.max(1))
    }
}

/// Builds instances; `random` chooses between the deterministic and the random flavour.
struct Builder<'a> {
    document: &'a Value,
    version: OpenApiVersion,
    rng: &'a mut fastrand::Rng,
    random: bool,
    direction: Direction,
}

// === impl Builder ===

impl<'a> Builder<'a> {
    fn new(
        document: &'a Value,
        version: OpenApiVersion,
        rng: &'a mut fastrand::Rng,
        random: bool,
        direction: Direction,
    ) -> Builder<'a> {
        Builder {
            document,
            version,
            rng,
            random,
            direction,
        }
    }

    /// An instance of `schema` at nesting `depth`.
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        if depth > HARD_DEPTH {
            return Value::Null;
        }
        let Some(s) = self.effective(schema) else {
            // `false` accepts nothing: any value is as good as another.
            return Value::Null;
        };
        self.build_effective(&s, depth)
    }

    /// An instance of an already [`effective`](Self::effective) schema.
    fn build_effective(&mut self, s: &Map<String, Value>, depth: usize) -> Value {
        if let Some(constant) = s.get("const") {
            return constant.clone();
        }
        if !self.random {
            if let Some(example) = self.example_of(s) {
                return example;
            }
            if let Some(default) = s.get("default") {
                return default.clone();
            }
        }
        if let Some(Value::Array(values)) = s.get("enum")
            && !values.is_empty()
        {
            let i = if self.random {
                self.rng.usize(..values.len())
            } else {
                0
            };
            return values[i].clone();
        }
        match self.pick_type(s) {
            "null" => Value::Null,
            "boolean" => Value::Bool(!self.random || self.rng.bool()),
            "integer" => primitive::integer(self, s),
            "number" => primitive::number(self, s),
            "string" => primitive::string(self, s),
            "array" => self.array(s, depth),
            "object" => self.object(s, depth),
            // No type and nothing to infer one from: the schema accepts anything.
            _ => json!({}),
        }
    }

    /// The schema's own example: 3.0 `example`, 3.1 first of `examples` (3.1 still allows the
    /// deprecated `example`).
    fn example_of(&self, s: &Map<String, Value>) -> Option<Value> {
        let first = s
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|e| e.first());
        match self.version {
            OpenApiVersion::V3_0 => s.get("example").cloned(),
            _ => first.or_else(|| s.get("example")).cloned(),
        }
    }

    /// `schema` with `$ref` followed, `allOf` merged in, one `oneOf`/`anyOf` branch chosen and
    /// merged in, and 3.0 boolean exclusive bounds rewritten as numbers; `None` for `false`.
    fn effective(&mut self, schema: &Value) -> Option<Map<String, Value>> {
        let mut s = self.flatten(schema, 0)?;
        // A chosen branch may itself hold a `oneOf`: a few rounds cover realistic nesting.
        for _ in 0..4 {
            let key = ["oneOf", "anyOf"].into_iter().find(|k| s.contains_key(*k));
            let Some(key) = key else { break };
            let Some(Value::Array(branches)) = s.remove(key) else {
                continue;
            };
            if branches.is_empty() {
                continue;
            }
            let i = if self.random {
                self.rng.usize(..branches.len())
            } else {
                0
            };
            if let Some(branch) = self.flatten(&branches[i], 0) {
                merge(&mut s, branch);
            }
        }
        Some(s)
    }

    /// `$ref` followed and `allOf` merged, recursively.
    fn flatten(&self, schema: &Value, hops: usize) -> Option<Map<String, Value>> {
        let map = match schema {
            Value::Bool(false) => return None,
            Value::Object(map) => map,
            _ => return Some(Map::new()),
        };
        let mut s = map.clone();
        if s.remove("$ref").is_some() {
            let target = deref(self.document, schema);
            let mut out = if hops >= REF_HOPS || std::ptr::eq(target, schema) {
                Map::new()
            } else {
                self.flatten(target, hops + 1)?
            };
            // OAS 3.0 ignores a Reference Object's siblings; 3.1 applies them.
            if self.version == OpenApiVersion::V3_1 {
                merge(&mut out, self.flatten(&Value::Object(s), hops)?);
            }
            return Some(out);
        }
        let all_of = s.remove("allOf");
        s = crate::normalise::exclusive_bounds(s);
        if let Some(Value::Array(parts)) = all_of {
            for part in &parts {
                let part = self.flatten(part, hops + 1)?;
                merge(&mut s, part);
            }
        }
        Some(s)
    }

    /// The JSON type to build: one of the declared types (inferred from keywords when none is
    /// declared); `null` only in random mode, now and then, or when it is the only choice.
    fn pick_type(&mut self, s: &Map<String, Value>) -> &'static str {
        let types = allowed_types(s);
        let concrete: Vec<&'static str> = types.iter().copied().filter(|t| *t != "null").collect();
        if concrete.is_empty() {
            return if types.contains(&"null") { "null" } else { "" };
        }
        if self.random {
            if types.contains(&"null") && self.rng.u8(..5) == 0 {
                return "null";
            }
            concrete[self.rng.usize(..concrete.len())]
        } else {
            concrete[0]
        }
    }

    fn object(&mut self, s: &Map<String, Value>, depth: usize) -> Value {
        let empty = Map::new();
        let properties = s
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required = required(s);
        let additional = s.get("additionalProperties");
        let optional_allowed = depth < OPTIONAL_DEPTH;
        let mut out = Map::new();
        let mut optional = Vec::new();
        let mut excluded = Vec::new();
        for (name, schema) in properties {
            let is_required = required.contains(&name.as_str());
            match self.carried(schema) {
                Carried::No => {
                    excluded.push(name.as_str());
                    continue;
                }
                Carried::IfRequired if !is_required => continue,
                _ => {}
            }
            if !is_required {
                optional.push(name.clone());
            }
            if is_required || (optional_allowed && (!self.random || self.rng.bool())) {
                out.insert(name.clone(), self.value(schema, depth + 1));
            }
        }
        let extra_schema = match additional {
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(Value::Bool(false)) => None,
            _ => Some(json!({})),
        };
        for name in &required {
            if !out.contains_key(*name) && !excluded.contains(name) {
                let value = match &extra_schema {
                    Some(schema) => self.value(schema, depth + 1),
                    None => Value::String("value".to_owned()),
                };
                out.insert((*name).to_owned(), value);
            }
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64) {
            for name in optional.iter().rev() {
                if out.len() as u64 <= max {
                    break;
                }
                out.remove(name);
            }
        }
        // A map-like object (only `additionalProperties`) gets a few entries.
        let min = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        let mut wanted = min;
        if properties.is_empty() && matches!(additional, Some(Value::Object(_))) && optional_allowed
        {
            wanted = wanted.max(if self.random {
                self.rng.usize(0..=2)
            } else {
                1
            });
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64) {
            wanted = wanted.min(max as usize);
        }
        let mut n = 0;
        while out.len() < wanted {
            n += 1;
            if let Some(name) = optional.iter().find(|o| !out.contains_key(*o)) {
                let value = self.value(&properties[name], depth + 1);
                out.insert(name.clone(), value);
            } else if let Some(schema) = &extra_schema {
                let value = self.value(schema, depth + 1);
                out.insert(format!("key{n}"), value);
            } else {
                break;
            }
        }
        Value::Object(out)
    }

    /// Whether a property of schema `schema` belongs in a message of this direction.
    fn carried(&self, schema: &Value) -> Carried {
        let key = match self.direction {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
            _ => return Carried::Yes,
        };
        let flagged = self
            .flatten(schema, 0)
            .is_some_and(|s| s.get(key) == Some(&Value::Bool(true)));
        match (flagged, self.version) {
            (false, _) => Carried::Yes,
            (true, OpenApiVersion::V3_0) => Carried::No,
            // In 3.1 `readOnly`/`writeOnly` are JSON Schema annotations: `required` still holds.
            (true, _) => Carried::IfRequired,
        }
    }

    fn array(&mut self, s: &Map<String, Value>, depth: usize) -> Value {
        let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = s
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let mut n = if depth >= OPTIONAL_DEPTH {
            min
        } else if self.random {
            self.rng.usize(min..=min + 3)
        } else {
            min.max(1)
        };
        if let Some(max) = max {
            n = n.min(max);
        }
        let prefix = s
            .get("prefixItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let items = match s.get("items") {
            Some(Value::Array(tuple)) => tuple.first().cloned().unwrap_or(json!({})),
            Some(items) => items.clone(),
            None => json!({}),
        };
        // `items: false` after `prefixItems`: a tuple of exactly the prefix (at most).
        if s.get("items") == Some(&Value::Bool(false)) {
            n = n.min(prefix.len());
        }
        let unique = s.get("uniqueItems") == Some(&Value::Bool(true));
        let mut out: Vec<Value> = Vec::with_capacity(n);
        for i in 0..n {
            let schema = prefix.get(i).unwrap_or(&items);
            let mut value = self.value(schema, depth + 1);
            if unique {
                // Vary duplicates with random instances; give up on the element past `min`.
                let random = std::mem::replace(&mut self.random, true);
                for _ in 0..16 {
                    if !out.contains(&value) {
                        break;
                    }
                    value = self.value(schema, depth + 1);
                }
                self.random = random;
                if out.contains(&value) {
                    if out.len() >= min {
                        break;
                    }
                    continue;
                }
            }
            out.push(value);
        }
        Value::Array(out)
    }
}

/// Whether a property belongs in a message (see [`Direction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    Yes,
    No,
    /// Only when required: an optional one is left out.
    IfRequired,
}
