//! Rules about the document as a whole: servers, `info`, and header names.

use serde_json::Value;

use super::operations::operations;
use super::{Findings, child, pointer, text};

pub(super) const HTTPS_SERVERS_ONLY: &str = "https-servers-only";
pub(super) const INFO_DESCRIPTION: &str = "info-description";
pub(super) const INFO_CONTACT: &str = "info-contact";
pub(super) const INFO_VERSION: &str = "info-version";
pub(super) const NO_X_HEADERS: &str = "no-x-headers";

pub(super) fn check(doc: &Value, out: &mut Findings) {
    servers(doc, out);
    info(doc, out);
    x_headers(doc, out);
}

/// GDS API technical and data standards: APIs are served over HTTPS only (TLS ≥ 1.2); a
/// plain-HTTP server in a contract invites clients to send credentials in clear.
fn servers(doc: &Value, out: &mut Findings) {
    let mut lists: Vec<(String, &Value)> = Vec::new();
    match doc.get("servers") {
        Some(Value::Array(list)) if !list.is_empty() => {
            lists.push((pointer(&["servers"]), &doc["servers"]));
        }
        _ => out.push(
            HTTPS_SERVERS_ONLY,
            pointer(&["servers"]),
            "no servers are declared: name the https:// URL(s) the API is served from",
        ),
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            if let Some(s) = item.get("servers") {
                lists.push((pointer(&["paths", path.as_str(), "servers"]), s));
            }
        }
    }
    for op in operations(doc) {
        if let Some(s) = op.op.get("servers") {
            lists.push((child(&op.pointer, &["servers"]), s));
        }
    }
    for (at, list) in lists {
        let Some(list) = list.as_array() else {
            continue;
        };
        for (i, server) in list.iter().enumerate() {
            let url = server.get("url").and_then(Value::as_str).unwrap_or("");
            let https = url
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
            if !https && !is_loopback_http(url) {
                out.push(
                    HTTPS_SERVERS_ONLY,
                    child(&at, &[i.to_string(), "url".to_owned()]),
                    format!("server URL {url:?} is not an absolute https:// URL"),
                );
            }
        }
    }
}

/// `http://localhost`, `http://127.x.x.x` or `http://[::1]`: traffic that never leaves the
/// machine (a management API such as Garrison's own admin listener), which TLS would not
/// protect any further.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The CDDO API ruleset and the API catalogue need a description and a way to reach the
/// owning team; `info.version` lets consumers know which contract they build against.
fn info(doc: &Value, out: &mut Findings) {
    let info = doc.get("info").unwrap_or(&Value::Null);
    if text(info, "description").is_none() {
        out.push(
            INFO_DESCRIPTION,
            pointer(&["info"]),
            "info.description is missing: say what the API is for and who may use it",
        );
    }
    match info.get("contact") {
        Some(contact) if text(contact, "email").is_some() || text(contact, "url").is_some() => {}
        Some(_) => out.push(
            INFO_CONTACT,
            pointer(&["info", "contact"]),
            "info.contact has neither an email nor a url",
        ),
        None => out.push(
            INFO_CONTACT,
            pointer(&["info"]),
            "info.contact is missing: give the owning team's email or url",
        ),
    }
    let has_version = match info.get("version") {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Number(_)) => true,
        _ => false,
    };
    if !has_version {
        out.push(INFO_VERSION, pointer(&["info"]), "info.version is missing");
    }
}

/// RFC 6648 deprecates the `X-` prefix, and the CDDO ruleset forbids it in requests and
/// responses: a header that starts experimental stays named so forever.
fn x_headers(doc: &Value, out: &mut Findings) {
    let is_x = |name: &str| name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-"));
    for op in operations(doc) {
        for (at, parameter) in &op.parameters {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            if parameter.get("in").and_then(Value::as_str) == Some("header") && is_x(name) {
                out.push(
                    NO_X_HEADERS,
                    at.clone(),
                    format!(
                        "{}: request header {name:?} uses the deprecated X- prefix",
                        op.label()
                    ),
                );
            }
        }
        let Some(Value::Object(responses)) = op.op.get("responses") else {
            continue;
        };
        for (code, response) in responses {
            let Some(Value::Object(headers)) = response.get("headers") else {
                continue;
            };
            for name in headers.keys().filter(|n| is_x(n)) {
                out.push(
                    NO_X_HEADERS,
                    child(&op.pointer, &["responses", code, "headers", name]),
                    format!(
                        "{}: response header {name:?} uses the deprecated X- prefix",
                        op.label()
                    ),
                );
            }
        }
    }
}
