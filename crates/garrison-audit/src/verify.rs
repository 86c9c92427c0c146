//! Offline verification of a whole store: every link of the hash chain, every sequence number,
//! every checkpoint signature, and the segment numbering, stopping at the first problem.
//!
//! What it can prove: nothing between the first retained anchor and the last entry was edited,
//! removed, inserted or reordered. What it cannot prove alone: that entries were not cut off the
//! *end* (the last segment deleted, or its tail truncated). Compare [`VerifyReport::last_seq`]
//! with a checkpoint published or exported elsewhere to cover that.

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::AuditError;
use crate::entry::{Body, CheckpointReason, Digest, GENESIS, StoredEntry, key_id};
use crate::index::{self, SegmentSummary};
use crate::segment::{self, Line};

/// The outcome of [`verify`].
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Segment files examined.
    pub segments: usize,
    /// Entries that verified (records and checkpoints).
    pub entries: u64,
    /// Records among them.
    pub records: u64,
    /// Checkpoints among them, every one with a valid signature.
    pub checkpoints: u64,
    /// Sequence number of the first entry (1 unless older segments were removed by retention).
    pub first_seq: Option<u64>,
    /// Sequence number of the last entry that verified.
    pub last_seq: Option<u64>,
    /// Hash of that entry.
    pub head: Option<Digest>,
    /// Sequence number of the last valid checkpoint: entries after it are hash-chained but not
    /// yet covered by a signature.
    pub last_checkpoint_seq: Option<u64>,
    /// Whether the chain starts at a signed anchor rather than at genesis (older segments
    /// removed); trust then rests on that anchor's signature.
    pub starts_at_anchor: bool,
    /// Whether the newest segment is an empty file: a crash came between creating it and
    /// writing its anchor. It holds nothing (no record is acknowledged before its segment's
    /// anchor is synced), and the writer writes the anchor when it next opens the store.
    pub empty_last_segment: bool,
    /// The first problem, if any; entries after it were not examined.
    pub problem: Option<Problem>,
}

