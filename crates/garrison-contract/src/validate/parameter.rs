//! Parameters: reading a path, query or header parameter out of the request according to its
//! `style` and `explode` (OAS 3.1 §4.8.12.4), coercing the text to the schema's types and
//! validating it.
//!
//! Cookie parameters are not checked: the gateway treats cookies as the upstream's business,
//! and a contract that needs them checked is rare enough not to pay for a cookie parser here.

use http::{HeaderMap, HeaderName};
use jsonschema::Validator;
use serde_json::{Map, Value};

use super::schema::{SchemaCompiler, collect_violations};
use super::serialisation::{
    Malformed, Reader, Scalar, Shape, delimited, object_from_pairs, query_pairs,
    scalar_of_property, shape_of, spaced,
};
use super::{CompileError, RequestParts, Violation};
use crate::lint::child;

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Path,
    Query,
    Header,
}

/// How a parameter is serialised (OAS 3.1 §4.8.12.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

/// A compiled Parameter Object.
pub(super) struct Parameter {
    name: String,
    place: Place,
    header: Option<HeaderName>,
    /// `path.id`, `query.benefitType`, `header.x-correlation-id`.
    location: String,
    required: bool,
    style: Style,
    explode: bool,
    shape: Shape,
    /// `content: {application/json: …}` instead of `schema`: the value is a JSON text.
    json: bool,
    validator: Option<Validator>,
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location)
    }
}

