//! The audit trail over the admin API, for the portal and for operators: `GET /admin/audit`
//! searches with the filters of `garrison audit search` but the subject, and
//! `POST /admin/audit/subject-access` answers a subject-access request — every access to one
//! person's data — given the identifier in the body (never in a URL, which logs keep). Each is
//! itself an administrative access and is recorded; a subject-access lookup is recorded against
//! the person looked up.

use std::path::PathBuf;

use garrison_audit::{DecisionFilter, SearchFilter, SubjectHash, Timestamp};

/// The most records one answer holds.
pub(crate) const MAX_LIMIT: usize = 1000;

/// A parsed search: the filter and how many records to return (the newest first).
#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) filter: SearchFilter,
    pub(crate) limit: usize,
}

/// Parses the query string; an error names the parameter and what it should be.
pub(crate) fn parse(query: Option<&str>) -> Result<Query, String> {
    let mut filter = SearchFilter::default();
    let mut limit = 100;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(raw).ok_or_else(|| format!("{name}: not valid percent-encoding"))?;
        let time = |v: &str| {
            Timestamp::parse(v).map_err(|_| {
                format!("{name}: expected an RFC 3339 time such as 2026-11-25T00:00:00Z")
            })
        };
        match name {
            "from" => filter.from = Some(time(&value)?),
            "until" => filter.until = Some(time(&value)?),
            "consumer" => filter.consumer = Some(value),
            "api" => filter.api = Some(value),
            "purpose" => filter.purpose_context = Some(value),
            "decision" => {
                filter.decision = Some(match value.as_str() {
                    "allowed" => DecisionFilter::Allowed,
                    "refused" => DecisionFilter::Refused,
                    _ => return Err("decision: expected allowed or refused".to_owned()),
                })
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| format!("limit: expected 1 to {MAX_LIMIT}"))?
            }
            other => {
                return Err(format!(
                    "{other}: unknown parameter (from, until, consumer, api, purpose, decision, limit)"
                ));
            }
        }
    }
    Ok(Query { filter, limit })
}

/// Largest body `POST /admin/audit/subject-access` reads.
pub(crate) const MAX_SUBJECT_BODY: usize = 1024;

/// The identifier of a subject-access request: `{"identifier": "…"}` and nothing else. The
/// errors never repeat the body, which holds the identifier.
pub(crate) fn parse_subject(body: &[u8]) -> Result<String, String> {
    const EXPECTED: &str = "expected a JSON object with one member, identifier: a string";
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| EXPECTED.to_owned())?;
    let identifier = match value.as_object() {
        Some(object) if object.len() == 1 => object.get("identifier").and_then(|v| v.as_str()),
        _ => None,
    }
    .ok_or_else(|| EXPECTED.to_owned())?;
    let normalised = garrison_audit::normalise_identifier(identifier);
    if normalised.is_empty() || normalised.len() > 64 {
        return Err(
            "identifier: expected 1 to 64 letters and digits (spaces and hyphens are \
                    ignored)"
                .to_owned(),
        );
    }
    Ok(identifier.to_owned())
}

/// Every access recorded to the data of the person with `identifier`, under every key of the
/// subject-keys file (so accesses recorded before a key rotation are found): the JSON answer,
/// and the identifier's hash under the current key, to record this lookup against the person.
pub(crate) fn subject_access(
    dir: PathBuf,
    keys_file: PathBuf,
    identifier: String,
) -> Result<(String, SubjectHash), String> {
    let keys = garrison_audit::read_subject_keys(&keys_file)
        .map_err(|e| e.to_string())?
        .keys;
    let current = keys
        .first()
        .ok_or("the subject-keys file holds no key")?
        .hash(&identifier);
    let report = garrison_audit::subject_access_report(&dir, &identifier, &keys)
        .map_err(|e| e.to_string())?;
    let accesses: Vec<serde_json::Value> = report
        .accesses
        .iter()
        .map(|f| serde_json::json!({"seq": f.seq, "record": f.record}))
        .collect();
    let answer = serde_json::json!({"count": accesses.len(), "accesses": accesses});
    Ok((answer.to_string(), current))
}

/// Runs the search over the store in `dir`; returns the JSON answer.
pub(crate) fn run(dir: PathBuf, query: Query) -> Result<String, String> {
    // Only the page is held, however many records match.
    let (found, truncated) =
        garrison_audit::search_last(&dir, &query.filter, query.limit).map_err(|e| e.to_string())?;
    let records: Vec<serde_json::Value> = found
        .iter()
        .rev()
        .map(|f| serde_json::json!({"seq": f.seq, "record": f.record}))
        .collect();
    Ok(serde_json::json!({"records": records, "truncated": truncated}).to_string())
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_bad_ones_say_why() {
        let q = parse(Some(
            "consumer=dvla&decision=refused&from=2026-11-25T00%3A00%3A00Z&limit=5",
        ))
        .expect("valid");
        assert_eq!(q.filter.consumer.as_deref(), Some("dvla"));
        assert_eq!(q.limit, 5);
        assert!(q.filter.from.is_some());
        assert!(parse(Some("limit=0")).unwrap_err().starts_with("limit"));
        assert!(
            parse(Some("decision=maybe"))
                .unwrap_err()
                .starts_with("decision")
        );
        assert!(
            parse(Some("subject=QQ123456C"))
                .unwrap_err()
                .contains("unknown parameter")
        );
        assert!(
            parse(Some("from=yesterday"))
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
