//! Mock responses served from a contract, in the manner of Prism: for each operation, the
//! documented response a client asks for (`Prefer: code=404, example=notFound, dynamic=true`)
//! or the first successful one, with a named example, the media type's or schema's example,
//! or an instance generated from the schema.
//!
//! [`mock_operation`] does the work once per operation and keeps every static body serialised,
//! so [`MockOperation::respond`] is a lookup and a cheap clone; only `dynamic=true` generates
//! per request. Response `headers` are not mocked: a mock response carries its status, content
//! type and body only.

use std::fmt;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::generate::{Direction, Generator, example_for};
use crate::lint::deref;
use crate::{Contract, OpenApiVersion, OperationInfo};

/// What a client asks of the mock in its `Prefer` header (RFC 7240 syntax, Prism's
/// preferences): `code=404`, `example=notFound`, `dynamic=true`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    /// The status code to respond with.
    pub code: Option<u16>,
    /// The name of an example in the response's media type `examples`.
    pub example: Option<String>,
    /// Generate a random schema-valid body instead of serving an example.
    pub dynamic: bool,
}

// === impl Prefer ===

impl Prefer {
    /// Reads a `Prefer` header value (join several headers with `,`). Preferences are separated
    /// by commas and/or semicolons, names are case-insensitive, values may be quoted; unknown
    /// preferences and unreadable values are ignored, as RFC 7240 §2 asks of a server.
    pub fn parse(header_value: &str) -> Prefer {
        let mut prefer = Prefer::default();
        for token in header_value.split([',', ';']) {
            let (name, value) = match token.split_once('=') {
                Some((name, value)) => (name.trim(), value.trim().trim_matches('"')),
                None => (token.trim(), ""),
            };
            match name.to_ascii_lowercase().as_str() {
                "code" => {
                    if let Ok(code @ 100..=599) = value.parse::<u16>() {
                        prefer.code = Some(code);
                    }
                }
                "example" if !value.is_empty() => prefer.example = Some(value.to_owned()),
                // A preference without a value means "yes" (RFC 7240 §2: `respond-async`).
                "dynamic" => {
                    prefer.dynamic = value.is_empty() || value.eq_ignore_ascii_case("true")
                }
                _ => {}
            }
        }
        prefer
    }
}

/// A mock response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, unless the response has no content.
    pub content_type: Option<String>,
    /// The body (empty when the response has no content).
    pub body: Bytes,
}

/// Why a mock cannot give what was asked; each message names what is available, to be shown
/// to the client in a 4xx problem detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// `Prefer: code=` asked for a status the operation does not document (and it has no
    /// `default` response).
    #[error(
        "status {code} is not documented for this operation; documented: {}",
        list(available)
    )]
    UnknownStatus {
        /// The status asked for.
        code: u16,
        /// The documented response keys (`200`, `4XX`, `default`).
        available: Vec<String>,
    },
    /// `Prefer: example=` named an example the chosen response does not have.
    #[error(
        "the {status} response has no example named {name:?}; {}",
        examples(available)
    )]
    UnknownExample {
        /// The name asked for.
        name: String,
        /// The status of the chosen response.
        status: u16,
        /// The example names the chosen response's media type has.
        available: Vec<String>,
    },
    /// The operation documents no response at all.
    #[error("the operation documents no responses")]
    NoResponses,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn examples(names: &[String]) -> String {
    if names.is_empty() {
        "it has no named examples".to_owned()
    } else {
        format!("available: {}", list(names))
    }
}

/// One operation's mock responses, precomputed; see [`mock_operation`].
#[derive(Debug, Clone)]
pub struct MockOperation {
    version: OpenApiVersion,
    /// Documented responses, sorted by key: codes, then ranges, then `default`.
    responses: Vec<MockStatus>,
}

#[derive(Debug, Clone)]
struct MockStatus {
    key: StatusKey,
    content: Option<MockContent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StatusKey {
    Code(u16),
    /// `2XX` as 2.
    Range(u16),
    Default,
}

impl fmt::Display for StatusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusKey::Code(c) => write!(f, "{c}"),
            StatusKey::Range(r) => write!(f, "{r}XX"),
            StatusKey::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone)]
struct MockContent {
    content_type: String,
    /// Named examples, in the loaded document's order (which sorts them by name).
    examples: Vec<(String, Bytes)>,
    /// The body when no example is named: the first named example (by name), the media type's
    /// `example`, the schema's example or one built from the schema.
    body: Bytes,
    /// For `dynamic=true`: the schema, and the part of the document its `$ref`s reach.
    schema: Option<(Value, Value)>,
    json: bool,
}

