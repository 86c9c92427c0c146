//! The embedded default: everything `garrison up` needs to show a working gateway on a fresh
//! machine.
//!
//! [`prepare`] creates (once) a data directory with a development CA, a server certificate for
//! `localhost` / `127.0.0.1`, demo consumers each with an API key and a client certificate,
//! an admin token and a configuration file that refers to the keys only by digest. The
//! plaintext keys are written to `demo/` for the developer to use and are never stored
//! anywhere else. [`upstream`] is a small echo service for the gateway to route to.

mod bootstrap;
pub mod upstream;

pub use bootstrap::{DemoConsumer, DemoError, DemoState, console_certificate, prepare};
