//! Tampering of each kind is detected, and verification names the first damaged line.

// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use garrison_audit::{
    AuditLog, AuditLogOptions, Body, Checkpoint, ProblemKind, StoredEntry, list_segments, verify,
};
use support::{public_key, record, runtime, temp_dir};

/// A log of 40 records over several segments, each segment with a few records.
fn sample_log(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    runtime().block_on(async {
        let options = AuditLogOptions {
            segment_max_bytes: 4000,
            checkpoint_interval: 6,
            // Checkpoints by count only, so the layout is the same however slow the machine.
            checkpoint_max_age: std::time::Duration::from_secs(3600),
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await.unwrap();
        for i in 0..40 {
            log.append(record(i, "dvla", None)).await.unwrap();
        }
        log.close().await.unwrap();
    });
    assert!(verify(&dir, &public_key(&dir)).unwrap().is_ok());
    dir
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    list_segments(dir)
        .unwrap()
        .into_iter()
        .find(|s| s.number == number)
        .unwrap()
        .path
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<StoredEntry>(line).unwrap().seq
}

#[test]
fn editing_a_field_is_a_hash_mismatch_at_that_line() {
    let dir = sample_log("edit");
    let path = segment_path(&dir, 2);
    let mut lines = read_lines(&path);
    assert!(lines[2].contains("\"record\""));
    let seq = seq_of(&lines[2]);
    lines[2] = lines[2].replace("\"consumer\":\"dvla\"", "\"consumer\":\"hmrc\"");
    write_lines(&path, &lines);
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::HashMismatch);
    assert_eq!(
        (problem.segment, problem.line, problem.seq),
        (path, 3, Some(seq))
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn reformatting_a_line_is_reported_even_if_content_is_equal() {
    let dir = sample_log("reformat");
    let path = segment_path(&dir, 2);
    let mut lines = read_lines(&path);
    lines[1] = lines[1].replacen("{\"seq\":", "{ \"seq\":", 1);
    write_lines(&path, &lines);
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::NonCanonical);
    assert_eq!(problem.line, 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn deleting_a_line_is_a_sequence_gap() {
    let dir = sample_log("delete-line");
    let path = segment_path(&dir, 2);
    let mut lines = read_lines(&path);
    assert!(lines.len() >= 4);
    let deleted = seq_of(&lines[1]);
    lines.remove(1);
    write_lines(&path, &lines);
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(
        problem.kind,
        ProblemKind::SequenceGap {
            expected: deleted,
            found: deleted + 1
        }
    );
    assert_eq!((problem.segment, problem.line), (path, 2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn swapping_two_lines_is_reported_as_reordered() {
    let dir = sample_log("swap");
    let path = segment_path(&dir, 3);
    let mut lines = read_lines(&path);
    let first = seq_of(&lines[1]);
    lines.swap(1, 2);
    write_lines(&path, &lines);
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(
        problem.kind,
        ProblemKind::Reordered {
            expected: first,
            found: first + 1
        }
    );
    assert_eq!((problem.segment, problem.line), (path, 2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn deleting_a_middle_segment_is_reported_by_number() {
    let dir = sample_log("delete-segment");
    let segments = list_segments(&dir).unwrap();
    assert!(segments.len() >= 4, "only {} segments", segments.len());
    std::fs::remove_file(segment_path(&dir, 3)).unwrap();
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::MissingSegment { number: 3 });
    assert_eq!(problem.segment, segment_path(&dir, 4));
    // Renumbering the later segments to hide the hole leaves a sequence gap instead.
    for seg in list_segments(&dir)
        .unwrap()
        .into_iter()
        .filter(|s| s.number > 3)
    {
        let to = dir.join(format!("segment-{:08}.jsonl", seg.number - 1));
        std::fs::rename(&seg.path, to).unwrap();
    }
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert!(
        matches!(problem.kind, ProblemKind::SequenceGap { .. }),
        "{problem}"
    );
    assert_eq!((problem.segment, problem.line), (segment_path(&dir, 3), 1));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_forged_checkpoint_signature_is_reported_even_with_hashes_recomputed() {
    let dir = sample_log("forge");
    let path = segment_path(&dir, 2);
    let mut lines = read_lines(&path);
    // An attacker without the gateway's key re-signs the anchor with their own and recomputes
    // the entry's hash so that the chain links still hold.
    let entry: StoredEntry = serde_json::from_str(&lines[0]).unwrap();
    let Body::Checkpoint(cp) = &entry.body else {
        panic!("segment does not start with a checkpoint");
    };
    let forger = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    let mut forged = Checkpoint::sign(entry.seq, entry.prev, cp.reason, &forger).unwrap();
    forged.key_id = cp.key_id.clone();
    let forged = StoredEntry::new(entry.seq, entry.prev, Body::Checkpoint(forged)).unwrap();
    let line = forged.to_line().unwrap();
    lines[0] = String::from_utf8(line).unwrap().trim_end().to_owned();
    write_lines(&path, &lines);
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::BadSignature);
    assert_eq!(
        (problem.segment, problem.line, problem.seq),
        (path, 1, Some(entry.seq))
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_torn_last_line_is_reported_and_repaired_by_reopening() {
    let dir = sample_log("torn");
    let last = list_segments(&dir).unwrap().pop().unwrap();
    let mut bytes = std::fs::read(&last.path).unwrap();
    let lines_before = bytes.iter().filter(|&&b| b == b'\n').count();
    bytes.extend_from_slice(b"{\"seq\":999,\"prev\":\"00");
    std::fs::write(&last.path, &bytes).unwrap();
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::TornLine);
    assert_eq!(
        (problem.segment.clone(), problem.line),
        (last.path.clone(), lines_before + 1)
    );
    runtime().block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        log.append(record(99, "dvla", None)).await.unwrap();
        log.close().await.unwrap();
    });
    let report = verify(&dir, &public_key(&dir)).unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);
    assert_eq!(report.records, 41);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn reopening_refuses_damage_before_the_tail() {
    let dir = sample_log("damaged-middle");
    let last = list_segments(&dir).unwrap().pop().unwrap();
    let mut lines = read_lines(&last.path);
    assert!(lines.len() >= 3);
    lines[1] = "not an entry".to_owned();
    write_lines(&last.path, &lines);
    let opened = runtime().block_on(AuditLog::open(&dir, AuditLogOptions::default()));
    match opened {
        Err(garrison_audit::AuditError::Corrupt { line, .. }) => assert_eq!(line, 2),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("opened a store damaged before its tail"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_crash_between_creating_a_segment_and_its_anchor_is_recovered() {
    let dir = sample_log("crash-in-roll");
    let last = list_segments(&dir).unwrap().pop().unwrap();
    // The new file exists, empty: the crash came before its anchor was written.
    let empty = dir.join(format!("segment-{:08}.jsonl", last.number + 1));
    std::fs::write(&empty, b"").unwrap();
    runtime().block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        log.append(record(99, "dvla", None)).await.unwrap();
        log.close().await.unwrap();
    });
    let report = verify(&dir, &public_key(&dir)).unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);
    assert_eq!(report.records, 41);
    assert_eq!(
        read_lines(&empty).len(),
        3,
        "anchor, record, closing checkpoint"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&empty).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A line whose hash is right but whose sequence number is the last one there is: forged (no
/// log gets there), and neither verifying nor reopening may wrap past it.
#[test]
fn a_sequence_number_at_the_end_of_its_range_is_refused_not_wrapped() {
    let dir = sample_log("seq-max");
    let last = list_segments(&dir).unwrap().last().unwrap().path.clone();
    let mut lines = read_lines(&last);
    let tail: StoredEntry = serde_json::from_str(lines.last().unwrap()).unwrap();
    let forged =
        StoredEntry::new(u64::MAX, tail.hash, Body::Record(record(99, "dvla", None))).unwrap();
    lines.push(
        String::from_utf8(forged.to_line().unwrap())
            .unwrap()
            .trim_end()
            .to_owned(),
    );
    write_lines(&last, &lines);
    let problem = verify(&dir, &public_key(&dir)).unwrap().problem.unwrap();
    assert_eq!(
        (problem.segment, problem.line),
        (last.clone(), lines.len()),
        "{:?}",
        problem.kind
    );
    let reopened = runtime().block_on(AuditLog::open(&dir, AuditLogOptions::default()));
    assert!(
        matches!(reopened, Err(garrison_audit::AuditError::Corrupt { .. })),
        "{reopened:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Reopening cuts what does not read at the end so the chain can go on; a torn fragment is a
/// crash's and goes, but complete lines are not a crash's doing, and are kept for inspection.
#[test]
fn complete_lines_cut_on_reopen_are_kept_beside_the_segment() {
    let dir = temp_dir("cut-kept");
    let rt = runtime();
    rt.block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        log.append(record(0, "dvla", None)).await.unwrap();
        log.close().await.unwrap();
    });
    let segment = list_segments(&dir).unwrap()[0].path.clone();
    let garbage = b"{\"not\":\"an entry\"}\n{\"torn";
    let mut bytes = std::fs::read(&segment).unwrap();
    let intact = bytes.len();
    bytes.extend_from_slice(garbage);
    std::fs::write(&segment, &bytes).unwrap();
    let seq = rt.block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default())
            .await
            .unwrap();
        let seq = log.append(record(1, "dvla", None)).await.unwrap().seq;
        log.close().await.unwrap();
        seq
    });
    assert!(verify(&dir, &public_key(&dir)).unwrap().is_ok());
    assert!(seq > 1);
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".jsonl.cut-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), garbage);
    assert!(std::fs::read(&segment).unwrap().len() > intact);
    std::fs::remove_dir_all(&dir).ok();
}