/// Precomputes the mock responses of `operation` (one of [`crate::operations`]`(contract)`).
pub fn mock_operation(contract: &Contract, operation: &OperationInfo<'_>) -> MockOperation {
    let doc = &contract.document;
    let mut responses = Vec::new();
    if let Some(map) = operation
        .operation
        .get("responses")
        .and_then(Value::as_object)
    {
        for (key, response) in map {
            let Some(key) = status_key(key) else { continue };
            let response = deref(doc, response);
            let content = response
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| choose_media_type(c))
                .map(|(media, object)| mock_content(contract, media, deref(doc, object)));
            responses.push(MockStatus { key, content });
        }
    }
    responses.sort_by_key(|r| r.key);
    MockOperation {
        version: contract.version,
        responses,
    }
}

// === impl MockOperation ===

impl MockOperation {
    /// The response `prefer` asks for; `seed` seeds the generator when `prefer.dynamic`.
    ///
    /// The status is the one asked for (served by a matching range or `default` response when
    /// no response documents it exactly), else the lowest documented 2xx, else the lowest
    /// documented status, else `default` as 200.
    pub fn respond(&self, prefer: &Prefer, seed: u64) -> Result<MockResponse, MockError> {
        let (status, response) = self.choose_status(prefer.code)?;
        let Some(content) = &response.content else {
            // No content: nothing to name an example of, so a named example is not an error.
            return Ok(MockResponse {
                status,
                content_type: None,
                body: Bytes::new(),
            });
        };
        let body = if let Some(name) = &prefer.example {
            match content.examples.iter().find(|(n, _)| n == name) {
                Some((_, body)) => body.clone(),
                None => {
                    return Err(MockError::UnknownExample {
                        name: name.clone(),
                        status,
                        available: content.examples.iter().map(|(n, _)| n.clone()).collect(),
                    });
                }
            }
        } else if let (true, Some((schema, document))) = (prefer.dynamic, &content.schema) {
            let value = Generator::new(seed)
                .with_direction(Direction::Response)
                .valid(document, self.version, schema);
            serialise(&value, content.json)
        } else {
            content.body.clone()
        };
        Ok(MockResponse {
            status,
            content_type: Some(content.content_type.clone()),
            body,
        })
    }

    /// The documented response keys, as written in the contract (`200`, `4XX`, `default`).
    pub fn statuses(&self) -> Vec<String> {
        self.responses.iter().map(|r| r.key.to_string()).collect()
    }

    fn choose_status(&self, code: Option<u16>) -> Result<(u16, &MockStatus), MockError> {
        let find = |key: StatusKey| self.responses.iter().find(|r| r.key == key);
        if let Some(code) = code {
            return find(StatusKey::Code(code))
                .or_else(|| find(StatusKey::Range(code / 100)))
                .or_else(|| find(StatusKey::Default))
                .map(|r| (code, r))
                .ok_or_else(|| MockError::UnknownStatus {
                    code,
                    available: self.statuses(),
                });
        }
        let status = |r: &MockStatus| match r.key {
            StatusKey::Code(c) => c,
            StatusKey::Range(r) => r * 100,
            StatusKey::Default => 200,
        };
        let success = self
            .responses
            .iter()
            .find(|r| matches!(r.key, StatusKey::Code(200..=299) | StatusKey::Range(2)));
        success
            .or_else(|| self.responses.first())
            .map(|r| (status(r), r))
            .ok_or(MockError::NoResponses)
    }
}

/// `200`, `2XX` (any case) or `default`; `None` for anything else (an extension, a typo).
fn status_key(key: &str) -> Option<StatusKey> {
    if key == "default" {
        return Some(StatusKey::Default);
    }
    if let Ok(code @ 100..=599) = key.parse::<u16>() {
        return Some(StatusKey::Code(code));
    }
    match key.as_bytes() {
        [class @ b'1'..=b'5', b'X' | b'x', b'X' | b'x'] => {
            Some(StatusKey::Range(u16::from(class - b'0')))
        }
        _ => None,
    }
}

/// Whether `media` is JSON: `application/json`, `*/*+json` or `*/json`.
pub fn is_json(media: &str) -> bool {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence.ends_with("/json")
}

/// The media type to serve: `application/json`, else another JSON type, else the first.
pub(crate) fn choose_media_type(content: &Map<String, Value>) -> Option<(&str, &Value)> {
    let exact = content.iter().find(|(m, _)| {
        m.split(';')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
    });
    exact
        .or_else(|| content.iter().find(|(m, _)| is_json(m)))
        .or_else(|| content.iter().next())
        .map(|(m, v)| (m.as_str(), v))
}

fn mock_content(contract: &Contract, media: &str, object: &Value) -> MockContent {
    let doc = &contract.document;
    // A wildcard media range is not a content type; the mock serves JSON.
    let content_type = if media.contains('*') {
        "application/json".to_owned()
    } else {
        media.to_owned()
    };
    let json = is_json(&content_type) || media.contains('*');
    let mut examples = Vec::new();
    if let Some(map) = object.get("examples").and_then(Value::as_object) {
        for (name, ex) in map {
            // An `externalValue` example is not fetched: the mock never goes to the network.
            if let Some(value) = deref(doc, ex).get("value") {
                examples.push((name.clone(), serialise(value, json)));
            }
        }
    }
    let schema = object.get("schema").map(|s| deref(doc, s));
    let body = if let Some((_, first)) = examples.first() {
        first.clone()
    } else if let Some(value) = object.get("example") {
        serialise(value, json)
    } else if let Some(schema) = schema {
        serialise(
            &example_for(doc, contract.version, schema, Direction::Response),
            json,
        )
    } else {
        Bytes::new()
    };
    MockContent {
        content_type,
        examples,
        body,
        schema: schema.map(|s| (s.clone(), bundle(doc, s))),
        json,
    }
}

