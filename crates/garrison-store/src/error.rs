//! What can go wrong in the store.

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with the same unique name already exists (an organisation slug, an email…).
    #[error("{0} already exists")]
    Conflict(String),
    /// A record the operation refers to does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The operation breaks a rule of the domain (a decision on a decided subscription, a
    /// user without an organisation…).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database file was written by a newer Garrison.
    #[error("the store's schema is version {found}; this Garrison knows up to {known}")]
    SchemaTooNew {
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;
