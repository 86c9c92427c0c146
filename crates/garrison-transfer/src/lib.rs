//! Garrison's secure file transfer: the rules of the tus 1.0.0 resumable upload protocol
//! ([`tus`]), envelope encryption in fixed-size authenticated segments ([`crypto`]), a storage
//! trait with its embedded local implementation ([`store`]), and [`Transfers`], which ties
//! them into uploads that resume, inboxes that deliver, and deletion that cannot be undone.
//!
//! This crate knows nothing about HTTP servers, configuration files or the audit trail: the
//! gateway decides who may do what and records it; this crate stores, encrypts and verifies.
//! Every method does blocking I/O: call it from a blocking thread.

mod bounds;
pub mod crypto;
pub mod store;
pub mod tus;
mod writer;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use bounds::Bounds;
pub use bounds::{MAX_SESSIONS, MAX_SESSIONS_PER_SENDER, MAX_UNFINISHED_PER_SENDER};
pub use crypto::{CryptoError, DataKey, MasterKeys, SEGMENT_SIZE, WrappedKey};
pub use store::{FileId, LocalStore, TransferStore};
pub use writer::UploadWriter;

/// Why a transfer operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// No such file (or never was, or deleted).
    #[error("no such upload or file")]
    NotFound,
    /// The upload expired before it was completed.
    #[error("the upload expired")]
    Gone,
    /// Another request is writing to this upload right now.
    #[error("another request is writing to this upload")]
    Locked,
    /// The sender, or the service, has as many write sessions open as it may.
    #[error("too many uploads are being written at once; retry shortly")]
    Busy,
    /// The upload was delivered: it is the recipient's file now, not the sender's to terminate.
    #[error("the file was delivered to its inbox")]
    Delivered,
    /// The sender has as many unfinished uploads as it may.
    #[error(
        "at most {MAX_UNFINISHED_PER_SENDER} unfinished uploads per sender: complete or terminate one first"
    )]
    TooManyUnfinished,
    /// The request broke a protocol rule.
    #[error(transparent)]
    Tus(#[from] tus::TusError),
    /// Encryption, decryption or an integrity check failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A stored record could not be read back.
    #[error("stored record of {id} is unreadable: {message}")]
    Corrupt {
        /// The file.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error("transfer store: {0}")]
    Io(#[from] io::Error),
}

/// What is known of a file, stored as its record. Holds no plaintext: the data key is wrapped
/// and the client's metadata sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The file id.
    pub id: String,
    /// The consumer that uploaded it.
    pub sender: String,
    /// The inbox it is addressed to.
    pub recipient: String,
    /// Its document type (one of the route's list).
    pub document_type: String,
    /// Its length in bytes, declared at creation.
    pub length: u64,
    /// Bytes durably stored.
    pub offset: u64,
    /// The write generation: raised before every write session (see [`crypto`]).
    pub generation: u32,
    /// Created at (seconds since the Unix epoch).
    pub created: u64,
    /// When it is deleted: the upload's expiry while incomplete, the end of its retention once
    /// delivered, the end of the grace period once acknowledged.
    pub expires: u64,
    /// Completed (delivered to the inbox) at.
    pub completed: Option<u64>,
    /// SHA-256 of the whole plaintext (base64), once completed.
    pub sha256: Option<String>,
    /// Acknowledged by the recipient at.
    pub acknowledged: Option<u64>,
    /// The file's data key, wrapped.
    pub key: WrappedKey,
    /// The client's `Upload-Metadata`, sealed under the data key.
    pub metadata: String,
}

impl FileRecord {
    /// Whether the file is in its inbox (complete).
    pub fn is_complete(&self) -> bool {
        self.completed.is_some()
    }
}

/// What a new upload declares.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// The consumer uploading.
    pub sender: String,
    /// The inbox it is for.
    pub recipient: String,
    /// Its document type.
    pub document_type: String,
    /// Its length.
    pub length: u64,
    /// The client's metadata, to be sealed.
    pub metadata: tus::Metadata,
    /// Now (seconds since the Unix epoch).
    pub now: u64,
    /// When the upload expires if not completed.
    pub expires: u64,
}

