//! Data minimisation: the response fields a consumer is entitled to, and nothing else.
//!
//! A subscription may list the fields of a response its consumer may receive, as dotted paths
//! (`data.attributes.lastName`). The gateway parses a successful JSON response, keeps exactly
//! those fields (and the objects that lead to them), drops the rest, and says which of the
//! entitled fields were present so the audit trail can record what was disclosed. Arrays are
//! crossed implicitly: `data.claims.benefitType` keeps `benefitType` in every claim.
//!
//! The filter is compiled once per snapshot into a small tree; applying it is one walk over
//! the response.

use bytes::Bytes;
use garrison_core::ProblemCode;
use http::{Response, header};
use http_body_util::{BodyExt, Either, Full, Limited};
use serde_json::{Map, Value};

use crate::GatewayBody;
use crate::error::GatewayError;

/// The largest response the gateway buffers to remove the fields a consumer is not entitled
/// to; a larger one is withheld.
const MAX_FILTERED_RESPONSE: usize = 8 * 1024 * 1024;

/// A compiled set of entitled fields.
#[derive(Debug, Default)]
pub(crate) struct FieldFilter {
    root: Node,
}

#[derive(Debug, Default)]
struct Node {
    /// The configured path ending here, for the disclosure record; when set, the whole value
    /// at this node is kept.
    path: Option<Box<str>>,
    children: Vec<(Box<str>, Node)>,
}

