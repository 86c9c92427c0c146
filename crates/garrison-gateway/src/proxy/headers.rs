//! Header rules applied to every proxied request and response.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::identity::ConnectionIdentity;

/// Headers that describe one connection (RFC 9110 §7.6.1) and never cross the gateway.
/// `Upgrade` is among them: it only means something with `Connection: upgrade`, which the
/// gateway does not forward.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Headers about the client or the gateway that only the gateway (or a trusted proxy in front
/// of it) may set; a client could otherwise forge its address or identity to the upstream —
/// including the names other proxies use, which an upstream that used to sit behind one may
/// still believe — or, with the URL-override headers some servers honour, the path it serves.
const IDENTITY: [HeaderName; 22] = [
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-forwarded-prefix"),
    HeaderName::from_static("x-forwarded-server"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("x-client-ip"),
    HeaderName::from_static("true-client-ip"),
    HeaderName::from_static("cf-connecting-ip"),
    HeaderName::from_static("x-client-cert"),
    HeaderName::from_static("x-ssl-client-cert"),
    HeaderName::from_static("x-ssl-client-verify"),
    HeaderName::from_static("x-ssl-client-s-dn"),
    HeaderName::from_static("x-ssl-client-i-dn"),
    HeaderName::from_static("x-arr-clientcert"),
    HeaderName::from_static("x-client-cert-fingerprint"),
    HeaderName::from_static("x-original-url"),
    HeaderName::from_static("x-rewrite-url"),
    HeaderName::from_static("x-http-method-override"),
    HeaderName::from_static("garrison-consumer"),
];

/// The request id header.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The W3C trace context header.
pub(crate) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The response header in which an upstream names the data subject of its answer, for the
/// audit trail; always removed before the response leaves the gateway.
pub(crate) static SUBJECT: HeaderName = HeaderName::from_static("garrison-subject");
/// The consumer name given to the upstream.
pub(crate) static CONSUMER: HeaderName = HeaderName::from_static("garrison-consumer");
/// The API key header.
pub(crate) static API_KEY: HeaderName = HeaderName::from_static("x-api-key");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Removes the headers of `set` that are present. One pass over the (few) headers finds them,
/// so the usual request, which has none, costs no hashing at all.
fn remove_present<const N: usize>(headers: &mut HeaderMap, set: &[HeaderName; N]) {
    let mut present = [false; N];
    for name in headers.keys() {
        if let Some(i) = set.iter().position(|s| s == name) {
            present[i] = true;
        }
    }
    for (name, _) in set.iter().zip(present).filter(|(_, p)| *p) {
        headers.remove(name);
    }
}

/// Removes hop-by-hop headers, including any the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1); collect them before
    // Connection itself is removed. The common options (keep-alive, close) name no header that
    // is not already in the set, so the usual case allocates nothing.
    let mut listed: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(header::CONNECTION) {
        for token in value.to_str().unwrap_or_default().split(',').map(str::trim) {
            if token.is_empty()
                || token.eq_ignore_ascii_case("keep-alive")
                || token.eq_ignore_ascii_case("close")
            {
                continue;
            }
            if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                listed.push(name);
            }
        }
    }
    for name in &listed {
        headers.remove(name);
    }
    remove_present(headers, &HOP_BY_HOP);
}

/// Removes identity headers a client could forge.
pub(crate) fn strip_identity(headers: &mut HeaderMap) {
    remove_present(headers, &IDENTITY);
}

