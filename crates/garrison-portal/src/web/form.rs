//! `application/x-www-form-urlencoded` forms and query strings, and the catalogue's filters.

/// Decodes `name=value&…` pairs (`+` is a space, `%XX` a byte); malformed escapes are kept
/// as written, invalid UTF-8 replaced.
pub(super) fn decode(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = unescape(parts.next().unwrap_or_default());
            let value = unescape(parts.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

fn unescape(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < text.len() => {
                let hex = std::str::from_utf8(&text[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first value of `name`.
pub(super) fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// The catalogue's search and filters.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Filters {
    /// Words that must all appear in the API's name, title, description or tags.
    pub(super) query: String,
    /// A lifecycle status one of its versions must have.
    pub(super) status: Option<String>,
    /// A tag it must have.
    pub(super) tag: Option<String>,
}

impl Filters {
    pub(super) fn parse(query: &str) -> Self {
        let fields = decode(query.as_bytes());
        let nonempty = |name: &str| field(&fields, name).filter(|v| !v.trim().is_empty());
        Filters {
            query: field(&fields, "q")
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
            status: nonempty("status"),
            tag: nonempty("tag"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_percent_and_malformed_escapes() {
        let fields = decode(b"email=dev%40dvla.example&password=a+b%2Bc&bad=%zz%4&empty=");
        assert_eq!(field(&fields, "email").as_deref(), Some("dev@dvla.example"));
        assert_eq!(field(&fields, "password").as_deref(), Some("a b+c"));
        assert_eq!(field(&fields, "bad").as_deref(), Some("%zz%4"));
        assert_eq!(field(&fields, "empty").as_deref(), Some(""));
        assert_eq!(field(&fields, "missing"), None);
    }

    #[test]
    fn filters_ignore_empty_values() {
        let f = Filters::parse("q=citizen+match&status=&tag=dwp");
        assert_eq!(f.query, "citizen match");
        assert_eq!(f.status, None);
        assert_eq!(f.tag.as_deref(), Some("dwp"));
    }
}