impl Node {
    fn child_mut(&mut self, key: &str) -> &mut Node {
        let index = match self.children.iter().position(|(k, _)| &**k == key) {
            Some(index) => index,
            None => {
                self.children.push((key.into(), Node::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[index].1
    }
}

impl FieldFilter {
    /// Compiles dotted paths (validated by the configuration).
    pub(crate) fn new(paths: &[String]) -> Self {
        let mut root = Node::default();
        for path in paths {
            let mut node = &mut root;
            for segment in path.split('.') {
                node = node.child_mut(segment);
            }
            node.path = Some(path.as_str().into());
        }
        FieldFilter { root }
    }

    /// Keeps only the entitled fields of `value`; returns the entitled paths that were present
    /// (in configuration order of first appearance).
    pub(crate) fn apply(&self, value: &mut Value) -> Vec<String> {
        let mut disclosed = Vec::new();
        keep(&self.root, value, &mut disclosed);
        disclosed
    }
}

/// The members an error answer keeps under a field list: those of a problem document (RFC
/// 9457) and the `code` and `message` of the HMRC convention. Anything else in an error — a
/// record, a list of candidates, a stack trace — is not something the subscription lists.
const ERROR_MEMBERS: [&str; 7] = [
    "type", "title", "status", "detail", "instance", "code", "message",
];

/// The largest error answer read to keep its problem members; a larger one loses its body.
const MAX_FILTERED_ERROR: usize = 64 * 1024;

/// Reduces a response to what the subscription entitles: a successful one to the entitled
/// fields, an error to its problem members (an error body can carry personal data as well as
/// an answer can). A successful response that cannot be filtered — not JSON, too large,
/// unreadable — is withheld: fail closed; an error that cannot is passed with its status and
/// no body. One without a body (`204`, `304`, an answer to `HEAD`) passes as it is. Returns
/// the response and the fields disclosed.
pub(crate) async fn minimise(
    filter: &FieldFilter,
    response: Response<GatewayBody>,
) -> Result<(Response<GatewayBody>, Vec<String>), GatewayError> {
    let status = response.status();
    if status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED
        || http_body::Body::is_end_stream(response.body())
    {
        return Ok((response, Vec::new()));
    }
    if !status.is_success() {
        return Ok(error_members(response).await);
    }
    let withheld = || {
        GatewayError::upstream(
            ProblemCode::BadGateway,
            "The answer could not be reduced to the fields this application is entitled to, so it was withheld.",
        )
    };
    let (mut parts, body) = response.into_parts();
    if !is_json(&parts.headers) {
        return Err(withheld());
    }
    let bytes = Limited::new(body, MAX_FILTERED_RESPONSE)
        .collect()
        .await
        .map_err(|_| withheld())?
        .to_bytes();
    let mut value: Value = serde_json::from_slice(&bytes).map_err(|_| withheld())?;
    let disclosed = filter.apply(&mut value);
    let filtered = serde_json::to_vec(&value).map_err(|_| withheld())?;
    // The length changed; hyper writes the new one from the complete body.
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok((
        Response::from_parts(parts, Either::Right(Full::new(Bytes::from(filtered)))),
        disclosed,
    ))
}

/// Whether `headers` say the body is JSON, as the contracts' media types do.
fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(garrison_contract::is_json)
}

/// An error answer reduced to its problem members ([`ERROR_MEMBERS`]), or to no body at all
/// when it is not a JSON object; with the members kept.
async fn error_members(response: Response<GatewayBody>) -> (Response<GatewayBody>, Vec<String>) {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let read = match is_json(&parts.headers) {
        true => Limited::new(body, MAX_FILTERED_ERROR).collect().await.ok(),
        false => None,
    };
    let members = match read {
        Some(collected) => match serde_json::from_slice::<Value>(&collected.to_bytes()) {
            Ok(Value::Object(object)) => Some(
                object
                    .into_iter()
                    .filter(|(name, _)| ERROR_MEMBERS.contains(&name.as_str()))
                    .collect::<Map<String, Value>>(),
            ),
            _ => None,
        },
        None => None,
    };
    let Some(members) = members else {
        parts.headers.remove(header::CONTENT_TYPE);
        return (
            Response::from_parts(parts, Either::Right(Full::new(Bytes::new()))),
            Vec::new(),
        );
    };
    let disclosed = members.keys().cloned().collect();
    let body = serde_json::to_vec(&Value::Object(members)).unwrap_or_default();
    (
        Response::from_parts(parts, Either::Right(Full::new(Bytes::from(body)))),
        disclosed,
    )
}

/// Filters `value` against `node`; `false` when nothing entitled is left in it (so the parent
/// drops it).
fn keep(node: &Node, value: &mut Value, disclosed: &mut Vec<String>) -> bool {
    if let Some(path) = &node.path {
        if !disclosed.iter().any(|d| d == &**path) {
            disclosed.push(path.to_string());
        }
        return true;
    }
    match value {
        Value::Object(map) => {
            let old = std::mem::take(map);
            let mut kept = Map::new();
            for (key, mut child) in old {
                if let Some((_, next)) = node.children.iter().find(|(k, _)| **k == *key)
                    && keep(next, &mut child, disclosed)
                {
                    kept.insert(key, child);
                }
            }
            let any = !kept.is_empty();
            *map = kept;
            any
        }
        Value::Array(items) => {
            // Arrays are crossed: each element is filtered by the same node. An element left
            // with nothing entitled stays as `{}` (or `null`) so positions still line up.
            let mut any = false;
            for item in items.iter_mut() {
                any |= keep(node, item, disclosed);
            }
            any
        }
        // A scalar where the path expects an object: nothing entitled is in it, and it is
        // blanked so that it cannot survive inside an array.
        _ => {
            *value = Value::Null;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_entitled_fields_are_kept_and_reported() {
        let filter = FieldFilter::new(&[
            "data.attributes.lastName".to_owned(),
            "data.attributes.dateOfBirth".to_owned(),
            "data.claims.benefitType".to_owned(),
            "data.id".to_owned(),
            "data.absent".to_owned(),
        ]);
        let mut value = json!({
            "data": {
                "id": "abc",
                "type": "Person",
                "attributes": {"lastName": "Smith", "firstName": "Jo", "dateOfBirth": "1980-04-23", "nino": "QQ123456C"},
                "claims": [
                    {"benefitType": "universal_credit", "amount": 1},
                    {"benefitType": "pensions_credit", "amount": 2}
                ]
            },
            "meta": {"income": 12000}
        });
        let disclosed = filter.apply(&mut value);
        assert_eq!(
            value,
            json!({"data": {
                "id": "abc",
                "attributes": {"lastName": "Smith", "dateOfBirth": "1980-04-23"},
                "claims": [{"benefitType": "universal_credit"}, {"benefitType": "pensions_credit"}]
            }})
        );
        let mut disclosed = disclosed;
        disclosed.sort();
        assert_eq!(
            disclosed,
            [
                "data.attributes.dateOfBirth",
                "data.attributes.lastName",
                "data.claims.benefitType",
                "data.id"
            ]
        );
    }

    #[test]
    fn a_whole_subtree_can_be_entitled_and_nothing_leaks_through_scalars() {
        let filter = FieldFilter::new(&["data.address".to_owned()]);
        let mut value = json!({"data": {"address": {"line1": "1 High St", "postcode": "ZZ99 1ZZ"}, "income": 5}});
        assert_eq!(filter.apply(&mut value), ["data.address"]);
        assert_eq!(
            value,
            json!({"data": {"address": {"line1": "1 High St", "postcode": "ZZ99 1ZZ"}}})
        );

        // The entitled path meets a scalar: the scalar is not disclosed, in an array either.
        let mut value = json!({"data": "QQ123456C"});
        assert!(filter.apply(&mut value).is_empty());
        assert_eq!(value, json!({}));
        let mut value = json!({"data": ["QQ123456C", {"address": "x", "nino": "QQ123456C"}]});
        assert_eq!(filter.apply(&mut value), ["data.address"]);
        assert_eq!(value, json!({"data": [null, {"address": "x"}]}));
    }
}
