//! The citizen service over a real store, on a real socket, spoken to with a real HTTP client;
//! every answer with data is checked against its contract.

// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use garrison_citizen::{CitizenService, Person, Population, ServiceOptions, Store, serve};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const SEED: u64 = 7;
const PEOPLE: u64 = 10_000;

/// The store, built once for every test of this binary into Cargo's scratch directory for
/// integration tests (each run replaces it).
fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("citizen-service");
        let path = dir.join("population.db");
        Store::build(&path, Population::new(SEED), PEOPLE, |_| {}).unwrap();
        path
    })
}

fn sql() -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(store(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

fn person(id: u64) -> Person {
    Store::open(store()).unwrap().person(id).unwrap().unwrap()
}

/// A running service.
struct Running {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(options: ServiceOptions) -> Running {
    let service = Arc::new(CitizenService::new(store(), options).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, service, async move {
        let _ = stopped.await;
    }));
    Running { addr, _stop: stop }
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn subject(&self) -> Option<&str> {
        self.headers
            .get("garrison-subject")
            .map(|v| v.to_str().unwrap())
    }

    /// A problem document with this status and code.
    fn assert_problem(&self, status: u16, code: &str) {
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

async fn send(
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

fn match_body(attributes: Value) -> Vec<u8> {
    json!({"data": {"type": "Match", "attributes": attributes}})
        .to_string()
        .into_bytes()
}

/// The details that pick out `p` alone: last name, date of birth, NI number fragment.
fn unique(p: &Person) -> Value {
    json!({
        "lastName": p.last_name,
        "dateOfBirth": p.date_of_birth.to_string(),
        "ninoFragment": p.nino.fragment(),
    })
}

async fn match_id(addr: SocketAddr, consumer: &str, attributes: Value) -> String {
    let answer = send(
        addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some(consumer),
        Some(match_body(attributes)),
    )
    .await;
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

fn assert_conforms(name: &str, answer: &Answer) {
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

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Someone alive, with an in-payment Universal Credit claim and earnings.
fn claimant() -> Person {
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

#[tokio::test]
async fn a_known_person_matches_and_each_granular_api_answers_as_its_contract_says() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let first = match_id(service.addr, "dfe", unique(&p)).await;
    assert!(is_uuid(&first), "{first}");
    let second = match_id(service.addr, "dfe", unique(&p)).await;
    assert_ne!(first, second, "every match gets a fresh id");

    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(unique(&p))),
    )
    .await;
    assert_conforms("match", &answer);
    assert_eq!(answer.json()["data"]["type"], "MatchResult");

    let base = format!("/capi/v2/citizens/{first}");
    let nino = p.nino.compact();

    let details = send(service.addr, Method::GET, &base, Some("dfe"), None).await;
    assert_eq!(details.status, 200);
    assert_conforms("details", &details);
    assert_eq!(details.subject(), Some(nino.as_str()));
    let attributes = &details.json()["data"]["attributes"];
    assert_eq!(attributes["lastName"], p.last_name.as_str());
    assert_eq!(attributes["nino"], nino.as_str());
    assert_eq!(details.json()["data"]["id"], first.as_str());
    assert!(attributes.get("dateOfDeath").is_none());

    let address = send(
        service.addr,
        Method::GET,
        &format!("{base}/address"),
        Some("dfe"),
        None,
    )
    .await;
    assert_eq!(address.status, 200);
    assert_conforms("address", &address);
    assert_eq!(address.subject(), Some(nino.as_str()));
    let current = Store::open(store())
        .unwrap()
        .current_address(p.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        address.json()["data"]["attributes"]["postcode"],
        current.postcode.as_str()
    );

    let claims = send(
        service.addr,
        Method::GET,
        &format!("{base}/claims"),
        Some("dfe"),
        None,
    )
    .await;
    assert_eq!(claims.status, 200);
    assert_conforms("claims", &claims);
    assert_eq!(claims.subject(), Some(nino.as_str()));
    let all = claims.json()["data"].as_array().unwrap().clone();
    assert!(
        all.iter()
            .any(|c| c["attributes"]["benefitType"] == "universal_credit"
                && c["attributes"]["status"] == "in_payment")
    );
    let starts: Vec<&str> = all
        .iter()
        .map(|c| c["attributes"]["startDate"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {starts:?}"
    );
    let uc = all
        .iter()
        .find(|c| c["attributes"]["benefitType"] == "universal_credit")
        .unwrap();
    assert!(uc["attributes"]["awards"][0]["assessmentAttributes"]["takeHomePay"].is_u64());

    let filtered = send(
        service.addr,
        Method::GET,
        &format!("{base}/claims?benefitType=pensions_credit,income_support&effectiveFromDate=2026-01-01&effectiveToDate=2026-10-31"),
        Some("dfe"),
        None,
    )
    .await;
    assert_eq!(filtered.status, 200);
    assert_conforms("claims", &filtered);
    assert!(
        filtered.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["attributes"]["benefitType"] != "universal_credit"),
        "filtered by benefit type"
    );
    let only_uc = send(
        service.addr,
        Method::GET,
        &format!("{base}/claims?benefitType=universal_credit"),
        Some("dfe"),
        None,
    )
    .await;
    assert_conforms("claims", &only_uc);
    assert!(!only_uc.json()["data"].as_array().unwrap().is_empty());

    let income = send(
        service.addr,
        Method::GET,
        &format!("{base}/income?fromMonth=2024-11&toMonth=2026-10"),
        Some("dfe"),
        None,
    )
    .await;
    assert_eq!(income.status, 200);
    assert_conforms("income", &income);
    assert_eq!(income.subject(), Some(nino.as_str()));
    let months = income.json()["data"]["attributes"]["months"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(months.len(), 24, "every month, with or without earnings");
    assert_eq!(months[0]["month"], "2024-11");
    assert_eq!(months[23]["month"], "2026-10");
    assert!(months.iter().any(|m| m["earnings"].as_u64().unwrap() > 0));

    let future = send(
        service.addr,
        Method::GET,
        &format!("{base}/income?fromMonth=2030-01&toMonth=2030-03"),
        Some("dfe"),
        None,
    )
    .await;
    assert_conforms("income", &future);
    assert!(
        future.json()["data"]["attributes"]["months"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["earnings"] == 0),
        "a month without earnings is 0"
    );

    for (query, why) in [
        ("fromMonth=2024-01&toMonth=2026-01", "25 months"),
        ("fromMonth=2026-02&toMonth=2026-01", "backwards"),
        ("fromMonth=2026-01", "toMonth missing"),
        ("fromMonth=2026-1&toMonth=2026-02", "not YYYY-MM"),
    ] {
        let answer = send(
            service.addr,
            Method::GET,
            &format!("{base}/income?{query}"),
            Some("dfe"),
            None,
        )
        .await;
        answer.assert_problem(400, "REQUEST_INVALID");
        assert_conforms("income", &answer);
        assert!(
            !answer.json()["errors"].as_array().unwrap().is_empty(),
            "{why}"
        );
    }
    let answer = send(
        service.addr,
        Method::GET,
        &format!("{base}/claims?benefitType=child_benefit"),
        Some("dfe"),
        None,
    )
    .await;
    answer.assert_problem(400, "REQUEST_INVALID");
    assert_conforms("claims", &answer);
}

/// Two people with the same last name and date of birth (twins, or a coincidence).
fn namesakes() -> (Person, Person) {
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

#[tokio::test]
async fn namesakes_are_refused_until_disambiguated() {
    let service = start(ServiceOptions::default()).await;
    let (a, b) = namesakes();
    assert_eq!(a.date_of_birth, b.date_of_birth);
    let both = json!({"lastName": a.last_name, "dateOfBirth": a.date_of_birth.to_string()});
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(both.clone())),
    )
    .await;
    answer.assert_problem(422, "MORE_THAN_ONE_MATCH");
    assert_conforms("match", &answer);

    // Upper case and stray punctuation do not decide a match.
    let mut shouted = both.clone();
    shouted["lastName"] = format!(" {}.", a.last_name.to_uppercase()).into();
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(shouted)),
    )
    .await;
    assert_eq!(answer.status, 422);

    for p in [&a, &b] {
        let mut by_fragment = both.clone();
        by_fragment["ninoFragment"] = p.nino.fragment().into();
        let id = match_id(service.addr, "dfe", by_fragment).await;
        let details = send(
            service.addr,
            Method::GET,
            &format!("/capi/v2/citizens/{id}"),
            Some("dfe"),
            None,
        )
        .await;
        assert_eq!(details.subject(), Some(p.nino.compact().as_str()));
    }
    if a.first_name != b.first_name {
        let mut by_name = both.clone();
        by_name["firstName"] = a.first_name.to_lowercase().into();
        let id = match_id(service.addr, "dfe", by_name).await;
        let details = send(
            service.addr,
            Method::GET,
            &format!("/capi/v2/citizens/{id}"),
            Some("dfe"),
            None,
        )
        .await;
        assert_eq!(details.subject(), Some(a.nino.compact().as_str()));
    }
}

#[tokio::test]
async fn postcode_narrows_a_match_to_the_current_address() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let current = Store::open(store())
        .unwrap()
        .current_address(p.id)
        .unwrap()
        .unwrap();
    let mut attributes = unique(&p);
    attributes["postcode"] = current
        .postcode
        .as_str()
        .to_lowercase()
        .replace(' ', "")
        .into();
    match_id(service.addr, "dfe", attributes.clone()).await;
    attributes["postcode"] = "ZZ99 9ZZ".into();
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(attributes.clone())),
    )
    .await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    attributes["postcode"] = "nonsense".into();
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(attributes)),
    )
    .await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn nobody_matching_is_404() {
    let service = start(ServiceOptions::default()).await;
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(
            json!({"lastName": "Nobody-Such", "dateOfBirth": "1901-01-01"}),
        )),
    )
    .await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    assert_conforms("match", &answer);
}

