//! Subscriptions: an application's request to call an API version under a plan, and the
//! owner's decision on it. Approvals and revocations advance the revision.

use rusqlite::params;

use super::rows::{SUB, all, one, sub};
use super::{SqliteStore, db, write_err};
use crate::error::{StoreError, StoreResult};
use crate::model::*;

impl SqliteStore {
    pub(super) fn request_subscription(&self, new: NewSubscription) -> StoreResult<Subscription> {
        if new.purpose.trim().is_empty() {
            return Err(StoreError::Invalid("a subscription needs a purpose".into()));
        }
        self.write(false, |tx| {
            // One live request or grant per application and version: asking twice is a
            // conflict, not a second row for the owner to decide.
            let live: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM subscriptions WHERE application = ?1 \
                     AND api_version = ?2 AND status IN ('requested', 'approved')",
                    params![new.application, new.api_version],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if live > 0 {
                return Err(StoreError::Conflict(
                    "a subscription of this application to this version".into(),
                ));
            }
            let id = tx
                .query_row(
                    "INSERT INTO subscriptions (application, api_version, plan, purpose, status, \
                     requested_by, requested_at) VALUES (?1, ?2, ?3, ?4, 'requested', ?5, ?6) \
                     RETURNING id",
                    params![
                        new.application,
                        new.api_version,
                        new.plan,
                        new.purpose,
                        new.requested_by,
                        now()
                    ],
                    |r| r.get(0),
                )
                .map_err(write_err("subscription"))?;
            one(tx, SUB, id, sub)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("subscription".into()))
        })
    }

    pub(super) fn subscription(&self, id: i64) -> StoreResult<Option<Subscription>> {
        self.read(|c| one(c, SUB, id, sub))
    }

    pub(super) fn subscriptions(&self, application: Option<i64>) -> StoreResult<Vec<Subscription>> {
        self.read(|c| match application {
            Some(a) => all(
                c,
                &format!("{SUB} WHERE application = ?1 ORDER BY id"),
                [a],
                sub,
            ),
            None => all(c, &format!("{SUB} ORDER BY id"), [], sub),
        })
    }

    pub(super) fn decide_subscription(
        &self,
        id: i64,
        decision: Decision,
    ) -> StoreResult<Subscription> {
        // Only approvals and revocations change what the gateway admits.
        let bump = matches!(
            decision.status,
            SubscriptionStatus::Approved | SubscriptionStatus::Revoked
        );
        if let Some(bad) = decision
            .fields
            .iter()
            .flatten()
            .find(|f| f.is_empty() || f.contains('\n'))
        {
            return Err(StoreError::Invalid(format!("field {bad:?}")));
        }
        self.write(bump, |tx| {
            let current = one(tx, SUB, id, sub)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("subscription".into()))?;
            if !current.status.may_become(decision.status) {
                return Err(StoreError::Invalid(format!(
                    "a {} subscription cannot become {}",
                    current.status.as_str(),
                    decision.status.as_str()
                )));
            }
            tx.execute(
                "UPDATE subscriptions SET status = ?2, decided_by = ?3, decided_at = ?4, \
                 reason = ?5, fields = COALESCE(?6, fields) WHERE id = ?1",
                params![
                    id,
                    decision.status.as_str(),
                    decision.by,
                    now(),
                    decision.reason,
                    decision.fields.as_ref().map(|f| f.join("\n"))
                ],
            )
            .map_err(write_err("subscription"))?;
            one(tx, SUB, id, sub)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("subscription".into()))
        })
    }
}
