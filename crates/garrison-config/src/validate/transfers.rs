//! File transfer services: each becomes five routes in the subscription group named like it
//! (uploads, one upload, an inbox's list, one file, its acknowledgement), served by the gateway
//! itself — there is no upstream.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Check;
use super::routes::{Templates, host};
use crate::model::*;
use crate::schema::*;

/// The longest any transfer duration may be: ten years.
const MAX_RETENTION: Duration = Duration::from_secs(3650 * 86_400);

/// The largest upload a service may accept: 1 TiB.
const MAX_SIZE: u64 = 1 << 40;

fn long_duration(
    c: &mut Check<'_>,
    value: &Option<marked_yaml::Spanned<String>>,
    field: &str,
    default: Duration,
    min: Duration,
) -> Duration {
    c.duration_within(value, field, default, min, MAX_RETENTION, "3650d")
}

/// `http://host[:port]/path`: plain HTTP, as upstreams are (TLS to a webhook is not done
/// yet); the port defaults to 80.
fn parse_webhook(text: &str) -> Result<Webhook, String> {
    let bad = || format!("{text:?} is not a webhook URL such as http://10.0.0.5:8080/hooks/files");
    let uri: http::Uri = text.parse().map_err(|_| bad())?;
    if uri.scheme_str() != Some("http") {
        return Err(
            "a webhook is a plain http:// URL inside the network (https is not supported yet)"
                .into(),
        );
    }
    let authority = uri.authority().ok_or_else(bad)?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(bad());
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok(Webhook {
        authority: format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        ),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.to_owned()
        },
    })
}

