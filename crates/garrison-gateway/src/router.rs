//! Routing by host, method and path template, compiled once per snapshot.

use std::collections::HashMap;

use http::Method;

/// The methods a route can name, in a fixed order so a method is an array index.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

fn method_index(method: &Method) -> Option<usize> {
    METHODS.iter().position(|m| m == method)
}

/// The routes of one host (or of any host).
#[derive(Default)]
struct HostTable {
    by_method: [Option<matchit::Router<usize>>; 7],
}

/// What the router found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Match<'r, 'p> {
    /// The route at this index, with the path parameters its template captured.
    Route(usize, matchit::Params<'r, 'p>),
    /// The path exists for other methods: these.
    MethodNotAllowed(Vec<Method>),
    /// Nothing matches.
    NotFound,
}

/// Host → method → path template.
#[derive(Default)]
pub(crate) struct Router {
    hosts: HashMap<String, HostTable>,
    any_host: HostTable,
}

impl Router {
    /// Adds route `index`. Templates were checked for conflicts by the configuration, so an
    /// insert error here means a bug; it is reported rather than ignored.
    pub(crate) fn insert(
        &mut self,
        host: Option<&str>,
        methods: &[String],
        path: &str,
        index: usize,
    ) -> Result<(), matchit::InsertError> {
        let table = match host {
            Some(h) => self.hosts.entry(h.to_owned()).or_default(),
            None => &mut self.any_host,
        };
        for (i, method) in METHODS.iter().enumerate() {
            if methods.is_empty() || methods.iter().any(|m| m == method.as_str()) {
                table.by_method[i]
                    .get_or_insert_with(matchit::Router::new)
                    .insert(path, index)?;
            }
        }
        Ok(())
    }

    /// Finds the route for `host` (lower case, no port), `method` and `path`.
    pub(crate) fn find<'r, 'p>(
        &'r self,
        host: &str,
        method: &Method,
        path: &'p str,
    ) -> Match<'r, 'p> {
        let tables = [self.hosts.get(host), Some(&self.any_host)];
        if let Some(i) = method_index(method) {
            for table in tables.iter().flatten() {
                if let Some(router) = &table.by_method[i]
                    && let Ok(found) = router.at(path)
                {
                    return Match::Route(*found.value, found.params);
                }
            }
        }
        let allowed: Vec<Method> = METHODS
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                tables
                    .iter()
                    .flatten()
                    .any(|t| t.by_method[*i].as_ref().is_some_and(|r| r.at(path).is_ok()))
            })
            .map(|(_, m)| m.clone())
            .collect();
        if allowed.is_empty() {
            Match::NotFound
        } else {
            Match::MethodNotAllowed(allowed)
        }
    }
}

/// Rejects paths that could mean one thing to the gateway and another to the upstream: dot
/// segments, empty segments, backslashes, `;` (path parameters: `/..;/` is `/../` to some
/// servers), anything not starting with `/`, and percent-encodings that a server decoding
/// before it routes would read differently from the router — an encoded separator (`%2F`,
/// `%5C`), NUL, an unreserved character (`%65xport` is `export` to it, but matched `{id}`
/// here), or a malformed one. Such requests are refused, never rewritten, so the route that
/// was authorised is the resource the upstream serves.
pub(crate) fn is_canonical(path: &str) -> bool {
    if !path.starts_with('/') || path.contains('\\') || path.contains("//") || path.contains(';') {
        return false;
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'%') {
        let at = i + at;
        let decoded = bytes
            .get(at + 1..at + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        // `%3B` is `;` and `%25` a `%` to a server that decodes once more.
        match decoded {
            Some(b) if b.is_ascii_alphanumeric() || b"-._~/\\\0;%".contains(&b) => return false,
            None => return false,
            Some(_) => i = at + 3,
        }
    }
    !path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_specific_routes_win_and_405_lists_the_allowed_methods() {
        let mut r = Router::default();
        r.insert(None, &["GET".into()], "/citizens/{id}", 0)
            .expect("insert");
        r.insert(Some("api.example"), &["GET".into()], "/citizens/{id}", 1)
            .expect("insert");
        r.insert(None, &["POST".into()], "/citizens/match", 2)
            .expect("insert");
        match r.find("other", &Method::GET, "/citizens/42") {
            Match::Route(0, params) => assert_eq!(params.get("id"), Some("42")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            r.find("api.example", &Method::GET, "/citizens/42"),
            Match::Route(1, _)
        ));
        assert!(matches!(
            r.find("x", &Method::POST, "/citizens/match"),
            Match::Route(2, _)
        ));
        assert_eq!(
            r.find("x", &Method::DELETE, "/citizens/42"),
            Match::MethodNotAllowed(vec![Method::GET])
        );
        assert_eq!(r.find("x", &Method::GET, "/nothing"), Match::NotFound);
        assert_eq!(
            r.find("x", &Method::TRACE, "/citizens/match"),
            Match::MethodNotAllowed(vec![Method::GET, Method::POST])
        );
    }

    #[test]
    fn ambiguous_paths_are_not_canonical() {
        assert!(is_canonical("/citizens/abc-123"));
        assert!(is_canonical("/a/b%20c"));
        assert!(is_canonical("/a/caf%C3%A9"));
        for bad in [
            "/a/../admin",
            "/a/./b",
            "/a//b",
            "/a%2fb",
            "/a%2Fb",
            "/a%5cb",
            "/%2e%2e/x",
            "/a\\b",
            "/files/..;/internal",
            "/x/a;b",
            "/x/%65xport",
            "/x/%7E",
            "/x/%2D",
            "/x/%5F",
            "/x/%zz",
            "/x/%4",
            "/x/%",
            "/files/..%3B/internal",
            "/x/%252e%252e",
            "/x/%+1",
            "a/b",
            "/a%00",
        ] {
            assert!(!is_canonical(bad), "{bad}");
        }
    }
}
