//! The web portal over real HTTP on loopback: sign-in with a form (throttled, same-origin
//! only), the session cookie's attributes, the catalogue with its search and filters, HTML
//! escaping, CSRF on sign-out, and the security headers of every page.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod support;

mod applications;
mod sign_in;
mod sign_up;
