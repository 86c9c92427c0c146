//! Parameter serialisation: percent-decoding, splitting a serialised value into its items
//! and pairs, and coercing text to the JSON types the parameter's schema names.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// The JSON type a piece of parameter text is coerced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Integer,
    Number,
    Boolean,
    /// A string, or a type the text cannot be coerced to: left as a string.
    Text,
}

/// The shape of a parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Shape {
    Scalar(Scalar),
    Array(Scalar),
    /// The declared properties and the type each is coerced to (others stay strings).
    Object(Vec<(String, Scalar)>),
}

/// The value could not be read in the declared style.
pub(super) struct Malformed;

/// How the text of one place is decoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader {
    /// `%XX` escapes are decoded (URLs; not headers).
    percent: bool,
    /// `+` is a space (`application/x-www-form-urlencoded` query strings).
    plus: bool,
    /// Surrounding whitespace is dropped (header list items).
    trim: bool,
}

impl Reader {
    pub(super) const URL: Reader = Reader {
        percent: true,
        plus: false,
        trim: false,
    };
    pub(super) const FORM: Reader = Reader {
        percent: true,
        plus: true,
        trim: false,
    };
    pub(super) const HEADER: Reader = Reader {
        percent: false,
        plus: false,
        trim: true,
    };

    pub(super) fn decode<'r>(self, raw: &'r str) -> Result<Cow<'r, str>, Malformed> {
        let raw = if self.trim { raw.trim() } else { raw };
        // One pass over the (usually plain) text to see whether anything needs decoding.
        let plain = !raw
            .bytes()
            .any(|b| (self.percent && b == b'%') || (self.plus && b == b'+'));
        if plain {
            return Ok(Cow::Borrowed(raw));
        }
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if self.percent => {
                    let hex = raw.get(i + 1..i + 3).ok_or(Malformed)?;
                    out.push(u8::from_str_radix(hex, 16).map_err(|_| Malformed)?);
                    i += 3;
                }
                b'+' if self.plus => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| Malformed)
    }

    pub(super) fn scalar(self, raw: &str, scalar: Scalar) -> Result<Value, Malformed> {
        Ok(coerce(self.decode(raw)?, scalar))
    }
}

/// `text` as `scalar` when it reads as one; otherwise the string, so that the schema reports
/// a `type` violation at the parameter.
pub(super) fn coerce(text: Cow<'_, str>, scalar: Scalar) -> Value {
    match scalar {
        Scalar::Integer | Scalar::Number => {
            if let Ok(i) = text.parse::<i64>() {
                return Value::from(i);
            }
            if let Ok(u) = text.parse::<u64>() {
                return Value::from(u);
            }
            // Only decimal notation: `f64::from_str` also takes `inf` and `NaN`.
            let numeric = !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
            if numeric && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(n);
            }
        }
        Scalar::Boolean => match text.as_ref() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        },
        Scalar::Text => {}
    }
    Value::String(text.into_owned())
}

/// A value serialised as items joined by `separator` (objects as `k,v,k,v`, or `k=v` items
/// when `explode`).
pub(super) fn delimited(
    reader: Reader,
    raw: &str,
    separator: &str,
    explode: bool,
    shape: &Shape,
) -> Result<Value, Malformed> {
    match shape {
        Shape::Scalar(scalar) => reader.scalar(raw, *scalar),
        Shape::Array(_) | Shape::Object(_) if raw.is_empty() => Ok(empty(shape)),
        Shape::Array(item) => raw
            .split(separator)
            .map(|r| reader.scalar(r, *item))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Shape::Object(props) if explode => object_from_pairs(reader, raw.split(separator), props),
        Shape::Object(props) => object_from_flat(reader, raw.split(separator), props),
    }
}

/// A value whose items are joined by any of `separators` (space- and pipe-delimited).
pub(super) fn spaced(
    reader: Reader,
    raw: &str,
    separators: &[&str],
    shape: &Shape,
) -> Result<Value, Malformed> {
    let mut items = Vec::new();
    let mut rest = raw;
    loop {
        let next = separators
            .iter()
            .filter_map(|s| rest.find(s).map(|at| (at, s.len())))
            .min();
        match next {
            Some((at, len)) => {
                items.push(&rest[..at]);
                rest = &rest[at + len..];
            }
            None => {
                items.push(rest);
                break;
            }
        }
    }
    match shape {
        Shape::Scalar(scalar) => reader.scalar(raw, *scalar),
        Shape::Array(_) | Shape::Object(_) if raw.is_empty() => Ok(empty(shape)),
        Shape::Array(item) => items
            .into_iter()
            .map(|r| reader.scalar(r, *item))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Shape::Object(props) => object_from_flat(reader, items.into_iter(), props),
    }
}