/// Where verification first failed, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The segment file.
    pub segment: PathBuf,
    /// 1-based line number in it (0 when the problem is the file itself).
    pub line: usize,
    /// The sequence number the line claims, if it could be read.
    pub seq: Option<u64>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// The kinds of damage verification recognises.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The directory holds no segment.
    NoSegments,
    /// A segment number is missing between two present ones: a whole segment was deleted.
    MissingSegment {
        /// The missing segment's number.
        number: u64,
    },
    /// The last line has no newline: a write was interrupted (reopening the log repairs it).
    TornLine,
    /// The line is not an entry.
    Malformed {
        /// The parser's complaint.
        reason: String,
    },
    /// The line is an entry but not in its one canonical spelling (edited by hand or by a tool).
    NonCanonical,
    /// A segment does not begin with its signed `segment_start` checkpoint.
    MissingAnchor,
    /// Sequence numbers jump: entries were deleted.
    SequenceGap {
        /// The number due here.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// The entry due here appears elsewhere: entries were moved.
    Reordered {
        /// The number due here.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// `prev` is not the hash of the entry before: the chain is broken here.
    PrevMismatch,
    /// The entry's content does not hash to its `hash`: it was edited.
    HashMismatch,
    /// A checkpoint's head does not match the chain it sits in.
    CheckpointMismatch,
    /// A checkpoint's signature does not verify under the given public key (or no key given
    /// has the checkpoint's `key_id`).
    BadSignature,
    /// The segment's search index does not describe the segment's records, so a search could
    /// miss some of them (the index was edited or replaced; the records themselves verify).
    IndexMismatch,
}

// === impl VerifyReport ===

impl VerifyReport {
    /// Whether the store verified completely.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }

    /// A few lines for people (what `garrison audit verify` prints). Intact: the counts, the
    /// first and last sequence numbers, the segments, the head and how much of the chain is
    /// under a signature. Not intact: first the [`Problem`] exactly as its `Display` gives it,
    /// then how much verified before it.
    pub fn summary(&self) -> String {
        let seqs = match (self.first_seq, self.last_seq) {
            (Some(first), Some(last)) => format!("seq {first} to {last}"),
            _ => "no entries".to_owned(),
        };
        let counts = format!(
            "{}, {} ({seqs}) in {}",
            plural(self.records, "record"),
            plural(self.checkpoints, "checkpoint"),
            plural(self.segments as u64, "segment")
        );
        if let Some(problem) = &self.problem {
            return format!(
                "{problem}\nNOT INTACT: verification stopped at the first problem; before it, {} verified: {counts}\n",
                plural(self.entries, "entry")
            );
        }
        let mut out = format!("intact: {counts}\n");
        if let Some(head) = self.head {
            out.push_str(&format!("head: {head}\n"));
        }
        match (self.last_checkpoint_seq, self.last_seq) {
            (Some(cp), Some(last)) if cp == last => {
                out.push_str(&format!(
                    "last checkpoint: seq {cp} (every entry is signed)\n"
                ));
            }
            (Some(cp), Some(last)) => out.push_str(&format!(
                "last checkpoint: seq {cp} ({} after it hash-chained but not yet signed)\n",
                plural(last - cp, "entry")
            )),
            _ => out.push_str("no checkpoint\n"),
        }
        if self.empty_last_segment {
            out.push_str(
                "the newest segment is empty: a crash came as it was started; the gateway writes its anchor when it next opens the store\n",
            );
        }
        if self.starts_at_anchor {
            out.push_str(
                "starts at a signed segment anchor, not at genesis: older segments were removed (retention)\n",
            );
        }
        out
    }
}

fn plural(n: u64, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, "entry") => format!("{n} entries"),
        _ => format!("{n} {what}s"),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.segment.display(), self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        let what = match &self.kind {
            ProblemKind::NoSegments => "no segment files".to_owned(),
            ProblemKind::MissingSegment { number } => {
                format!("segment {number} is missing (deleted)")
            }
            ProblemKind::TornLine => "torn last line (interrupted write)".to_owned(),
            ProblemKind::Malformed { reason } => format!("not an entry: {reason}"),
            ProblemKind::NonCanonical => "entry is not in canonical form (edited)".to_owned(),
            ProblemKind::MissingAnchor => "segment does not start with its anchor".to_owned(),
            ProblemKind::SequenceGap { expected, found } => {
                format!("sequence gap: expected {expected}, found {found} (entries deleted)")
            }
            ProblemKind::Reordered { expected, found } => {
                format!("reordered: expected {expected}, found {found}")
            }
            ProblemKind::PrevMismatch => "previous-hash link broken".to_owned(),
            ProblemKind::HashMismatch => "hash mismatch (entry edited)".to_owned(),
            ProblemKind::CheckpointMismatch => "checkpoint head does not match chain".to_owned(),
            ProblemKind::BadSignature => "checkpoint signature invalid".to_owned(),
            ProblemKind::IndexMismatch => {
                "the segment's search index does not match its records".to_owned()
            }
        };
        write!(f, ": {what}")
    }
}

/// Verifies the store in `dir` against the published checkpoint `public_key`. I/O failures are
/// errors; damage is reported in [`VerifyReport::problem`].
pub fn verify(dir: &Path, public_key: &VerifyingKey) -> Result<VerifyReport, AuditError> {
    verify_with_keys(dir, std::slice::from_ref(public_key))
}

