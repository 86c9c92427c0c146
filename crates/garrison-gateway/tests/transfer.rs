//! Secure file transfer through the real gateway over mutual TLS: tus 1.0.0 conformance (every
//! status the protocol defines), entitlement before any byte is stored, encryption at rest,
//! integrity on download, inboxes, acknowledgement and deletion, restarts mid-upload, and the
//! audit trail.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::{Harness, Setup, assert_problem};
use garrison_audit::{Decision, SearchFilter};
use garrison_testkit::client::{Protocol, json, request};
use http::Response;
use sha2::{Digest, Sha256};

const BASE: &str = common::TRANSFER_BASE;
const SEGMENT: usize = 1 << 20;

fn setup(expiry: &str, sweep: &str) -> Setup {
    common::transfer_setup(expiry, sweep)
}

async fn start() -> Harness {
    Harness::start(setup("1h", "1h")).await
}

/// Sends a request as `consumer` with `headers` (and `Tus-Resumable: 1.0.0` unless a header
/// of that name is given, even empty, which then replaces it).
async fn send(
    h: &Harness,
    consumer: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Response<Bytes> {
    let key = h.consumer(consumer).key.clone();
    let mut req = request(method, path, Some(&key), Bytes::from(body));
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("tus-resumable"))
    {
        req.headers_mut()
            .insert("tus-resumable", "1.0.0".parse().expect("value"));
    }
    for (name, value) in headers {
        if !value.is_empty() {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
    }
    h.client(consumer, Protocol::Http1)
        .send(h.addr, req)
        .await
        .expect("response")
}

fn metadata(recipient: &str, document_type: &str) -> String {
    format!(
        "recipient {},document_type {},filename {}",
        STANDARD.encode(recipient),
        STANDARD.encode(document_type),
        STANDARD.encode("assessment-jane-doe.pdf")
    )
}

/// Creates an upload of `length` bytes as `consumer`; returns its path.
async fn create(h: &Harness, consumer: &str, length: usize, recipient: &str) -> String {
    let meta = metadata(recipient, "medical-assessment");
    let r = send(
        h,
        consumer,
        "POST",
        &format!("{BASE}/uploads"),
        &[
            ("upload-length", &length.to_string()),
            ("upload-metadata", &meta),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert!(r.headers().contains_key("upload-expires"));
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{BASE}/uploads/")),
        "{location}"
    );
    location
}

async fn patch(h: &Harness, path: &str, offset: usize, body: &[u8]) -> Response<Bytes> {
    send(
        h,
        "alice",
        "PATCH",
        path,
        &[
            ("content-type", "application/offset+octet-stream"),
            ("upload-offset", &offset.to_string()),
        ],
        body.to_vec(),
    )
    .await
}

async fn offset(h: &Harness, path: &str) -> u64 {
    let r = send(h, "alice", "HEAD", path, &[], Vec::new()).await;
    assert_eq!(r.status(), 200);
    r.headers()["upload-offset"]
        .to_str()
        .expect("offset")
        .parse()
        .expect("number")
}

fn content(len: usize) -> Vec<u8> {
    let phrase = b"CONFIDENTIAL medical assessment of Jane Doe, NI QQ123456C. ";
    (0..len)
        .map(|i| phrase[i % phrase.len()].wrapping_add((i / 7919) as u8 % 3))
        .collect()
}

fn files_dir(h: &Harness) -> PathBuf {
    h.dir.join("transfers").join("files")
}

fn all_stored_bytes(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        if entry.path().is_dir() {
            out.extend(all_stored_bytes(&entry.path()));
        } else {
            out.push(std::fs::read(entry.path()).expect("read"));
        }
    }
    out
}

#[tokio::test]
async fn options_states_the_protocol_and_every_other_request_needs_tus_resumable() {
    let h = start().await;
    let r = send(
        &h,
        "alice",
        "OPTIONS",
        &format!("{BASE}/uploads"),
        &[("tus-resumable", "")],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    assert_eq!(r.headers()["tus-max-size"], "8000000");
    let extensions = r.headers()["tus-extension"].to_str().expect("ext");
    for ext in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    ] {
        assert!(extensions.split(',').any(|e| e == ext), "{ext}");
    }
    assert!(
        r.headers()["tus-checksum-algorithm"]
            .to_str()
            .expect("alg")
            .contains("sha256")
    );

    for version in ["", "0.2.2"] {
        let r = send(
            &h,
            "alice",
            "POST",
            &format!("{BASE}/uploads"),
            &[("tus-resumable", version), ("upload-length", "10")],
            Vec::new(),
        )
        .await;
        assert_problem(&r, 412, "TUS_VERSION_UNSUPPORTED");
        assert_eq!(r.headers()["tus-version"], "1.0.0");
    }
    // Admission comes first: no key, no tus.
    let r = h
        .client("alice", Protocol::Http1)
        .send(
            h.addr,
            request("OPTIONS", &format!("{BASE}/uploads"), None, Bytes::new()),
        )
        .await
        .expect("response");
    assert_problem(&r, 401, "MISSING_CREDENTIALS");
}

#[tokio::test]
async fn creation_is_refused_for_every_bad_header_and_every_missing_entitlement_before_anything_is_stored()
 {
    let h = start().await;
    let uploads = format!("{BASE}/uploads");
    let ok_meta = metadata("bob-inbox", "medical-assessment");
    /// What is wrong, the request headers, the status and problem code expected.
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "no length",
            vec![("upload-metadata", ok_meta.clone())],
            400,
            "BAD_REQUEST",
        ),
        (
            "negative length",
            vec![
                ("upload-length", "-1".into()),
                ("upload-metadata", ok_meta.clone()),
            ],
            400,
            "BAD_REQUEST",
        ),
        (
            "deferred length",
            vec![
                ("upload-defer-length", "1".into()),
                ("upload-metadata", ok_meta.clone()),
            ],
            400,
            "BAD_REQUEST",
        ),
        (
            "over the maximum",
            vec![
                ("upload-length", "8000001".into()),
                ("upload-metadata", ok_meta.clone()),
            ],
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "metadata not base64",
            vec![
                ("upload-length", "10".into()),
                ("upload-metadata", "recipient !!!".into()),
            ],
            400,
            "BAD_REQUEST",
        ),
        (
            "too many metadata pairs",
            vec![
                ("upload-length", "10".into()),
                (
                    "upload-metadata",
                    (0..17)
                        .map(|i| format!("k{i} YQ=="))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
            400,
            "BAD_REQUEST",
        ),
        (
            "no recipient",
            vec![
                ("upload-length", "10".into()),
                (
                    "upload-metadata",
                    format!("document_type {}", STANDARD.encode("fit-note")),
                ),
            ],
            400,
            "BAD_REQUEST",
        ),
        (
            "unknown document type",
            vec![
                ("upload-length", "10".into()),
                ("upload-metadata", metadata("bob-inbox", "x-ray")),
            ],
            400,
            "BAD_REQUEST",
        ),
        (
            "an inbox alice may not send to",
            vec![
                ("upload-length", "10".into()),
                (
                    "upload-metadata",
                    metadata("carol-inbox", "medical-assessment"),
                ),
            ],
            403,
            "RESOURCE_FORBIDDEN",
        ),
        (
            "an inbox that does not exist",
            vec![
                ("upload-length", "10".into()),
                ("upload-metadata", metadata("nobody", "medical-assessment")),
            ],
            403,
            "RESOURCE_FORBIDDEN",
        ),
        (
            "a type alice may not send",
            vec![
                ("upload-length", "10".into()),
                ("upload-metadata", metadata("bob-inbox", "fit-note")),
            ],
            403,
            "RESOURCE_FORBIDDEN",
        ),
        (
            "creation-with-upload of the wrong type",
            vec![
                ("upload-length", "10".into()),
                ("upload-metadata", ok_meta.clone()),
                ("content-type", "application/octet-stream".into()),
            ],
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ];
    for (what, headers, status, code) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let body = if code == "UNSUPPORTED_MEDIA_TYPE" {
            b"0123456789".to_vec()
        } else {
            Vec::new()
        };
        let r = send(&h, "alice", "POST", &uploads, &headers, body).await;
        assert_eq!(
            r.status().as_u16(),
            status,
            "{what}: {}",
            String::from_utf8_lossy(r.body())
        );
        assert_problem(&r, status, code);
        assert_eq!(r.headers()["tus-resumable"], "1.0.0", "{what}");
    }
    // A sender not entitled to the inbox, with a body: refused, and nothing was stored.
    let body = content(5000);
    let r = send(
        &h,
        "carol",
        "POST",
        &uploads,
        &[
            ("upload-length", "5000"),
            (
                "upload-metadata",
                &metadata("bob-inbox", "medical-assessment"),
            ),
            ("content-type", "application/offset+octet-stream"),
        ],
        body,
    )
    .await;
    assert_problem(&r, 403, "RESOURCE_FORBIDDEN");
    let stored = std::fs::read_dir(files_dir(&h))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "no upload exists after the refusals");
}

