#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::*;

struct Fixture {
    root: PathBuf,
    store: LocalStore,
    transfers: Arc<Transfers>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn fixture(ring: &str) -> Fixture {
    let root = std::env::temp_dir().join(format!(
        "garrison-transfers-{}",
        FileId::generate().unwrap()
    ));
    let store = LocalStore::open(&root).unwrap();
    let keys = Arc::new(MasterKeys::parse(ring, "test").unwrap());
    Fixture {
        transfers: Arc::new(Transfers::new(Arc::new(store.clone()), keys)),
        store,
        root,
    }
}

fn upload(length: u64) -> NewUpload {
    let mut metadata = tus::Metadata::new();
    metadata.insert("filename".into(), b"assessment-jane-doe.pdf".to_vec());
    NewUpload {
        sender: "medical-assessor".into(),
        recipient: "dwp-inbox".into(),
        document_type: "medical-assessment".into(),
        length,
        metadata,
        now: 1000,
        expires: 2000,
    }
}

/// Recognisable plaintext: a phrase repeated, with the position mixed in.
fn content(len: usize) -> Vec<u8> {
    let phrase = b"CONFIDENTIAL medical assessment of Jane Doe. ";
    (0..len)
        .map(|i| phrase[i % phrase.len()] ^ ((i / 4096) as u8 & 1))
        .collect()
}

fn read_all(t: &Transfers, id: &FileId) -> Vec<u8> {
    let reader = t.reader(id).unwrap();
    let len = reader.record().length;
    let mut out = Vec::new();
    for index in 0..len.div_ceil(SEGMENT_SIZE as u64) {
        out.extend(reader.read(index, 0, len).unwrap());
    }
    out
}

/// A write session at the offset the upload stands at now, as a client that just asked.
fn begin(
    t: &Arc<Transfers>,
    id: &FileId,
    now: u64,
    commit_as_it_goes: bool,
) -> Result<UploadWriter, TransferError> {
    let offset = t.record(id)?.offset;
    t.begin(id, offset, now, commit_as_it_goes)
}

#[test]
fn an_interrupted_upload_resumes_and_the_file_is_delivered_intact() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let data = content(2 * SEGMENT_SIZE + 12_345);
    let record = f.transfers.create(upload(data.len() as u64)).unwrap();
    let id = FileId::parse(&record.id).unwrap();

    // First session: 1.5 segments arrive, then the client goes away.
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    let cut = SEGMENT_SIZE + SEGMENT_SIZE / 2;
    w.write(&data[..cut]).unwrap();
    let after = w.interrupted().unwrap();
    assert_eq!(after.offset, cut as u64, "what arrived is durable");
    assert_eq!(f.transfers.record(&id).unwrap().offset, cut as u64);
    assert_eq!(f.transfers.record(&id).unwrap().generation, 1);

    // A second session while one is open is refused.
    let w = begin(&f.transfers, &id, 1002, true).unwrap();
    assert!(matches!(
        begin(&f.transfers, &id, 1002, true),
        Err(TransferError::Locked)
    ));
    drop(w);

    // Resume from the offset, with a checksum of this body.
    let mut w = begin(&f.transfers, &id, 1003, false).unwrap();
    let checksum = tus::UploadChecksum {
        algorithm: tus::ChecksumAlgorithm::Sha256,
        digest: Sha256::digest(&data[cut..]).to_vec(),
    };
    w.expect_checksum(&checksum);
    w.write(&data[cut..]).unwrap();
    let done = w.finish(Some(&checksum), 1004, 500).unwrap();
    assert_eq!(done.offset, data.len() as u64);
    assert_eq!(done.completed, Some(1004));
    assert_eq!(done.expires, 1504);
    assert_eq!(done.sha256, Some(STANDARD.encode(Sha256::digest(&data))));
    assert_eq!(read_all(&f.transfers, &id), data);
    assert_eq!(f.transfers.inbox("dwp-inbox").unwrap().len(), 1);
    assert!(f.transfers.inbox("other").unwrap().is_empty());
    let metadata = f.transfers.metadata(&done).unwrap();
    assert_eq!(metadata["filename"], b"assessment-jane-doe.pdf");

