//! How the console reaches the gateway: its address, the TLS client (the CA it trusts, the
//! client certificate it presents) and the sandboxes it may call; and one exchange.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;

use super::{MAX_ANSWER, Outcome};
use crate::Portal;

/// How the console reaches the gateway.
pub struct ConsoleSettings {
    gateway: SocketAddr,
    server_name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    /// The sandbox route groups (`mock: true`) and their base paths.
    sandboxes: HashMap<String, String>,
    pub(super) timeout: Duration,
}

impl std::fmt::Debug for ConsoleSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSettings")
            .field("gateway", &self.gateway)
            .field("sandboxes", &self.sandboxes)
            .finish_non_exhaustive()
    }
}

impl ConsoleSettings {
    /// Calls to the gateway's listener at `gateway`, whose certificate must be issued by
    /// `ca_pem` for `server_name`, presenting the client certificate `cert_pem` (its key
    /// `key_pem`); `sandboxes` maps each sandbox route group to its base path (`/sandbox`).
    pub fn new(
        gateway: SocketAddr,
        server_name: &str,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &str,
        sandboxes: HashMap<String, String>,
        timeout: Duration,
    ) -> Result<ConsoleSettings, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(cert.map_err(|e| format!("CA: {e}"))?)
                .map_err(|e| format!("CA: {e}"))?;
        }
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("client certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| format!("client key: {e}"))?;
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("client certificate: {e}"))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|e| format!("server name: {e}"))?;
        Ok(ConsoleSettings {
            gateway,
            server_name,
            tls: Arc::new(tls),
            sandboxes,
            timeout,
        })
    }
}

impl Portal {
    /// Turns the try-it console on.
    pub fn set_console(&self, settings: ConsoleSettings) {
        *self.console.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(settings));
    }

    pub(super) fn console_settings(&self) -> Option<Arc<ConsoleSettings>> {
        self.console
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The base path of route group `group` when the console may call it.
    pub(in crate::web) fn sandbox_base(&self, group: &str) -> Option<String> {
        self.console_settings()?.sandboxes.get(group).cloned()
    }
}

pub(super) async fn exchange(
    settings: &ConsoleSettings,
    request: Request<Full<Bytes>>,
) -> Result<Outcome, String> {
    let tcp = tokio::net::TcpStream::connect(settings.gateway)
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(settings.tls.clone())
        .connect(settings.server_name.clone(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    let connection = tokio::spawn(connection);
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    let outcome = match answer {
        Ok(answer) => {
            let (parts, mut body) = answer.into_parts();
            let mut read = BytesMut::new();
            let mut truncated = false;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| e.to_string())?;
                if let Ok(data) = frame.into_data() {
                    let room = MAX_ANSWER - read.len();
                    if data.len() > room {
                        read.extend_from_slice(&data[..room]);
                        truncated = true;
                        break;
                    }
                    read.extend_from_slice(&data);
                }
            }
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let text = String::from_utf8_lossy(&read).into_owned();
            // JSON is shown indented; anything else as it came.
            let body = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or(text);
            Ok(Outcome::Answer {
                status: parts.status,
                headers,
                body,
                truncated,
            })
        }
        Err(e) => Err(e),
    };
    connection.abort();
    outcome
}
