//! The admin event log: administrative changes and refused attempts, newest first. An
//! append-only record for people, so it never advances the revision.

use rusqlite::params;

use super::rows::all;
use super::{SqliteStore, db};
use crate::error::StoreResult;
use crate::model::*;

impl SqliteStore {
    pub(super) fn record_event(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
    ) -> StoreResult<()> {
        self.write(false, |tx| {
            tx.execute(
                "INSERT INTO admin_events (at, actor, action, target, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now(), actor, action, target, outcome],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    pub(super) fn events(&self, limit: usize) -> StoreResult<Vec<AdminEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            all(
                c,
                "SELECT id, at, actor, action, target, outcome FROM admin_events \
                 ORDER BY id DESC LIMIT ?1",
                [limit],
                |r| {
                    Ok(AdminEvent {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        target: r.get(4)?,
                        outcome: r.get(5)?,
                    })
                },
            )
        })
    }
}
