//! The validated configuration: names resolved to indices, values parsed, files read.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use garrison_compose::{CheckDefinition, CompiledCheck};
use garrison_contract::Contract;
use garrison_contract::validate::CompiledContract;
use garrison_core::{CertFingerprint, KeyDigest};
use ipnet::IpNet;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A complete, valid configuration.
#[derive(Debug)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    /// The admin listener.
    pub admin: Admin,
    /// Gateway-wide settings.
    pub gateway: GatewaySettings,
    /// Where the gateway accepts connections.
    pub listeners: Vec<Listener>,
    /// Where routes forward to.
    pub upstreams: Vec<Upstream>,
    /// What the gateway serves: the routes declared one by one, then those derived from
    /// [`Config::apis`].
    pub routes: Vec<Route>,
    /// APIs declared by their contracts.
    pub apis: Vec<Api>,
    /// Rate plans.
    pub plans: Vec<Plan>,
    /// Who may call.
    pub consumers: Vec<Consumer>,
    /// Which consumer may call which route group, under which plan.
    pub subscriptions: Vec<Subscription>,
    /// The audit store, when any route is audited.
    pub audit: Option<AuditSettings>,
    /// The control-plane store and the admin REST API, when configured.
    pub control_plane: Option<ControlPlaneSettings>,
    /// File transfer services (tus uploads delivered to inboxes).
    pub transfers: Vec<Transfer>,
}

/// The control plane: its store (whose applications and subscriptions the gateway compiles
/// beside this file's), and the admin REST API's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPlaneSettings {
    /// The SQLite database file (relative paths are resolved against the configuration file).
    pub store: PathBuf,
    /// How long a signed-in session lasts.
    pub session_ttl: Duration,
    /// The widest IPv4 prefix an application's allow-list may hold (default 24).
    pub allow_list_max_prefix_ipv4: u8,
    /// The widest IPv6 prefix (default 64).
    pub allow_list_max_prefix_ipv6: u8,
    /// Whether consumer developers may create their own accounts on the web portal's
    /// sign-up page, each in a new organisation of their own (default false: accounts are
    /// created by a platform admin).
    pub self_sign_up: bool,
}

/// A file transfer service: senders upload files by the tus protocol, encrypted at rest, to
/// recipients' inboxes. Its routes are in the subscription group named like it.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Name: the subscription group of its routes and the API named in the audit trail.
    pub name: String,
    /// Prefix of its paths (`/files/v1`).
    pub base_path: String,
    /// The directory of its encrypted store (resolved against the configuration file).
    pub store: std::path::PathBuf,
    /// The master key ring file (resolved against the configuration file).
    pub master_keys_file: std::path::PathBuf,
    /// The master keys, read and checked when the configuration was loaded.
    pub master_keys: Arc<garrison_transfer::MasterKeys>,
    /// The document types an upload may declare.
    pub document_types: Vec<String>,
    /// The largest upload, in bytes (`Tus-Max-Size`).
    pub max_size: u64,
    /// How long an incomplete upload is kept (`Upload-Expires`).
    pub upload_expiry: Duration,
    /// How long a delivered file is kept when its recipient never acknowledges it.
    pub retention: Duration,
    /// How long an acknowledged file is kept before it is deleted.
    pub delete_acknowledged_after: Duration,
    /// How often expired uploads and files are looked for and deleted.
    pub sweep_interval: Duration,
    /// Whether every request, and every deletion, is recorded in the audit trail.
    pub audit: bool,
    /// Its inboxes.
    pub inboxes: Vec<Inbox>,
}

/// An inbox of a transfer service.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// Name (what senders address files to).
    pub name: String,
    /// The consumer that reads it (an index into [`Config::consumers`]).
    pub owner: usize,
    /// Where the gateway tells the recipient of each new file, if anywhere.
    pub webhook: Option<Webhook>,
}

