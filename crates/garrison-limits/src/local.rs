//! The in-process limiter: a sharded, bounded table of cells keyed by a stable name.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use crate::gcra::{Cell, Clock};

const SHARDS: usize = 16;

/// The table is full: the configuration asks for more limited subjects than the bound allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterFull {
    /// The bound that was reached.
    pub capacity: usize,
}

impl std::error::Error for LimiterFull {}

impl std::fmt::Display for LimiterFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the rate limiter holds at most {} cells", self.capacity)
    }
}

/// Owns every rate-limit cell of one process.
///
/// Lookups happen when a snapshot compiles (off the request path); they are sharded so that a
/// reload and the metrics endpoint do not contend. The number of cells is bounded: memory use
/// is fixed by the configuration, not by what clients send.
#[derive(Debug)]
pub struct LocalLimiter {
    clock: Clock,
    capacity: usize,
    shards: Vec<Mutex<HashMap<String, Arc<Cell>>>>,
}

impl LocalLimiter {
    /// A limiter that holds at most `capacity` cells.
    pub fn new(capacity: usize) -> Self {
        LocalLimiter {
            clock: Clock::new(),
            capacity,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// The clock every decision must be taken against.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The cell for `key`, created on first use. The same key always yields the same cell, so
    /// state carries across configuration reloads.
    pub fn cell(&self, key: &str) -> Result<Arc<Cell>, LimiterFull> {
        let shard = &self.shards[shard_of(key)];
        if let Some(cell) = lock(shard).get(key) {
            return Ok(cell.clone());
        }
        if self.len() >= self.capacity {
            return Err(LimiterFull {
                capacity: self.capacity,
            });
        }
        Ok(lock(shard)
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Cell::default()))
            .clone())
    }

    /// Drops every cell whose key `keep` rejects (called after a reload with the live keys).
    pub fn retain(&self, mut keep: impl FnMut(&str) -> bool) {
        for shard in &self.shards {
            lock(shard).retain(|key, _| keep(key));
        }
    }

    /// How many cells exist.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no cell exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn shard_of(key: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() as usize) % SHARDS
}

/// A poisoned shard only means another thread panicked mid-insert of an `Arc`; the map is
/// still consistent, so keep using it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_yields_the_same_cell_and_the_bound_holds() {
        let limiter = LocalLimiter::new(2);
        let a = limiter.cell("alice/citizen").expect("room");
        let again = limiter.cell("alice/citizen").expect("existing");
        assert!(Arc::ptr_eq(&a, &again));
        limiter.cell("bob/citizen").expect("room");
        assert_eq!(
            limiter.cell("carol/citizen").unwrap_err(),
            LimiterFull { capacity: 2 }
        );
        limiter.retain(|k| k.starts_with("alice"));
        assert_eq!(limiter.len(), 1);
        limiter.cell("carol/citizen").expect("room again");
    }
}
