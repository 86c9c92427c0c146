//! The generic cell rate algorithm over one atomic word.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Nanoseconds between two requests at the sustained rate (the emission interval, `T`).
    interval: u64,
    /// How many requests may arrive back to back after a quiet period.
    burst: u32,
}

impl Quota {
    /// `requests` per `period`, with up to `burst` at once. Returns `None` for a zero rate,
    /// period or burst, which would be a limit that can never admit anything.
    pub fn new(requests: u32, period: Duration, burst: u32) -> Option<Self> {
        if requests == 0 || burst == 0 || period.is_zero() {
            return None;
        }
        let interval = (period.as_nanos() / u128::from(requests)).max(1);
        Some(Quota {
            interval: u64::try_from(interval).ok()?,
            burst,
        })
    }

    /// The burst: the most requests admitted at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The window in which a full burst is replenished, for the `RateLimit-Policy` header.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.interval.saturating_mul(u64::from(self.burst)))
    }

    /// The sustained rate as requests per second (for display).
    pub fn per_second(&self) -> f64 {
        1e9 / self.interval as f64
    }

    /// The tolerance `τ`: how far ahead of now the theoretical arrival time may run.
    fn tolerance(&self) -> u64 {
        self.interval.saturating_mul(u64::from(self.burst))
    }

    /// Decides one request against `cell` at `now` (nanoseconds on the limiter's [`Clock`]).
    pub fn check(&self, cell: &Cell, now: u64) -> Decision {
        let mut tat = cell.tat.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now).saturating_add(self.interval);
            let ahead = next - now;
            if ahead > self.tolerance() {
                return Decision::Deny {
                    retry_after: Duration::from_nanos(ahead - self.tolerance()),
                    reset: Duration::from_nanos(tat.saturating_sub(now)),
                };
            }
            match cell
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let remaining = (self.tolerance() - ahead) / self.interval;
                    return Decision::Allow {
                        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                        reset: Duration::from_nanos(ahead),
                    };
                }
                Err(actual) => tat = actual,
            }
        }
    }
}

/// The state of one limited subject: its theoretical arrival time in clock nanoseconds.
#[derive(Debug, Default)]
pub struct Cell {
    tat: AtomicU64,
}

/// What the limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Admitted.
    Allow {
        /// Requests that could still be made right now.
        remaining: u32,
        /// Time until the full burst is available again.
        reset: Duration,
    },
    /// Refused.
    Deny {
        /// Time until one more request would be admitted.
        retry_after: Duration,
        /// Time until the full burst is available again.
        reset: Duration,
    },
}

/// A monotonic clock in nanoseconds since the limiter started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since the epoch. Starts one second in, so a fresh cell (time 0) is always
    /// in the past and admits a full burst.
    pub fn now(&self) -> u64 {
        let elapsed = self.epoch.elapsed().as_nanos() + 1_000_000_000;
        u64::try_from(elapsed).unwrap_or(u64::MAX)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn admits_a_burst_then_refuses_until_the_interval_passes() {
        let quota = Quota::new(10, Duration::from_secs(1), 3).expect("valid");
        let cell = Cell::default();
        let now = 5 * SECOND;
        let remaining: Vec<_> = (0..3)
            .map(|_| match quota.check(&cell, now) {
                Decision::Allow { remaining, .. } => remaining,
                Decision::Deny { .. } => panic!("a burst of 3 must be admitted"),
            })
            .collect();
        assert_eq!(remaining, vec![2, 1, 0]);
        match quota.check(&cell, now) {
            Decision::Deny { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_millis(100))
            }
            Decision::Allow { .. } => panic!("the fourth request must be refused"),
        }
        assert!(matches!(
            quota.check(&cell, now + SECOND / 10),
            Decision::Allow { remaining: 0, .. }
        ));
    }

    #[test]
    fn a_sustained_rate_at_the_limit_is_always_admitted() {
        let quota = Quota::new(100, Duration::from_secs(1), 1).expect("valid");
        let cell = Cell::default();
        for i in 0..1000 {
            let now = SECOND + i * SECOND / 100;
            assert!(
                matches!(quota.check(&cell, now), Decision::Allow { .. }),
                "{i}"
            );
        }
    }

    #[test]
    fn concurrent_callers_never_admit_more_than_the_burst() {
        let quota = Quota::new(1, Duration::from_secs(3600), 50).expect("valid");
        let cell = std::sync::Arc::new(Cell::default());
        let admitted: u32 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let cell = cell.clone();
                    s.spawn(move || {
                        (0..100)
                            .filter(|_| {
                                matches!(quota.check(&cell, SECOND), Decision::Allow { .. })
                            })
                            .count() as u32
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        assert_eq!(admitted, 50);
    }

    #[test]
    fn zero_quotas_are_refused() {
        assert!(Quota::new(0, Duration::from_secs(1), 1).is_none());
        assert!(Quota::new(1, Duration::ZERO, 1).is_none());
        assert!(Quota::new(1, Duration::from_secs(1), 0).is_none());
        let q = Quota::new(60, Duration::from_secs(60), 10).expect("valid");
        assert_eq!(q.window(), Duration::from_secs(10));
    }

    #[test]
    fn the_clock_starts_past_zero() {
        assert!(Clock::new().now() >= SECOND);
    }
}
