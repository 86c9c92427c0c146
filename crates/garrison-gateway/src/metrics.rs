//! Request metrics: lock-free counters on the request path, rendered in the Prometheus text
//! format on the admin listener.
//!
//! Series are keyed by route and consumer *names* (never a key, a path or anything a caller
//! typed), so a series survives a reload and carries no personal data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Status codes counted individually; any other falls into its class (`2xx`, …).
const STATUS_SLOTS: [u16; 27] = [
    200, 201, 202, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 406, 408, 409, 413,
    415, 422, 429, 431, 500, 502, 503, 504,
];
const SLOTS: usize = STATUS_SLOTS.len() + 5;

/// Latency bucket bounds in microseconds (the upper bound of each bucket of
/// `garrison_request_duration_seconds`; a last, unbounded bucket holds the rest).
pub const LATENCY_BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

fn slot(status: u16) -> usize {
    match STATUS_SLOTS.binary_search(&status) {
        Ok(i) => i,
        Err(_) => STATUS_SLOTS.len() + usize::from((status / 100).clamp(1, 5) - 1),
    }
}

fn slot_label(i: usize) -> String {
    match STATUS_SLOTS.get(i) {
        Some(code) => code.to_string(),
        None => format!("{}xx", i - STATUS_SLOTS.len() + 1),
    }
}

/// Requests counted by response status.
#[derive(Debug, Default)]
pub(crate) struct StatusCounters {
    counts: [AtomicU64; SLOTS],
}

impl StatusCounters {
    /// Counts one response.
    pub(crate) fn record(&self, status: u16) {
        self.counts[slot(status)].fetch_add(1, Ordering::Relaxed);
    }

    /// The count for an exact status (or its class, for uncommon codes).
    #[cfg(test)]
    pub(crate) fn get(&self, status: u16) -> u64 {
        self.counts[slot(status)].load(Ordering::Relaxed)
    }
}

/// A cumulative latency histogram.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub(crate) fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = LATENCY_BUCKETS_US.iter().position(|&b| us <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// Everything counted for one route.
#[derive(Debug, Default)]
pub(crate) struct RouteStats {
    /// Time from request head to response head.
    pub(crate) latency: Histogram,
    /// Responses to callers not (yet) identified as a consumer.
    pub(crate) anonymous: StatusCounters,
    /// Requests refused for breaking the contract (`400 REQUEST_INVALID`).
    pub(crate) requests_invalid: AtomicU64,
    /// Upstream responses that broke the contract (reported or enforced).
    pub(crate) responses_nonconforming: AtomicU64,
    by_consumer: Mutex<BTreeMap<String, Arc<StatusCounters>>>,
}

impl RouteStats {
    /// The counters of `consumer` on this route (created on first use).
    pub(crate) fn for_consumer(&self, consumer: &str) -> Arc<StatusCounters> {
        self.by_consumer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(consumer.to_owned())
            .or_default()
            .clone()
    }
}

/// A gauge read when metrics are rendered (upstream health, limiter size).
pub(crate) type Gauge = Box<dyn Fn() -> f64 + Send + Sync>;

