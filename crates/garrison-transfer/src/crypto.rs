//! Envelope encryption of stored files, in fixed-size authenticated segments.
//!
//! - Each file has its own random 256-bit **data key**. It is stored only wrapped
//!   (AES-256-GCM) by a **master key**, under a fresh random nonce, with the file id as
//!   associated data, so a wrapped key cannot be moved to another file. Rotating the master key
//!   re-wraps data keys; the segments are never rewritten.
//! - The plaintext is cut into segments of [`SEGMENT_SIZE`] bytes, each sealed on its own with
//!   AES-256-GCM under the data key. The nonce is the segment's **write generation** (32 bits)
//!   followed by its **index** (64 bits). The generation is a per-file counter, raised and made
//!   durable before every write session, so the partial last segment rewritten when an upload
//!   resumes is sealed under a nonce never used before. The associated data binds the file id,
//!   the index and the generation: segments cannot be swapped between positions or files, and
//!   a segment truncated, flipped or replaced by an older version fails to open.
//! - The upload's metadata (file name, content type…) is sealed the same way, at an index no
//!   segment can have.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Plaintext bytes per segment (1 MiB): the unit of encryption, of durable progress and of
/// memory held per upload.
pub const SEGMENT_SIZE: usize = 1 << 20;
/// Bytes a sealed segment adds to its plaintext: a version byte, the generation, the tag.
pub const SEGMENT_OVERHEAD: usize = 1 + 4 + TAG_LEN;
const TAG_LEN: usize = 16;
const SEGMENT_VERSION: u8 = 1;
const METADATA_INDEX: u64 = u64::MAX;
const SEGMENT_CONTEXT: &[u8] = b"garrison-transfer-segment-v1";
const WRAP_CONTEXT: &[u8] = b"garrison-transfer-key-v1";

/// Why a cryptographic operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A sealed segment, metadata or wrapped key failed authentication: it was altered,
    /// truncated, moved, or belongs to another file.
    #[error("integrity check failed: the stored data was altered or does not belong here")]
    Integrity,
    /// The wrapped key names a master key that is not in the key ring.
    #[error("master key {0:?} is not in the key ring")]
    UnknownMasterKey(String),
    /// The key-ring file is unusable.
    #[error("master keys {path}: {message}")]
    KeyRing {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The system random number generator failed.
    #[error("random number generator: {0}")]
    Random(String),
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(bytes)
}

fn aead_key(bytes: &[u8; 32]) -> LessSafeKey {
    // AES-256 accepts every 32-byte string, so this cannot fail.
    #[allow(clippy::expect_used)]
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key"))
}

// === impl MasterKeys ===

/// One master key of the ring.
struct MasterKey {
    id: String,
    key: LessSafeKey,
}

/// The master keys: the first wraps new data keys (the current one); the others are kept only
/// to unwrap data keys not yet re-wrapped after a rotation.
pub struct MasterKeys {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("MasterKeys").field("ids", &ids).finish()
    }
}