    // Nothing on disk holds the plaintext, the file name or the data key.
    for entry in std::fs::read_dir(f.root.join("files").join(id.as_str())).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(32)
                .any(|w| data.windows(32).take(64).any(|d| d == w))
        );
        assert!(!bytes.windows(8).any(|w| w == b"jane-doe"));
    }
}

#[test]
fn a_session_begun_at_an_offset_the_upload_has_left_is_refused() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let data = content(SEGMENT_SIZE + 100);
    let record = f.transfers.create(upload(data.len() as u64)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    // A retry checked its Upload-Offset (0) while the broken request before it was still
    // storing; that one then commits 100 bytes and lets go of the upload.
    let mut broken = f.transfers.begin(&id, 0, 1001, true).unwrap();
    broken.write(&data[..100]).unwrap();
    broken.interrupted().unwrap();
    let conflict = f.transfers.begin(&id, 0, 1002, true);
    assert!(
        matches!(
            conflict,
            Err(TransferError::Tus(tus::TusError::OffsetConflict {
                sent: 0,
                actual: 100
            }))
        ),
        "{:?}",
        conflict.err()
    );
    let record = f.transfers.record(&id).unwrap();
    assert_eq!(
        (record.offset, record.generation),
        (100, 1),
        "nothing written, no generation used"
    );
    // The refusal let go of the upload: the client resumes where it stands.
    let mut w = f.transfers.begin(&id, 100, 1003, true).unwrap();
    w.write(&data[100..]).unwrap();
    w.finish(None, 1004, 10).unwrap();
    assert_eq!(read_all(&f.transfers, &id), data);
}

#[test]
fn an_upload_being_written_is_neither_terminated_nor_swept() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let data = content(100);
    let record = f.transfers.create(upload(data.len() as u64)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(&data[..50]).unwrap();
    assert!(matches!(
        f.transfers.delete(&id),
        Err(TransferError::Locked)
    ));
    // Past its expiry, but in a session's hands.
    assert!(f.transfers.sweep(record.expires + 1).unwrap().is_empty());
    w.interrupted().unwrap();
    assert_eq!(
        f.transfers.record(&id).unwrap().offset,
        50,
        "the session's bytes stand"
    );
    // Once the session is over, termination goes ahead — and holds the upload while it does.
    // (A delivered file is the recipient's: not the sender's to terminate.)
    let done = f.transfers.create(upload(3)).unwrap();
    let done_id = FileId::parse(&done.id).unwrap();
    let mut w = begin(&f.transfers, &done_id, 1001, true).unwrap();
    w.write(b"abc").unwrap();
    w.finish(None, 1002, 10).unwrap();
    assert!(matches!(
        f.transfers.delete(&done_id),
        Err(TransferError::Delivered)
    ));
    f.transfers.delete(&id).unwrap();
    assert!(matches!(
        f.transfers.record(&id),
        Err(TransferError::NotFound)
    ));
    assert!(matches!(
        f.transfers.begin(&id, 50, 1002, true),
        Err(TransferError::NotFound)
    ));
}

#[test]
fn a_sender_may_write_so_many_uploads_at_once() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let open = |sender: &str| {
        let record = f
            .transfers
            .create(NewUpload {
                sender: sender.into(),
                ..upload(10)
            })
            .unwrap();
        let id = FileId::parse(&record.id).unwrap();
        (id.clone(), begin(&f.transfers, &id, 1001, true))
    };
    let mut sessions: Vec<UploadWriter> = (0..MAX_SESSIONS_PER_SENDER)
        .map(|_| open("trickler").1.unwrap())
        .collect();
    let (refused, result) = open("trickler");
    assert!(matches!(result, Err(TransferError::Busy)), "{result:?}");
    // The refusal holds nothing: another sender is served, and so is the trickler once one of
    // its sessions ends — on the very upload it was refused.
    open("someone-else").1.unwrap();
    sessions.pop();
    begin(&f.transfers, &refused, 1002, true).unwrap();
}