impl Parameter {
    /// Compiles the Parameter Object `parameter` at `pointer`; `None` for a parameter that is
    /// not checked (cookies, and the `Accept`, `Content-Type` and `Authorization` headers,
    /// which OAS says "SHALL be ignored").
    pub(super) fn compile(
        compiler: &SchemaCompiler<'_>,
        parameter: &Value,
        pointer: &str,
    ) -> Result<Option<Self>, CompileError> {
        let text = |key: &str| parameter.get(key).and_then(Value::as_str);
        let Some(name) = text("name") else {
            return Err(compiler.error(pointer, "the parameter has no name"));
        };
        let place = match text("in") {
            Some("path") => Place::Path,
            Some("query") => Place::Query,
            Some("header") => Place::Header,
            Some("cookie") => return Ok(None),
            _ => return Err(compiler.error(pointer, "`in` must be path, query, header or cookie")),
        };
        let mut header = None;
        if place == Place::Header {
            if ["accept", "content-type", "authorization"]
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
            {
                return Ok(None);
            }
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| compiler.error(pointer, "the name is not a valid header name"))?;
            header = Some(parsed);
        }
        let style = match (text("style"), place) {
            (None, Place::Path | Place::Header) | (Some("simple"), _) => Style::Simple,
            (None, Place::Query) | (Some("form"), _) => Style::Form,
            (Some("label"), _) => Style::Label,
            (Some("matrix"), _) => Style::Matrix,
            (Some("spaceDelimited"), _) => Style::SpaceDelimited,
            (Some("pipeDelimited"), _) => Style::PipeDelimited,
            (Some("deepObject"), _) => Style::DeepObject,
            (Some(other), _) => {
                return Err(compiler.error(pointer, format!("unknown style {other:?}")));
            }
        };
        let explode = parameter
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(style == Style::Form);
        let (validator, shape, json) = if let Some(schema) = parameter.get("schema") {
            let (validator, normalised) = compiler.compile(schema, &child(pointer, &["schema"]))?;
            (Some(validator), shape_of(&normalised), false)
        } else if let Some((media, object)) = parameter
            .get("content")
            .and_then(Value::as_object)
            .and_then(|m| m.iter().next())
        {
            let at = child(pointer, &["content", media.as_str(), "schema"]);
            let validator = match object.get("schema") {
                Some(schema) => Some(compiler.compile(schema, &at)?.0),
                None => None,
            };
            (validator, Shape::Scalar(Scalar::Text), true)
        } else {
            (None, Shape::Scalar(Scalar::Text), false)
        };
        let location = match place {
            Place::Path => format!("path.{name}"),
            Place::Query => format!("query.{name}"),
            Place::Header => format!("header.{}", name.to_ascii_lowercase()),
        };
        Ok(Some(Self {
            name: name.to_owned(),
            place,
            header,
            location,
            // OAS: a path parameter is always required.
            required: place == Place::Path
                || parameter.get("required").and_then(Value::as_bool) == Some(true),
            style,
            explode,
            shape,
            json,
            validator,
        }))
    }

    /// Reads, coerces and validates this parameter of `request`.
    pub(super) fn check(&self, request: &RequestParts<'_>, out: &mut Vec<Violation>) {
        let read = match self.place {
            Place::Path => request
                .path_params
                .iter()
                .find(|(name, _)| *name == self.name)
                .map(|(_, raw)| self.path_value(raw)),
            Place::Query => request.query.and_then(|q| self.query_value(q)),
            Place::Header => self.header_value(request.headers),
        };
        let value = match read {
            None if self.required => {
                out.push(self.violation("required", "this parameter is required"));
                return;
            }
            None => return,
            Some(Err(Problem::Malformed)) => {
                out.push(self.violation("style", "this parameter cannot be read in its style"));
                return;
            }
            Some(Err(Problem::Repeated)) => {
                out.push(self.violation("style", "this parameter must be given only once"));
                return;
            }
            Some(Err(Problem::Json)) => {
                out.push(self.violation("json", "this parameter is not well-formed JSON"));
                return;
            }
            Some(Ok(value)) => value,
        };
        if let Some(validator) = &self.validator
            && !validator.is_valid(&value)
        {
            collect_violations(validator, &value, &self.location, out);
        }
    }

    fn violation(&self, rule: &str, message: &str) -> Violation {
        Violation::new(self.location.clone(), rule, message)
    }

    /// The typed value of a JSON-content parameter, or of a value in `style`.
    fn finish(&self, text: Result<Value, Malformed>) -> Result<Value, Problem> {
        let value = text.map_err(|Malformed| Problem::Malformed)?;
        if !self.json {
            return Ok(value);
        }
        match value {
            Value::String(s) => serde_json::from_str(&s).map_err(|_| Problem::Json),
            _ => Err(Problem::Malformed),
        }
    }

    fn path_value(&self, raw: &str) -> Result<Value, Problem> {
        let reader = Reader::URL;
        let value = match self.style {
            Style::Label => match raw.strip_prefix('.') {
                Some(rest) => delimited(
                    reader,
                    rest,
                    if self.explode { "." } else { "," },
                    self.explode,
                    &self.shape,
                ),
                None => Err(Malformed),
            },
            Style::Matrix => match raw.strip_prefix(';') {
                Some(rest) => self.matrix(reader, rest),
                None => Err(Malformed),
            },
            _ => delimited(reader, raw, ",", self.explode, &self.shape),
        };
        self.finish(value)
    }

    /// `;name=v`, `;name=a,b`, `;name=a;name=b`, `;name=k,v`, `;k=v;k2=v2`.
    fn matrix(&self, reader: Reader, rest: &str) -> Result<Value, Malformed> {
        let named = |part: &'_ str| -> Option<String> {
            if part == self.name {
                return Some(String::new());
            }
            part.strip_prefix(self.name.as_str())?
                .strip_prefix('=')
                .map(str::to_owned)
        };
        match (&self.shape, self.explode) {
            (Shape::Array(item), true) => {
                let mut items = Vec::new();
                for part in rest.split(';') {
                    let value = named(part).ok_or(Malformed)?;
                    items.push(reader.scalar(&value, *item)?);
                }
                Ok(Value::Array(items))
            }
            (Shape::Object(props), true) => object_from_pairs(reader, rest.split(';'), props),
            (shape, _) => {
                let value = named(rest).ok_or(Malformed)?;
                delimited(reader, &value, ",", false, shape)
            }
        }
    }

    fn query_value(&self, query: &str) -> Option<Result<Value, Problem>> {
        let reader = Reader::FORM;
        let named = |key: &str| reader.decode(key).is_ok_and(|k| k == self.name);
        if self.style == Style::DeepObject {
            let props = match &self.shape {
                Shape::Object(props) => props.as_slice(),
                _ => &[],
            };
            let mut map = Map::new();
            for (key, value) in query_pairs(query) {
                let Ok(key) = reader.decode(key) else {
                    continue;
                };
                let property = key
                    .strip_prefix(self.name.as_str())
                    .and_then(|k| k.strip_prefix('['))
                    .and_then(|k| k.strip_suffix(']'));
                if let Some(property) = property {
                    let typed = reader.scalar(value, scalar_of_property(props, property));
                    match typed {
                        Ok(typed) => map.insert(property.to_owned(), typed),
                        Err(Malformed) => return Some(Err(Problem::Malformed)),
                    };
                }
            }
            return (!map.is_empty()).then_some(Ok(Value::Object(map)));
        }
        let exploded = self.explode || !matches!(self.shape, Shape::Array(_) | Shape::Object(_));
        match (&self.shape, exploded) {
            (Shape::Array(item), true) => {
                let mut items = Vec::new();
                for (_, value) in query_pairs(query).filter(|(k, _)| named(k)) {
                    match reader.scalar(value, *item) {
                        Ok(v) => items.push(v),
                        Err(Malformed) => return Some(Err(Problem::Malformed)),
                    }
                }
                (!items.is_empty()).then_some(Ok(Value::Array(items)))
            }
            (Shape::Object(props), true) => {
                // Exploded form objects spread their properties over the query: the declared
                // properties are this parameter's.
                let mut map = Map::new();
                for (key, value) in query_pairs(query) {
                    let Ok(key) = reader.decode(key) else {
                        continue;
                    };
                    if let Some((name, scalar)) = props.iter().find(|(p, _)| *p == key) {
                        match reader.scalar(value, *scalar) {
                            Ok(v) => map.insert(name.clone(), v),
                            Err(Malformed) => return Some(Err(Problem::Malformed)),
                        };
                    }
                }
                (!map.is_empty()).then_some(Ok(Value::Object(map)))
            }
            (shape, _) => {
                let mut found = query_pairs(query).filter(|(k, _)| named(k));
                let (_, value) = found.next()?;
                if found.next().is_some() {
                    return Some(Err(Problem::Repeated));
                }
                let value = match self.style {
                    Style::SpaceDelimited => spaced(reader, value, &["%20", "+", " "], shape),
                    Style::PipeDelimited => spaced(reader, value, &["|", "%7C", "%7c"], shape),
                    _ => delimited(reader, value, ",", false, shape),
                };
                Some(self.finish(value))
            }
        }
    }

    fn header_value(&self, headers: &HeaderMap) -> Option<Result<Value, Problem>> {
        let name = self.header.as_ref()?;
        let mut values = headers.get_all(name).iter();
        let first = values.next()?;
        let reader = Reader::HEADER;
        let Ok(text) = first.to_str() else {
            return Some(Err(Problem::Malformed));
        };
        let Some(second) = values.next() else {
            return Some(self.finish(delimited(reader, text, ",", self.explode, &self.shape)));
        };
        if !matches!(self.shape, Shape::Array(_) | Shape::Object(_)) || self.json {
            return Some(Err(Problem::Repeated));
        }
        // RFC 9110 §5.3: repeated field lines are one comma-separated list.
        let mut joined = text.to_owned();
        for value in std::iter::once(second).chain(values) {
            let Ok(text) = value.to_str() else {
                return Some(Err(Problem::Malformed));
            };
            joined.push(',');
            joined.push_str(text);
        }
        Some(self.finish(delimited(reader, &joined, ",", self.explode, &self.shape)))
    }
}

/// Why a parameter's value could not be read.
enum Problem {
    Malformed,
    Repeated,
    Json,
}
