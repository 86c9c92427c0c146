//! Tests of the engine through its public API, against an in-memory [`Caller`](crate::Caller).

mod double;
mod engine;
mod free_school_meals;
