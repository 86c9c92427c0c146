//! The citizen service over a real store, on a real socket, spoken to with a real HTTP client;
//! every answer with data is checked against its contract.

// The helpers (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

mod ids;
mod matching;
mod nino_patterns;
mod records;
mod refusals;
mod shutdown;
