//! Paths, operations, parameters, request bodies, responses and security.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::schema::{Dir, schema};
use super::{At, Cx, Side, deref};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn object(value: Option<&Value>) -> Option<&Map<String, Value>> {
    value.and_then(Value::as_object)
}

pub(super) fn paths(cx: &mut Cx<'_>) {
    let (old_doc, new_doc) = (cx.old, cx.new);
    let empty = Map::new();
    let old_paths = object(old_doc.get("paths")).unwrap_or(&empty);
    let new_paths = object(new_doc.get("paths")).unwrap_or(&empty);
    for (path, old_item) in old_paths {
        let at = At {
            old: crate::lint::pointer(&["paths", path]),
            new: crate::lint::pointer(&["paths", path]),
        };
        let Some(new_item) = new_paths.get(path) else {
            cx.push(
                "path-removed",
                Side::Old,
                &at.old,
                format!("path {path} was removed"),
            );
            continue;
        };
        let (old_item, new_item) = (deref(old_doc, old_item), deref(new_doc, new_item));
        for method in METHODS {
            let op_at = at.child(&[method]);
            let name = format!("{} {path}", method.to_uppercase());
            match (old_item.get(*method), new_item.get(*method)) {
                (Some(_), None) => cx.push(
                    "operation-removed",
                    Side::Old,
                    &op_at.old,
                    format!("{name} was removed"),
                ),
                (None, Some(_)) => cx.push(
                    "operation-added",
                    Side::New,
                    &op_at.new,
                    format!("{name} was added"),
                ),
                (Some(o), Some(n)) => {
                    let op = Op {
                        name: &name,
                        at: &op_at,
                        old_item,
                        new_item,
                        old: o,
                        new: n,
                    };
                    operation(cx, &op);
                }
                (None, None) => {}
            }
        }
    }
    for path in new_paths.keys().filter(|p| !old_paths.contains_key(*p)) {
        cx.push(
            "path-added",
            Side::New,
            &crate::lint::pointer(&["paths", path]),
            format!("path {path} was added"),
        );
    }
}

struct Op<'a> {
    name: &'a str,
    at: &'a At,
    old_item: &'a Value,
    new_item: &'a Value,
    old: &'a Value,
    new: &'a Value,
}

fn operation(cx: &mut Cx<'_>, op: &Op<'_>) {
    let deprecated = |v: &Value| v.get("deprecated") == Some(&Value::Bool(true));
    if deprecated(op.new) && !deprecated(op.old) {
        cx.push(
            "operation-deprecated",
            Side::New,
            &op.at.new,
            format!("{} is now deprecated", op.name),
        );
    }
    parameters(cx, op);
    request_body(cx, op);
    responses(cx, op);
    security(cx, op);
}

