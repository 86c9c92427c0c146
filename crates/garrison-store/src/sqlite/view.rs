//! The gateway's side of the store: its view, read in one transaction, and the revision and
//! change notifications that tell it when to read the view again.

use ipnet::IpNet;
use rusqlite::Transaction;
use tokio::sync::watch;

use super::rows::{CERT, KEY, all, bad_value, cert, key, lines};
use super::{SqliteStore, db};
use crate::error::StoreResult;
use crate::model::*;

impl SqliteStore {
    pub(super) fn gateway_view(&self) -> StoreResult<GatewayView> {
        let mut conn = self.lock();
        // A deferred read transaction: one consistent snapshot of every table.
        let tx = conn.transaction().map_err(db)?;
        let view = read_view(&tx).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(view)
    }

    pub(super) fn revision(&self) -> StoreResult<u64> {
        let value: i64 = self
            .read(|c| c.query_row("SELECT value FROM revision WHERE id = 1", [], |r| r.get(0)))?;
        Ok(u64::try_from(value).unwrap_or(0))
    }

    pub(super) fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

pub(super) fn read_view(tx: &Transaction<'_>) -> rusqlite::Result<GatewayView> {
    let revision: i64 =
        tx.query_row("SELECT value FROM revision WHERE id = 1", [], |r| r.get(0))?;
    let apps: Vec<(i64, String)> = {
        let mut s = tx.prepare_cached(
            "SELECT a.id, o.slug || '/' || a.slug FROM applications a \
             JOIN organisations o ON o.id = a.organisation \
             WHERE EXISTS (SELECT 1 FROM credentials c WHERE c.application = a.id) \
             ORDER BY a.id",
        )?;
        let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut consumers = Vec::with_capacity(apps.len());
    for (id, name) in &apps {
        let keys = all(
            tx,
            &format!("{KEY} WHERE application = ?1 ORDER BY id"),
            [id],
            key,
        )?
        .into_iter()
        .map(|k| ViewKey {
            id: format!("store-key-{}", k.id),
            digest: k.digest,
            revoked: k.revoked_at.is_some(),
            sandbox: k.environment == garrison_core::Environment::Test,
        })
        .collect();
        let certificates = all(
            tx,
            &format!("{CERT} WHERE application = ?1 AND revoked_at IS NULL ORDER BY id"),
            [id],
            cert,
        )?
        .into_iter()
        .map(|c| c.fingerprint)
        .collect();
        let allow = {
            let mut s = tx.prepare_cached(
                "SELECT network FROM allow_list WHERE application = ?1 ORDER BY network",
            )?;
            let rows = s.query_map([id], |r| {
                let text: String = r.get(0)?;
                text.parse::<IpNet>().map_err(|_| bad_value(0, "network"))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        consumers.push(ViewConsumer {
            name: name.clone(),
            keys,
            certificates,
            allow,
        });
    }
    let subscriptions = {
        let mut s = tx.prepare_cached(
            "SELECT o.slug || '/' || a.slug, v.route_group, p.id, p.name, p.requests, \
             p.period_seconds, p.burst, s.purpose, s.fields FROM subscriptions s \
             JOIN applications a ON a.id = s.application \
             JOIN organisations o ON o.id = a.organisation \
             JOIN api_versions v ON v.id = s.api_version \
             JOIN plans p ON p.id = s.plan \
             WHERE s.status = 'approved' \
             AND EXISTS (SELECT 1 FROM credentials c WHERE c.application = a.id) \
             ORDER BY s.id",
        )?;
        let rows = s.query_map([], |r| {
            Ok(ViewSubscription {
                consumer: r.get(0)?,
                group: r.get(1)?,
                plan: Plan {
                    id: r.get(2)?,
                    name: r.get(3)?,
                    requests: r.get(4)?,
                    period_seconds: r.get(5)?,
                    burst: r.get(6)?,
                },
                purpose: r.get(7)?,
                fields: r.get::<_, Option<String>>(8)?.map(|f| lines(&f)),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let lifecycle = {
        let mut s = tx.prepare_cached(
            "SELECT v.route_group, v.status, v.sunset, n.route_group, v.changed_at \
             FROM api_versions v \
             LEFT JOIN api_versions n ON n.id = v.successor \
             WHERE v.status IN ('deprecated', 'retired') ORDER BY v.id",
        )?;
        let rows = s.query_map([], |r| {
            let status: String = r.get(1)?;
            Ok(ViewLifecycle {
                group: r.get(0)?,
                status: Lifecycle::parse(&status).ok_or_else(|| bad_value(1, "status"))?,
                sunset: r.get(2)?,
                successor_group: r.get(3)?,
                since: r.get(4)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok(GatewayView {
        revision: u64::try_from(revision).unwrap_or(0),
        consumers,
        subscriptions,
        lifecycle,
    })
}
