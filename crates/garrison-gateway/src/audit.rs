//! Recording requests to audited routes in the audit trail: who asked, why (the purpose
//! headers), what was decided, what the upstream answered, which fields were disclosed and —
//! when the upstream names one in its `Garrison-Subject` response header — a keyed hash of
//! the data subject. The path, query and body are never recorded.

use std::net::IpAddr;

use garrison_audit::{AuditRecord, Decision, Purpose, PurposeHeader, SubjectHash};
use http::HeaderMap;
use http::header::Entry as HeaderEntry;

use crate::error::Side;
use crate::identity::ConnectionIdentity;
use crate::proxy::headers::SUBJECT;

/// Longest purpose value kept: enough for any id, too short to smuggle a record into the log.
const MAX_PURPOSE_LEN: usize = 128;

/// The purpose headers, by name. (Header names arrive lowercased.)
const PURPOSE_HEADERS: [(&str, PurposeHeader); 5] = [
    ("context", PurposeHeader::Context),
    ("policy-id", PurposeHeader::PolicyId),
    ("correlation-id", PurposeHeader::CorrelationId),
    ("instigating-user-id", PurposeHeader::InstigatingUserId),
    ("access-level", PurposeHeader::AccessLevel),
];

/// The stated purpose of a request, read before the request is consumed: the value of each
/// purpose header (an unreadable one is left out). One pass over the request's few headers,
/// where looking each purpose header up would hash five names for every request, most of them
/// absent. A purpose header stated twice is an error naming it: the record would say one
/// purpose while the upstream may act on the other.
pub(crate) fn purpose(headers: &HeaderMap) -> Result<Purpose, &'static str> {
    let mut purpose = Purpose::new();
    let mut seen = [false; PURPOSE_HEADERS.len()];
    for (name, value) in headers {
        let Some(i) = PURPOSE_HEADERS
            .iter()
            .position(|(n, _)| *n == name.as_str())
        else {
            continue;
        };
        let (name, key) = PURPOSE_HEADERS[i];
        if std::mem::replace(&mut seen[i], true) {
            return Err(name);
        }
        if let Ok(value) = value.to_str() {
            purpose.insert(key, value.chars().take(MAX_PURPOSE_LEN).collect());
        }
    }
    Ok(purpose)
}

/// Takes the data subjects an answer names out of its `Garrison-Subject` headers (the
/// consumer never sees them), adding those not yet noted to `subjects`: one per header
/// value or comma-separated within one, as a check about a household names several.
/// `None` leaves them uncollected (an unaudited route) but still removes them.
pub(crate) fn take_subjects(headers: &mut HeaderMap, subjects: Option<&mut Vec<String>>) {
    let HeaderEntry::Occupied(entry) = headers.entry(&SUBJECT) else {
        return;
    };
    let (_, values) = entry.remove_entry_mult();
    let Some(subjects) = subjects else { return };
    for value in values {
        let Ok(value) = value.to_str() else { continue };
        for subject in value.split(',').map(str::trim) {
            if subjects.len() == AuditRecord::MAX_SUBJECTS {
                return;
            }
            if !subject.is_empty() && !subjects.iter().any(|s| s == subject) {
                subjects.push(subject.to_owned());
            }
        }
    }
}

/// What the request path knows when the response is ready.
pub(crate) struct Outcome<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) api: &'a str,
    pub(crate) operation: &'a str,
    pub(crate) consumer: Option<&'a str>,
    pub(crate) conn: &'a ConnectionIdentity,
    pub(crate) client_ip: IpAddr,
    pub(crate) purpose: Purpose,
    /// `None` when the upstream answered; the problem code and side otherwise.
    pub(crate) refusal: Option<(&'static str, Side)>,
    pub(crate) status: u16,
    /// The fields disclosed after entitlement filtering; `None`: not filtered.
    pub(crate) disclosed: Option<Vec<String>>,
    /// The keyed hashes of the data subjects the upstream named.
    pub(crate) subjects: Vec<SubjectHash>,
    /// For a file transfer: the file concerned.
    pub(crate) file: Option<garrison_audit::FileFacts>,
}

