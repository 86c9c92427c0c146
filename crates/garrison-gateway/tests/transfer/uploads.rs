//! An upload's whole life over HTTP/1.1: pieces, checksums, termination, inbox and download.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use garrison_testkit::client::json;
use http::Response;
use sha2::{Digest, Sha256};

use crate::common::{Harness, assert_problem};
use crate::support::{
    BASE, SEGMENT, acknowledge, all_stored_bytes, assert_upload_offset, bob_file, content, create,
    delete_as, files_dir, head_as, metadata, offset, patch, patch_with_checksum, send, start,
};

#[tokio::test]
async fn an_upload_in_pieces_with_checksums_conflicts_and_termination() {
    let h = start().await;
    let data = content(3 * SEGMENT + 777);
    let path = create(&h, "alice", data.len(), "bob-inbox").await;
    let head = head_as(&h, "alice", &path).await;
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
    assert_upload_offset(&r, cut1);
    assert!(r.headers().contains_key("upload-expires"));
    let cut2 = 2 * SEGMENT + 100;
    let r = patch(&h, &path, cut1, &data[cut1..cut2]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(offset(&h, &path).await, cut2 as u64);

    // A checksum that does not match: 460, and the offset does not move.
    let wrong = format!("sha256 {}", STANDARD.encode(Sha256::digest(b"other")));
    let r = patch_with_checksum(&h, &path, cut2, &data[cut2..], &wrong).await;
    assert_problem(&r, 460, "CHECKSUM_MISMATCH");
    assert_eq!(offset(&h, &path).await, cut2 as u64);
    // An unsupported algorithm: 400.
    let md5 = "md5 AAAAAAAAAAAAAAAAAAAAAA==";
    let r = patch_with_checksum(&h, &path, cut2, &data[cut2..], md5).await;
    assert_problem(&r, 400, "BAD_REQUEST");
    // More bytes than the upload declared: 413.
    let mut too_much = data[cut2..].to_vec();
    too_much.push(0);
    let r = patch(&h, &path, cut2, &too_much).await;
    assert_problem(&r, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(offset(&h, &path).await, cut2 as u64);
    // Another consumer cannot see, append to or delete it.
    let r = head_as(&h, "carol", &path).await;
    assert_eq!(r.status(), 404);
    let r = delete_as(&h, "carol", &path).await;
    assert_problem(&r, 404, "MATCHING_RESOURCE_NOT_FOUND");

    // The right checksum completes it.
    let right = format!("sha256 {}", STANDARD.encode(Sha256::digest(&data[cut2..])));
    let r = patch_with_checksum(&h, &path, cut2, &data[cut2..], &right).await;
    assert_eq!(r.status(), 204, "{}", String::from_utf8_lossy(r.body()));
    assert_upload_offset(&r, data.len());
    // Complete: an empty PATCH at the end is answered with the offset; a byte more is 413.
    let r = patch(&h, &path, data.len(), b"").await;
    assert_eq!(r.status(), 204);
    assert_upload_offset(&r, data.len());
    let r = patch(&h, &path, data.len(), b"x").await;
    assert_problem(&r, 413, "PAYLOAD_TOO_LARGE");
    // A delivered file is the recipient's: the sender cannot terminate it.
    let r = delete_as(&h, "alice", &path).await;
    assert_problem(&r, 403, "RESOURCE_FORBIDDEN");

    // Termination of an incomplete upload: 204, then 404.
    let other = create(&h, "alice", 100, "bob-inbox").await;
    assert_eq!(patch(&h, &other, 0, &data[..10]).await.status(), 204);
    let r = delete_as(&h, "alice", &other).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let r = head_as(&h, "alice", &other).await;
    assert_eq!(r.status(), 404);
    let r = patch(&h, &other, 10, b"x").await;
    assert_problem(&r, 404, "MATCHING_RESOURCE_NOT_FOUND");
    // An id that is not one: 404 too.
    let r = head_as(&h, "alice", &format!("{BASE}/uploads/nothing")).await;
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
    let file_path = bob_file(&id);
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
    let r = get_range(
        &h,
        &file_path,
        &format!("bytes={}-{}", SEGMENT - 5, SEGMENT + 4),
    )
    .await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes {}-{}/{}", SEGMENT - 5, SEGMENT + 4, data.len()).as_str()
    );
    assert_eq!(&r.body()[..], &data[SEGMENT - 5..SEGMENT + 5]);
    let r = get_range(&h, &file_path, "bytes=-10").await;
    assert_eq!(&r.body()[..], &data[data.len() - 10..]);
    let r = get_range(&h, &file_path, &format!("bytes={}-", data.len())).await;
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
    let r = acknowledge(&h, &file_path).await;
    assert_eq!(r.status(), 204);
}

/// A creation-with-upload whose body is refused still created the upload: the refusal says
/// where it is and from which offset to resume, and the client finishes it there.
#[tokio::test]
async fn a_refused_creation_body_leaves_the_upload_resumable() {
    let h = start().await;
    let data = content(1000);
    let wrong = format!("sha256 {}", STANDARD.encode(Sha256::digest(b"other")));
    let r = send(
        &h,
        "alice",
        "POST",
        &format!("{BASE}/uploads"),
        &[
            ("upload-length", &data.len().to_string()),
            (
                "upload-metadata",
                &metadata("bob-inbox", "medical-assessment"),
            ),
            ("content-type", "application/offset+octet-stream"),
            ("upload-checksum", &wrong),
        ],
        data.clone(),
    )
    .await;
    assert_problem(&r, 460, "CHECKSUM_MISMATCH");
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert_upload_offset(&r, 0);
    let path = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(path.starts_with(&format!("{BASE}/uploads/")), "{path}");
    assert_eq!(head_as(&h, "alice", &path).await.status(), 200);
    let r = patch(&h, &path, 0, &data).await;
    assert_eq!(r.status(), 204, "{}", String::from_utf8_lossy(r.body()));
    assert_upload_offset(&r, data.len());
}

/// A `GET` of the inbox file at `file_path` as bob, for the byte `range`.
async fn get_range(h: &Harness, file_path: &str, range: &str) -> Response<Bytes> {
    send(h, "bob", "GET", file_path, &[("range", range)], Vec::new()).await
}
