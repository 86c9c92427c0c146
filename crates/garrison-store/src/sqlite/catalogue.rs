//! The API library's catalogue: APIs, their versions and lifecycles, and the plans a
//! subscription is granted under. Version and lifecycle changes advance the revision.

use rusqlite::params;

use super::rows::{API, PLAN, VERSION, all, api, one, plan, valid_date, version};
use super::{SqliteStore, db, write_err};
use crate::error::{StoreError, StoreResult};
use crate::model::*;

impl SqliteStore {
    pub(super) fn create_api(&self, new: NewApi) -> StoreResult<Api> {
        if let Some(bad) = new.tags.iter().find(|t| t.is_empty() || t.contains('\n')) {
            return Err(StoreError::Invalid(format!("tag {bad:?}")));
        }
        self.write(false, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO apis (slug, title, owner, description, classification, tags, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                    params![
                        new.slug,
                        new.title,
                        new.owner,
                        new.description,
                        new.classification.as_str(),
                        new.tags.join("\n"),
                        now()
                    ],
                    |r| r.get(0),
                )
                .map_err(write_err("API"))?;
            one(tx, API, id, api)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("API".into()))
        })
    }

    pub(super) fn api(&self, id: i64) -> StoreResult<Option<Api>> {
        self.read(|c| one(c, API, id, api))
    }

    pub(super) fn apis(&self) -> StoreResult<Vec<Api>> {
        self.read(|c| all(c, &format!("{API} ORDER BY slug"), [], api))
    }

    pub(super) fn create_api_version(&self, new: NewApiVersion) -> StoreResult<ApiVersion> {
        if new.group.is_empty() {
            return Err(StoreError::Invalid(
                "an API version needs a route group".into(),
            ));
        }
        self.write(true, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO api_versions (api, version, route_group, status, changed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                    params![new.api, new.version, new.group, new.status.as_str(), now()],
                    |r| r.get(0),
                )
                .map_err(write_err("API version"))?;
            one(tx, VERSION, id, version)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("API version".into()))
        })
    }

    pub(super) fn api_version(&self, id: i64) -> StoreResult<Option<ApiVersion>> {
        self.read(|c| one(c, VERSION, id, version))
    }

    pub(super) fn api_versions(&self, api: i64) -> StoreResult<Vec<ApiVersion>> {
        self.read(|c| {
            all(
                c,
                &format!("{VERSION} WHERE api = ?1 ORDER BY id"),
                [api],
                version,
            )
        })
    }

    pub(super) fn set_lifecycle(
        &self,
        id: i64,
        change: LifecycleChange,
    ) -> StoreResult<ApiVersion> {
        if let Some(date) = &change.sunset
            && !valid_date(date)
        {
            return Err(StoreError::Invalid(format!(
                "sunset {date:?}: expected a date such as 2027-03-31"
            )));
        }
        if change.successor == Some(id) {
            return Err(StoreError::Invalid(
                "a version cannot succeed itself".into(),
            ));
        }
        self.write(true, |tx| {
            let changed = tx
                .execute(
                    "UPDATE api_versions SET sunset = ?3, successor = ?4, \
                     changed_at = CASE WHEN status = ?2 THEN changed_at ELSE ?5 END, \
                     status = ?2 WHERE id = ?1",
                    params![
                        id,
                        change.status.as_str(),
                        change.sunset,
                        change.successor,
                        now()
                    ],
                )
                .map_err(write_err("API version"))?;
            if changed == 0 {
                return Err(StoreError::NotFound("API version".into()));
            }
            one(tx, VERSION, id, version)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("API version".into()))
        })
    }

    pub(super) fn create_plan(&self, new: NewPlan) -> StoreResult<Plan> {
        if new.requests == 0 || new.period_seconds == 0 || new.burst == 0 {
            return Err(StoreError::Invalid(
                "a plan admits at least one request per period".into(),
            ));
        }
        self.write(false, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO plans (name, requests, period_seconds, burst) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![new.name, new.requests, new.period_seconds, new.burst],
                    |r| r.get(0),
                )
                .map_err(write_err("plan"))?;
            one(tx, PLAN, id, plan)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("plan".into()))
        })
    }

    pub(super) fn plan(&self, id: i64) -> StoreResult<Option<Plan>> {
        self.read(|c| one(c, PLAN, id, plan))
    }

    pub(super) fn plans(&self) -> StoreResult<Vec<Plan>> {
        self.read(|c| all(c, &format!("{PLAN} ORDER BY name"), [], plan))
    }
}
