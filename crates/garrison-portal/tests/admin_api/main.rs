//! The admin REST API, through a real gateway's admin listener on loopback with a real
//! SQLite store: every operation's answers conform to `contracts/garrison-admin-api.yaml`,
//! and every operation refuses the callers it must refuse — anonymous callers, the wrong
//! role, and above all other organisations (a consumer cannot approve, cannot see another
//! organisation's applications, cannot read a key twice).
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod support;

mod applications;
mod catalogue;
mod conformance;
mod credentials;
mod events;
mod platform;
mod routing;
mod sessions;
mod subscriptions;
