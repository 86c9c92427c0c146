//! `garrison-loadgen`: the small, bounded HTTP/1.1 load generator of Garrison's benchmarks.
//!
//! It keeps `--connections` keep-alive connections busy for `--duration` seconds, one request
//! in flight on each, over plain TCP or TLS 1.3 with a client certificate, optionally cycling
//! API keys read from a file (one per line). With `--handshake-per-request` it opens a new TCP
//! connection and does a full TLS handshake (no session resumption) for every request
//! instead, to measure handshakes.
//!
//! It only talks to loopback addresses and always stops by itself: workers send no new
//! request after the duration, and anything still hanging five seconds later is abandoned.
//! It runs on one thread, so pinning it (`taskset -c 1`) pins all of it.
//!
//! The result is one line of `key=value` pairs on standard output:
//! `requests` (responses received), `ok` (2xx), `non2xx`, `errors` (failed connections or
//! exchanges), `elapsed_s`, `rps` (responses per second), `p50_us`, `p99_us`, `max_us`, and
//! `statuses` when some responses were not 2xx.
//!
//! With `--rate R` the connections together send R requests per second, each on a fixed
//! schedule, instead of as fast as the server answers. Comparing two builds or settings at the
//! same offered load measures what each request costs, not how latency limits throughput.

mod http1;
mod tls;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Time allowed after the duration for requests in flight before they are abandoned.
const GRACE: Duration = Duration::from_secs(5);
/// Time a handshake-per-request worker waits for the server to close after its response.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Upper bounds, so that a typo cannot start an unbounded run.
const MAX_CONNECTIONS: usize = 4096;
const MAX_DURATION_S: f64 = 600.0;
const MAX_RATE: f64 = 10_000_000.0;

