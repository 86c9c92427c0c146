//! Garrison's declarative configuration.
//!
//! One YAML file declares listeners, upstreams, routes, plans, consumers and subscriptions.
//! [`load`] reads it, checks every rule and either returns a [`Config`] — fully resolved: names
//! turned into indices, durations and addresses parsed, certificate files read — or a
//! [`ConfigError`] listing *every* problem with its file, line, column and field. The gateway
//! compiles a `Config` into its request-path snapshot; it never sees YAML.
//!
//! This crate knows nothing about sockets, TLS sessions or HTTP.

mod diagnostic;
mod model;
mod schema;
mod validate;
mod values;

use std::path::Path;

pub use diagnostic::{ConfigError, Diagnostic};
pub use model::*;
pub use values::{parse_duration, parse_rate};

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(Diagnostic::file(path, format!("cannot read the file: {e}")))
    })?;
    load_str(path, &text)
}

/// Parses and validates configuration `text` as if read from `path` (which anchors relative
/// certificate paths and names the file in errors).
pub fn load_str(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw = schema::parse(path, text)?;
    validate::resolve(path, raw)
}
