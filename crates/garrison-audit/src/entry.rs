//! One entry of the chain and its canonical form.
//!
//! A stored line is `{"seq":…,"prev":…,"body":…,"hash":…}` followed by `\n`, where
//! `hash = SHA-256(prev || canonical)` and `canonical` is the serde_json serialisation of
//! `{"seq":…,"prev":…,"body":…}`.
//!
//! Why this serialisation is canonical: every type in an entry serialises through a struct with
//! a fixed field order or a `BTreeMap` (sorted keys); there are no floats (times are strings with
//! exactly six fractional digits, statuses are integers); digests are lowercase hex; and
//! serde_json writes compact JSON and escapes strings one way only. So parsing a line and
//! serialising it again yields the same bytes, and the verifier insists on it: a line that does
//! not re-serialise to itself (extra fields, whitespace, another escape of the same text) is
//! reported even when its hash would still match.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::{AuditError, AuditRecord, Timestamp, hex};

/// Prefix of the signed checkpoint message, so a checkpoint signature cannot be replayed as a
/// signature over anything else made with the same key.
const CHECKPOINT_DOMAIN: &[u8] = b"garrison-audit-checkpoint-v1\n";

/// A SHA-256 digest, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest(pub [u8; 32]);

/// The `prev` of the first entry ever written.
pub const GENESIS: Digest = Digest([0u8; 32]);

/// What an entry holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Body {
    /// An audit record.
    Record(AuditRecord),
    /// A signed statement of the chain head.
    Checkpoint(Checkpoint),
}

/// Why a checkpoint was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckpointReason {
    /// The first entry of every segment: anchors the segment so that verification can start
    /// there once older segments are removed by retention.
    SegmentStart,
    /// Every `checkpoint_interval` records.
    Interval,
    /// On a clean close.
    Close,
}

/// A signed statement "the chain up to `head_seq` ends in `head_hash`".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Sequence number of the entry the checkpoint covers (the one before it; 0 = empty chain).
    pub head_seq: u64,
    /// Hash of that entry (`GENESIS` for an empty chain).
    pub head_hash: Digest,
    /// When it was signed.
    pub time: Timestamp,
    /// Why it was written.
    pub reason: CheckpointReason,
    /// First 8 bytes of SHA-256 of the signing public key, hex: which key to verify with.
    pub key_id: String,
    /// Ed25519 signature (RFC 8032) over [`Checkpoint::signed_message`], hex.
    pub signature: SignatureHex,
}

/// An Ed25519 signature written as 128 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureHex(pub [u8; 64]);

/// An entry as stored on one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    /// Sequence number, from 1, without gaps across segments.
    pub seq: u64,
    /// Hash of the entry before (`GENESIS` for seq 1).
    pub prev: Digest,
    /// The record or checkpoint.
    pub body: Body,
    /// `SHA-256(prev || canonical bytes of {seq, prev, body})`.
    pub hash: Digest,
}

/// The hashed part of an entry, borrowed: the same fields, the same order, minus `hash`.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    prev: &'a Digest,
    body: &'a Body,
}

/// The signed part of a checkpoint: everything but the signature, plus the checkpoint's own
/// sequence number, so a checkpoint cannot be moved to another place in the chain.
#[derive(Serialize)]
struct Signed<'a> {
    seq: u64,
    head_seq: u64,
    head_hash: &'a Digest,
    time: &'a Timestamp,
    reason: CheckpointReason,
    key_id: &'a str,
}

// === impl StoredEntry ===

impl StoredEntry {
    /// Builds the entry after `prev`, computing its hash.
    pub fn new(seq: u64, prev: Digest, body: Body) -> Result<Self, AuditError> {
        let hash = entry_hash(seq, &prev, &body)?;
        Ok(StoredEntry {
            seq,
            prev,
            body,
            hash,
        })
    }

    /// The hash this entry should carry, recomputed from its content.
    pub fn computed_hash(&self) -> Result<Digest, AuditError> {
        entry_hash(self.seq, &self.prev, &self.body)
    }

    /// Appends the line of the entry after `prev` holding `body` to `buf`, and returns the
    /// entry's hash: what [`StoredEntry::new`] followed by [`StoredEntry::to_line`] gives, with
    /// one serialisation instead of two.
    ///
    /// The stored line is the hashed object with `"hash"` as a last member, so the canonical
    /// bytes are written once, hashed where they lie, and closed with the hash.
    pub fn append_line(
        buf: &mut Vec<u8>,
        seq: u64,
        prev: &Digest,
        body: &Body,
    ) -> Result<Digest, AuditError> {
        match body {
            Body::Record(record) => Self::append_record_line(buf, seq, prev, record),
            Body::Checkpoint(_) => finish_line(buf, prev, |buf| {
                serde_json::to_writer(&mut *buf, &Hashed { seq, prev, body })
                    .map_err(AuditError::Serialise)
            }),
        }
    }

    /// [`StoredEntry::append_line`] for a record, borrowed where it lies (the writer's records
    /// are never moved into a [`Body`]); written by hand, the same bytes (see `canonical`).
    pub(crate) fn append_record_line(
        buf: &mut Vec<u8>,
        seq: u64,
        prev: &Digest,
        record: &AuditRecord,
    ) -> Result<Digest, AuditError> {
        finish_line(buf, prev, |buf| {
            crate::canonical::write_record_entry(buf, seq, prev, record)
        })
    }