#[derive(Parser)]
#[command(
    name = "garrison-loadgen",
    about = "A small, bounded HTTP/1.1 load generator (loopback only)"
)]
struct Args {
    /// Target: http://127.0.0.1:PORT/path or https://127.0.0.1:PORT/path (loopback only).
    url: String,
    /// Concurrent connections, each with one request in flight.
    #[arg(short = 'c', long, default_value_t = 50)]
    connections: usize,
    /// Seconds to send requests for.
    #[arg(short = 'd', long, default_value_t = 10.0)]
    duration: f64,
    /// API keys, one per line, sent in turn in the key header.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The header that carries the API key.
    #[arg(long, default_value = "x-api-key")]
    key_header: String,
    /// CA certificate(s), PEM, that the server certificate must chain to (https).
    #[arg(long, conflicts_with = "pin")]
    ca: Option<PathBuf>,
    /// The server certificate, PEM: accept exactly this one (checked byte for byte, its
    /// handshake signature still verified) instead of verifying a chain to --ca.
    #[arg(long)]
    pin: Option<PathBuf>,
    /// Client certificate chain, PEM (https).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client private key, PEM (https).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Name the server certificate is checked against (default: the URL's host).
    #[arg(long)]
    server_name: Option<String>,
    /// A new connection (TCP + full TLS 1.3 handshake, no resumption) for every request.
    #[arg(long)]
    handshake_per_request: bool,
    /// A header line sent with every request, "Name: value" (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// A JSON body sent with every request (which makes it a POST).
    #[arg(long)]
    body: Option<PathBuf>,
    /// Requests per second, all connections together, sent on a fixed schedule (keep-alive
    /// only). Unset: each connection sends its next request as soon as it has the answer.
    #[arg(long, conflicts_with = "handshake_per_request")]
    rate: Option<f64>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(report) => {
            println!("{report}");
            if report.requests() == 0 {
                eprintln!("garrison-loadgen: no response received");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("garrison-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<Report, String> {
    if args.connections == 0 || args.connections > MAX_CONNECTIONS {
        return Err(format!("--connections must be 1 to {MAX_CONNECTIONS}"));
    }
    if !(args.duration > 0.0 && args.duration <= MAX_DURATION_S) {
        return Err(format!(
            "--duration must be more than 0 and at most {MAX_DURATION_S} s"
        ));
    }
    let pace = match args.rate {
        None => None,
        Some(rate) if rate > 0.0 && rate <= MAX_RATE => {
            Some(Duration::from_secs_f64(args.connections as f64 / rate))
        }
        Some(_) => return Err(format!("--rate must be more than 0 and at most {MAX_RATE}")),
    };
    let target = Rc::new(Target::new(&args)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    let duration = Duration::from_secs_f64(args.duration);
    Ok(local.block_on(
        &runtime,
        drive(
            target,
            args.connections,
            duration,
            args.handshake_per_request,
            pace,
        ),
    ))
}

/// Where to send what.
struct Target {
    addr: SocketAddr,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Prebuilt requests, one per key (or one without a key).
    requests: Vec<Vec<u8>>,
}

impl Target {
    fn new(args: &Args) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = args.url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = args.url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("the URL must start with http:// or https://".into());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or("the URL needs an explicit port, e.g. http://127.0.0.1:8080/")?;
        let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
        let host_ip = host.trim_start_matches('[').trim_end_matches(']');
        let ip = if host_ip.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host_ip
                .parse::<IpAddr>()
                .map_err(|_| format!("{host:?} is not an IP address or localhost"))?
        };
        if !ip.is_loopback() {
            return Err(format!(
                "{ip} is not a loopback address: this tool only loads this machine"
            ));
        }
        let keys = match &args.keys {
            None => Vec::new(),
            Some(file) => read_keys(file)?,
        };
        let close = args.handshake_per_request;
        let extra = http1::Extra {
            headers: args.headers.clone(),
            body: match &args.body {
                Some(file) => Some(
                    std::fs::read(file)
                        .map_err(|e| format!("cannot read {}: {e}", file.display()))?,
                ),
                None => None,
            },
        };
        if let Some(bad) = extra
            .headers
            .iter()
            .find(|h| !h.contains(':') || h.bytes().any(|b| b == b'\r' || b == b'\n'))
        {
            return Err(format!(
                "--header {bad:?}: expected \"Name: value\" on one line"
            ));
        }
        let requests = if keys.is_empty() {
            vec![http1::request(path, authority, None, close, &extra)]
        } else {
            keys.iter()
                .map(|k| {
                    http1::request(path, authority, Some((&args.key_header, k)), close, &extra)
                })
                .collect()
        };
        let tls = if https {
            let name = args
                .server_name
                .clone()
                .unwrap_or_else(|| host_ip.to_owned());
            let name = ServerName::try_from(name).map_err(|e| format!("server name: {e}"))?;
            let trust = match (&args.ca, &args.pin) {
                (Some(ca), None) => tls::Trust::Ca(ca),
                (None, Some(pin)) => tls::Trust::Pin(pin),
                _ => return Err("https needs --ca or --pin to authenticate the server".into()),
            };
            let identity = match (&args.cert, &args.key) {
                (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
                (None, None) => None,
                _ => return Err("--cert and --key go together".into()),
            };
            let config = tls::client_config(trust, identity)?;
            Some((TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            tls,
            requests,
        })
    }

    async fn connect(&self) -> io::Result<Conn> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Conn::Plain(tcp)),
            Some((connector, name)) => Ok(Conn::Tls(Box::new(
                connector.connect(name.clone(), tcp).await?,
            ))),
        }
    }
}

fn read_keys(file: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let keys: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if keys.is_empty() {
        return Err(format!("{} holds no key", file.display()));
    }
    if let Some(bad) = keys
        .iter()
        .find(|k| !k.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(format!("a key is not printable ASCII: {bad:?}"));
    }
    Ok(keys)
}

/// A plain or TLS connection.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Sends one request and reads its response; `buf` keeps any bytes read past it.
async fn exchange(conn: &mut Conn, request: &[u8], buf: &mut Vec<u8>) -> io::Result<http1::Parsed> {
    conn.write_all(request).await?;
    conn.flush().await?;
    loop {
        if let Some(parsed) = http1::parse(buf).map_err(io::Error::other)? {
            buf.drain(..parsed.len);
            return Ok(parsed);
        }
        buf.reserve(16 * 1024);
        if conn.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// What one worker saw.
#[derive(Default)]
struct Stats {
    ok: u64,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
}

impl Stats {
    fn response(&mut self, status: u16, latency: Duration) {
        if (200..300).contains(&status) {
            self.ok += 1;
        } else {
            *self.statuses.entry(status).or_default() += 1;
        }
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    fn error(&mut self, e: &io::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

/// One keep-alive connection: reconnects when the server closes it or an exchange fails.
async fn keep_alive_worker(
    target: Rc<Target>,
    first: usize,
    stride: usize,
    stats: Rc<RefCell<Stats>>,
    deadline: Instant,
    pace: Option<Duration>,
) {
    let mut next = first % target.requests.len();
    let mut buf = Vec::with_capacity(16 * 1024);
    // The connections' schedules are spread evenly over one interval, so that together they
    // send at an even rate rather than in bursts of `connections` requests.
    let mut due = pace.map(|p| Instant::now() + p.mul_f64(first as f64 / stride as f64));
    while Instant::now() < deadline {
        let mut conn = match target.connect().await {
            Ok(conn) => conn,
            Err(e) => {
                stats.borrow_mut().error(&e);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        buf.clear();
        loop {
            if let (Some(at), Some(pace)) = (due.as_mut(), pace) {
                tokio::time::sleep_until(tokio::time::Instant::from_std(*at)).await;
                // A worker that fell behind (a slow answer) starts again from now rather than
                // sending a burst to catch up: the offered rate is an upper bound.
                *at = (*at + pace).max(Instant::now());
            }
            let started = Instant::now();
            if started >= deadline {
                return;
            }
            let request = &target.requests[next];
            next = (next + stride) % target.requests.len();
            match exchange(&mut conn, request, &mut buf).await {
                Ok(response) => {
                    stats
                        .borrow_mut()
                        .response(response.status, started.elapsed());
                    if response.close {
                        break;
                    }
                }
                Err(e) => {
                    stats.borrow_mut().error(&e);
                    break;
                }
            }
        }
    }
}

/// One request per connection. The latency counts from the TCP connect to the response; the
/// worker then waits for the server to close first, so that TIME_WAIT stays on the server
/// side and a long run cannot exhaust the client's ephemeral ports.
async fn handshake_worker(
    target: Rc<Target>,
    first: usize,
    stride: usize,
    stats: Rc<RefCell<Stats>>,
    deadline: Instant,
) {
    let mut next = first % target.requests.len();
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let started = Instant::now();
        if started >= deadline {
            return;
        }
        let request = &target.requests[next];
        next = (next + stride) % target.requests.len();
        buf.clear();
        let mut conn = match target.connect().await {
            Ok(conn) => conn,
            Err(e) => {
                stats.borrow_mut().error(&e);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        match exchange(&mut conn, request, &mut buf).await {
            Ok(response) => stats
                .borrow_mut()
                .response(response.status, started.elapsed()),
            Err(e) => {
                stats.borrow_mut().error(&e);
                continue;
            }
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while matches!(conn.read_buf(&mut buf).await, Ok(n) if n > 0) {
                buf.clear();
            }
        })
        .await;
    }
}

async fn drive(
    target: Rc<Target>,
    connections: usize,
    duration: Duration,
    handshake: bool,
    pace: Option<Duration>,
) -> Report {
    let start = Instant::now();
    let deadline = start + duration;
    let mut all = Vec::with_capacity(connections);
    let mut handles = Vec::with_capacity(connections);
    for i in 0..connections {
        let stats = Rc::new(RefCell::new(Stats::default()));
        all.push(stats.clone());
        let target = target.clone();
        handles.push(if handshake {
            tokio::task::spawn_local(handshake_worker(target, i, connections, stats, deadline))
        } else {
            tokio::task::spawn_local(keep_alive_worker(
                target,
                i,
                connections,
                stats,
                deadline,
                pace,
            ))
        });
    }
    let hard_stop = tokio::time::Instant::from_std(deadline + GRACE);
    let finished = tokio::time::timeout_at(hard_stop, async {
        for handle in handles {
            let _ = handle.await;
        }
    })
    .await
    .is_ok();
    let elapsed = start.elapsed();
    let mut total = Stats::default();
    for stats in all {
        let mut s = stats.borrow_mut();
        total.ok += s.ok;
        total.errors += s.errors;
        for (status, n) in &s.statuses {
            *total.statuses.entry(*status).or_default() += n;
        }
        if total.first_error.is_none() {
            total.first_error = s.first_error.take();
        }
        total.latencies_us.append(&mut s.latencies_us);
    }
    if !finished {
        total.errors += 1;
        total
            .first_error
            .get_or_insert_with(|| "requests still in flight after the grace period".into());
    }
    if let Some(e) = &total.first_error {
        eprintln!("garrison-loadgen: first error: {e}");
    }
    Report::new(total, elapsed)
}

/// The summary printed at the end.
struct Report {
    stats: Stats,
    elapsed: Duration,
}

impl Report {
    fn new(mut stats: Stats, elapsed: Duration) -> Self {
        stats.latencies_us.sort_unstable();
        Report { stats, elapsed }
    }

    fn requests(&self) -> u64 {
        self.stats.latencies_us.len() as u64
    }

    /// The `p`-quantile (0..=1) of the sorted latencies, in microseconds (nearest rank).
    fn quantile(&self, p: f64) -> u32 {
        let sorted = &self.stats.latencies_us;
        if sorted.is_empty() {
            return 0;
        }
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.stats;
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "requests={} ok={} non2xx={} errors={} elapsed_s={secs:.3} rps={:.1} p50_us={} p99_us={} max_us={}",
            self.requests(),
            s.ok,
            s.statuses.values().sum::<u64>(),
            s.errors,
            self.requests() as f64 / secs,
            self.quantile(0.50),
            self.quantile(0.99),
            s.latencies_us.last().copied().unwrap_or(0),
        )?;
        if !s.statuses.is_empty() {
            let list: Vec<String> = s.statuses.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            write!(f, " statuses={}", list.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let stats = Stats {
            latencies_us: (1..=100).rev().collect(),
            ..Stats::default()
        };
        let report = Report::new(stats, Duration::from_secs(1));
        assert_eq!(report.quantile(0.5), 50);
        assert_eq!(report.quantile(0.99), 99);
        assert_eq!(report.quantile(1.0), 100);
        assert!(
            report
                .to_string()
                .starts_with("requests=100 ok=0 non2xx=0 errors=0")
        );
    }

    #[test]
    fn a_rate_must_be_positive_and_bounded() {
        let run_with = |rate: &str| {
            run(Args::parse_from([
                "garrison-loadgen",
                "http://127.0.0.1:9/",
                &format!("--rate={rate}"),
            ]))
            .err()
            .unwrap_or_default()
        };
        for bad in ["0", "-5", "NaN", "1e9"] {
            assert!(run_with(bad).contains("--rate must be"), "{bad} accepted");
        }
        let both = Args::try_parse_from([
            "garrison-loadgen",
            "http://127.0.0.1:9/",
            "--rate",
            "10",
            "--handshake-per-request",
        ]);
        assert!(both.is_err(), "a rate with a handshake per request");
    }

    #[test]
    fn only_loopback_targets_are_accepted() {
        let args = |url: &str| Args::parse_from(["garrison-loadgen", url]);
        assert!(Target::new(&args("http://127.0.0.1:9/x")).is_ok());
        assert!(Target::new(&args("http://[::1]:9/")).is_ok());
        assert!(Target::new(&args("http://localhost:9")).is_ok());
        assert!(Target::new(&args("http://192.0.2.1:9/")).is_err());
        assert!(Target::new(&args("http://example.org:80/")).is_err());
        assert!(Target::new(&args("ftp://127.0.0.1:9/")).is_err());
    }
}
