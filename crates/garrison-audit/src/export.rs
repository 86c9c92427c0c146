//! Export of a time range for a third party to verify offline.
//!
//! An export is a directory in the store's own format: the contiguous run of whole segments
//! holding the range's records, the anchor line of the segment after them (its signature covers
//! the last exported entry, so every exported entry sits under a signature), and the public key.
//! The recipient runs the same [`crate::verify`] on it — nothing else to trust or install.

use std::fs;
use std::path::Path;

use ed25519_dalek::VerifyingKey;

use crate::entry::{Body, StoredEntry};
use crate::segment::{self, Segment};
use crate::verify::{VerifyReport, verify};
use crate::{AuditError, PUBLIC_KEY_FILE, Timestamp, hex};

/// Copies the segments holding records in `[from, until)` (either end open when `None`) from
/// `dir` to the new directory `out`, with the following segment's anchor and `public_key`, then
/// verifies the export and returns that report. `out` must not exist or be empty.
pub fn export_range(
    dir: &Path,
    out: &Path,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    public_key: &VerifyingKey,
) -> Result<VerifyReport, AuditError> {
    let segments = segment::list(dir)?;
    let mut selected: Vec<usize> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        if has_record_in(seg, from, until)? {
            selected.push(i);
        }
    }
    fs::create_dir_all(out).map_err(|e| AuditError::io(out, e))?;
    let not_empty = fs::read_dir(out)
        .map_err(|e| AuditError::io(out, e))?
        .next()
        .is_some();
    if not_empty {
        return Err(AuditError::io(
            out,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "export directory is not empty",
            ),
        ));
    }
    if let (Some(&first), Some(&last)) = (selected.first(), selected.last()) {
        // Whole segments, and every one between, so the exported chain has no hole.
        for seg in &segments[first..=last] {
            let to = out.join(segment::file_name(seg.number));
            fs::copy(&seg.path, &to).map_err(|e| AuditError::io(&to, e))?;
        }
        if let Some(next) = segments.get(last + 1) {
            let (bytes, lines) = segment::read_lines(&next.path)?;
            if let Some(anchor) = lines.first().filter(|l| l.complete) {
                let mut line = bytes[anchor.range.clone()].to_vec();
                line.push(b'\n');
                let to = out.join(segment::file_name(next.number));
                fs::write(&to, line).map_err(|e| AuditError::io(&to, e))?;
            }
        }
    }
    let key_path = out.join(PUBLIC_KEY_FILE);
    fs::write(
        &key_path,
        format!("{}\n", hex::encode(public_key.as_bytes())),
    )
    .map_err(|e| AuditError::io(&key_path, e))?;
    verify(out, public_key)
}

fn has_record_in(
    seg: &Segment,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<bool, AuditError> {
    let (bytes, lines) = segment::read_lines(&seg.path)?;
    Ok(lines.iter().filter(|l| l.complete).any(|l| {
        match serde_json::from_slice::<StoredEntry>(&bytes[l.range.clone()]) {
            Ok(StoredEntry {
                body: Body::Record(r),
                ..
            }) => from.is_none_or(|f| r.time >= f) && until.is_none_or(|u| r.time < u),
            _ => false,
        }
    }))
}
