//! The granular citizen APIs as one HTTP service over a [`Store`]: citizen match, personal
//! details, current address, benefit claims and earnings, answering as
//! `contracts/citizen-*.yaml` say.
//!
//! The service sits behind the gateway, on loopback or an internal network, and speaks plain
//! HTTP/1.1. It trusts only the gateway: every request must carry the `garrison-consumer`
//! header the gateway sets (403 otherwise), and the consumer it names is who a match id
//! belongs to. Every answer with personal data names its data subject (the NI number) in a
//! `garrison-subject` response header, which the gateway hashes into its audit trail and
//! strips. Nothing personal is logged here.
//!
//! # Ids
//!
//! A match hands out a fresh random UUID each time, remembered for a few minutes
//! ([`ServiceOptions::match_ttl`]) with the person and the consumer; see [`matches`]. An id
//! another consumer matched, an expired one and one never issued are all 404, alike.
//!
//! # Queries
//!
//! A rusqlite connection cannot be shared between threads, so the service keeps a small pool
//! of read-only [`Store`]s, one per thread that is using one at the moment. Queries run
//! directly on the runtime's worker thread rather than on the blocking pool: a lookup takes
//! tens of microseconds (an index probe and a few rows clustered by person id), less than
//! the hand-off to and back from a blocking thread would add, and no await point is held
//! across one, so at most one store per worker thread is ever checked out.

mod answer;
mod matches;
mod request;

use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::{BenefitType, CitizenError, Meta, Person, PersonId, Postcode, Store, normalise_name};

use self::answer::{Invalid, Refusal};
use self::matches::{IssueError, MatchId, MatchRegistry};
use self::request::MatchQuery;

/// The request header in which the gateway names the consumer a request comes from.
pub const CONSUMER_HEADER: &str = "garrison-consumer";

/// The response header naming the data subject of an answer (the NI number, compact form).
pub const SUBJECT_HEADER: &str = answer::SUBJECT;

/// The largest match body accepted: a valid one is a few hundred bytes.
const MAX_BODY: usize = 16 * 1024;

/// How long a connection may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest consumer name remembered with a match id: the gateway's names are short.
const MAX_CONSUMER: usize = 256;

/// How a [`CitizenService`] behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceOptions {
    /// How long a match id may be used.
    pub match_ttl: Duration,
    /// The most match ids held at once; a match is refused with 503 when this many are live.
    pub max_matches: usize,
}

impl Default for ServiceOptions {
    /// Ten minutes, a million ids (about 100 MB at most).
    fn default() -> Self {
        ServiceOptions {
            match_ttl: Duration::from_secs(600),
            max_matches: 1_000_000,
        }
    }
}

impl ServiceOptions {
    /// These options with match ids living `ttl`.
    pub fn with_match_ttl(mut self, ttl: Duration) -> Self {
        self.match_ttl = ttl;
        self
    }

    /// These options holding at most `max` match ids.
    pub fn with_max_matches(mut self, max: usize) -> Self {
        self.max_matches = max;
        self
    }
}

/// The citizen APIs over one population store.
pub struct CitizenService {
    path: PathBuf,
    meta: Meta,
    stores: Mutex<Vec<Store>>,
    matches: MatchRegistry,
}

// === impl CitizenService ===

impl CitizenService {
    /// Opens the store at `store_path` (read-only) to serve it.
    pub fn new(store_path: &Path, options: ServiceOptions) -> Result<Self, CitizenError> {
        let store = Store::open(store_path)?;
        Ok(CitizenService {
            path: store_path.to_owned(),
            meta: store.meta(),
            stores: Mutex::new(vec![store]),
            matches: MatchRegistry::new(options.match_ttl, options.max_matches),
        })
    }

