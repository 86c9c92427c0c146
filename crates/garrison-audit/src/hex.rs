//! Lowercase hex, the text form of digests, signatures and keys in the store.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = Vec::with_capacity(bytes.len() * 2);
    encode_into(bytes, &mut s);
    // Only ASCII digits and letters were written.
    String::from_utf8(s).unwrap_or_default()
}

/// The lowercase hex of 32 bytes, on the stack (for serialising digests without allocating).
pub(crate) fn encode_32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

/// The text of hex digits made by this module (always ASCII).
pub(crate) fn as_str(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or_default()
}

/// Appends the lowercase hex of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
}

/// Bytes of a hex string (either case); `None` if odd-length or not hex.
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Exactly 32 bytes of lowercase hex, as every digest in the store is written. Upper case is
/// refused so that each digest has one spelling (the serialisation stays canonical).
pub(crate) fn decode_32(s: &str) -> Option<[u8; 32]> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    decode(s)?.try_into().ok()
}

/// Exactly 64 bytes of lowercase hex (an Ed25519 signature).
pub(crate) fn decode_64(s: &str) -> Option<[u8; 64]> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    decode(s)?.try_into().ok()
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
