//! Who is on the other end of a connection, worked out once when it is accepted.

use std::net::{IpAddr, SocketAddr};

use garrison_core::CertFingerprint;
use http::HeaderValue;

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
    /// `X-Forwarded-For` for a request from this peer when it is not a trusted proxy,
    /// formatted once per connection rather than once per request.
    pub(crate) forwarded_for: HeaderValue,
    /// `Forwarded` (RFC 7239) likewise.
    pub(crate) forwarded: HeaderValue,
}

impl ConnectionIdentity {
    /// The identity of a connection from `peer`.
    pub fn new(
        peer: SocketAddr,
        client_cert: Option<CertFingerprint>,
        tls: bool,
        listener: usize,
    ) -> Self {
        let ip = crate::proxy::headers::canonical(peer.ip());
        let proto = if tls { "https" } else { "http" };
        let forwarded = match ip {
            IpAddr::V4(v4) => format!("for={v4};proto={proto}"),
            IpAddr::V6(v6) => format!("for=\"[{v6}]\";proto={proto}"),
        };
        ConnectionIdentity {
            peer,
            client_cert,
            tls,
            listener,
            forwarded_for: header_value(ip.to_string()),
            forwarded: header_value(forwarded),
        }
    }
}

/// An IP address always makes a valid header value.
fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}
