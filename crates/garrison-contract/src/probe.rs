//! Cases for property-based contract testing of a running backend (`garrison contract test`):
//! for each operation, random requests the contract allows and requests it forbids, each with
//! what the backend should do with it. Sending them and judging the responses is the caller's
//! job; so is authentication (security requirements are ignored here: the caller adds its
//! credentials' headers). Cookie parameters are not generated.

use serde_json::Value;

use crate::generate::{Direction, Generator};
use crate::lint::deref;
use crate::mock::{choose_media_type, is_json};
use crate::{Contract, OpenApiVersion, OperationInfo};

/// Missing-parameter and bad-parameter cases per operation, at most, each.
const PARAMETER_CASES: usize = 8;
/// Bodies breaking one rule, per operation, at most.
const BODY_CASES: usize = 3;
/// Header parameters OAS 3 says are ignored: the HTTP machinery sets them.
const IGNORED_HEADERS: &[&str] = &["accept", "content-type", "authorization"];

/// One request to send to the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The JSON pointer of the operation (`#/paths/~1citizens~1{id}/get`).
    pub operation: String,
    /// The operation's `operationId`, when it has one.
    pub operation_id: Option<String>,
    /// The method, upper case.
    pub method: &'static str,
    /// The path template with its parameters filled in, percent-encoded.
    pub path: String,
    /// The query string, without `?`, percent-encoded.
    pub query: Option<String>,
    /// Header parameters, name and value.
    pub headers: Vec<(String, String)>,
    /// The body: content type and bytes.
    pub body: Option<(String, Vec<u8>)>,
    /// What the backend should do with the request.
    pub expect: Expect,
    /// What the case is ("valid request 2", "missing required query parameter `limit`").
    pub description: String,
}

/// What a backend should do with a [`Case`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expect {
    /// The request conforms: the response must be documented and its body valid against the
    /// documented schema. A 2xx is expected, though a documented 4xx (a 404 for an id that
    /// does not exist, a 422 for a business rule) is a conforming answer.
    Conforming,
    /// The request breaks the contract: a 4xx is expected.
    Rejected,
}

/// Up to `per_operation` conforming requests for each operation of `contract` and, for each,
/// requests that break one rule: each required query or header parameter missing, each
/// required path or query parameter with a value its schema rejects, a body breaking one rule
/// of its schema, a body that is not JSON, a required body missing. Reproducible from `seed`.
pub fn cases(contract: &Contract, seed: u64, per_operation: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, operation) in crate::operations(contract).iter().enumerate() {
        // Each operation has its own sequence, so that adding one does not change the others.
        let seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut probe = Probe {
            doc: &contract.document,
            version: contract.version,
            operation,
            generator: Generator::new(seed).with_direction(Direction::Request),
            parameters: parameters(&contract.document, operation),
            body: request_body(&contract.document, operation),
        };
        probe.cases(per_operation, &mut out);
    }
    out
}

/// A `curl` command line that sends `case` to `base_url` (`https://api.example.com/v1`), with
/// every argument single-quoted for a POSIX shell.
pub fn curl(case: &Case, base_url: &str) -> String {
    let mut url = format!("{}{}", base_url.trim_end_matches('/'), case.path);
    if let Some(query) = &case.query {
        url.push('?');
        url.push_str(query);
    }
    let mut words = vec!["curl".to_owned()];
    match case.method {
        "GET" => {}
        // `-X HEAD` would wait for a body that never comes.
        "HEAD" => words.push("--head".to_owned()),
        method => words.extend(["-X".to_owned(), method.to_owned()]),
    }
    words.push(quote(&url));
    for (name, value) in &case.headers {
        words.extend(["-H".to_owned(), quote(&format!("{name}: {value}"))]);
    }
    if let Some((content_type, body)) = &case.body {
        words.extend([
            "-H".to_owned(),
            quote(&format!("Content-Type: {content_type}")),
        ]);
        words.extend([
            "--data-binary".to_owned(),
            quote(&String::from_utf8_lossy(body)),
        ]);
    }
    words.join(" ")
}

/// `text` in single quotes; a `'` inside becomes `'\''`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Path,
    Query,
    Header,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
        }
    }
}

