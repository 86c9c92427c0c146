//! Real TLS clients for tests: rustls with an optional client certificate, HTTP/1.1 or h2.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::pki::IssuedCert;

/// Which HTTP version to negotiate by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2.
    Http2,
}

/// A TLS client trusting one CA, optionally presenting a client certificate.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
}

impl TlsClient {
    /// A client that trusts `ca_pem` and presents `identity` if given.
    pub fn new(ca_pem: &str, identity: Option<&IssuedCert>, protocol: Protocol) -> Self {
        Self::with_versions(
            ca_pem,
            identity,
            protocol,
            &[&rustls::version::TLS13, &rustls::version::TLS12],
        )
    }

    /// The same, offering only the given TLS versions.
    pub fn with_versions(
        ca_pem: &str,
        identity: Option<&IssuedCert>,
        protocol: Protocol,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA certificate");
        }
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("protocol versions")
            .with_root_certificates(roots);
        let mut config = match identity {
            Some(id) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                        .collect::<Result<Vec<_>, _>>()
                        .expect("client cert PEM"),
                    PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).expect("client key PEM"),
                )
                .expect("client auth"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = match protocol {
            Protocol::Http1 => vec![b"http/1.1".to_vec()],
            Protocol::Http2 => vec![b"h2".to_vec()],
        };
        TlsClient {
            config: Arc::new(config),
        }
    }

    /// Opens a TLS connection to `addr` for server name `localhost`.
    pub async fn connect(&self, addr: SocketAddr) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("localhost").expect("server name");
        TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
    }

    /// Opens a connection and returns a sender for requests on it, speaking the protocol the
    /// client was built for.
    pub async fn open(&self, addr: SocketAddr) -> std::io::Result<Sender> {
        let stream = self.connect(addr).await?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(stream);
        let other = |e: hyper::Error| std::io::Error::other(e);
        if h2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(other)?;
            tokio::spawn(conn);
            Ok(Sender::Http2(sender))
        } else {
            let (sender, conn) = http1::handshake(io).await.map_err(other)?;
            tokio::spawn(conn);
            Ok(Sender::Http1(sender))
        }
    }

    /// Opens a connection, sends one request and reads the whole response.
    pub async fn send(
        &self,
        addr: SocketAddr,
        request: Request<Full<Bytes>>,
    ) -> std::io::Result<Response<Bytes>> {
        self.open(addr).await?.send(request).await
    }
}

/// A request sender over one connection.
pub enum Sender {
    /// HTTP/1.1.
    Http1(http1::SendRequest<Full<Bytes>>),
    /// h2.
    Http2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// Sends `request` and collects the response body.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> std::io::Result<Response<Bytes>> {
        let other = |e: hyper::Error| std::io::Error::other(e);
        let response = match self {
            Sender::Http1(s) => {
                s.ready().await.map_err(other)?;
                s.send_request(request).await.map_err(other)?
            }
            Sender::Http2(s) => {
                s.ready().await.map_err(other)?;
                s.send_request(request).await.map_err(other)?
            }
        };
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.map_err(other)?.to_bytes();
        Ok(Response::from_parts(parts, bytes))
    }

    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        match self {
            Sender::Http1(_) => Protocol::Http1,
            Sender::Http2(_) => Protocol::Http2,
        }
    }
}

/// A GET request for `path` with optional API key.
pub fn get(path: &str, key: Option<&str>) -> Request<Full<Bytes>> {
    request("GET", path, key, Bytes::new())
}

/// A request with a method, path, optional API key and body.
pub fn request(method: &str, path: &str, key: Option<&str>, body: Bytes) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("https://localhost{path}"));
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    builder.body(Full::new(body)).expect("request")
}

/// The response body as JSON.
pub fn json(response: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(response.body())
        )
    })
}
