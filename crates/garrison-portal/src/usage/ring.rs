//! The usage ring: per-minute totals of the gateway's counters, kept for a bounded number of
//! minutes. Each sample is the difference between two readings of cumulative counters; a
//! counter that went down means the gateway's counters restarted (a new process), so the new
//! reading is the whole delta.

use std::collections::{BTreeMap, HashMap, VecDeque};

use garrison_gateway::{LATENCY_BUCKETS_US, RouteReading};

/// The most series one minute holds (route group × consumer); further ones are dropped and
/// counted, so a flood of consumers cannot grow the ring without bound.
pub(crate) const MAX_SERIES_PER_MINUTE: usize = 512;

/// Responses in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Every response.
    pub(crate) requests: u64,
    /// `4xx` responses.
    pub(crate) client_errors: u64,
    /// `5xx` responses.
    pub(crate) server_errors: u64,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
    }

    /// `self - earlier`, or `self` when any counter went down (the counters restarted).
    fn since(self, earlier: Totals) -> Totals {
        if self.requests < earlier.requests
            || self.client_errors < earlier.client_errors
            || self.server_errors < earlier.server_errors
        {
            return self;
        }
        Totals {
            requests: self.requests - earlier.requests,
            client_errors: self.client_errors - earlier.client_errors,
            server_errors: self.server_errors - earlier.server_errors,
        }
    }

    fn is_zero(self) -> bool {
        self.requests == 0
    }
}

/// Latency observations in one minute: per bucket of the gateway's histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Latency {
    /// Observations per bucket (not cumulative), the last one unbounded.
    pub(crate) buckets: Vec<u64>,
    /// Sum of the observations, in microseconds.
    pub(crate) sum_us: u64,
}

impl Latency {
    fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    fn add(&mut self, other: &Latency) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum_us += other.sum_us;
    }

    fn since(&self, earlier: &Latency) -> Latency {
        let restarted = self.count() < earlier.count()
            || self.sum_us < earlier.sum_us
            || self
                .buckets
                .iter()
                .zip(&earlier.buckets)
                .any(|(now, then)| now < then);
        if restarted {
            return self.clone();
        }
        Latency {
            buckets: self
                .buckets
                .iter()
                .enumerate()
                .map(|(i, now)| now - earlier.buckets.get(i).copied().unwrap_or(0))
                .collect(),
            sum_us: self.sum_us - earlier.sum_us,
        }
    }

    /// The `q` quantile in milliseconds, interpolated linearly within its bucket as
    /// Prometheus' `histogram_quantile` does; `None` without observations. Past the last
    /// bound, the last bound (the histogram knows no more).
    pub(crate) fn quantile_ms(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = q * count as f64;
        let mut seen = 0u64;
        for (i, in_bucket) in self.buckets.iter().enumerate() {
            let upper = LATENCY_BUCKETS_US.get(i).copied();
            let lower = if i == 0 { 0 } else { LATENCY_BUCKETS_US[i - 1] };
            if (seen + in_bucket) as f64 >= rank && *in_bucket > 0 {
                let Some(upper) = upper else {
                    return Some(lower as f64 / 1000.0);
                };
                let within = (rank - seen as f64) / *in_bucket as f64;
                return Some((lower as f64 + within * (upper - lower) as f64) / 1000.0);
            }
            seen += in_bucket;
        }
        LATENCY_BUCKETS_US.last().map(|b| *b as f64 / 1000.0)
    }

    /// The mean in milliseconds.
    pub(crate) fn mean_ms(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| self.sum_us as f64 / count as f64 / 1000.0)
    }
}

/// One minute of usage.
#[derive(Debug, Clone, Default)]
struct Minute {
    /// Minutes since the Unix epoch.
    at: i64,
    /// By (route group, consumer).
    traffic: BTreeMap<(String, String), Totals>,
    /// By route group.
    latency: BTreeMap<String, Latency>,
}

/// The last `capacity` minutes of usage.
#[derive(Debug)]
pub(crate) struct Ring {
    capacity: usize,
    minutes: VecDeque<Minute>,
    /// The previous reading, by (route, consumer) and by route.
    last_traffic: HashMap<(String, String), Totals>,
    last_latency: HashMap<String, Latency>,
    /// Series dropped because a minute was full.
    pub(crate) dropped: u64,
}

/// One minute of a query's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Point {
    /// Minutes since the Unix epoch.
    pub(crate) at: i64,
    /// Responses in the minute.
    pub(crate) totals: Totals,
    /// Latency observations in the minute.
    pub(crate) latency: Latency,
}