impl MasterKeys {
    /// Parses a key-ring file: one key a line, `<id> <base64 of 32 bytes>`, current key first;
    /// blank lines and `#` comments are ignored.
    pub fn parse(text: &str, path: &str) -> Result<MasterKeys, CryptoError> {
        let err = |message: String| CryptoError::KeyRing {
            path: path.to_owned(),
            message,
        };
        let mut keys: Vec<MasterKey> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, encoded) = line
                .split_once(' ')
                .ok_or_else(|| err(format!("line {}: expected `<id> <base64 key>`", n + 1)))?;
            let valid_id = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !valid_id {
                return Err(err(format!(
                    "line {}: a key id is 1-64 letters, digits, '-', '_', '.'",
                    n + 1
                )));
            }
            let bytes = Zeroizing::new(
                STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| err(format!("line {}: the key is not base64", n + 1)))?,
            );
            let bytes: &[u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| err(format!("line {}: a master key is 32 bytes", n + 1)))?;
            if keys.iter().any(|k| k.id == id) {
                return Err(err(format!("line {}: key id {id:?} appears twice", n + 1)));
            }
            keys.push(MasterKey {
                id: id.to_owned(),
                key: aead_key(bytes),
            });
        }
        if keys.is_empty() {
            return Err(err("no master key".to_owned()));
        }
        Ok(MasterKeys { keys })
    }

    /// Reads a key-ring file (see [`MasterKeys::parse`]).
    pub fn load(path: &Path) -> Result<MasterKeys, CryptoError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| CryptoError::KeyRing {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?,
            );
        MasterKeys::parse(&text, &path.display().to_string())
    }

    /// A key-ring line holding a new random key named `id`.
    pub fn generate_line(id: &str) -> Result<String, CryptoError> {
        let key = random::<32>()?;
        Ok(format!("{id} {}\n", STANDARD.encode(key.as_ref())))
    }

    /// The id of the current master key.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Wraps `data_key` for file `file_id` under the current master key.
    pub fn wrap(&self, file_id: &str, data_key: &DataKey) -> Result<WrappedKey, CryptoError> {
        let master = &self.keys[0];
        let nonce = random::<NONCE_LEN>()?;
        let mut sealed = data_key.bytes.to_vec();
        master
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(wrap_aad(file_id)),
                &mut sealed,
            )
            .map_err(|_| CryptoError::Integrity)?;
        Ok(WrappedKey {
            master: master.id.clone(),
            nonce: STANDARD.encode(nonce.as_ref()),
            sealed: STANDARD.encode(&sealed),
        })
    }

    /// Unwraps the data key of file `file_id`.
    pub fn unwrap(&self, file_id: &str, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        let master = self
            .keys
            .iter()
            .find(|k| k.id == wrapped.master)
            .ok_or_else(|| CryptoError::UnknownMasterKey(wrapped.master.clone()))?;
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(&wrapped.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(CryptoError::Integrity)?;
        let mut sealed = Zeroizing::new(
            STANDARD
                .decode(&wrapped.sealed)
                .map_err(|_| CryptoError::Integrity)?,
        );
        let plain = master
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(file_id)),
                sealed.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Integrity)?;
        let bytes: [u8; 32] = (&*plain).try_into().map_err(|_| CryptoError::Integrity)?;
        Ok(DataKey::from_bytes(Zeroizing::new(bytes)))
    }
}

fn wrap_aad(file_id: &str) -> Vec<u8> {
    let mut aad = WRAP_CONTEXT.to_vec();
    aad.extend_from_slice(file_id.as_bytes());
    aad
}

/// A data key as stored: wrapped by a master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The id of the master key that wrapped it.
    pub master: String,
    /// The wrapping nonce (base64).
    pub nonce: String,
    /// The sealed data key and its tag (base64).
    pub sealed: String,
}

// === impl DataKey ===

/// A file's own key. Zeroed when dropped.
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
    key: LessSafeKey,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Result<DataKey, CryptoError> {
        Ok(DataKey::from_bytes(random::<32>()?))
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> DataKey {
        let key = aead_key(&bytes);
        DataKey { bytes, key }
    }

    /// Seals segment `index` of file `file_id`, written in generation `generation`.
    pub fn seal_segment(
        &self,
        file_id: &str,
        index: u64,
        generation: u32,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        // One allocation and one copy of the plaintext: it is sealed where it lies.
        let mut out = Vec::with_capacity(plaintext.len() + SEGMENT_OVERHEAD);
        out.push(SEGMENT_VERSION);
        out.extend_from_slice(&generation.to_be_bytes());
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                segment_nonce(index, generation),
                Aad::from(segment_aad(file_id, index, generation)),
                &mut out[5..],
            )
            .map_err(|_| CryptoError::Integrity)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens sealed segment `index` of file `file_id`, checking its integrity.
    pub fn open_segment(
        &self,
        file_id: &str,
        index: u64,
        mut sealed: Vec<u8>,
    ) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < SEGMENT_OVERHEAD || sealed[0] != SEGMENT_VERSION {
            return Err(CryptoError::Integrity);
        }
        let generation = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        let plain_len = self
            .key
            .open_in_place(
                segment_nonce(index, generation),
                Aad::from(segment_aad(file_id, index, generation)),
                &mut sealed[5..],
            )
            .map_err(|_| CryptoError::Integrity)?
            .len();
        sealed.drain(..5);
        sealed.truncate(plain_len);
        Ok(sealed)
    }

    /// Seals the upload's metadata (sealed once, when the upload is created).
    pub fn seal_metadata(&self, file_id: &str, plaintext: &[u8]) -> Result<String, CryptoError> {
        self.seal_segment(file_id, METADATA_INDEX, 0, plaintext)
            .map(|s| STANDARD.encode(s))
    }

    /// Opens the upload's metadata.
    pub fn open_metadata(&self, file_id: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let sealed = STANDARD
            .decode(sealed)
            .map_err(|_| CryptoError::Integrity)?;
        self.open_segment(file_id, METADATA_INDEX, sealed)
    }
}

