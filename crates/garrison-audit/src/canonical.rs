//! The canonical bytes of a record entry, written directly.
//!
//! The writer serialises every record once, on the gateway's dime: through serde_json's generic
//! machinery that cost about as much as hashing the line. This module writes the same bytes by
//! hand — the field names are constants, most strings need no escaping and are copied whole,
//! numbers and times are formatted without `fmt`. It must agree byte for byte with
//! `serde_json::to_writer` of the same entry (the chain hashes these bytes and the verifier
//! re-serialises with serde): the tests below compare the two over every shape a record takes,
//! and anything unusual (a file transfer's facts, a string that needs escaping) is handed to
//! serde_json itself.

use std::io::Write as _;
use std::net::IpAddr;

use crate::entry::Digest;
use crate::{AuditError, AuditRecord, Decision, PurposeHeader, SubjectHash, hex};

/// Appends `{"seq":…,"prev":…,"body":{"record":{…}}}` for `record` to `buf`.
pub(crate) fn write_record_entry(
    buf: &mut Vec<u8>,
    seq: u64,
    prev: &Digest,
    record: &AuditRecord,
) -> Result<(), AuditError> {
    buf.extend_from_slice(b"{\"seq\":");
    write_u64(buf, seq);
    buf.extend_from_slice(b",\"prev\":\"");
    buf.extend_from_slice(&hex::encode_32(&prev.0));
    buf.extend_from_slice(b"\",\"body\":{\"record\":{\"time\":\"");
    record.time.write_rfc3339(buf);
    buf.extend_from_slice(b"\",\"request_id\":");
    write_str(buf, &record.request_id)?;
    buf.extend_from_slice(b",\"consumer\":");
    write_opt_str(buf, record.consumer.as_deref())?;
    buf.extend_from_slice(b",\"application\":");
    write_opt_str(buf, record.application.as_deref())?;
    buf.extend_from_slice(b",\"client_cert_sha256\":");
    write_opt_str(buf, record.client_cert_sha256.as_deref())?;
    buf.extend_from_slice(b",\"source_addr\":");
    match record.source_addr {
        None => buf.extend_from_slice(b"null"),
        Some(ip) => write_ip(buf, ip),
    }
    buf.extend_from_slice(b",\"api\":");
    write_str(buf, &record.api)?;
    buf.extend_from_slice(b",\"operation\":");
    write_str(buf, &record.operation)?;
    buf.extend_from_slice(b",\"purpose\":{");
    for (i, (header, value)) in record.purpose.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        buf.extend_from_slice(purpose_name(*header).as_bytes());
        buf.extend_from_slice(b"\":");
        write_str(buf, value)?;
    }
    buf.extend_from_slice(b"},\"decision\":");
    match &record.decision {
        Decision::Allowed => buf.extend_from_slice(b"{\"outcome\":\"allowed\"}"),
        Decision::Refused { reason } => {
            buf.extend_from_slice(b"{\"outcome\":\"refused\",\"reason\":");
            write_str(buf, reason)?;
            buf.push(b'}');
        }
    }
    buf.extend_from_slice(b",\"upstream_status\":");
    match record.upstream_status {
        None => buf.extend_from_slice(b"null"),
        Some(status) => write_u64(buf, u64::from(status)),
    }
    buf.extend_from_slice(b",\"disclosed_fields\":[");
    for (i, field) in record.disclosed_fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_str(buf, field)?;
    }
    buf.extend_from_slice(b"],\"subject\":");
    match &record.subject {
        None => buf.extend_from_slice(b"null"),
        Some(subject) => write_subject(buf, subject)?,
    }
    if let Some(file) = &record.file {
        buf.extend_from_slice(b",\"file\":");
        serde_json::to_writer(&mut *buf, file).map_err(AuditError::Serialise)?;
    }
    if !record.other_subjects.is_empty() {
        buf.extend_from_slice(b",\"other_subjects\":[");
        for (i, subject) in record.other_subjects.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_subject(buf, subject)?;
        }
        buf.push(b']');
    }
    buf.extend_from_slice(b"}}}");
    Ok(())
}

/// `{"key_id":…,"hmac":…}`, as `SubjectHash` serialises.
fn write_subject(buf: &mut Vec<u8>, subject: &SubjectHash) -> Result<(), AuditError> {
    buf.extend_from_slice(b"{\"key_id\":");
    write_str(buf, subject.key_id())?;
    buf.extend_from_slice(b",\"hmac\":\"");
    buf.extend_from_slice(&hex::encode_32(subject.digest()));
    buf.extend_from_slice(b"\"}");
    Ok(())
}

/// The name serde gives a purpose header (`rename_all = "kebab-case"`).
fn purpose_name(header: PurposeHeader) -> &'static str {
    match header {
        PurposeHeader::Context => "context",
        PurposeHeader::PolicyId => "policy-id",
        PurposeHeader::CorrelationId => "correlation-id",
        PurposeHeader::InstigatingUserId => "instigating-user-id",
        PurposeHeader::AccessLevel => "access-level",
    }
}

fn write_opt_str(buf: &mut Vec<u8>, value: Option<&str>) -> Result<(), AuditError> {
    match value {
        None => {
            buf.extend_from_slice(b"null");
            Ok(())
        }
        Some(s) => write_str(buf, s),
    }
}

