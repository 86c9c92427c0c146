//! The synchronous end of the writer: appends entries to the current segment, rolls segments,
//! writes checkpoints, fsyncs, and recovers the chain head after a crash.
//!
//! Only the writer task touches this, one batch at a time: inline on the runtime for a plain
//! write, on the blocking pool for anything that may wait on the disk (a `sync_data`, a segment
//! roll).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::entry::{Body, Checkpoint, CheckpointReason, Digest, GENESIS, StoredEntry};
use crate::index::{self, SegmentSummary};
use crate::segment::{self, Segment};
use crate::stats::Counters;
use crate::{AuditError, AuditRecord};

/// Where a record went: acknowledged only once it is on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// The record's sequence number in the chain.
    pub seq: u64,
    /// The entry's hash.
    pub hash: Digest,
}

/// Tuning the chain writer needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainLimits {
    pub(crate) segment_max_bytes: u64,
    pub(crate) checkpoint_interval: u64,
    /// Longest a written record waits for a checkpoint to sign it.
    pub(crate) checkpoint_max_age: std::time::Duration,
    /// `sync_data` before a batch is acknowledged; otherwise the writer calls [`ChainWriter::sync`]
    /// when it is due.
    pub(crate) sync_each_batch: bool,
}

pub(crate) struct ChainWriter {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    segment_number: u64,
    segment_len: u64,
    next_seq: u64,
    head: Digest,
    records_since_checkpoint: u64,
    /// When the last checkpoint was signed (or the chain opened).
    last_checkpoint_at: std::time::Instant,
    key: SigningKey,
    limits: ChainLimits,
    /// When the oldest write not yet `sync_data`'d was made; `None` when all is synced.
    unsynced_since: Option<std::time::Instant>,
    /// The current segment's record times and subjects, for its index when it is closed.
    summary: SegmentSummary,
    /// What the writer has done, read by metrics.
    pub(crate) counters: std::sync::Arc<Counters>,
    /// Held for the writer's lifetime: the OS releases it when the process dies, so a crash
    /// never leaves a stale lock.
    _lock: std::sync::Arc<File>,
}

/// The lock file that keeps a second writer out.
const LOCK_FILE: &str = "audit.lock";

fn lock(dir: &Path) -> Result<std::sync::Arc<File>, AuditError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AuditError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(std::sync::Arc::new(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked { path }),
        Err(std::fs::TryLockError::Error(e)) => Err(AuditError::io(&path, e)),
    }
}

// === impl ChainWriter ===

