//! Finding records: by time range, consumer, API, purpose, decision and data subject.
//!
//! Search reads the segments directly and does not verify them (run [`crate::verify`] for
//! that); it skips a torn last line, which was never acknowledged. A closed segment's index
//! (see `index.rs`) lets it skip segments outside the time range or without the subject.

use std::path::Path;

use crate::entry::{Body, StoredEntry};
use crate::{AuditError, AuditRecord, Decision, PurposeHeader, SubjectHash, SubjectKey, Timestamp};
use crate::{index, segment};

/// Which decisions to match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecisionFilter {
    /// Only allowed requests.
    Allowed,
    /// Only refused requests.
    Refused,
}

/// What to look for; every field set must match (`None` / empty matches anything).
#[derive(Clone, Debug, Default)]
// Not non_exhaustive: callers build it as `{ field, ..Default::default() }`, which keeps
// compiling when fields are added.
pub struct SearchFilter {
    /// Records at or after this time.
    pub from: Option<Timestamp>,
    /// Records strictly before this time.
    pub until: Option<Timestamp>,
    /// This consumer.
    pub consumer: Option<String>,
    /// This API.
    pub api: Option<String>,
    /// This stated purpose context.
    pub purpose_context: Option<String>,
    /// This decision.
    pub decision: Option<DecisionFilter>,
    /// Any of these subject hashes (one identifier hashed under each configured key).
    pub subjects: Vec<SubjectHash>,
}

/// A record found, with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its sequence number.
    pub seq: u64,
    /// The record.
    pub record: AuditRecord,
}

// === impl SearchFilter ===

impl SearchFilter {
    /// Matches records about the person with `identifier`, hashed under each of `keys` (all
    /// keys ever used, so records made before a rotation are found too). The identifier itself
    /// is not kept.
    pub fn subject(mut self, identifier: &str, keys: &[SubjectKey]) -> Self {
        self.subjects
            .extend(keys.iter().map(|key| key.hash(identifier)));
        self
    }

    /// Whether `record` matches.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let eq = |want: &Option<String>, have: Option<&String>| {
            want.as_ref().is_none_or(|w| have == Some(w))
        };
        self.from.is_none_or(|from| record.time >= from)
            && self.until.is_none_or(|until| record.time < until)
            && eq(&self.consumer, record.consumer.as_ref())
            && eq(&self.api, Some(&record.api))
            && eq(
                &self.purpose_context,
                record.purpose.get(&PurposeHeader::Context),
            )
            && self.decision.is_none_or(|d| {
                matches!(
                    (d, &record.decision),
                    (DecisionFilter::Allowed, Decision::Allowed)
                        | (DecisionFilter::Refused, Decision::Refused { .. })
                )
            })
            && (self.subjects.is_empty() || record.subjects().any(|s| self.subjects.contains(s)))
    }
}

/// The records in `dir` matching `filter`, in chain order.
pub fn search(dir: &Path, filter: &SearchFilter) -> Result<Vec<Found>, AuditError> {
    let mut found = Vec::new();
    search_each(dir, filter, |f| found.push(f))?;
    Ok(found)
}

/// The last `limit` records in `dir` matching `filter`, in chain order, and whether more
/// matched: what a page of "the most recent" needs, in memory for `limit` records only however
/// large the store (the whole store is still read).
pub fn search_last(
    dir: &Path,
    filter: &SearchFilter,
    limit: usize,
) -> Result<(Vec<Found>, bool), AuditError> {
    let mut last = std::collections::VecDeque::with_capacity(limit.min(4096));
    let mut more = false;
    search_each(dir, filter, |f| {
        if last.len() == limit {
            more = true;
            if last.pop_front().is_none() {
                return; // limit 0
            }
        }
        last.push_back(f);
    })?;
    Ok((last.into(), more))
}

/// Hands each record in `dir` matching `filter` to `found`, in chain order.
fn search_each(
    dir: &Path,
    filter: &SearchFilter,
    mut found: impl FnMut(Found),
) -> Result<(), AuditError> {
    let wanted: Vec<String> = filter.subjects.iter().map(|s| s.hmac_hex()).collect();
    for seg in segment::list(dir)? {
        let len = std::fs::metadata(&seg.path)
            .map_err(|e| AuditError::io(&seg.path, e))?
            .len();
        if let Some(index) = index::read(&seg.path, len) {
            if !index.may_hold_time(filter.from, filter.until) {
                continue;
            }
            if !filter.subjects.is_empty() {
                // Only the lines the index names: a person's few records, not the segment.
                let offsets = index.lines_about(filter.subjects.iter().map(|s| s.digest()));
                read_indexed(&seg.path, &offsets, filter, &mut found)?;
                continue;
            }
        }
        let (bytes, lines) = segment::read_lines(&seg.path)?;
        for line in lines.iter().filter(|l| l.complete) {
            let text = &bytes[line.range.clone()];
            if !wanted.is_empty() && !subject_may_match(text, &wanted) {
                continue;
            }
            let entry: StoredEntry =
                serde_json::from_slice(text).map_err(|e| AuditError::Corrupt {
                    path: seg.path.clone(),
                    line: line.number,
                    reason: e.to_string(),
                })?;
            if let Body::Record(record) = entry.body
                && filter.matches(&record)
            {
                found(Found {
                    seq: entry.seq,
                    record,
                });
            }
        }
    }
    Ok(())
}

/// The records at `offsets` (line starts, ascending) of the segment at `path` that match.
fn read_indexed(
    path: &Path,
    offsets: &[u64],
    filter: &SearchFilter,
    found: &mut impl FnMut(Found),
) -> Result<(), AuditError> {
    use std::io::{BufRead, BufReader, Seek, SeekFrom};
    if offsets.is_empty() {
        return Ok(());
    }
    let io = |e| AuditError::io(path, e);
    let mut file = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut line = Vec::new();
    for &offset in offsets {
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        line.clear();
        file.read_until(b'\n', &mut line).map_err(io)?;
        let entry: StoredEntry = line
            .strip_suffix(b"\n")
            .and_then(|text| serde_json::from_slice(text).ok())
            .ok_or_else(|| AuditError::Corrupt {
                path: path.to_owned(),
                line: 0,
                reason: format!("the index names byte {offset}, where no entry starts"),
            })?;
        if let Body::Record(record) = entry.body
            && filter.matches(&record)
        {
            found(Found {
                seq: entry.seq,
                record,
            });
        }
    }
    Ok(())
}

/// Quick pre-filter for subject searches, before the costly JSON parse: find each subject's
/// `"hmac":"` key (a record may name several) and compare the 64 digits after it. The key
/// cannot occur elsewhere unescaped (quotes inside JSON strings are written `\"`), so a line
/// without a wanted digest there cannot match; a line with one is still parsed and matched in
/// full.
fn subject_may_match(line: &[u8], wanted: &[String]) -> bool {
    const KEY: &[u8] = b"\"hmac\":\"";
    let mut rest = line;
    while let Some(at) = find(rest, KEY) {
        rest = &rest[at + KEY.len()..];
        if rest
            .get(..64)
            .is_some_and(|digest| wanted.iter().any(|w| w.as_bytes() == digest))
        {
            return true;
        }
    }
    false
}

/// Where `needle` first occurs in `haystack`: a scan for the needle's first byte with
/// `position` (which the compiler vectorises), then a comparison of the rest.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack.get(at + 1..at + needle.len()) == Some(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}
