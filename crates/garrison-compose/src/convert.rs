//! Values crossing the boundary between JSON and CEL, and CEL errors made safe to log.

use std::collections::HashMap;
use std::sync::Arc;

use cel::ExecutionError;
use cel::Value;
use cel::objects::{Key, Map};

/// A JSON value as CEL sees it. A whole number that fits an `int` is an `int` (so `status == 200`
/// and `amount * 12 <= 740000` compare like with like); a larger one a `uint`; anything else a
/// `double`.
pub(crate) fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(from_json).collect()))
        }
        serde_json::Value::Object(fields) => map(fields
            .iter()
            .map(|(name, value)| (name.as_str(), from_json(value)))),
    }
}

/// A CEL map with string keys.
pub(crate) fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let map: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(name, value)| (Key::String(Arc::new(name.to_owned())), value))
        .collect();
    Value::Map(Map { map: Arc::new(map) })
}

/// A CEL value as JSON, or the name of the CEL type that JSON cannot represent. Map keys that are
/// numbers or bools become their text.
pub(crate) fn to_json(value: &Value) -> Result<serde_json::Value, &'static str> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => (*i).into(),
        Value::UInt(u) => (*u).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or("non-finite double")?,
        Value::String(s) => serde_json::Value::String(s.as_str().to_owned()),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Value::Map(map) => {
            let mut object = serde_json::Map::new();
            for (key, value) in map.map.iter() {
                let name = match key {
                    Key::String(s) => s.as_str().to_owned(),
                    Key::Int(i) => i.to_string(),
                    Key::Uint(u) => u.to_string(),
                    Key::Bool(b) => b.to_string(),
                };
                object.insert(name, to_json(value)?);
            }
            serde_json::Value::Object(object)
        }
        other => return Err(type_name(other)),
    })
}

/// The CEL name of a value's type, for error messages that must not show the value itself.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::List(_) => "list",
        Value::Map(_) => "map",
        Value::Function(..) => "function",
        Value::Int(_) => "int",
        Value::UInt(_) => "uint",
        Value::Float(_) => "double",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Bool(_) => "bool",
        Value::Opaque(_) => "opaque",
        Value::Struct(_) => "struct",
        Value::Null => "null_type",
    }
}

/// An evaluation error described without the values involved: they may be personal data from
/// the request or from an upstream response. A missing key is named only when its name is
/// written in the expression's source (a field name, not a value used as an index).
pub(crate) fn describe(error: &ExecutionError, source: &str) -> String {
    match error {
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("expected {expected} arguments, got {actual}")
        }
        ExecutionError::UnsupportedTargetType { target } => {
            format!("invalid argument type {}", type_name(target))
        }
        ExecutionError::NotSupportedAsMethod { method, target } => {
            format!(
                "method '{method}' not supported on type {}",
                type_name(target)
            )
        }
        ExecutionError::UnsupportedKeyType(key) => {
            format!("a {} cannot be a map key", type_name(key))
        }
        ExecutionError::UnexpectedType { want, .. } => format!("unexpected type, wanted {want}"),
        ExecutionError::NoSuchKey(key) if source.contains(key.as_str()) => {
            format!("no such key: {key}")
        }
        ExecutionError::NoSuchKey(_) => "no such key".to_owned(),
        // The overload error names the function and the argument types, never their values.
        ExecutionError::NoSuchOverload(overload) => overload.to_string(),
        // An identifier or function name, taken from the expression itself.
        ExecutionError::UndeclaredReference(name) => format!("undeclared reference to '{name}'"),
        ExecutionError::MissingArgumentOrTarget => "missing argument or target".to_owned(),
        ExecutionError::ValuesNotComparable(a, b) => {
            format!(
                "a {} cannot be compared to a {}",
                type_name(a),
                type_name(b)
            )
        }
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => {
            format!(
                "operator '{op}' does not apply to {} and {}",
                type_name(a),
                type_name(b)
            )
        }
        ExecutionError::UnsupportedIndex(index, target) => {
            format!(
                "a {} cannot index a {}",
                type_name(index),
                type_name(target)
            )
        }
        // Our own helpers' messages never quote their arguments; the standard library's may.
        ExecutionError::FunctionError { function, message }
            if crate::functions::NAMES.contains(&function.as_str()) =>
        {
            format!("{function}: {message}")
        }
        ExecutionError::FunctionError { function, .. } => format!("function '{function}' failed"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        ExecutionError::RemainderByZero(_) => "remainder by zero".to_owned(),
        ExecutionError::Overflow(op, a, b) => {
            format!(
                "overflow in '{op}' on {} and {}",
                type_name(a),
                type_name(b)
            )
        }
        ExecutionError::IndexOutOfBounds(_) => "index out of bounds".to_owned(),
        ExecutionError::DuplicateKey(_) => "repeated map key".to_owned(),
        _ => "evaluation failed".to_owned(),
    }
}