#[test]
fn a_sender_may_leave_so_many_uploads_unfinished() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let hoard = |transfers: &Transfers| {
        transfers.create(NewUpload {
            sender: "hoarder".into(),
            ..upload(3)
        })
    };
    let ids: Vec<FileId> = (0..MAX_UNFINISHED_PER_SENDER)
        .map(|_| FileId::parse(&hoard(&f.transfers).unwrap().id).unwrap())
        .collect();
    assert!(matches!(
        hoard(&f.transfers),
        Err(TransferError::TooManyUnfinished)
    ));
    // Others are not held back by it.
    f.transfers.create(upload(3)).unwrap();
    // Completing one makes room; so does terminating one.
    let mut w = begin(&f.transfers, &ids[0], 1001, true).unwrap();
    w.write(b"abc").unwrap();
    assert!(w.finish(None, 1002, 10).unwrap().is_complete());
    hoard(&f.transfers).unwrap();
    assert!(matches!(
        hoard(&f.transfers),
        Err(TransferError::TooManyUnfinished)
    ));
    f.transfers.delete(&ids[1]).unwrap();
    hoard(&f.transfers).unwrap();
    // A restarted service counts what is on disk.
    let keys = Arc::new(MasterKeys::parse(&MasterKeys::generate_line("k1").unwrap(), "t").unwrap());
    let restarted = Transfers::new(Arc::new(f.store.clone()), keys);
    assert!(matches!(
        hoard(&restarted),
        Err(TransferError::TooManyUnfinished)
    ));
}

#[test]
fn a_session_takes_nothing_once_its_upload_has_expired() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let record = f.transfers.create(upload(100)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(b"early").unwrap();
    // The upload's expiry comes while its body is still arriving.
    w.deadline = Some(std::time::Instant::now());
    assert!(matches!(w.write(b"late"), Err(TransferError::Gone)));
    assert_eq!(w.received(), 5);
}

/// A store whose next `put_segment` fails once when told to.
struct FlakyStore {
    inner: LocalStore,
    fail_next_segment: std::sync::atomic::AtomicBool,
}

impl TransferStore for FlakyStore {
    fn put_record(&self, id: &FileId, record: &[u8]) -> std::io::Result<()> {
        self.inner.put_record(id, record)
    }
    fn get_record(&self, id: &FileId) -> std::io::Result<Option<Vec<u8>>> {
        self.inner.get_record(id)
    }
    fn list(&self) -> std::io::Result<Vec<FileId>> {
        self.inner.list()
    }
    fn put_segment(&self, id: &FileId, index: u64, sealed: &[u8]) -> std::io::Result<()> {
        if self
            .fail_next_segment
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(std::io::Error::other("disk full"));
        }
        self.inner.put_segment(id, index, sealed)
    }
    fn get_segment(&self, id: &FileId, index: u64) -> std::io::Result<Option<Vec<u8>>> {
        self.inner.get_segment(id, index)
    }
    fn remove(&self, id: &FileId) -> std::io::Result<()> {
        self.inner.remove(id)
    }
}

#[test]
fn a_segment_that_fails_to_store_leaves_the_file_digest_true() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let flaky = Arc::new(FlakyStore {
        inner: f.store.clone(),
        fail_next_segment: false.into(),
    });
    let keys =
        Arc::new(MasterKeys::parse(&MasterKeys::generate_line("k1").unwrap(), "test").unwrap());
    let transfers = Arc::new(Transfers::new(flaky.clone(), keys));
    let data = content(2 * SEGMENT_SIZE + 100);
    let record = transfers.create(upload(data.len() as u64)).unwrap();
    let id = FileId::parse(&record.id).unwrap();

    // A frame of a segment and a half: the full segment fails to store, the half is never taken.
    let mut w = begin(&transfers, &id, 1001, true).unwrap();
    flaky
        .fail_next_segment
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(w.write(&data[..SEGMENT_SIZE + SEGMENT_SIZE / 2]).is_err());
    // The session ends as a broken body does: what was taken is stored now and counts.
    let after = w.interrupted().unwrap();
    assert_eq!(after.offset, SEGMENT_SIZE as u64);

    let mut w = begin(&transfers, &id, 1002, true).unwrap();
    w.write(&data[SEGMENT_SIZE..]).unwrap();
    let done = w.finish(None, 1003, 10).unwrap();
    assert_eq!(read_all(&transfers, &id), data);
    assert_eq!(
        done.sha256,
        Some(STANDARD.encode(Sha256::digest(&data))),
        "the digest recorded is the content's"
    );
}

