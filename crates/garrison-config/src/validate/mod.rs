//! From the raw file to a [`Config`]: every rule, every problem collected, none fatal early.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use garrison_core::KeyDigest;
use ipnet::IpNet;
use marked_yaml::Spanned;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::diagnostic::{ConfigError, Diagnostic};
use crate::model::*;
use crate::schema::*;
use crate::values::parse_duration;

mod apis;
mod consumers;
mod routes;
mod transfers;

use apis::resolve_apis;
use consumers::{resolve_consumers, resolve_plans, resolve_subscriptions};
use routes::{Templates, resolve_routes, resolve_upstreams};

/// The longest duration any setting accepts. Every duration ends up added to an `Instant`
/// (deadlines, timers, h2 pings), which panics on overflow; no timeout, idle time or cooldown of
/// a gateway has a reason to exceed a day.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// `audit.group_commit` unless set: off, as the wait it adds to a busy gateway's requests is
/// the operator's trade (docs/audit.md measures both sides).
const DEFAULT_GROUP_COMMIT: Duration = Duration::ZERO;

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Collects problems while the configuration is resolved.
struct Check<'a> {
    file: &'a Path,
    base: PathBuf,
    problems: Vec<Diagnostic>,
}

impl Check<'_> {
    fn fail<T>(&mut self, at: &Spanned<T>, field: impl Into<String>, message: impl Into<String>) {
        self.problems
            .push(Diagnostic::at(self.file, at.span(), field, message));
    }

    fn duration(
        &mut self,
        value: &Option<Spanned<String>>,
        field: &str,
        default: Duration,
    ) -> Duration {
        // Zero would make deadlines fire at once and timers spin.
        if let Some(text) = value
            && parse_duration(text).is_ok_and(|d| d.is_zero())
        {
            self.fail(text, field, "must be longer than zero");
            return default;
        }
        self.duration_within(value, field, default, Duration::ZERO, MAX_DURATION, "24h")
    }

    /// A duration of at least `min` and at most `max` (`max_text` names it in the error);
    /// `default` when absent or invalid.
    fn duration_within(
        &mut self,
        value: &Option<Spanned<String>>,
        field: &str,
        default: Duration,
        min: Duration,
        max: Duration,
        max_text: &str,
    ) -> Duration {
        let Some(text) = value else { return default };
        match parse_duration(text) {
            Ok(d) if d < min => {
                self.fail(text, field, format!("must be at least {}s", min.as_secs()));
                default
            }
            Ok(d) if d > max => {
                self.fail(text, field, format!("must be at most {max_text}"));
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.fail(text, field, e);
                default
            }
        }
    }

    fn count(
        &mut self,
        value: &Option<Spanned<u64>>,
        field: &str,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        match value {
            None => default,
            Some(n) if **n < min || **n > max => {
                self.fail(n, field, format!("must be between {min} and {max}"));
                default
            }
            Some(n) => **n,
        }
    }

    fn networks(&mut self, list: &[Spanned<String>], field: &str) -> Vec<IpNet> {
        let mut out = Vec::with_capacity(list.len());
        for (i, text) in list.iter().enumerate() {
            match parse_network(text) {
                Ok(net) => out.push(net.trunc()),
                Err(e) => self.fail(text, format!("{field}[{i}]"), e),
            }
        }
        out
    }

    fn name(&mut self, name: &Spanned<String>, field: &str, seen: &mut HashSet<String>) {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            self.fail(
                name,
                field,
                "names are 1-64 characters of letters, digits, '-', '_' and '.'",
            );
        } else if !seen.insert(name.to_string()) {
            self.fail(
                name,
                field,
                format!("the name {:?} is used twice", name.as_str()),
            );
        }
    }

    fn read(&mut self, path: &Spanned<String>, field: &str) -> Option<Vec<u8>> {
        let full = self.base.join(path.as_str());
        match std::fs::read(&full) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.fail(path, field, format!("cannot read {}: {e}", full.display()));
                None
            }
        }
    }

    fn certificates(
        &mut self,
        path: &Spanned<String>,
        field: &str,
    ) -> Vec<CertificateDer<'static>> {
        let Some(pem) = self.read(path, field) else {
            return Vec::new();
        };
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem).collect();
        match certs {
            Ok(certs) if !certs.is_empty() => certs,
            Ok(_) => {
                self.fail(path, field, "the file holds no PEM certificate");
                Vec::new()
            }
            Err(e) => {
                self.fail(path, field, format!("the file is not valid PEM: {e}"));
                Vec::new()
            }
        }
    }
}