/// A Parameter Object, read.
#[derive(Debug, Clone)]
struct Parameter<'a> {
    name: &'a str,
    location: Location,
    required: bool,
    schema: &'a Value,
    style: &'a str,
    explode: bool,
    /// Serialised as JSON (a parameter with `content` rather than `schema`).
    json: bool,
}

fn parameters<'a>(doc: &'a Value, operation: &OperationInfo<'a>) -> Vec<Parameter<'a>> {
    let mut out = Vec::new();
    for (_, p) in &operation.parameters {
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") if !IGNORED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) => {
                Location::Header
            }
            // Cookies are left out, as are the headers OAS says to ignore.
            _ => continue,
        };
        let (schema, json) = match p.get("schema") {
            Some(schema) => (deref(doc, schema), false),
            None => match p
                .get("content")
                .and_then(Value::as_object)
                .and_then(choose_media_type)
                .and_then(|(_, media)| media.get("schema"))
            {
                Some(schema) => (deref(doc, schema), true),
                None => continue,
            },
        };
        let style = p
            .get("style")
            .and_then(Value::as_str)
            .unwrap_or(match location {
                Location::Query => "form",
                _ => "simple",
            });
        out.push(Parameter {
            name,
            location,
            required: location == Location::Path || p.get("required") == Some(&Value::Bool(true)),
            schema,
            style,
            // OAS: `explode` defaults to true for `form`, false otherwise.
            explode: p
                .get("explode")
                .and_then(Value::as_bool)
                .unwrap_or(style == "form"),
            json,
        });
    }
    out
}

/// The request body: whether it is required, and its chosen media type and schema.
struct RequestBody<'a> {
    required: bool,
    media: &'a str,
    schema: Option<&'a Value>,
}

fn request_body<'a>(doc: &'a Value, operation: &OperationInfo<'a>) -> Option<RequestBody<'a>> {
    let body = deref(doc, operation.operation.get("requestBody")?);
    let (media, object) = choose_media_type(body.get("content")?.as_object()?)?;
    Some(RequestBody {
        required: body.get("required") == Some(&Value::Bool(true)),
        media,
        schema: deref(doc, object).get("schema").map(|s| deref(doc, s)),
    })
}

struct Probe<'a> {
    doc: &'a Value,
    version: OpenApiVersion,
    operation: &'a OperationInfo<'a>,
    generator: Generator,
    parameters: Vec<Parameter<'a>>,
    body: Option<RequestBody<'a>>,
}

/// A request being built: parameter values (unserialised) and the body.
#[derive(Clone)]
struct Draft {
    values: Vec<Option<Value>>,
    body: Option<(String, Vec<u8>)>,
}

// === impl Probe ===

