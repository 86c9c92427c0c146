//! Bodies read for a validity check without building a `serde_json::Value`.
//!
//! On the request path most bodies are valid, and building a `Value` (an allocation per key,
//! per string and per object, then as many frees) costs more than checking it. An [`Instance`]
//! borrows its keys and strings from the body (unless they hold escapes) and keeps each
//! object as one member list sorted by name, which jsonschema checks through its
//! custom-representation interface ([`Json`]). Only a body that fails is read again as a
//! `Value`, by the caller, so that every violation is described exactly as before.
//!
//! The reading is `serde_json`'s own, so an [`Instance`] is read exactly when a `Value`
//! would be; a repeated key keeps its last value, as a `Value` does.

use std::borrow::Cow;
use std::fmt;

use jsonschema::JsonType;
use jsonschema::json::{Array, Json, Node, NodeIdentity, Object, cmp};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON document read from a body, borrowing from it where it can.
#[derive(Debug)]
pub(super) enum Instance<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Instance<'a>>),
    /// Members sorted by name (the order of a `Value`'s map), names unique.
    Object(Vec<(Cow<'a, str>, Instance<'a>)>),
}

impl<'a> Instance<'a> {
    /// Reads `body`; `None` when it is not well-formed JSON.
    pub(super) fn parse(body: &'a [u8]) -> Option<Self> {
        // JSON text is UTF-8 (RFC 8259 §8.1), and checking it once here is cheaper than
        // `from_slice` checking every string it borrows; `from_slice` rejects exactly the
        // bodies this rejects.
        let text = std::str::from_utf8(body).ok()?;
        serde_json::from_str(text).ok()
    }
}

// === impl Deserialize ===

impl<'de> Deserialize<'de> for Instance<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(InstanceVisitor)
    }
}

struct InstanceVisitor;

impl<'de> Visitor<'de> for InstanceVisitor {
    type Value = Instance<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Instance::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Instance::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Instance::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        // As `Value` reads it: a number with no finite `f64` is `null`.
        Ok(Number::from_f64(n).map_or(Instance::Null, Instance::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Instance::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Instance::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Instance::String(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Instance::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Instance::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Instance::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Instance<'de>)> =
            Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(name) = map.next_key_seed(Name)? {
            members.push((name, map.next_value()?));
        }
        // A stable sort keeps repeated names in document order; the last one stays.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        members.dedup_by(|later, kept| {
            let repeated = later.0 == kept.0;
            if repeated {
                std::mem::swap(later, kept);
            }
            repeated
        });
        Ok(Instance::Object(members))
    }
}

/// An object member's name, borrowed from the body when it holds no escape.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

// === impl Json ===

/// The [`Instance`] representation, for `jsonschema::options_for`.
pub(super) struct Borrowed;

impl Json for Borrowed {
    type Node<'a> = &'a Instance<'a>;
    type PreparedKey = String;
    type StringBuffer = ();

    // A lookup is a binary search comparing names, as in a `BTreeMap`.
    const KEYS_PER_LOOKUP: usize = 2;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(Self::Node<'_>) -> T) -> T {
        f(&Instance::String(Cow::Borrowed(string)))
    }
}

