//! tus conformance: `OPTIONS`, `Tus-Resumable`, and every refusal of a creation request.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use garrison_testkit::client::{Protocol, request};

use crate::common::assert_problem;
use crate::support::{BASE, content, files_dir, metadata, send, start};

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

/// A creation request's headers: `Upload-Length: 10` and `Upload-Metadata: metadata`.
fn ten_bytes_with(metadata: String) -> Vec<(&'static str, String)> {
    vec![
        ("upload-length", "10".into()),
        ("upload-metadata", metadata),
    ]
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
            ten_bytes_with("recipient !!!".into()),
            400,
            "BAD_REQUEST",
        ),
        (
            "too many metadata pairs",
            ten_bytes_with(
                (0..17)
                    .map(|i| format!("k{i} YQ=="))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            400,
            "BAD_REQUEST",
        ),
        (
            "no recipient",
            ten_bytes_with(format!("document_type {}", STANDARD.encode("fit-note"))),
            400,
            "BAD_REQUEST",
        ),
        (
            "unknown document type",
            ten_bytes_with(metadata("bob-inbox", "x-ray")),
            400,
            "BAD_REQUEST",
        ),
        (
            "an inbox alice may not send to",
            ten_bytes_with(metadata("carol-inbox", "medical-assessment")),
            403,
            "RESOURCE_FORBIDDEN",
        ),
        (
            "an inbox that does not exist",
            ten_bytes_with(metadata("nobody", "medical-assessment")),
            403,
            "RESOURCE_FORBIDDEN",
        ),
        (
            "a type alice may not send",
            ten_bytes_with(metadata("bob-inbox", "fit-note")),
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
