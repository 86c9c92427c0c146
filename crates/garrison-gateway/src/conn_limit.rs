//! Concurrent connections per client address and in all, checked at accept time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

const SHARDS: usize = 32;

/// Whose connection it is, for the limit: an IPv4 address (IPv4-mapped IPv6 included), or the
/// /64 an IPv6 address is in — the least a site is given, so one holder of a /64 cannot take a
/// new place with each of its 2^64 addresses.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match crate::proxy::headers::canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// Counts open connections per IP address and in all, and refuses those over either limit.
/// Touched once per connection (accept and close), never per request.
#[derive(Debug)]
pub(crate) struct ConnectionLimiter {
    shards: Vec<Mutex<HashMap<IpAddr, u32>>>,
    /// Every connection holding a permit: many addresses together (a botnet, or an IPv6
    /// holder of many /64s) must not take every file descriptor the gateway has, which its
    /// upstream connections and the audit store need too.
    total: AtomicU32,
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
            total: AtomicU32::new(0),
        })
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, u32>> {
        let index = match ip {
            IpAddr::V4(v4) => v4.octets().iter().map(|&b| b as usize).sum::<usize>(),
            IpAddr::V6(v6) => v6.octets().iter().map(|&b| b as usize).sum::<usize>(),
        };
        &self.shards[index % SHARDS]
    }

    /// A permit for one more connection from `ip`, unless it already has `max`, or all
    /// addresses together have `max_total`.
    pub(crate) fn try_acquire(
        self: &Arc<Self>,
        ip: IpAddr,
        max: u32,
        max_total: u32,
    ) -> Option<ConnectionPermit> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let mut shard = self
            .shard(&ip)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = shard.entry(ip).or_insert(0);
        if *count >= max {
            if *count == 0 {
                shard.remove(&ip);
            }
            self.total.fetch_sub(1, Ordering::AcqRel);
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
        self.limiter.total.fetch_sub(1, Ordering::AcqRel);
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
        let first = limiter.try_acquire(a, 2, 100).expect("1st");
        let _second = limiter.try_acquire(a, 2, 100).expect("2nd");
        assert!(limiter.try_acquire(a, 2, 100).is_none());
        assert!(limiter.try_acquire(b, 2, 100).is_some());
        drop(first);
        assert!(limiter.try_acquire(a, 2, 100).is_some());
    }

    #[test]
    fn permits_are_counted_in_all_and_a_refusal_takes_no_place() {
        let limiter = ConnectionLimiter::new();
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        let first = limiter.try_acquire(ip(1), 1, 2).expect("1st");
        // Refused by its address's limit: holds no place in all.
        assert!(limiter.try_acquire(ip(1), 1, 2).is_none());
        let _second = limiter.try_acquire(ip(2), 1, 2).expect("2nd");
        assert!(limiter.try_acquire(ip(3), 1, 2).is_none(), "two in all");
        drop(first);
        assert!(limiter.try_acquire(ip(3), 1, 2).is_some());
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_one_its_address() {
        let key = |s: &str| client_key(s.parse().expect("ip"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }
}