impl<'a> Node<'a, Borrowed> for &'a Instance<'a> {
    type Object = &'a [(Cow<'a, str>, Instance<'a>)];
    type Array = &'a [Instance<'a>];
    type Number = &'a Number;

    fn as_object(&self) -> Option<Self::Object> {
        match self {
            Instance::Object(members) => Some(members),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<Self::Array> {
        match self {
            Instance::Array(items) => Some(items),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Instance::String(s) => Some(Cow::Borrowed(s.as_ref())),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<&'a Number> {
        match self {
            Instance::Number(n) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self {
            Instance::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Instance::Null)
    }

    fn json_type(&self) -> JsonType {
        match self {
            Instance::Null => JsonType::Null,
            Instance::Bool(_) => JsonType::Boolean,
            Instance::Number(_) => JsonType::Number,
            Instance::String(_) => JsonType::String,
            Instance::Array(_) => JsonType::Array,
            Instance::Object(_) => JsonType::Object,
        }
    }

    fn equals_value(&self, expected: &Value) -> bool {
        match self {
            // The common `const`/`enum` case, without building a `Value`.
            Instance::String(s) => matches!(expected, Value::String(e) if e == s),
            _ => cmp::equal(&self.to_value(), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(to_value(self))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(
            std::ptr::from_ref::<Instance<'a>>(self) as usize
        ))
    }
}

fn to_value(instance: &Instance<'_>) -> Value {
    match instance {
        Instance::Null => Value::Null,
        Instance::Bool(b) => Value::Bool(*b),
        Instance::Number(n) => Value::Number(n.clone()),
        Instance::String(s) => Value::String(s.clone().into_owned()),
        Instance::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Instance::Object(members) => Value::Object(
            members
                .iter()
                .map(|(name, value)| (name.clone().into_owned(), to_value(value)))
                .collect::<Map<_, _>>(),
        ),
    }
}

impl<'a> Object<'a, Borrowed> for &'a [(Cow<'a, str>, Instance<'a>)] {
    type Node = &'a Instance<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn get(&self, key: &String) -> Option<&'a Instance<'a>> {
        let members: &'a [(Cow<'a, str>, Instance<'a>)] = self;
        members
            .binary_search_by(|(name, _)| name.as_ref().cmp(key.as_str()))
            .ok()
            .map(|i| &members[i].1)
    }

    fn members(&self) -> Members<'a> {
        Members(self.iter())
    }
}

/// The members of an [`Instance`] object, in name order.
pub(super) struct Members<'a>(std::slice::Iter<'a, (Cow<'a, str>, Instance<'a>)>);

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a Instance<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(name, value)| (name.as_ref(), value))
    }
}

impl<'a> Array<'a, Borrowed> for &'a [Instance<'a>] {
    type Node = &'a Instance<'a>;
    type ElementsIter = std::slice::Iter<'a, Instance<'a>>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn elements(&self) -> Self::ElementsIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value_of(text: &str) -> Value {
        to_value(&Instance::parse(text.as_bytes()).expect("well-formed"))
    }

    #[test]
    fn an_instance_reads_as_a_value_does() {
        for text in [
            r#"{"b": [1, -2, 3.5, "x\"y", null, true], "a": {"z": {}, "y": []}, "\u00e9": 1e2}"#,
            r#"{"k": 1, "k": 2, "j": 0, "k": 3}"#,
            "[]",
            "\"text\"",
        ] {
            let expected: Value = serde_json::from_str(text).expect("well-formed");
            assert_eq!(value_of(text), expected, "{text}");
        }
        assert_eq!(value_of(r#"{"k": 1, "k": 2}"#), json!({"k": 2}));
    }

    #[test]
    fn malformed_json_is_not_read() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "nul", "1e400", "{} x"] {
            assert!(Instance::parse(text.as_bytes()).is_none(), "{text}");
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
        }
        for bytes in [&b"\"\xff\""[..], b"{\"\xc3\": 1}", b"[1]\xff"] {
            assert!(Instance::parse(bytes).is_none());
            assert!(serde_json::from_slice::<Value>(bytes).is_err());
        }
    }

    #[test]
    fn validators_agree_with_the_value_representation() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 2, "enum": ["ab", "cd"]},
                "n": {"type": "integer", "const": 3},
                "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
                "o": {"type": "object", "propertyNames": {"maxLength": 2}}
            }
        });
        let value = jsonschema::options().build(&schema).expect("compiles");
        let quick = jsonschema::options_for::<Borrowed>()
            .build(&schema)
            .expect("compiles");
        for text in [
            r#"{"name": "ab"}"#,
            r#"{"name": "ab", "n": 3, "tags": ["a", "b"], "o": {"xy": 1}}"#,
            r#"{"name": "a"}"#,
            r#"{"name": "ef"}"#,
            r#"{"name": "ab", "n": 3.0}"#,
            r#"{"name": "ab", "n": 4}"#,
            r#"{"name": "ab", "tags": ["a", "a"]}"#,
            r#"{"name": "ab", "o": {"xyz": 1}}"#,
            r#"{"name": "ab", "extra": 1}"#,
            r#"{"n": 3}"#,
            r#"[1]"#,
        ] {
            let instance = Instance::parse(text.as_bytes()).expect("well-formed");
            let expected: Value = serde_json::from_str(text).expect("well-formed");
            assert_eq!(
                quick.is_valid(&instance),
                value.is_valid(&expected),
                "{text}"
            );
        }
    }
}