#[tokio::test]
async fn an_id_is_only_for_the_consumer_that_matched() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let id = match_id(service.addr, "dfe", unique(&p)).await;
    for suffix in [
        "",
        "/address",
        "/claims",
        "/income?fromMonth=2026-01&toMonth=2026-02",
    ] {
        let path = format!("/capi/v2/citizens/{id}{suffix}");
        let theirs = send(service.addr, Method::GET, &path, Some("hmrc"), None).await;
        theirs.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
        let unknown = send(
            service.addr,
            Method::GET,
            &format!("/capi/v2/citizens/3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15{suffix}"),
            Some("dfe"),
            None,
        )
        .await;
        assert_eq!(
            unknown.body, theirs.body,
            "another's id reads exactly as an unknown one"
        );
        let ours = send(service.addr, Method::GET, &path, Some("dfe"), None).await;
        assert_eq!(ours.status, 200, "{path}");
    }
}

#[tokio::test]
async fn an_expired_id_is_404() {
    let service = start(ServiceOptions::default().with_match_ttl(Duration::ZERO)).await;
    let id = match_id(service.addr, "dfe", unique(&claimant())).await;
    let answer = send(
        service.addr,
        Method::GET,
        &format!("/capi/v2/citizens/{id}"),
        Some("dfe"),
        None,
    )
    .await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn a_full_id_registry_refuses_new_matches_with_503() {
    let service = start(ServiceOptions::default().with_max_matches(2)).await;
    let p = claimant();
    match_id(service.addr, "dfe", unique(&p)).await;
    match_id(service.addr, "dfe", unique(&p)).await;
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(match_body(unique(&p))),
    )
    .await;
    answer.assert_problem(503, "SERVICE_UNAVAILABLE");
    assert_eq!(answer.headers["retry-after"], "1");
    assert_conforms("match", &answer);
}

