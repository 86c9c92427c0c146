//! The harness every gateway test uses: a test PKI, a real upstream, a configuration written
//! to disk, and the real gateway started on 127.0.0.1:0.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of the harness.

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use garrison_core::{ApiKey, Environment};
use garrison_gateway::Gateway;
use garrison_testkit::client::{Protocol, TlsClient};
use garrison_testkit::pki::{IssuedCert, TestPki};
use garrison_testkit::upstream::{TestUpstream, refused_addr};
use http::Response;

/// A consumer of the test configuration.
pub struct TestConsumer {
    pub name: &'static str,
    pub key: String,
    pub cert: IssuedCert,
}

/// Knobs a test can turn; everything else is the standard test configuration.
#[derive(Clone)]
pub struct Setup {
    pub client_certificates: &'static str,
    pub rate: &'static str,
    pub burst: u32,
    pub global_allow: &'static str,
    pub limits: &'static str,
    pub extra_routes: String,
    pub breaker_failures: u32,
    pub access_log: bool,
    pub extra_upstreams: String,
    pub min_tls_version: &'static str,
    pub audit: bool,
    /// Entries of an `apis:` section (contract paths relative to the harness directory).
    pub apis: String,
    /// Extra entries of `subscriptions:`.
    pub extra_subscriptions: String,
    /// Files written into the harness directory before the configuration is loaded.
    pub files: Vec<(&'static str, String)>,
    /// A `transfers:` section (file transfer services), written as is.
    pub transfers: String,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            client_certificates: "required",
            rate: "1000/s",
            burst: 1000,
            global_allow: "[127.0.0.0/8, \"::1/128\"]",
            limits: "",
            extra_routes: String::new(),
            breaker_failures: 100,
            access_log: false,
            extra_upstreams: String::new(),
            min_tls_version: "1.2",
            audit: false,
            apis: String::new(),
            extra_subscriptions: String::new(),
            files: Vec::new(),
            transfers: String::new(),
        }
    }
}

pub struct Harness {
    pub dir: PathBuf,
    pub pki: TestPki,
    pub gateway: Gateway,
    pub upstream: TestUpstream,
    pub addr: SocketAddr,
    pub consumers: Vec<TestConsumer>,
    pub setup: Setup,
    pub refused: SocketAddr,
    pub admin_token: String,
}

pub const IMPORTED_KEY: &str = "legacy-kong-key-0001-abcdef";

impl Harness {
    pub async fn start(setup: Setup) -> Harness {
        Self::start_with(setup, |_| garrison_gateway::GatewayOptions::default()).await
    }

