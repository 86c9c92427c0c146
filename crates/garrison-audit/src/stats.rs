//! What the writer has done, for metrics: batches, records, and how long each `sync_data` took
//! (the latency every fail-closed request waits for, and the first sign of a failing disk).
//!
//! The writer and its background syncs update plain atomics; a metrics scrape reads them.
//! Nothing here is on the request path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the `sync_data` duration histogram, in microseconds.
pub const SYNC_BUCKETS_US: [u64; 10] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// The counters the writer keeps.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    batches: AtomicU64,
    records: AtomicU64,
    syncs: AtomicU64,
    sync_micros: AtomicU64,
    /// Syncs by the first bucket whose bound they do not exceed (not cumulative).
    sync_buckets: [AtomicU64; SYNC_BUCKETS_US.len()],
}

/// A reading of the writer's counters since the log was opened.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct WriterStats {
    /// Batches written.
    pub batches: u64,
    /// Records written.
    pub records: u64,
    /// `sync_data` calls.
    pub syncs: u64,
    /// Their total duration, in seconds.
    pub sync_seconds: f64,
    /// Syncs that took at most each of [`SYNC_BUCKETS_US`] (cumulative, as Prometheus wants).
    pub sync_buckets: [u64; SYNC_BUCKETS_US.len()],
}

// === impl Counters ===

impl Counters {
    /// Notes a batch of `records` written.
    pub(crate) fn batch(&self, records: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(records as u64, Ordering::Relaxed);
    }

    /// Notes one `sync_data` that took `took`.
    pub(crate) fn sync(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.sync_micros.fetch_add(micros, Ordering::Relaxed);
        if let Some(i) = SYNC_BUCKETS_US.iter().position(|&bound| micros <= bound) {
            self.sync_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A reading.
    pub(crate) fn read(&self) -> WriterStats {
        let mut sync_buckets = [0; SYNC_BUCKETS_US.len()];
        let mut cumulative = 0;
        for (i, bucket) in self.sync_buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            sync_buckets[i] = cumulative;
        }
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            syncs: self.syncs.load(Ordering::Relaxed),
            sync_seconds: self.sync_micros.load(Ordering::Relaxed) as f64 / 1e6,
            sync_buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_land_in_cumulative_buckets() {
        let c = Counters::default();
        c.sync(Duration::from_micros(100));
        c.sync(Duration::from_micros(250));
        c.sync(Duration::from_micros(700));
        c.sync(Duration::from_secs(3));
        c.batch(5);
        let s = c.read();
        assert_eq!((s.syncs, s.batches, s.records), (4, 1, 5));
        assert_eq!(s.sync_buckets[0], 2, "≤ 250 µs");
        assert_eq!(s.sync_buckets[2], 3, "≤ 1 ms");
        assert_eq!(
            s.sync_buckets[SYNC_BUCKETS_US.len() - 1],
            3,
            "3 s is only in +Inf"
        );
        assert!((s.sync_seconds - 3.00105).abs() < 1e-9);
    }
}