fn parse_network(text: &str) -> Result<IpNet, String> {
    IpNet::from_str(text)
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR network (e.g. 203.0.113.0/24)"))
}

/// Resolves and checks `raw`, read from `file`.
pub(crate) fn resolve(file: &Path, raw: RawConfig) -> Result<Config, ConfigError> {
    let base = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut c = Check {
        file,
        base,
        problems: Vec::new(),
    };

    let admin = Admin {
        listen: match raw.admin.as_ref().and_then(|a| a.listen.as_ref()) {
            None => SocketAddr::from(([127, 0, 0, 1], 8081)),
            Some(text) => text.parse().unwrap_or_else(|_| {
                c.fail(
                    text,
                    "admin.listen",
                    "expected an address such as 127.0.0.1:8081",
                );
                SocketAddr::from(([127, 0, 0, 1], 8081))
            }),
        },
        token: raw
            .admin
            .as_ref()
            .and_then(|a| a.token_digest.as_ref())
            .and_then(|text| {
                KeyDigest::parse(text).or_else(|| {
                    c.fail(
                        text,
                        "admin.token_digest",
                        "expected sha256: followed by 64 hex digits",
                    );
                    None
                })
            }),
    };
    let gateway = resolve_gateway(&mut c, raw.gateway.unwrap_or_default());
    let listeners = resolve_listeners(&mut c, &raw.listeners);
    let upstreams = resolve_upstreams(&mut c, &raw.upstreams);
    let mut templates = Templates::default();
    let mut routes = resolve_routes(
        &mut c,
        &raw.routes,
        &upstreams,
        gateway.limits.max_body_bytes,
        &mut templates,
    );
    let apis = resolve_apis(
        &mut c,
        &raw.apis,
        &upstreams,
        gateway.limits.max_body_bytes,
        &mut templates,
        &mut routes,
    );
    let plans = resolve_plans(&mut c, &raw.plans);
    let consumers = resolve_consumers(&mut c, &raw.consumers);
    // A transfer service's name is a route group: it must not be an API's or a route's.
    let mut group_names: HashSet<String> = routes.iter().map(|r| r.group.clone()).collect();
    group_names.extend(raw.apis.iter().map(|a| a.name.to_string()));
    let transfers = transfers::resolve_transfers(
        &mut c,
        &raw.transfers,
        &consumers,
        &mut group_names,
        &mut templates,
        &mut routes,
    );
    let subscriptions = resolve_subscriptions(
        &mut c,
        &raw.subscriptions,
        &routes,
        &raw.apis,
        &plans,
        &consumers,
        &raw.transfers
            .iter()
            .map(consumers::TransferNames::of)
            .collect::<Vec<_>>(),
    );

    let audit = raw.audit.as_ref().map(|a| {
        let shed_when_full = match a.queue.as_ref().map(|q| q.as_str()) {
            None | Some("block") => false,
            Some("shed") => true,
            Some(_) => {
                if let Some(text) = &a.queue {
                    c.fail(text, "audit.queue", "expected block (fail closed) or shed");
                }
                false
            }
        };
        let write_then_sync = match a.durability.as_ref().map(|d| d.as_str()) {
            None | Some("fsync") => {
                if let Some(text) = &a.sync_interval {
                    c.fail(
                        text,
                        "audit.sync_interval",
                        "applies only to `durability: write` (under fsync every batch is synced)",
                    );
                }
                None
            }
            Some("write") => Some(c.duration(
                &a.sync_interval,
                "audit.sync_interval",
                Duration::from_millis(100),
            )),
            Some(_) => {
                if let Some(text) = &a.durability {
                    c.fail(
                        text,
                        "audit.durability",
                        "expected fsync (a record is acknowledged once synced to disk) or \
                         write (once written; synced within sync_interval)",
                    );
                }
                None
            }
        };
        // Zero turns group commit off; above 100 ms the wait would rival an upstream's answer.
        let group_commit = c.duration_within(
            &a.group_commit,
            "audit.group_commit",
            DEFAULT_GROUP_COMMIT,
            Duration::ZERO,
            Duration::from_millis(100),
            "100ms",
        );
        AuditSettings {
            dir: c.base.join(a.dir.as_str()),
            shed_when_full,
            write_then_sync,
            group_commit,
            signing_key: a.signing_key.as_ref().map(|k| c.base.join(k.as_str())),
            subject_keys: a.subject_keys.as_ref().map(|k| c.base.join(k.as_str())),
        }
    });
    if audit.is_none() {
        for (i, r) in raw.routes.iter().enumerate() {
            if let Some(flag) = r.audit.as_ref().filter(|f| ***f) {
                c.fail(
                    flag,
                    format!("routes[{i}].audit"),
                    "the route is audited, but no `audit:` section says where the store is",
                );
            }
        }
        for (i, t) in raw.transfers.iter().enumerate() {
            if let Some(flag) = t.audit.as_ref().filter(|f| ***f) {
                c.fail(
                    flag,
                    format!("transfers[{i}].audit"),
                    "the transfer service is audited, but no `audit:` section says where the store is",
                );
            }
        }
        for (i, a) in raw.apis.iter().enumerate() {
            if let Some(flag) = a.audit.as_ref().filter(|f| ***f) {
                c.fail(
                    flag,
                    format!("apis[{i}].audit"),
                    "the API is audited, but no `audit:` section says where the store is",
                );
            }
        }
    }
    let control_plane = raw.control_plane.as_ref().map(|cp| {
        let session_ttl = match &cp.session_ttl {
            None => Duration::from_secs(8 * 3600),
            Some(text) => parse_duration(text).unwrap_or_else(|why| {
                c.fail(text, "control_plane.session_ttl", why);
                Duration::from_secs(8 * 3600)
            }),
        };
        let store = c.base.join(cp.store.as_str());
        let mut prefix = |text: &Option<Spanned<String>>, field: &str, max: u8, default: u8| {
            let Some(text) = text else { return default };
            match text.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => {
                    c.fail(
                        text,
                        field,
                        format!("expected a prefix length from 0 to {max}"),
                    );
                    default
                }
            }
        };
        let allow_list_max_prefix_ipv4 = prefix(
            &cp.allow_list_max_prefix_ipv4,
            "control_plane.allow_list_max_prefix_ipv4",
            32,
            24,
        );
        let allow_list_max_prefix_ipv6 = prefix(
            &cp.allow_list_max_prefix_ipv6,
            "control_plane.allow_list_max_prefix_ipv6",
            128,
            64,
        );
        ControlPlaneSettings {
            store,
            session_ttl,
            allow_list_max_prefix_ipv4,
            allow_list_max_prefix_ipv6,
            self_sign_up: cp.self_sign_up.as_ref().is_some_and(|b| **b),
        }
    });
    if raw.listeners.is_empty() {
        c.problems.push(Diagnostic::file(
            file,
            "no listeners: declare at least one under `listeners:`",
        ));
    }
    if c.problems.is_empty() {
        Ok(Config {
            source: file.to_owned(),
            admin,
            gateway,
            listeners,
            upstreams,
            routes,
            apis,
            plans,
            consumers,
            subscriptions,
            audit,
            control_plane,
            transfers,
        })
    } else {
        c.problems.sort_by_key(|p| (p.line, p.column));
        Err(ConfigError {
            problems: c.problems,
        })
    }
}

