//! Where transferred files live: a small storage trait that sees only ciphertext and records,
//! and its embedded implementation on the local file system.
//!
//! The trait knows nothing about encryption or the protocol; [`crate::Transfers`] does. Every
//! write is durable when the call returns, so what the gateway reports as stored survives a
//! crash or a restart.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file's id: 32 lower-case hex digits (128 random bits). Checked before it reaches a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(String);

impl FileId {
    /// A new random id.
    pub fn generate() -> Result<FileId, crate::crypto::CryptoError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| crate::crypto::CryptoError::Random(e.to_string()))?;
        Ok(FileId(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Parses an id from a URL; anything but 32 lower-case hex digits is `None`.
    pub fn parse(text: &str) -> Option<FileId> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| FileId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Durable storage of transfer records and sealed segments.
///
/// Every `put_*` must be atomic (a crash during it leaves the previous value or the new one,
/// never a mix). [`TransferStore::put_record`] must be durable when it returns (a crash
/// afterwards loses nothing) *together with every segment put before it*: a record is only
/// written to count segments already put, so segments may become durable lazily, by the next
/// record (the local store saves a directory sync per segment that way).
/// [`TransferStore::remove`] must make the record unreadable first: without the record the
/// wrapped data key is gone, and with it every segment (crypto-shredding).
pub trait TransferStore: Send + Sync + 'static {
    /// Writes (or replaces) the record of file `id`, durably, with every segment put before.
    fn put_record(&self, id: &FileId, record: &[u8]) -> io::Result<()>;
    /// Reads the record of file `id`, `None` if there is none.
    fn get_record(&self, id: &FileId) -> io::Result<Option<Vec<u8>>>;
    /// Every file id with a record.
    fn list(&self) -> io::Result<Vec<FileId>>;
    /// Writes (or replaces) sealed segment `index` of file `id`, atomically; durable at the
    /// latest when the next record of the file is.
    fn put_segment(&self, id: &FileId, index: u64, sealed: &[u8]) -> io::Result<()>;
    /// Reads sealed segment `index` of file `id`, `None` if there is none.
    fn get_segment(&self, id: &FileId, index: u64) -> io::Result<Option<Vec<u8>>>;
    /// Deletes file `id`: the record first (durably), then the segments.
    fn remove(&self, id: &FileId) -> io::Result<()>;
}

// === impl LocalStore ===

/// One directory per file under `<root>/files/`: `record.json` and one `<index>.seg` per
/// segment. Writes go to a temporary file that is fsync'd, renamed over the old one, and the
/// directory fsync'd.
///
/// One process at a time: the store holds an exclusive lock on `<root>/store.lock` while
/// open (clones share it), as two writers — a gateway and `rotate-key`, or two transfer
/// services given one directory — would overwrite each other's records.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Released by the OS when the process dies, so a crash never leaves a stale lock.
    _lock: std::sync::Arc<fs::File>,
}

const RECORD: &str = "record.json";
const LOCK: &str = "store.lock";

/// Takes the store's lock, or says who may hold it.
fn lock(root: &Path) -> io::Result<fs::File> {
    let path = root.join(LOCK);
    let mut options = fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!(
                "{} is locked: the store is open elsewhere (a running gateway, or another \
                 transfer service given the same directory)",
                path.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

impl LocalStore {
    /// Opens (creating it if needed) the store at `root`. The directories are created
    /// readable by their owner only.
    pub fn open(root: &Path) -> io::Result<LocalStore> {
        let files = root.join("files");
        create_private_dir(root)?;
        create_private_dir(&files)?;
        let lock = lock(root)?;
        Ok(LocalStore {
            root: root.to_owned(),
            _lock: std::sync::Arc::new(lock),
        })
    }

    fn dir(&self, id: &FileId) -> PathBuf {
        self.root.join("files").join(id.as_str())
    }

    /// The path of sealed segment `index` of `id` (tests read and tamper with it).
    pub fn segment_path(&self, id: &FileId, index: u64) -> PathBuf {
        self.dir(id).join(format!("{index:016x}.seg"))
    }
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Writes `bytes` to `path` atomically: the data is on disk before the new name points at
/// it. The rename itself is durable once the directory is synced.
fn write_atomic(path: &Path, bytes: &[u8], sync_directory: bool) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a stored file has no directory"))?;
    let tmp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    if sync_directory {
        sync_dir(dir)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for fsync on Windows; renames there are durable enough.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl TransferStore for LocalStore {
    fn put_record(&self, id: &FileId, record: &[u8]) -> io::Result<()> {
        let dir = self.dir(id);
        if !dir.exists() {
            create_private_dir(&dir)?;
            sync_dir(&self.root.join("files"))?;
        } else {
            // The segments renamed into place since the last record become durable before the
            // record that counts them.
            sync_dir(&dir)?;
        }
        write_atomic(&dir.join(RECORD), record, true)
    }

    fn get_record(&self, id: &FileId) -> io::Result<Option<Vec<u8>>> {
        read_optional(&self.dir(id).join(RECORD))
    }

    fn list(&self) -> io::Result<Vec<FileId>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.root.join("files"))? {
            let entry = entry?;
            if let Some(id) = entry.file_name().to_str().and_then(FileId::parse)
                && entry.path().join(RECORD).exists()
            {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }

    fn put_segment(&self, id: &FileId, index: u64, sealed: &[u8]) -> io::Result<()> {
        write_atomic(&self.segment_path(id, index), sealed, false)
    }

    fn get_segment(&self, id: &FileId, index: u64) -> io::Result<Option<Vec<u8>>> {
        read_optional(&self.segment_path(id, index))
    }

    fn remove(&self, id: &FileId) -> io::Result<()> {
        let dir = self.dir(id);
        match fs::remove_file(dir.join(RECORD)) {
            Ok(()) => sync_dir(&dir)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => sync_dir(&self.root.join("files")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "garrison-transfer-store-{}",
            FileId::generate().unwrap()
        ));
        LocalStore::open(&dir).unwrap();
        dir
    }

    #[test]
    fn a_store_is_open_in_one_place_at_a_time() {
        let root = temp();
        let store = LocalStore::open(&root).unwrap();
        let again = LocalStore::open(&root).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::ResourceBusy);
        assert!(
            again.to_string().contains("store.lock is locked"),
            "{again}"
        );
        // A clone shares the lock; once every handle is gone the store opens again.
        let clone = store.clone();
        drop(store);
        assert!(LocalStore::open(&root).is_err());
        drop(clone);
        LocalStore::open(&root).unwrap();
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn records_and_segments_round_trip_and_removal_is_complete() {
        let root = temp();
        let store = LocalStore::open(&root).unwrap();
        let id = FileId::generate().unwrap();
        assert_eq!(store.get_record(&id).unwrap(), None);
        store.put_record(&id, b"{}").unwrap();
        store.put_record(&id, b"{\"a\":1}").unwrap();
        store.put_segment(&id, 0, b"sealed").unwrap();
        assert_eq!(store.get_record(&id).unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(store.get_segment(&id, 0).unwrap().unwrap(), b"sealed");
        assert_eq!(store.get_segment(&id, 1).unwrap(), None);
        assert_eq!(store.list().unwrap(), vec![id.clone()]);
        store.remove(&id).unwrap();
        assert_eq!(store.get_record(&id).unwrap(), None);
        assert!(store.list().unwrap().is_empty());
        assert!(!store.segment_path(&id, 0).exists());
        store.remove(&id).unwrap();
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert!(FileId::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in [
            "",
            "../etc/passwd",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123",
        ] {
            assert!(FileId::parse(bad).is_none(), "{bad}");
        }
    }
}
