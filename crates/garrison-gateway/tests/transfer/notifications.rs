//! Webhooks: a recipient is told of each complete file, with its facts and never its name.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::common::Harness;
use crate::support::{content, create, id_of, patch, setup};

#[tokio::test]
async fn a_recipient_with_a_webhook_is_told_of_each_new_file() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = hook.local_addr().expect("addr").port();
    let mut s = setup("1h", "1h");
    s.transfers = s.transfers.replace(
        "        owner: bob\n",
        &format!("        owner: bob\n        webhook: http://127.0.0.1:{port}/hooks/files?src=garrison\n"),
    );
    let h = Harness::start(s).await;
    let data = content(1000);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    // Nothing is sent before the file is complete.
    assert_eq!(patch(&h, &path, 0, &data[..400]).await.status(), 204);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), hook.accept())
            .await
            .is_err(),
        "no notification for an incomplete upload"
    );
    assert_eq!(patch(&h, &path, 400, &data[400..]).await.status(), 204);

    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(10), hook.accept())
        .await
        .expect("notified in time")
        .expect("accept");
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let body = loop {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buffer))
            .await
            .expect("request in time")
            .expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&request));
        request.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&request).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().expect("length"))
                })
                .expect("content-length");
            if body.len() >= length {
                assert!(
                    head.starts_with("POST /hooks/files?src=garrison HTTP/1.1"),
                    "{head}"
                );
                assert!(
                    head.to_ascii_lowercase()
                        .contains("garrison-event: file.delivered")
                );
                break body.to_owned();
            }
        }
    };
    conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        .await
        .expect("answer");
    let note: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = id_of(&path);
    assert_eq!(note["event"], "file.delivered");
    assert_eq!(note["inbox"], "bob-inbox");
    assert_eq!(note["file"], id);
    assert_eq!(note["sender"], "alice");
    assert_eq!(note["documentType"], "medical-assessment");
    assert_eq!(note["size"], 1000);
    assert_eq!(
        note["sha256"],
        STANDARD.encode(Sha256::digest(&data)).as_str()
    );
    assert!(!body.contains("jane-doe"), "never the file name");
}
