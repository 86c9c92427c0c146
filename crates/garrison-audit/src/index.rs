//! A small index beside each closed segment, so that a search by data subject or time range
//! reads only the segments that can hold a match.
//!
//! `segment-NNNNNNNN.index` holds, for the segment of the same number: its length when it was
//! closed, the earliest and latest record times, and for every record naming a subject, the
//! subject's digest and the byte offset of the record's line, sorted — so a subject search reads
//! only that person's lines. It is derived data, outside the chain: a missing, damaged or stale index (one whose
//! segment length differs) is ignored and the segment is scanned, so an index can only speed a
//! search up. Verification recomputes every index it finds and reports one that would hide a
//! record from a search ([`crate::ProblemKind::IndexMismatch`]).
//!
//! Layout (integers little-endian): the magic `GAUDIDX1`, segment length `u64`, first and last
//! record time `i64` (Unix microseconds; `i64::MAX` and `i64::MIN` when the segment holds no
//! record), entry count `u64`, the entries (a 32-byte digest and a `u64` line offset each,
//! ascending by digest, then offset), then the CRC-32 of all the bytes before it (`u32`). The
//! checksum catches damage, not forgery: verification, not the checksum, answers an edited index.
//! A search reads the index and searches its entries where they lie, without decoding them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{AuditError, AuditRecord, Timestamp};

const MAGIC: &[u8; 8] = b"GAUDIDX1";
const HEADER: usize = 8 + 8 + 8 + 8 + 8;
const DIGEST: usize = 32;
const ENTRY: usize = DIGEST + 8;
const CHECKSUM: usize = 4;

/// What one segment's records hold, gathered as they are written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    /// The earliest record time (Unix microseconds).
    pub(crate) first: i64,
    /// The latest record time.
    pub(crate) last: i64,
    /// Subject digests and the offsets of their records' lines, in any order until
    /// [`SegmentSummary::seal`].
    pub(crate) subjects: Vec<([u8; 32], u64)>,
}

/// An index read from disk: its times, and its entries as stored.
#[derive(Debug)]
pub(crate) struct SegmentIndex {
    first: i64,
    last: i64,
    /// `ENTRY`-byte entries, sorted.
    entries: Vec<u8>,
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
    /// Notes one record, whose line starts `offset` bytes into the segment.
    pub(crate) fn add(&mut self, record: &AuditRecord, offset: u64) {
        self.note(record.time, record.subjects().map(|s| s.digest()), offset);
    }

    /// Notes a record at `time` naming the subjects with `digests`.
    fn note<'a>(
        &mut self,
        time: Timestamp,
        digests: impl Iterator<Item = &'a [u8; 32]>,
        offset: u64,
    ) {
        let micros = time.unix_micros();
        self.first = self.first.min(micros);
        self.last = self.last.max(micros);
        self.subjects.extend(digests.map(|d| (*d, offset)));
    }

    /// Sorts the entries.
    pub(crate) fn seal(&mut self) {
        self.subjects.sort_unstable();
    }

    /// The index bytes for a segment of `segment_len` bytes.
    fn encode(&self, segment_len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.subjects.len() * ENTRY + CHECKSUM);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&segment_len.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.last.to_le_bytes());
        out.extend_from_slice(&(self.subjects.len() as u64).to_le_bytes());
        for (digest, offset) in &self.subjects {
            out.extend_from_slice(digest);
            out.extend_from_slice(&offset.to_le_bytes());
        }
        let check = crc32fast::hash(&out);
        out.extend_from_slice(&check.to_le_bytes());
        out
    }
}

// === impl SegmentIndex ===

impl SegmentIndex {
    /// Whether a record at or after `from` and before `until` may be in the segment.
    pub(crate) fn may_hold_time(&self, from: Option<Timestamp>, until: Option<Timestamp>) -> bool {
        from.is_none_or(|f| self.last >= f.unix_micros())
            && until.is_none_or(|u| self.first < u.unix_micros())
    }

    fn len(&self) -> usize {
        self.entries.len() / ENTRY
    }

    fn digest(&self, i: usize) -> &[u8] {
        &self.entries[i * ENTRY..i * ENTRY + DIGEST]
    }

