//! Who is on the other end of a connection, worked out once when it is accepted.

use std::net::SocketAddr;

use garrison_core::CertFingerprint;

/// The facts about a connection that every request on it shares.
#[derive(Debug, Clone)]
pub struct ConnectionIdentity {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// SHA-256 of the verified client certificate (leaf), if one was presented.
    pub client_cert: Option<CertFingerprint>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// Index of the listener that accepted it.
    pub listener: usize,
}
