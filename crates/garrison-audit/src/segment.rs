//! Segment files: naming, listing, and splitting into lines.
//!
//! A segment is `segment-NNNNNNNN.jsonl`, numbered from 1 without gaps; each line one entry.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::AuditError;

const PREFIX: &str = "segment-";
const SUFFIX: &str = ".jsonl";

/// One segment file of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Its number, from 1.
    pub number: u64,
    /// Its path.
    pub path: PathBuf,
}

/// One line of a segment.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// 1-based line number.
    pub(crate) number: usize,
    /// Byte range in the file, without the newline.
    pub(crate) range: Range<usize>,
    /// Whether it ended with a newline (the last line of a torn write does not).
    pub(crate) complete: bool,
}

/// The file name of segment `number`.
pub(crate) fn file_name(number: u64) -> String {
    format!("{PREFIX}{number:08}{SUFFIX}")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, in number order.
pub fn list(dir: &Path) -> Result<Vec<Segment>, AuditError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))? {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        let name = entry.file_name();
        if let Some(number) = name.to_str().and_then(parse_name) {
            segments.push(Segment {
                number,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.number);
    Ok(segments)
}

/// Reads a whole segment and splits it into lines. Segments are bounded by `segment_max_bytes`,
/// so holding one in memory is fine.
pub(crate) fn read_lines(path: &Path) -> Result<(Vec<u8>, Vec<Line>), AuditError> {
    let bytes = fs::read(path).map_err(|e| AuditError::io(path, e))?;
    let lines = split_lines(&bytes);
    Ok((bytes, lines))
}

pub(crate) fn split_lines(bytes: &[u8]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let number = lines.len() + 1;
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(len) => {
                lines.push(Line {
                    number,
                    range: start..start + len,
                    complete: true,
                });
                start += len + 1;
            }
            None => {
                lines.push(Line {
                    number,
                    range: start..bytes.len(),
                    complete: false,
                });
                start = bytes.len();
            }
        }
    }
    lines
}

/// Makes a file's creation or removal durable: on POSIX, a new directory entry survives a crash
/// only once the directory itself is fsynced.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| AuditError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        assert_eq!(file_name(7), "segment-00000007.jsonl");
        assert_eq!(parse_name("segment-00000007.jsonl"), Some(7));
        assert_eq!(parse_name("segment-.jsonl"), None);
        assert_eq!(parse_name("segment-0001.jsonl.bak"), None);
    }

    #[test]
    fn a_missing_final_newline_marks_the_line_incomplete() {
        let lines = split_lines(b"a\nbc\nd");
        assert_eq!(lines.len(), 3);
        assert!(lines[1].complete && !lines[2].complete);
        assert_eq!(lines[2].range, 5..6);
    }
}
