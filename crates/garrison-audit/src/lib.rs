//! Garrison's tamper-evident audit trail of every access to personal data.
//!
//! A gateway hands each decision to an [`AuditLog`] as an [`AuditRecord`] — who asked, from
//! where, for which API and operation, why (the purpose headers), what was decided and which
//! fields were disclosed, and about whom as a keyed [`SubjectHash`], never the identifier
//! itself. The log chains every entry to the one before with SHA-256, signs a checkpoint of the
//! chain head with Ed25519 at intervals, at every segment start and on close, and acknowledges a
//! record only once it is stored ([`Durability`]: fsynced by default, or written). [`verify`]
//! proves a store unaltered and names the first broken line; [`search`] and
//! [`subject_access_report`] answer "who looked at this person's data, when and why".
//!
//! This crate must not know about HTTP, the gateway's types, configuration files or the CLI:
//! callers fill in plain strings and addresses, and own where keys come from. Two small pieces
//! live here so every tool behaves alike: the subject-keys file format ([`read_subject_keys`])
//! and the verification summary people read ([`VerifyReport::summary`]).
//!
//! # Why segment files and not SQLite
//! The store is one directory of append-only JSON-lines segment files, rolled at a size limit:
//! - **append-only** is the whole access pattern, and a file opened for append cannot rewrite
//!   history by accident; SQLite's pages, journal and vacuum would rewrite it routinely;
//! - **fsync batching** is one `write` + one `sync_data` per batch, with no journal or WAL
//!   checkpoint doubling the writes;
//! - **retention** removes whole old segments (`rm`), with no delete + vacuum over live data;
//!   every segment begins with a signed anchor so what remains still verifies;
//! - **offline verification** needs only the files, a public key and a few lines of any
//!   language (JSON, SHA-256, Ed25519) — no database engine, the same bytes that were hashed.
//!
//! Each closed segment gets an index (record times, subject digests) that lets a search skip
//! what cannot match; a PostgreSQL sink is for when that is not enough.
//!
//! See `docs/audit.md` for the format, guarantees and what is not done yet.

#![forbid(unsafe_code)]

mod canonical;
mod chain;
mod entry;
mod error;
mod export;
mod hex;
mod index;
mod keys;
mod record;
mod report;
mod retention;
mod search;
mod segment;
mod stats;
mod subject;
mod subject_keys;
mod time;
mod verify;
mod writer;

pub use chain::Acknowledged;
pub use entry::{
    Body, Checkpoint, CheckpointReason, Digest, GENESIS, SignatureHex, StoredEntry, key_id,
};
pub use error::AuditError;
pub use export::export_range;
pub use keys::{
    PUBLIC_KEY_FILE, SIGNING_KEY_FILE, parse_public_key, public_key_path, read_public_key,
};
pub use record::{AuditRecord, Decision, FileFacts, Purpose, PurposeHeader};
pub use report::{
    SubjectAccessReport, subject_access_report, write_csv, write_json_lines, write_table,
};
pub use retention::remove_segments_before;
pub use search::{DecisionFilter, Found, SearchFilter, search, search_last};
pub use segment::{Segment, list as list_segments};
pub use stats::{SYNC_BUCKETS_US, WriterStats};
pub use subject::{SubjectHash, SubjectKey, normalise_identifier};
pub use subject_keys::{SubjectKeysFile, parse_subject_keys, read_subject_keys};
pub use time::Timestamp;
pub use verify::{Problem, ProblemKind, VerifyReport, verify, verify_with_keys};
pub use writer::{AuditLog, AuditLogOptions, Durability, PendingAck, QueuePolicy};

/// The verifying half of an Ed25519 key (re-exported so callers need not depend on the crate).
pub use ed25519_dalek::VerifyingKey;