#[test]
fn a_body_that_fails_its_checksum_is_not_kept() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let data = content(1000);
    let record = f.transfers.create(upload(1000)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(&data[..300]).unwrap();
    w.finish(None, 1001, 10).unwrap();
    let mut w = begin(&f.transfers, &id, 1002, false).unwrap();
    let wrong = tus::UploadChecksum {
        algorithm: tus::ChecksumAlgorithm::Sha256,
        digest: vec![0; 32],
    };
    w.expect_checksum(&wrong);
    w.write(&data[300..]).unwrap();
    assert!(matches!(
        w.finish(Some(&wrong), 1003, 10),
        Err(TransferError::Tus(tus::TusError::ChecksumMismatch))
    ));
    assert_eq!(f.transfers.record(&id).unwrap().offset, 300);
    // The right bytes then complete it.
    let mut w = begin(&f.transfers, &id, 1004, true).unwrap();
    assert!(w.write(&[0; 701]).is_err(), "past the declared length");
    w.write(&data[300..]).unwrap();
    let done = w.finish(None, 1005, 10).unwrap();
    assert_eq!(read_all(&f.transfers, &id), data);
    // The digest after a refused body is computed by reading the file back: still right.
    assert_eq!(done.sha256, Some(STANDARD.encode(Sha256::digest(&data))));
}

#[test]
fn a_flipped_bit_on_disk_is_detected() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let data = content(5000);
    let record = f.transfers.create(upload(5000)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(&data).unwrap();
    w.finish(None, 1002, 10).unwrap();
    let path = f.store.segment_path(&id, 0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x04;
    std::fs::write(&path, bytes).unwrap();
    let reader = f.transfers.reader(&id).unwrap();
    assert!(matches!(
        reader.read(0, 0, 5000),
        Err(TransferError::Crypto(CryptoError::Integrity))
    ));
}

#[test]
fn expiry_acknowledgement_and_sweeping() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let open = f.transfers.create(upload(10)).unwrap();
    let open_id = FileId::parse(&open.id).unwrap();
    assert!(f.transfers.upload(&open_id, 1999).is_ok());
    assert!(matches!(
        f.transfers.upload(&open_id, 2000),
        Err(TransferError::Gone)
    ));
    assert!(matches!(
        begin(&f.transfers, &open_id, 2000, true),
        Err(TransferError::Gone)
    ));

    let done = f.transfers.create(upload(3)).unwrap();
    let done_id = FileId::parse(&done.id).unwrap();
    let mut w = begin(&f.transfers, &done_id, 1001, true).unwrap();
    w.write(b"abc").unwrap();
    w.finish(None, 1001, 5000).unwrap();
    let acked = f.transfers.acknowledge(&done_id, 1100, 60).unwrap();
    assert_eq!(acked.expires, 1160);
    assert_eq!(
        f.transfers.acknowledge(&done_id, 1150, 60).unwrap().expires,
        1160
    );

    let swept = f.transfers.sweep(1159).unwrap();
    assert!(swept.is_empty());
    let swept = f.transfers.sweep(2000).unwrap();
    let reasons: Vec<_> = swept.iter().map(|(r, why)| (r.id.clone(), *why)).collect();
    assert!(reasons.contains(&(open.id.clone(), Deletion::Expired)));
    assert!(reasons.contains(&(done.id.clone(), Deletion::Acknowledged)));
    assert!(matches!(
        f.transfers.record(&done_id),
        Err(TransferError::NotFound)
    ));
    assert!(!f.store.segment_path(&done_id, 0).exists());
}

