//! rustls server configurations for the listeners: TLS 1.2 and 1.3 only, the `ring` provider,
//! ALPN for h2 and HTTP/1.1, session resumption, and the listener's client-certificate policy.

use std::sync::Arc;

use garrison_config::{ClientCertPolicy, ListenerTls, TlsVersion};
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};

/// Builds the server configuration of one listener.
pub(crate) fn server_config(tls: &ListenerTls) -> Result<Arc<ServerConfig>, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    // AES-128-GCM first: as strong as a caller needs, and its SHA-256 runs on the CPU's SHA
    // instructions where AES-256-GCM's SHA-384 does not. The server's order decides.
    provider
        .cipher_suites
        .sort_by_key(|suite| suite.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    let provider = Arc::new(provider);
    let versions: &[&'static rustls::SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS versions: {e}"))?;
    let builder = match tls.client_certificates {
        ClientCertPolicy::Off => builder.with_no_client_auth(),
        policy => {
            let mut roots = RootCertStore::empty();
            for ca in &tls.client_ca {
                roots
                    .add(ca.clone())
                    .map_err(|e| format!("client_ca: a certificate is not a usable CA: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if policy == ClientCertPolicy::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder
                .with_client_cert_verifier(verifier.build().map_err(|e| format!("client_ca: {e}"))?)
        }
    };
    let mut config = builder
        .with_single_cert(tls.cert_chain.clone(), tls.key.clone_key())
        .map_err(|e| format!("the certificate and key do not make a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ignore_client_order = true;
    // Resumption keeps repeat callers off the full handshake: tickets for TLS 1.3 (keys rotate
    // every few hours) and a bounded session cache for TLS 1.2.
    config.ticketer =
        rustls::crypto::ring::Ticketer::new().map_err(|e| format!("session tickets: {e}"))?;
    config.session_storage = ServerSessionMemoryCache::new(16_384);
    Ok(Arc::new(config))
}
