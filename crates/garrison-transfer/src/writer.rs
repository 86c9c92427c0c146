//! One write session of an upload (one `PATCH`, or the body of a creation-with-upload): bytes
//! are gathered into a segment, sealed and stored when it is full, and the offset recorded
//! only once the segment is durable — so `Upload-Offset` never reports a byte a crash could
//! lose.

use std::sync::Arc;

use ring::digest;

use crate::crypto::{DataKey, SEGMENT_SIZE};
use crate::store::FileId;
use crate::tus::{ChecksumAlgorithm, TusError, UploadChecksum};
use crate::{FileRecord, TransferError, Transfers};

/// Segments stored between two records of the offset while a body streams: each record costs
/// two syncs, so the offset moves every 8 MiB (and whenever a body ends or breaks off). A
/// crash loses at most that much progress the client was never told about.
const COMMIT_EVERY: u64 = 8;

/// Releases the upload's write lock when the session ends, however it ends.
pub(crate) struct WriteLock {
    pub(crate) transfers: Arc<Transfers>,
    pub(crate) id: String,
    /// Whose session it is, once counted against the sender's sessions.
    pub(crate) sender: Option<String>,
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            self.transfers.bounds.discharge(sender);
        }
        self.transfers.bounds.release(&self.id);
    }
}

/// What a write session starts from (see [`Transfers::begin`]).
pub(crate) struct SessionStart {
    pub(crate) record: FileRecord,
    pub(crate) key: DataKey,
    /// The stored part of the segment the session starts in.
    pub(crate) prefix: Vec<u8>,
    pub(crate) commit_as_it_goes: bool,
    pub(crate) running: Option<digest::Context>,
    /// When the upload expires: the session takes nothing after it (`None`: never, as far
    /// as the clock can tell).
    pub(crate) deadline: Option<std::time::Instant>,
}

/// An open write session. Holds at most one segment of plaintext in memory.
pub struct UploadWriter {
    transfers: Arc<Transfers>,
    _lock: WriteLock,
    id: FileId,
    record: FileRecord,
    key: DataKey,
    /// Plaintext of the current segment: what was already stored of it, then new bytes.
    buffer: Vec<u8>,
    /// Index of the segment in `buffer`.
    index: u64,
    /// File offset of the end of `buffer`.
    written: u64,
    /// Whether `buffer` holds bytes not yet stored.
    dirty: bool,
    commit_as_it_goes: bool,
    /// The digest of this session's body, when it carries `Upload-Checksum`.
    hasher: Option<digest::Context>,
    /// SHA-256 of the whole content up to `written`, when known (see `Transfers::running`).
    running: Option<digest::Context>,
    /// When the upload expires (see [`SessionStart::deadline`]).
    pub(crate) deadline: Option<std::time::Instant>,
}

