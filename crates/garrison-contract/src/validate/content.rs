//! Bodies: the declared media types of a Request Body or Response Object, the `Content-Type`
//! check and JSON body validation.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::Value;

use super::instance::Instance;
use super::schema::{BodyValidator, SchemaCompiler, collect_violations};
use super::{CompileError, Violation};
use crate::generate::Direction;
use crate::lint::child;

const CONTENT_TYPE_LOCATION: &str = "header.content-type";
const BODY_LOCATION: &str = "/body";

/// The media types a body may have: the keys of a `content` map.
#[derive(Debug)]
pub(super) struct Content {
    media: Vec<Media>,
}

/// One declared media type (or range) and the schema of its body.
struct Media {
    /// `type` of `type/subtype`, lower case; `*` for any.
    kind: String,
    /// `subtype`, lower case; `*` for any.
    subtype: String,
    /// Bodies of this media type are JSON (`json` or a `+json` suffix, RFC 6839).
    json: bool,
    validator: Option<BodyValidator>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.subtype)
    }
}

/// `type/subtype` of a media type, parameters (`; charset=utf-8`) dropped.
fn essence(media_type: &str) -> Option<(&str, &str)> {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    let (kind, subtype) = essence.split_once('/')?;
    let (kind, subtype) = (kind.trim(), subtype.trim());
    (!kind.is_empty() && !subtype.is_empty()).then_some((kind, subtype))
}

/// Whether bodies of media subtype `subtype` are JSON (`json`, or a `+json` suffix).
pub(super) fn is_json(subtype: &str) -> bool {
    subtype.eq_ignore_ascii_case("json")
        || subtype
            .len()
            .checked_sub(5)
            .and_then(|at| subtype.get(at..))
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

impl Content {
    /// Compiles the `content` map (if any) of `holder` (a Request Body or a Response Object,
    /// as `direction` says), found at `pointer`.
    pub(super) fn compile(
        compiler: &SchemaCompiler<'_>,
        holder: &Value,
        pointer: &str,
        direction: Direction,
    ) -> Result<Self, CompileError> {
        let mut media = Vec::new();
        if let Some(map) = holder.get("content").and_then(Value::as_object) {
            for (name, object) in map {
                let at = child(pointer, &["content", name.as_str()]);
                let Some((kind, subtype)) = essence(name) else {
                    return Err(compiler.error(&at, "not a media type such as application/json"));
                };
                let validator = match object.get("schema") {
                    Some(schema) => {
                        Some(compiler.compile_body(schema, &child(&at, &["schema"]), direction)?)
                    }
                    None => None,
                };
                media.push(Media {
                    kind: kind.to_ascii_lowercase(),
                    subtype: subtype.to_ascii_lowercase(),
                    json: is_json(subtype),
                    validator,
                });
            }
        }
        Ok(Self { media })
    }

    /// The contract declares no body here.
    pub(super) fn is_empty(&self) -> bool {
        self.media.is_empty()
    }

    /// The declared media type `kind/subtype` falls under: an exact match, else `kind/*`, else
    /// `*/*`.
    fn find(&self, kind: &str, subtype: &str) -> Option<&Media> {
        let exact = self
            .media
            .iter()
            .find(|m| m.kind.eq_ignore_ascii_case(kind) && m.subtype.eq_ignore_ascii_case(subtype));
        exact
            .or_else(|| {
                self.media
                    .iter()
                    .find(|m| m.kind.eq_ignore_ascii_case(kind) && m.subtype == "*")
            })
            .or_else(|| {
                self.media
                    .iter()
                    .find(|m| m.kind == "*" && m.subtype == "*")
            })
    }

    /// Checks the `Content-Type` of a non-empty `body` against the declared media types and
    /// validates a JSON body against its schema.
    pub(super) fn check(&self, headers: &HeaderMap, body: &[u8], out: &mut Vec<Violation>) {
        let Some(value) = headers.get(CONTENT_TYPE) else {
            out.push(Violation::new(
                CONTENT_TYPE_LOCATION,
                "required",
                "a body needs a Content-Type header",
            ));
            return;
        };
        let found = value
            .to_str()
            .ok()
            .and_then(essence)
            .and_then(|(kind, subtype)| Some((self.find(kind, subtype)?, subtype)));
        let Some((media, subtype)) = found else {
            out.push(Violation::new(
                CONTENT_TYPE_LOCATION,
                "content-type",
                "the media type is not one the operation accepts",
            ));
            return;
        };
        // A range (`application/*`) holding a schema describes JSON bodies when the actual
        // media type is JSON.
        let json = media.json || (media.subtype == "*" && is_json(subtype));
        if !json {
            return;
        }
        let Some(instance) = Instance::parse(body) else {
            out.push(Violation::new(
                BODY_LOCATION,
                "json",
                "the body is not well-formed JSON",
            ));
            return;
        };
        if let Some(validator) = &media.validator
            && !validator.quick.is_valid(&instance)
        {
            // The rare invalid body is read again, for `full` to describe what is wrong; it
            // is well-formed, as `Instance` and `Value` read the same JSON.
            if let Ok(value) = serde_json::from_slice::<Value>(body) {
                collect_violations(&validator.full, &value, BODY_LOCATION, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essence_drops_parameters_and_json_suffixes_are_json() {
        assert_eq!(
            essence("Application/JSON; charset=utf-8"),
            Some(("Application", "JSON"))
        );
        assert_eq!(essence("nonsense"), None);
        assert!(is_json("problem+json"));
        assert!(is_json("JSON"));
        assert!(!is_json("xml"));
        assert!(!is_json("son"));
    }
}