/// Effective parameters: the path item's, overridden by the operation's, keyed by (in, name).
fn effective_parameters<'a>(
    doc: &'a Value,
    item: &'a Value,
    op: &'a Value,
    item_ptr: &str,
    op_ptr: &str,
) -> Vec<((String, String), String, &'a Value)> {
    let mut out: Vec<((String, String), String, &'a Value)> = Vec::new();
    for (holder, ptr) in [(item, item_ptr), (op, op_ptr)] {
        let Some(list) = holder.get("parameters").and_then(Value::as_array) else {
            continue;
        };
        for (i, p) in list.iter().enumerate() {
            let p = deref(doc, p);
            let key = (
                p.get("in").and_then(Value::as_str).unwrap_or("").to_owned(),
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            );
            let pointer = crate::lint::child(ptr, &["parameters".to_owned(), i.to_string()]);
            out.retain(|(k, _, _)| *k != key);
            out.push((key, pointer, p));
        }
    }
    out
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or(pointer, |(p, _)| p)
}

fn parameters(cx: &mut Cx<'_>, op: &Op<'_>) {
    let olds = effective_parameters(cx.old, op.old_item, op.old, parent(&op.at.old), &op.at.old);
    let news = effective_parameters(cx.new, op.new_item, op.new, parent(&op.at.new), &op.at.new);
    let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
    for ((place, name), new_ptr, new_p) in &news {
        let label = format!("{}: {place} parameter {name:?}", op.name);
        match olds.iter().find(|(k, _, _)| k.0 == *place && k.1 == *name) {
            None if required(new_p) => cx.push(
                "parameter-added-required",
                Side::New,
                new_ptr,
                format!("{label} was added as required"),
            ),
            None => cx.push(
                "parameter-added",
                Side::New,
                new_ptr,
                format!("{label} was added (optional)"),
            ),
            Some((_, old_ptr, old_p)) => {
                if required(new_p) && !required(old_p) {
                    cx.push(
                        "parameter-made-required",
                        Side::New,
                        new_ptr,
                        format!("{label} is now required"),
                    );
                }
                let (os, ns) = (old_p.get("schema"), new_p.get("schema"));
                if let (Some(os), Some(ns)) = (os, ns) {
                    let (od, nd) = (
                        deref(cx.old, os).get("default"),
                        deref(cx.new, ns).get("default"),
                    );
                    if !required(new_p) && od != nd {
                        cx.push(
                            "parameter-default-changed",
                            Side::New,
                            &crate::lint::child(new_ptr, &["schema"]),
                            format!("{label}: default changed from {} to {}", show(od), show(nd)),
                        );
                    }
                    let at = At {
                        old: crate::lint::child(old_ptr, &["schema"]),
                        new: crate::lint::child(new_ptr, &["schema"]),
                    };
                    schema(cx, Dir::Request, &at, &label, os, ns, 0);
                }
            }
        }
    }
    for ((place, name), old_ptr, _) in &olds {
        if !news.iter().any(|(k, _, _)| k.0 == *place && k.1 == *name) {
            cx.push(
                "parameter-removed",
                Side::Old,
                old_ptr,
                format!("{}: {place} parameter {name:?} was removed", op.name),
            );
        }
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "none".to_owned(), Value::to_string)
}

fn request_body(cx: &mut Cx<'_>, op: &Op<'_>) {
    let (Some(old_body), Some(new_body)) = (op.old.get("requestBody"), op.new.get("requestBody"))
    else {
        return;
    };
    let (old_body, new_body) = (deref(cx.old, old_body), deref(cx.new, new_body));
    let at = op.at.child(&["requestBody"]);
    let required = |b: &Value| b.get("required") == Some(&Value::Bool(true));
    if required(new_body) && !required(old_body) {
        cx.push(
            "request-body-made-required",
            Side::New,
            &at.new,
            format!("{}: the request body is now required", op.name),
        );
    }
    content(
        cx,
        op,
        Dir::Request,
        &at,
        "request body",
        old_body,
        new_body,
    );
}

fn content(cx: &mut Cx<'_>, op: &Op<'_>, dir: Dir, at: &At, what: &str, old: &Value, new: &Value) {
    let empty = Map::new();
    let olds = object(old.get("content")).unwrap_or(&empty);
    let news = object(new.get("content")).unwrap_or(&empty);
    for (media, old_media) in olds {
        let media_at = at.child(&["content", media]);
        let Some(new_media) = news.get(media) else {
            let check = match dir {
                Dir::Request => "request-content-type-removed",
                Dir::Response => "response-content-type-removed",
            };
            let message = format!("{}: {what} media type {media} was removed", op.name);
            cx.push(check, Side::Old, &media_at.old, message);
            continue;
        };
        if let (Some(os), Some(ns)) = (old_media.get("schema"), new_media.get("schema")) {
            let label = format!("{}: {what} {media}", op.name);
            schema(cx, dir, &media_at.child(&["schema"]), &label, os, ns, 0);
        }
    }
}

fn responses(cx: &mut Cx<'_>, op: &Op<'_>) {
    let empty = Map::new();
    let olds = object(op.old.get("responses")).unwrap_or(&empty);
    let news = object(op.new.get("responses")).unwrap_or(&empty);
    for (status, old_resp) in olds {
        let at = op.at.child(&["responses", status]);
        match news.get(status) {
            None if status.starts_with('2') => cx.push(
                "response-status-removed",
                Side::Old,
                &at.old,
                format!("{}: response {status} was removed", op.name),
            ),
            None => {}
            Some(new_resp) => {
                let (o, n) = (deref(cx.old, old_resp), deref(cx.new, new_resp));
                content(
                    cx,
                    op,
                    Dir::Response,
                    &at,
                    &format!("response {status}"),
                    o,
                    n,
                );
            }
        }
    }
}

/// Alternatives of the effective security: each a set of `scheme` and `scheme:scope`.
fn requirements(doc: &Value, op: &Value) -> Vec<BTreeSet<String>> {
    let list = op
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array);
    let Some(list) = list else {
        return vec![BTreeSet::new()];
    };
    list.iter()
        .map(|req| {
            let mut set = BTreeSet::new();
            for (scheme, scopes) in req.as_object().into_iter().flatten() {
                set.insert(scheme.clone());
                for scope in scopes.as_array().into_iter().flatten() {
                    set.insert(format!("{scheme}:{}", scope.as_str().unwrap_or("")));
                }
            }
            set
        })
        .collect()
}

/// Breaking when a client meeting an old alternative meets no new one.
fn security(cx: &mut Cx<'_>, op: &Op<'_>) {
    let olds = requirements(cx.old, op.old);
    let news = requirements(cx.new, op.new);
    if news.is_empty() {
        return;
    }
    for old in &olds {
        if !news.iter().any(|n| n.is_subset(old)) {
            let wanted: Vec<String> = news
                .iter()
                .map(|n| n.iter().cloned().collect::<Vec<_>>().join(" + "))
                .collect();
            let had: Vec<String> = old.iter().cloned().collect();
            cx.push(
                "security-changed",
                Side::New,
                &op.at.new,
                format!(
                    "{}: clients authenticating with [{}] are no longer accepted (now: {})",
                    op.name,
                    had.join(" + "),
                    wanted.join(" or ")
                ),
            );
            return;
        }
    }
}
