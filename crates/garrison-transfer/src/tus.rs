//! The tus 1.0.0 resumable upload protocol: strict parsing of its headers and the status each
//! malformed or conflicting request earns. Pure functions, no I/O: the gateway calls them
//! before it touches the store, so a refused request never stores a byte.
//!
//! Extensions served: `creation`, `creation-with-upload`, `checksum` (sha256, sha512),
//! `termination` and `expiration`. `creation-defer-length` and `concatenation` are not: an
//! upload states its length when it is created.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The only protocol version served (`Tus-Resumable`, `Tus-Version`).
pub const VERSION: &str = "1.0.0";
/// The extensions served, as `Tus-Extension` lists them.
pub const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
/// The checksum algorithms accepted in `Upload-Checksum`, as `Tus-Checksum-Algorithm` lists
/// them.
pub const CHECKSUM_ALGORITHMS: &str = "sha256,sha512";
/// The content type of every `PATCH` body (and of a creation-with-upload body).
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// Most key/value pairs in `Upload-Metadata`.
pub const MAX_METADATA_PAIRS: usize = 16;
/// Longest `Upload-Metadata` header, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Longest metadata key, in bytes.
pub const MAX_METADATA_KEY: usize = 64;

/// Why a tus request is refused, with the status the protocol gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TusError {
    /// `Tus-Resumable` is missing or names another version: 412 Precondition Failed.
    #[error("Tus-Resumable must be {VERSION}")]
    UnsupportedVersion,
    /// A header is missing or malformed: 400 Bad Request.
    #[error("{0}")]
    BadHeader(String),
    /// The body is not `application/offset+octet-stream`: 415 Unsupported Media Type.
    #[error("the body must be application/offset+octet-stream")]
    UnsupportedMediaType,
    /// `Upload-Offset` is not where the upload stands: 409 Conflict.
    #[error("Upload-Offset {sent} does not match the upload's offset {actual}")]
    OffsetConflict {
        /// The offset the client sent.
        sent: u64,
        /// The offset of the upload.
        actual: u64,
    },
    /// The upload (or the body) is larger than allowed: 413 Content Too Large.
    #[error("the upload is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The body does not match `Upload-Checksum`: 460 Checksum Mismatch.
    #[error("the body does not match Upload-Checksum")]
    ChecksumMismatch,
}

impl TusError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            TusError::UnsupportedVersion => 412,
            TusError::BadHeader(_) => 400,
            TusError::UnsupportedMediaType => 415,
            TusError::OffsetConflict { .. } => 409,
            TusError::TooLarge { .. } => 413,
            TusError::ChecksumMismatch => 460,
        }
    }
}

/// Checks `Tus-Resumable` (required on every request but `OPTIONS`).
pub fn check_version(value: Option<&[u8]>) -> Result<(), TusError> {
    match value {
        Some(v) if v == VERSION.as_bytes() => Ok(()),
        _ => Err(TusError::UnsupportedVersion),
    }
}

/// Parses a non-negative decimal header (`Upload-Length`, `Upload-Offset`): digits only, no
/// sign, no spaces, no leading `+`, at most 19 digits so it fits in a `u64` with room.
pub fn parse_u64(name: &str, value: Option<&[u8]>) -> Result<u64, TusError> {
    let Some(value) = value else {
        return Err(TusError::BadHeader(format!("{name} is required")));
    };
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(TusError::BadHeader(format!(
            "{name} must be a non-negative whole number"
        )));
    }
    let mut n: u64 = 0;
    for d in value {
        n = n * 10 + u64::from(d - b'0');
    }
    Ok(n)
}

/// Checks that a body's content type is `application/offset+octet-stream` (parameters are
/// not allowed: the spec names the exact type).
pub fn check_content_type(value: Option<&[u8]>) -> Result<(), TusError> {
    match value {
        Some(v) if v.eq_ignore_ascii_case(OFFSET_OCTET_STREAM.as_bytes()) => Ok(()),
        _ => Err(TusError::UnsupportedMediaType),
    }
}

/// `Upload-Metadata`, decoded: keys to raw values (a key may have no value).
pub type Metadata = BTreeMap<String, Vec<u8>>;

