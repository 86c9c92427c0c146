//! Just enough HTTP/1.1 for a load generator: requests are prebuilt byte strings, and a
//! response is parsed only as far as its status, its framing (`Content-Length` or chunked)
//! and whether the server will close the connection.

/// The largest response head accepted, so a broken server cannot grow the buffer forever.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// A complete response found at the start of the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The status code.
    pub(crate) status: u16,
    /// Whether the server closes the connection after this response.
    pub(crate) close: bool,
    /// Bytes of the buffer the response takes (head and body).
    pub(crate) len: usize,
}

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError(pub(crate) &'static str);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad HTTP response: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// Builds a GET request head. `close` asks the server to close the connection afterwards.
pub(crate) fn request(
    path: &str,
    host: &str,
    key: Option<(&str, &str)>,
    close: bool,
    extra: &Extra,
) -> Vec<u8> {
    let method = if extra.body.is_some() { "POST" } else { "GET" };
    let mut out =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: garrison-loadgen\r\n");
    if let Some((name, value)) = key {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    for header in &extra.headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    let mut out = match &extra.body {
        Some(body) => {
            out.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            ));
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(body);
            return bytes;
        }
        None => out,
    };
    out.push_str("\r\n");
    out.into_bytes()
}

/// What every request carries besides the key: extra header lines, and a JSON body (which
/// makes it a POST).
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// `Name: value` lines.
    pub(crate) headers: Vec<String>,
    /// The body.
    pub(crate) body: Option<Vec<u8>>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// Looks for one complete response at the start of `buf`: `Ok(None)` means more bytes are
/// needed. Responses framed only by the connection closing are refused (every server in
/// the benchmark sends `Content-Length` or chunked bodies).
pub(crate) fn parse(buf: &[u8]) -> Result<Option<Parsed>, ParseError> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err(ParseError("response head too large"))
        } else {
            Ok(None)
        };
    };
    let head_len = end + 4;
    let mut lines = buf[..end]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    if status_line.len() < 12 || !status_line.starts_with(b"HTTP/1.") {
        return Err(ParseError("no HTTP/1.x status line"));
    }
    let status = std::str::from_utf8(&status_line[9..12])
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(ParseError("status code is not a number"))?;
    let mut close = status_line.starts_with(b"HTTP/1.0");
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(ParseError("header line without a colon"));
        };
        let (name, value) = (trim(&line[..colon]), trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or(ParseError("Content-Length is not a number"))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = contains_token(value, b"chunked");
        } else if name.eq_ignore_ascii_case(b"connection") {
            if contains_token(value, b"close") {
                close = true;
            } else if contains_token(value, b"keep-alive") {
                close = false;
            }
        }
    }
    let body = &buf[head_len..];
    let body_len = if status == 204 || status == 304 || (100..200).contains(&status) {
        Some(0)
    } else if chunked {
        chunked_len(body)?
    } else if let Some(n) = length {
        (body.len() >= n).then_some(n)
    } else {
        return Err(ParseError("no Content-Length and not chunked"));
    };
    Ok(body_len.map(|n| Parsed {
        status,
        close,
        len: head_len + n,
    }))
}

/// The length of a complete chunked body at the start of `body`, trailers included.
fn chunked_len(body: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut pos = 0;
    loop {
        let Some(line_end) = find(&body[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = &body[pos..pos + line_end];
        let digits = trim(line.split(|&b| b == b';').next().unwrap_or_default());
        let size = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or(ParseError("bad chunk size"))?;
        pos += line_end + 2;
        if size == 0 {
            // Trailer fields, then the empty line that ends the message.
            loop {
                let Some(end) = find(&body[pos..], b"\r\n") else {
                    return Ok(None);
                };
                pos += end + 2;
                if end == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        if body.len() < pos + size + 2 {
            return Ok(None);
        }
        if &body[pos + size..pos + size + 2] != b"\r\n" {
            return Err(ParseError("chunk not followed by CRLF"));
        }
        pos += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_responses_parse_once_complete() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\ncontent-type: application/json\r\n\r\n{\"ok\":true}";
        assert_eq!(parse(&full[..20]), Ok(None));
        assert_eq!(parse(&full[..full.len() - 1]), Ok(None));
        assert_eq!(
            parse(full),
            Ok(Some(Parsed {
                status: 200,
                close: false,
                len: full.len()
            }))
        );
        let mut two = full.to_vec();
        two.extend_from_slice(b"HTTP/1.1 401");
        assert_eq!(parse(&two).map(|p| p.map(|p| p.len)), Ok(Some(full.len())));
    }

    #[test]
    fn chunked_bodies_and_connection_close_are_understood() {
        let chunked = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\n";
        assert_eq!(
            parse(chunked),
            Ok(Some(Parsed {
                status: 401,
                close: true,
                len: chunked.len()
            }))
        );
        assert_eq!(parse(&chunked[..chunked.len() - 2]), Ok(None));
        let old = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert!(parse(old).ok().flatten().is_some_and(|p| p.close));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\n\r\n").is_err(), "no framing");
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert!(parse(&vec![b'a'; MAX_HEAD + 1]).is_err());
    }

    #[test]
    fn requests_carry_the_key_and_close_when_asked() {
        let r = request(
            "/key",
            "127.0.0.1:1",
            Some(("x-api-key", "k1")),
            true,
            &Extra::default(),
        );
        assert_eq!(
            r,
            b"GET /key HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUser-Agent: garrison-loadgen\r\nx-api-key: k1\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn a_body_makes_a_post_with_its_length_and_extra_headers() {
        let extra = Extra {
            headers: vec!["correlation-id: 1".to_owned()],
            body: Some(b"{}".to_vec()),
        };
        let r = request("/match", "h", None, false, &extra);
        assert_eq!(
            r,
            b"POST /match HTTP/1.1\r\nHost: h\r\nUser-Agent: garrison-loadgen\r\ncorrelation-id: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
