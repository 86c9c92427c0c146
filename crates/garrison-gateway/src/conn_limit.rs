//! Concurrent connections per client address, checked at accept time.

use std::collections::HashMap;
use std::net::IpAddr;
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

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_one_its_address() {
        let key = |s: &str| client_key(s.parse().expect("ip"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }
}