pub(super) fn resolve_transfers(
    c: &mut Check<'_>,
    raw: &[RawTransfer],
    consumers: &[Consumer],
    group_names: &mut HashSet<String>,
    templates: &mut Templates,
    routes: &mut Vec<Route>,
) -> Vec<Transfer> {
    let mut out = Vec::new();
    // Each service's store is its own: inboxes are named per service, so a shared store would
    // let one service's inbox owner read files sent to another's inbox of the same name.
    let mut stores: Vec<(PathBuf, &str)> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let at = format!("transfers[{i}]");
        c.name(&t.name, &format!("{at}.name"), group_names);
        let base_path = t.base_path.trim_end_matches('/').to_owned();
        let base_ok = base_path.starts_with('/')
            && !base_path.contains(['{', '}', '*', '?', '#', ' '])
            && base_path[1..]
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if !base_ok {
            c.fail(
                &t.base_path,
                format!("{at}.base_path"),
                "a base path is a plain path such as /files/v1 (no parameters, dot or empty segments)",
            );
        }
        let host = host(c, &t.host, &format!("{at}.host"));
        let store = c.base.join(t.store.as_str());
        // Paths compare by component, so `store` and `./store` are the same; the store's lock
        // file catches any other way of naming one directory twice when it is opened.
        if let Some((_, other)) = stores.iter().find(|(s, _)| *s == store) {
            c.fail(
                &t.store,
                format!("{at}.store"),
                format!(
                    "transfer service {other:?} has this store already: each service needs a directory of its own"
                ),
            );
        }
        stores.push((store.clone(), t.name.as_str()));
        let master_keys_file = c.base.join(t.master_keys.as_str());
        let master_keys = match garrison_transfer::MasterKeys::load(&master_keys_file) {
            Ok(keys) => Some(Arc::new(keys)),
            Err(e) => {
                c.fail(&t.master_keys, format!("{at}.master_keys"), e.to_string());
                None
            }
        };
        let mut document_types: Vec<String> = Vec::new();
        for (j, name) in t.document_types.iter().enumerate() {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !valid {
                c.fail(
                    name,
                    format!("{at}.document_types[{j}]"),
                    "a document type is 1-64 letters, digits, '-', '_' and '.'",
                );
            } else if document_types.iter().any(|d| *d == **name) {
                c.fail(name, format!("{at}.document_types[{j}]"), "listed twice");
            } else {
                document_types.push(name.to_string());
            }
        }
        if t.document_types.is_empty() {
            c.fail(
                &t.document_types,
                format!("{at}.document_types"),
                "an empty list accepts nothing: name at least one document type",
            );
        }
        let max_size = c.count(
            &t.max_size,
            &format!("{at}.max_size"),
            100 << 20,
            1,
            MAX_SIZE,
        );
        let second = Duration::from_secs(1);
        let upload_expiry = long_duration(
            c,
            &t.upload_expiry,
            &format!("{at}.upload_expiry"),
            Duration::from_secs(86_400),
            second,
        );
        let retention = long_duration(
            c,
            &t.retention,
            &format!("{at}.retention"),
            Duration::from_secs(30 * 86_400),
            second,
        );
        let delete_acknowledged_after = long_duration(
            c,
            &t.delete_acknowledged_after,
            &format!("{at}.delete_acknowledged_after"),
            Duration::from_secs(3600),
            Duration::ZERO,
        );
        let sweep_interval = long_duration(
            c,
            &t.sweep_interval,
            &format!("{at}.sweep_interval"),
            Duration::from_secs(60),
            second,
        );
        let mut inbox_names = HashSet::new();
        let mut inboxes = Vec::new();
        for (j, inbox) in t.inboxes.iter().enumerate() {
            c.name(
                &inbox.name,
                &format!("{at}.inboxes[{j}].name"),
                &mut inbox_names,
            );
            let webhook = inbox.webhook.as_ref().and_then(|text| {
                let parsed = parse_webhook(text);
                if let Err(e) = &parsed {
                    c.fail(text, format!("{at}.inboxes[{j}].webhook"), e.clone());
                }
                parsed.ok()
            });
            match consumers.iter().position(|x| x.name == *inbox.owner) {
                Some(owner) => inboxes.push(Inbox {
                    name: inbox.name.to_string(),
                    owner,
                    webhook,
                }),
                None => c.fail(
                    &inbox.owner,
                    format!("{at}.inboxes[{j}].owner"),
                    format!("no consumer is named {:?}", inbox.owner.as_str()),
                ),
            }
        }
        if t.inboxes.is_empty() {
            c.fail(
                &t.inboxes,
                format!("{at}.inboxes"),
                "a transfer service needs at least one inbox",
            );
        }
        let audit = t.audit.as_ref().is_some_and(|a| **a);
        let index = out.len();
        let paths = [
            (
                "uploads",
                &["POST", "OPTIONS"][..],
                "/uploads",
                TransferOperation::Uploads,
            ),
            (
                "upload",
                &["HEAD", "PATCH", "DELETE", "OPTIONS"][..],
                "/uploads/{id}",
                TransferOperation::Upload,
            ),
            (
                "inbox",
                &["GET"][..],
                "/inboxes/{inbox}/files",
                TransferOperation::Inbox,
            ),
            (
                "download",
                &["GET", "HEAD"][..],
                "/inboxes/{inbox}/files/{id}",
                TransferOperation::Download,
            ),
            (
                "acknowledge",
                &["POST"][..],
                "/inboxes/{inbox}/files/{id}/acknowledgement",
                TransferOperation::Acknowledge,
            ),
        ];
        for (name, methods, suffix, operation) in paths {
            let methods: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
            let path = format!("{base_path}{suffix}");
            if base_ok && let Err(e) = templates.add(&host, &methods, &path, routes.len()) {
                c.fail(&t.base_path, format!("{at}.base_path"), e);
            }
            routes.push(Route {
                name: format!("{}.{name}", t.name.as_str()),
                group: t.name.to_string(),
                host: host.clone(),
                methods,
                path,
                upstream: None,
                timeout: None,
                max_body_bytes: max_size,
                auth: RouteAuth::ApiKey,
                audit,
                operation: None,
                transfer: Some(TransferRoute {
                    transfer: index,
                    operation,
                }),
            });
        }
        if let Some(master_keys) = master_keys {
            out.push(Transfer {
                name: t.name.to_string(),
                base_path,
                store,
                master_keys_file,
                master_keys,
                document_types,
                max_size,
                upload_expiry,
                retention,
                delete_acknowledged_after,
                sweep_interval,
                audit,
                inboxes,
            });
        }
    }
    out
}