    /// What the store holds.
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// Answers one request. Never fails: every refusal is a problem document.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let correlation = request.headers().get("correlation-id").cloned();
        let mut response = match self.route(request).await {
            Ok(response) => response,
            Err(refusal) => refusal.response(),
        };
        // The match contract promises the correlation id back; echoing it costs nothing.
        if let Some(value) = correlation {
            response.headers_mut().insert("correlation-id", value);
        }
        response
    }

    async fn route<B>(&self, request: Request<B>) -> Result<Response<Full<Bytes>>, Refusal>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let consumer = consumer(request.headers()).ok_or(Refusal::NotFromGateway)?;
        let path = request.uri().path();
        let rest = path
            .strip_prefix("/capi/v2/citizens/")
            .ok_or(Refusal::NotFound)?;
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if id == "match" && tail.is_empty() {
            if request.method() != Method::POST {
                return Err(Refusal::MethodNotAllowed);
            }
            let body = read_body(request).await?;
            let query = request::match_query(&body).map_err(Refusal::Invalid)?;
            return self.matching(&query, &consumer);
        }
        if !matches!(tail, "" | "address" | "claims" | "income") {
            return Err(Refusal::NotFound);
        }
        if request.method() != Method::GET {
            return Err(Refusal::MethodNotAllowed);
        }
        let id = MatchId::parse(id).ok_or_else(|| {
            Refusal::Invalid(vec![Invalid::new("path.id", "format", "must be a uuid")])
        })?;
        let query = request.uri().query();
        match tail {
            "" => self.details(&id, &consumer),
            "address" => self.address(&id, &consumer),
            "claims" => self.claims(&id, &consumer, query),
            _ => self.income(&id, &consumer, query),
        }
    }

    fn matching(
        &self,
        query: &MatchQuery,
        consumer: &str,
    ) -> Result<Response<Full<Bytes>>, Refusal> {
        let found = self.with_store(|store| find(store, query))?;
        let person = match found.as_slice() {
            [] => return Err(Refusal::NotFound),
            [one] => one,
            _ => return Err(Refusal::MoreThanOneMatch),
        };
        let id = self
            .matches
            .issue(person.id, consumer)
            .map_err(|e| match e {
                IssueError::Full => Refusal::Unavailable,
                IssueError::Random(e) => {
                    tracing::error!(error = %e, "the random source failed; no match id issued");
                    Refusal::Internal
                }
            })?;
        Ok(answer::personal(person, &answer::match_result(&id)))
    }

    fn details(&self, id: &MatchId, consumer: &str) -> Result<Response<Full<Bytes>>, Refusal> {
        let person = self.subject(id, consumer)?;
        let person = self
            .with_store(|store| store.person(person))?
            .ok_or(Refusal::NotFound)?;
        Ok(answer::personal(&person, &answer::details(id, &person)))
    }

    fn address(&self, id: &MatchId, consumer: &str) -> Result<Response<Full<Bytes>>, Refusal> {
        let person = self.subject(id, consumer)?;
        let (person, address) = self
            .with_store(|store| {
                Ok(match store.person(person)? {
                    Some(p) => Some((p, store.current_address(person)?)),
                    None => None,
                })
            })?
            .ok_or(Refusal::NotFound)?;
        // Someone who has died has no current address: nothing matches the request.
        let address = address.ok_or(Refusal::NotFound)?;
        Ok(answer::personal(&person, &answer::address(&address)))
    }

    fn claims(
        &self,
        id: &MatchId,
        consumer: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, Refusal> {
        let query = request::claims_query(query).map_err(Refusal::Invalid)?;
        let person = self.subject(id, consumer)?;
        // One type is filtered by the store's index; a list, in memory (a person has few).
        let single = match query.benefits.as_deref() {
            Some([one]) => Some(*one),
            _ => None,
        };
        let wanted = |b: BenefitType| query.benefits.as_ref().is_none_or(|l| l.contains(&b));
        let (person, claims) = self
            .with_store(|store| {
                Ok(match store.person(person)? {
                    Some(p) => Some((p, store.claims(person, single, query.from, query.to)?)),
                    None => None,
                })
            })?
            .ok_or(Refusal::NotFound)?;
        let claims: Vec<_> = claims.into_iter().filter(|c| wanted(c.benefit)).collect();
        Ok(answer::personal(
            &person,
            &answer::claims(&claims, self.meta.as_of),
        ))
    }

    fn income(
        &self,
        id: &MatchId,
        consumer: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, Refusal> {
        let (from, to) = request::income_query(query).map_err(Refusal::Invalid)?;
        let person = self.subject(id, consumer)?;
        // The range rule comes after the id: the schema cannot express it, so a request
        // the contract allows is refused only when it would otherwise have been answered.
        request::income_range(from, to, request::held_months(self.meta.as_of))
            .map_err(Refusal::Invalid)?;
        let (person, earnings) = self
            .with_store(|store| {
                Ok(match store.person(person)? {
                    Some(p) => Some((p, store.earnings(person, from, to)?)),
                    None => None,
                })
            })?
            .ok_or(Refusal::NotFound)?;
        Ok(answer::personal(
            &person,
            &answer::income(from, to, &earnings),
        ))
    }

    fn subject(&self, id: &MatchId, consumer: &str) -> Result<PersonId, Refusal> {
        self.matches.resolve(id, consumer).ok_or(Refusal::NotFound)
    }

    /// Runs `query` on a store from the pool (a new one when every pooled store is in use),
    /// returning the store to the pool afterwards.
    fn with_store<T>(
        &self,
        query: impl FnOnce(&Store) -> Result<T, CitizenError>,
    ) -> Result<T, Refusal> {
        let pooled = self.pool().pop();
        let store = match pooled {
            Some(store) => store,
            None => Store::open(&self.path).map_err(internal)?,
        };
        let result = query(&store).map_err(internal);
        self.pool().push(store);
        result
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Vec<Store>> {
        // A pool of idle connections holds no invariant a panic could break.
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for CitizenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CitizenService")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

fn internal(e: CitizenError) -> Refusal {
    // A store error names the file and SQLite's message, never a bound value.
    tracing::error!(error = %e, "citizen store query failed");
    Refusal::Internal
}

/// The consumer the gateway named: present, visible ASCII, not empty, not absurdly long.
fn consumer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONSUMER_HEADER)?.to_str().ok()?.trim();
    (!value.is_empty() && value.len() <= MAX_CONSUMER).then(|| value.to_owned())
}

async fn read_body<B>(request: Request<B>) -> Result<Bytes, Refusal>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() != Some("application/json") {
        return Err(Refusal::Invalid(vec![Invalid::new(
            "header.content-type",
            "content-type",
            "the body must be application/json",
        )]));
    }
    match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Refusal::PayloadTooLarge),
        Err(_) => Err(Refusal::Invalid(vec![Invalid::new(
            "/body",
            "body",
            "the body could not be read",
        )])),
    }
}