fn segment_nonce(index: u64, generation: u32) -> Nonce {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..4].copy_from_slice(&generation.to_be_bytes());
    nonce[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(nonce)
}

fn segment_aad(file_id: &str, index: u64, generation: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(SEGMENT_CONTEXT.len() + file_id.len() + 13);
    aad.extend_from_slice(SEGMENT_CONTEXT);
    aad.extend_from_slice(&(file_id.len() as u8).to_be_bytes());
    aad.extend_from_slice(file_id.as_bytes());
    aad.extend_from_slice(&index.to_be_bytes());
    aad.extend_from_slice(&generation.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ring() -> MasterKeys {
        let text = format!(
            "# test\n{}{}",
            MasterKeys::generate_line("k2").unwrap(),
            MasterKeys::generate_line("k1").unwrap()
        );
        MasterKeys::parse(&text, "test").unwrap()
    }

    #[test]
    fn a_segment_opens_only_where_it_was_sealed() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal_segment("f1", 3, 7, b"plain text").unwrap();
        assert_eq!(sealed.len(), 10 + SEGMENT_OVERHEAD);
        assert!(!sealed.windows(10).any(|w| w == b"plain text"));
        assert_eq!(
            key.open_segment("f1", 3, sealed.clone()).unwrap(),
            b"plain text"
        );
        assert!(key.open_segment("f1", 4, sealed.clone()).is_err(), "moved");
        assert!(
            key.open_segment("f2", 3, sealed.clone()).is_err(),
            "other file"
        );
        for bit in [0, 2, 5, sealed.len() * 8 - 1] {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(key.open_segment("f1", 3, flipped).is_err(), "bit {bit}");
        }
        let mut truncated = sealed;
        truncated.pop();
        assert!(key.open_segment("f1", 3, truncated).is_err());
        let other = DataKey::generate().unwrap();
        let sealed = key.seal_segment("f1", 3, 7, b"plain text").unwrap();
        assert!(other.open_segment("f1", 3, sealed).is_err());
    }

    #[test]
    fn a_rewritten_segment_uses_a_new_nonce() {
        let key = DataKey::generate().unwrap();
        let a = key.seal_segment("f", 0, 1, b"same bytes").unwrap();
        let b = key.seal_segment("f", 0, 2, b"same bytes").unwrap();
        assert_ne!(a[5..], b[5..], "a new generation gives a new keystream");
    }

    #[test]
    fn data_keys_unwrap_for_their_file_and_survive_rotation() {
        let keys = ring();
        assert_eq!(keys.current_id(), "k2");
        let data = DataKey::generate().unwrap();
        let wrapped = keys.wrap("f1", &data).unwrap();
        assert_eq!(wrapped.master, "k2");
        let again = keys.unwrap("f1", &wrapped).unwrap();
        let sealed = data.seal_segment("f1", 0, 1, b"x").unwrap();
        assert_eq!(again.open_segment("f1", 0, sealed).unwrap(), b"x");
        assert!(matches!(
            keys.unwrap("f2", &wrapped),
            Err(CryptoError::Integrity)
        ));
        let mut unknown = wrapped.clone();
        unknown.master = "k9".into();
        assert!(matches!(
            keys.unwrap("f1", &unknown),
            Err(CryptoError::UnknownMasterKey(_))
        ));
    }

    #[test]
    fn bad_key_rings_are_refused() {
        for bad in [
            "",
            "# nothing\n",
            "k1 notbase64!",
            "k1 QUFB",
            "k1\n",
            "bad id QUFB",
        ] {
            assert!(MasterKeys::parse(bad, "t").is_err(), "{bad:?}");
        }
        let line = MasterKeys::generate_line("k1").unwrap();
        assert!(MasterKeys::parse(&format!("{line}{line}"), "t").is_err());
    }

    #[test]
    fn metadata_is_sealed() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal_metadata("f", b"{\"filename\":\"x.pdf\"}").unwrap();
        assert!(!sealed.contains("x.pdf"));
        assert_eq!(
            key.open_metadata("f", &sealed).unwrap(),
            b"{\"filename\":\"x.pdf\"}"
        );
        assert!(key.open_metadata("g", &sealed).is_err());
    }
}