/// A plain-HTTP endpoint that is sent `POST` notifications (like upstreams, inside the
/// network: never a URL a caller supplied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `host:port`.
    pub authority: String,
    /// The request path (and query), starting with `/`.
    pub path: String,
}

/// What a route of a transfer service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferOperation {
    /// `OPTIONS`/`POST` on the uploads collection: capabilities, creation.
    Uploads,
    /// `HEAD`/`PATCH`/`DELETE`/`OPTIONS` on one upload.
    Upload,
    /// `GET` an inbox's list of files.
    Inbox,
    /// `GET`/`HEAD` one file of an inbox.
    Download,
    /// `POST` the acknowledgement of one file.
    Acknowledge,
}

/// A route served by a transfer service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferRoute {
    /// Index into [`Config::transfers`].
    pub transfer: usize,
    /// What it does.
    pub operation: TransferOperation,
}

/// Where and how audit records are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The store's directory (relative paths are resolved against the configuration file).
    pub dir: PathBuf,
    /// `true` to shed records (and count them) when the queue is full; `false` (the default)
    /// makes requests wait: fail closed, as personal data needs.
    pub shed_when_full: bool,
    /// When a record counts as stored and its response may leave: `None` after its fsync
    /// (the default: survives a power cut); `Some(interval)` after its write (survives the
    /// process being killed), with an fsync at most `interval` later.
    pub write_then_sync: Option<std::time::Duration>,
    /// Shortest time between the starts of two batches of records: under load a record waits
    /// up to this long for others to share its write and fsync; an idle store writes at once.
    pub group_commit: std::time::Duration,
    /// The Ed25519 signing key file for checkpoints; `None` keeps it in the store directory.
    pub signing_key: Option<PathBuf>,
    /// The subject-keys file: the first key hashes the data subject an upstream names (in
    /// its `Garrison-Subject` response header) into each record; `None` records no subject.
    pub subject_keys: Option<PathBuf>,
}

/// The admin listener: metrics, health, reload. Plain HTTP, so keep it on loopback or a
/// management network.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// SHA-256 of the bearer token that `POST /admin/…` requires; `None` leaves those
    /// endpoints open to whoever can reach the admin address.
    pub token: Option<KeyDigest>,
}

/// Gateway-wide policy.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Peers whose `X-Forwarded-For` is believed (to find the caller's address) and whose
    /// `X-Forwarded-For` / `Forwarded` chains are extended rather than replaced.
    pub trusted_proxies: Vec<IpNet>,
    /// Networks allowed to call at all; empty means any.
    pub allow: Vec<IpNet>,
    /// Whether to write a JSON access-log line per request.
    pub access_log: bool,
    /// Limits against abuse.
    pub limits: Limits,
}

/// Limits against abuse (slowloris, header floods, h2 reset floods, oversized bodies).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (HTTP/1.1 buffer, h2 header list), in bytes.
    pub max_header_bytes: usize,
    /// Most request headers (HTTP/1.1).
    pub max_headers: usize,
    /// Time allowed to receive a request head.
    pub header_read_timeout: Duration,
    /// Time allowed to receive a whole request body.
    pub body_timeout: Duration,
    /// h2 liveness: a PING is sent after half this much idle time and the connection closed
    /// if it is not answered within the other half. (An idle HTTP/1.1 connection is closed by
    /// `header_read_timeout`, which runs while the gateway waits for the next request head.)
    pub keep_alive_timeout: Duration,
    /// A connection on which no request starts for this long is closed gracefully (h2: a
    /// GOAWAY, and requests in flight finish) — an idle h2 client that answers pings, or a
    /// plain-listener client that never says which protocol it speaks, would otherwise hold
    /// its connection for ever.
    pub idle_timeout: Duration,
    /// Time allowed for a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Concurrent connections from one IP address.
    pub max_connections_per_ip: u32,
    /// Concurrent connections to the public listeners in all.
    pub max_connections: u32,
    /// Default body limit of a route that sets none.
    pub max_body_bytes: u64,
    /// Concurrent h2 streams per connection.
    pub h2_max_concurrent_streams: u32,
    /// h2 streams reset by the client before the gateway accepted them (rapid reset).
    pub h2_max_pending_reset_streams: usize,
    /// h2 streams the gateway may reset for protocol errors before closing the connection.
    pub h2_max_local_error_reset_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(120),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections_per_ip: 512,
            max_connections: 10_000,
            max_body_bytes: 1024 * 1024,
            h2_max_concurrent_streams: 128,
            h2_max_pending_reset_streams: 32,
            h2_max_local_error_reset_streams: 256,
        }
    }
}

