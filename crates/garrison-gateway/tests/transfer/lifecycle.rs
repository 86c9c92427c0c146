//! An upload's lifetime: expiry, a restart mid-upload, acknowledgement, deletion and its audit.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use garrison_audit::Decision;
use garrison_testkit::client::json;
use sha2::{Digest, Sha256};

use crate::common::{Harness, assert_problem};
use crate::support::{
    BASE, SEGMENT, acknowledge, audit_after_shutdown, bob_file, content, create, files_dir,
    head_as, id_of, offset, patch, restart, setup,
};

#[tokio::test]
async fn an_expired_upload_is_gone() {
    let h = Harness::start(setup("1s", "1h")).await;
    let path = create(&h, "alice", 10, "bob-inbox").await;
    let mut status = 0;
    for _ in 0..60 {
        status = head_as(&h, "alice", &path).await.status().as_u16();
        if status == 410 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 410);
    let r = patch(&h, &path, 0, b"abc").await;
    assert_problem(&r, 410, "UPLOAD_EXPIRED");
}

#[tokio::test]
async fn a_reload_may_not_move_a_transfer_service_to_another_store() {
    let h = Harness::start(setup("1h", "1h")).await;
    let config = std::fs::read_to_string(h.config_path()).expect("config");
    std::fs::write(
        h.config_path(),
        config.replace("store: transfers", "store: elsewhere"),
    )
    .expect("write");
    let error = h.gateway.reload().expect_err("needs a restart");
    assert!(
        error.to_string().contains(
            "changing the store or master keys of transfer service \"evidence\" needs a restart"
        ),
        "{error}"
    );
    // Nor by renaming the service while changing its keys: the store keeps the keys it was
    // opened with, whatever the service is called.
    let line = garrison_transfer::MasterKeys::generate_line("k-new").expect("key");
    std::fs::write(h.dir.join("transfer-keys-new"), line).expect("keys");
    std::fs::write(
        h.config_path(),
        config.replace("evidence", "proof").replace(
            "master_keys: transfer-keys",
            "master_keys: transfer-keys-new",
        ),
    )
    .expect("write");
    let error = h.gateway.reload().expect_err("needs a restart");
    assert!(
        error.to_string().contains("its current master key changed"),
        "{error}"
    );
    // The service goes on over its store.
    std::fs::write(h.config_path(), &config).expect("write");
    let path = create(&h, "alice", 10, "bob-inbox").await;
    assert_eq!(patch(&h, &path, 0, b"0123456789").await.status(), 204);
}

#[tokio::test]
async fn a_restart_mid_upload_loses_nothing_acknowledged_and_deletions_are_audited() {
    let h = Harness::start(setup("1h", "1s")).await;
    let data = content(2 * SEGMENT + 5);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    let cut = SEGMENT + 12_345;
    assert_eq!(patch(&h, &path, 0, &data[..cut]).await.status(), 204);

    // Stop the gateway and start a new one on the same configuration and store.
    let h = restart(h).await;
    assert_eq!(
        offset(&h, &path).await,
        cut as u64,
        "the offset survived the restart"
    );
    let r = patch(&h, &path, cut, &data[cut..]).await;
    assert_eq!(r.status(), 204);
    let id = id_of(&path).to_owned();
    let file_path = bob_file(&id);
    let download = h.get_as("bob", &file_path).await;
    assert!(download.body()[..] == data[..], "intact across the restart");

    // Acknowledge; the sweep (every second, 0s grace) deletes it: poll, bounded.
    let r = acknowledge(&h, &file_path).await;
    assert_eq!(r.status(), 204);
    // The sweep records the deletion, removes the record (from then on the file is not listed)
    // and then the file's directory, so both are polled for — through the inbox's listing: a
    // download polled for instead may be cut off mid-body by the deletion it waits for.
    let inbox = format!("{BASE}/inboxes/bob-inbox/files");
    let mut listed = true;
    for _ in 0..100 {
        let page = h.get_as("bob", &inbox).await;
        assert_eq!(page.status(), 200);
        listed = json(&page)["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f["id"] == id.as_str());
        if !listed && !files_dir(&h).join(&id).exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!listed, "deleted after acknowledgement");
    assert_eq!(h.get_as("bob", &file_path).await.status(), 404);
    assert!(
        !files_dir(&h).join(&id).exists(),
        "its segments removed too"
    );

    // The audit trail: every step, with the file's facts and never its content.
    let found = audit_after_shutdown(h).await;
    let records: Vec<_> = found
        .iter()
        .map(|f| &f.record)
        .filter(|r| r.api == "evidence")
        .collect();
    let operations: Vec<&str> = records.iter().map(|r| r.operation.as_str()).collect();
    for op in [
        "evidence.create",
        "evidence.append",
        "evidence.complete",
        "evidence.download",
        "evidence.acknowledge",
        "evidence.delete.acknowledged",
    ] {
        assert!(operations.contains(&op), "{op} in {operations:?}");
    }
    let complete = records
        .iter()
        .find(|r| r.operation == "evidence.complete")
        .expect("complete");
    let file = complete.file.as_ref().expect("file facts");
    assert_eq!(file.id, id);
    assert_eq!(file.sender, "alice");
    assert_eq!(file.recipient, "bob-inbox");
    assert_eq!(file.document_type, "medical-assessment");
    assert_eq!(file.size, data.len() as u64);
    assert_eq!(
        file.sha256.as_deref(),
        Some(STANDARD.encode(Sha256::digest(&data)).as_str())
    );
    assert_eq!(complete.consumer.as_deref(), Some("alice"));
    assert_eq!(complete.decision, Decision::Allowed);
    let download = records
        .iter()
        .find(|r| r.operation == "evidence.download")
        .expect("download");
    assert_eq!(download.consumer.as_deref(), Some("bob"));
}
