//! Reading rows into records: each table's `SELECT` and the function that maps its row.

use std::str::FromStr;

use garrison_core::{CertFingerprint, Environment, KeyDigest};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::model::*;

pub(super) fn bad_value(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("not a valid {what}").into(),
    )
}

pub(super) const ORG: &str = "SELECT id, slug, name, created_at FROM organisations";
pub(super) fn org(r: &Row<'_>) -> rusqlite::Result<Organisation> {
    Ok(Organisation {
        id: r.get(0)?,
        slug: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
    })
}

pub(super) const USER: &str =
    "SELECT id, email, name, organisation, role, created_at, password_hash FROM users";
pub(super) fn user(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(4)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        organisation: r.get(3)?,
        role: Role::parse(&role).ok_or_else(|| bad_value(4, "role"))?,
        created_at: r.get(5)?,
    })
}

pub(super) const APP: &str = "SELECT id, organisation, slug, name, created_at FROM applications";
pub(super) fn app(r: &Row<'_>) -> rusqlite::Result<Application> {
    Ok(Application {
        id: r.get(0)?,
        organisation: r.get(1)?,
        slug: r.get(2)?,
        name: r.get(3)?,
        created_at: r.get(4)?,
    })
}

pub(super) const KEY: &str =
    "SELECT id, application, environment, prefix, digest, created_at, revoked_at FROM credentials";
pub(super) fn key(r: &Row<'_>) -> rusqlite::Result<Credential> {
    let env: String = r.get(2)?;
    let digest: String = r.get(4)?;
    Ok(Credential {
        id: r.get(0)?,
        application: r.get(1)?,
        environment: match env.as_str() {
            "sandbox" => Environment::Test,
            "production" => Environment::Live,
            _ => return Err(bad_value(2, "environment")),
        },
        prefix: r.get(3)?,
        digest: KeyDigest::parse(&digest).ok_or_else(|| bad_value(4, "key digest"))?,
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

pub(super) const CERT: &str =
    "SELECT id, application, fingerprint, label, created_at, revoked_at FROM certificates";
pub(super) fn cert(r: &Row<'_>) -> rusqlite::Result<Certificate> {
    let fp: String = r.get(2)?;
    Ok(Certificate {
        id: r.get(0)?,
        application: r.get(1)?,
        fingerprint: CertFingerprint::from_str(&fp).map_err(|_| bad_value(2, "fingerprint"))?,
        label: r.get(3)?,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

pub(super) const API: &str =
    "SELECT id, slug, title, owner, description, classification, tags, created_at FROM apis";
pub(super) fn api(r: &Row<'_>) -> rusqlite::Result<Api> {
    let class: String = r.get(5)?;
    let tags: String = r.get(6)?;
    Ok(Api {
        id: r.get(0)?,
        slug: r.get(1)?,
        title: r.get(2)?,
        owner: r.get(3)?,
        description: r.get(4)?,
        classification: Classification::parse(&class)
            .ok_or_else(|| bad_value(5, "classification"))?,
        tags: lines(&tags),
        created_at: r.get(7)?,
    })
}

pub(super) const VERSION: &str =
    "SELECT id, api, version, route_group, status, sunset, successor FROM api_versions";
pub(super) fn version(r: &Row<'_>) -> rusqlite::Result<ApiVersion> {
    let status: String = r.get(4)?;
    Ok(ApiVersion {
        id: r.get(0)?,
        api: r.get(1)?,
        version: r.get(2)?,
        group: r.get(3)?,
        status: Lifecycle::parse(&status).ok_or_else(|| bad_value(4, "lifecycle status"))?,
        sunset: r.get(5)?,
        successor: r.get(6)?,
    })
}

pub(super) const PLAN: &str = "SELECT id, name, requests, period_seconds, burst FROM plans";
pub(super) fn plan(r: &Row<'_>) -> rusqlite::Result<Plan> {
    Ok(Plan {
        id: r.get(0)?,
        name: r.get(1)?,
        requests: r.get(2)?,
        period_seconds: r.get(3)?,
        burst: r.get(4)?,
    })
}

pub(super) const SUB: &str = "SELECT id, application, api_version, plan, purpose, status, requested_by, \
                   requested_at, decided_by, decided_at, reason, fields FROM subscriptions";
pub(super) fn sub(r: &Row<'_>) -> rusqlite::Result<Subscription> {
    let status: String = r.get(5)?;
    Ok(Subscription {
        id: r.get(0)?,
        application: r.get(1)?,
        api_version: r.get(2)?,
        plan: r.get(3)?,
        purpose: r.get(4)?,
        status: SubscriptionStatus::parse(&status)
            .ok_or_else(|| bad_value(5, "subscription status"))?,
        requested_by: r.get(6)?,
        requested_at: r.get(7)?,
        decided_by: r.get(8)?,
        decided_at: r.get(9)?,
        reason: r.get(10)?,
        fields: r.get::<_, Option<String>>(11)?.map(|f| lines(&f)),
    })
}

pub(super) fn lines(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn one<T>(
    conn: &Connection,
    sql: &str,
    id: i64,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    conn.query_row(&format!("{sql} WHERE id = ?1"), [id], map)
        .optional()
}

pub(super) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, map)?;
    rows.collect()
}

/// Checks `YYYY-MM-DD` with a real month and day.
pub(super) fn valid_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(&text[..4]), num(&text[5..7]), num(&text[8..])) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}