impl Probe<'_> {
    fn cases(&mut self, per_operation: usize, out: &mut Vec<Case>) {
        let mut base = None;
        for k in 0..per_operation {
            let draft = self.valid_draft();
            out.push(self.case(
                &draft,
                Expect::Conforming,
                format!("valid request {}", k + 1),
            ));
            base.get_or_insert(draft);
        }
        // Invalid cases break one rule of an otherwise valid request.
        let base = base.unwrap_or_else(|| self.valid_draft());
        self.parameter_cases(&base, out);
        self.body_cases(&base, out);
    }

    fn valid_draft(&mut self) -> Draft {
        let mut values = Vec::with_capacity(self.parameters.len());
        for i in 0..self.parameters.len() {
            let p = &self.parameters[i];
            let include = p.required || self.generator.below(2) == 0;
            let value = include.then(|| self.parameter_value(i));
            values.push(value);
        }
        let body = match &self.body {
            Some(body) if body.required || self.generator.below(4) != 0 => {
                let (media, schema) = (body.media.to_owned(), body.schema);
                schema.and_then(|schema| {
                    let value = self.generator.valid(self.doc, self.version, schema);
                    encode_body(&media, &value)
                })
            }
            _ => None,
        };
        Draft { values, body }
    }

    /// A valid value for parameter `i`; a path parameter gets a non-empty one when it can.
    fn parameter_value(&mut self, i: usize) -> Value {
        let p = &self.parameters[i];
        let mut value = self.generator.valid(self.doc, self.version, p.schema);
        for _ in 0..8 {
            let blank = matches!(&value, Value::Null) || value.as_str().is_some_and(str::is_empty);
            if p.location != Location::Path || !blank {
                break;
            }
            value = self.generator.valid(self.doc, self.version, p.schema);
        }
        value
    }

    fn parameter_cases(&mut self, base: &Draft, out: &mut Vec<Case>) {
        let mut missing = 0;
        let mut wrong = 0;
        for i in 0..self.parameters.len() {
            let p = &self.parameters[i];
            let (name, location, required) = (p.name, p.location, p.required);
            // A path without one of its parameters is another path: only query and header
            // parameters can be missing.
            if required && location != Location::Path && missing < PARAMETER_CASES {
                missing += 1;
                let mut draft = base.clone();
                draft.values[i] = None;
                let description =
                    format!("missing required {} parameter `{name}`", location.as_str());
                out.push(self.case(&draft, Expect::Rejected, description));
            }
            if required
                && location != Location::Header
                && wrong < PARAMETER_CASES
                && let Some((value, why)) = self.invalid_parameter(i)
            {
                wrong += 1;
                let mut draft = base.clone();
                draft.values[i] = Some(value);
                let subject = format!("{} parameter `{name}`", location.as_str());
                out.push(self.case(&draft, Expect::Rejected, rephrase(&why, &subject)));
            }
        }
    }

    /// A value parameter `i`'s schema rejects *as text*: a value whose serialisation is valid
    /// (the number 12345 for a string parameter) does not count.
    fn invalid_parameter(&mut self, i: usize) -> Option<(Value, String)> {
        let p = &self.parameters[i];
        let (schema, json) = (p.schema, p.json);
        let string = |t: &Value| t.as_str() == Some("string");
        let takes_text = match deref(self.doc, schema).get("type") {
            Some(Value::Array(types)) => types.iter().any(string),
            Some(t) => string(t),
            None => true,
        };
        // A number or boolean is text too: it breaks a schema only if that takes no strings.
        let textual = json || !takes_text;
        for _ in 0..16 {
            let (value, why) = self.generator.invalid(self.doc, self.version, schema)?;
            let ok = match &value {
                Value::String(_) => true,
                Value::Number(_) | Value::Bool(_) => textual,
                // Containers and null serialise into text that says nothing about the rule.
                _ => json,
            };
            if ok {
                return Some((value, why));
            }
        }
        None
    }

    fn body_cases(&mut self, base: &Draft, out: &mut Vec<Case>) {
        let Some(body) = &self.body else { return };
        let (media, schema, required) = (body.media.to_owned(), body.schema, body.required);
        let json = is_json(&media);
        if let (true, Some(schema)) = (json, schema) {
            let mut seen = Vec::new();
            for _ in 0..BODY_CASES * 4 {
                if seen.len() >= BODY_CASES {
                    break;
                }
                let Some((value, why)) = self.generator.invalid(self.doc, self.version, schema)
                else {
                    break;
                };
                if seen.contains(&why) {
                    continue;
                }
                let mut draft = base.clone();
                draft.body = encode_body(&media, &value);
                out.push(self.case(&draft, Expect::Rejected, rephrase(&why, "the body")));
                seen.push(why);
            }
        }
        if json {
            let mut draft = base.clone();
            draft.body = Some((media.clone(), b"{\"not\": json".to_vec()));
            out.push(self.case(&draft, Expect::Rejected, "the body is not JSON".to_owned()));
        }
        if required {
            let mut draft = base.clone();
            draft.body = None;
            out.push(self.case(
                &draft,
                Expect::Rejected,
                "the required body is missing".to_owned(),
            ));
        }
    }

    fn case(&self, draft: &Draft, expect: Expect, description: String) -> Case {
        let mut path = self.operation.path.to_owned();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        for (p, value) in self.parameters.iter().zip(&draft.values) {
            let Some(value) = value else { continue };
            match p.location {
                Location::Path => {
                    path = path.replace(&format!("{{{}}}", p.name), &path_value(p, value));
                }
                Location::Query => {
                    let pair = query_value(p, value);
                    // An exploded empty array or object has no pairs at all.
                    if !pair.is_empty() {
                        query.push(pair);
                    }
                }
                Location::Header => headers.push((p.name.to_owned(), header_value(p, value))),
            }
        }
        Case {
            operation: self.operation.pointer.clone(),
            operation_id: self.operation.operation_id.map(str::to_owned),
            method: self.operation.method,
            path,
            query: (!query.is_empty()).then(|| query.join("&")),
            headers,
            body: draft.body.clone(),
            expect,
            description,
        }
    }
}

