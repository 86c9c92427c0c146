//! The gateway's Ed25519 audit signing key, kept in files.
//!
//! On first open the key is generated from the operating system's randomness and written with
//! mode 0600; the public key is written beside it (hex, one line) for publishing. Anyone who can
//! write the signing key can forge checkpoints, so production deployments should point
//! `signing_key_file` outside the audit directory, and verifiers must use the *published* public
//! key, never the one lying next to the log they are checking.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{AuditError, hex};

/// Default file name of the signing key inside the audit directory.
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";
/// Default file name of the public key inside the audit directory.
pub const PUBLIC_KEY_FILE: &str = "audit-signing.pub";

/// Loads the signing key at `path`, or creates it (0600) if absent; (re)writes the public key
/// beside it as `<path without extension>.pub`.
pub(crate) fn load_or_create(path: &Path) -> Result<SigningKey, AuditError> {
    let key = match fs::read_to_string(path) {
        Ok(text) => parse_signing_key(path, &text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
        Err(e) => return Err(AuditError::io(path, e)),
    };
    let pub_path = public_key_path(path);
    let text = format!("{}\n", hex::encode(key.verifying_key().as_bytes()));
    if fs::read_to_string(&pub_path).ok().as_deref() != Some(text.as_str()) {
        fs::write(&pub_path, text).map_err(|e| AuditError::io(&pub_path, e))?;
    }
    Ok(key)
}

/// Where the public key of the signing key at `key_path` is written.
pub fn public_key_path(key_path: &Path) -> PathBuf {
    key_path.with_extension("pub")
}

/// Parses a public key written as 64 hex digits (surrounding whitespace ignored).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AuditError> {
    let bytes = hex::decode(text.trim())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| AuditError::PublicKey("expected 64 hex digits".to_owned()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| AuditError::PublicKey(e.to_string()))
}

/// Reads a public key file written by [`crate::AuditLog::open`].
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, AuditError> {
    let text = fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?;
    parse_public_key(&text)
}

fn parse_signing_key(path: &Path, text: &str) -> Result<SigningKey, AuditError> {
    let bytes = Zeroizing::new(
        hex::decode(text.trim()).ok_or_else(|| AuditError::SigningKey {
            path: path.to_owned(),
            reason: "not hex".to_owned(),
        })?,
    );
    let seed: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| AuditError::SigningKey {
            path: path.to_owned(),
            reason: format!("{} bytes, expected a 32-byte seed", bytes.len()),
        })?;
    let seed = Zeroizing::new(seed);
    Ok(SigningKey::from_bytes(&seed))
}

fn create(path: &Path) -> Result<SigningKey, AuditError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| AuditError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    let mut options = OpenOptions::new();
    // create_new: never overwrite a key another process just wrote.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| AuditError::io(path, e))?;
    let text = Zeroizing::new(format!("{}\n", hex::encode(seed.as_ref())));
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, e))?;
    Ok(key)
}
