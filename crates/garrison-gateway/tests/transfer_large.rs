//! 1 GiB through a file transfer service over mutual TLS, with the gateway's memory bounded:
//! the upload is streamed from the client in one tus creation-with-upload, stored in
//! encrypted segments, then downloaded and checked against the digest computed while sending.
//!
//! Ignored by default (it writes 1 GiB to disk); `scripts/test.sh` runs it on its own, so the
//! process's peak memory is this test's alone:
//! `cargo test -p garrison-gateway --test transfer_large -- --ignored`.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::{Harness, TRANSFER_BASE};
use garrison_testkit::client::Protocol;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SIZE: u64 = 1 << 30;
const CHUNK: usize = 256 * 1024;

/// The process's resident memory now and at its peak (`VmRSS`, `VmHWM`), in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Deterministic bytes for chunk `n` (no allocation per chunk beyond the reused buffer).
fn fill(buffer: &mut [u8], n: u64) {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in buffer.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

#[tokio::test]
#[ignore = "writes 1 GiB: run on its own by scripts/test.sh"]
async fn one_gib_goes_up_and_down_with_the_gateway_memory_bounded() {
    let mut setup = common::transfer_setup("1h", "1h");
    setup.transfers = setup
        .transfers
        .replace("max_size: 8000000", "max_size: 2147483648");
    let h = Harness::start(setup).await;
    let (baseline, _) = memory();

    // Upload: one creation-with-upload request, streamed.
    let started = Instant::now();
    let mut stream = h
        .client("alice", Protocol::Http1)
        .connect(h.addr)
        .await
        .expect("connect");
    let metadata = format!(
        "recipient {},document_type {}",
        STANDARD.encode("bob-inbox"),
        STANDARD.encode("medical-assessment")
    );
    let head = format!(
        "POST {TRANSFER_BASE}/uploads HTTP/1.1\r\nHost: localhost\r\nx-api-key: {}\r\nTus-Resumable: 1.0.0\r\nUpload-Length: {SIZE}\r\nUpload-Metadata: {metadata}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {SIZE}\r\n\r\n",
        h.consumer("alice").key
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let mut buffer = vec![0u8; CHUNK];
    let mut sent_digest = Sha256::new();
    for n in 0..SIZE / CHUNK as u64 {
        fill(&mut buffer, n);
        sent_digest.update(&buffer);
        stream.write_all(&buffer).await.expect("body");
    }
    stream.flush().await.expect("flush");
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") && answer.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(120), stream.read(&mut byte))
            .await
            .expect("answer in time")
            .expect("read");
        assert_eq!(
            n,
            1,
            "connection closed; got {}",
            String::from_utf8_lossy(&answer)
        );
        answer.push(byte[0]);
    }
    let upload_time = started.elapsed();
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 201"), "{answer}");
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("location")
        .trim()
        .to_owned();
    let id = location.rsplit('/').next().expect("id").to_owned();
    let expected = sent_digest.finalize();
    drop(stream);

    // Download, streamed, hashed as it arrives.
    let started = Instant::now();
    let stream = h
        .client("bob", Protocol::Http1)
        .connect(h.addr)
        .await
        .expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let request = http::Request::get(format!(
        "https://localhost{TRANSFER_BASE}/inboxes/bob-inbox/files/{id}"
    ))
    .header("x-api-key", &h.consumer("bob").key)
    .body(Empty::<Bytes>::new())
    .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let digest_header = response.headers()["repr-digest"]
        .to_str()
        .expect("digest")
        .to_owned();
    let mut body = response.into_body();
    let mut received = Sha256::new();
    let mut length = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            length += data.len() as u64;
            received.update(&data);
        }
    }
    let download_time = started.elapsed();
    assert_eq!(length, SIZE);
    assert_eq!(received.finalize(), expected, "the file comes back intact");
    assert_eq!(
        digest_header,
        format!("sha-256=:{}:", STANDARD.encode(expected))
    );

    let (_, peak) = memory();
    let growth = peak.saturating_sub(baseline);
    let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
    eprintln!(
        "1 GiB: upload {:.1} s ({:.0} MB/s), download {:.1} s ({:.0} MB/s); peak memory {:.0} MiB over a {:.0} MiB baseline (gateway and test client together)",
        upload_time.as_secs_f64(),
        SIZE as f64 / 1e6 / upload_time.as_secs_f64(),
        download_time.as_secs_f64(),
        SIZE as f64 / 1e6 / download_time.as_secs_f64(),
        mib(growth),
        mib(baseline),
    );
    // The gigabyte on disk goes now, not with the temporary directory.
    let _ = std::fs::remove_dir_all(h.dir.join("transfers"));
    // A buffered implementation would hold the file (1024 MiB); a streamed one a few
    // segments per connection plus TLS and socket buffers.
    assert!(
        growth < 96 << 20,
        "peak memory grew by {:.0} MiB while 1 GiB went through",
        mib(growth)
    );
}