/// The registry of every series, shared by all snapshots of a process.
#[derive(Default)]
pub(crate) struct Metrics {
    routes: Mutex<BTreeMap<String, Arc<RouteStats>>>,
    /// Responses to requests that matched no route.
    pub(crate) unrouted: StatusCounters,
    /// Successful and failed configuration reloads.
    pub(crate) reloads_ok: AtomicU64,
    /// Reloads rejected because the new configuration was invalid.
    pub(crate) reloads_failed: AtomicU64,
    /// Connections refused by the per-IP connection limit.
    pub(crate) connections_refused: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub(crate) handshakes_failed: AtomicU64,
    gauges: Mutex<Vec<(String, Gauge)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The stats of `route`, shared across reloads.
    pub(crate) fn route(&self, route: &str) -> Arc<RouteStats> {
        self.routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route.to_owned())
            .or_default()
            .clone()
    }

    /// Replaces the gauges (called when a snapshot is installed). Each gauge is a full series
    /// line prefix, e.g. `garrison_upstream_target_up{upstream="a",target="b"}`.
    pub(crate) fn set_gauges(&self, gauges: Vec<(String, Gauge)>) {
        *self.gauges.lock().unwrap_or_else(PoisonError::into_inner) = gauges;
    }

    /// The Prometheus text exposition of every series, with the audit writer's when there is
    /// an audit trail.
    pub(crate) fn render(&self, audit: Option<&garrison_audit::AuditLog>) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        out.push_str("# HELP garrison_requests_total Responses sent, by route, consumer and status.\n# TYPE garrison_requests_total counter\n");
        for (name, stats) in &routes {
            write_counters(&mut out, name, "", &stats.anonymous);
            let consumers = stats
                .by_consumer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for (consumer, counters) in &consumers {
                write_counters(&mut out, name, consumer, counters);
            }
        }
        write_counters(&mut out, "", "", &self.unrouted);
        out.push_str("# HELP garrison_request_duration_seconds Time from request head to response head.\n# TYPE garrison_request_duration_seconds histogram\n");
        for (name, stats) in &routes {
            let h = &stats.latency;
            let mut cumulative = 0;
            for (i, bound) in LATENCY_BUCKETS_US.iter().enumerate() {
                cumulative += h.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "garrison_request_duration_seconds_bucket{{route=\"{name}\",le=\"{}\"}} {cumulative}",
                    *bound as f64 / 1e6
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "garrison_request_duration_seconds_bucket{{route=\"{name}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "garrison_request_duration_seconds_sum{{route=\"{name}\"}} {}",
                h.sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "garrison_request_duration_seconds_count{{route=\"{name}\"}} {count}"
            );
        }
        out.push_str("# HELP garrison_contract_violations_total Requests refused and upstream responses found breaking their API's contract.\n# TYPE garrison_contract_violations_total counter\n");
        for (name, stats) in &routes {
            for (direction, value) in [
                ("request", &stats.requests_invalid),
                ("response", &stats.responses_nonconforming),
            ] {
                let count = value.load(Ordering::Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        out,
                        "garrison_contract_violations_total{{route=\"{name}\",direction=\"{direction}\"}} {count}"
                    );
                }
            }
        }
        out.push_str("# HELP garrison_config_reloads_total Configuration reloads, by result.\n# TYPE garrison_config_reloads_total counter\n");
        for (result, value) in [("ok", &self.reloads_ok), ("rejected", &self.reloads_failed)] {
            let _ = writeln!(
                out,
                "garrison_config_reloads_total{{result=\"{result}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
        for (name, help, value) in [
            (
                "garrison_connections_refused_total",
                "Connections dropped by the per-address connection limit.",
                &self.connections_refused,
            ),
            (
                "garrison_tls_handshake_failures_total",
                "TLS handshakes that failed or timed out.",
                &self.handshakes_failed,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        let mut family = "";
        for (series, gauge) in gauges.iter() {
            let name = series.split('{').next().unwrap_or(series);
            if name != family {
                let _ = writeln!(out, "# TYPE {name} gauge");
                family = name;
            }
            let _ = writeln!(out, "{series} {}", gauge());
        }
        if let Some(log) = audit {
            write_audit(&mut out, &log.stats());
        }
        out
    }
}

/// The audit writer's counters and its `sync_data` latency histogram.
fn write_audit(out: &mut String, stats: &garrison_audit::WriterStats) {
    let _ = writeln!(
        out,
        "# HELP garrison_audit_records_total Audit records written.\n# TYPE garrison_audit_records_total counter\ngarrison_audit_records_total {}",
        stats.records
    );
    let _ = writeln!(
        out,
        "# HELP garrison_audit_batches_total Audit batches written (records per batch = records / batches).\n# TYPE garrison_audit_batches_total counter\ngarrison_audit_batches_total {}",
        stats.batches
    );
    out.push_str("# HELP garrison_audit_fsync_duration_seconds Time each sync_data of the audit store took.\n# TYPE garrison_audit_fsync_duration_seconds histogram\n");
    for (bound, count) in garrison_audit::SYNC_BUCKETS_US
        .iter()
        .zip(stats.sync_buckets)
    {
        let _ = writeln!(
            out,
            "garrison_audit_fsync_duration_seconds_bucket{{le=\"{}\"}} {count}",
            *bound as f64 / 1e6
        );
    }
    let _ = writeln!(
        out,
        "garrison_audit_fsync_duration_seconds_bucket{{le=\"+Inf\"}} {}\ngarrison_audit_fsync_duration_seconds_sum {}\ngarrison_audit_fsync_duration_seconds_count {}",
        stats.syncs, stats.sync_seconds, stats.syncs
    );
}

fn write_counters(out: &mut String, route: &str, consumer: &str, counters: &StatusCounters) {
    for (i, count) in counters.counts.iter().enumerate() {
        let count = count.load(Ordering::Relaxed);
        if count > 0 {
            let _ = writeln!(
                out,
                "garrison_requests_total{{route=\"{route}\",consumer=\"{consumer}\",status=\"{}\"}} {count}",
                slot_label(i)
            );
        }
    }
}

// === impl MetricsReader ===

/// One consumer's responses on one route since the process started (the counters of
/// `garrison_requests_total`, summed by class).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerReading {
    /// The consumer's name (`""`: not identified).
    pub consumer: String,
    /// Every response.
    pub requests: u64,
    /// `4xx` responses.
    pub client_errors: u64,
    /// `5xx` responses.
    pub server_errors: u64,
}

/// One route's counters since the process started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteReading {
    /// The route's name.
    pub route: String,
    /// Responses by consumer (anonymous ones under `""`).
    pub consumers: Vec<ConsumerReading>,
    /// Observations per latency bucket (not cumulative): one per [`LATENCY_BUCKETS_US`]
    /// bound, then the unbounded bucket.
    pub latency_buckets: Vec<u64>,
    /// Sum of the observed latencies, in microseconds.
    pub latency_sum_us: u64,
}

/// A read-only view of the gateway's request counters, for an in-process sampler (the
/// portal's usage charts) that would otherwise parse its own Prometheus text.
#[derive(Clone)]
pub struct MetricsReader(pub(crate) Arc<Metrics>);

impl std::fmt::Debug for MetricsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsReader")
    }
}