/// Like [`verify`], for a log signed by several keys over time (the signing key was rotated):
/// each checkpoint is checked with the key its `key_id` names.
pub fn verify_with_keys(
    dir: &Path,
    public_keys: &[VerifyingKey],
) -> Result<VerifyReport, AuditError> {
    let segments = segment::list(dir)?;
    let mut v = Verifier {
        keys: public_keys.iter().map(|k| (key_id(k), *k)).collect(),
        report: VerifyReport {
            segments: segments.len(),
            entries: 0,
            records: 0,
            checkpoints: 0,
            first_seq: None,
            last_seq: None,
            head: None,
            last_checkpoint_seq: None,
            starts_at_anchor: false,
            empty_last_segment: false,
            problem: None,
        },
        next: None,
    };
    if segments.is_empty() {
        v.report.problem = Some(Problem {
            segment: dir.to_owned(),
            line: 0,
            seq: None,
            kind: ProblemKind::NoSegments,
        });
        return Ok(v.report);
    }
    let mut previous_number = None;
    let last_number = segments.last().map(|s| s.number);
    for seg in &segments {
        if let Some(n) = previous_number
            && seg.number != n + 1
        {
            v.fail(
                &seg.path,
                0,
                None,
                ProblemKind::MissingSegment { number: n + 1 },
            );
            break;
        }
        previous_number = Some(seg.number);
        let (bytes, lines) = segment::read_lines(&seg.path)?;
        // What a crash in the middle of a segment roll leaves: not a problem (a truncation to
        // nothing of the newest segment is no more hidden than one of its last lines: either
        // shows against the last checkpoint an operator has seen).
        if bytes.is_empty() && v.report.last_seq.is_some() && Some(seg.number) == last_number {
            v.report.empty_last_segment = true;
            break;
        }
        if let Err(problem) = v.segment(&seg.path, &bytes, &lines) {
            v.report.problem = Some(problem);
            break;
        }
    }
    Ok(v.report)
}

struct Verifier {
    keys: Vec<(String, VerifyingKey)>,
    report: VerifyReport,
    /// The sequence number and `prev` due next; `None` before the first entry.
    next: Option<(u64, Digest)>,
}

impl Verifier {
    fn fail(&mut self, path: &Path, line: usize, seq: Option<u64>, kind: ProblemKind) {
        self.report.problem = Some(Problem {
            segment: path.to_owned(),
            line,
            seq,
            kind,
        });
    }