/// The people matching every detail given: by last name and date of birth, then narrowed by
/// first name, NI number fragment and current postcode as given.
fn find(store: &Store, query: &MatchQuery) -> Result<Vec<Person>, CitizenError> {
    let Some(dob) = query.date_of_birth else {
        return Ok(Vec::new());
    };
    let mut people = store.find_by_name_dob(&query.last_name, dob)?;
    if let Some(first) = &query.first_name {
        let first = normalise_name(first);
        people.retain(|p| normalise_name(&p.first_name) == first);
    }
    if let Some(fragment) = &query.nino_fragment {
        people.retain(|p| p.nino.fragment() == *fragment);
    }
    if let Some(postcode) = &query.postcode {
        // A postcode that is not one matches nobody: the contract allows any short string.
        let Ok(postcode) = Postcode::parse(postcode) else {
            return Ok(Vec::new());
        };
        let mut kept = Vec::with_capacity(people.len());
        for person in people {
            if store
                .current_address(person.id)?
                .is_some_and(|a| a.postcode == postcode)
            {
                kept.push(person);
            }
        }
        people = kept;
    }
    Ok(people)
}

/// Serves `service` on `listener` (plain HTTP/1.1) until `shutdown` completes, then stops
/// accepting, lets each connection finish the request it is answering, and returns when all
/// have closed.
pub async fn serve(
    listener: TcpListener,
    service: Arc<CitizenService>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, most likely: back off rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = service.clone();
                let mut stopping = stopping.clone();
                connections.spawn(async move {
                    let handler = service_fn(move |request: Request<Incoming>| {
                        let service = service.clone();
                        async move { Ok::<_, Infallible>(service.handle(request).await) }
                    });
                    // A client slow to send its headers would otherwise hold a connection
                    // (and shutdown) for ever; the gateway sends them at once.
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), handler);
                    tokio::pin!(connection);
                    tokio::select! {
                        _ = &mut connection => {}
                        () = async { drop(stopping.wait_for(|&s| s).await) } => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
                // Reap finished connections so the set does not grow with every one served.
                while connections.try_join_next().is_some() {}
            }
        }
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}
