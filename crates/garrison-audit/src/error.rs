//! The one error type of the audit crate.

use std::path::PathBuf;

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file or directory of the audit store could not be read or written.
    #[error("audit store I/O on {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another open log in this one) is writing this store: two writers
    /// would fork the chain.
    #[error("audit store {} is locked by another writer", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The queue was full under the `Shed` policy: the record was dropped and counted.
    #[error("audit queue full: record shed")]
    QueueFull,
    /// The writer has stopped: the log was closed, or its task ended.
    #[error("audit log is closed")]
    Closed,
    /// An earlier write or fsync failed; the writer refuses further records until reopened,
    /// because after a failed fsync the state of the file is unknown.
    #[error("audit writer failed earlier and refuses writes until reopened: {0}")]
    WriterFailed(String),
    /// The Ed25519 signing key or public key file is missing or malformed.
    #[error("audit signing key {}: {reason}", path.display())]
    SigningKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A public key given as text is not 32 bytes of hex.
    #[error("audit public key: {0}")]
    PublicKey(String),
    /// A subject key is unusable (empty id, short secret, bad hex).
    #[error("subject key: {0}")]
    SubjectKey(String),
    /// The store holds a damaged entry before its tail, so it cannot be a torn write; run
    /// `verify` to locate the damage.
    #[error("audit store {} line {line}: {reason}", path.display())]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An entry could not be serialised.
    #[error("serialising an audit entry: {0}")]
    Serialise(#[source] serde_json::Error),
    /// A timestamp is not RFC 3339 UTC.
    #[error("invalid timestamp {input:?}: expected RFC 3339 UTC such as 2026-01-31T12:00:00Z")]
    Timestamp {
        /// The text given.
        input: String,
    },
    /// The operating system could not provide random bytes.
    #[error("operating-system randomness unavailable: {0}")]
    Random(String),
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.into(),
            source,
        }
    }
}
