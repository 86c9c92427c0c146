//! Who may call, and how much: plans, consumers with their keys, and subscriptions.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use garrison_core::api_key::{self, KeyFormatError};
use garrison_core::{ApiKey, CertFingerprint, KeyDigest};

use super::Check;
use crate::model::*;
use crate::schema::*;
use crate::values::parse_rate;

pub(super) fn resolve_plans(c: &mut Check<'_>, raw: &[RawPlan]) -> Vec<Plan> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let at = format!("plans[{i}]");
        c.name(&p.name, &format!("{at}.name"), &mut names);
        let (requests, period) = match parse_rate(&p.rate) {
            Ok(rate) => rate,
            Err(e) => {
                c.fail(&p.rate, format!("{at}.rate"), e);
                (1, Duration::from_secs(1))
            }
        };
        let burst = c.count(
            &p.burst,
            &format!("{at}.burst"),
            u64::from(requests),
            1,
            1_000_000,
        ) as u32;
        out.push(Plan {
            name: p.name.to_string(),
            requests,
            period,
            burst,
        });
    }
    out
}

pub(super) fn resolve_consumers(c: &mut Check<'_>, raw: &[RawConsumer]) -> Vec<Consumer> {
    let mut names = HashSet::new();
    let mut digests: HashMap<KeyDigest, String> = HashMap::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = format!("consumers[{i}]");
        c.name(&r.name, &format!("{at}.name"), &mut names);
        let mut key_ids = HashSet::new();
        let mut keys = Vec::new();
        for (j, k) in r.keys.iter().enumerate() {
            let kat = format!("{at}.keys[{j}]");
            c.name(&k.id, &format!("{kat}.id"), &mut key_ids);
            let digest = match (&k.digest, &k.plaintext) {
                (Some(d), None) => KeyDigest::parse(d).or_else(|| {
                    c.fail(
                        d,
                        format!("{kat}.digest"),
                        "expected sha256: followed by 64 hex digits",
                    );
                    None
                }),
                (None, Some(p)) => {
                    if p.len() < 16 {
                        c.fail(
                            p,
                            format!("{kat}.plaintext"),
                            "an imported key must be at least 16 characters",
                        );
                        None
                    } else if p.starts_with("grn_") && api_key::check_format(p).is_err() {
                        let why = api_key::check_format(p)
                            .err()
                            .unwrap_or(KeyFormatError::Shape);
                        c.fail(
                            p,
                            format!("{kat}.plaintext"),
                            format!("not a valid Garrison key: {why}"),
                        );
                        None
                    } else {
                        Some(ApiKey::from_plaintext(p.as_str()).digest())
                    }
                }
                _ => {
                    c.fail(&k.id, kat.clone(), "give exactly one of `digest` (sha256:…) or `plaintext` (an imported key, hashed on load)");
                    None
                }
            };
            let Some(digest) = digest else { continue };
            if let Some(owner) = digests.insert(digest, r.name.to_string()) {
                c.fail(
                    &k.id,
                    kat.clone(),
                    format!("this key is already a key of consumer {owner:?}"),
                );
            }
            keys.push(Key {
                id: k.id.to_string(),
                digest,
                revoked: k.revoked.as_ref().map(|r| **r).unwrap_or(false),
            });
        }
        let mut certificates = Vec::new();
        for (j, f) in r.certificates.iter().enumerate() {
            match CertFingerprint::from_str(f) {
                Ok(fp) => certificates.push(fp),
                Err(e) => c.fail(f, format!("{at}.certificates[{j}]"), e.to_string()),
            }
        }
        let allow = c.networks(&r.allow, &format!("{at}.allow"));
        out.push(Consumer {
            name: r.name.to_string(),
            keys,
            certificates,
            allow,
        });
    }
    out
}

/// What subscriptions may name of a transfer service, as declared (so that a problem inside
/// the service, such as an unreadable key ring, is not reported again at every subscription).
pub(super) struct TransferNames {
    pub(super) name: String,
    pub(super) inboxes: Vec<String>,
    pub(super) document_types: Vec<String>,
}

impl TransferNames {
    pub(super) fn of(raw: &RawTransfer) -> Self {
        TransferNames {
            name: raw.name.to_string(),
            inboxes: raw.inboxes.iter().map(|i| i.name.to_string()).collect(),
            document_types: raw.document_types.iter().map(|d| d.to_string()).collect(),
        }
    }
}

