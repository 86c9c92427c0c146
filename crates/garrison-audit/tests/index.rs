//! The per-segment search index: closed segments get one, a search with it finds exactly what a
//! full scan finds, a stale or damaged index is ignored, and an index edited to hide a person's
//! records is reported by verification.

// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use garrison_audit::{
    AuditLog, AuditLogOptions, ProblemKind, SearchFilter, SubjectKey, Timestamp, search, verify,
};
use support::{public_key, record, runtime, temp_dir};

const PEOPLE: [&str; 5] = [
    "AB123456C",
    "CD654321A",
    "EF112233B",
    "GH445566D",
    "JK778899A",
];

fn key() -> SubjectKey {
    SubjectKey::new("2026-01", vec![7u8; 32]).unwrap()
}

/// 600 records about five people (and some about nobody) over several small segments; the
/// store is closed, so every segment but the last has an index.
fn store(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    let key = key();
    runtime().block_on(async {
        let options = AuditLogOptions {
            segment_max_bytes: 48 * 1024,
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await.unwrap();
        for i in 0..600 {
            let subject = (i % 7 != 6).then(|| key.hash(PEOPLE[(i * 3 + i / 11) % PEOPLE.len()]));
            log.append(record(i, "dvla", subject)).await.unwrap();
        }
        log.close().await.unwrap();
    });
    dir
}

fn indexes(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "index"))
        .collect();
    found.sort();
    found
}

fn request_ids(dir: &Path, filter: &SearchFilter) -> Vec<String> {
    search(dir, filter)
        .unwrap()
        .into_iter()
        .map(|f| f.record.request_id)
        .collect()
}

#[test]
fn a_search_with_indexes_finds_exactly_what_a_full_scan_finds() {
    let dir = store("index-same");
    let segments = garrison_audit::list_segments(&dir).unwrap().len();
    assert!(segments >= 4, "only {segments} segments");
    assert_eq!(indexes(&dir).len(), segments - 1, "every closed segment");
    assert!(verify(&dir, &public_key(&dir)).unwrap().is_ok());

    let keys = [key()];
    let filters: Vec<SearchFilter> = PEOPLE
        .iter()
        .map(|p| SearchFilter::default().subject(p, &keys))
        .chain([
            SearchFilter::default().subject("ZZ999999Z", &keys),
            SearchFilter::default(),
        ])
        .collect();
    let with: Vec<Vec<String>> = filters.iter().map(|f| request_ids(&dir, f)).collect();
    for path in indexes(&dir) {
        std::fs::remove_file(path).unwrap();
    }
    let without: Vec<Vec<String>> = filters.iter().map(|f| request_ids(&dir, f)).collect();
    assert_eq!(with, without);
    assert!(with[..PEOPLE.len()].iter().all(|ids| !ids.is_empty()));
    assert!(with[PEOPLE.len()].is_empty(), "nobody");
    assert_eq!(with[PEOPLE.len() + 1].len(), 600);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn time_ranges_skip_segments_and_still_find_every_record_in_range() {
    let dir = store("index-time");
    let all = search(&dir, &SearchFilter::default()).unwrap();
    let from = all[150].record.time;
    let until = Timestamp::from_unix_micros(all[420].record.time.unix_micros() + 1);
    let filter = SearchFilter {
        from: Some(from),
        until: Some(until),
        ..Default::default()
    };
    let expected: Vec<u64> = all
        .iter()
        .filter(|f| f.record.time >= from && f.record.time < until)
        .map(|f| f.seq)
        .collect();
    let found: Vec<u64> = search(&dir, &filter)
        .unwrap()
        .into_iter()
        .map(|f| f.seq)
        .collect();
    assert_eq!(found, expected);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_index_edited_to_hide_a_person_is_reported_and_a_damaged_one_ignored() {
    let dir = store("index-tamper");
    let keys = [key()];
    let person = SearchFilter::default().subject(PEOPLE[1], &keys);
    let before = request_ids(&dir, &person);
    let first = indexes(&dir).remove(0);
    let bytes = std::fs::read(&first).unwrap();

    // A damaged index (its checksum no longer matches) is ignored: nothing is hidden.
    let mut damaged = bytes.clone();
    damaged[50] ^= 0x40;
    std::fs::write(&first, &damaged).unwrap();
    assert_eq!(request_ids(&dir, &person), before);
    assert!(verify(&dir, &public_key(&dir)).unwrap().is_ok());

    // A well-formed index with the person's digest removed hides their records from search;
    // verification recomputes the index and names the segment.
    let hidden = keys[0].hash(PEOPLE[1]).hmac_hex();
    let edited = without_digest(&bytes, &hidden);
    std::fs::write(&first, &edited).unwrap();
    assert!(request_ids(&dir, &person).len() < before.len());
    let report = verify(&dir, &public_key(&dir)).unwrap();
    let problem = report.problem.expect("the edit is found");
    assert_eq!(problem.kind, ProblemKind::IndexMismatch);
    assert_eq!(problem.segment, first.with_extension("jsonl"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The index bytes without the entries of the digest `hex`, with a count and checksum that fit
/// again (the layout documented in the crate's `index.rs`: 40-byte header, entries of a 32-byte
/// digest and an 8-byte offset, CRC-32 of the rest).
fn without_digest(index: &[u8], hex: &str) -> Vec<u8> {
    const HEADER: usize = 40;
    const ENTRY: usize = 40;
    let body = &index[..index.len() - 4];
    let entries: Vec<&[u8]> = body[HEADER..]
        .chunks(ENTRY)
        .filter(|e| {
            e[..32]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                != hex
        })
        .collect();
    assert!(
        entries.len() < (body.len() - HEADER) / ENTRY,
        "the digest was there"
    );
    let mut out = body[..32].to_vec();
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for e in entries {
        out.extend_from_slice(e);
    }
    let check = crc32fast::hash(&out);
    out.extend_from_slice(&check.to_le_bytes());
    out
}
