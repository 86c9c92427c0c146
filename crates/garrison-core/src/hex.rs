//! Lower-case hex, written without the `fmt` machinery. Digests and fingerprints are printed on
//! the request path — a client certificate's fingerprint goes into the audit record of every
//! mutual-TLS request — where `{:02x}` per byte meant 32 trips through the formatter each time.

use std::fmt;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lower-case hex into `out` (twice their length; the rest is untouched).
fn encode_into(bytes: &[u8], out: &mut [u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    encode_into(bytes, &mut out);
    // Only ASCII digits were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `bytes` to a formatter as lower-case hex, 32 bytes per `write_str`.
pub fn write(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let mut buf = [0; 64];
    for chunk in bytes.chunks(32) {
        let text = &mut buf[..chunk.len() * 2];
        encode_into(chunk, text);
        f.write_str(std::str::from_utf8(text).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the slow way writes.
    fn by_format(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    struct Shown<'a>(&'a [u8]);

    impl fmt::Display for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write(f, self.0)
        }
    }

    #[test]
    fn encodes_every_byte_as_format_does() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(encode(&all), by_format(&all));
        // Across the 32-byte chunks of `write`, and for the empty and odd lengths.
        for len in [0, 1, 31, 32, 33, 64, 65, 256] {
            let bytes: Vec<u8> = all.iter().cycle().skip(7).take(len).copied().collect();
            assert_eq!(encode(&bytes), by_format(&bytes), "{len}");
            assert_eq!(Shown(&bytes).to_string(), by_format(&bytes), "{len}");
        }
        assert_eq!(encode(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
