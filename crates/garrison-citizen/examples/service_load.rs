//! Requests per second of the citizen service's match and details on a single-threaded
//! runtime, from a loopback client keeping a fixed number of keep-alive connections busy.
//!
//! ```sh
//! cargo run --release -p garrison-citizen --example service_load -- STORE [PEOPLE] [SECONDS] [CONNECTIONS]
//! ```
//!
//! The store is built first when STORE does not exist (PEOPLE people, default 1,000,000).
//! The service runs on a current-thread runtime on its own OS thread; the client on another.
//! Also prints the time of the store lookups alone, which is why the service runs them on its
//! worker thread rather than on the blocking pool.

// A benchmark driver: a failure to set up is a failed run, reported by the panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use garrison_citizen::{CitizenService, Person, Population, ServiceOptions, Store, serve};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = PathBuf::from(
        args.get(1)
            .expect("usage: service_load STORE [PEOPLE] [SECONDS] [CONNECTIONS]"),
    );
    let people: u64 = args.get(2).map_or(1_000_000, |s| s.parse().unwrap());
    let seconds: f64 = args.get(3).map_or(5.0, |s| s.parse().unwrap());
    let connections: usize = args.get(4).map_or(16, |s| s.parse().unwrap());
    if !store.exists() {
        let started = Instant::now();
        Store::build(
            &store,
            Population::new(garrison_citizen::DEFAULT_SEED),
            people,
            |_| {},
        )
        .unwrap();
        println!(
            "built {people} people in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let opened = Store::open(&store).unwrap();
    let people = opened.meta().people;
    // A fixed sample of people spread over the store, each picked out by last name, date of
    // birth and NI number fragment.
    let mut rng = fastrand::Rng::with_seed(1);
    let sample: Vec<Person> = (0..10_000)
        .filter_map(|_| opened.person(rng.u64(1..=people)).unwrap())
        .collect();
    lookup_times(&opened, &sample);

    let service = Arc::new(CitizenService::new(&store, ServiceOptions::default()).unwrap());
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            serve(listener, service, std::future::pending()).await;
        });
    });
    let addr = addr_rx.recv().unwrap();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bodies: Vec<Bytes> = sample
        .iter()
        .map(|p| {
            Bytes::from(
                serde_json::json!({"data": {"type": "Match", "attributes": {
                    "lastName": p.last_name,
                    "dateOfBirth": p.date_of_birth.to_string(),
                    "ninoFragment": p.nino.fragment(),
                }}})
                .to_string(),
            )
        })
        .collect();
    let bodies = Arc::new(bodies);
    client.block_on(async {
        let duration = Duration::from_secs_f64(seconds);
        let matches = {
            let bodies = bodies.clone();
            load("match", addr, connections, duration, move |i| {
                post(bodies[i % bodies.len()].clone())
            })
            .await
        };
        // Ids for the details run: one match per sampled person.
        let mut ids = Vec::new();
        for body in bodies.iter().take(2_000) {
            let (status, body) = exchange_once(addr, post(body.clone())).await;
            if status == 200 {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                ids.push(v["data"]["id"].as_str().unwrap().to_owned());
            }
        }
        let ids = Arc::new(ids);
        let details = load("details", addr, connections, duration, move |i| {
            Request::get(format!("/capi/v2/citizens/{}", ids[i % ids.len()]))
                .header("host", "citizen")
                .header("garrison-consumer", "bench")
                .body(Full::new(Bytes::new()))
                .unwrap()
        })
        .await;
        let _ = (matches, details);
    });
}

fn post(body: Bytes) -> Request<Full<Bytes>> {
    Request::post("/capi/v2/citizens/match")
        .header("host", "citizen")
        .header("garrison-consumer", "bench")
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap()
}

fn lookup_times(store: &Store, sample: &[Person]) {
    let started = Instant::now();
    for p in sample {
        let found = store
            .find_by_name_dob(&p.last_name, p.date_of_birth)
            .unwrap();
        assert!(!found.is_empty());
    }
    let by_name = started.elapsed() / sample.len() as u32;
    let started = Instant::now();
    for p in sample {
        store.person(p.id).unwrap();
    }
    let by_id = started.elapsed() / sample.len() as u32;
    let started = Instant::now();
    for p in sample {
        store.claims(p.id, None, None, None).unwrap();
    }
    let claims = started.elapsed() / sample.len() as u32;
    println!(
        "store lookups alone: by last name and date of birth {by_name:?}, person by id {by_id:?}, claims {claims:?}"
    );
}

async fn exchange_once(addr: SocketAddr, request: Request<Full<Bytes>>) -> (u16, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// Keeps `connections` keep-alive connections busy for `duration`, one request at a time on
/// each; prints requests per second and the share answered 200.
async fn load<F>(
    name: &str,
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    request: F,
) -> f64
where
    F: Fn(usize) -> Request<Full<Bytes>> + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let done = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for c in 0..connections {
        let (request, done, ok, stop) = (request.clone(), done.clone(), ok.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut i = c * 7919;
            while !stop.load(Ordering::Relaxed) {
                let response = sender.send_request(request(i)).await.unwrap();
                let status = response.status();
                let _ = response.into_body().collect().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                if status == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let rate = n as f64 / secs;
    println!(
        "{name}: {n} requests in {secs:.2} s over {connections} connections = {rate:.0} req/s ({:.1}% 200)",
        100.0 * ok.load(Ordering::Relaxed) as f64 / n.max(1) as f64
    );
    rate
}