    /// Starts with options made for the harness directory (e.g. a store file in it).
    pub async fn start_with(
        setup: Setup,
        options: impl FnOnce(&std::path::Path) -> garrison_gateway::GatewayOptions,
    ) -> Harness {
        let dir = garrison_testkit::temp_dir("gateway");
        let pki = TestPki::create(&dir);
        let upstream = TestUpstream::start().await;
        let refused = refused_addr().await;
        let consumers = ["alice", "bob", "carol", "dave", "erin"]
            .into_iter()
            .map(|name| TestConsumer {
                name,
                key: ApiKey::generate(Environment::Test)
                    .expect("key")
                    .expose()
                    .to_owned(),
                cert: pki.client(name),
            })
            .collect::<Vec<_>>();
        let admin_token = ApiKey::generate(Environment::Live)
            .expect("key")
            .expose()
            .to_owned();
        let mut harness_setup = setup;
        let yaml = render(
            &harness_setup,
            &consumers,
            upstream.addr,
            refused,
            &admin_token,
        );
        if harness_setup.audit {
            let key = garrison_audit::SubjectKey::generate("test-1").expect("subject key");
            let path = dir.join("subject-keys");
            std::fs::write(&path, format!("test-1 {}\n", key.secret_hex())).expect("keys");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod");
            }
        }
        for (name, contents) in &harness_setup.files {
            std::fs::write(dir.join(name), contents).expect("write a harness file");
        }
        let path = dir.join("garrison.yaml");
        std::fs::write(&path, yaml).expect("write config");
        let config = garrison_config::load(&path).unwrap_or_else(|e| panic!("test config: {e}"));
        let gateway = Gateway::start_with(config, options(&dir))
            .await
            .expect("gateway starts");
        let addr = gateway.listen_addrs()[0];
        harness_setup.extra_routes = harness_setup.extra_routes.clone();
        Harness {
            dir,
            pki,
            gateway,
            upstream,
            addr,
            consumers,
            setup: harness_setup,
            refused,
            admin_token,
        }
    }

    pub fn consumer(&self, name: &str) -> &TestConsumer {
        self.consumers
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no consumer {name}"))
    }

    /// A client presenting `name`'s certificate.
    pub fn client(&self, name: &str, protocol: Protocol) -> TlsClient {
        TlsClient::new(
            &self.pki.ca.cert().cert_pem,
            Some(&self.consumer(name).cert),
            protocol,
        )
    }

    /// A client with no certificate.
    pub fn anonymous_client(&self, protocol: Protocol) -> TlsClient {
        TlsClient::new(&self.pki.ca.cert().cert_pem, None, protocol)
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("garrison.yaml")
    }

    /// Rewrites the configuration file with a changed setup.
    pub fn rewrite(&self, setup: &Setup) {
        let yaml = render(
            setup,
            &self.consumers,
            self.upstream.addr,
            self.refused,
            &self.admin_token,
        );
        std::fs::write(self.config_path(), yaml).expect("rewrite config");
    }

    /// GET `path` as `consumer` (certificate and key) over a fresh connection.
    pub async fn get_as(&self, consumer: &str, path: &str) -> Response<Bytes> {
        let key = self.consumer(consumer).key.clone();
        self.client(consumer, Protocol::Http1)
            .send(self.addr, garrison_testkit::client::get(path, Some(&key)))
            .await
            .expect("request")
    }
}

fn render(
    setup: &Setup,
    consumers: &[TestConsumer],
    upstream: SocketAddr,
    refused: SocketAddr,
    admin_token: &str,
) -> String {
    let c = |name: &str| consumers.iter().find(|c| c.name == name).expect("consumer");
    let digest = |name: &str| ApiKey::from_plaintext(c(name).key.as_str()).digest();
    let fp = |name: &str| c(name).cert.fingerprint_hex();
    format!(
        r#"
admin:
  listen: 127.0.0.1:0
  token_digest: "{admin}"
gateway:
  allow: {allow}
  access_log: {access_log}
  limits:
    header_read_timeout: 1s
    body_timeout: 1s
{limits}
listeners:
  - name: public
    address: 127.0.0.1:0
    tls:
      certificate: server.pem
      key: server.key
      client_certificates: {policy}
      client_ca: ca.pem
      min_version: "{min_tls}"
upstreams:
  - name: main
    targets: [{upstream}]
    connect_timeout: 1s
    request_timeout: 2s
  - name: down
    targets: [{refused}]
    connect_timeout: 1s
    circuit_breaker:
      failures: {failures}
      cooldown: 60s
  - name: pair
    targets: [{refused}, {upstream}]
    connect_timeout: 1s
{extra_upstreams}
routes:
  - name: citizen
    group: citizen
    methods: [GET, POST]
    path: /citizens/{{id}}
    upstream: main
    max_body_bytes: 1024
    audit: {audit}
  - name: upload
    group: citizen
    methods: [PUT]
    path: /uploads/{{id}}
    upstream: main
    max_body_bytes: 4000000
  - name: hang
    group: citizen
    path: /slow/hang
    upstream: main
    timeout: 300ms
  - name: reset
    group: citizen
    path: /boom/reset
    upstream: main
  - name: down
    group: citizen
    path: /down/{{id}}
    upstream: down
  - name: pair
    group: citizen
    path: /pair/{{id}}
    upstream: pair
  - name: status
    path: /public/status
    upstream: main
    auth: public
{extra}
apis:
{apis}
plans:
  - name: standard
    rate: {rate}
    burst: {burst}
consumers:
  - name: alice
    keys:
      - id: alice-1
        digest: "{alice}"
    certificates: ["{alice_fp}"]
  - name: bob
    keys:
      - id: bob-1
        digest: "{bob}"
    certificates: ["{bob_fp}"]
  - name: carol
    keys:
      - id: carol-1
        digest: "{carol}"
  - name: dave
    keys:
      - id: dave-1
        digest: "{dave}"
        revoked: true
  - name: erin
    keys:
      - id: erin-1
        digest: "{erin}"
    allow: [10.0.0.0/8]
  - name: frank
    keys:
      - id: frank-imported
        plaintext: "{imported}"
subscriptions:
  - consumer: alice
    group: citizen
    plan: standard
  - consumer: bob
    group: citizen
    plan: standard
  - consumer: dave
    group: citizen
    plan: standard
  - consumer: erin
    group: citizen
    plan: standard
  - consumer: frank
    group: citizen
    plan: standard
{extra_subscriptions}
{audit_section}
{transfers}"#,
        admin = ApiKey::from_plaintext(admin_token).digest(),
        allow = setup.global_allow,
        limits = setup.limits,
        policy = setup.client_certificates,
        min_tls = setup.min_tls_version,
        failures = setup.breaker_failures,
        access_log = setup.access_log,
        audit = setup.audit,
        audit_section = if setup.audit {
            "audit:\n  dir: audit\n  subject_keys: subject-keys\n"
        } else {
            ""
        },
        extra = setup.extra_routes,
        apis = if setup.apis.is_empty() {
            "  []"
        } else {
            &setup.apis
        },
        extra_subscriptions = setup.extra_subscriptions,
        transfers = setup.transfers,
        extra_upstreams = setup.extra_upstreams,
        rate = setup.rate,
        burst = setup.burst,
        alice = digest("alice"),
        alice_fp = fp("alice"),
        bob = digest("bob"),
        bob_fp = fp("bob"),
        carol = digest("carol"),
        dave = digest("dave"),
        erin = digest("erin"),
        imported = IMPORTED_KEY,
    )
}