pub(super) fn resolve_subscriptions(
    c: &mut Check<'_>,
    raw: &[RawSubscription],
    routes: &[Route],
    apis: &[RawApi],
    plans: &[Plan],
    consumers: &[Consumer],
    transfers: &[TransferNames],
) -> Vec<Subscription> {
    // An API's name is a group even when its contract failed to load: that problem is
    // reported once, at the contract, not again at every subscription.
    let groups: HashSet<&str> = routes
        .iter()
        .map(|r| r.group.as_str())
        .chain(apis.iter().map(|a| a.name.as_str()))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let at = format!("subscriptions[{i}]");
        let consumer = consumers.iter().position(|x| x.name == *s.consumer);
        if consumer.is_none() {
            c.fail(
                &s.consumer,
                format!("{at}.consumer"),
                format!("no consumer is named {:?}", s.consumer.as_str()),
            );
        }
        if !groups.contains(s.group.as_str()) {
            c.fail(
                &s.group,
                format!("{at}.group"),
                format!("no route is in group {:?}", s.group.as_str()),
            );
        }
        let plan = plans.iter().position(|p| p.name == *s.plan);
        if plan.is_none() {
            c.fail(
                &s.plan,
                format!("{at}.plan"),
                format!("no plan is named {:?}", s.plan.as_str()),
            );
        }
        if !seen.insert((s.consumer.to_string(), s.group.to_string())) {
            c.fail(
                &s.consumer,
                at.clone(),
                "this consumer is already subscribed to this group",
            );
        }
        let operations = s.operations.as_ref().map(|list| {
            let mut found = Vec::new();
            for (j, name) in list.iter().enumerate() {
                // A route's name, or the operationId of a route derived from an API.
                let route = routes.iter().position(|r| {
                    r.group == *s.group
                        && (r.name == **name
                            || r.name == format!("{}.{}", s.group.as_str(), name.as_str()))
                });
                match route {
                    Some(index) => found.push(index),
                    None => c.fail(
                        name,
                        format!("{at}.operations[{j}]"),
                        format!(
                            "no route or operation named {:?} is in group {:?}",
                            name.as_str(),
                            s.group.as_str()
                        ),
                    ),
                }
            }
            if list.is_empty() {
                c.fail(
                    list,
                    format!("{at}.operations"),
                    "an empty list allows nothing: remove the subscription instead",
                );
            }
            found.sort_unstable();
            found.dedup();
            found
        });
        let fields = s.fields.as_ref().map(|list| {
            let mut out: Vec<String> = Vec::new();
            for (j, field) in list.iter().enumerate() {
                let valid = !field.is_empty()
                    && field.split('.').all(|segment| {
                        !segment.is_empty()
                            && segment
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
                    });
                if !valid {
                    c.fail(
                        field,
                        format!("{at}.fields[{j}]"),
                        "a field is a dotted path of property names, such as data.attributes.lastName",
                    );
                } else if out.iter().any(|f| *f == **field) {
                    c.fail(field, format!("{at}.fields[{j}]"), "field listed twice");
                } else {
                    out.push(field.to_string());
                }
            }
            out
        });
        let purposes = s.purposes.as_ref().map(|list| {
            let mut out: Vec<String> = Vec::new();
            for (j, purpose) in list.iter().enumerate() {
                let valid = !purpose.is_empty()
                    && purpose.len() <= 128
                    && purpose.bytes().all(|b| b.is_ascii_graphic());
                if !valid {
                    c.fail(
                        purpose,
                        format!("{at}.purposes[{j}]"),
                        "a purpose is 1-128 printable characters without spaces, such as DFE-FSM",
                    );
                } else {
                    out.push(purpose.to_string());
                }
            }
            if list.is_empty() {
                c.fail(
                    list,
                    format!("{at}.purposes"),
                    "an empty list allows nothing: remove the subscription instead",
                );
            }
            out
        });
        let transfer = transfers.iter().find(|t| t.name == *s.group);
        let mut send_to = Vec::new();
        if let Some(list) = &s.send_to {
            match transfer {
                None => c.fail(
                    list,
                    format!("{at}.send_to"),
                    "send_to is for a subscription to a transfer service",
                ),
                Some(t) => {
                    for (j, name) in list.iter().enumerate() {
                        if !t.inboxes.iter().any(|b| *b == **name) {
                            c.fail(
                                name,
                                format!("{at}.send_to[{j}]"),
                                format!("{:?} has no inbox named {:?}", t.name, name.as_str()),
                            );
                        } else if !send_to.iter().any(|s: &String| *s == **name) {
                            send_to.push(name.to_string());
                        }
                    }
                }
            }
        }
        let document_types = s.document_types.as_ref().map(|list| {
            let mut out: Vec<String> = Vec::new();
            match transfer {
                None => c.fail(
                    list,
                    format!("{at}.document_types"),
                    "document_types is for a subscription to a transfer service",
                ),
                Some(t) => {
                    for (j, name) in list.iter().enumerate() {
                        if !t.document_types.iter().any(|d| *d == **name) {
                            c.fail(
                                name,
                                format!("{at}.document_types[{j}]"),
                                format!(
                                    "{:?} accepts no document type {:?}",
                                    t.name,
                                    name.as_str()
                                ),
                            );
                        } else if !out.iter().any(|s: &String| *s == **name) {
                            out.push(name.to_string());
                        }
                    }
                }
            }
            out
        });
        if let (Some(consumer), Some(plan)) = (consumer, plan) {
            out.push(Subscription {
                consumer,
                group: s.group.to_string(),
                plan,
                operations,
                fields,
                purposes,
                send_to,
                document_types,
            });
        }
    }
    out
}