/// Why a file was deleted by [`Transfers::sweep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deletion {
    /// An incomplete upload passed its expiry.
    Expired,
    /// A delivered file was never acknowledged and its retention ended.
    RetentionEnded,
    /// An acknowledged file's grace period ended.
    Acknowledged,
}

impl Deletion {
    /// A short stable name for records and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Deletion::Expired => "expired",
            Deletion::RetentionEnded => "retention_ended",
            Deletion::Acknowledged => "acknowledged",
        }
    }
}

/// Uploads, inboxes and their encrypted storage.
pub struct Transfers {
    store: Arc<dyn TransferStore>,
    keys: Arc<MasterKeys>,
    /// Who may write what now, and how much.
    pub(crate) bounds: Bounds,
    /// For uploads in progress in this process: the SHA-256 of their content so far, and the
    /// offset it covers, so that completion need not read the file back. Lost on a restart
    /// (completion then reads every segment back).
    running: Mutex<std::collections::HashMap<String, (u64, ring::digest::Context)>>,
}

impl std::fmt::Debug for Transfers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transfers")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Transfers {
    /// Transfers kept in `store`, encrypted under `keys`.
    pub fn new(store: Arc<dyn TransferStore>, keys: Arc<MasterKeys>) -> Transfers {
        Transfers {
            store,
            keys,
            bounds: Bounds::default(),
            running: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Creates an upload: a new data key, wrapped; the metadata, sealed; the record, durable.
    /// At most [`MAX_UNFINISHED_PER_SENDER`] unfinished uploads per sender.
    pub fn create(&self, new: NewUpload) -> Result<FileRecord, TransferError> {
        let sender = new.sender.clone();
        self.bounds
            .count_unfinished(&sender, || self.unfinished_on_disk())?;
        let created = self.store_new(new);
        if created.is_err() {
            self.bounds.finished(&sender);
        }
        created
    }

    fn store_new(&self, new: NewUpload) -> Result<FileRecord, TransferError> {
        let id = FileId::generate()?;
        let key = DataKey::generate()?;
        // Values are kept as the client sent them (base64 of arbitrary bytes), so that `HEAD`
        // can give them back exactly.
        use base64::Engine as _;
        let metadata: std::collections::BTreeMap<&str, String> = new
            .metadata
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    base64::engine::general_purpose::STANDARD.encode(v),
                )
            })
            .collect();
        let metadata = serde_json::to_vec(&metadata).map_err(io::Error::other)?;
        let record = FileRecord {
            id: id.to_string(),
            sender: new.sender,
            recipient: new.recipient,
            document_type: new.document_type,
            length: new.length,
            offset: 0,
            generation: 0,
            created: new.now,
            expires: new.expires,
            completed: None,
            sha256: None,
            acknowledged: None,
            key: self.keys.wrap(id.as_str(), &key)?,
            metadata: key.seal_metadata(id.as_str(), &metadata)?,
        };
        self.save(&record)?;
        Ok(record)
    }

    /// The record of file `id`.
    pub fn record(&self, id: &FileId) -> Result<FileRecord, TransferError> {
        let bytes = self.store.get_record(id)?.ok_or(TransferError::NotFound)?;
        serde_json::from_slice(&bytes).map_err(|e| TransferError::Corrupt {
            id: id.to_string(),
            message: e.to_string(),
        })
    }

    /// The record of an upload still open to writes at `now`: 404 if unknown, 410 if expired.
    pub fn upload(&self, id: &FileId, now: u64) -> Result<FileRecord, TransferError> {
        let record = self.record(id)?;
        if !record.is_complete() && record.expires <= now {
            return Err(TransferError::Gone);
        }
        Ok(record)
    }

    fn save(&self, record: &FileRecord) -> Result<(), TransferError> {
        let bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let id = FileId::parse(&record.id).ok_or(TransferError::NotFound)?;
        self.store.put_record(&id, &bytes)?;
        Ok(())
    }

    /// The client's metadata of a file, unsealed.
    pub fn metadata(&self, record: &FileRecord) -> Result<tus::Metadata, TransferError> {
        use base64::Engine as _;
        let corrupt = |message: String| TransferError::Corrupt {
            id: record.id.clone(),
            message,
        };
        let key = self.keys.unwrap(&record.id, &record.key)?;
        let bytes = key.open_metadata(&record.id, &record.metadata)?;
        let encoded: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        encoded
            .into_iter()
            .map(|(k, v)| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map(|v| (k, v))
                    .map_err(|e| corrupt(e.to_string()))
            })
            .collect()
    }

    /// Opens a write session at `offset` — the client's `Upload-Offset` — once the upload's
    /// lock is taken: raises and stores the generation first, so nothing written in this
    /// session reuses a nonce. The offset is checked again under the lock, since a session
    /// ending meanwhile may have moved it (a retry sent while the broken request was still
    /// storing its last bytes would otherwise write its bytes at the wrong place).
    /// `commit_as_it_goes` is false when the body carries a checksum: its bytes count only
    /// once the whole body is verified.
    pub fn begin(
        self: &Arc<Self>,
        id: &FileId,
        offset: u64,
        now: u64,
        commit_as_it_goes: bool,
    ) -> Result<UploadWriter, TransferError> {
        self.bounds.take(id.as_str())?;
        let mut guard = writer::WriteLock {
            transfers: self.clone(),
            id: id.to_string(),
            sender: None,
        };
        let mut record = self.upload(id, now)?;
        if record.is_complete() {
            // Delivered: not a byte more (and its retention is not restarted).
            return Err(tus::TusError::TooLarge { max: record.length }.into());
        }
        if record.offset != offset {
            return Err(tus::TusError::OffsetConflict {
                sent: offset,
                actual: record.offset,
            }
            .into());
        }
        self.bounds.admit(&record.sender)?;
        guard.sender = Some(record.sender.clone());
        // The session may not outlive the upload: a body trickling in must stop at expiry.
        // (`None`: further off than the clock can count.)
        let deadline = std::time::Instant::now().checked_add(std::time::Duration::from_secs(
            record.expires.saturating_sub(now),
        ));
        let key = self.keys.unwrap(&record.id, &record.key)?;
        record.generation = record
            .generation
            .checked_add(1)
            .ok_or_else(|| io::Error::other("write generations exhausted"))?;
        self.save(&record)?;
        // The partial last segment, re-read so the session rewrites it whole.
        let within = (record.offset % SEGMENT_SIZE as u64) as usize;
        let prefix = if within == 0 {
            Vec::new()
        } else {
            let index = record.offset / SEGMENT_SIZE as u64;
            let mut plain = self.read_segment(id, &key, index)?;
            if plain.len() < within {
                return Err(CryptoError::Integrity.into());
            }
            plain.truncate(within);
            plain
        };
        let running = if record.offset == 0 {
            Some(ring::digest::Context::new(&ring::digest::SHA256))
        } else {
            self.running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&record.id)
                .filter(|(covered, _)| *covered == record.offset)
                .map(|(_, context)| context)
        };
        Ok(UploadWriter::new(
            self.clone(),
            guard,
            id.clone(),
            writer::SessionStart {
                record,
                key,
                prefix,
                commit_as_it_goes,
                running,
                deadline,
            },
        ))
    }

    /// Keeps the running digest of an upload whose content up to `offset` it covers.
    fn keep_running(&self, id: &str, offset: u64, context: ring::digest::Context) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), (offset, context));
    }

    fn forget_running(&self, id: &str) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    fn read_segment(
        &self,
        id: &FileId,
        key: &DataKey,
        index: u64,
    ) -> Result<Vec<u8>, TransferError> {
        let sealed = self
            .store
            .get_segment(id, index)?
            .ok_or(CryptoError::Integrity)?;
        Ok(key.open_segment(id.as_str(), index, sealed)?)
    }

    /// Opens a completed file for reading.
    pub fn reader(&self, id: &FileId) -> Result<FileReader, TransferError> {
        let record = self.record(id)?;
        if !record.is_complete() {
            return Err(TransferError::NotFound);
        }
        let key = self.keys.unwrap(&record.id, &record.key)?;
        Ok(FileReader {
            store: self.store.clone(),
            id: id.clone(),
            length: record.length,
            record,
            key,
        })
    }

    /// The SHA-256 of the stored plaintext of `record` (every segment read and verified).
    fn digest(&self, id: &FileId, key: &DataKey, length: u64) -> Result<[u8; 32], TransferError> {
        // ring's SHA-256: assembly, fast in every build profile.
        let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
        let segments = length.div_ceil(SEGMENT_SIZE as u64);
        let mut total = 0u64;
        for index in 0..segments {
            let plain = self.read_segment(id, key, index)?;
            let want = (length - index * SEGMENT_SIZE as u64).min(SEGMENT_SIZE as u64) as usize;
            if plain.len() < want {
                return Err(CryptoError::Integrity.into());
            }
            hasher.update(&plain[..want]);
            total += want as u64;
        }
        debug_assert_eq!(total, length);
        let digest = hasher.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Ok(out)
    }

    /// The completed files of inbox `recipient`, oldest first.
    pub fn inbox(&self, recipient: &str) -> Result<Vec<FileRecord>, TransferError> {
        let mut out = Vec::new();
        for id in self.store.list()? {
            match self.record(&id) {
                Ok(r) if r.is_complete() && r.recipient == recipient => out.push(r),
                Ok(_) | Err(TransferError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| (a.completed, &a.id).cmp(&(b.completed, &b.id)));
        Ok(out)
    }

    /// Records the recipient's acknowledgement: the file is deleted `delete_after` seconds
    /// later. Acknowledging twice keeps the first time.
    pub fn acknowledge(
        &self,
        id: &FileId,
        now: u64,
        delete_after: u64,
    ) -> Result<FileRecord, TransferError> {
        let mut record = self.record(id)?;
        if !record.is_complete() {
            return Err(TransferError::NotFound);
        }
        if record.acknowledged.is_none() {
            record.acknowledged = Some(now);
            record.expires = now.saturating_add(delete_after);
            self.save(&record)?;
        }
        Ok(record)
    }

    /// Deletes file `id` (termination): the record and its wrapped key first, so the segments
    /// are unreadable from that moment, then the segments. Refused (423) while a session writes
    /// to it, which would otherwise store its record again — the upload back after its
    /// termination — or a segment into the directory being removed.
    /// A delivered file is refused ([`TransferError::Delivered`]) — checked under the hold, as
    /// the upload's last bytes may have completed it since the caller looked.
    pub fn delete(&self, id: &FileId) -> Result<(), TransferError> {
        let _held = self.bounds.hold(id.as_str())?;
        let record = self.record(id)?;
        if record.is_complete() {
            return Err(TransferError::Delivered);
        }
        self.forget_running(id.as_str());
        self.remove_unfinished(id, &record)
    }

    /// Removes the files of `record`, an unfinished upload, and stops counting it once its
    /// record is gone (even when removing its segments then failed).
    fn remove_unfinished(&self, id: &FileId, record: &FileRecord) -> Result<(), TransferError> {
        let removed = self.store.remove(id);
        if removed.is_ok() || matches!(self.store.get_record(id), Ok(None)) {
            self.bounds.finished(&record.sender);
        }
        Ok(removed?)
    }

    /// Unfinished uploads by sender, as the store holds them.
    fn unfinished_on_disk(
        &self,
    ) -> Result<std::collections::HashMap<String, usize>, TransferError> {
        let mut counts = std::collections::HashMap::new();
        for id in self.store.list()? {
            if let Ok(record) = self.record(&id)
                && !record.is_complete()
            {
                *counts.entry(record.sender).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }

    /// Deletes every file whose time is up at `now`, returning what was deleted and why.
    pub fn sweep(&self, now: u64) -> Result<Vec<(FileRecord, Deletion)>, TransferError> {
        self.sweep_recorded(now, |_, _| true)
    }

    /// [`Transfers::sweep`], asking `record` first for each file: one it answers `false` for
    /// (its deletion could not be recorded) is left for the next sweep.
    pub fn sweep_recorded(
        &self,
        now: u64,
        mut record_deletion: impl FnMut(&FileRecord, Deletion) -> bool,
    ) -> Result<Vec<(FileRecord, Deletion)>, TransferError> {
        let mut deleted = Vec::new();
        for id in self.store.list()? {
            match self.record(&id) {
                Ok(record) if record.expires <= now => {}
                _ => continue,
            }
            // An upload being written right now is left to its session; one this sweep
            // deletes is held, so no session begins on it meanwhile, and its record is read
            // again under the hold (a session ending just before may have completed it).
            let Ok(_held) = self.bounds.hold(id.as_str()) else {
                continue;
            };
            let Ok(record) = self.record(&id) else {
                continue;
            };
            if record.expires > now {
                continue;
            }
            let why = match (record.completed, record.acknowledged) {
                (None, _) => Deletion::Expired,
                (Some(_), None) => Deletion::RetentionEnded,
                (Some(_), Some(_)) => Deletion::Acknowledged,
            };
            if !record_deletion(&record, why) {
                continue;
            }
            self.forget_running(&record.id);
            if record.is_complete() {
                self.store.remove(&id)?;
            } else {
                self.remove_unfinished(&id, &record)?;
            }
            deleted.push((record, why));
        }
        Ok(deleted)
    }

    /// Re-wraps every data key not wrapped by the current master key; returns how many. The
    /// segments are not touched: after this, the old master keys can leave the ring.
    pub fn rotate(&self) -> Result<usize, TransferError> {
        let mut rewrapped = 0;
        for id in self.store.list()? {
            let mut record = self.record(&id)?;
            if record.key.master == self.keys.current_id() {
                continue;
            }
            let key = self.keys.unwrap(&record.id, &record.key)?;
            record.key = self.keys.wrap(&record.id, &key)?;
            self.save(&record)?;
            rewrapped += 1;
        }
        Ok(rewrapped)
    }
}

/// A completed file, read segment by segment; every segment is verified before its bytes are
/// returned.
pub struct FileReader {
    store: Arc<dyn TransferStore>,
    id: FileId,
    length: u64,
    record: FileRecord,
    key: DataKey,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader").field("id", &self.id).finish()
    }
}

impl FileReader {
    /// The file's record.
    pub fn record(&self) -> &FileRecord {
        &self.record
    }

    /// The plaintext bytes of the file in `start..end` that lie in segment `index`
    /// (`start..end` must be within the file).
    pub fn read(&self, index: u64, start: u64, end: u64) -> Result<Vec<u8>, TransferError> {
        let sealed = self
            .store
            .get_segment(&self.id, index)?
            .ok_or(CryptoError::Integrity)?;
        let plain = self.key.open_segment(self.id.as_str(), index, sealed)?;
        let base = index * SEGMENT_SIZE as u64;
        let want_len = (self.length - base).min(SEGMENT_SIZE as u64) as usize;
        if plain.len() < want_len {
            return Err(CryptoError::Integrity.into());
        }
        let from = start.max(base) - base;
        let to = end.min(base + SEGMENT_SIZE as u64).saturating_sub(base);
        Ok(plain
            .get(from as usize..to as usize)
            .ok_or(CryptoError::Integrity)?
            .to_vec())
    }
}

#[cfg(test)]
mod tests;
