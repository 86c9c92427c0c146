//! The log end to end: append, reopen, search, report, queue policies, retention, and no
//! identifier in clear.

mod support;

use std::pin::pin;

use garrison_audit::{
    AuditError, AuditLog, AuditLogOptions, DecisionFilter, QueuePolicy, SearchFilter, SubjectKey,
    Timestamp, remove_segments_before, search, subject_access_report, verify, write_csv,
    write_json_lines, write_table,
};
use support::{public_key, record, record_at, runtime, temp_dir};

#[test]
fn appended_records_are_found_by_every_filter() {
    let dir = temp_dir("round-trip");
    let rt = runtime();
    let written = rt.block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        let mut written = Vec::new();
        for i in 0..10 {
            let mut r = record(i, if i < 6 { "dvla" } else { "nhsbsa" }, None);
            if i == 9 {
                r.api = "eligibility".to_owned();
                r.purpose.insert(
                    garrison_audit::PurposeHeader::Context,
                    "prescription-exemption".to_owned(),
                );
            }
            let ack = log.append(r.clone()).await.unwrap();
            written.push((ack.seq, r));
        }
        log.close().await.unwrap();
        written
    });
    // Sequence numbers strictly increase (checkpoints take numbers too).
    assert!(written.windows(2).all(|w| w[0].0 < w[1].0));

    let all = search(&dir, &SearchFilter::default()).unwrap();
    let got: Vec<_> = all.iter().map(|f| (f.seq, f.record.clone())).collect();
    assert_eq!(got, written);

    let by = |filter: SearchFilter| -> Vec<String> {
        search(&dir, &filter)
            .unwrap()
            .into_iter()
            .map(|f| f.record.request_id)
            .collect()
    };
    let consumer = SearchFilter {
        consumer: Some("nhsbsa".to_owned()),
        ..Default::default()
    };
    assert_eq!(
        by(consumer),
        ["req-00006", "req-00007", "req-00008", "req-00009"]
    );
    let api = SearchFilter {
        api: Some("eligibility".to_owned()),
        ..Default::default()
    };
    assert_eq!(by(api), ["req-00009"]);
    let purpose = SearchFilter {
        purpose_context: Some("prescription-exemption".to_owned()),
        ..Default::default()
    };
    assert_eq!(by(purpose), ["req-00009"]);
    let refused = SearchFilter {
        decision: Some(DecisionFilter::Refused),
        ..Default::default()
    };
    assert_eq!(by(refused), ["req-00004", "req-00009"]);
    let range = SearchFilter {
        from: Some(written[3].1.time),
        until: Some(written[5].1.time),
        ..Default::default()
    };
    assert_eq!(by(range), ["req-00003", "req-00004"]);

    let mut csv = Vec::new();
    write_csv(&mut csv, &all).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 11);
    assert!(csv.starts_with("seq,time,request_id,consumer"));
    assert!(csv.contains("refused:RESOURCE_FORBIDDEN"));
    let mut jsonl = Vec::new();
    write_json_lines(&mut jsonl, &all).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[9]["record"]["request_id"], "req-00009");
    let mut table = Vec::new();
    write_table(&mut table, &all).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert_eq!(table.lines().count(), 11);
    assert!(table.lines().nth(1).unwrap().contains("dvla"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_clean_log_verifies_across_reopen_and_segment_rolls() {
    let dir = temp_dir("clean");
    let rt = runtime();
    let options = || AuditLogOptions {
        segment_max_bytes: 3000,
        checkpoint_interval: 4,
        // Checkpoints by count only, so the layout is the same however slow the machine.
        checkpoint_max_age: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    let (first, second) = rt.block_on(async {
        let log = AuditLog::open(&dir, options()).await.unwrap();
        let mut last = 0;
        for i in 0..15 {
            last = log.append(record(i, "dvla", None)).await.unwrap().seq;
        }
        log.close().await.unwrap();
        // Reopen continues the chain where it ended.
        let log = AuditLog::open(&dir, options()).await.unwrap();
        let next = log.append(record(15, "dvla", None)).await.unwrap().seq;
        for i in 16..20 {
            log.append(record(i, "dvla", None)).await.unwrap();
        }
        log.close().await.unwrap();
        (last, next)
    });
    assert!(second > first);
    let report = verify(&dir, &public_key(&dir)).unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);
    assert_eq!(report.records, 20);
    assert!(report.segments > 2, "only {} segments", report.segments);
    assert!(report.checkpoints >= 5 + report.segments as u64);
    assert_eq!(report.first_seq, Some(1));
    assert!(!report.starts_at_anchor);
    std::fs::remove_dir_all(&dir).ok();
}

/// Under `write` durability most batches are written in place on the runtime and a batch near
/// the segment's end goes to the blocking pool: the chain must not notice the difference.
#[test]
fn under_write_durability_concurrent_batches_roll_segments_and_verify() {
    let dir = temp_dir("write-rolls");
    let rt = runtime();
    let options = AuditLogOptions {
        durability: garrison_audit::Durability::Write {
            sync_interval: std::time::Duration::from_millis(5),
        },
        segment_max_bytes: 120_000,
        checkpoint_interval: 50,
        // Checkpoints by count only, so the layout is the same however slow the machine.
        checkpoint_max_age: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    rt.block_on(async {
        let log = AuditLog::open(&dir, options).await.unwrap();
        // Many appends in flight at once, so that batches hold many records.
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..20 {
            let log = log.clone();
            tasks.spawn(async move {
                let mut last = 0;
                for i in 0..50 {
                    let ack = log
                        .append(record(worker * 50 + i, "dvla", None))
                        .await
                        .unwrap();
                    assert!(ack.seq > last, "one appender's records stored in order");
                    last = ack.seq;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert!(log.stats().batches < 1000, "no batch held two records");
        log.close().await.unwrap();
    });
    let report = verify(&dir, &public_key(&dir)).unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);
    assert_eq!(report.records, 1000);
    assert!(report.segments >= 3, "only {} segments", report.segments);
    assert_eq!(search(&dir, &SearchFilter::default()).unwrap().len(), 1000);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_wrong_public_key_fails_at_the_first_checkpoint() {
    let dir = temp_dir("wrong-key");
    runtime().block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        log.append(record(0, "dvla", None)).await.unwrap();
        log.close().await.unwrap();
    });
    let other = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]).verifying_key();
    let problem = verify(&dir, &other).unwrap().problem.unwrap();
    assert_eq!(problem.kind, garrison_audit::ProblemKind::BadSignature);
    assert_eq!((problem.line, problem.seq), (1, Some(1)));
    std::fs::remove_dir_all(&dir).ok();
}

// The writer is a task, here on the test's own single thread, so it takes nothing from the
// queue until the test awaits: a loop of submits fills a tiny queue within a few records. The
// tests do not rely on that exact moment (the writer could run on another thread): the loops
// are bounded and the assertions hold whichever records found room.
#[tokio::test(flavor = "current_thread")]
async fn shed_policy_refuses_at_once_and_counts() {
    let dir = temp_dir("shed");
    let options = AuditLogOptions {
        queue_capacity: 2,
        queue_policy: QueuePolicy::Shed,
        ..Default::default()
    };
    let log = AuditLog::open(&dir, options).await.unwrap();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for i in 0..10_000 {
        match log.submit(record(i, "dvla", None)).await {
            Ok(pending) => accepted.push((i, pending)),
            Err(AuditError::QueueFull) => refused.push(i),
            Err(other) => panic!("{other}"),
        }
        if refused.len() >= 3 {
            break;
        }
    }
    assert_eq!(refused.len(), 3, "a queue of two never filled");
    assert_eq!(log.shed_count(), 3);
    let mut last = 0;
    let mut kept = Vec::new();
    for (i, pending) in accepted {
        let ack = pending.durable().await.unwrap();
        assert!(ack.seq > last, "acknowledged in order");
        last = ack.seq;
        kept.push(format!("req-{i:05}"));
    }
    // With room again, appends succeed and the counter stays.
    log.append(record(99_999, "dvla", None)).await.unwrap();
    kept.push("req-99999".to_owned());
    assert_eq!(log.shed_count(), 3);
    log.close().await.unwrap();
    let ids: Vec<_> = search(&dir, &SearchFilter::default())
        .unwrap()
        .into_iter()
        .map(|f| f.record.request_id)
        .collect();
    assert_eq!(ids, kept, "every accepted record stored, no refused one");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "current_thread")]
async fn block_policy_waits_for_room_and_loses_nothing() {
    let dir = temp_dir("block");
    let options = AuditLogOptions {
        queue_capacity: 1,
        queue_policy: QueuePolicy::Block,
        ..Default::default()
    };
    let log = AuditLog::open(&dir, options).await.unwrap();
    let mut waited = 0;
    let mut pending = Vec::new();
    for i in 0..200 {
        let mut submit = pin!(log.submit(record(i, "dvla", None)));
        // Poll once: a full queue makes the submit wait (it must not fail or drop the record).
        tokio::select! {
            biased;
            done = &mut submit => pending.push(done.unwrap()),
            () = std::future::ready(()) => {
                waited += 1;
                pending.push(submit.await.unwrap());
            }
        }
    }
    assert!(waited > 0, "a queue of one never filled");
    let mut last = 0;
    for p in pending {
        let ack = p.durable().await.unwrap();
        assert!(ack.seq > last);
        last = ack.seq;
    }
    assert_eq!(log.shed_count(), 0);
    log.close().await.unwrap();
    assert_eq!(search(&dir, &SearchFilter::default()).unwrap().len(), 200);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn subject_search_returns_exactly_that_persons_accesses_across_key_rotation() {
    let dir = temp_dir("subject");
    let old = SubjectKey::new("2025-01", vec![1u8; 32]).unwrap();
    let new = SubjectKey::new("2026-01", vec![2u8; 32]).unwrap();
    runtime().block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        let plan = [
            (0, "dvla", Some(old.hash("AB123456C"))),
            (1, "dvla", Some(old.hash("CD654321A"))),
            (2, "nhsbsa", Some(new.hash("AB123456C"))),
            (3, "dvla", None),
            (4, "dwp", Some(new.hash("CD654321A"))),
            (5, "dwp", Some(new.hash("AB123456C"))),
        ];
        for (i, consumer, subject) in plan {
            log.append(record(i, consumer, subject)).await.unwrap();
        }
        log.close().await.unwrap();
    });
    let keys = [old, new];
    let filter = SearchFilter::default().subject("ab 12 34 56 c", &keys);
    let ids: Vec<_> = search(&dir, &filter)
        .unwrap()
        .into_iter()
        .map(|f| f.record.request_id)
        .collect();
    assert_eq!(ids, ["req-00000", "req-00002", "req-00005"]);

    let report = subject_access_report(&dir, "AB123456C", &keys).unwrap();
    let who: Vec<_> = report
        .accesses
        .iter()
        .map(|f| f.record.consumer.clone().unwrap())
        .collect();
    assert_eq!(who, ["dvla", "nhsbsa", "dwp"]);
    let mut text = Vec::new();
    report.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("Accesses to this person's data: 3"));
    assert!(text.contains("context=licence-application"));
    assert_eq!(text.matches("result: allowed").count(), 3);
    assert!(text.contains("/dateOfBirth"));
    assert!(!text.contains("AB123456C"));

    let nobody = SearchFilter::default().subject("ZZ999999Z", &keys);
    assert!(search(&dir, &nobody).unwrap().is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn no_identifier_is_stored_in_clear() {
    let dir = temp_dir("no-clear");
    let key = SubjectKey::generate("k1").unwrap();
    let population: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "Q{}{:06}{}",
                char::from(b'A' + (i % 26) as u8),
                100_000 + i * 7919,
                "B"
            )
        })
        .collect();
    runtime().block_on(async {
        let options = AuditLogOptions {
            segment_max_bytes: 8000,
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await.unwrap();
        for (i, nino) in population.iter().enumerate() {
            // Written as a caller might receive it: spaced and lower case.
            let spaced = nino.to_lowercase();
            log.append(record(i, "dvla", Some(key.hash(&spaced))))
                .await
                .unwrap();
        }
        log.close().await.unwrap();
    });
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        let text = String::from_utf8_lossy(&bytes).to_uppercase();
        for nino in &population {
            assert!(!text.contains(nino.as_str()), "{nino} found in clear");
        }
        assert!(!text.contains(&key.secret_hex().to_uppercase()));
    }
    assert!(files >= 3, "expected segments and key files, found {files}");
    assert_eq!(
        search(
            &dir,
            &SearchFilter::default().subject(&population[7], &[key])
        )
        .unwrap()
        .len(),
        1
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn retention_removes_old_segments_and_the_rest_still_verifies() {
    let dir = temp_dir("retention");
    runtime().block_on(async {
        let options = AuditLogOptions {
            segment_max_bytes: 2500,
            checkpoint_interval: 1000,
            // Checkpoints by count only, so the layout is the same however slow the machine.
            checkpoint_max_age: std::time::Duration::from_secs(3600),
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await.unwrap();
        for i in 0..12 {
            log.append(record_at(i, "2020-06-01T10:00:00Z"))
                .await
                .unwrap();
        }
        for i in 12..20 {
            log.append(record(i, "dvla", None)).await.unwrap();
        }
        log.close().await.unwrap();
    });
    let before = verify(&dir, &public_key(&dir)).unwrap();
    assert!(before.is_ok());
    let removed = remove_segments_before(&dir, Timestamp::parse("2021-01-01").unwrap()).unwrap();
    assert!(!removed.is_empty());
    let after = verify(&dir, &public_key(&dir)).unwrap();
    assert!(after.is_ok(), "{:?}", after.problem);
    assert!(after.starts_at_anchor);
    assert!(after.first_seq.unwrap() > 1);
    assert_eq!(after.last_seq, before.last_seq);
    assert_eq!(after.head, before.head);
    // Every recent record is kept.
    let recent = SearchFilter {
        from: Some(Timestamp::parse("2021-01-01").unwrap()),
        ..Default::default()
    };
    assert_eq!(search(&dir, &recent).unwrap().len(), 8);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_exported_range_verifies_on_its_own_and_is_signed_to_its_end() {
    let dir = temp_dir("export");
    runtime().block_on(async {
        let options = AuditLogOptions {
            segment_max_bytes: 2500,
            checkpoint_interval: 1000,
            // Checkpoints by count only, so the layout is the same however slow the machine.
            checkpoint_max_age: std::time::Duration::from_secs(3600),
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await.unwrap();
        for i in 0..8 {
            log.append(record_at(i, "2026-01-10T10:00:00Z"))
                .await
                .unwrap();
        }
        for i in 8..16 {
            log.append(record_at(i, "2026-02-10T10:00:00Z"))
                .await
                .unwrap();
        }
        for i in 16..24 {
            log.append(record_at(i, "2026-03-10T10:00:00Z"))
                .await
                .unwrap();
        }
        log.close().await.unwrap();
    });
    let out = temp_dir("export-out");
    let report = garrison_audit::export_range(
        &dir,
        &out,
        Some(Timestamp::parse("2026-02-01").unwrap()),
        Some(Timestamp::parse("2026-03-01").unwrap()),
        &public_key(&dir),
    )
    .unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);
    assert!(report.starts_at_anchor);
    // The last exported entry is covered by the next segment's signed anchor.
    assert_eq!(report.last_checkpoint_seq, report.last_seq);
    let february = SearchFilter {
        from: Some(Timestamp::parse("2026-02-01").unwrap()),
        until: Some(Timestamp::parse("2026-03-01").unwrap()),
        ..Default::default()
    };
    assert_eq!(search(&out, &february).unwrap().len(), 8);
    // The recipient needs only the directory and the key file inside it.
    let key = garrison_audit::read_public_key(&out.join(garrison_audit::PUBLIC_KEY_FILE)).unwrap();
    assert!(verify(&out, &key).unwrap().is_ok());
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_rotated_signing_key_verifies_with_both_public_keys() {
    let dir = temp_dir("rotate");
    let rt = runtime();
    let write = |from: usize| {
        rt.block_on(async {
            let log = AuditLog::open(&dir, AuditLogOptions::default())
                .await
                .unwrap();
            for i in from..from + 3 {
                log.append(record(i, "dvla", None)).await.unwrap();
            }
            log.close().await.unwrap();
        })
    };
    write(0);
    let old = public_key(&dir);
    // Rotation: the operator retires the key; the next open generates a new one.
    std::fs::remove_file(dir.join(garrison_audit::SIGNING_KEY_FILE)).unwrap();
    write(3);
    let new = public_key(&dir);
    assert_ne!(old, new);
    let both = garrison_audit::verify_with_keys(&dir, &[old, new]).unwrap();
    assert!(both.is_ok(), "{:?}", both.problem);
    assert_eq!(both.records, 6);
    let problem = verify(&dir, &new).unwrap().problem.unwrap();
    assert_eq!(problem.kind, garrison_audit::ProblemKind::BadSignature);
    assert_eq!(problem.line, 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_second_writer_on_the_same_store_is_refused() {
    let dir = temp_dir("lock");
    runtime().block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        let second = AuditLog::open(&dir, AuditLogOptions::default()).await;
        assert!(matches!(second, Err(AuditError::Locked { .. })));
        log.append(record(0, "dvla", None)).await.unwrap();
        log.close().await.unwrap();
    });
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn under_write_durability_an_idle_writer_still_syncs_within_the_interval() {
    let dir = temp_dir("write-sync");
    runtime().block_on(async {
        let options = AuditLogOptions {
            durability: garrison_audit::Durability::Write {
                sync_interval: std::time::Duration::from_millis(20),
            },
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await.unwrap();
        let before = log.stats().syncs;
        log.append(record(0, "dvla", None)).await.unwrap();
        // Acknowledged after the write: no sync was needed to answer.
        assert_eq!(log.stats().records, 1);
        // Nothing else arrives, yet the ticker wakes the writer to sync what it wrote.
        let mut synced = false;
        for _ in 0..200 {
            if log.stats().syncs > before {
                synced = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(synced, "no sync within 2 s of a write");
        log.close().await.unwrap();
    });
    assert!(verify(&dir, &public_key(&dir)).unwrap().is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn under_fsync_durability_every_batch_is_synced_before_it_is_acknowledged() {
    let dir = temp_dir("fsync-each");
    runtime().block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        for i in 0..3 {
            let before = log.stats();
            log.append(record(i, "dvla", None)).await.unwrap();
            let after = log.stats();
            assert_eq!(after.batches, before.batches + 1);
            assert!(
                after.syncs > before.syncs,
                "batch {i} acknowledged unsynced"
            );
        }
        log.close().await.unwrap();
    });
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_last_page_of_a_search_holds_only_the_page() {
    let dir = temp_dir("last-page");
    let rt = runtime();
    let seqs = rt.block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        let mut seqs = Vec::new();
        for i in 0..10 {
            seqs.push(log.append(record(i, "dvla", None)).await.unwrap().seq);
        }
        log.close().await.unwrap();
        seqs
    });
    let all = SearchFilter::default();
    let page = |limit| {
        let (found, more) = garrison_audit::search_last(&dir, &all, limit).unwrap();
        (found.iter().map(|f| f.seq).collect::<Vec<_>>(), more)
    };
    assert_eq!(page(3), (seqs[7..].to_vec(), true));
    assert_eq!(page(10), (seqs.clone(), false));
    assert_eq!(page(50), (seqs.clone(), false));
    assert_eq!(page(0), (Vec::new(), true));
    std::fs::remove_dir_all(&dir).ok();
}

/// A crash between creating a segment and writing its anchor leaves an empty file after the
/// last segment: nothing in it was acknowledged, so the store is intact (and says so), retention
/// keeps the segment the chain goes on from, and the writer carries on from there at reopen.
#[test]
fn an_empty_segment_left_by_a_crash_mid_roll_breaks_nothing() {
    let dir = temp_dir("empty-last-segment");
    let options = || AuditLogOptions {
        segment_max_bytes: 2500,
        checkpoint_max_age: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    runtime().block_on(async {
        let log = AuditLog::open(&dir, options()).await.unwrap();
        for i in 0..12 {
            log.append(record_at(i, "2020-06-01T10:00:00Z"))
                .await
                .unwrap();
        }
        log.close().await.unwrap();
    });
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("segment-") && n.ends_with(".jsonl"))
        .collect();
    names.sort();
    let last: u64 = names.last().unwrap()["segment-".len()..][..8]
        .parse()
        .unwrap();
    std::fs::File::create(dir.join(format!("segment-{:08}.jsonl", last + 1))).unwrap();

    let before = verify(&dir, &public_key(&dir)).unwrap();
    assert!(before.is_ok(), "{:?}", before.problem);
    assert!(before.empty_last_segment);
    assert!(before.summary().contains("the newest segment is empty"));
    // Every record is older than the cutoff, yet the segment the chain continues from stays.
    remove_segments_before(&dir, Timestamp::parse("2030-01-01").unwrap()).unwrap();
    let kept = verify(&dir, &public_key(&dir)).unwrap();
    assert!(kept.is_ok(), "{:?}", kept.problem);
    assert_eq!(kept.last_seq, before.last_seq);

    runtime().block_on(async {
        let log = AuditLog::open(&dir, options()).await.unwrap();
        log.append(record(12, "dvla", None)).await.unwrap();
        log.close().await.unwrap();
    });
    let after = verify(&dir, &public_key(&dir)).unwrap();
    assert!(after.is_ok(), "{:?}", after.problem);
    assert!(!after.empty_last_segment);
    assert!(after.last_seq > before.last_seq);
    std::fs::remove_dir_all(&dir).ok();
}
