//! Group commit (`AuditLogOptions::group_commit`) on Tokio's paused clock: records close behind
//! a batch wait for the ones behind them; an idle log, a backlog and sync ticks never wait.

mod support;

use std::time::Duration;

use garrison_audit::{AuditLog, AuditLogOptions, Durability, verify};
use support::{public_key, record, temp_dir};

/// Appends one record to an idle log, then `behind` more one (virtual) millisecond apart, then —
/// once the log has been idle for twice the window — one more. Returns the batches they took,
/// how long the first record waited, and how long the last one did.
async fn batches_with_group_commit(
    name: &str,
    group_commit: Duration,
    behind: usize,
) -> (u64, Duration, Duration) {
    let dir = temp_dir(name);
    let log = AuditLog::open(
        &dir,
        AuditLogOptions {
            group_commit,
            ..Default::default()
        },
    )
    .await
    .expect("open");
    let first_waited = timed_append(&log, 0).await;
    let mut appends = Vec::new();
    for i in 1..=behind {
        let log = log.clone();
        appends.push(tokio::spawn(async move {
            log.append(record(i, "dvla", None)).await
        }));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for append in appends {
        append.await.expect("task").expect("append");
    }
    tokio::time::sleep(group_commit * 2).await;
    let idle_waited = timed_append(&log, behind + 1).await;
    let stats = log.stats();
    assert_eq!(stats.records, 2 + behind as u64);
    log.close().await.expect("close");
    let report = verify(&dir, &public_key(&dir)).expect("verify");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records, 2 + behind as u64);
    std::fs::remove_dir_all(&dir).ok();
    (stats.batches, first_waited, idle_waited)
}

/// Appends record `i` and returns how long (on Tokio's clock) it took to be acknowledged.
async fn timed_append(log: &AuditLog, i: usize) -> Duration {
    let started = tokio::time::Instant::now();
    log.append(record(i, "dvla", None)).await.expect("append");
    started.elapsed()
}

// The clock is Tokio's paused one: it moves only when every task waits on a timer (never
// while a batch is on the blocking pool), so the waits and batches are exact.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn group_commit_gathers_a_busy_logs_records_and_leaves_an_idle_one_alone() {
    let window = Duration::from_millis(50);
    let (batches, first_waited, idle_waited) =
        batches_with_group_commit("group-commit", window, 20).await;
    // The first record found the log idle and went at once; the 20 behind it, arriving within
    // the window, waited for it to pass and shared one batch; the last, after a quiet spell,
    // went at once again.
    assert_eq!(first_waited, Duration::ZERO);
    assert_eq!(idle_waited, Duration::ZERO);
    assert_eq!(batches, 3);

    // Without group commit each record arriving at an idle writer is a batch of its own.
    let (batches, _, _) = batches_with_group_commit("no-group-commit", Duration::ZERO, 20).await;
    assert_eq!(batches, 22);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn group_commit_never_holds_back_a_backlog_of_full_batches() {
    let dir = temp_dir("group-commit-backlog");
    let log = AuditLog::open(
        &dir,
        AuditLogOptions {
            group_commit: Duration::from_millis(50),
            max_batch: 4,
            ..Default::default()
        },
    )
    .await
    .expect("open");
    timed_append(&log, 0).await;
    // Twelve records queued at once, right behind a batch: three full batches, none waiting.
    let started = tokio::time::Instant::now();
    let appends: Vec<_> = (1..=12)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(record(i, "dvla", None)).await })
        })
        .collect();
    for append in appends {
        append.await.expect("task").expect("append");
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(log.stats().batches, 4);
    log.close().await.expect("close");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn under_write_durability_sync_ticks_do_not_make_an_idle_log_wait() {
    let dir = temp_dir("group-commit-ticks");
    let log = AuditLog::open(
        &dir,
        AuditLogOptions {
            durability: Durability::Write {
                sync_interval: Duration::from_millis(1),
            },
            group_commit: Duration::from_millis(50),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    // Real time passes for the ticker thread (a tick a millisecond) while Tokio's paused clock
    // stands still: the writer sees ticks, not records.
    tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(30)))
        .await
        .expect("ticks");
    assert_eq!(timed_append(&log, 0).await, Duration::ZERO);
    log.close().await.expect("close");
    std::fs::remove_dir_all(&dir).ok();
}