impl std::fmt::Debug for UploadWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadWriter")
            .field("id", &self.id)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl UploadWriter {
    pub(crate) fn new(
        transfers: Arc<Transfers>,
        lock: WriteLock,
        id: FileId,
        start: SessionStart,
    ) -> UploadWriter {
        let SessionStart {
            record,
            key,
            mut prefix,
            commit_as_it_goes,
            running,
            deadline,
        } = start;
        prefix.reserve_exact(SEGMENT_SIZE - prefix.len());
        UploadWriter {
            transfers,
            _lock: lock,
            id,
            index: record.offset / SEGMENT_SIZE as u64,
            written: record.offset,
            record,
            key,
            buffer: prefix,
            dirty: false,
            commit_as_it_goes,
            hasher: None,
            running,
            deadline,
        }
    }

    /// Checks the body against `checksum` when the session finishes.
    pub fn expect_checksum(&mut self, checksum: &UploadChecksum) {
        self.hasher = Some(digest::Context::new(match checksum.algorithm {
            ChecksumAlgorithm::Sha256 => &digest::SHA256,
            ChecksumAlgorithm::Sha512 => &digest::SHA512,
        }));
    }

    /// The record as it stands (offset = bytes durably stored).
    pub fn record(&self) -> &FileRecord {
        &self.record
    }

    /// Bytes received in this session and before (stored or not).
    pub fn received(&self) -> u64 {
        self.written
    }

    /// Whether `n` more bytes can be taken without storing a segment (no I/O, so no need for
    /// a blocking thread).
    pub fn fits(&self, n: usize) -> bool {
        self.buffer.len() + n < SEGMENT_SIZE
    }

    /// Takes `data`, storing each segment it fills. Refuses bytes past the upload's length
    /// (413), and any once the upload has expired (410: its session would otherwise go on as
    /// long as its body trickled in, past the sweep that deletes it).
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), TransferError> {
        if self
            .deadline
            .is_some_and(|deadline| std::time::Instant::now() >= deadline)
        {
            return Err(TransferError::Gone);
        }
        if self.written + data.len() as u64 > self.record.length {
            return Err(TusError::TooLarge {
                max: self.record.length,
            }
            .into());
        }
        if let Some(h) = &mut self.hasher {
            h.update(data);
        }
        while !data.is_empty() {
            let take = (SEGMENT_SIZE - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            // The file's running digest covers exactly the bytes taken: a segment failing to
            // store below leaves the rest of `data` untaken, and the digest must not cover it.
            if let Some(running) = &mut self.running {
                running.update(&data[..take]);
            }
            self.written += take as u64;
            self.dirty = true;
            data = &data[take..];
            if self.buffer.len() == SEGMENT_SIZE {
                self.store_segment()?;
                if self.commit_as_it_goes && (self.index + 1).is_multiple_of(COMMIT_EVERY) {
                    self.commit()?;
                }
                self.buffer.clear();
                self.index += 1;
            }
        }
        Ok(())
    }

    fn store_segment(&mut self) -> Result<(), TransferError> {
        if !self.dirty {
            return Ok(());
        }
        let sealed = self.key.seal_segment(
            self.id.as_str(),
            self.index,
            self.record.generation,
            &self.buffer,
        )?;
        self.transfers
            .store
            .put_segment(&self.id, self.index, &sealed)?;
        self.dirty = false;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), TransferError> {
        if self.record.offset != self.written {
            self.record.offset = self.written;
            self.transfers.save(&self.record)?;
        }
        Ok(())
    }

    /// Ends the session after the whole body arrived: checks the checksum (460, and nothing of
    /// this body counts), stores the partial segment, records the offset, and — when the
    /// upload is complete — verifies every stored segment, records the file's SHA-256 and
    /// delivers it to its inbox, kept until `now + retention`.
    pub fn finish(
        mut self,
        checksum: Option<&UploadChecksum>,
        now: u64,
        retention: u64,
    ) -> Result<FileRecord, TransferError> {
        if let Some(expected) = checksum {
            let actual = match self.hasher.take() {
                None => Vec::new(),
                Some(h) => h.finish().as_ref().to_vec(),
            };
            if actual != expected.digest {
                // The running digest has taken bytes that do not count: it is dropped (and a
                // later completion reads the file back).
                return Err(TusError::ChecksumMismatch.into());
            }
        }
        self.store_segment()?;
        self.commit()?;
        if self.record.offset == self.record.length && !self.record.is_complete() {
            let digest = match self.running.take() {
                Some(running) => {
                    let mut out = [0u8; 32];
                    out.copy_from_slice(running.finish().as_ref());
                    out
                }
                // Resumed after a restart: read back (and verify) every segment.
                None => self
                    .transfers
                    .digest(&self.id, &self.key, self.record.length)?,
            };
            use base64::Engine as _;
            self.record.sha256 = Some(base64::engine::general_purpose::STANDARD.encode(digest));
            self.record.completed = Some(now);
            self.record.expires = now.saturating_add(retention);
            self.transfers.save(&self.record)?;
            self.transfers.bounds.finished(&self.record.sender);
        } else if let Some(running) = self.running.take() {
            self.transfers
                .keep_running(&self.record.id, self.record.offset, running);
        }
        Ok(self.record.clone())
    }

    /// Ends the session after the body failed (the client went away, or stalled): without a
    /// checksum, what arrived is kept, so the client resumes from there; with one, nothing
    /// of this body is kept, as it cannot be verified.
    pub fn interrupted(mut self) -> Result<FileRecord, TransferError> {
        if self.commit_as_it_goes && self.hasher.is_none() {
            self.store_segment()?;
            self.commit()?;
            if let Some(running) = self.running.take() {
                self.transfers
                    .keep_running(&self.record.id, self.record.offset, running);
            }
        }
        Ok(self.record.clone())
    }
}
