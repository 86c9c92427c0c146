//! Garrison's data plane.
//!
//! The gateway accepts TLS (or plain) connections, works out each connection's identity once,
//! routes every request by host, method and path template, runs the route's admission checks
//! (address allow-lists, API key, certificate binding, subscription, rate limit), checks it
//! against its API's contract, and forwards it to a pooled upstream (or answers it from the
//! contract, for a mocked API) — or answers with an RFC 9457 problem. Everything a request needs is in
//! an immutable [`Snapshot`] compiled from the configuration and swapped atomically on reload.
//!
//! This crate knows how to serve a [`garrison_config::Config`]; it does not parse YAML, and it
//! holds no state that a restart would need (the limiter and metrics are in memory).

mod admin;
mod admin_audit;
mod audit;
mod body;
mod check;
mod conn_limit;
mod contract;
mod entitlement;
mod error;
mod identity;
mod lifecycle;
mod listener;
mod metrics;
mod proxy;
mod router;
mod server;
mod snapshot;
mod timer_anchor;
mod tls;
mod transfer;
mod upstream;
mod watch;

use bytes::Bytes;
use http_body_util::{Either, Full};

pub use admin::{AdminContext, AdminExtension, AdminFuture};
pub use error::{GatewayError, Side};
pub use identity::ConnectionIdentity;
pub use metrics::{ConsumerReading, LATENCY_BUCKETS_US, MetricsReader, RouteReading};
pub use server::{Gateway, GatewayOptions, ReloadError, Reloader, StartError};
pub use snapshot::{ConfigSummary, Snapshot};
pub use upstream::PooledBody;
#[cfg(unix)]
pub use watch::reload_on_sighup;
pub use watch::watch_config;

/// The body of every response the gateway sends: the upstream's stream, or a complete body
/// (a problem, a mock's answer, an upstream answer buffered to check it). Neither is boxed.
pub type GatewayBody = Either<upstream::PooledBody, Full<Bytes>>;