#[test]
fn rotation_rewraps_data_keys_without_touching_segments() {
    let old = MasterKeys::generate_line("k1").unwrap();
    let f = fixture(&old);
    let record = f.transfers.create(upload(4)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(b"data").unwrap();
    w.finish(None, 1001, 5000).unwrap();
    let segment = std::fs::read(f.store.segment_path(&id, 0)).unwrap();

    let new = MasterKeys::generate_line("k2").unwrap();
    let both = Transfers::new(
        Arc::new(f.store.clone()),
        Arc::new(MasterKeys::parse(&format!("{new}{old}"), "t").unwrap()),
    );
    assert_eq!(both.rotate().unwrap(), 1);
    assert_eq!(both.rotate().unwrap(), 0);
    assert_eq!(both.record(&id).unwrap().key.master, "k2");
    assert_eq!(
        std::fs::read(f.store.segment_path(&id, 0)).unwrap(),
        segment
    );

    let only_new = Transfers::new(
        Arc::new(f.store.clone()),
        Arc::new(MasterKeys::parse(&new, "t").unwrap()),
    );
    assert_eq!(read_all(&only_new, &id), b"data");
    // The old key alone no longer opens it.
    let only_old = Transfers::new(
        Arc::new(f.store.clone()),
        Arc::new(MasterKeys::parse(&old, "t").unwrap()),
    );
    assert!(only_old.reader(&id).is_err());
}

#[test]
fn after_a_restart_completion_reads_the_file_back_for_its_digest() {
    let ring = MasterKeys::generate_line("k1").unwrap();
    let f = fixture(&ring);
    let data = content(SEGMENT_SIZE + 999);
    let record = f.transfers.create(upload(data.len() as u64)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(&data[..SEGMENT_SIZE + 1]).unwrap();
    w.interrupted().unwrap();
    // A new process: nothing in memory, only the store.
    let restarted = Arc::new(Transfers::new(
        Arc::new(f.store.clone()),
        Arc::new(MasterKeys::parse(&ring, "t").unwrap()),
    ));
    let mut w = begin(&restarted, &id, 1002, true).unwrap();
    w.write(&data[SEGMENT_SIZE + 1..]).unwrap();
    let done = w.finish(None, 1003, 10).unwrap();
    assert_eq!(done.sha256, Some(STANDARD.encode(Sha256::digest(&data))));
    assert_eq!(read_all(&restarted, &id), data);
}

#[test]
fn a_segment_rewritten_on_resume_is_sealed_under_a_new_generation() {
    let f = fixture(&MasterKeys::generate_line("k1").unwrap());
    let data = content(SEGMENT_SIZE + 100);
    let record = f.transfers.create(upload(data.len() as u64)).unwrap();
    let id = FileId::parse(&record.id).unwrap();
    let generation = |index: u64| {
        let bytes = std::fs::read(f.store.segment_path(&id, index)).unwrap();
        u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]])
    };
    let mut w = begin(&f.transfers, &id, 1001, true).unwrap();
    w.write(&data[..SEGMENT_SIZE + 10]).unwrap();
    w.interrupted().unwrap();
    assert_eq!((generation(0), generation(1)), (1, 1));
    let first = std::fs::read(f.store.segment_path(&id, 1)).unwrap();
    // A session that stores nothing still uses up its generation (it was recorded first).
    drop(begin(&f.transfers, &id, 1002, true).unwrap());
    let mut w = begin(&f.transfers, &id, 1003, true).unwrap();
    w.write(&data[SEGMENT_SIZE + 10..]).unwrap();
    w.finish(None, 1004, 10).unwrap();
    assert_eq!(generation(0), 1, "a full segment is never rewritten");
    assert_eq!(
        generation(1),
        3,
        "the partial segment was rewritten under a fresh nonce"
    );
    let second = std::fs::read(f.store.segment_path(&id, 1)).unwrap();
    // Same plaintext prefix, different keystream: no byte-for-byte repetition of the first
    // ten bytes' ciphertext.
    assert_ne!(first[5..15], second[5..15]);
    assert_eq!(read_all(&f.transfers, &id), data);
}
