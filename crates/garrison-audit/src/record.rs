//! What one audit record says: who asked, for what, why, what was decided and disclosed, and
//! about whom (as a keyed hash only).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{SubjectHash, Timestamp};

/// The purpose headers a consumer states with a request (who is asking, and why).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PurposeHeader {
    /// The business context of the request (for example `licence-application`).
    Context,
    /// The policy or legal basis the consumer relies on.
    PolicyId,
    /// The consumer's own correlation id, to join our record with theirs.
    CorrelationId,
    /// The consumer's member of staff (or process) who instigated the request.
    InstigatingUserId,
    /// The access level the consumer claims for this request.
    AccessLevel,
}

/// The purpose headers of one request. A `BTreeMap`, so the keys are always written in the same
/// order and the serialisation stays canonical.
pub type Purpose = BTreeMap<PurposeHeader, String>;

/// Whether the gateway let the request through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// The request was forwarded (or answered) under the consumer's entitlement.
    Allowed,
    /// The request was refused.
    Refused {
        /// The stable problem code, e.g. `RESOURCE_FORBIDDEN`.
        reason: String,
    },
}

/// One access (or attempted access) to personal data.
///
/// The field order here is the order in the store, and part of the chain's hash: do not reorder
/// fields, only append new ones (and say so in `docs/audit.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the gateway decided.
    pub time: Timestamp,
    /// The gateway's request id (also returned to the consumer).
    pub request_id: String,
    /// The consumer's id, if it authenticated.
    pub consumer: Option<String>,
    /// The consumer's application, if it authenticated.
    pub application: Option<String>,
    /// SHA-256 of the client certificate (hex), if one was presented.
    pub client_cert_sha256: Option<String>,
    /// The peer's address (after trusted-proxy handling).
    pub source_addr: Option<IpAddr>,
    /// The API's id.
    pub api: String,
    /// The operation's id within the API.
    pub operation: String,
    /// The purpose headers the consumer stated.
    pub purpose: Purpose,
    /// Allowed, or refused and why.
    pub decision: Decision,
    /// The upstream's HTTP status, if the request reached one.
    pub upstream_status: Option<u16>,
    /// The response fields disclosed after entitlement filtering (JSON pointers or names).
    pub disclosed_fields: Vec<String>,
    /// Whose data it was, as a keyed hash; `None` when the request names no subject.
    pub subject: Option<SubjectHash>,
    /// For a file transfer: which file, from whom, to which inbox, of which type, its size and
    /// checksum — never its content or name. Absent (and not serialised, so older records
    /// hash as before) for every other request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<FileFacts>>,
    /// The further data subjects of the same access, after `subject` — a check about a child
    /// and a parent names both. Absent (and not serialised, so older records hash as before)
    /// when there are none; at most [`AuditRecord::MAX_SUBJECTS`] in all with `subject`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_subjects: Vec<SubjectHash>,
}

/// What an audit record says about a transferred file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// The file (upload) id.
    pub id: String,
    /// The consumer that sent it.
    pub sender: String,
    /// The inbox it is addressed to.
    pub recipient: String,
    /// Its document type.
    pub document_type: String,
    /// Its declared size in bytes.
    pub size: u64,
    /// Bytes durably stored when the record was written.
    pub offset: u64,
    /// SHA-256 of the whole file (base64), once complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

// === impl AuditRecord ===

impl AuditRecord {
    /// A record stamped now, with only the required fields set; fill in the rest directly.
    pub fn new(
        request_id: impl Into<String>,
        api: impl Into<String>,
        operation: impl Into<String>,
        decision: Decision,
    ) -> Self {
        AuditRecord {
            time: Timestamp::now(),
            request_id: request_id.into(),
            consumer: None,
            application: None,
            client_cert_sha256: None,
            source_addr: None,
            api: api.into(),
            operation: operation.into(),
            purpose: Purpose::new(),
            decision,
            upstream_status: None,
            disclosed_fields: Vec::new(),
            subject: None,
            file: None,
            other_subjects: Vec::new(),
        }
    }

    /// Most data subjects one record names: enough for any household, too few to make one
    /// response's record unbounded.
    pub const MAX_SUBJECTS: usize = 16;

    /// Every data subject of the record: `subject`, then `other_subjects`.
    pub fn subjects(&self) -> impl Iterator<Item = &SubjectHash> {
        self.subject.iter().chain(&self.other_subjects)
    }

    /// Names the record's data subjects, in order and without repeats: the first becomes
    /// `subject`, the rest `other_subjects`; beyond [`AuditRecord::MAX_SUBJECTS`] are dropped.
    pub fn set_subjects(&mut self, subjects: impl IntoIterator<Item = SubjectHash>) {
        let mut all: Vec<SubjectHash> = Vec::new();
        for subject in subjects {
            if all.len() == Self::MAX_SUBJECTS {
                break;
            }
            if !all.contains(&subject) {
                all.push(subject);
            }
        }
        let mut all = all.into_iter();
        self.subject = all.next();
        self.other_subjects = all.collect();
    }
}
