//! Human passwords: argon2id with the crate's default parameters (RFC 9106's second
//! recommended option: 19 MiB, 2 passes), stored as a PHC string that carries its own salt and
//! parameters, so they can be raised later without invalidating existing hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{StoreError, StoreResult};

/// The shortest password accepted (NCSC guidance: length over complexity rules).
pub const MIN_LENGTH: usize = 12;

/// Hashes `password` with a fresh 128-bit random salt.
pub fn hash(password: &str) -> StoreResult<String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(StoreError::Invalid(format!(
            "a password needs at least {MIN_LENGTH} characters"
        )));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Database(Box::new(std::io::Error::other(e.to_string()))))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Whether `password` matches the PHC string `stored` (compared in constant time by the
/// argon2 crate). A malformed `stored` never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash that no password matches, verified when a sign-in names an unknown user so that
/// the answer takes as long as for a known one (no user enumeration by timing).
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy-password-never-issued").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(stored, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn the_decoy_matches_nothing_plausible() {
        assert!(!verify("", decoy()));
        assert!(decoy().starts_with("$argon2id$"));
    }
}
