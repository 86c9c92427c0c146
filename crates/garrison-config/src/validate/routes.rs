//! Upstreams and routes: targets, timeouts, methods, hosts and path templates.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use marked_yaml::Spanned;

use super::Check;
use super::METHODS;
use crate::model::*;
use crate::schema::*;

pub(super) fn resolve_upstreams(c: &mut Check<'_>, raw: &[RawUpstream]) -> Vec<Upstream> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, u) in raw.iter().enumerate() {
        let at = format!("upstreams[{i}]");
        c.name(&u.name, &format!("{at}.name"), &mut names);
        if u.targets.is_empty() {
            c.fail(
                &u.targets,
                format!("{at}.targets"),
                "an upstream needs at least one target",
            );
        }
        let mut targets = Vec::new();
        for (j, t) in u.targets.iter().enumerate() {
            let authority = t.strip_prefix("http://").unwrap_or(t).trim_end_matches('/');
            if t.starts_with("https://") {
                c.fail(t, format!("{at}.targets[{j}]"), "TLS to upstreams is not supported yet: use http:// targets on a trusted network");
            } else if authority
                .parse::<http::uri::Authority>()
                .map(|a| a.port_u16().is_none())
                .unwrap_or(true)
            {
                c.fail(
                    t,
                    format!("{at}.targets[{j}]"),
                    "expected host:port, such as 127.0.0.1:9000",
                );
            } else {
                targets.push(authority.to_owned());
            }
        }
        let breaker = u.circuit_breaker.as_ref();
        out.push(Upstream {
            name: u.name.to_string(),
            targets,
            connect_timeout: c.duration(
                &u.connect_timeout,
                &format!("{at}.connect_timeout"),
                Duration::from_secs(2),
            ),
            request_timeout: c.duration(
                &u.request_timeout,
                &format!("{at}.request_timeout"),
                Duration::from_secs(30),
            ),
            idle_timeout: c.duration(
                &u.idle_timeout,
                &format!("{at}.idle_timeout"),
                Duration::from_secs(60),
            ),
            max_idle_per_target: c.count(
                &u.max_idle_per_target,
                &format!("{at}.max_idle_per_target"),
                256,
                0,
                100_000,
            ) as usize,
            breaker_failures: c.count(
                &breaker.and_then(|b| b.failures.clone()),
                &format!("{at}.circuit_breaker.failures"),
                5,
                1,
                1000,
            ) as u32,
            breaker_cooldown: c.duration(
                &breaker.and_then(|b| b.cooldown.clone()),
                &format!("{at}.circuit_breaker.cooldown"),
                Duration::from_secs(10),
            ),
        });
    }
    out
}

/// The router's view of every route so far: a conflict between two templates is found when
/// the second is added, whichever part of the file declared either.
#[derive(Default)]
pub(super) struct Templates(HashMap<(Option<String>, String), matchit::Router<usize>>);

impl Templates {
    /// Adds `path` for `methods` (empty: every method) on `host`; the error says why the
    /// router cannot take it.
    pub(super) fn add(
        &mut self,
        host: &Option<String>,
        methods: &[String],
        path: &str,
        index: usize,
    ) -> Result<(), String> {
        let all: Vec<String>;
        let methods = if methods.is_empty() {
            all = METHODS.iter().map(|m| m.to_string()).collect();
            &all
        } else {
            methods
        };
        for method in methods {
            let router = self.0.entry((host.clone(), method.clone())).or_default();
            if let Err(e) = router.insert(path, index) {
                return Err(format!("cannot route {method} {path}: {e}"));
            }
        }
        Ok(())
    }
}

/// The route's host, lower case, if it is a plain host name.
pub(super) fn host(
    c: &mut Check<'_>,
    raw: &Option<Spanned<String>>,
    field: &str,
) -> Option<String> {
    let host = raw.as_ref().map(|h| h.to_ascii_lowercase());
    if let (Some(text), Some(h)) = (raw, &host)
        && (h.contains(':') || h.contains('/') || h.is_empty())
    {
        c.fail(
            text,
            field,
            "a host name without port or path, such as api.example.gov.uk",
        );
    }
    host
}

/// `api_key` (the default) or `public`.
pub(super) fn auth(c: &mut Check<'_>, raw: &Option<Spanned<String>>, field: &str) -> RouteAuth {
    match raw.as_ref().map(|a| a.as_str()) {
        None | Some("api_key") => RouteAuth::ApiKey,
        Some("public") => RouteAuth::Public,
        Some(_) => {
            if let Some(text) = raw {
                c.fail(text, field, "expected api_key or public");
            }
            RouteAuth::ApiKey
        }
    }
}

/// The index of the upstream named `name`, or a diagnostic.
pub(super) fn upstream(
    c: &mut Check<'_>,
    name: &Spanned<String>,
    field: &str,
    upstreams: &[Upstream],
) -> Option<usize> {
    let found = upstreams.iter().position(|u| u.name == **name);
    if found.is_none() {
        c.fail(
            name,
            field,
            format!("no upstream is named {:?}", name.as_str()),
        );
    }
    found
}

pub(super) fn resolve_routes(
    c: &mut Check<'_>,
    raw: &[RawRoute],
    upstreams: &[Upstream],
    default_body: u64,
    templates: &mut Templates,
) -> Vec<Route> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = format!("routes[{i}]");
        c.name(&r.name, &format!("{at}.name"), &mut names);
        let upstream = upstream(c, &r.upstream, &format!("{at}.upstream"), upstreams);
        let mut methods = Vec::new();
        for (j, m) in r.methods.iter().enumerate() {
            let upper = m.to_ascii_uppercase();
            if !METHODS.contains(&upper.as_str()) {
                c.fail(
                    m,
                    format!("{at}.methods[{j}]"),
                    format!("expected one of {}", METHODS.join(", ")),
                );
            } else if methods.contains(&upper) {
                c.fail(m, format!("{at}.methods[{j}]"), "method listed twice");
            } else {
                methods.push(upper);
            }
        }
        let host = host(c, &r.host, &format!("{at}.host"));
        if !r.path.starts_with('/') {
            c.fail(
                &r.path,
                format!("{at}.path"),
                "a path template starts with '/'",
            );
        } else if let Err(e) = templates.add(&host, &methods, &r.path, i) {
            c.fail(&r.path, format!("{at}.path"), e);
        }
        out.push(Route {
            name: r.name.to_string(),
            group: r
                .group
                .as_ref()
                .map(|g| g.to_string())
                .unwrap_or_else(|| r.name.to_string()),
            host,
            methods,
            path: r.path.to_string(),
            upstream: Some(upstream.unwrap_or(0)),
            timeout: r.timeout.as_ref().map(|_| {
                c.duration(
                    &r.timeout,
                    &format!("{at}.timeout"),
                    Duration::from_secs(30),
                )
            }),
            max_body_bytes: c.count(
                &r.max_body_bytes,
                &format!("{at}.max_body_bytes"),
                default_body,
                0,
                1 << 40,
            ),
            auth: auth(c, &r.auth, &format!("{at}.auth")),
            audit: r.audit.as_ref().is_some_and(|a| **a),
            operation: None,
            transfer: None,
        });
    }
    out
}
