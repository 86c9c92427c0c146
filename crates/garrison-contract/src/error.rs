//! Why a contract could not be loaded, always with the file and, where it applies, the JSON
//! pointer of the offending value.

use std::path::PathBuf;

/// A contract that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("{}: cannot read the file: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not well-formed YAML or JSON.
    #[error("{}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// What is malformed, with its line and column.
        message: String,
    },
    /// The document does not declare OpenAPI 3.0.x or 3.1.x.
    #[error("{}: #/openapi: {message}", file.display())]
    Version {
        /// The file.
        file: PathBuf,
        /// What was found instead.
        message: String,
    },
    /// A `$ref` could not be followed.
    #[error("{}: {pointer}: $ref {reference:?} {reason}", file.display())]
    Reference {
        /// The file holding the `$ref`.
        file: PathBuf,
        /// Where the `$ref` is in that file, as a `#/…` JSON pointer.
        pointer: String,
        /// The reference as written.
        reference: String,
        /// Why it cannot be followed.
        reason: String,
    },
}

impl LoadError {
    /// The file the problem is in.
    pub fn file(&self) -> &std::path::Path {
        match self {
            LoadError::Read { file, .. }
            | LoadError::Syntax { file, .. }
            | LoadError::Version { file, .. }
            | LoadError::Reference { file, .. } => file,
        }
    }

    /// The JSON pointer of the problem (`#` for the whole document).
    pub fn pointer(&self) -> &str {
        match self {
            LoadError::Reference { pointer, .. } => pointer,
            LoadError::Version { .. } => "#/openapi",
            LoadError::Read { .. } | LoadError::Syntax { .. } => "#",
        }
    }
}
