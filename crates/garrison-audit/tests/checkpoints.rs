//! When records come under a signature: by count, and by age however quiet the log.

mod support;

use garrison_audit::{AuditLog, AuditLogOptions, verify};
use support::{public_key, record, runtime, temp_dir};

/// Records not yet under a checkpoint could be rewritten, hashes and all, without a trace: a
/// quiet log must not leave them so for `checkpoint_interval` more records, however long those
/// take to come, but sign them within about `checkpoint_max_age`.
#[test]
fn a_quiet_log_signs_its_records_within_the_checkpoint_age() {
    use std::time::Duration;

    use garrison_audit::Durability;

    let rt = runtime();
    for (name, durability) in [
        ("signed-fsync", Durability::Fsync),
        (
            "signed-write",
            Durability::Write {
                sync_interval: Duration::from_secs(60),
            },
        ),
    ] {
        for max_age in [Duration::from_millis(100), Duration::from_secs(3600)] {
            let dir = temp_dir(name);
            let options = AuditLogOptions {
                durability,
                checkpoint_interval: 1000,
                checkpoint_max_age: max_age,
                ..Default::default()
            };
            let report = rt.block_on(async {
                let log = AuditLog::open(&dir, options).await.unwrap();
                let mut last = 0;
                for i in 0..3 {
                    last = log.append(record(i, "dvla", None)).await.unwrap().seq;
                }
                // Bounded: the ticker comes every 50 ms, so 3 s is ample.
                let mut report = verify(&dir, &public_key(&dir)).unwrap();
                let tries = if max_age < Duration::from_secs(1) {
                    30
                } else {
                    4
                };
                for _ in 0..tries {
                    if report.last_checkpoint_seq > Some(last) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    report = verify(&dir, &public_key(&dir)).unwrap();
                }
                log.close().await.unwrap();
                report
            });
            assert!(report.problem.is_none(), "{:?}", report.problem);
            assert_eq!(report.records, 3);
            if max_age < Duration::from_secs(1) {
                assert_eq!(
                    report.last_checkpoint_seq, report.last_seq,
                    "{name}: the open log ends in a checkpoint over its records"
                );
            } else {
                assert_eq!(
                    report.last_checkpoint_seq,
                    Some(1),
                    "{name}: with an hour's grace only the segment's anchor is signed"
                );
            }
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