/// Parses `Upload-Metadata`: comma-separated pairs of a key (printable ASCII, no spaces or
/// commas, at most [`MAX_METADATA_KEY`] bytes) and an optional strictly padded base64 value;
/// at most [`MAX_METADATA_PAIRS`] pairs in [`MAX_METADATA_BYTES`] bytes; keys unique.
pub fn parse_metadata(value: Option<&[u8]>) -> Result<Metadata, TusError> {
    let bad = |why: &str| TusError::BadHeader(format!("Upload-Metadata: {why}"));
    let mut out = Metadata::new();
    let Some(value) = value else {
        return Ok(out);
    };
    if value.len() > MAX_METADATA_BYTES {
        return Err(bad(&format!("longer than {MAX_METADATA_BYTES} bytes")));
    }
    let text = std::str::from_utf8(value).map_err(|_| bad("not ASCII"))?;
    if text.is_empty() {
        return Ok(out);
    }
    for pair in text.split(',') {
        let mut parts = pair.split(' ');
        let key = parts.next().unwrap_or_default();
        let encoded = parts.next();
        if parts.next().is_some() {
            return Err(bad(
                "a pair is a key and one base64 value separated by one space",
            ));
        }
        if key.is_empty()
            || key.len() > MAX_METADATA_KEY
            || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',')
        {
            return Err(bad(
                "a key is 1-64 printable characters without spaces or commas",
            ));
        }
        let decoded = match encoded {
            None => Vec::new(),
            Some(v) => STANDARD
                .decode(v)
                .map_err(|_| bad(&format!("the value of {key:?} is not base64")))?,
        };
        if out.insert(key.to_owned(), decoded).is_some() {
            return Err(bad(&format!("{key:?} appears twice")));
        }
        if out.len() > MAX_METADATA_PAIRS {
            return Err(bad(&format!("more than {MAX_METADATA_PAIRS} pairs")));
        }
    }
    Ok(out)
}

/// A checksum algorithm of the checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// A parsed `Upload-Checksum`: the algorithm and the expected digest of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadChecksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The expected digest.
    pub digest: Vec<u8>,
}

/// Parses `Upload-Checksum: <algorithm> <base64 digest>`; an unknown algorithm or a digest of
/// the wrong length is 400 (the spec's "unsupported algorithm").
pub fn parse_checksum(value: Option<&[u8]>) -> Result<Option<UploadChecksum>, TusError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let bad = |why: &str| TusError::BadHeader(format!("Upload-Checksum: {why}"));
    let text = std::str::from_utf8(value).map_err(|_| bad("not ASCII"))?;
    let (name, encoded) = text
        .split_once(' ')
        .ok_or_else(|| bad("expected an algorithm and a base64 digest"))?;
    let (algorithm, len) = match name {
        "sha256" => (ChecksumAlgorithm::Sha256, 32),
        "sha512" => (ChecksumAlgorithm::Sha512, 64),
        _ => {
            return Err(bad(&format!(
                "unsupported algorithm; use one of {CHECKSUM_ALGORITHMS}"
            )));
        }
    };
    let digest = STANDARD
        .decode(encoded)
        .map_err(|_| bad("the digest is not base64"))?;
    if digest.len() != len {
        return Err(bad("the digest has the wrong length for its algorithm"));
    }
    Ok(Some(UploadChecksum { algorithm, digest }))
}

/// Decides a `PATCH` before its body is read: the content type (415), the offset the client
/// believes in (409), and whether the declared body could overrun the upload (413).
pub fn check_patch(
    content_type: Option<&[u8]>,
    upload_offset: Option<&[u8]>,
    content_length: Option<u64>,
    current_offset: u64,
    upload_length: u64,
) -> Result<u64, TusError> {
    check_content_type(content_type)?;
    let sent = parse_u64("Upload-Offset", upload_offset)?;
    if sent != current_offset {
        return Err(TusError::OffsetConflict {
            sent,
            actual: current_offset,
        });
    }
    if let Some(length) = content_length
        && current_offset.saturating_add(length) > upload_length
    {
        return Err(TusError::TooLarge { max: upload_length });
    }
    Ok(sent)
}

