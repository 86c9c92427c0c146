//! Match ids: the ephemeral, random ids a citizen match hands out, and what the service
//! remembers about each (whose id it is, which consumer may use it, until when).
//!
//! An id is a fresh version 4 UUID on every match, so two matches of the same person cannot
//! be linked by their ids (the DWP Citizen API rotates its ids for the same reason). The
//! registry is bounded: when it is full of live ids a new match is refused rather than the
//! memory grown, so a flood of matches cannot exhaust the service.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::PersonId;

/// An opaque match id: 128 random bits shaped as a version 4 UUID (RFC 9562 §5.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MatchId([u8; 16]);

// === impl MatchId ===

impl MatchId {
    /// A fresh id from the operating system's random source.
    pub(crate) fn random() -> Result<MatchId, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        Ok(MatchId(bytes))
    }

    /// Parses the hyphenated form (`3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15`), in either case.
    /// Any UUID shape is accepted: an id this service did not issue is simply not found.
    pub(crate) fn parse(text: &str) -> Option<MatchId> {
        let b = text.as_bytes();
        if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
            return None;
        }
        let mut hex = b.iter().filter(|&&c| c != b'-');
        let mut out = [0u8; 16];
        for byte in &mut out {
            let hi = nibble(*hex.next()?)?;
            let lo = nibble(*hex.next()?)?;
            *byte = hi << 4 | lo;
        }
        Some(MatchId(out))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for MatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An id stands for a person for a few minutes: keep it out of debug output too.
        f.write_str("MatchId(…)")
    }
}

/// What a live id stands for.
struct Entry {
    person: PersonId,
    consumer: Box<str>,
    expires: Instant,
}

/// Why an id could not be issued.
#[derive(Debug)]
pub(crate) enum IssueError {
    /// The registry holds its maximum of live ids.
    Full,
    /// The random source failed.
    Random(getrandom::Error),
}

/// The live match ids, bounded in number.
pub(crate) struct MatchRegistry {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Ids>,
}

#[derive(Default)]
struct Ids {
    by_id: HashMap<MatchId, Entry>,
    /// Ids in the order issued. Every id lives for the same `ttl`, so this is also the order
    /// of expiry: purging pops from the front until it meets a live id, amortised O(1) per
    /// id, with no scan of the map.
    order: VecDeque<(Instant, MatchId)>,
}

// === impl MatchRegistry ===

impl MatchRegistry {
    /// A registry whose ids live for `ttl` and which holds at most `capacity` of them.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        MatchRegistry {
            ttl,
            capacity,
            inner: Mutex::new(Ids::default()),
        }
    }

    /// Issues a fresh id for `person`, usable by `consumer` only, until the time to live has
    /// passed.
    pub(crate) fn issue(&self, person: PersonId, consumer: &str) -> Result<MatchId, IssueError> {
        let now = Instant::now();
        let mut ids = self.lock();
        ids.purge(now);
        if ids.by_id.len() >= self.capacity {
            return Err(IssueError::Full);
        }
        let expires = now + self.ttl;
        // 122 random bits: a collision with a live id is practically impossible, but a
        // repeat draw costs nothing and keeps an id from ever standing for two people.
        let id = loop {
            let id = MatchId::random().map_err(IssueError::Random)?;
            if !ids.by_id.contains_key(&id) {
                break id;
            }
        };
        ids.by_id.insert(
            id,
            Entry {
                person,
                consumer: consumer.into(),
                expires,
            },
        );
        ids.order.push_back((expires, id));
        Ok(id)
    }

    /// The person `id` stands for, when it is live and was issued to `consumer`. An unknown
    /// id, an expired one and another consumer's one are alike `None`: the caller must not be
    /// able to tell them apart.
    pub(crate) fn resolve(&self, id: &MatchId, consumer: &str) -> Option<PersonId> {
        let now = Instant::now();
        let ids = self.lock();
        let entry = ids.by_id.get(id)?;
        (entry.expires > now && *entry.consumer == *consumer).then_some(entry.person)
    }

    /// How many ids are held (live, or expired and not yet purged).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ids> {
        // The map holds no invariant a panicking holder could break half-way (an insert or a
        // removal is one call), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ids {
    fn purge(&mut self, now: Instant) {
        while let Some(&(expires, id)) = self.order.front() {
            if expires > now {
                break;
            }
            self.order.pop_front();
            self.by_id.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids_and_round_trip() {
        let id = MatchId::random().unwrap();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4", "version nibble: {text}");
        assert!("89ab".contains(&text[19..20]), "variant nibble: {text}");
        assert_eq!(MatchId::parse(&text), Some(id));
        assert_eq!(MatchId::parse(&text.to_ascii_uppercase()), Some(id));
        assert_ne!(MatchId::random().unwrap(), id);
    }

    #[test]
    fn malformed_ids_do_not_parse() {
        for bad in [
            "",
            "3f2a8c1e5b7d4e9a9c610d2b4f8e7a15",
            "3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a1",
            "3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15a",
            "3f2a8c1e-5b7d-4e9a-9c61_0d2b4f8e7a15",
            "3f2a8c1g-5b7d-4e9a-9c61-0d2b4f8e7a15",
            "3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a1é",
        ] {
            assert_eq!(MatchId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(format!("{:?}", MatchId::random().unwrap()), "MatchId(…)");
    }

    #[test]
    fn an_id_is_for_its_consumer_only() {
        let registry = MatchRegistry::new(Duration::from_secs(60), 10);
        let id = registry.issue(7, "alice").unwrap();
        assert_eq!(registry.resolve(&id, "alice"), Some(7));
        assert_eq!(registry.resolve(&id, "bob"), None);
        assert_eq!(registry.resolve(&MatchId::random().unwrap(), "alice"), None);
        let again = registry.issue(7, "alice").unwrap();
        assert_ne!(again, id, "every match gets a fresh id");
    }

    #[test]
    fn ids_expire_and_are_purged() {
        let registry = MatchRegistry::new(Duration::ZERO, 10);
        let id = registry.issue(7, "alice").unwrap();
        assert_eq!(registry.resolve(&id, "alice"), None);
        for _ in 0..20 {
            registry.issue(7, "alice").unwrap();
        }
        assert!(registry.len() <= 1, "expired ids are purged on issue");
    }

    #[test]
    fn a_full_registry_refuses_rather_than_grows() {
        let registry = MatchRegistry::new(Duration::from_secs(60), 3);
        for _ in 0..3 {
            registry.issue(1, "alice").unwrap();
        }
        assert!(matches!(registry.issue(1, "alice"), Err(IssueError::Full)));
        assert_eq!(registry.len(), 3);
    }
}