    fn offset(&self, i: usize) -> u64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.entries[i * ENTRY + DIGEST..(i + 1) * ENTRY]);
        u64::from_le_bytes(bytes)
    }

    /// The offsets of the lines of the records about any of `digests`, ascending.
    pub(crate) fn lines_about<'a>(&self, digests: impl Iterator<Item = &'a [u8; 32]>) -> Vec<u64> {
        let mut offsets = Vec::new();
        for digest in digests {
            // The first entry not below `digest`, by bisection over the stored entries.
            let (mut low, mut high) = (0, self.len());
            while low < high {
                let middle = low + (high - low) / 2;
                if self.digest(middle) < digest.as_slice() {
                    low = middle + 1;
                } else {
                    high = middle;
                }
            }
            offsets.extend(
                (low..self.len())
                    .take_while(|&i| self.digest(i) == digest.as_slice())
                    .map(|i| self.offset(i)),
            );
        }
        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }

    /// Everything the index says, decoded (for verification).
    pub(crate) fn summary(&self) -> SegmentSummary {
        SegmentSummary {
            first: self.first,
            last: self.last,
            subjects: (0..self.len())
                .map(|i| {
                    let mut digest = [0u8; 32];
                    digest.copy_from_slice(self.digest(i));
                    (digest, self.offset(i))
                })
                .collect(),
        }
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
    decode(bytes, segment_len)
}

fn decode(mut bytes: Vec<u8>, segment_len: u64) -> Option<SegmentIndex> {
    let body_len = bytes.len().checked_sub(CHECKSUM)?;
    let (body, check) = bytes.split_at(body_len);
    if body.len() < HEADER
        || &body[..8] != MAGIC
        || crc32fast::hash(body).to_le_bytes().as_slice() != check
    {
        return None;
    }
    let word = |at: usize| -> Option<[u8; 8]> { body.get(at..at + 8)?.try_into().ok() };
    if u64::from_le_bytes(word(8)?) != segment_len {
        return None;
    }
    let first = i64::from_le_bytes(word(16)?);
    let last = i64::from_le_bytes(word(24)?);
    let count = usize::try_from(u64::from_le_bytes(word(32)?)).ok()?;
    if body.len() - HEADER != count.checked_mul(ENTRY)? {
        return None;
    }
    // The entries stay where they were read: drop the checksum, then the header.
    bytes.truncate(body_len);
    bytes.drain(..HEADER);
    Some(SegmentIndex {
        first,
        last,
        entries: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> SegmentSummary {
        let mut s = SegmentSummary::default();
        let t = Timestamp::from_unix_micros;
        s.note(t(500), [[9u8; 32]].iter(), 0);
        s.note(t(100), [].iter(), 610);
        // A record about two subjects is found by either.
        s.note(t(300), [[1u8; 32], [7u8; 32]].iter(), 1220);
        s.note(t(200), [[9u8; 32]].iter(), 1830);
        s.seal();
        s
    }

    #[test]
    fn an_index_round_trips_and_answers() {
        let s = summary();
        assert_eq!(
            s.subjects,
            vec![
                ([1u8; 32], 1220),
                ([7u8; 32], 1220),
                ([9u8; 32], 0),
                ([9u8; 32], 1830)
            ]
        );
        let index = decode(s.encode(4096), 4096).unwrap();
        assert_eq!(index.summary(), s);
        assert_eq!(index.lines_about([[9u8; 32]].iter()), [0, 1830]);
        assert_eq!(
            index.lines_about([[9u8; 32], [1u8; 32]].iter()),
            [0, 1220, 1830]
        );
        assert_eq!(index.lines_about([[7u8; 32]].iter()), [1220]);
        assert_eq!(
            index.lines_about([[1u8; 32], [7u8; 32]].iter()),
            [1220],
            "a record about both subjects searched is found once"
        );
        assert!(index.lines_about([[2u8; 32]].iter()).is_empty());
        let t = Timestamp::from_unix_micros;
        assert!(index.may_hold_time(Some(t(500)), None));
        assert!(!index.may_hold_time(Some(t(501)), None));
        assert!(index.may_hold_time(None, Some(t(101))));
        assert!(!index.may_hold_time(None, Some(t(100))));
    }

    #[test]
    fn a_stale_or_damaged_index_is_not_used() {
        let bytes = summary().encode(4096);
        assert!(
            decode(bytes.clone(), 4097).is_none(),
            "the segment changed length"
        );
        for at in [0, 9, 20, HEADER + 3, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert!(decode(damaged, 4096).is_none(), "flipped byte {at}");
        }
        assert!(decode(bytes[..bytes.len() - 1].to_vec(), 4096).is_none());
        assert!(decode(Vec::new(), 4096).is_none());
    }
}