    fn segment(&mut self, path: &Path, bytes: &[u8], lines: &[Line]) -> Result<(), Problem> {
        let problem = |line: usize, seq: Option<u64>, kind| Problem {
            segment: path.to_owned(),
            line,
            seq,
            kind,
        };
        if lines.is_empty() {
            return Err(problem(1, None, ProblemKind::MissingAnchor));
        }
        let mut summary = SegmentSummary::default();
        // Parse every line first: telling a deletion from a move needs to look ahead.
        let parsed: Vec<Result<StoredEntry, String>> = lines
            .iter()
            .map(|l| serde_json::from_slice(&bytes[l.range.clone()]).map_err(|e| e.to_string()))
            .collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.complete {
                return Err(problem(line.number, None, ProblemKind::TornLine));
            }
            let entry = match &parsed[i] {
                Ok(entry) => entry,
                Err(reason) => {
                    let kind = ProblemKind::Malformed {
                        reason: reason.clone(),
                    };
                    return Err(problem(line.number, None, kind));
                }
            };
            let at = |kind| problem(line.number, Some(entry.seq), kind);
            let canonical = entry.to_line().map_err(|e| {
                at(ProblemKind::Malformed {
                    reason: e.to_string(),
                })
            })?;
            if canonical[..canonical.len() - 1] != bytes[line.range.clone()] {
                return Err(at(ProblemKind::NonCanonical));
            }
            let anchor = matches!(&entry.body, Body::Checkpoint(c) if c.reason == CheckpointReason::SegmentStart);
            if i == 0 && !anchor {
                return Err(at(ProblemKind::MissingAnchor));
            }
            let (expected, prev) = match self.next {
                Some(next) => next,
                None => {
                    // The very first entry: genesis, or (after retention) a signed anchor whose
                    // claim about the head before it we accept because of its signature below.
                    self.report.first_seq = Some(entry.seq);
                    self.report.starts_at_anchor = entry.seq != 1 || entry.prev != GENESIS;
                    (entry.seq, entry.prev)
                }
            };
            if entry.seq != expected {
                let moved = entry.seq < expected
                    || parsed[i + 1..]
                        .iter()
                        .any(|p| p.as_ref().is_ok_and(|e| e.seq == expected));
                let kind = if moved {
                    ProblemKind::Reordered {
                        expected,
                        found: entry.seq,
                    }
                } else {
                    ProblemKind::SequenceGap {
                        expected,
                        found: entry.seq,
                    }
                };
                return Err(at(kind));
            }
            if entry.prev != prev {
                return Err(at(ProblemKind::PrevMismatch));
            }
            if let Body::Checkpoint(cp) = &entry.body {
                if cp.head_seq.checked_add(1) != Some(entry.seq) || cp.head_hash != entry.prev {
                    return Err(at(ProblemKind::CheckpointMismatch));
                }
                // Before the hash check: a forger who re-signs must be told "bad signature",
                // whether or not they also recomputed the hashes after it.
                let key = self.keys.iter().find(|(id, _)| *id == cp.key_id);
                if !key.is_some_and(|(_, k)| cp.signature_valid(entry.seq, k)) {
                    return Err(at(ProblemKind::BadSignature));
                }
            }
            let computed = entry.computed_hash().map_err(|e| {
                at(ProblemKind::Malformed {
                    reason: e.to_string(),
                })
            })?;
            if computed != entry.hash {
                return Err(at(ProblemKind::HashMismatch));
            }
            match &entry.body {
                Body::Record(record) => {
                    self.report.records += 1;
                    let offset = line.range.start as u64;
                    summary.add(record, offset);
                }
                Body::Checkpoint(_) => {
                    self.report.checkpoints += 1;
                    self.report.last_checkpoint_seq = Some(entry.seq);
                }
            }
            self.report.entries += 1;
            self.report.last_seq = Some(entry.seq);
            self.report.head = Some(entry.hash);
            // Saturating: a forged sequence number at the end of the range makes the next line
            // fail its check rather than wrap to 0.
            self.next = Some((entry.seq.saturating_add(1), entry.hash));
        }
        // An index search would trust must say exactly what the records say.
        summary.seal();
        if let Some(index) = index::read(path, bytes.len() as u64)
            && index.summary() != summary
        {
            return Err(problem(0, None, ProblemKind::IndexMismatch));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> VerifyReport {
        VerifyReport {
            segments: 2,
            entries: 12,
            records: 9,
            checkpoints: 3,
            first_seq: Some(1),
            last_seq: Some(12),
            head: Some(Digest([0xab; 32])),
            last_checkpoint_seq: Some(12),
            starts_at_anchor: false,
            empty_last_segment: false,
            problem: None,
        }
    }

    #[test]
    fn summary_of_an_intact_store_gives_counts_range_and_signing() {
        let text = report().summary();
        assert!(
            text.starts_with("intact: 9 records, 3 checkpoints (seq 1 to 12) in 2 segments\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!("head: {}\n", "ab".repeat(32))),
            "{text}"
        );
        assert!(
            text.contains("last checkpoint: seq 12 (every entry is signed)"),
            "{text}"
        );

        let mut r = report();
        r.last_checkpoint_seq = Some(11);
        r.starts_at_anchor = true;
        r.segments = 1;
        let text = r.summary();
        assert!(text.contains("in 1 segment\n"), "{text}");
        assert!(
            text.contains("(1 entry after it hash-chained but not yet signed)"),
            "{text}"
        );
        assert!(text.contains("older segments were removed"), "{text}");
    }

    #[test]
    fn summary_of_a_damaged_store_starts_with_the_problem() {
        let mut r = report();
        let problem = Problem {
            segment: PathBuf::from("audit/segment-00000001.jsonl"),
            line: 4,
            seq: Some(4),
            kind: ProblemKind::HashMismatch,
        };
        r.entries = 3;
        r.last_seq = Some(3);
        r.problem = Some(problem.clone());
        let text = r.summary();
        let first = text.lines().next().unwrap();
        assert_eq!(first, problem.to_string());
        assert_eq!(
            first,
            "audit/segment-00000001.jsonl line 4 (seq 4): hash mismatch (entry edited)"
        );
        assert!(text.contains("NOT INTACT"), "{text}");
        assert!(text.contains("before it, 3 entries verified"), "{text}");
    }
}