impl ChainWriter {
    /// Opens the store in `dir`, truncating a torn tail left by a crash (that line was never
    /// acknowledged: acknowledgement waits for fsync of the whole line) and continuing the chain
    /// from the last complete entry.
    pub(crate) fn open(
        dir: &Path,
        key: SigningKey,
        limits: ChainLimits,
    ) -> Result<Self, AuditError> {
        let lock = lock(dir)?;
        let segments = segment::list(dir)?;
        let Some(last) = segments.last().cloned() else {
            return Self::start_segment(dir, 1, 1, GENESIS, key, limits, lock);
        };
        let tail = recover_tail(&last)?;
        // A sequence number at the end of the range is a forged line, not a long log.
        let after = |entry: &StoredEntry, path: &Path| {
            entry.seq.checked_add(1).ok_or_else(|| AuditError::Corrupt {
                path: path.to_owned(),
                line: 0,
                reason: "sequence number at the end of its range".to_owned(),
            })
        };
        match tail.last {
            Some(entry) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&last.path)
                    .map_err(|e| AuditError::io(&last.path, e))?;
                Ok(ChainWriter {
                    dir: dir.to_owned(),
                    file,
                    path: last.path.clone(),
                    segment_number: last.number,
                    segment_len: tail.len,
                    next_seq: after(&entry, &last.path)?,
                    head: entry.hash,
                    records_since_checkpoint: tail.records_since_checkpoint,
                    // A tail recovered unsigned is signed one `checkpoint_max_age` from now.
                    last_checkpoint_at: std::time::Instant::now(),
                    key,
                    limits,
                    unsynced_since: None,
                    summary: tail.summary,
                    counters: Default::default(),
                    _lock: lock,
                })
            }
            // The crash came between creating the segment and syncing its anchor: continue from
            // the segment before (or from genesis) and write the anchor again.
            None => {
                let (next_seq, head) = match segments.iter().rev().nth(1) {
                    Some(prev) => {
                        let prev_tail = recover_tail(prev)?;
                        let entry = prev_tail.last.ok_or_else(|| AuditError::Corrupt {
                            path: prev.path.clone(),
                            line: 1,
                            reason: "segment before the last one is empty".to_owned(),
                        })?;
                        (after(&entry, &prev.path)?, entry.hash)
                    }
                    None => (1, GENESIS),
                };
                std::fs::remove_file(&last.path).map_err(|e| AuditError::io(&last.path, e))?;
                Self::start_segment(dir, last.number, next_seq, head, key, limits, lock)
            }
        }
    }

    /// The public key that verifies this chain's checkpoints.
    pub(crate) fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// Appends `records` (plus any checkpoints and segment anchors they bring due), then
    /// `sync_data`s unless the limits say the writer syncs later. Returns one acknowledgement per
    /// record, in order. `buf` is scratch space the caller keeps from batch to batch, so that
    /// its capacity is reused rather than grown again each time.
    pub(crate) fn write_batch(
        &mut self,
        records: Vec<AuditRecord>,
        buf: &mut Vec<u8>,
    ) -> Result<Vec<Acknowledged>, AuditError> {
        if !records.is_empty() {
            self.counters.batch(records.len());
        }
        let mut acks = Vec::with_capacity(records.len());
        buf.clear();
        for record in records {
            if self.segment_len + buf.len() as u64 >= self.limits.segment_max_bytes {
                self.flush(buf, true)?;
                self.roll()?;
            }
            let (seq, hash) = self.push_record(buf, &record)?;
            acks.push(Acknowledged { seq, hash });
            self.records_since_checkpoint += 1;
            if self.records_since_checkpoint >= self.limits.checkpoint_interval {
                self.push_checkpoint(buf, CheckpointReason::Interval)?;
            }
        }
        if self.checkpoint_due() {
            self.push_checkpoint(buf, CheckpointReason::Interval)?;
        }
        self.flush(buf, self.limits.sync_each_batch)?;
        Ok(acks)
    }

    /// Whether records written have waited `checkpoint_max_age` for a signature: until one is
    /// written, they could be rewritten (with hashes recomputed) and nothing would tell, so the
    /// wait is bounded in time as well as in records — one record an hour must not stay
    /// unsigned for 999 hours.
    pub(crate) fn checkpoint_due(&self) -> bool {
        self.records_since_checkpoint > 0
            && self.last_checkpoint_at.elapsed() >= self.limits.checkpoint_max_age
    }

    /// When the oldest write still waiting for its `sync_data` was made.
    pub(crate) fn unsynced_since(&self) -> Option<std::time::Instant> {
        self.unsynced_since
    }

    /// Whether `records` more could bring the segment to its size limit, so that writing them
    /// may roll it (a `sync_data`, an index, a new file: work for the blocking pool). Records
    /// are far below `ROOM_PER_RECORD` in practice; one above it only makes a roll happen
    /// where it was not foreseen.
    pub(crate) fn may_roll(&self, records: usize) -> bool {
        const ROOM_PER_RECORD: u64 = 16 * 1024;
        // A checkpoint may come due too.
        let room = (records as u64 + 1).saturating_mul(ROOM_PER_RECORD);
        self.segment_len.saturating_add(room) >= self.limits.segment_max_bytes
    }

    /// Hands over the `sync_data` of what is written so far, to run elsewhere: the current
    /// segment's file (a second descriptor of it) and where to count the sync. `None` when
    /// everything written is synced. The writer counts the data as synced from here on; a
    /// failure of the job is the writer's to act on.
    pub(crate) fn take_sync_job(&mut self) -> Result<Option<SyncJob>, AuditError> {
        if self.unsynced_since.is_none() {
            return Ok(None);
        }
        let file = self
            .file
            .try_clone()
            .map_err(|e| AuditError::io(&self.path, e))?;
        self.unsynced_since = None;
        Ok(Some(SyncJob {
            file,
            path: self.path.clone(),
            counters: self.counters.clone(),
        }))
    }

    /// `sync_data`s what was written and not yet synced.
    pub(crate) fn sync(&mut self) -> Result<(), AuditError> {
        if self.unsynced_since.is_some() {
            let started = std::time::Instant::now();
            self.file
                .sync_data()
                .map_err(|e| AuditError::io(&self.path, e))?;
            self.counters.sync(started.elapsed());
            self.unsynced_since = None;
        }
        Ok(())
    }

    /// Writes a closing checkpoint (unless the chain already ends in one) and syncs.
    pub(crate) fn close(&mut self) -> Result<(), AuditError> {
        if self.records_since_checkpoint > 0 {
            let mut buf = Vec::new();
            self.push_checkpoint(&mut buf, CheckpointReason::Close)?;
            self.flush(&mut buf, true)?;
        }
        self.sync()
    }

    fn push_record(
        &mut self,
        buf: &mut Vec<u8>,
        record: &AuditRecord,
    ) -> Result<(u64, Digest), AuditError> {
        let seq = self.next_seq;
        // Where the line will start in the segment: after what is written and what is pending.
        let offset = self.segment_len + buf.len() as u64;
        let hash = StoredEntry::append_record_line(buf, seq, &self.head, record)?;
        self.summary.add(record, offset);
        Ok(self.advance(seq, hash))
    }

    fn push_checkpoint_entry(
        &mut self,
        buf: &mut Vec<u8>,
        checkpoint: Checkpoint,
    ) -> Result<(u64, Digest), AuditError> {
        let seq = self.next_seq;
        let body = Body::Checkpoint(checkpoint);
        let hash = StoredEntry::append_line(buf, seq, &self.head, &body)?;
        Ok(self.advance(seq, hash))
    }

    /// The entry `seq` with `hash` is the chain's new head.
    fn advance(&mut self, seq: u64, hash: Digest) -> (u64, Digest) {
        self.next_seq += 1;
        self.head = hash;
        (seq, hash)
    }

    fn push_checkpoint(
        &mut self,
        buf: &mut Vec<u8>,
        reason: CheckpointReason,
    ) -> Result<(), AuditError> {
        let cp = Checkpoint::sign(self.next_seq, self.head, reason, &self.key)?;
        self.push_checkpoint_entry(buf, cp)?;
        self.records_since_checkpoint = 0;
        self.last_checkpoint_at = std::time::Instant::now();
        Ok(())
    }

    /// Writes `buf`, then `sync_data`s everything written so far if `sync`.
    fn flush(&mut self, buf: &mut Vec<u8>, sync: bool) -> Result<(), AuditError> {
        if buf.is_empty() {
            return Ok(());
        }
        // One write and one sync_data per batch: the fsync is the cost, shared by the batch.
        self.file
            .write_all(buf)
            .map_err(|e| AuditError::io(&self.path, e))?;
        self.segment_len += buf.len() as u64;
        buf.clear();
        self.unsynced_since
            .get_or_insert_with(std::time::Instant::now);
        if sync {
            self.sync()?;
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<(), AuditError> {
        // The segment being closed is complete on disk before the next one starts: synced here
        // even when a background sync (under `write`) has taken what was unsynced, as that one
        // may still be running.
        self.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.path, e))?;
        self.unsynced_since = None;
        self.summary.seal();
        // The index is derived data that only speeds searches up: failing to write it must
        // not stop the audit trail (a search scans a segment without one).
        let _ = index::write(&self.path, self.segment_len, &self.summary);
        let next = Self::start_segment(
            &self.dir,
            self.segment_number + 1,
            self.next_seq,
            self.head,
            self.key.clone(),
            self.limits,
            self._lock.clone(),
        )?;
        // The counters live on across segments (an `Arc` the log's handle also holds).
        let counters = std::mem::take(&mut self.counters);
        *self = next;
        self.counters = counters;
        Ok(())
    }

    /// Creates segment `number` whose first line is a `SegmentStart` checkpoint over the head.
    fn start_segment(
        dir: &Path,
        number: u64,
        next_seq: u64,
        head: Digest,
        key: SigningKey,
        limits: ChainLimits,
        lock: std::sync::Arc<File>,
    ) -> Result<Self, AuditError> {
        let path = dir.join(segment::file_name(number));
        let mut options = OpenOptions::new();
        options.append(true).create_new(true);
        // Who read whose data is itself sensitive: readable by the gateway's user only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| AuditError::io(&path, e))?;
        segment::sync_dir(dir)?;
        let mut writer = ChainWriter {
            dir: dir.to_owned(),
            file,
            path,
            segment_number: number,
            segment_len: 0,
            next_seq,
            head,
            records_since_checkpoint: 0,
            last_checkpoint_at: std::time::Instant::now(),
            key,
            limits,
            unsynced_since: None,
            summary: SegmentSummary::default(),
            counters: Default::default(),
            _lock: lock,
        };
        let mut buf = Vec::new();
        writer.push_checkpoint(&mut buf, CheckpointReason::SegmentStart)?;
        writer.flush(&mut buf, true)?;
        Ok(writer)
    }
}

