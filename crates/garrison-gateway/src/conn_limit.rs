//! Concurrent connections per client address, checked at accept time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

const SHARDS: usize = 32;

/// Counts open connections per IP address and refuses those over the limit. Touched once per
/// connection (accept and close), never per request.
#[derive(Debug)]
pub(crate) struct ConnectionLimiter {
    shards: Vec<Mutex<HashMap<IpAddr, u32>>>,
}

/// Holds one connection's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ConnectionLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        })
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, u32>> {
        let index = match ip {
            IpAddr::V4(v4) => v4.octets().iter().map(|&b| b as usize).sum::<usize>(),
            IpAddr::V6(v6) => v6.octets().iter().map(|&b| b as usize).sum::<usize>(),
        };
        &self.shards[index % SHARDS]
    }

    /// A permit for one more connection from `ip`, unless it already has `max`.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<ConnectionPermit> {
        let mut shard = self
            .shard(&ip)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = shard.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnectionPermit {
            limiter: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut shard = self
            .limiter
            .shard(&self.ip)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = shard.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                shard.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_per_address_and_freed_on_drop() {
        let limiter = ConnectionLimiter::new();
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let first = limiter.try_acquire(a, 2).expect("1st");
        let _second = limiter.try_acquire(a, 2).expect("2nd");
        assert!(limiter.try_acquire(a, 2).is_none());
        assert!(limiter.try_acquire(b, 2).is_some());
        drop(first);
        assert!(limiter.try_acquire(a, 2).is_some());
    }
}