fn resolve_gateway(c: &mut Check<'_>, raw: RawGateway) -> GatewaySettings {
    let d = Limits::default();
    let l = raw.limits.unwrap_or_default();
    let limits = Limits {
        max_header_bytes: c.count(
            &l.max_header_bytes,
            "gateway.limits.max_header_bytes",
            d.max_header_bytes as u64,
            8192,
            1 << 20,
        ) as usize,
        max_headers: c.count(
            &l.max_headers,
            "gateway.limits.max_headers",
            d.max_headers as u64,
            8,
            1000,
        ) as usize,
        header_read_timeout: c.duration(
            &l.header_read_timeout,
            "gateway.limits.header_read_timeout",
            d.header_read_timeout,
        ),
        body_timeout: c.duration(
            &l.body_timeout,
            "gateway.limits.body_timeout",
            d.body_timeout,
        ),
        keep_alive_timeout: c.duration(
            &l.keep_alive_timeout,
            "gateway.limits.keep_alive_timeout",
            d.keep_alive_timeout,
        ),
        idle_timeout: c.duration(
            &l.idle_timeout,
            "gateway.limits.idle_timeout",
            d.idle_timeout,
        ),
        tls_handshake_timeout: c.duration(
            &l.tls_handshake_timeout,
            "gateway.limits.tls_handshake_timeout",
            d.tls_handshake_timeout,
        ),
        max_connections_per_ip: c.count(
            &l.max_connections_per_ip,
            "gateway.limits.max_connections_per_ip",
            u64::from(d.max_connections_per_ip),
            1,
            1 << 20,
        ) as u32,
        max_connections: c.count(
            &l.max_connections,
            "gateway.limits.max_connections",
            u64::from(d.max_connections),
            1,
            1 << 20,
        ) as u32,
        max_body_bytes: c.count(
            &l.max_body_bytes,
            "gateway.limits.max_body_bytes",
            d.max_body_bytes,
            0,
            1 << 40,
        ),
        h2_max_concurrent_streams: c.count(
            &l.h2_max_concurrent_streams,
            "gateway.limits.h2_max_concurrent_streams",
            u64::from(d.h2_max_concurrent_streams),
            1,
            10_000,
        ) as u32,
        h2_max_pending_reset_streams: c.count(
            &l.h2_max_pending_reset_streams,
            "gateway.limits.h2_max_pending_reset_streams",
            d.h2_max_pending_reset_streams as u64,
            1,
            10_000,
        ) as usize,
        h2_max_local_error_reset_streams: c.count(
            &l.h2_max_local_error_reset_streams,
            "gateway.limits.h2_max_local_error_reset_streams",
            d.h2_max_local_error_reset_streams as u64,
            1,
            100_000,
        ) as usize,
    };
    GatewaySettings {
        trusted_proxies: c.networks(&raw.trusted_proxies, "gateway.trusted_proxies"),
        allow: c.networks(&raw.allow, "gateway.allow"),
        access_log: raw.access_log.map(|b| *b).unwrap_or(true),
        limits,
    }
}