/// One listening socket.
#[derive(Debug)]
pub struct Listener {
    /// Name, for logs and metrics.
    pub name: String,
    /// Address to bind.
    pub address: SocketAddr,
    /// TLS settings; `None` serves plain HTTP (for use behind a TLS-terminating proxy).
    pub tls: Option<ListenerTls>,
}

/// A listener's TLS material and client-certificate policy.
#[derive(Debug)]
pub struct ListenerTls {
    /// The server certificate chain, leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The server's private key.
    pub key: PrivateKeyDer<'static>,
    /// Whether clients must present a certificate.
    pub client_certificates: ClientCertPolicy,
    /// CAs trusted to issue client certificates.
    pub client_ca: Vec<CertificateDer<'static>>,
    /// The oldest TLS version accepted.
    pub min_version: TlsVersion,
}

/// A TLS protocol version a listener may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246), with forward-secret AEAD suites only.
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

/// Whether a listener asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCertPolicy {
    /// The handshake fails without a certificate from a trusted CA.
    Required,
    /// A certificate is verified if sent; consumers bound to one still need it.
    Optional,
    /// No certificate is requested.
    Off,
}

/// A pool of upstream targets.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Name, for logs and metrics.
    pub name: String,
    /// `host:port` of each target (plain HTTP).
    pub targets: Vec<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for the response head, unless the route overrides it.
    pub request_timeout: Duration,
    /// Time an idle pooled connection is kept.
    pub idle_timeout: Duration,
    /// Idle connections kept per target.
    pub max_idle_per_target: usize,
    /// Consecutive failures that open a target's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one trial request.
    pub breaker_cooldown: Duration,
}

/// How a route authenticates callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteAuth {
    /// An API key, bound certificate and source address, and a subscription.
    ApiKey,
    /// Anyone allowed by the global allow-list (health checks, public documents).
    Public,
}

/// One routed operation.
#[derive(Debug, Clone)]
pub struct Route {
    /// Name, for logs and metrics.
    pub name: String,
    /// Subscription group.
    pub group: String,
    /// Host to match (lower case, no port); `None` matches any.
    pub host: Option<String>,
    /// Methods to match (upper case); empty matches any.
    pub methods: Vec<String>,
    /// Path template (`/citizens/{id}`, `/files/{*rest}`).
    pub path: String,
    /// Index into [`Config::upstreams`]; `None` for an operation of a mocked API, answered
    /// from its contract.
    pub upstream: Option<usize>,
    /// Response-head timeout, overriding the upstream's.
    pub timeout: Option<Duration>,
    /// Largest request body.
    pub max_body_bytes: u64,
    /// Authentication.
    pub auth: RouteAuth,
    /// Whether every request to this route is recorded in the audit trail.
    pub audit: bool,
    /// The contract operation this route serves, for a route derived from an API.
    pub operation: Option<RouteOperation>,
    /// For a route of a transfer service: which, and what it does.
    pub transfer: Option<TransferRoute>,
}

/// The contract operation behind a derived route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteOperation {
    /// Index into [`Config::apis`].
    pub api: usize,
    /// Index into [`garrison_contract::operations`] of the API's contract (and into its
    /// compiled operations).
    pub index: usize,
}

