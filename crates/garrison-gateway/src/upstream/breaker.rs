//! A passive circuit breaker per upstream target: after `threshold` consecutive failures the
//! target is skipped for `cooldown`, then one trial request decides whether it closes again.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// The breaker state of one target; times are nanoseconds on the gateway's clock.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: u64,
    failures: AtomicU32,
    /// 0 when closed; otherwise the time until which the circuit stays open.
    open_until: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold,
            cooldown: u64::try_from(cooldown.as_nanos()).unwrap_or(u64::MAX),
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
        }
    }

    /// Whether a request may go to this target now. When the cooldown has passed, exactly one
    /// caller wins the trial (the others keep skipping the target until it answers).
    pub(crate) fn allow(&self, now: u64) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        now >= until
            && self
                .open_until
                .compare_exchange(
                    until,
                    now.saturating_add(self.cooldown),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Records a success: the circuit closes.
    pub(crate) fn success(&self) {
        // Plain loads first: the common case writes nothing, so the cache line stays shared.
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
        if self.open_until.load(Ordering::Relaxed) != 0 {
            self.open_until.store(0, Ordering::Release);
        }
    }

    /// Records a failure; the threshold-th consecutive one opens the circuit.
    pub(crate) fn failure(&self, now: u64) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if failures >= self.threshold {
            self.open_until
                .store(now.saturating_add(self.cooldown).max(1), Ordering::Release);
        }
    }

    /// Whether the circuit is currently open (for metrics).
    pub(crate) fn is_open(&self, now: u64) -> bool {
        let until = self.open_until.load(Ordering::Relaxed);
        until != 0 && now < until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_admits_one_trial_after_cooldown() {
        let b = Breaker::new(3, Duration::from_nanos(100));
        b.failure(10);
        b.failure(11);
        assert!(b.allow(12), "two failures keep it closed");
        b.failure(12);
        assert!(!b.allow(13), "the third opens it");
        assert!(b.is_open(50));
        assert!(b.allow(112), "one trial after the cooldown");
        assert!(!b.allow(113), "only one");
        b.success();
        assert!(b.allow(114));
        assert!(!b.is_open(114));
    }
}
