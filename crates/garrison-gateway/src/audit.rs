//! Recording requests to audited routes in the audit trail: who asked, why (the purpose
//! headers), what was decided, what the upstream answered, which fields were disclosed and —
//! when the upstream names one in its `Garrison-Subject` response header — a keyed hash of
//! the data subject. The path, query and body are never recorded.

use std::net::IpAddr;
use std::sync::Arc;

use garrison_audit::{AuditLog, AuditRecord, Decision, Purpose, PurposeHeader, SubjectHash};
use http::HeaderMap;

use crate::error::Side;
use crate::identity::ConnectionIdentity;

/// The purpose headers and the names they are recorded under.
const PURPOSE: [(&str, PurposeHeader); 5] = [
    ("context", PurposeHeader::Context),
    ("policy-id", PurposeHeader::PolicyId),
    ("correlation-id", PurposeHeader::CorrelationId),
    ("instigating-user-id", PurposeHeader::InstigatingUserId),
    ("access-level", PurposeHeader::AccessLevel),
];

/// Longest purpose value kept: enough for any id, too short to smuggle a record into the log.
const MAX_PURPOSE_LEN: usize = 128;

/// The stated purpose of a request, read before the request is consumed.
pub(crate) fn purpose(headers: &HeaderMap) -> Purpose {
    let mut purpose = Purpose::new();
    for (name, key) in PURPOSE {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let value: String = value.chars().take(MAX_PURPOSE_LEN).collect();
            purpose.insert(key, value);
        }
    }
    purpose
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
    /// The keyed hash of the data subject the upstream named.
    pub(crate) subject: Option<SubjectHash>,
    /// For a file transfer: the file concerned.
    pub(crate) file: Option<garrison_audit::FileFacts>,
}

/// Appends the record of one request and waits until it is durable. An error means the
/// record is not safely stored, and the caller must not release the response.
pub(crate) async fn record(log: &Arc<AuditLog>, outcome: Outcome<'_>) -> Result<(), String> {
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
    record.subject = outcome.subject;
    record.file = outcome.file.map(Box::new);
    // What left the gateway: the entitled fields present, or `*` for a whole (unfiltered)
    // successful answer; nothing for a refusal or an error.
    record.disclosed_fields = match (outcome.disclosed, outcome.refusal) {
        (Some(fields), _) => fields,
        (None, None) if (200..300).contains(&outcome.status) => vec!["*".to_owned()],
        (None, _) => Vec::new(),
    };
    log.append(record)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