impl Ring {
    /// A ring of `capacity` minutes (at least one).
    pub(crate) fn new(capacity: usize) -> Ring {
        Ring {
            capacity: capacity.max(1),
            minutes: VecDeque::new(),
            last_traffic: HashMap::new(),
            last_latency: HashMap::new(),
            dropped: 0,
        }
    }

    /// How many minutes are held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.minutes.len()
    }

    /// Adds the difference between `readings` (taken at `now`, Unix seconds) and the previous
    /// readings into the current minute. `group_of` names the route group of a route (the
    /// route itself when unknown); requests that matched no route (`route=""`) are left out.
    pub(crate) fn record(
        &mut self,
        now: i64,
        readings: &[RouteReading],
        group_of: &dyn Fn(&str) -> String,
    ) {
        let at = now.div_euclid(60);
        if self.minutes.back().is_none_or(|m| m.at < at) {
            self.minutes.push_back(Minute {
                at,
                ..Minute::default()
            });
        }
        while self.minutes.len() > self.capacity
            || self
                .minutes
                .front()
                .is_some_and(|m| m.at <= at - self.capacity as i64)
        {
            self.minutes.pop_front();
        }
        let Some(minute) = self.minutes.back_mut() else {
            return;
        };
        for reading in readings {
            if reading.route.is_empty() {
                continue;
            }
            let group = group_of(&reading.route);
            for consumer in &reading.consumers {
                let now = Totals {
                    requests: consumer.requests,
                    client_errors: consumer.client_errors,
                    server_errors: consumer.server_errors,
                };
                let key = (reading.route.clone(), consumer.consumer.clone());
                let delta = now.since(self.last_traffic.get(&key).copied().unwrap_or_default());
                self.last_traffic.insert(key, now);
                if delta.is_zero() {
                    continue;
                }
                let series = (group.clone(), consumer.consumer.clone());
                if !minute.traffic.contains_key(&series)
                    && minute.traffic.len() >= MAX_SERIES_PER_MINUTE
                {
                    self.dropped += 1;
                    continue;
                }
                minute.traffic.entry(series).or_default().add(delta);
            }
            let now = Latency {
                buckets: reading.latency_buckets.clone(),
                sum_us: reading.latency_sum_us,
            };
            let delta = now.since(
                self.last_latency
                    .get(&reading.route)
                    .unwrap_or(&Latency::default()),
            );
            self.last_latency.insert(reading.route.clone(), now);
            if delta.count() > 0 {
                minute.latency.entry(group).or_default().add(&delta);
            }
        }
    }

    /// Every minute from `from` to `to` (inclusive, minutes since the epoch), with the
    /// traffic of the series `traffic` accepts (route group, consumer) and the latency of the
    /// route groups `latency` accepts; minutes without data are zero.
    pub(crate) fn query(
        &self,
        from: i64,
        to: i64,
        traffic: &dyn Fn(&str, &str) -> bool,
        latency: &dyn Fn(&str) -> bool,
    ) -> Vec<Point> {
        let mut points: Vec<Point> = (from..=to)
            .map(|at| Point {
                at,
                ..Point::default()
            })
            .collect();
        for minute in &self.minutes {
            let Some(point) = usize::try_from(minute.at - from)
                .ok()
                .and_then(|i| points.get_mut(i))
            else {
                continue;
            };
            for ((group, consumer), totals) in &minute.traffic {
                if traffic(group, consumer) {
                    point.totals.add(*totals);
                }
            }
            for (group, observed) in &minute.latency {
                if latency(group) {
                    point.latency.add(observed);
                }
            }
        }
        points
    }

    /// Totals from `from` to `to` by (route group, consumer), for the series `traffic`
    /// accepts.
    pub(crate) fn breakdown(
        &self,
        from: i64,
        to: i64,
        traffic: &dyn Fn(&str, &str) -> bool,
    ) -> BTreeMap<(String, String), Totals> {
        let mut out: BTreeMap<(String, String), Totals> = BTreeMap::new();
        for minute in self.minutes.iter().filter(|m| (from..=to).contains(&m.at)) {
            for (key, totals) in &minute.traffic {
                if traffic(&key.0, &key.1) {
                    out.entry(key.clone()).or_default().add(*totals);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use garrison_gateway::ConsumerReading;

    use super::*;

    fn reading(route: &str, consumer: &str, requests: u64, errors: u64) -> RouteReading {
        let mut buckets = vec![0; LATENCY_BUCKETS_US.len() + 1];
        buckets[2] = requests; // 1 ms < t <= 2.5 ms
        RouteReading {
            route: route.into(),
            consumers: vec![ConsumerReading {
                consumer: consumer.into(),
                requests,
                client_errors: errors,
                server_errors: 0,
            }],
            latency_buckets: buckets,
            latency_sum_us: requests * 2000,
        }
    }

    fn same(route: &str) -> String {
        route.to_owned()
    }

    fn all(points: &[Point]) -> Vec<u64> {
        points.iter().map(|p| p.totals.requests).collect()
    }

    #[test]
    fn samples_are_counter_deltas_per_minute() {
        let mut ring = Ring::new(60);
        ring.record(600, &[reading("demo", "dvla/app", 5, 1)], &same);
        ring.record(610, &[reading("demo", "dvla/app", 8, 1)], &same);
        ring.record(660, &[reading("demo", "dvla/app", 10, 3)], &same);
        let points = ring.query(10, 11, &|_, c| c == "dvla/app", &|_| true);
        assert_eq!(all(&points), vec![8, 2]);
        assert_eq!(points[0].totals.client_errors, 1);
        assert_eq!(points[1].totals.client_errors, 2);
        assert_eq!(points[0].latency.count(), 8);
        let other = ring.query(10, 11, &|_, c| c == "dwp/app", &|_| false);
        assert_eq!(
            all(&other),
            vec![0, 0],
            "another consumer's series is not counted"
        );
    }

    #[test]
    fn a_counter_restart_counts_the_new_reading_whole() {
        let mut ring = Ring::new(60);
        ring.record(600, &[reading("demo", "a/b", 100, 0)], &same);
        // The gateway restarted: its counters start again from zero.
        ring.record(610, &[reading("demo", "a/b", 4, 0)], &same);
        ring.record(620, &[reading("demo", "a/b", 6, 0)], &same);
        let points = ring.query(10, 10, &|_, _| true, &|_| true);
        assert_eq!(points[0].totals.requests, 100 + 4 + 2);
        assert_eq!(points[0].latency.count(), 106);
    }

    #[test]
    fn the_ring_keeps_at_most_its_capacity() {
        let mut ring = Ring::new(5);
        for minute in 0..20 {
            ring.record(
                minute * 60,
                &[reading("demo", "a/b", minute as u64, 0)],
                &same,
            );
            assert!(ring.len() <= 5);
        }
        assert_eq!(ring.len(), 5);
        let points = ring.query(0, 19, &|_, _| true, &|_| true);
        assert_eq!(points[14].totals.requests, 0, "minute 14 was evicted");
        assert_eq!(points[15].totals.requests, 1);
        // A gap longer than the ring evicts everything older.
        ring.record(100 * 60, &[reading("demo", "a/b", 20, 0)], &same);
        assert_eq!(ring.len(), 1);
    }

    #[test]
    fn series_per_minute_are_bounded() {
        let mut ring = Ring::new(5);
        let readings: Vec<_> = (0..MAX_SERIES_PER_MINUTE + 10)
            .map(|i| reading("demo", &format!("org/app{i}"), 1, 0))
            .collect();
        ring.record(0, &readings, &same);
        assert_eq!(ring.dropped, 10);
        assert_eq!(
            ring.breakdown(0, 0, &|_, _| true).len(),
            MAX_SERIES_PER_MINUTE
        );
    }

    #[test]
    fn routes_are_summed_by_group_and_unrouted_requests_left_out() {
        let mut ring = Ring::new(5);
        let group_of = |route: &str| route.split('.').next().unwrap_or(route).to_owned();
        ring.record(
            0,
            &[
                reading("match.one", "a/b", 2, 0),
                reading("match.two", "a/b", 3, 0),
                reading("", "", 7, 7),
            ],
            &group_of,
        );
        let by = ring.breakdown(0, 0, &|_, _| true);
        assert_eq!(by.len(), 1);
        assert_eq!(by[&("match".to_owned(), "a/b".to_owned())].requests, 5);
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        let mut buckets = vec![0; LATENCY_BUCKETS_US.len() + 1];
        buckets[0] = 50; // <= 0.5 ms
        buckets[1] = 50; // 0.5 .. 1 ms
        let latency = Latency {
            buckets,
            sum_us: 100 * 600,
        };
        assert_eq!(latency.quantile_ms(0.5), Some(0.5));
        assert_eq!(latency.quantile_ms(0.95), Some(0.95));
        assert_eq!(latency.mean_ms(), Some(0.6));
        assert_eq!(Latency::default().quantile_ms(0.5), None);
    }
}
