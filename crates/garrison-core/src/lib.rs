//! Garrison's vocabulary: the API key format, certificate fingerprints and the RFC 9457 problems
//! every component answers with.
//!
//! This crate performs no I/O and knows nothing about configuration files, sockets or HTTP
//! servers; everything here is a pure value that the other crates share.

pub mod api_key;
pub mod fingerprint;
pub mod hex;
pub mod problem;

pub use api_key::{ApiKey, Environment, KeyDigest, KeyFormatError};
pub use fingerprint::{CertFingerprint, FingerprintError};
pub use problem::{Problem, ProblemCode, ProblemItem};
