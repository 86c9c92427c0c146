//! `garrison transfer key-generate` and `rotate-key`: a new master key is put first in the
//! ring, every stored file's data key is re-wrapped under it, the segments are untouched, and
//! afterwards the old key can leave the ring.

use std::process::Command;
use std::sync::Arc;

use garrison_transfer::{FileId, LocalStore, MasterKeys, NewUpload, TransferStore, Transfers};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

const CONFIG: &str = r#"listeners:
  - name: public
    address: 127.0.0.1:0
consumers:
  - name: recipient
transfers:
  - name: evidence
    base_path: /files/v1
    store: store
    master_keys: master-keys
    document_types: [report]
    inboxes:
      - name: inbox
        owner: recipient
"#;

fn run(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).output().expect("run garrison");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn rotate_key_rewraps_every_data_key_without_touching_the_files() {
    let dir = garrison_testkit::temp_dir("transfer-cli");
    let config = dir.join("garrison.yaml");
    std::fs::write(&config, CONFIG).expect("config");
    let (ok, old_line, err) = run(&["transfer", "key-generate", "--id", "old-1"]);
    assert!(ok, "{err}");
    std::fs::write(dir.join("master-keys"), &old_line).expect("keys");

    // A file stored under the old key.
    let store = LocalStore::open(&dir.join("store")).expect("store");
    let old = Arc::new(MasterKeys::parse(&old_line, "old").expect("ring"));
    let transfers = Arc::new(Transfers::new(Arc::new(store.clone()), old));
    let record = transfers
        .create(NewUpload {
            sender: "sender".into(),
            recipient: "inbox".into(),
            document_type: "report".into(),
            length: 11,
            metadata: Default::default(),
            now: 1,
            expires: u64::MAX,
        })
        .expect("create");
    let id = FileId::parse(&record.id).expect("id");
    let mut writer = transfers.begin(&id, 0, 2, true).expect("begin");
    writer.write(b"hello world").expect("write");
    writer.finish(None, 3, 1000).expect("finish");
    let segment = store.get_segment(&id, 0).expect("read").expect("segment");

    // The new key goes first; rotate.
    let (ok, new_line, err) = run(&["transfer", "key-generate", "--id", "new-2"]);
    assert!(ok, "{err}");
    assert!(new_line.starts_with("new-2 "));
    std::fs::write(dir.join("master-keys"), format!("{new_line}{old_line}")).expect("keys");
    let config_arg = config.to_str().expect("path");
    // Not beside a process that has the store open (a running gateway): both would write
    // the records.
    let (ok, _, err) = run(&["transfer", "rotate-key", "--config", config_arg]);
    assert!(!ok);
    assert!(err.contains("the store is open elsewhere"), "{err}");
    drop((transfers, store));
    let (ok, out, err) = run(&["transfer", "rotate-key", "--config", config_arg]);
    assert!(ok, "{err}");
    assert!(
        out.contains("evidence: 1 data key(s) re-wrapped under master key \"new-2\""),
        "{out}"
    );
    let (ok, out, _) = run(&["transfer", "rotate-key", "--config", config_arg]);
    assert!(ok);
    assert!(
        out.contains("evidence: 0 data key(s)"),
        "a second run has nothing to do: {out}"
    );
    let store = LocalStore::open(&dir.join("store")).expect("store");
    assert_eq!(
        store.get_segment(&id, 0).expect("read").expect("segment"),
        segment,
        "the file itself is not rewritten"
    );

    // The old key leaves the ring; the file still opens.
    let only_new = Arc::new(MasterKeys::parse(&new_line, "new").expect("ring"));
    let after = Transfers::new(Arc::new(store), only_new);
    let reader = after.reader(&id).expect("opens under the new key alone");
    assert_eq!(reader.read(0, 0, 11).expect("read"), b"hello world");

    let (ok, _, err) = run(&[
        "transfer",
        "rotate-key",
        "--config",
        config_arg,
        "--transfer",
        "nope",
    ]);
    assert!(!ok);
    assert!(err.contains("no such transfer service"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
