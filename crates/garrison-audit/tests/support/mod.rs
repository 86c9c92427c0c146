//! Helpers shared by the integration tests: unique temp directories and sample records.

// Each test binary uses a different subset of these helpers, and a helper failing is a test
// failure, so unwrap is the right report (allow-unwrap-in-tests covers only #[test] fns).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use garrison_audit::{
    AuditRecord, Decision, PurposeHeader, SubjectHash, Timestamp, VerifyingKey, read_public_key,
};

/// A fresh directory under the system temp dir, unique per process, test and call.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "garrison-audit-{name}-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A record for request `i` by `consumer`, optionally about `subject`.
pub fn record(i: usize, consumer: &str, subject: Option<SubjectHash>) -> AuditRecord {
    let decision = if i % 5 == 4 {
        Decision::Refused {
            reason: "RESOURCE_FORBIDDEN".to_owned(),
        }
    } else {
        Decision::Allowed
    };
    let mut r = AuditRecord::new(format!("req-{i:05}"), "citizen", "getPerson", decision);
    r.consumer = Some(consumer.to_owned());
    r.application = Some(format!("{consumer}-app"));
    r.client_cert_sha256 = Some("ab".repeat(32));
    r.source_addr = Some("192.0.2.10".parse().unwrap());
    r.purpose
        .insert(PurposeHeader::Context, "licence-application".to_owned());
    r.purpose
        .insert(PurposeHeader::PolicyId, "road-traffic-act-1988".to_owned());
    r.purpose
        .insert(PurposeHeader::InstigatingUserId, format!("staff-{}", i % 3));
    r.upstream_status = Some(200);
    r.disclosed_fields = vec!["/name/family".to_owned(), "/dateOfBirth".to_owned()];
    r.subject = subject;
    r
}

/// A record stamped at `time`.
pub fn record_at(i: usize, time: &str) -> AuditRecord {
    let mut r = record(i, "dvla", None);
    r.time = Timestamp::parse(time).unwrap();
    r
}

/// The public key the log wrote beside itself.
pub fn public_key(dir: &Path) -> VerifyingKey {
    read_public_key(&dir.join(garrison_audit::PUBLIC_KEY_FILE)).unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