/// A JSON string. serde_json escapes only `"`, `\` and control characters below U+0020, so a
/// string without them is copied as it is; any other is left to serde_json.
fn write_str(buf: &mut Vec<u8>, value: &str) -> Result<(), AuditError> {
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.push(b'"');
        buf.extend_from_slice(value.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *buf, value).map_err(AuditError::Serialise)
    }
}

/// Decimal digits, as serde_json (itoa) writes them.
fn write_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// An address as serde writes it for human-readable formats: its `Display`, quoted.
fn write_ip(buf: &mut Vec<u8>, ip: IpAddr) {
    buf.push(b'"');
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                write_u64(buf, u64::from(octet));
            }
        }
        // Writing to a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(buf, "{v6}");
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::entry::Body;
    use crate::{FileFacts, SubjectKey, Timestamp};

    /// What serde_json writes for the hashed part of the entry.
    fn by_serde(seq: u64, prev: &Digest, record: &AuditRecord) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Hashed<'a> {
            seq: u64,
            prev: &'a Digest,
            body: &'a Body,
        }
        serde_json::to_vec(&Hashed {
            seq,
            prev,
            body: &Body::Record(record.clone()),
        })
        .unwrap()
    }

    fn by_hand(seq: u64, prev: &Digest, record: &AuditRecord) -> Vec<u8> {
        let mut buf = Vec::new();
        write_record_entry(&mut buf, seq, prev, record).unwrap();
        buf
    }

    fn records() -> Vec<AuditRecord> {
        let key = SubjectKey::new("k1", vec![7u8; 32]).unwrap();
        let bare = AuditRecord::new("r", "a", "o", Decision::Allowed);
        let mut full = AuditRecord::new(
            "req-ü-1",
            "citizen-api",
            "getPerson",
            Decision::Refused {
                reason: "RESOURCE_FORBIDDEN".into(),
            },
        );
        full.time = Timestamp::parse("2026-02-28T23:59:59.000001Z").unwrap();
        full.consumer = Some("dvla".into());
        full.application = Some("licensing".into());
        full.client_cert_sha256 = Some("ab".repeat(32));
        full.source_addr = Some("10.0.0.255".parse().unwrap());
        for (header, value) in [
            (PurposeHeader::Context, "licence-application"),
            (PurposeHeader::PolicyId, "p/1"),
            (PurposeHeader::CorrelationId, "c-1"),
            (PurposeHeader::InstigatingUserId, "staff 42"),
            (PurposeHeader::AccessLevel, "read"),
        ] {
            full.purpose.insert(header, value.into());
        }
        full.upstream_status = Some(503);
        full.disclosed_fields = vec!["/name".into(), "*".into(), "/address/postcode".into()];
        full.subject = Some(key.hash("AB123456C"));
        // Strings serde_json must escape, in every field that takes text.
        let mut escaped = full.clone();
        escaped.request_id = "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7f}".into();
        escaped.consumer = Some("line\u{2028}separator é".into());
        escaped
            .purpose
            .insert(PurposeHeader::Context, "\u{1f}".into());
        escaped.decision = Decision::Refused {
            reason: "\"".into(),
        };
        escaped.disclosed_fields = vec!["\\".into(), String::new()];
        escaped.source_addr = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)));
        let mut mapped = bare.clone();
        mapped.source_addr = Some("::ffff:192.0.2.1".parse().unwrap());
        mapped.upstream_status = Some(0);
        let mut transfer = full.clone();
        transfer.file = Some(Box::new(FileFacts {
            id: "f1".into(),
            sender: "s".into(),
            recipient: "r".into(),
            document_type: "t".into(),
            size: 10,
            offset: 5,
            sha256: Some("x".into()),
        }));
        let mut epoch = bare.clone();
        epoch.time = Timestamp::from_unix_micros(0);
        let mut household = full.clone();
        household.set_subjects(["AB123456C", "CD654321A", "AB123456C"].map(|id| key.hash(id)));
        assert_eq!(household.other_subjects.len(), 1, "the repeat is dropped");
        let mut household_transfer = transfer.clone();
        household_transfer.other_subjects = household.other_subjects.clone();
        vec![
            bare,
            full,
            escaped,
            mapped,
            transfer,
            epoch,
            household,
            household_transfer,
        ]
    }

    #[test]
    fn every_shape_of_record_is_written_as_serde_json_writes_it() {
        for (i, record) in records().iter().enumerate() {
            for (seq, prev) in [(1, Digest([0; 32])), (u64::MAX, Digest([0xa5; 32]))] {
                assert_eq!(
                    String::from_utf8(by_hand(seq, &prev, record)).unwrap(),
                    String::from_utf8(by_serde(seq, &prev, record)).unwrap(),
                    "record {i}"
                );
            }
        }
    }

    #[test]
    fn numbers_are_plain_decimal() {
        for n in [0, 9, 10, 99, 100, 65_535, 1_000_000, u64::MAX] {
            let mut buf = Vec::new();
            write_u64(&mut buf, n);
            assert_eq!(buf, n.to_string().into_bytes());
        }
    }
}