    /// The line as stored, with its trailing newline.
    pub fn to_line(&self) -> Result<Vec<u8>, AuditError> {
        let mut line = serde_json::to_vec(self).map_err(AuditError::Serialise)?;
        line.push(b'\n');
        Ok(line)
    }

    /// The entry's time: the record's or the checkpoint's.
    pub fn time(&self) -> Timestamp {
        match &self.body {
            Body::Record(r) => r.time,
            Body::Checkpoint(c) => c.time,
        }
    }
}

/// Writes the hashed object `{seq, prev, body}` with `write`, hashes it where it lies (after
/// `prev`), and closes the line with the hash: the object's closing brace becomes
/// `,"hash":"…"}` and a newline follows.
fn finish_line(
    buf: &mut Vec<u8>,
    prev: &Digest,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), AuditError>,
) -> Result<Digest, AuditError> {
    let start = buf.len();
    if let Err(e) = write(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(&buf[start..]);
    let hash = Digest(h.finalize().into());
    buf.pop();
    buf.extend_from_slice(b",\"hash\":\"");
    hex::encode_into(&hash.0, buf);
    buf.extend_from_slice(b"\"}\n");
    Ok(hash)
}

fn entry_hash(seq: u64, prev: &Digest, body: &Body) -> Result<Digest, AuditError> {
    let canonical =
        serde_json::to_vec(&Hashed { seq, prev, body }).map_err(AuditError::Serialise)?;
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(&canonical);
    Ok(Digest(h.finalize().into()))
}

// === impl Checkpoint ===

impl Checkpoint {
    /// A checkpoint, to be stored at `seq`, over the chain head `(seq - 1, head_hash)`.
    pub fn sign(
        seq: u64,
        head_hash: Digest,
        reason: CheckpointReason,
        key: &SigningKey,
    ) -> Result<Self, AuditError> {
        let mut cp = Checkpoint {
            head_seq: seq.saturating_sub(1),
            head_hash,
            time: Timestamp::now(),
            reason,
            key_id: key_id(&key.verifying_key()),
            signature: SignatureHex([0u8; 64]),
        };
        let message = cp.signed_message(seq)?;
        cp.signature = SignatureHex(key.sign(&message).to_bytes());
        Ok(cp)
    }

    /// The bytes the signature covers, for the checkpoint stored at `seq`.
    pub fn signed_message(&self, seq: u64) -> Result<Vec<u8>, AuditError> {
        let signed = Signed {
            seq,
            head_seq: self.head_seq,
            head_hash: &self.head_hash,
            time: &self.time,
            reason: self.reason,
            key_id: &self.key_id,
        };
        let mut message = CHECKPOINT_DOMAIN.to_vec();
        serde_json::to_writer(&mut message, &signed).map_err(AuditError::Serialise)?;
        Ok(message)
    }

    /// Whether the signature is valid under `key` for the checkpoint stored at `seq`.
    pub fn signature_valid(&self, seq: u64, key: &VerifyingKey) -> bool {
        let Ok(message) = self.signed_message(seq) else {
            return false;
        };
        // verify_strict refuses small-order keys and malleable signatures (RFC 8032 §5.1.7
        // leaves room for both).
        key.verify_strict(&message, &Signature::from_bytes(&self.signature.0))
            .is_ok()
    }
}

/// A short public id for a signing key: the first 8 bytes of SHA-256 of the key, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..8])
}

// === serde for digests and signatures ===

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(hex::as_str(&hex::encode_32(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode_32(&text)
            .map(Digest)
            .ok_or_else(|| serde::de::Error::custom("expected 64 lowercase hex digits"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl Serialize for SignatureHex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SignatureHex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode_64(&text)
            .map(SignatureHex)
            .ok_or_else(|| serde::de::Error::custom("expected 128 lowercase hex digits"))
    }
}

impl fmt::Debug for SignatureHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decision;

    #[test]
    fn a_line_reserialises_to_itself_and_its_hash_checks() {
        let record = AuditRecord::new("req-1", "citizen", "getPerson", Decision::Allowed);
        let e = StoredEntry::new(1, GENESIS, Body::Record(record)).unwrap();
        let line = e.to_line().unwrap();
        let parsed: StoredEntry = serde_json::from_slice(&line).unwrap();
        assert_eq!(parsed.to_line().unwrap(), line);
        assert_eq!(parsed.computed_hash().unwrap(), e.hash);
    }

    #[test]
    fn appending_a_line_gives_the_entry_serialised_in_full() {
        let mut record = AuditRecord::new("req-2", "citizen", "getPerson", Decision::Allowed);
        record.consumer = Some("dvla \"licensing\"\u{2028}".to_owned());
        let e = StoredEntry::new(7, Digest([3u8; 32]), Body::Record(record)).unwrap();
        let mut buf = b"earlier line\n".to_vec();
        let hash = StoredEntry::append_line(&mut buf, e.seq, &e.prev, &e.body).unwrap();
        assert_eq!(hash, e.hash);
        assert_eq!(&buf[b"earlier line\n".len()..], &e.to_line().unwrap()[..]);
    }

    #[test]
    fn a_checkpoint_signature_binds_its_position() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let cp = Checkpoint::sign(5, Digest([1u8; 32]), CheckpointReason::Interval, &key).unwrap();
        assert!(cp.signature_valid(5, &key.verifying_key()));
        assert!(!cp.signature_valid(6, &key.verifying_key()));
        let other = SigningKey::from_bytes(&[10u8; 32]);
        assert!(!cp.signature_valid(5, &other.verifying_key()));
    }
}