#[tokio::test]
async fn an_upload_in_pieces_with_checksums_conflicts_and_termination() {
    let h = start().await;
    let data = content(3 * SEGMENT + 777);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    let head = send(&h, "alice", "HEAD", &path, &[], Vec::new()).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["upload-offset"], "0");
    assert_eq!(
        head.headers()["upload-length"],
        data.len().to_string().as_str()
    );
    assert_eq!(head.headers()["cache-control"], "no-store");
    let echoed =
        garrison_transfer::tus::parse_metadata(Some(head.headers()["upload-metadata"].as_bytes()))
            .expect("metadata");
    assert_eq!(echoed["filename"], b"assessment-jane-doe.pdf");
    assert_eq!(echoed["recipient"], b"bob-inbox");

    // Wrong content type, wrong offset, missing offset.
    let r = send(
        &h,
        "alice",
        "PATCH",
        &path,
        &[
            ("content-type", "application/octet-stream"),
            ("upload-offset", "0"),
        ],
        b"abc".to_vec(),
    )
    .await;
    assert_problem(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    let r = patch(&h, &path, 5, b"abc").await;
    assert_problem(&r, 409, "UPLOAD_OFFSET_CONFLICT");
    let r = send(
        &h,
        "alice",
        "PATCH",
        &path,
        &[("content-type", "application/offset+octet-stream")],
        b"abc".to_vec(),
    )
    .await;
    assert_problem(&r, 400, "BAD_REQUEST");

    // A piece that ends inside a segment, then one that crosses two segment boundaries.
    let cut1 = SEGMENT / 2 + 3;
    let r = patch(&h, &path, 0, &data[..cut1]).await;
    assert_eq!(r.status(), 204, "{}", String::from_utf8_lossy(r.body()));
    assert_eq!(r.headers()["upload-offset"], cut1.to_string().as_str());
    assert!(r.headers().contains_key("upload-expires"));
    let cut2 = 2 * SEGMENT + 100;
    let r = patch(&h, &path, cut1, &data[cut1..cut2]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(offset(&h, &path).await, cut2 as u64);

    // A checksum that does not match: 460, and the offset does not move.
    let wrong = format!("sha256 {}", STANDARD.encode(Sha256::digest(b"other")));
    let r = send(
        &h,
        "alice",
        "PATCH",
        &path,
        &[
            ("content-type", "application/offset+octet-stream"),
            ("upload-offset", &cut2.to_string()),
            ("upload-checksum", &wrong),
        ],
        data[cut2..].to_vec(),
    )
    .await;
    assert_problem(&r, 460, "CHECKSUM_MISMATCH");
    assert_eq!(offset(&h, &path).await, cut2 as u64);
    // An unsupported algorithm: 400.
    let r = send(
        &h,
        "alice",
        "PATCH",
        &path,
        &[
            ("content-type", "application/offset+octet-stream"),
            ("upload-offset", &cut2.to_string()),
            ("upload-checksum", "md5 AAAAAAAAAAAAAAAAAAAAAA=="),
        ],
        data[cut2..].to_vec(),
    )
    .await;
    assert_problem(&r, 400, "BAD_REQUEST");
    // More bytes than the upload declared: 413.
    let mut too_much = data[cut2..].to_vec();
    too_much.push(0);
    let r = patch(&h, &path, cut2, &too_much).await;
    assert_problem(&r, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(offset(&h, &path).await, cut2 as u64);
    // Another consumer cannot see, append to or delete it.
    let r = send(&h, "carol", "HEAD", &path, &[], Vec::new()).await;
    assert_eq!(r.status(), 404);
    let r = send(&h, "carol", "DELETE", &path, &[], Vec::new()).await;
    assert_problem(&r, 404, "MATCHING_RESOURCE_NOT_FOUND");

    // The right checksum completes it.
    let right = format!("sha256 {}", STANDARD.encode(Sha256::digest(&data[cut2..])));
    let r = send(
        &h,
        "alice",
        "PATCH",
        &path,
        &[
            ("content-type", "application/offset+octet-stream"),
            ("upload-offset", &cut2.to_string()),
            ("upload-checksum", &right),
        ],
        data[cut2..].to_vec(),
    )
    .await;
    assert_eq!(r.status(), 204, "{}", String::from_utf8_lossy(r.body()));
    assert_eq!(
        r.headers()["upload-offset"],
        data.len().to_string().as_str()
    );
    // Complete: an empty PATCH at the end is answered with the offset; a byte more is 413.
    let r = patch(&h, &path, data.len(), b"").await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["upload-offset"],
        data.len().to_string().as_str()
    );
    let r = patch(&h, &path, data.len(), b"x").await;
    assert_problem(&r, 413, "PAYLOAD_TOO_LARGE");
    // A delivered file is the recipient's: the sender cannot terminate it.
    let r = send(&h, "alice", "DELETE", &path, &[], Vec::new()).await;
    assert_problem(&r, 403, "RESOURCE_FORBIDDEN");

    // Termination of an incomplete upload: 204, then 404.
    let other = create(&h, "alice", 100, "bob-inbox").await;
    assert_eq!(patch(&h, &other, 0, &data[..10]).await.status(), 204);
    let r = send(&h, "alice", "DELETE", &other, &[], Vec::new()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let r = send(&h, "alice", "HEAD", &other, &[], Vec::new()).await;
    assert_eq!(r.status(), 404);
    let r = patch(&h, &other, 10, b"x").await;
    assert_problem(&r, 404, "MATCHING_RESOURCE_NOT_FOUND");
    // An id that is not one: 404 too.
    let r = send(
        &h,
        "alice",
        "HEAD",
        &format!("{BASE}/uploads/nothing"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 404);

    // The recipient's inbox, the download (streamed, verified, with its digest), a range.
    let list = h
        .get_as("bob", &format!("{BASE}/inboxes/bob-inbox/files"))
        .await;
    assert_eq!(list.status(), 200);
    let files = json(&list)["files"].as_array().expect("files").clone();
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file["sender"], "alice");
    assert_eq!(file["documentType"], "medical-assessment");
    assert_eq!(file["filename"], "assessment-jane-doe.pdf");
    assert_eq!(file["size"], data.len());
    let digest = STANDARD.encode(Sha256::digest(&data));
    assert_eq!(file["sha256"], digest.as_str());
    let id = file["id"].as_str().expect("id").to_owned();
    assert!(path.ends_with(&id));
    let file_path = format!("{BASE}/inboxes/bob-inbox/files/{id}");
    let download = h.get_as("bob", &file_path).await;
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["repr-digest"],
        format!("sha-256=:{digest}:").as_str()
    );
    assert_eq!(download.headers()["accept-ranges"], "bytes");
    assert!(
        download.body()[..] == data[..],
        "the file comes back intact"
    );
    let r = send(
        &h,
        "bob",
        "GET",
        &file_path,
        &[("range", &format!("bytes={}-{}", SEGMENT - 5, SEGMENT + 4))],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes {}-{}/{}", SEGMENT - 5, SEGMENT + 4, data.len()).as_str()
    );
    assert_eq!(&r.body()[..], &data[SEGMENT - 5..SEGMENT + 5]);
    let r = send(
        &h,
        "bob",
        "GET",
        &file_path,
        &[("range", "bytes=-10")],
        Vec::new(),
    )
    .await;
    assert_eq!(&r.body()[..], &data[data.len() - 10..]);
    let r = send(
        &h,
        "bob",
        "GET",
        &file_path,
        &[("range", &format!("bytes={}-", data.len()))],
        Vec::new(),
    )
    .await;
    assert_problem(&r, 416, "RANGE_NOT_SATISFIABLE");
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{}", data.len()).as_str()
    );

    // Nobody else reads bob's inbox; the sender neither.
    for who in ["alice", "carol"] {
        let r = h
            .get_as(who, &format!("{BASE}/inboxes/bob-inbox/files"))
            .await;
        assert_problem(&r, 403, "RESOURCE_FORBIDDEN");
        let r = h.get_as(who, &file_path).await;
        assert_problem(&r, 403, "RESOURCE_FORBIDDEN");
    }
    // And the file is not in carol's inbox.
    let r = h
        .get_as("carol", &format!("{BASE}/inboxes/carol-inbox/files/{id}"))
        .await;
    assert_problem(&r, 404, "MATCHING_RESOURCE_NOT_FOUND");

    // At rest: no stored file contains any 32-byte run of the plaintext, nor the file name.
    // (One pass over each stored file, looking every 32-byte window up among the probes.)
    let probes: std::collections::HashSet<&[u8]> = (0..data.len() - 32)
        .step_by(4099)
        .map(|i| &data[i..i + 32])
        .collect();
    for stored in all_stored_bytes(&files_dir(&h)) {
        assert!(
            !stored.windows(32).any(|w| probes.contains(w)),
            "plaintext on disk"
        );
        assert!(
            !stored.windows(8).any(|w| w == b"jane-doe"),
            "file name on disk"
        );
    }

    // Acknowledged, then deleted by the sweep (here after 0s, at the next sweep).
    let r = send(
        &h,
        "bob",
        "POST",
        &format!("{file_path}/acknowledgement"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn a_flipped_bit_in_a_stored_segment_is_detected_on_download() {
    let h = start().await;
    let data = content(2 * SEGMENT + 10);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    assert_eq!(patch(&h, &path, 0, &data).await.status(), 204);
    let id = path.rsplit('/').next().expect("id").to_owned();
    let file_path = format!("{BASE}/inboxes/bob-inbox/files/{id}");
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
    let id = path.rsplit('/').next().expect("id");
    let download = h
        .get_as("bob", &format!("{BASE}/inboxes/bob-inbox/files/{id}"))
        .await;
    assert!(download.body()[..] == data[..]);
}

#[tokio::test]
async fn an_expired_upload_is_gone() {
    let h = Harness::start(setup("1s", "1h")).await;
    let path = create(&h, "alice", 10, "bob-inbox").await;
    let mut status = 0;
    for _ in 0..60 {
        status = send(&h, "alice", "HEAD", &path, &[], Vec::new())
            .await
            .status()
            .as_u16();
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
async fn a_restart_mid_upload_loses_nothing_acknowledged_and_deletions_are_audited() {
    let h = Harness::start(setup("1h", "1s")).await;
    let data = content(2 * SEGMENT + 5);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    let cut = SEGMENT + 12_345;
    assert_eq!(patch(&h, &path, 0, &data[..cut]).await.status(), 204);

    // Stop the gateway and start a new one on the same configuration and store.
    let Harness {
        gateway,
        dir,
        pki,
        consumers,
        setup,
        refused,
        admin_token,
        upstream,
        ..
    } = h;
    gateway.shutdown(Duration::from_secs(5)).await;
    let config = garrison_config::load(&dir.join("garrison.yaml")).expect("config");
    let gateway = garrison_gateway::Gateway::start(config)
        .await
        .expect("restart");
    let addr = gateway.listen_addrs()[0];
    let h = Harness {
        dir,
        pki,
        gateway,
        upstream,
        addr,
        consumers,
        setup,
        refused,
        admin_token,
    };
    assert_eq!(
        offset(&h, &path).await,
        cut as u64,
        "the offset survived the restart"
    );
    let r = patch(&h, &path, cut, &data[cut..]).await;
    assert_eq!(r.status(), 204);
    let id = path.rsplit('/').next().expect("id").to_owned();
    let file_path = format!("{BASE}/inboxes/bob-inbox/files/{id}");
    let download = h.get_as("bob", &file_path).await;
    assert!(download.body()[..] == data[..], "intact across the restart");

    // Acknowledge; the sweep (every second, 0s grace) deletes it: poll, bounded.
    let r = send(
        &h,
        "bob",
        "POST",
        &format!("{file_path}/acknowledgement"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 204);
    // The sweep removes the record (from then on: 404) and then the file's directory, so
    // both are polled for.
    let mut status = 0;
    for _ in 0..100 {
        status = h.get_as("bob", &file_path).await.status().as_u16();
        if status == 404 && !files_dir(&h).join(&id).exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 404, "deleted after acknowledgement");
    assert!(
        !files_dir(&h).join(&id).exists(),
        "its segments removed too"
    );

    // The audit trail: every step, with the file's facts and never its content.
    let audit_dir = h.dir.join("audit");
    h.gateway.shutdown(Duration::from_secs(5)).await;
    let found = garrison_audit::search(&audit_dir, &SearchFilter::default()).expect("search");
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

#[tokio::test]
async fn refusals_are_audited_with_what_was_asked() {
    let h = start().await;
    let r = send(
        &h,
        "carol",
        "POST",
        &format!("{BASE}/uploads"),
        &[
            ("upload-length", "10"),
            (
                "upload-metadata",
                &metadata("bob-inbox", "medical-assessment"),
            ),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 403);
    let path = create(&h, "alice", 10, "bob-inbox").await;
    assert_eq!(patch(&h, &path, 3, b"x").await.status(), 409);
    let audit_dir = h.dir.join("audit");
    h.gateway.shutdown(Duration::from_secs(5)).await;
    let found = garrison_audit::search(&audit_dir, &SearchFilter::default()).expect("search");
    let refused: Vec<_> = found
        .iter()
        .map(|f| &f.record)
        .filter(|r| matches!(r.decision, Decision::Refused { .. }))
        .collect();
    let entitlement = refused
        .iter()
        .find(|r| r.consumer.as_deref() == Some("carol"))
        .expect("carol's refusal");
    assert_eq!(
        entitlement.decision,
        Decision::Refused {
            reason: "RESOURCE_FORBIDDEN".into()
        }
    );
    assert_eq!(entitlement.operation, "evidence.create");
    let facts = entitlement.file.as_ref().expect("facts");
    assert_eq!(facts.recipient, "bob-inbox");
    assert_eq!(facts.size, 10);
    assert!(refused.iter().any(|r| r.decision
        == Decision::Refused {
            reason: "UPLOAD_OFFSET_CONFLICT".into()
        }
        && r.operation == "evidence.append"));
}

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
    let id = path.rsplit('/').next().expect("id");
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
    assert_eq!(
        r.headers()["upload-offset"],
        data.len().to_string().as_str()
    );
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
        .send(garrison_testkit::client::get(
            &format!("{BASE}/inboxes/bob-inbox/files/{id}"),
            Some(&bob),
        ))
        .await
        .expect("response");
    assert_eq!(r.status(), 200);
    assert!(
        r.body()[..] == data[..],
        "the file comes back intact over h2"
    );
}