impl MetricsReader {
    /// Every route's counters now.
    pub fn read(&self) -> Vec<RouteReading> {
        let routes = self
            .0
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        routes
            .iter()
            .map(|(name, stats)| {
                let mut consumers = vec![reading("", &stats.anonymous)];
                let by_consumer = stats
                    .by_consumer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                consumers.extend(by_consumer.iter().map(|(c, counters)| reading(c, counters)));
                let h = &stats.latency;
                let mut latency_buckets: Vec<u64> = h
                    .buckets
                    .iter()
                    .map(|b| b.load(Ordering::Relaxed))
                    .collect();
                let count = h.count.load(Ordering::Relaxed);
                let bounded: u64 = latency_buckets.iter().sum();
                latency_buckets.push(count.saturating_sub(bounded));
                RouteReading {
                    route: name.clone(),
                    consumers,
                    latency_buckets,
                    latency_sum_us: h.sum_us.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

fn reading(consumer: &str, counters: &StatusCounters) -> ConsumerReading {
    let mut out = ConsumerReading {
        consumer: consumer.to_owned(),
        ..ConsumerReading::default()
    };
    for (i, count) in counters.counts.iter().enumerate() {
        let count = count.load(Ordering::Relaxed);
        out.requests += count;
        match slot_label(i).as_bytes().first() {
            Some(b'4') => out.client_errors += count,
            Some(b'5') => out.server_errors += count,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_land_in_their_slot_or_class() {
        let c = StatusCounters::default();
        c.record(429);
        c.record(429);
        c.record(418);
        c.record(299);
        assert_eq!(c.get(429), 2);
        assert_eq!(c.get(418), 1, "418 is counted as 4xx");
        assert_eq!(c.get(299), 1);
        assert_eq!(slot_label(slot(418)), "4xx");
        assert_eq!(slot_label(slot(503)), "503");
    }

    #[test]
    fn render_names_route_consumer_and_status() {
        let m = Metrics::default();
        let route = m.route("citizen-match");
        route.for_consumer("dvla").record(200);
        route.anonymous.record(401);
        route.latency.observe(Duration::from_millis(3));
        let text = m.render(None);
        assert!(text.contains(
            "garrison_requests_total{route=\"citizen-match\",consumer=\"dvla\",status=\"200\"} 1"
        ));
        assert!(text.contains(
            "garrison_requests_total{route=\"citizen-match\",consumer=\"\",status=\"401\"} 1"
        ));
        assert!(text.contains(
            "garrison_request_duration_seconds_bucket{route=\"citizen-match\",le=\"0.005\"} 1"
        ));
        assert!(
            text.contains("garrison_request_duration_seconds_count{route=\"citizen-match\"} 1")
        );
    }

    #[test]
    fn reader_sums_classes_and_buckets() {
        let m = Arc::new(Metrics::default());
        let route = m.route("r");
        let dvla = route.for_consumer("dvla/app");
        for status in [200, 201, 404, 429, 503, 418] {
            dvla.record(status);
        }
        route.latency.observe(Duration::from_millis(3));
        route.latency.observe(Duration::from_secs(20));
        let reading = MetricsReader(m).read();
        assert_eq!(reading.len(), 1);
        let app = &reading[0].consumers[1];
        assert_eq!(app.consumer, "dvla/app");
        assert_eq!(
            (app.requests, app.client_errors, app.server_errors),
            (6, 3, 1)
        );
        assert_eq!(reading[0].consumers[0].requests, 0, "anonymous");
        let buckets = &reading[0].latency_buckets;
        assert_eq!(buckets.len(), LATENCY_BUCKETS_US.len() + 1);
        assert_eq!(buckets[3], 1, "3 ms is in the 5 ms bucket");
        assert_eq!(
            buckets[LATENCY_BUCKETS_US.len()],
            1,
            "20 s is past the last bound"
        );
        assert_eq!(reading[0].latency_sum_us, 20_003_000);
    }
}