/// An API declared by its OpenAPI contract: one route per operation.
#[derive(Debug, Clone)]
pub struct Api {
    /// Name: the subscription group of its routes and the API named in the audit trail.
    pub name: String,
    /// The loaded contract.
    pub contract: Arc<Contract>,
    /// Its operations' validators, compiled once (indexed like [`garrison_contract::operations`]).
    pub compiled: Arc<CompiledContract>,
    /// Prefix of every operation's path (`/citizens/v1`), possibly empty.
    pub base_path: String,
    /// Answer from the contract's examples and schemas instead of an upstream (a sandbox).
    pub mock: bool,
    /// Check requests against the contract before they reach the upstream.
    pub validate_requests: bool,
    /// What to do with upstream responses that do not conform to the contract.
    pub responses: ResponseValidation,
    /// For a check: how its one operation is answered, by calls to other APIs' operations.
    pub check: Option<Check>,
}

/// A check: an API whose one operation is answered by composing calls to operations of other
/// APIs, and a decision rule over their results (see `garrison_compose`).
#[derive(Debug, Clone)]
pub struct Check {
    /// The declaration, as written.
    pub definition: CheckDefinition,
    /// Its expressions, compiled once.
    pub compiled: Arc<CompiledCheck>,
    /// Each operation a step calls (`api.operationId`) and the route that serves it (an index
    /// into [`Config::routes`]).
    pub targets: Vec<(String, usize)>,
}

/// What the gateway does with an upstream response that breaks the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseValidation {
    /// Responses are not checked (nothing is buffered).
    Off,
    /// Violations are counted and logged (with their location, never the values); the
    /// response passes unchanged.
    Report,
    /// A non-conforming response is replaced by `502 UPSTREAM_CONTRACT_VIOLATION`.
    Enforce,
}

/// A rate plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Name.
    pub name: String,
    /// Requests per period.
    pub requests: u32,
    /// The period.
    pub period: Duration,
    /// Requests admitted back to back.
    pub burst: u32,
}

/// A calling organisation's system.
#[derive(Debug, Clone)]
pub struct Consumer {
    /// Name (the consumer's identity in logs, metrics and upstream headers).
    pub name: String,
    /// Its API keys, by digest.
    pub keys: Vec<Key>,
    /// Client-certificate fingerprints it is bound to; empty means not bound.
    pub certificates: Vec<CertFingerprint>,
    /// Networks it may call from; empty means any (within the global allow-list).
    pub allow: Vec<IpNet>,
}

/// One API key of a consumer.
#[derive(Debug, Clone)]
pub struct Key {
    /// A non-secret id, for logs and rotation.
    pub id: String,
    /// SHA-256 of the key.
    pub digest: KeyDigest,
    /// A revoked key is refused as invalid.
    pub revoked: bool,
}

/// A consumer's right to call a route group under a plan.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Index into [`Config::consumers`].
    pub consumer: usize,
    /// Route group.
    pub group: String,
    /// Index into [`Config::plans`].
    pub plan: usize,
    /// The routes of the group this subscription may call (indices into [`Config::routes`],
    /// sorted); `None` allows every route of the group.
    pub operations: Option<Vec<usize>>,
    /// The response fields the consumer may receive, as dotted paths into the JSON body
    /// (`data.attributes.lastName`; arrays are crossed implicitly); `None` discloses the whole
    /// response. Everything else is removed by the gateway.
    pub fields: Option<Vec<String>>,
    /// The purposes (values of the `context` header) the consumer may state; `None` accepts
    /// any. With a list, a request without a purpose, or with another one, is refused.
    pub purposes: Option<Vec<String>>,
    /// For a transfer service: the inboxes the consumer may send files to (none without it).
    pub send_to: Vec<String>,
    /// For a transfer service: the document types the consumer may send; `None`: every type
    /// the service accepts.
    pub document_types: Option<Vec<String>>,
}
