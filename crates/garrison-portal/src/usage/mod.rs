//! Usage over time, from the gateway's own counters: a sampler reads the request counters
//! and latency histogram of `garrison_requests_total` and `garrison_request_duration_seconds`
//! (in process, through [`MetricsReader`]) every few seconds, and keeps the differences per
//! minute in a bounded ring ([`ring`]); the usage pages chart it ([`chart`]).
//!
//! Memory is bounded: [`RING_MINUTES`] minutes (24 hours at one-minute resolution), each with
//! at most [`ring::MAX_SERIES_PER_MINUTE`] (route group, consumer) series and one latency
//! histogram per route group. Usage is in memory: a restart of the process starts it again.

pub(crate) mod chart;
pub(crate) mod ring;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use garrison_gateway::MetricsReader;

use crate::Portal;

/// How many minutes of usage are kept: 24 hours.
pub const RING_MINUTES: usize = 24 * 60;

/// How often `garrison up` samples the counters.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// The usage the portal keeps.
#[derive(Debug)]
pub(crate) struct Usage {
    reader: OnceLock<MetricsReader>,
    /// The route group of each route (from the configuration).
    groups: RwLock<HashMap<String, String>>,
    pub(crate) ring: Mutex<ring::Ring>,
}

impl Usage {
    pub(crate) fn new() -> Usage {
        Usage {
            reader: OnceLock::new(),
            groups: RwLock::new(HashMap::new()),
            ring: Mutex::new(ring::Ring::new(RING_MINUTES)),
        }
    }

    /// Whether a reader was given (the pages say so when usage is not measured).
    pub(crate) fn measured(&self) -> bool {
        self.reader.get().is_some()
    }

    /// Reads the counters now and adds the difference to the ring.
    pub(crate) fn sample(&self) {
        let Some(reader) = self.reader.get() else {
            return;
        };
        let readings = reader.read();
        let groups = self.groups.read().unwrap_or_else(PoisonError::into_inner);
        let group_of = |route: &str| {
            groups
                .get(route)
                .cloned()
                .unwrap_or_else(|| route.to_owned())
        };
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(garrison_store::now(), &readings, &group_of);
    }
}

impl Portal {
    /// Gives the usage pages the gateway's counters, and the route group of each route
    /// (`Route::group` of the configuration), by route name. The first reader given stays
    /// (one gateway per process); the groups are replaced.
    pub fn set_metrics(&self, reader: MetricsReader, groups: HashMap<String, String>) {
        *self
            .usage
            .groups
            .write()
            .unwrap_or_else(PoisonError::into_inner) = groups;
        let _ = self.usage.reader.set(reader);
        self.usage.sample();
    }

    /// Reads the gateway's counters into the usage ring now (the sampler does it every
    /// [`SAMPLE_EVERY`]; a usage page does it before it draws, so it is never stale).
    pub fn sample_usage(&self) {
        self.usage.sample();
    }
}

/// Samples the counters into the portal's ring every `every`, until the task is dropped.
pub async fn sample_every(portal: Arc<Portal>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let portal = portal.clone();
        // The ring's lock is short, but reading every series is work: off the event loop.
        let _ = tokio::task::spawn_blocking(move || portal.sample_usage()).await;
    }
}
