//! Rate limits for Garrison.
//!
//! A limit is a [`Quota`] (a sustained rate and a burst) enforced by the generic cell rate
//! algorithm (GCRA): each limited subject is one [`Cell`] holding a single "theoretical arrival
//! time", updated with one compare-and-swap. The [`LocalLimiter`] owns the cells; the gateway
//! resolves a cell for every subscription when it compiles a snapshot, so the request path
//! touches one atomic and never hashes a key or takes a lock. Cells survive a reload (keyed by a
//! stable name), so reloading the configuration never resets anybody's allowance.
//!
//! This crate knows nothing about HTTP or consumers; a later Redis-backed limiter will implement
//! the same decision against server time.

mod gcra;
mod local;

pub use gcra::{Cell, Clock, Decision, Quota};
pub use local::{LimiterFull, LocalLimiter};