/// The base path of the test transfer service.
pub const TRANSFER_BASE: &str = "/files/v1";

/// A setup with a transfer service `evidence`: alice may send medical assessments to bob's
/// inbox; carol may send to her own inbox only; bob reads his. Audited.
pub fn transfer_setup(expiry: &str, sweep: &str) -> Setup {
    let transfers = format!(
        r#"transfers:
  - name: evidence
    base_path: {TRANSFER_BASE}
    store: transfers
    master_keys: transfer-keys
    document_types: [medical-assessment, fit-note]
    max_size: 8000000
    upload_expiry: {expiry}
    delete_acknowledged_after: 0s
    sweep_interval: {sweep}
    audit: true
    inboxes:
      - name: bob-inbox
        owner: bob
      - name: carol-inbox
        owner: carol
"#
    );
    let subscriptions = r#"  - consumer: alice
    group: evidence
    plan: standard
    send_to: [bob-inbox]
    document_types: [medical-assessment]
  - consumer: bob
    group: evidence
    plan: standard
  - consumer: carol
    group: evidence
    plan: standard
    send_to: [carol-inbox]
"#;
    Setup {
        audit: true,
        transfers,
        extra_subscriptions: subscriptions.to_owned(),
        files: vec![(
            "transfer-keys",
            garrison_transfer::MasterKeys::generate_line("k1").expect("key"),
        )],
        ..Setup::default()
    }
}

/// Asserts a problem+json response with `status` and `code`.
pub fn assert_problem(response: &Response<Bytes>, status: u16, code: &str) {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status; body: {}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "content type"
    );
    let body = garrison_testkit::client::json(response);
    assert_eq!(body["code"], code, "code in {body}");
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("tag:garrison.dev"))
    );
    assert!(body["requestId"].is_string(), "request id in {body}");
}

/// Sends one plain HTTP/1.1 request to the admin listener; returns (status, body).
pub async fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("admin");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: admin\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