/// `why` (a [`Generator::invalid`] description, about "the value" or a property of it) said
/// of `subject`.
fn rephrase(why: &str, subject: &str) -> String {
    match why.strip_prefix("the value") {
        Some(rest) => format!("{subject}{rest}"),
        None => format!("{subject}: {why}"),
    }
}

fn encode_body(media: &str, value: &Value) -> Option<(String, Vec<u8>)> {
    let essence = media.split(';').next().unwrap_or("").trim();
    let bytes = match value {
        _ if is_json(media) || media.contains('*') => serde_json::to_vec(value).ok()?,
        Value::String(text) => text.clone().into_bytes(),
        // OAS 3 `application/x-www-form-urlencoded`: properties as `form`, exploded.
        Value::Object(_) if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") => {
            let pairs: Vec<String> = value
                .as_object()?
                .iter()
                .map(|(name, v)| match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| format!("{}={}", encode(name), encode(&text(i))))
                        .collect::<Vec<_>>()
                        .join("&"),
                    other => format!("{}={}", encode(name), encode(&text(other))),
                })
                .filter(|p| !p.is_empty())
                .collect();
            pairs.join("&").into_bytes()
        }
        // Multipart and other encodings are not generated.
        _ => return None,
    };
    let media = if media.contains('*') {
        "application/json"
    } else {
        media
    };
    Some((media.to_owned(), bytes))
}

/// A primitive as parameter text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The parts of a value: `[v]`, an array's items, or an object's `[k, v, k, v…]` (`explode`:
/// `[k=v, …]`), each encoded with `enc`.
fn parts(value: &Value, explode: bool, enc: &dyn Fn(&str) -> String) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(|v| enc(&text(v))).collect(),
        Value::Object(map) if explode => map
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(&text(v))))
            .collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| [enc(k), enc(&text(v))])
            .collect(),
        other => vec![enc(&text(other))],
    }
}

/// OAS 3 path styles: `simple` (default) `a,b`, `label` `.a.b`, `matrix` `;id=a,b`.
fn path_value(p: &Parameter<'_>, value: &Value) -> String {
    if p.json {
        return encode(&value.to_string());
    }
    let items = parts(value, p.explode, &encode);
    match p.style {
        "label" => {
            let sep = if p.explode { "." } else { "," };
            format!(".{}", items.join(sep))
        }
        "matrix" => {
            let name = encode(p.name);
            match value {
                Value::Array(_) if p.explode => {
                    items.iter().map(|i| format!(";{name}={i}")).collect()
                }
                Value::Object(_) if p.explode => items.iter().map(|i| format!(";{i}")).collect(),
                _ => format!(";{name}={}", items.join(",")),
            }
        }
        _ => items.join(","),
    }
}

/// OAS 3 query styles: `form` (default, exploded), `spaceDelimited`, `pipeDelimited`,
/// `deepObject`.
fn query_value(p: &Parameter<'_>, value: &Value) -> String {
    let name = encode(p.name);
    if p.json {
        return format!("{name}={}", encode(&value.to_string()));
    }
    match (p.style, value) {
        ("deepObject", Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{name}%5B{}%5D={}", encode(k), encode(&text(v))))
            .collect::<Vec<_>>()
            .join("&"),
        (_, Value::Object(_)) if p.explode => parts(value, true, &encode).join("&"),
        (_, Value::Array(_)) if p.explode => parts(value, true, &encode)
            .iter()
            .map(|i| format!("{name}={i}"))
            .collect::<Vec<_>>()
            .join("&"),
        (style, _) => {
            let sep = match style {
                "spaceDelimited" => "%20",
                "pipeDelimited" => "%7C",
                _ => ",",
            };
            format!("{name}={}", parts(value, false, &encode).join(sep))
        }
    }
}

/// OAS 3 header style `simple`; visible ASCII is kept, anything else percent-encoded (a header
/// value cannot carry it raw).
fn header_value(p: &Parameter<'_>, value: &Value) -> String {
    let keep = |t: &str| {
        t.chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c.to_string()
                } else {
                    encode(&c.to_string())
                }
            })
            .collect::<String>()
    };
    if p.json {
        return keep(&value.to_string());
    }
    parts(value, p.explode, &keep).join(",")
}

#[cfg(test)]
mod tests;
