//! Shared setup for the citizen service tests: the store, a running service, requests, checks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use garrison_citizen::{Address, CitizenService, Person, Population, ServiceOptions, Store, serve};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const SEED: u64 = 7;
const PEOPLE: u64 = 10_000;

/// The store, built once for every test of this binary into Cargo's scratch directory for
/// integration tests (each run replaces it).
pub(crate) fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("citizen-service");
        let path = dir.join("population.db");
        Store::build(&path, Population::new(SEED), PEOPLE, |_| {}).unwrap();
        path
    })
}

pub(crate) fn sql() -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(store(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

pub(crate) fn person(id: u64) -> Person {
    Store::open(store()).unwrap().person(id).unwrap().unwrap()
}

/// A running service.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub(crate) async fn start(options: ServiceOptions) -> Running {
    let service = Arc::new(CitizenService::new(store(), options).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, service, async move {
        let _ = stopped.await;
    }));
    Running { addr, _stop: stop }
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub(crate) fn subject(&self) -> Option<&str> {
        self.headers
            .get("garrison-subject")
            .map(|v| v.to_str().unwrap())
    }

    /// A problem document with this status and code.
    pub(crate) fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.headers["content-type"], "application/problem+json");
        let body = self.json();
        assert_eq!(body["status"], status);
        assert_eq!(body["code"], code);
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .starts_with("tag:garrison.dev")
        );
        assert!(body["title"].is_string());
        assert!(self.subject().is_none(), "a refusal names no subject");
    }
}

pub(crate) async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    consumer: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if let Some(consumer) = consumer {
        request = request.header("garrison-consumer", consumer);
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub(crate) fn match_body(attributes: Value) -> Vec<u8> {
    json!({"data": {"type": "Match", "attributes": attributes}})
        .to_string()
        .into_bytes()
}

/// The details that pick out `p` alone: last name, date of birth, NI number fragment.
pub(crate) fn unique(p: &Person) -> Value {
    json!({
        "lastName": p.last_name,
        "dateOfBirth": p.date_of_birth.to_string(),
        "ninoFragment": p.nino.fragment(),
    })
}

/// Asks to match `attributes` for `consumer`.
pub(crate) async fn try_match(addr: SocketAddr, consumer: &str, attributes: Value) -> Answer {
    send(
        addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some(consumer),
        Some(match_body(attributes)),
    )
    .await
}

/// GETs `path` as the consumer `dfe`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Answer {
    send(addr, Method::GET, path, Some("dfe"), None).await
}

/// Matches `attributes` for `consumer`; returns the match id.
pub(crate) async fn match_id(addr: SocketAddr, consumer: &str, attributes: Value) -> String {
    let answer = try_match(addr, consumer, attributes).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["data"]["id"].as_str().unwrap().to_owned()
}

fn contract(name: &str) -> garrison_contract::CompiledContract {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts")
        .join(format!("citizen-{name}.yaml"));
    let loaded = garrison_contract::load(&path).unwrap();
    garrison_contract::compile(&loaded).unwrap()
}

pub(crate) fn assert_conforms(name: &str, answer: &Answer) {
    let compiled = contract(name);
    let operation = &compiled.operations()[0];
    if let Err(violations) =
        operation.validate_response(answer.status, &answer.headers, &answer.body)
    {
        panic!(
            "citizen-{name}: {:?}\n{}",
            violations.0,
            String::from_utf8_lossy(&answer.body)
        );
    }
}

pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The current address of `p`, from the store.
pub(crate) fn current_address(p: &Person) -> Address {
    Store::open(store())
        .unwrap()
        .current_address(p.id)
        .unwrap()
        .unwrap()
}

/// Someone alive, with an in-payment Universal Credit claim and earnings.
pub(crate) fn claimant() -> Person {
    let id: i64 = sql()
        .query_row(
            "SELECT c.person_id FROM claims c JOIN people p ON p.id = c.person_id \
             WHERE c.benefit = 'universal_credit' AND c.status = 'in_payment' \
             AND p.date_of_death IS NULL \
             AND EXISTS (SELECT 1 FROM earnings e WHERE e.person_id = c.person_id) \
             ORDER BY c.person_id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    person(id as u64)
}
/// Two people with the same last name and date of birth (twins, or a coincidence).
pub(crate) fn namesakes() -> (Person, Person) {
    let (a, b): (i64, i64) = sql()
        .query_row(
            "SELECT min(id), max(id) FROM people GROUP BY last_name_key, date_of_birth \
             HAVING count(*) = 2 ORDER BY min(id) LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    (person(a as u64), person(b as u64))
}