#[tokio::test]
async fn a_request_not_from_the_gateway_is_403() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        None,
        Some(match_body(unique(&p))),
    )
    .await;
    answer.assert_problem(403, "RESOURCE_FORBIDDEN");
    assert_conforms("match", &answer);
    let id = match_id(service.addr, "dfe", unique(&p)).await;
    for consumer in [None, Some("")] {
        let answer = send(
            service.addr,
            Method::GET,
            &format!("/capi/v2/citizens/{id}"),
            consumer,
            None,
        )
        .await;
        answer.assert_problem(403, "RESOURCE_FORBIDDEN");
    }
}

#[tokio::test]
async fn a_deceased_persons_details_carry_the_date_of_death_and_no_address() {
    let service = start(ServiceOptions::default()).await;
    let id: i64 = sql()
        .query_row(
            "SELECT id FROM people WHERE date_of_death IS NOT NULL ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let p = person(id as u64);
    let death = p.date_of_death.unwrap();
    let match_id = match_id(service.addr, "dfe", unique(&p)).await;
    let details = send(
        service.addr,
        Method::GET,
        &format!("/capi/v2/citizens/{match_id}"),
        Some("dfe"),
        None,
    )
    .await;
    assert_eq!(details.status, 200);
    assert_conforms("details", &details);
    assert_eq!(
        details.json()["data"]["attributes"]["dateOfDeath"],
        death.to_string()
    );
    let address = send(
        service.addr,
        Method::GET,
        &format!("/capi/v2/citizens/{match_id}/address"),
        Some("dfe"),
        None,
    )
    .await;
    address.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    assert_conforms("address", &address);
}

#[tokio::test]
async fn bad_input_is_400_and_never_a_panic() {
    let service = start(ServiceOptions::default()).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"{}".to_vec(),
        match_body(json!({"lastName": "Smith"})),
        match_body(json!({"lastName": "Smith", "dateOfBirth": "1980-02-30"})),
        match_body(json!({"lastName": "x".repeat(36), "dateOfBirth": "1980-02-03"})),
        match_body(json!({"lastName": "Smith", "dateOfBirth": "1980-02-03", "ninoFragment": "12"})),
        match_body(json!({"lastName": "Smith", "dateOfBirth": "1980-02-03", "nino": "QQ123456C"})),
    ];
    for body in bodies {
        let answer = send(
            service.addr,
            Method::POST,
            "/capi/v2/citizens/match",
            Some("dfe"),
            Some(body.clone()),
        )
        .await;
        answer.assert_problem(400, "REQUEST_INVALID");
        assert_conforms("match", &answer);
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains("Smith") && !text.contains("QQ123456C"),
            "{text}"
        );
    }
    let answer = send(
        service.addr,
        Method::POST,
        "/capi/v2/citizens/match",
        Some("dfe"),
        Some(vec![b' '; 64 * 1024]),
    )
    .await;
    answer.assert_problem(413, "PAYLOAD_TOO_LARGE");

    let answer = send(
        service.addr,
        Method::GET,
        "/capi/v2/citizens/not-a-uuid",
        Some("dfe"),
        None,
    )
    .await;
    answer.assert_problem(400, "REQUEST_INVALID");
    assert_conforms("details", &answer);
    let answer = send(
        service.addr,
        Method::GET,
        "/capi/v2/citizens/match",
        Some("dfe"),
        None,
    )
    .await;
    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    let answer = send(
        service.addr,
        Method::DELETE,
        "/capi/v2/citizens/3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15",
        Some("dfe"),
        None,
    )
    .await;
    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    for path in [
        "/",
        "/capi/v2/citizens",
        "/capi/v2/citizens/3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15/children",
    ] {
        let answer = send(service.addr, Method::GET, path, Some("dfe"), None).await;
        answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    }
}

#[tokio::test]
async fn serve_returns_once_shutdown_completes_closing_idle_connections() {
    let service = Arc::new(CitizenService::new(store(), ServiceOptions::default()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, service, async move {
        let _ = stopped.await;
    }));
    // An idle keep-alive connection must not hold the shutdown up.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = Request::get("/capi/v2/citizens/match")
        .header("host", "citizen")
        .header("garrison-consumer", "dfe")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 405);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the idle connection is closed")
        .unwrap()
        .unwrap();
}