/// The record of one request.
pub(crate) fn build(outcome: Outcome<'_>) -> AuditRecord {
    let (decision, upstream_status) = match outcome.refusal {
        None => (Decision::Allowed, Some(outcome.status)),
        // The consumer was entitled; the upstream failed to answer.
        Some((_, Side::Upstream)) => (Decision::Allowed, None),
        Some((code, _)) => (
            Decision::Refused {
                reason: code.to_owned(),
            },
            None,
        ),
    };
    let mut record = AuditRecord::new(outcome.request_id, outcome.api, outcome.operation, decision);
    record.consumer = outcome.consumer.map(str::to_owned);
    record.application = record.consumer.clone();
    record.client_cert_sha256 = outcome.conn.client_cert.map(|fp| fp.to_string());
    record.source_addr = Some(outcome.client_ip);
    record.purpose = outcome.purpose;
    record.upstream_status = upstream_status;
    record.set_subjects(outcome.subjects);
    record.file = outcome.file.map(Box::new);
    // What left the gateway: the entitled fields present, or `*` for a whole (unfiltered)
    // successful answer; nothing for a refusal or an error.
    record.disclosed_fields = match (outcome.disclosed, outcome.refusal) {
        (Some(fields), _) => fields,
        (None, None) if (200..300).contains(&outcome.status) => vec!["*".to_owned()],
        (None, _) => Vec::new(),
    };
    record
}

/// The outcome of a request whose client went away before its record was queued: admitted
/// (every wait in the request's path comes after authentication and the rate limit), no answer
/// from the upstream known, nothing disclosed.
pub(crate) fn abandoned(outcome: Outcome<'_>) -> AuditRecord {
    build(Outcome {
        refusal: Some(("CLIENT_CLOSED_REQUEST", Side::Upstream)),
        disclosed: None,
        ..outcome
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).expect("header value"));
        }
        map
    }

    #[test]
    fn every_purpose_header_is_read_and_nothing_else() {
        let read = purpose(&headers(&[
            ("x-api-key", b"grn_live_secret"),
            ("Context", b"licence-application"),
            ("policy-id", b"p-1"),
            ("correlation-id", b"c-2"),
            ("instigating-user-id", b"u-3"),
            ("access-level", b"ordinary"),
            ("policy", b"not a purpose header"),
        ]))
        .expect("each stated once");
        let expected: Purpose = [
            (PurposeHeader::Context, "licence-application"),
            (PurposeHeader::PolicyId, "p-1"),
            (PurposeHeader::CorrelationId, "c-2"),
            (PurposeHeader::InstigatingUserId, "u-3"),
            (PurposeHeader::AccessLevel, "ordinary"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
        assert_eq!(read, expected);
        assert!(
            purpose(&headers(&[("accept", b"*/*")]))
                .expect("none")
                .is_empty()
        );
    }

    #[test]
    fn every_subject_named_is_taken_once_and_the_headers_go() {
        let mut named = headers(&[
            ("garrison-subject", b"QQ123456C"),
            ("garrison-subject", b" AB123456C ,, QQ123456C"),
            ("garrison-subject", b"caf\xc3\xa9, CD123456A"),
            ("content-type", b"application/json"),
        ]);
        let mut subjects = vec!["ZZ000000Z".to_owned()];
        take_subjects(&mut named, Some(&mut subjects));
        assert_eq!(subjects, ["ZZ000000Z", "QQ123456C", "AB123456C"]);
        assert!(named.get("garrison-subject").is_none());
        assert!(named.get("content-type").is_some());

        // An unaudited route: removed all the same, noted nowhere.
        let mut named = headers(&[("garrison-subject", b"QQ123456C")]);
        take_subjects(&mut named, None);
        assert!(named.is_empty());

        // A response naming a crowd is recorded with the first few only.
        let crowd = (0..40)
            .map(|i| format!("S{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut named = headers(&[("garrison-subject", crowd.as_bytes())]);
        let mut subjects = Vec::new();
        take_subjects(&mut named, Some(&mut subjects));
        assert_eq!(subjects.len(), AuditRecord::MAX_SUBJECTS);
        assert_eq!(subjects[0], "S0");
    }

    #[test]
    fn a_purpose_stated_twice_is_refused_and_long_values_are_cut() {
        let long = "x".repeat(MAX_PURPOSE_LEN + 50);
        let read = purpose(&headers(&[
            ("context", b"caf\xc3\xa9"),
            ("policy-id", long.as_bytes()),
        ]))
        .expect("once each");
        assert_eq!(
            read.get(&PurposeHeader::Context),
            None,
            "unreadable: left out"
        );
        assert_eq!(read[&PurposeHeader::PolicyId].len(), MAX_PURPOSE_LEN);
        assert_eq!(
            purpose(&headers(&[
                ("correlation-id", b"c-1"),
                ("context", b"DVLA-LICENSING"),
                ("context", b"MARKETING"),
            ])),
            Err("context")
        );
    }
}
