//! Contract text to a JSON value: JSON through `serde_json`, YAML through `marked-yaml` (the
//! one YAML parser in the tree), with YAML 1.2 core-schema typing of plain scalars.

use std::path::Path;

use marked_yaml::{LoaderOptions, Node};
use serde_json::{Map, Number, Value};

use crate::error::LoadError;

/// Parses `text`, read from `path`, into a JSON value: `.json` files as JSON, others as YAML.
pub(crate) fn parse_document(path: &Path, text: &str) -> Result<Value, LoadError> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        return serde_json::from_str(text).map_err(|e| LoadError::Syntax {
            file: path.to_owned(),
            message: format!("not valid JSON: {e}"),
        });
    }
    // Duplicate keys are an error: a contract where the second `200:` silently wins is a
    // contract nobody reviewed.
    // `prevent_coercion` marks quoted scalars, which must stay strings (`version: "1.0"`).
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let node =
        marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| LoadError::Syntax {
            file: path.to_owned(),
            message: format!("not valid YAML: {e}"),
        })?;
    Ok(to_json(&node))
}

fn to_json(node: &Node) -> Value {
    match node {
        Node::Scalar(s) => {
            if s.may_coerce() {
                plain_scalar(s.as_str())
            } else {
                Value::String(s.as_str().to_owned())
            }
        }
        Node::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Node::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map.iter() {
                out.insert(key.as_str().to_owned(), to_json(value));
            }
            Value::Object(out)
        }
    }
}

/// Types an unquoted scalar as the YAML 1.2 core schema does (null, booleans, decimal
/// integers and floats); everything else stays a string. A quoted scalar is always a string.
pub(crate) fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if is_integer(text) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Number(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::Number(n.into());
        }
    }
    if is_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_are_typed_like_yaml_1_2_core() {
        assert_eq!(plain_scalar("~"), Value::Null);
        assert_eq!(plain_scalar("true"), json!(true));
        assert_eq!(plain_scalar("35"), json!(35));
        assert_eq!(plain_scalar("-1.5e3"), json!(-1500.0));
        assert_eq!(plain_scalar(".5"), json!(0.5));
        assert_eq!(plain_scalar("1.0.0"), json!("1.0.0"));
        assert_eq!(plain_scalar("inf"), json!("inf"));
        assert_eq!(plain_scalar("yes"), json!("yes"));
    }

    #[test]
    fn quoted_scalars_stay_strings_and_keys_are_strings() {
        let v = parse_document(Path::new("a.yaml"), "a: '35'\n200: x\nb: \"true\"\n").unwrap();
        assert_eq!(v, json!({"a": "35", "200": "x", "b": "true"}));
    }

    #[test]
    fn duplicate_keys_are_rejected_with_the_file_named() {
        let e = parse_document(Path::new("dup.yaml"), "a: 1\na: 2\n").unwrap_err();
        assert!(e.to_string().starts_with("dup.yaml: not valid YAML"), "{e}");
    }
}
