//! `kill -9` in the middle of batches loses no acknowledged record.
//!
//! The test re-runs its own binary as a child (only the `crash_child` test, selected with
//! `--exact`) which appends from several tasks and prints each acknowledged sequence number;
//! the parent kills it with SIGKILL, reopens the log (recovering any torn tail), verifies, and
//! checks every acknowledged record is there — under both durabilities: a record acknowledged
//! after its write (not its fsync) must survive the death of the process too, since the kernel
//! holds it.

#![cfg(unix)]
// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use std::time::Duration;

use garrison_audit::{
    AuditLog, AuditLogOptions, Durability, ProblemKind, SearchFilter, search, verify,
};
use support::{public_key, record, runtime, temp_dir};

const CHILD_DIR: &str = "GARRISON_AUDIT_CRASH_CHILD_DIR";
/// `write` makes the child acknowledge after the write ([`Durability::Write`]).
const CHILD_DURABILITY: &str = "GARRISON_AUDIT_CRASH_CHILD_DURABILITY";
const ACKS_BEFORE_KILL: usize = 400;

fn crash_options(durability: Durability) -> AuditLogOptions {
    AuditLogOptions {
        max_batch: 16,
        checkpoint_interval: 25,
        // Checkpoints by count only, so the layout is the same however slow the machine.
        checkpoint_max_age: std::time::Duration::from_secs(3600),
        segment_max_bytes: 32 * 1024,
        durability,
        ..Default::default()
    }
}

fn write_durability() -> Durability {
    Durability::Write {
        sync_interval: Duration::from_millis(50),
    }
}

/// The child: appends until killed. Does nothing when run as an ordinary test.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let durability = match std::env::var(CHILD_DURABILITY).as_deref() {
        Ok("write") => write_durability(),
        _ => Durability::Fsync,
    };
    runtime().block_on(async move {
        let log = AuditLog::open(&dir, crash_options(durability))
            .await
            .unwrap();
        let mut writers = Vec::new();
        for w in 0..6 {
            let log = log.clone();
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let ack = log.append(record(w * 1_000_000 + i, "dvla", None)).await;
                    println!("ACK {}", ack.unwrap().seq);
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
    });
}

#[test]
fn kill_9_mid_batch_loses_no_acknowledged_record() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    kill_and_count("crash", "fsync", Durability::Fsync);
}

#[test]
fn kill_9_loses_no_record_acknowledged_after_its_write() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    kill_and_count("crash-write", "write", write_durability());
}

/// Kills a child appending under `durability` (`mode` tells the child), recovers, verifies and
/// looks for every acknowledged record.
fn kill_and_count(name: &str, mode: &str, durability: Durability) {
    let dir = temp_dir(name);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, &dir)
        .env(CHILD_DURABILITY, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    let parse = |line: &str| {
        line.strip_prefix("ACK ")
            .and_then(|n| n.parse::<u64>().ok())
    };
    while acked.len() < ACKS_BEFORE_KILL {
        let Some(line) = lines.next() else { break };
        acked.extend(parse(&line.unwrap()));
    }
    let status = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Acknowledgements printed before the kill are still in the pipe: collect them too.
    for line in lines.map_while(Result::ok) {
        acked.extend(parse(&line));
    }
    child.wait().unwrap();
    assert!(
        acked.len() >= ACKS_BEFORE_KILL,
        "child stopped early after {} acks",
        acked.len()
    );

    // Before recovery the store verifies, or its only damage is a torn last line, or a last
    // segment created but killed before its anchor was written.
    let report = verify(&dir, &public_key(&dir)).unwrap();
    if let Some(problem) = &report.problem {
        assert!(
            matches!(
                problem.kind,
                ProblemKind::TornLine | ProblemKind::MissingAnchor
            ),
            "{problem}"
        );
    }

    // Reopening recovers; the chain continues and verifies end to end.
    runtime().block_on(async {
        let log = AuditLog::open(&dir, crash_options(durability))
            .await
            .unwrap();
        log.append(record(7, "after-crash", None)).await.unwrap();
        log.close().await.unwrap();
    });
    let report = verify(&dir, &public_key(&dir)).unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);

    let present: HashSet<u64> = search(&dir, &SearchFilter::default())
        .unwrap()
        .into_iter()
        .map(|f| f.seq)
        .collect();
    let missing: Vec<_> = acked.iter().filter(|s| !present.contains(s)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    std::fs::remove_dir_all(&dir).ok();
}