fn serialise(value: &Value, json: bool) -> Bytes {
    match value {
        // A text example of a non-JSON media type is the body itself.
        Value::String(text) if !json => Bytes::from(text.clone()),
        _ => Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
    }
}

/// The parts of `doc` that `$ref`s in `schema` reach, transitively, at their own pointers: a
/// document small enough to keep beside each schema, in which those references still resolve.
pub(crate) fn bundle(doc: &Value, schema: &Value) -> Value {
    let mut out = Value::Object(Map::new());
    let mut pending = vec![schema];
    let mut seen: Vec<String> = Vec::new();
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref")
                    && !seen.contains(reference)
                {
                    seen.push(reference.clone());
                    let target = deref(doc, value);
                    if !std::ptr::eq(target, value) {
                        insert_at(&mut out, reference, target.clone());
                        pending.push(target);
                    }
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    out
}

/// Puts `value` at the `#/…` fragment `reference` of `root`, creating objects on the way
/// (an array index becomes an object key, which pointer lookup reads the same way).
fn insert_at(root: &mut Value, reference: &str, value: Value) {
    let Some(pointer) = reference
        .strip_prefix('#')
        .and_then(crate::pointer::percent_decode)
    else {
        return;
    };
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .filter_map(crate::pointer::unescape_segment)
        .collect();
    let mut here = root;
    for token in &tokens {
        let Value::Object(map) = here else { return };
        here = map
            .entry(token.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    *here = value;
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    #[test]
    fn prefer_reads_prism_preferences() {
        assert_eq!(
            Prefer::parse("code=404, example=notFound, dynamic=true"),
            Prefer {
                code: Some(404),
                example: Some("notFound".to_owned()),
                dynamic: true
            }
        );
        assert_eq!(
            Prefer::parse(" Code = 201 ;example=\"created\";respond-async, wait=10"),
            Prefer {
                code: Some(201),
                example: Some("created".to_owned()),
                dynamic: false
            }
        );
        assert_eq!(
            Prefer::parse("dynamic"),
            Prefer {
                dynamic: true,
                ..Prefer::default()
            }
        );
        assert_eq!(
            Prefer::parse("code=abc, code=99, dynamic=no"),
            Prefer::default()
        );
        assert_eq!(Prefer::parse(""), Prefer::default());
    }

    #[test]
    fn status_keys() {
        assert_eq!(status_key("200"), Some(StatusKey::Code(200)));
        assert_eq!(status_key("4xx"), Some(StatusKey::Range(4)));
        assert_eq!(status_key("default"), Some(StatusKey::Default));
        assert_eq!(status_key("x-foo"), None);
        assert_eq!(status_key("600"), None);
    }

    #[test]
    fn media_types() {
        let content = json!({"text/plain": {}, "application/problem+json": {}});
        let map = content.as_object().unwrap();
        assert_eq!(
            choose_media_type(map).unwrap().0,
            "application/problem+json"
        );
        assert!(is_json("application/json; charset=utf-8"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn bundles_hold_what_references_reach() {
        let doc = json!({
            "components": {"schemas": {
                "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"properties": {"a": {"$ref": "#/components/schemas/A"}}},
                "C": {"type": "string"}
            }}
        });
        let out = bundle(&doc, &json!({"$ref": "#/components/schemas/A"}));
        let schemas = out["components"]["schemas"].as_object().unwrap();
        assert_eq!(schemas.keys().collect::<Vec<_>>(), ["A", "B"]);
    }

    #[test]
    fn ranges_and_default_serve_undocumented_codes() {
        let text = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses:
        "4XX": {description: e, content: {text/plain: {example: nope}}}
        default: {description: d}
"##;
        let c = crate::load_str(Path::new("c.yaml"), text).unwrap();
        let op = &crate::operations(&c)[0];
        let m = mock_operation(&c, op);
        let r = m.respond(&Prefer::default(), 0).unwrap();
        assert_eq!(
            (r.status, r.content_type, r.body),
            (400, Some("text/plain".to_owned()), Bytes::from("nope"))
        );
        let r = m.respond(&Prefer::parse("code=503"), 0).unwrap();
        assert_eq!((r.status, r.content_type, r.body.len()), (503, None, 0));
        let r = m.respond(&Prefer::parse("code=418"), 0).unwrap();
        assert_eq!(r.status, 418);
    }
}
