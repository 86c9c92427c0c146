//! Test support for Garrison: a real PKI (rcgen), real TLS clients (rustls) speaking HTTP/1.1
//! or h2 (hyper), and an in-process upstream whose behaviour each test chooses by path.
//!
//! Nothing here is a mock of Garrison: tests start the real gateway on `127.0.0.1:0` and talk
//! to it through the network.

pub mod client;
pub mod net;
pub mod pki;
pub mod upstream;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty directory for one test, under the system temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "garrison-test-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Polls `check` every few milliseconds until it returns true or `limit` passes; returns
/// whether it became true. Tests use this instead of sleeping for readiness.
pub async fn eventually(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(10));
    loop {
        poll.tick().await;
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
    }
}
