//! API keys: generation, the readable format and the digest stored at rest.
//!
//! A Garrison key reads `grn_live_<43 base62 chars of 256 random bits><6 base62 chars of CRC-32>`.
//! The prefix lets secret scanners (and people) recognise a leaked key; the checksum lets the
//! gateway reject a mistyped or made-up key without touching any table. Only the SHA-256 digest
//! of a key is ever stored: keys carry 256 bits of entropy, so a fast hash is safe here and the
//! request path never runs a password hash.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 62^43 > 2^256, so 43 base62 digits hold 256 random bits.
const BODY_LEN: usize = 43;
/// 62^6 > 2^32, so 6 base62 digits hold the CRC-32.
const CHECKSUM_LEN: usize = 6;

/// Which environment a key belongs to; it is part of the key's visible prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// Production traffic: `grn_live_`.
    Live,
    /// Sandbox traffic: `grn_test_`.
    Test,
}

impl Environment {
    /// The prefix that starts every key of this environment.
    pub fn prefix(self) -> &'static str {
        match self {
            Environment::Live => "grn_live_",
            Environment::Test => "grn_test_",
        }
    }
}

/// Why a string is not a well-formed Garrison key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// The key does not start with `grn_live_` or `grn_test_`.
    #[error("the key does not start with grn_live_ or grn_test_")]
    Prefix,
    /// The key has the wrong length or characters outside base62.
    #[error("the key is not {BODY_LEN} + {CHECKSUM_LEN} base62 characters after its prefix")]
    Shape,
    /// The checksum does not match: the key was mistyped, truncated or made up.
    #[error("the key's checksum does not match")]
    Checksum,
}

/// A plaintext API key. It exists only when a key is issued or presented; it is never stored,
/// and its `Debug` output is redacted so it cannot leak into logs.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Issues a new key from the operating system's random number generator.
    pub fn generate(env: Environment) -> Result<Self, getrandom::Error> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)?;
        let mut key = String::with_capacity(env.prefix().len() + BODY_LEN + CHECKSUM_LEN);
        key.push_str(env.prefix());
        push_base62(&mut key, &random, BODY_LEN);
        let crc = crc32fast::hash(key.as_bytes());
        push_base62(&mut key, &crc.to_be_bytes(), CHECKSUM_LEN);
        Ok(ApiKey(key))
    }

    /// Wraps a key presented by a client or imported from another gateway.
    pub fn from_plaintext(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for showing once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest under which the key is stored and looked up.
    pub fn digest(&self) -> KeyDigest {
        KeyDigest::of(self.0.as_bytes())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Checks that `key` has Garrison's shape and a valid checksum. Keys imported from another
/// gateway have their own shape and are not checked here: the caller decides which rule applies.
pub fn check_format(key: &str) -> Result<Environment, KeyFormatError> {
    let (env, rest) = if let Some(rest) = key.strip_prefix(Environment::Live.prefix()) {
        (Environment::Live, rest)
    } else if let Some(rest) = key.strip_prefix(Environment::Test.prefix()) {
        (Environment::Test, rest)
    } else {
        return Err(KeyFormatError::Prefix);
    };
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Shape);
    }
    // Read the six checksum digits back into a number and compare: no allocation, as this
    // runs for every request that presents a Garrison key.
    let (signed, checksum) = key.split_at(key.len() - CHECKSUM_LEN);
    let presented = checksum
        .bytes()
        .try_fold(0u64, |n, b| base62_value(b).map(|d| n * 62 + d));
    if presented == Some(u64::from(crc32fast::hash(signed.as_bytes()))) {
        Ok(env)
    } else {
        Err(KeyFormatError::Checksum)
    }
}

/// The value of one base62 digit.
fn base62_value(digit: u8) -> Option<u64> {
    let value = match digit {
        b'0'..=b'9' => digit - b'0',
        b'A'..=b'Z' => digit - b'A' + 10,
        b'a'..=b'z' => digit - b'a' + 36,
        _ => return None,
    };
    Some(u64::from(value))
}

/// Appends `bytes`, read as a big-endian number, as exactly `digits` base62 digits.
fn push_base62(out: &mut String, bytes: &[u8], digits: usize) {
    let mut number = bytes.to_vec();
    let mut reversed = Vec::with_capacity(digits);
    for _ in 0..digits {
        // Long division of the big-endian number by 62; the remainder is the next digit.
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        reversed.push(ALPHABET[remainder as usize]);
    }
    out.extend(reversed.iter().rev().map(|&b| char::from(b)));
}

/// The SHA-256 digest of an API key: what the configuration and the store hold.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// The digest of a presented key.
    pub fn of(key: &[u8]) -> Self {
        KeyDigest(Sha256::digest(key).into())
    }

    /// Parses the `sha256:<64 hex digits>` form used in configuration files.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:")?;
        crate::fingerprint::parse_hex32(hex).map(KeyDigest)
    }

    /// Compares in constant time, so a lookup leaks nothing through timing.
    pub fn ct_eq(&self, other: &KeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        crate::hex::write(f, &self.0)
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_pass_their_checksum() {
        let key = ApiKey::generate(Environment::Live).expect("random");
        let text = key.expose();
        assert!(text.starts_with("grn_live_"), "{text}");
        assert_eq!(text.len(), 9 + BODY_LEN + CHECKSUM_LEN);
        assert_eq!(check_format(text), Ok(Environment::Live));
        let test = ApiKey::generate(Environment::Test).expect("random");
        assert_eq!(check_format(test.expose()), Ok(Environment::Test));
        assert_ne!(key.expose(), test.expose());
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let key = ApiKey::generate(Environment::Live).expect("random");
        let mut bytes = key.expose().as_bytes().to_vec();
        bytes[20] = if bytes[20] == b'a' { b'b' } else { b'a' };
        let mistyped = String::from_utf8(bytes).expect("ascii");
        assert_eq!(check_format(&mistyped), Err(KeyFormatError::Checksum));
    }

    #[test]
    fn foreign_and_truncated_keys_are_rejected_with_the_reason() {
        assert_eq!(check_format("kong-key-123"), Err(KeyFormatError::Prefix));
        assert_eq!(check_format("grn_live_abc"), Err(KeyFormatError::Shape));
        let key = ApiKey::generate(Environment::Live).expect("random");
        let with_symbol = key.expose().replacen('A', "!", 1).replacen('0', "!", 1);
        if with_symbol != key.expose() {
            assert_eq!(check_format(&with_symbol), Err(KeyFormatError::Shape));
        }
    }

    #[test]
    fn digests_round_trip_through_their_text_form() {
        let key = ApiKey::from_plaintext("imported-from-kong");
        let digest = key.digest();
        let text = digest.to_string();
        assert!(text.starts_with("sha256:"));
        assert_eq!(KeyDigest::parse(&text), Some(digest));
        assert!(digest.ct_eq(&KeyDigest::parse(&text).expect("parses")));
        assert_eq!(KeyDigest::parse("sha256:zz"), None);
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }

    #[test]
    fn base62_encodes_known_values() {
        let mut out = String::new();
        push_base62(&mut out, &[0, 0, 0, 61], 2);
        assert_eq!(out, "0z");
        out.clear();
        push_base62(&mut out, &[0, 0, 0, 62], 2);
        assert_eq!(out, "10");
    }
}