/// A `sync_data` of a segment, taken out of the writer to run on another thread.
pub(crate) struct SyncJob {
    file: File,
    path: PathBuf,
    counters: std::sync::Arc<Counters>,
}

impl SyncJob {
    /// Syncs the segment (everything written to it before the job was taken, and perhaps more).
    pub(crate) fn run(self) -> Result<(), AuditError> {
        let started = std::time::Instant::now();
        self.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.path, e))?;
        self.counters.sync(started.elapsed());
        Ok(())
    }
}

/// A crash leaves at most a torn last line (no newline). Complete lines that do not read at the
/// end of the log are something else — a power cut's stray blocks, bit rot, or tampering — and
/// are cut all the same, so that the chain can go on; but not lost: they are kept beside the
/// segment (`segment-N.jsonl.cut-<unix seconds>`, which no reader takes for a segment) for an
/// operator to look at.
fn keep_cut_lines(seg: &Segment, cut: &[u8]) -> Result<(), AuditError> {
    if !cut.contains(&b'\n') {
        return Ok(());
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = seg.path.as_os_str().to_owned();
    name.push(format!(".cut-{secs}"));
    let kept = PathBuf::from(name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&kept)
        .and_then(|mut file| {
            file.write_all(cut)?;
            file.sync_all()
        })
        .map_err(|e| AuditError::io(&kept, e))?;
    if let Some(dir) = seg.path.parent() {
        segment::sync_dir(dir)?;
    }
    Ok(())
}

struct Tail {
    last: Option<StoredEntry>,
    len: u64,
    records_since_checkpoint: u64,
    summary: SegmentSummary,
}

/// Reads a segment, truncates a torn tail, and returns its last complete entry.
///
/// Only the tail may be damaged: a crash interrupts the last write, never one before it. A bad
/// line followed by a good one is corruption, and opening refuses it rather than guess.
fn recover_tail(seg: &Segment) -> Result<Tail, AuditError> {
    let (bytes, lines) = segment::read_lines(&seg.path)?;
    let mut last: Option<StoredEntry> = None;
    let mut valid_end = 0usize;
    let mut torn_at: Option<usize> = None;
    let mut records_since_checkpoint = 0;
    let mut summary = SegmentSummary::default();
    for line in &lines {
        let parsed = line
            .complete
            .then(|| serde_json::from_slice::<StoredEntry>(&bytes[line.range.clone()]).ok())
            .flatten();
        match parsed {
            Some(entry) => {
                if let Some(torn) = torn_at {
                    return Err(AuditError::Corrupt {
                        path: seg.path.clone(),
                        line: torn,
                        reason: "unreadable entry before the tail".to_owned(),
                    });
                }
                if entry.computed_hash()? != entry.hash {
                    return Err(AuditError::Corrupt {
                        path: seg.path.clone(),
                        line: line.number,
                        reason: "entry hash does not match its content".to_owned(),
                    });
                }
                match &entry.body {
                    Body::Record(record) => {
                        records_since_checkpoint += 1;
                        let offset = line.range.start as u64;
                        summary.add(record, offset);
                    }
                    Body::Checkpoint(_) => records_since_checkpoint = 0,
                }
                valid_end = line.range.end + 1;
                last = Some(entry);
            }
            None => {
                torn_at.get_or_insert(line.number);
            }
        }
    }
    if valid_end < bytes.len() {
        keep_cut_lines(seg, &bytes[valid_end..])?;
        let file = OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .map_err(|e| AuditError::io(&seg.path, e))?;
        file.set_len(valid_end as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| AuditError::io(&seg.path, e))?;
    }
    Ok(Tail {
        last,
        len: valid_end as u64,
        records_since_checkpoint,
        summary,
    })
}
