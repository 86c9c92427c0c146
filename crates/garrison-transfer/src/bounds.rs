//! Who may write what now, and how much: each upload's lock (one write session, or one
//! deletion, at a time), the write sessions open per sender and in all, and the unfinished
//! uploads per sender. Touched once per session or upload, never per byte.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use crate::TransferError;

/// Most write sessions one sender may have open at once: each holds a segment's buffer
/// (1 MiB) for as long as its body keeps arriving, however slowly.
pub const MAX_SESSIONS_PER_SENDER: usize = 8;

/// Most write sessions open at once in one service, whoever sends.
pub const MAX_SESSIONS: usize = 64;

/// Most unfinished (created, not yet complete) uploads one sender may have: each is a record
/// and a directory on disk until it completes, is terminated or expires.
pub const MAX_UNFINISHED_PER_SENDER: usize = 100;

/// The bounds of one service.
#[derive(Default)]
pub(crate) struct Bounds {
    writing: Mutex<Writing>,
    /// Unfinished uploads by sender; `None` until the first creation counts them on disk.
    unfinished: Mutex<Option<HashMap<String, usize>>>,
}

/// What is being written now.
#[derive(Default)]
struct Writing {
    /// Uploads with a write session or a deletion in progress: one at a time per upload.
    uploads: HashSet<String>,
    /// Open write sessions by sender.
    senders: HashMap<String, usize>,
    /// Open write sessions in all.
    sessions: usize,
}

impl Bounds {
    /// Takes upload `id`'s lock — held by a write session, or by a deletion — or says it is
    /// taken (423).
    pub(crate) fn take(&self, id: &str) -> Result<(), TransferError> {
        let mut writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        if writing.uploads.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(TransferError::Locked)
        }
    }

    /// Lets go of upload `id`'s lock.
    pub(crate) fn release(&self, id: &str) {
        self.writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .uploads
            .remove(id);
    }

    /// Upload `id`'s lock until the returned guard is dropped.
    pub(crate) fn hold<'a>(&'a self, id: &'a str) -> Result<Held<'a>, TransferError> {
        self.take(id)?;
        Ok(Held { bounds: self, id })
    }

    /// Counts a write session of `sender`, or says the sender (or the service) has as many
    /// open as it may: slow bodies must not hold every buffer the service can give.
    pub(crate) fn admit(&self, sender: &str) -> Result<(), TransferError> {
        let mut writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let open = writing.senders.get(sender).copied().unwrap_or(0);
        if open >= MAX_SESSIONS_PER_SENDER || writing.sessions >= MAX_SESSIONS {
            return Err(TransferError::Busy);
        }
        writing.senders.insert(sender.to_owned(), open + 1);
        writing.sessions += 1;
        Ok(())
    }

    /// A write session of `sender` ended.
    pub(crate) fn discharge(&self, sender: &str) {
        let mut writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        writing.sessions = writing.sessions.saturating_sub(1);
        if let Some(open) = writing.senders.get_mut(sender) {
            *open -= 1;
            if *open == 0 {
                writing.senders.remove(sender);
            }
        }
    }

    /// Counts one more unfinished upload of `sender`, or says it has as many as it may. The
    /// first call counts the uploads on disk with `on_disk`.
    pub(crate) fn count_unfinished(
        &self,
        sender: &str,
        on_disk: impl FnOnce() -> Result<HashMap<String, usize>, TransferError>,
    ) -> Result<(), TransferError> {
        let mut unfinished = self
            .unfinished
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if unfinished.is_none() {
            *unfinished = Some(on_disk()?);
        }
        let counts = unfinished.get_or_insert_default();
        let count = counts.entry(sender.to_owned()).or_insert(0);
        if *count >= MAX_UNFINISHED_PER_SENDER {
            return Err(TransferError::TooManyUnfinished);
        }
        *count += 1;
        Ok(())
    }

    /// One unfinished upload of `sender` completed, or is gone.
    pub(crate) fn finished(&self, sender: &str) {
        let mut unfinished = self
            .unfinished
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = unfinished.as_mut().and_then(|c| c.get_mut(sender)) {
            *count = count.saturating_sub(1);
        }
    }
}

/// Upload `id`'s lock, held by a deletion (a session's is `writer::WriteLock`).
pub(crate) struct Held<'a> {
    bounds: &'a Bounds,
    id: &'a str,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.bounds.release(self.id);
    }
}
