//! Keyed hashes of data-subject identifiers.
//!
//! A record must let an operator find every access to one person's data without the log ever
//! holding that person's identifier (a National Insurance number, an NHS number) in clear. So a
//! record carries `HMAC-SHA256(subject key, normalised identifier)` (RFC 2104) and the key's id.
//! A plain hash would not do: identifiers come from small spaces and are enumerable, so anyone
//! holding the log could hash every possible NINO; the key, kept apart from the data, stops that.
//! Keys rotate: records keep the id of the key that hashed them, and a search hashes the
//! identifier under every configured key.
//!
//! The type system carries the rule: a record takes a [`SubjectHash`], and the only way to make
//! one is [`SubjectKey::hash`] (deserialisation accepts only a well-formed 32-byte digest).

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::AuditError;
use crate::hex;

/// Domain separation, so the same key used elsewhere could never produce colliding digests.
const DOMAIN: &[u8] = b"garrison-audit-subject-v1\0";
/// Shortest secret accepted: 256 bits, HMAC-SHA256's full strength.
const MIN_SECRET_LEN: usize = 32;

/// A secret key for hashing subject identifiers, with the id recorded beside each hash.
#[derive(Clone)]
pub struct SubjectKey {
    id: String,
    secret: Zeroizing<Vec<u8>>,
}

/// A subject identifier hashed under a [`SubjectKey`]: the only form in which a subject enters
/// an audit record.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "SubjectHashRepr")]
pub struct SubjectHash {
    key_id: String,
    digest: [u8; 32],
}

#[derive(Deserialize)]
struct SubjectHashRepr {
    key_id: String,
    hmac: String,
}

/// How a subject hash is written: `SubjectHashRepr`'s fields, borrowed (no copy per record).
#[derive(Serialize)]
struct SubjectHashOut<'a> {
    key_id: &'a str,
    hmac: &'a str,
}

impl Serialize for SubjectHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hmac = hex::encode_32(&self.digest);
        SubjectHashOut {
            key_id: &self.key_id,
            hmac: hex::as_str(&hmac),
        }
        .serialize(s)
    }
}

// === impl SubjectKey ===

impl SubjectKey {
    /// A key from its id (letters, digits, `.`, `_`, `-`) and a secret of at least 32 bytes.
    pub fn new(id: impl Into<String>, secret: Vec<u8>) -> Result<Self, AuditError> {
        let id = id.into();
        let secret = Zeroizing::new(secret);
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(AuditError::SubjectKey(format!(
                "key id {id:?} must be 1-64 of letters, digits, '.', '_', '-'"
            )));
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(AuditError::SubjectKey(format!(
                "key {id}: secret is {} bytes, at least {MIN_SECRET_LEN} required",
                secret.len()
            )));
        }
        Ok(SubjectKey { id, secret })
    }

    /// A key whose secret is given as hex (as stored in configuration or a secrets manager).
    pub fn from_hex(id: impl Into<String>, secret_hex: &str) -> Result<Self, AuditError> {
        let secret = hex::decode(secret_hex.trim())
            .ok_or_else(|| AuditError::SubjectKey("secret is not hex".to_owned()))?;
        SubjectKey::new(id, secret)
    }

    /// A new key with 32 random bytes from the operating system.
    pub fn generate(id: impl Into<String>) -> Result<Self, AuditError> {
        let mut secret = vec![0u8; MIN_SECRET_LEN];
        getrandom::fill(&mut secret).map_err(|e| AuditError::Random(e.to_string()))?;
        SubjectKey::new(id, secret)
    }

    /// The secret as hex, for storing a generated key; handle it as a secret.
    pub fn secret_hex(&self) -> String {
        hex::encode(&self.secret)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Hashes an identifier after [`normalise_identifier`], so `ab 12 34 56 c` and `AB123456C`
    /// are the same person.
    pub fn hash(&self, identifier: &str) -> SubjectHash {
        let normalised = Zeroizing::new(normalise_identifier(identifier));
        // HMAC accepts keys of any length, so this cannot fail; the fallback keeps us panic-free.
        let digest = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mut mac) => {
                mac.update(DOMAIN);
                mac.update(normalised.as_bytes());
                mac.finalize().into_bytes().into()
            }
            Err(_) => [0u8; 32],
        };
        SubjectHash {
            key_id: self.id.clone(),
            digest,
        }
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Removes whitespace and hyphens and upper-cases, the usual ways one identifier is written
/// differently (`ab 12 34 56 c`, `943-476-5919`). Callers mixing identifier schemes should
/// prefix the scheme (`nino:`, `nhs:`) so equal digits in two schemes do not meet.
pub fn normalise_identifier(identifier: &str) -> String {
    identifier
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

// === impl SubjectHash ===

impl SubjectHash {
    /// The id of the key that produced this hash.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The HMAC as lowercase hex.
    pub fn hmac_hex(&self) -> String {
        hex::encode(&self.digest)
    }

    /// The HMAC's bytes.
    pub(crate) fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

impl fmt::Debug for SubjectHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectHash({}:{})", self.key_id, self.hmac_hex())
    }
}

impl fmt::Display for SubjectHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.key_id, self.hmac_hex())
    }
}

impl TryFrom<SubjectHashRepr> for SubjectHash {
    type Error = String;

    fn try_from(r: SubjectHashRepr) -> Result<Self, String> {
        let digest = hex::decode_32(&r.hmac).ok_or("subject hmac must be 64 hex digits")?;
        Ok(SubjectHash {
            key_id: r.key_id,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_person_written_differently_hashes_equal() {
        let key = SubjectKey::new("k1", vec![7u8; 32]).unwrap();
        assert_eq!(key.hash("ab 12 34 56 c"), key.hash("AB123456C"));
        assert_ne!(key.hash("AB123456C"), key.hash("AB123456D"));
        let other = SubjectKey::new("k2", vec![8u8; 32]).unwrap();
        assert_ne!(key.hash("AB123456C"), other.hash("AB123456C"));
    }

    #[test]
    fn rejects_short_secrets_and_odd_ids() {
        assert!(SubjectKey::new("k1", vec![1u8; 16]).is_err());
        assert!(SubjectKey::new("", vec![1u8; 32]).is_err());
        assert!(SubjectKey::new("a b", vec![1u8; 32]).is_err());
    }

    #[test]
    fn deserialising_refuses_anything_but_a_digest() {
        let bad = r#"{"key_id":"k1","hmac":"AB123456C"}"#;
        assert!(serde_json::from_str::<SubjectHash>(bad).is_err());
        let key = SubjectKey::new("k1", vec![7u8; 32]).unwrap();
        let h = key.hash("AB123456C");
        let text = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<SubjectHash>(&text).unwrap(), h);
        assert!(!format!("{key:?}").contains("0707"));
    }
}
