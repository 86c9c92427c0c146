//! A real gateway on loopback with a control-plane store file and the admin REST API on its
//! admin listener; raw HTTP/1.1 calls; the admin API contract's validators.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use garrison_contract::{CompiledContract, compile, load};
use garrison_core::{ApiKey, Environment};
use garrison_gateway::{Gateway, GatewayOptions};
use garrison_portal::{Portal, PortalExtension, PortalSettings};
use garrison_store::{NewOrganisation, NewUser, Role, SqliteStore, Store, password};
use http::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

/// One answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Server {
    pub gateway: Gateway,
    pub portal: Arc<Portal>,
    pub store: Arc<SqliteStore>,
    pub admin_token: String,
    pub contract: CompiledContract,
    /// operationIds whose answers were checked against the contract.
    pub checked: Mutex<HashSet<String>>,
    /// Every answer body, to prove a key is never shown twice.
    pub bodies: Mutex<Vec<String>>,
}

pub fn contract() -> CompiledContract {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/garrison-admin-api.yaml");
    let contract = load(&file).unwrap_or_else(|e| panic!("{e}"));
    compile(&contract).unwrap_or_else(|e| panic!("{e}"))
}

impl Server {
    pub async fn start(settings: PortalSettings) -> Server {
        let dir = garrison_testkit::temp_dir("portal");
        let store = Arc::new(SqliteStore::open(&dir.join("control-plane.db")).unwrap());
        let admin_token = ApiKey::generate(Environment::Live)
            .unwrap()
            .expose()
            .to_owned();
        let yaml = format!(
            r#"
admin:
  listen: 127.0.0.1:0
  token_digest: "{digest}"
listeners:
  - name: public
    address: 127.0.0.1:0
upstreams:
  - name: main
    targets: [127.0.0.1:9]
routes:
  - name: status
    path: /status
    upstream: main
    auth: public
"#,
            digest = ApiKey::from_plaintext(admin_token.as_str()).digest()
        );
        let path = dir.join("garrison.yaml");
        std::fs::write(&path, yaml).unwrap();
        let config = garrison_config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let dyn_store: Arc<dyn Store> = store.clone();
        let portal = Portal::new(dyn_store.clone(), settings);
        let gateway = Gateway::start_with(
            config,
            GatewayOptions {
                store: Some(dyn_store),
                admin_extension: Some(Arc::new(PortalExtension(portal.clone()))),
            },
        )
        .await
        .unwrap();
        Server {
            gateway,
            portal,
            store,
            admin_token,
            contract: contract(),
            checked: Mutex::new(HashSet::new()),
            bodies: Mutex::new(Vec::new()),
        }
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.gateway.admin_addr()
    }

    /// Creates an organisation directly in the store.
    pub fn organisation(&self, slug: &str) -> i64 {
        self.store
            .create_organisation(NewOrganisation {
                slug: slug.into(),
                name: format!("{slug} agency"),
            })
            .unwrap()
            .id
    }

    /// Creates a user directly in the store.
    pub fn user(&self, email: &str, organisation: Option<i64>, role: Role) -> i64 {
        self.store
            .create_user(NewUser {
                email: email.into(),
                name: email.into(),
                organisation,
                role,
                password_hash: password::hash(PASSWORD).unwrap(),
            })
            .unwrap()
            .id
    }

    /// Signs in and returns the session token.
    pub async fn sign_in(&self, email: &str) -> String {
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        let answer = self
            .call("signIn", "POST", "/admin/v1/sessions", None, Some(body))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["token"].as_str().unwrap().to_owned()
    }

    /// Calls the admin listener and checks the answer against operation `operation_id`.
    pub async fn call(
        &self,
        operation_id: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        let answer = raw(
            self.admin_addr(),
            method,
            path,
            token,
            body.map(|b| b.to_string()),
        )
        .await;
        self.conforms(operation_id, &answer);
        self.bodies.lock().unwrap().push(answer.text());
        answer
    }

    #[track_caller]
    pub fn conforms(&self, operation_id: &str, answer: &Answer) {
        let operation = self
            .contract
            .operations()
            .iter()
            .find(|o| o.operation_id() == Some(operation_id))
            .unwrap_or_else(|| panic!("no operation {operation_id}"));
        if let Err(violations) =
            operation.validate_response(answer.status, &answer.headers, &answer.body)
        {
            panic!(
                "{operation_id} answered {} outside its contract: {violations}\n{}",
                answer.status,
                answer.text()
            );
        }
        self.checked.lock().unwrap().insert(operation_id.to_owned());
    }
}

/// Sends `request` as it is over a fresh connection and reads the answer until the server
/// closes it.
pub async fn exchange_bytes(addr: SocketAddr, request: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    out
}

/// [`exchange_bytes`], the answer as text.
pub async fn exchange(addr: SocketAddr, request: String) -> String {
    String::from_utf8(exchange_bytes(addr, &request).await).expect("a UTF-8 answer")
}

/// One HTTP/1.1 request over a fresh connection.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Answer {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or_default();
    let kind = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/json\r\n".to_owned()
    };
    let raw = exchange_bytes(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: admin\r\n{auth}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.get(9..12))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.append(
                http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}
