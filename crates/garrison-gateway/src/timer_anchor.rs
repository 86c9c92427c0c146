//! One timer kept pending on the gateway's runtime, so that arming a request's timers does not
//! wake the runtime's I/O driver.
//!
//! Tokio's time driver remembers, whenever the runtime parks, the earliest deadline it holds.
//! A timer armed afterwards with an earlier deadline — or any timer at all, if none was pending
//! at the park — makes it wake the I/O driver (a `write` to its eventfd, and a needless turn of
//! the event loop), and keeps doing so for every such timer until the runtime parks again.
//! Every request arms timers (hyper's header-read timeout for the next request, the upstream
//! timeout). On a loop that parked with none pending — a busy gateway whose connections are all
//! waiting on something, such as audited requests waiting for their record's `fsync` — that was
//! a system call per request (measured: 0.85 per audited request under `durability: fsync` at
//! 20,000 requests a second). With a timer never further than [`PERIOD`] away, the remembered
//! deadline stays close, and request timers, seconds away, never come before it.

use std::time::Duration;

use tokio::sync::watch;

/// Shorter than any timeout a request arms in practice (header reads and upstream answers are
/// given seconds); the cost is ten wake-ups a second of an otherwise idle gateway.
const PERIOD: Duration = Duration::from_millis(100);

/// Keeps a timer pending until shutdown.
pub(crate) async fn run(mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
    }
}
