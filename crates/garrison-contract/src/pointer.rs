//! JSON pointers (RFC 6901) and their URI-fragment form (`#/a~1b`, percent-encoded).

use serde_json::Value;

/// Escapes one reference token: `~` as `~0`, `/` as `~1`.
pub fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    push_escaped(&mut out, segment);
    out
}

/// Appends `segment` to `out`, escaped as [`escape_segment`] does, without allocating when
/// nothing needs escaping (the common case).
pub(crate) fn push_escaped(out: &mut String, segment: &str) {
    let mut rest = segment;
    while let Some(at) = rest.find(['~', '/']) {
        out.push_str(&rest[..at]);
        out.push_str(if rest.as_bytes()[at] == b'~' {
            "~0"
        } else {
            "~1"
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// Unescapes one reference token; `None` for a `~` not followed by `0` or `1`.
pub fn unescape_segment(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Follows JSON pointer `pointer` (`""` or `/…`, unencoded) into `root`.
pub(crate) fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut here = root;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescape_segment(token)?;
        here = match here {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => {
                // RFC 6901: an array index is `0` or digits without a leading zero.
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                items.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(here)
}

/// Decodes `%XX` escapes of a URI fragment; `None` when an escape or the UTF-8 is malformed.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URI-fragment form of `pointer`, for writing into a `$ref`: characters a fragment may not
/// hold are percent-encoded.
pub(crate) fn to_fragment(pointer: &str) -> String {
    let mut out = String::from("#");
    for c in pointer.chars() {
        match c {
            'A'..='Z'
            | 'a'..='z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | ':'
            | '@'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '='
            | '?' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_escape_and_unescape_in_the_rfc_6901_order() {
        assert_eq!(escape_segment("/a~b"), "~1a~0b");
        assert_eq!(unescape_segment("~01").as_deref(), Some("~1"));
        assert_eq!(unescape_segment("~2"), None);
    }

    #[test]
    fn lookup_follows_objects_and_arrays() {
        let doc = json!({"paths": {"/a/{id}": {"get": [10, 20]}}, "m~n": 1});
        assert_eq!(lookup(&doc, "/paths/~1a~1{id}/get/1"), Some(&json!(20)));
        assert_eq!(lookup(&doc, "/m~0n"), Some(&json!(1)));
        assert_eq!(lookup(&doc, "/paths/~1a~1{id}/get/01"), None);
        assert_eq!(lookup(&doc, "/nope"), None);
        assert_eq!(lookup(&doc, ""), Some(&doc));
    }

    #[test]
    fn fragments_round_trip_through_percent_encoding() {
        let f = to_fragment("/paths/~1a~1{id}");
        assert_eq!(f, "#/paths/~1a~1%7Bid%7D");
        assert_eq!(percent_decode(&f[1..]).as_deref(), Some("/paths/~1a~1{id}"));
        assert_eq!(percent_decode("%zz"), None);
    }
}
