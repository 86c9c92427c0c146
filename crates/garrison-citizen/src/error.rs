//! The one error type of the citizen crate.
//!
//! Messages never repeat the rejected input: a NI number, a postcode or a date of birth is
//! personal data, and error messages end up in logs.

use std::path::PathBuf;

use crate::nino::NinoRule;

/// Why a citizen operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CitizenError {
    /// A National Insurance number breaks one of HMRC's rules (NIM39110).
    #[error("invalid National Insurance number: {0}")]
    InvalidNino(NinoRule),
    /// A postcode is not in one of the UK formats.
    #[error("invalid postcode")]
    InvalidPostcode,
    /// A date is not a real `YYYY-MM-DD` date (or a month not `YYYY-MM`).
    #[error("invalid date")]
    InvalidDate,
    /// More people were asked for than there are distinct NI numbers to give them.
    #[error("a population holds at most {max} people ({requested} requested)")]
    TooManyPeople {
        /// The number asked for.
        requested: u64,
        /// The most the generator can give distinct NI numbers.
        max: u64,
    },
    /// The SQLite store failed.
    #[error("population store {}: {source}", path.display())]
    Store {
        /// The store file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation around the store (creating its directory, replacing the file) failed.
    #[error("population store {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a population store of this version, or holds a value it cannot have
    /// written.
    #[error("{} is not a usable population store: {reason}", path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The generator stopped because the thread writing its output failed.
    #[error("population generation stopped: {0}")]
    Generation(String),
}