/// Formats metadata as `Upload-Metadata` carries it (keys in order, values base64).
pub fn format_metadata(metadata: &Metadata) -> String {
    metadata
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k} {}", STANDARD.encode(v))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Formats seconds since the Unix epoch as an RFC 9110 IMF-fixdate (`Upload-Expires`).
pub fn http_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_must_be_exactly_1_0_0() {
        assert_eq!(check_version(Some(b"1.0.0")), Ok(()));
        for bad in [None, Some(&b"0.2.2"[..]), Some(b"1.0.0 "), Some(b"")] {
            assert_eq!(check_version(bad), Err(TusError::UnsupportedVersion));
            assert_eq!(TusError::UnsupportedVersion.status(), 412);
        }
    }

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(parse_u64("Upload-Length", Some(b"0")), Ok(0));
        assert_eq!(parse_u64("Upload-Length", Some(b"1048576")), Ok(1 << 20));
        for bad in [
            &b"-1"[..],
            b"+1",
            b" 1",
            b"1.0",
            b"",
            b"0x10",
            b"99999999999999999999",
        ] {
            assert!(parse_u64("Upload-Length", Some(bad)).is_err(), "{bad:?}");
        }
        assert!(parse_u64("Upload-Length", None).is_err());
    }

    #[test]
    fn metadata_is_parsed_strictly() {
        let m = parse_metadata(Some(
            b"recipient aW5ib3g=,type bWVkaWNhbA==,is_confidential",
        ))
        .expect("valid");
        assert_eq!(m["recipient"], b"inbox");
        assert_eq!(m["type"], b"medical");
        assert_eq!(m["is_confidential"], b"");
        for bad in [
            &b"key not-base64!"[..],
            b"key aW5ib3g",        // unpadded
            b"key aW5ib3g= extra", // three parts
            b"a YQ==,a Yg==",      // duplicate key
            b" YQ==",              // empty key
            b"k\xffey YQ==",       // not ASCII
        ] {
            let e = parse_metadata(Some(bad)).expect_err("invalid");
            assert_eq!(e.status(), 400, "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_METADATA_PAIRS)
            .map(|i| format!("k{i} YQ=="))
            .collect();
        assert!(parse_metadata(Some(many.join(",").as_bytes())).is_err());
        let long = format!("k {}", "QUFB".repeat(MAX_METADATA_BYTES / 4 + 1));
        assert!(parse_metadata(Some(long.as_bytes())).is_err());
        assert!(parse_metadata(None).expect("absent").is_empty());
        let text = "a YQ==,empty,k aW5ib3g=";
        assert_eq!(
            format_metadata(&parse_metadata(Some(text.as_bytes())).expect("valid")),
            text
        );
    }

    #[test]
    fn checksums_name_a_supported_algorithm_and_a_digest_of_its_length() {
        let digest = STANDARD.encode([7u8; 32]);
        let parsed = parse_checksum(Some(format!("sha256 {digest}").as_bytes()))
            .expect("valid")
            .expect("present");
        assert_eq!(parsed.algorithm, ChecksumAlgorithm::Sha256);
        assert_eq!(parsed.digest, vec![7u8; 32]);
        for bad in [
            format!("md5 {digest}"),
            format!("sha1 {digest}"),
            "sha256 !!!".to_owned(),
            format!("sha512 {digest}"),
            "sha256".to_owned(),
        ] {
            let e = parse_checksum(Some(bad.as_bytes())).expect_err("invalid");
            assert_eq!(e.status(), 400, "{bad}");
        }
        assert_eq!(parse_checksum(None), Ok(None));
        assert_eq!(TusError::ChecksumMismatch.status(), 460);
    }

    #[test]
    fn patch_decisions() {
        let ct = Some(OFFSET_OCTET_STREAM.as_bytes());
        assert_eq!(check_patch(ct, Some(b"10"), Some(5), 10, 20), Ok(10));
        assert_eq!(
            check_patch(Some(b"application/octet-stream"), Some(b"10"), None, 10, 20)
                .map_err(|e| e.status()),
            Err(415)
        );
        assert_eq!(
            check_patch(ct, Some(b"5"), None, 10, 20).map_err(|e| e.status()),
            Err(409)
        );
        assert_eq!(
            check_patch(ct, Some(b"10"), Some(11), 10, 20).map_err(|e| e.status()),
            Err(413)
        );
        assert_eq!(
            check_patch(ct, None, None, 10, 20).map_err(|e| e.status()),
            Err(400)
        );
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
