//! A small index beside each closed segment, so that a search by data subject or time range
//! reads only the segments that can hold a match.
//!
//! `segment-NNNNNNNN.index` holds, for the segment of the same number: its length when it was
//! closed, the earliest and latest record times, and the sorted, distinct subject digests of its
//! records. It is derived data, outside the chain: a missing, damaged or stale index (one whose
//! segment length differs) is ignored and the segment is scanned, so an index can only speed a
//! search up. Verification recomputes every index it finds and reports one that would hide a
//! record from a search ([`crate::ProblemKind::IndexMismatch`]).
//!
//! Layout (integers little-endian): the magic `GAUDIDX1`, segment length `u64`, first and last
//! record time `i64` (Unix microseconds; `i64::MAX` and `i64::MIN` when the segment holds no
//! record), digest count `u64`, the digests (32 bytes each, ascending), then SHA-256 of all the
//! bytes before it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::AuditError;
use crate::Timestamp;

const MAGIC: &[u8; 8] = b"GAUDIDX1";
const HEADER: usize = 8 + 8 + 8 + 8 + 8;
const DIGEST: usize = 32;

/// What one segment's records hold, gathered as they are written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    /// The earliest record time (Unix microseconds).
    pub(crate) first: i64,
    /// The latest record time.
    pub(crate) last: i64,
    /// Subject digests, in any order until [`SegmentSummary::seal`].
    pub(crate) subjects: Vec<[u8; 32]>,
}

/// An index read from disk.
#[derive(Debug)]
pub(crate) struct SegmentIndex {
    summary: SegmentSummary,
}

impl Default for SegmentSummary {
    fn default() -> Self {
        SegmentSummary {
            first: i64::MAX,
            last: i64::MIN,
            subjects: Vec::new(),
        }
    }
}

// === impl SegmentSummary ===

impl SegmentSummary {
    /// Notes one record.
    pub(crate) fn add(&mut self, time: Timestamp, subject: Option<&[u8; 32]>) {
        let micros = time.unix_micros();
        self.first = self.first.min(micros);
        self.last = self.last.max(micros);
        if let Some(digest) = subject {
            self.subjects.push(*digest);
        }
    }

    /// Sorts and deduplicates the subjects.
    pub(crate) fn seal(&mut self) {
        self.subjects.sort_unstable();
        self.subjects.dedup();
    }

    /// The index bytes for a segment of `segment_len` bytes.
    fn encode(&self, segment_len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.subjects.len() * DIGEST + DIGEST);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&segment_len.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.last.to_le_bytes());
        out.extend_from_slice(&(self.subjects.len() as u64).to_le_bytes());
        for digest in &self.subjects {
            out.extend_from_slice(digest);
        }
        let check = Sha256::digest(&out);
        out.extend_from_slice(&check);
        out
    }
}

// === impl SegmentIndex ===

impl SegmentIndex {
    /// Whether a record at or after `from` and before `until` may be in the segment.
    pub(crate) fn may_hold_time(&self, from: Option<Timestamp>, until: Option<Timestamp>) -> bool {
        from.is_none_or(|f| self.summary.last >= f.unix_micros())
            && until.is_none_or(|u| self.summary.first < u.unix_micros())
    }

    /// Whether any of `digests` may be in the segment.
    pub(crate) fn may_hold_subject<'a>(
        &self,
        mut digests: impl Iterator<Item = &'a [u8; 32]>,
    ) -> bool {
        digests.any(|d| self.summary.subjects.binary_search(d).is_ok())
    }

    /// What the index says.
    pub(crate) fn summary(&self) -> &SegmentSummary {
        &self.summary
    }
}

/// The index file of the segment at `segment_path`.
pub(crate) fn path_for(segment_path: &Path) -> PathBuf {
    segment_path.with_extension("index")
}

/// Writes the index of a closed segment (to a temporary name, then renamed into place, so a
/// reader never sees half of one). Not fsynced: an index lost in a crash costs a scan only.
pub(crate) fn write(
    segment_path: &Path,
    segment_len: u64,
    summary: &SegmentSummary,
) -> Result<(), AuditError> {
    let path = path_for(segment_path);
    let tmp = path.with_extension("index.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&tmp)
        .and_then(|mut f| f.write_all(&summary.encode(segment_len)))
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| AuditError::io(&path, e))
}

/// The index of the segment at `segment_path`, if one exists, is intact and was written for
/// the segment as it is now (`segment_len` bytes); `None` otherwise (scan the segment).
pub(crate) fn read(segment_path: &Path, segment_len: u64) -> Option<SegmentIndex> {
    let bytes = fs::read(path_for(segment_path)).ok()?;
    decode(&bytes, segment_len)
}

fn decode(bytes: &[u8], segment_len: u64) -> Option<SegmentIndex> {
    let (body, check) = bytes.split_at_checked(bytes.len().checked_sub(DIGEST)?)?;
    if body.len() < HEADER || &body[..8] != MAGIC || Sha256::digest(body).as_slice() != check {
        return None;
    }
    let word = |at: usize| -> Option<[u8; 8]> { body.get(at..at + 8)?.try_into().ok() };
    if u64::from_le_bytes(word(8)?) != segment_len {
        return None;
    }
    let first = i64::from_le_bytes(word(16)?);
    let last = i64::from_le_bytes(word(24)?);
    let count = usize::try_from(u64::from_le_bytes(word(32)?)).ok()?;
    let digests = &body[HEADER..];
    if digests.len() != count.checked_mul(DIGEST)? {
        return None;
    }
    let subjects: Vec<[u8; 32]> = digests
        .chunks_exact(DIGEST)
        .filter_map(|c| c.try_into().ok())
        .collect();
    // Binary search needs them sorted; a hand-edited order is as bad as a damaged file.
    if !subjects.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    Some(SegmentIndex {
        summary: SegmentSummary {
            first,
            last,
            subjects,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> SegmentSummary {
        let mut s = SegmentSummary::default();
        s.add(Timestamp::from_unix_micros(500), Some(&[9u8; 32]));
        s.add(Timestamp::from_unix_micros(100), None);
        s.add(Timestamp::from_unix_micros(300), Some(&[1u8; 32]));
        s.add(Timestamp::from_unix_micros(200), Some(&[9u8; 32]));
        s.seal();
        s
    }

    #[test]
    fn an_index_round_trips_and_answers() {
        let s = summary();
        assert_eq!(s.subjects, vec![[1u8; 32], [9u8; 32]]);
        let index = decode(&s.encode(4096), 4096).unwrap();
        assert_eq!(index.summary(), &s);
        assert!(index.may_hold_subject([[9u8; 32]].iter()));
        assert!(!index.may_hold_subject([[2u8; 32]].iter()));
        let t = Timestamp::from_unix_micros;
        assert!(index.may_hold_time(Some(t(500)), None));
        assert!(!index.may_hold_time(Some(t(501)), None));
        assert!(index.may_hold_time(None, Some(t(101))));
        assert!(!index.may_hold_time(None, Some(t(100))));
    }

    #[test]
    fn a_stale_or_damaged_index_is_not_used() {
        let bytes = summary().encode(4096);
        assert!(decode(&bytes, 4097).is_none(), "the segment changed length");
        for at in [0, 9, 20, HEADER + 3, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert!(decode(&damaged, 4096).is_none(), "flipped byte {at}");
        }
        assert!(decode(&bytes[..bytes.len() - 1], 4096).is_none());
        assert!(decode(b"", 4096).is_none());
    }
}
