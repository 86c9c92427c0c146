//! Retention by age: removing whole old segments while the rest stays verifiable.
//!
//! Every segment begins with a signed `segment_start` checkpoint over the hash of the entry
//! before it, so once older segments are gone, verification starts at the first remaining
//! segment and trusts its anchor because of the signature.

use std::path::{Path, PathBuf};

use crate::entry::StoredEntry;
use crate::segment::{self, Segment};
use crate::{AuditError, Timestamp};

/// Removes, oldest first, every segment whose last entry is older than `cutoff`; never the
/// newest segment holding an entry (the writer appends to it — or, after a crash in the
/// middle of a roll left an empty segment behind it, continues the chain from it), and never a
/// segment after one that is kept, so the remainder is one contiguous chain. Returns the
/// removed files.
pub fn remove_segments_before(dir: &Path, cutoff: Timestamp) -> Result<Vec<PathBuf>, AuditError> {
    let mut segments = segment::list(dir)?;
    let mut removed = Vec::new();
    // Keep everything from the newest segment with anything in it on: the empty files after
    // it are what a crash while starting a segment leaves.
    while let Some(last) = segments.last()
        && std::fs::metadata(&last.path)
            .map_err(|e| AuditError::io(&last.path, e))?
            .len()
            == 0
    {
        segments.pop();
    }
    let Some((_newest, older)) = segments.split_last() else {
        return Ok(removed);
    };
    for seg in older {
        match last_time(seg)? {
            Some(t) if t < cutoff => {
                std::fs::remove_file(&seg.path).map_err(|e| AuditError::io(&seg.path, e))?;
                // Its index goes with it (there may be none).
                let _ = std::fs::remove_file(crate::index::path_for(&seg.path));
                removed.push(seg.path.clone());
            }
            _ => break,
        }
    }
    if !removed.is_empty() {
        segment::sync_dir(dir)?;
    }
    Ok(removed)
}

fn last_time(seg: &Segment) -> Result<Option<Timestamp>, AuditError> {
    let (bytes, lines) = segment::read_lines(&seg.path)?;
    Ok(lines
        .iter()
        .rev()
        .filter(|l| l.complete)
        .find_map(|l| serde_json::from_slice::<StoredEntry>(&bytes[l.range.clone()]).ok())
        .map(|e| e.time()))
}
