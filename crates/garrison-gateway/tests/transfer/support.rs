//! Shared setup and tus request helpers: harness, requests as a consumer, uploads, audit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use garrison_audit::{Found, SearchFilter};
use garrison_testkit::client::{Protocol, request};
use http::Response;

use crate::common::{self, Harness, Setup};

pub(crate) const BASE: &str = common::TRANSFER_BASE;
pub(crate) const SEGMENT: usize = 1 << 20;

pub(crate) fn setup(expiry: &str, sweep: &str) -> Setup {
    common::transfer_setup(expiry, sweep)
}

pub(crate) async fn start() -> Harness {
    Harness::start(setup("1h", "1h")).await
}

/// Sends a request as `consumer` with `headers` (and `Tus-Resumable: 1.0.0` unless a header
/// of that name is given, even empty, which then replaces it).
pub(crate) async fn send(
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

/// A bodiless `HEAD` of `path` as `consumer`.
pub(crate) async fn head_as(h: &Harness, consumer: &str, path: &str) -> Response<Bytes> {
    send(h, consumer, "HEAD", path, &[], Vec::new()).await
}

/// A bodiless `DELETE` of `path` as `consumer`.
pub(crate) async fn delete_as(h: &Harness, consumer: &str, path: &str) -> Response<Bytes> {
    send(h, consumer, "DELETE", path, &[], Vec::new()).await
}

pub(crate) fn metadata(recipient: &str, document_type: &str) -> String {
    format!(
        "recipient {},document_type {},filename {}",
        STANDARD.encode(recipient),
        STANDARD.encode(document_type),
        STANDARD.encode("assessment-jane-doe.pdf")
    )
}

/// Creates an upload of `length` bytes as `consumer`; returns its path.
pub(crate) async fn create(h: &Harness, consumer: &str, length: usize, recipient: &str) -> String {
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

pub(crate) async fn patch(h: &Harness, path: &str, offset: usize, body: &[u8]) -> Response<Bytes> {
    patch_with(h, path, offset, body, &[]).await
}

/// Like [`patch`], with an `Upload-Checksum` header.
pub(crate) async fn patch_with_checksum(
    h: &Harness,
    path: &str,
    offset: usize,
    body: &[u8],
    checksum: &str,
) -> Response<Bytes> {
    patch_with(h, path, offset, body, &[("upload-checksum", checksum)]).await
}

/// Alice's `PATCH` of `body` at `offset`, with `extra` headers.
async fn patch_with(
    h: &Harness,
    path: &str,
    offset: usize,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Response<Bytes> {
    let offset = offset.to_string();
    let mut headers = vec![
        ("content-type", "application/offset+octet-stream"),
        ("upload-offset", offset.as_str()),
    ];
    headers.extend_from_slice(extra);
    send(h, "alice", "PATCH", path, &headers, body.to_vec()).await
}

pub(crate) async fn offset(h: &Harness, path: &str) -> u64 {
    let r = head_as(h, "alice", path).await;
    assert_eq!(r.status(), 200);
    r.headers()["upload-offset"]
        .to_str()
        .expect("offset")
        .parse()
        .expect("number")
}

/// The answer's `Upload-Offset` is `want`.
#[track_caller]
pub(crate) fn assert_upload_offset(r: &Response<Bytes>, want: usize) {
    assert_eq!(r.headers()["upload-offset"], want.to_string().as_str());
}

/// The file id at the end of an upload's path.
pub(crate) fn id_of(upload: &str) -> &str {
    upload.rsplit('/').next().expect("id")
}

/// The path of file `id` in bob's inbox.
pub(crate) fn bob_file(id: &str) -> String {
    format!("{BASE}/inboxes/bob-inbox/files/{id}")
}

/// Acknowledges the inbox file at `file_path` as bob.
pub(crate) async fn acknowledge(h: &Harness, file_path: &str) -> Response<Bytes> {
    send(
        h,
        "bob",
        "POST",
        &format!("{file_path}/acknowledgement"),
        &[],
        Vec::new(),
    )
    .await
}

pub(crate) fn content(len: usize) -> Vec<u8> {
    let phrase = b"CONFIDENTIAL medical assessment of Jane Doe, NI QQ123456C. ";
    (0..len)
        .map(|i| phrase[i % phrase.len()].wrapping_add((i / 7919) as u8 % 3))
        .collect()
}

pub(crate) fn files_dir(h: &Harness) -> PathBuf {
    h.dir.join("transfers").join("files")
}

pub(crate) fn all_stored_bytes(dir: &Path) -> Vec<Vec<u8>> {
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

/// Shuts the gateway down (flushing its audit log) and reads back every audit record.
pub(crate) async fn audit_after_shutdown(h: Harness) -> Vec<Found> {
    let audit_dir = h.dir.join("audit");
    h.gateway.shutdown(Duration::from_secs(5)).await;
    garrison_audit::search(&audit_dir, &SearchFilter::default()).expect("search")
}

/// Stops the gateway and starts a new one on the same configuration and store.
pub(crate) async fn restart(h: Harness) -> Harness {
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
    Harness {
        dir,
        pki,
        gateway,
        upstream,
        addr,
        consumers,
        setup,
        refused,
        admin_token,
    }
}
