//! HTTP/2: creation-with-upload and download work over h2 as over HTTP/1.1.

use bytes::Bytes;
use garrison_testkit::client::{Protocol, request};

use crate::support::{BASE, SEGMENT, assert_upload_offset, bob_file, content, metadata, start};

#[tokio::test]
async fn uploads_and_downloads_work_over_h2_too() {
    let h = start().await;
    let data = content(SEGMENT + 4321);
    let key = h.consumer("alice").key.clone();
    let mut create = request(
        "POST",
        &format!("{BASE}/uploads"),
        Some(&key),
        Bytes::from(data.clone()),
    );
    for (name, value) in [
        ("tus-resumable", "1.0.0".to_owned()),
        ("upload-length", data.len().to_string()),
        (
            "upload-metadata",
            metadata("bob-inbox", "medical-assessment"),
        ),
        ("content-type", "application/offset+octet-stream".to_owned()),
    ] {
        create
            .headers_mut()
            .insert(name, value.parse().expect("value"));
    }
    let mut sender = h
        .client("alice", Protocol::Http2)
        .open(h.addr)
        .await
        .expect("h2 connection");
    assert_eq!(sender.protocol(), Protocol::Http2);
    let r = sender.send(create).await.expect("response");
    assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
    assert_upload_offset(&r, data.len());
    let id = r.headers()["location"]
        .to_str()
        .expect("location")
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned();
    let bob = h.consumer("bob").key.clone();
    let mut sender = h
        .client("bob", Protocol::Http2)
        .open(h.addr)
        .await
        .expect("h2 connection");
    let r = sender
        .send(garrison_testkit::client::get(&bob_file(&id), Some(&bob)))
        .await
        .expect("response");
    assert_eq!(r.status(), 200);
    assert!(
        r.body()[..] == data[..],
        "the file comes back intact over h2"
    );
}