/// Whether `ip` belongs to one of `nets`.
pub(crate) fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    nets.iter().any(|n| n.contains(&ip))
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are compared as IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The caller's address: the peer, or, when the peer is a trusted proxy, the nearest address in
/// `X-Forwarded-For` that is not itself a trusted proxy (the rightmost untrusted hop; entries
/// further left were written by the client and prove nothing).
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if trusted.is_empty() || !contains(trusted, peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !contains(trusted, client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Sets `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded` for the upstream. From a trusted
/// proxy the existing chain is extended; otherwise it starts with the peer, whose values were
/// formatted when the connection was accepted.
pub(crate) fn set_forwarded(
    headers: &mut HeaderMap,
    conn: &ConnectionIdentity,
    trusted_peer: bool,
    host: Option<&HeaderValue>,
) {
    if trusted_peer {
        let extend = |existing: Option<&HeaderValue>, own: &HeaderValue| {
            existing
                .and_then(|e| e.to_str().ok())
                .and_then(|e| {
                    HeaderValue::from_str(&format!("{e}, {}", own.to_str().unwrap_or_default()))
                        .ok()
                })
                .unwrap_or_else(|| own.clone())
        };
        let xff = extend(headers.get(&X_FORWARDED_FOR), &conn.forwarded_for);
        let forwarded = extend(headers.get(header::FORWARDED), &conn.forwarded);
        headers.insert(X_FORWARDED_FOR.clone(), xff);
        headers.insert(header::FORWARDED, forwarded);
    } else {
        headers.insert(X_FORWARDED_FOR.clone(), conn.forwarded_for.clone());
        headers.insert(header::FORWARDED, conn.forwarded.clone());
    }
    headers.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(if conn.tls { "https" } else { "http" }),
    );
    if let Some(host) = host {
        headers.insert(X_FORWARDED_HOST.clone(), host.clone());
    }
}

/// The request id: the client's `X-Request-ID` when it is a sane token (1-128 characters of
/// letters, digits and `-_.:`), otherwise a new random UUID (version 4).
pub(crate) fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(&REQUEST_ID) {
        let bytes = v.as_bytes();
        if !bytes.is_empty()
            && bytes.len() <= 128
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return v.clone();
        }
    }
    let mut id = [0u8; 36];
    write_uuid(&mut id, fastrand::u128(..));
    HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn write_uuid(out: &mut [u8; 36], random: u128) {
    // Set the version (4) and variant (10xx) bits of RFC 9562.
    let value = (random & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    write_hex(&mut out[0..8], value >> 96);
    out[8] = b'-';
    write_hex(&mut out[9..13], value >> 80);
    out[13] = b'-';
    write_hex(&mut out[14..18], value >> 64);
    out[18] = b'-';
    write_hex(&mut out[19..23], value >> 48);
    out[23] = b'-';
    write_hex(&mut out[24..36], value);
}

/// The `traceparent` to send upstream (W3C Trace Context §3.2): the caller's trace id and flags
/// with a new parent id for the gateway's hop, or a new trace if the caller sent none or an
/// invalid one.
pub(crate) fn traceparent(headers: &HeaderMap) -> HeaderValue {
    // 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, written on the stack.
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-01";
    let incoming = headers
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_traceparent);
    match incoming {
        Some((trace, flags)) => {
            out[3..35].copy_from_slice(trace.as_bytes());
            out[53..55].copy_from_slice(flags.as_bytes());
        }
        None => write_hex(&mut out[3..35], fastrand::u128(1..)),
    }
    write_hex(&mut out[36..52], u128::from(fastrand::u64(1..)));
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Writes the low `out.len()` hex digits of `value` into `out`, most significant first.
fn write_hex(out: &mut [u8], mut value: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = HEX[(value & 0xF) as usize];
        value >>= 4;
    }
}

/// Returns the trace id and flags of a valid version-00 `traceparent`.
fn parse_traceparent(text: &str) -> Option<(&str, &str)> {
    let mut parts = text.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = version == "00"
        && parts.next().is_none()
        && lower_hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && lower_hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && lower_hex(flags, 2);
    valid.then_some((trace, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        m
    }

    #[test]
    fn hop_by_hop_and_connection_listed_headers_are_removed() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("accept", "application/json"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn forwarded_for_is_only_believed_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let h = map(&[("x-forwarded-for", "198.51.100.7, 203.0.113.9, 10.1.1.1")]);
        let peer: IpAddr = "10.2.2.2".parse().expect("ip");
        assert_eq!(
            client_ip(peer, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().expect("ip")
        );
        let untrusted: IpAddr = "192.0.2.1".parse().expect("ip");
        assert_eq!(client_ip(untrusted, &h, &trusted), untrusted);
        assert_eq!(client_ip(peer, &h, &[]), peer);

        let from = |ip: IpAddr| ConnectionIdentity::new((ip, 443).into(), None, true, 0);
        let mut h = map(&[("x-forwarded-for", "6.6.6.6"), ("forwarded", "for=6.6.6.6")]);
        set_forwarded(&mut h, &from(untrusted), false, None);
        assert_eq!(h["x-forwarded-for"], "192.0.2.1");
        assert_eq!(h["forwarded"], "for=192.0.2.1;proto=https");
        let mut h = map(&[("x-forwarded-for", "203.0.113.9")]);
        let host = HeaderValue::from_static("api.example");
        set_forwarded(&mut h, &from(peer), true, Some(&host));
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 10.2.2.2");
        assert_eq!(h["forwarded"], "for=10.2.2.2;proto=https");
        assert_eq!(h["x-forwarded-host"], "api.example");
        let v6: IpAddr = "2001:db8::1".parse().expect("ip");
        let mut h = HeaderMap::new();
        set_forwarded(&mut h, &from(v6), false, None);
        assert_eq!(h["forwarded"], "for=\"[2001:db8::1]\";proto=https");
    }

    #[test]
    fn request_ids_are_kept_when_sane_and_generated_otherwise() {
        let kept = request_id(&map(&[("x-request-id", "abc-123")]));
        assert_eq!(kept, "abc-123");
        let replaced = request_id(&map(&[("x-request-id", "bad id; drop table")]));
        let text = replaced.to_str().expect("ascii");
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4", "version nibble in {text}");
        assert!(
            matches!(&text[19..20], "8" | "9" | "a" | "b"),
            "variant in {text}"
        );
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }

    #[test]
    fn traceparent_keeps_the_trace_and_replaces_the_parent() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let out = traceparent(&map(&[("traceparent", incoming)]));
        let out = out.to_str().expect("ascii");
        assert!(out.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(out.ends_with("-01"));
        assert_ne!(out, incoming);
        let fresh = traceparent(&map(&[("traceparent", "00-0000-zz-01")]));
        assert_eq!(fresh.len(), 55);
        assert!(parse_traceparent(fresh.to_str().expect("ascii")).is_some());
    }
}
