//! SHA-256 fingerprints of client certificates: how a consumer is bound to its certificate.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 digest of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

/// Why a fingerprint could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// Not 32 bytes written as 64 hex digits (colons allowed between bytes).
    #[error("expected a SHA-256 fingerprint: 64 hex digits, optionally separated by colons")]
    Malformed,
}

impl CertFingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        CertFingerprint(Sha256::digest(der).into())
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for CertFingerprint {
    type Err = FingerprintError;

    /// Accepts `ab12…` and `AB:12:…`, with an optional `sha256:` prefix, as printed by
    /// `openssl x509 -fingerprint -sha256`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.strip_prefix("sha256:").unwrap_or(text);
        let hex: String = text.chars().filter(|&c| c != ':').collect();
        parse_hex32(&hex)
            .map(CertFingerprint)
            .ok_or(FingerprintError::Malformed)
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::write(f, &self.0)
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

/// Parses exactly 64 hex digits into 32 bytes.
pub(crate) fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openssl_style_and_plain_hex() {
        let fp = CertFingerprint::of_der(b"certificate");
        let plain = fp.to_string();
        let colons = plain
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).expect("ascii").to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(plain.parse::<CertFingerprint>(), Ok(fp));
        assert_eq!(colons.parse::<CertFingerprint>(), Ok(fp));
        assert_eq!(format!("sha256:{plain}").parse::<CertFingerprint>(), Ok(fp));
        assert_eq!(
            "abc".parse::<CertFingerprint>(),
            Err(FingerprintError::Malformed)
        );
        assert_eq!(
            "g".repeat(64).parse::<CertFingerprint>(),
            Err(FingerprintError::Malformed)
        );
    }
}