fn resolve_listeners(c: &mut Check<'_>, raw: &[RawListener]) -> Vec<Listener> {
    let mut names = HashSet::new();
    let mut addresses = HashSet::new();
    let mut out = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        let at = format!("listeners[{i}]");
        c.name(&l.name, &format!("{at}.name"), &mut names);
        let address = match l.address.parse::<SocketAddr>() {
            Ok(a) => {
                if a.port() != 0 && !addresses.insert(a) {
                    c.fail(
                        &l.address,
                        format!("{at}.address"),
                        "two listeners bind the same address",
                    );
                }
                a
            }
            Err(_) => {
                c.fail(
                    &l.address,
                    format!("{at}.address"),
                    "expected an address such as 0.0.0.0:8443 or [::1]:8443",
                );
                continue;
            }
        };
        let tls = l.tls.as_ref().and_then(|t| resolve_tls(c, t, &at));
        out.push(Listener {
            name: l.name.to_string(),
            address,
            tls,
        });
    }
    out
}

fn resolve_tls(c: &mut Check<'_>, t: &RawTls, at: &str) -> Option<ListenerTls> {
    let cert_chain = c.certificates(&t.certificate, &format!("{at}.tls.certificate"));
    let key = c.read(&t.key, &format!("{at}.tls.key")).and_then(|pem| {
        PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| {
                c.fail(
                    &t.key,
                    format!("{at}.tls.key"),
                    format!("no PEM private key found: {e}"),
                )
            })
            .ok()
    });
    let policy = match t.client_certificates.as_ref().map(|s| s.as_str()) {
        None | Some("required") => ClientCertPolicy::Required,
        Some("optional") => ClientCertPolicy::Optional,
        Some("off") => ClientCertPolicy::Off,
        Some(_) => {
            if let Some(text) = &t.client_certificates {
                c.fail(
                    text,
                    format!("{at}.tls.client_certificates"),
                    "expected required, optional or off",
                );
            }
            ClientCertPolicy::Required
        }
    };
    let client_ca = match (&t.client_ca, policy) {
        (Some(path), _) => c.certificates(path, &format!("{at}.tls.client_ca")),
        (None, ClientCertPolicy::Off) => Vec::new(),
        (None, _) => {
            // Point at `client_certificates` when it is written, else at the TLS block's first
            // line: the missing field itself has no position.
            let anchor = t.client_certificates.as_ref().unwrap_or(&t.certificate);
            c.fail(anchor, format!("{at}.tls.client_ca"), "client certificates are required or optional, so a client_ca bundle is needed (or set client_certificates: off)");
            Vec::new()
        }
    };
    let min_version = match t.min_version.as_ref().map(|v| v.as_str()) {
        None | Some("1.2") => TlsVersion::Tls12,
        Some("1.3") => TlsVersion::Tls13,
        Some(_) => {
            if let Some(text) = &t.min_version {
                c.fail(
                    text,
                    format!("{at}.tls.min_version"),
                    "expected \"1.2\" or \"1.3\" (older versions are never accepted)",
                );
            }
            TlsVersion::Tls12
        }
    };
    Some(ListenerTls {
        cert_chain,
        key: key?,
        client_certificates: policy,
        client_ca,
        min_version,
    })
}