pub(super) fn empty(shape: &Shape) -> Value {
    match shape {
        Shape::Object(_) => Value::Object(Map::new()),
        _ => Value::Array(Vec::new()),
    }
}

/// An object from `k=v` items.
pub(super) fn object_from_pairs<'r>(
    reader: Reader,
    items: impl Iterator<Item = &'r str>,
    props: &[(String, Scalar)],
) -> Result<Value, Malformed> {
    let mut map = Map::new();
    for item in items {
        let (key, value) = item.split_once('=').ok_or(Malformed)?;
        let key = reader.decode(key)?;
        let value = reader.scalar(value, scalar_of_property(props, &key))?;
        map.insert(key.into_owned(), value);
    }
    Ok(Value::Object(map))
}

/// An object from alternating `k,v,k,v` items.
pub(super) fn object_from_flat<'r>(
    reader: Reader,
    mut items: impl Iterator<Item = &'r str>,
    props: &[(String, Scalar)],
) -> Result<Value, Malformed> {
    let mut map = Map::new();
    while let Some(key) = items.next() {
        let value = items.next().ok_or(Malformed)?;
        let key = reader.decode(key)?;
        let value = reader.scalar(value, scalar_of_property(props, &key))?;
        map.insert(key.into_owned(), value);
    }
    Ok(Value::Object(map))
}

/// The `name=value` pairs of a raw query string, still encoded.
pub(super) fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

pub(super) fn scalar_of_property(props: &[(String, Scalar)], name: &str) -> Scalar {
    props
        .iter()
        .find(|(p, _)| p == name)
        .map_or(Scalar::Text, |(_, s)| *s)
}

/// The first non-`null` type a (normalised) schema names.
pub(super) fn type_name(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

pub(super) fn scalar_of(schema: &Value) -> Scalar {
    match type_name(schema) {
        Some("integer") => Scalar::Integer,
        Some("number") => Scalar::Number,
        Some("boolean") => Scalar::Boolean,
        _ => Scalar::Text,
    }
}

pub(super) fn shape_of(schema: &Value) -> Shape {
    let inferred = type_name(schema).or_else(|| {
        if schema.get("properties").is_some() {
            Some("object")
        } else if schema.get("items").is_some() {
            Some("array")
        } else {
            None
        }
    });
    match inferred {
        Some("array") => Shape::Array(schema.get("items").map_or(Scalar::Text, scalar_of)),
        Some("object") => Shape::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), scalar_of(s)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => Shape::Scalar(scalar_of(schema)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_coerces_to_the_schema_type_or_stays_a_string() {
        assert_eq!(coerce("42".into(), Scalar::Integer), json!(42));
        assert_eq!(coerce("4.5".into(), Scalar::Number), json!(4.5));
        assert_eq!(coerce("NaN".into(), Scalar::Number), json!("NaN"));
        assert_eq!(coerce("true".into(), Scalar::Boolean), json!(true));
        assert_eq!(coerce("yes".into(), Scalar::Boolean), json!("yes"));
        assert_eq!(coerce("42".into(), Scalar::Text), json!("42"));
    }

    #[test]
    fn decoding_follows_the_place() {
        assert_eq!(Reader::FORM.decode("a+b%2C").ok().as_deref(), Some("a b,"));
        assert_eq!(Reader::URL.decode("a+b").ok().as_deref(), Some("a+b"));
        assert!(Reader::URL.decode("%zz").is_err());
        assert_eq!(
            Reader::HEADER.decode(" a%20 ").ok().as_deref(),
            Some("a%20")
        );
    }

    #[test]
    fn shapes_come_from_normalised_schemas() {
        assert_eq!(
            shape_of(&json!({"type": ["integer", "null"]})),
            Shape::Scalar(Scalar::Integer)
        );
        assert_eq!(
            shape_of(&json!({"type": "array", "items": {"type": "boolean"}})),
            Shape::Array(Scalar::Boolean)
        );
        assert_eq!(
            shape_of(&json!({"properties": {"n": {"type": "number"}}})),
            Shape::Object(vec![("n".to_owned(), Scalar::Number)])
        );
    }
}
