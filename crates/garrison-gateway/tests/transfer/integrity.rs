//! Integrity: corrupt stored segments are caught on download; a broken-off body resumes.

use std::time::Duration;

use garrison_testkit::client::Protocol;

use crate::common::assert_problem;
use crate::support::{SEGMENT, bob_file, content, create, files_dir, id_of, offset, patch, start};

#[tokio::test]
async fn a_flipped_bit_in_a_stored_segment_is_detected_on_download() {
    let h = start().await;
    let data = content(2 * SEGMENT + 10);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    assert_eq!(patch(&h, &path, 0, &data).await.status(), 204);
    let id = id_of(&path).to_owned();
    let file_path = bob_file(&id);
    assert_eq!(h.get_as("bob", &file_path).await.body().len(), data.len());

    // One bit of the first segment: refused before a byte is sent.
    let seg0 = files_dir(&h).join(&id).join(format!("{:016x}.seg", 0));
    let original = std::fs::read(&seg0).expect("segment");
    let mut flipped = original.clone();
    flipped[1000] ^= 0x10;
    std::fs::write(&seg0, &flipped).expect("tamper");
    let r = h.get_as("bob", &file_path).await;
    assert_problem(&r, 500, "STORED_DATA_CORRUPT");
    std::fs::write(&seg0, &original).expect("restore");
    assert_eq!(h.get_as("bob", &file_path).await.status(), 200);

    // One bit of a later segment: the stream stops there; the client never gets the whole
    // body (so never a body that matches the digest).
    let seg2 = files_dir(&h).join(&id).join(format!("{:016x}.seg", 2));
    let mut flipped = std::fs::read(&seg2).expect("segment");
    flipped[7] ^= 0x01;
    std::fs::write(&seg2, &flipped).expect("tamper");
    let key = h.consumer("bob").key.clone();
    let result = h
        .client("bob", Protocol::Http1)
        .send(
            h.addr,
            garrison_testkit::client::get(&file_path, Some(&key)),
        )
        .await;
    match result {
        Err(_) => {}
        Ok(r) => assert!(
            r.body().len() < data.len(),
            "a corrupt file is never delivered whole"
        ),
    }
    // Swapping two segments is detected too.
    let seg1 = files_dir(&h).join(&id).join(format!("{:016x}.seg", 1));
    std::fs::copy(&seg1, &seg0).expect("swap");
    let r = h.get_as("bob", &file_path).await;
    assert_problem(&r, 500, "STORED_DATA_CORRUPT");
}

#[tokio::test]
async fn a_body_broken_off_keeps_what_arrived_and_the_upload_resumes_there() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = start().await;
    let data = content(SEGMENT + SEGMENT / 2);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    // A raw PATCH that announces the whole body but sends 700 KiB and then drops the
    // connection, as a network failure would.
    let sent = 700 * 1024;
    let mut stream = h
        .client("alice", Protocol::Http1)
        .connect(h.addr)
        .await
        .expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: localhost\r\nx-api-key: {}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        h.consumer("alice").key,
        data.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&data[..sent]).await.expect("body");
    stream.flush().await.expect("flush");
    // Half-close (the client stops sending mid-body), then read what the gateway answers until
    // it closes, so the kernel does not turn the close into a reset that discards bytes the
    // gateway has not read yet.
    stream.shutdown().await.expect("shutdown");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    drop(stream);
    // The gateway notices the broken body and stores what arrived: poll (bounded).
    let mut now = 0;
    for _ in 0..100 {
        now = offset(&h, &path).await;
        if now == sent as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(now, sent as u64, "every byte that arrived is kept");
    let r = patch(&h, &path, sent, &data[sent..]).await;
    assert_eq!(r.status(), 204);
    let id = id_of(&path);
    let download = h.get_as("bob", &bob_file(id)).await;
    assert!(download.body()[..] == data[..]);
}
