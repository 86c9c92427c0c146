//! Applications and what identifies them to the gateway: API keys, client certificates and
//! IP allow-lists. Every credential or allow-list change advances the revision.

use garrison_core::{CertFingerprint, Environment, KeyDigest};
use ipnet::IpNet;
use rusqlite::params;

use super::rows::{APP, CERT, KEY, all, app, cert, key, one};
use super::{SqliteStore, db, write_err};
use crate::error::{StoreError, StoreResult};
use crate::model::*;

impl SqliteStore {
    pub(super) fn create_application(&self, new: NewApplication) -> StoreResult<Application> {
        self.write(false, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO applications (organisation, slug, name, created_at) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![new.organisation, new.slug, new.name, now()],
                    |r| r.get(0),
                )
                .map_err(write_err("application"))?;
            one(tx, APP, id, app)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("application".into()))
        })
    }

    pub(super) fn application(&self, id: i64) -> StoreResult<Option<Application>> {
        self.read(|c| one(c, APP, id, app))
    }

    pub(super) fn applications(&self, organisation: Option<i64>) -> StoreResult<Vec<Application>> {
        self.read(|c| match organisation {
            Some(o) => all(
                c,
                &format!("{APP} WHERE organisation = ?1 ORDER BY id"),
                [o],
                app,
            ),
            None => all(c, &format!("{APP} ORDER BY id"), [], app),
        })
    }

    pub(super) fn add_key(
        &self,
        application: i64,
        environment: Environment,
        prefix: &str,
        digest: KeyDigest,
    ) -> StoreResult<Credential> {
        self.write(true, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO credentials (application, environment, prefix, digest, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                    params![
                        application,
                        environment_str(environment),
                        prefix,
                        digest.to_string(),
                        now()
                    ],
                    |r| r.get(0),
                )
                .map_err(write_err("key"))?;
            one(tx, KEY, id, key)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("key".into()))
        })
    }

    pub(super) fn key(&self, id: i64) -> StoreResult<Option<Credential>> {
        self.read(|c| one(c, KEY, id, key))
    }

    pub(super) fn keys(&self, application: i64) -> StoreResult<Vec<Credential>> {
        self.read(|c| {
            all(
                c,
                &format!("{KEY} WHERE application = ?1 ORDER BY id"),
                [application],
                key,
            )
        })
    }

    pub(super) fn revoke_key(&self, id: i64) -> StoreResult<bool> {
        self.write(true, |tx| {
            let changed = tx
                .execute(
                    "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now()],
                )
                .map_err(db)?;
            if changed == 0 && one(tx, KEY, id, key).map_err(db)?.is_none() {
                return Err(StoreError::NotFound("key".into()));
            }
            Ok(changed > 0)
        })
    }

    pub(super) fn add_certificate(
        &self,
        application: i64,
        fingerprint: CertFingerprint,
        label: &str,
    ) -> StoreResult<Certificate> {
        self.write(true, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO certificates (application, fingerprint, label, created_at) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![application, hex(fingerprint.as_bytes()), label, now()],
                    |r| r.get(0),
                )
                .map_err(write_err("certificate"))?;
            one(tx, CERT, id, cert)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("certificate".into()))
        })
    }

    pub(super) fn certificate(&self, id: i64) -> StoreResult<Option<Certificate>> {
        self.read(|c| one(c, CERT, id, cert))
    }

    pub(super) fn certificates(&self, application: i64) -> StoreResult<Vec<Certificate>> {
        self.read(|c| {
            all(
                c,
                &format!("{CERT} WHERE application = ?1 ORDER BY id"),
                [application],
                cert,
            )
        })
    }

    pub(super) fn revoke_certificate(&self, id: i64) -> StoreResult<bool> {
        self.write(true, |tx| {
            let changed = tx
                .execute(
                    "UPDATE certificates SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now()],
                )
                .map_err(db)?;
            if changed == 0 && one(tx, CERT, id, cert).map_err(db)?.is_none() {
                return Err(StoreError::NotFound("certificate".into()));
            }
            Ok(changed > 0)
        })
    }

    pub(super) fn set_allow_list(&self, application: i64, networks: &[IpNet]) -> StoreResult<()> {
        self.write(true, |tx| {
            if one(tx, APP, application, app).map_err(db)?.is_none() {
                return Err(StoreError::NotFound("application".into()));
            }
            tx.execute(
                "DELETE FROM allow_list WHERE application = ?1",
                [application],
            )
            .map_err(db)?;
            for net in networks {
                tx.execute(
                    "INSERT OR IGNORE INTO allow_list (application, network) VALUES (?1, ?2)",
                    params![application, net.trunc().to_string()],
                )
                .map_err(write_err("allow-list entry"))?;
            }
            Ok(())
        })
    }

    pub(super) fn allow_list(&self, application: i64) -> StoreResult<Vec<IpNet>> {
        let rows: Vec<String> = self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT network FROM allow_list WHERE application = ?1 ORDER BY network",
            )?;
            let rows = s.query_map([application], |r| r.get(0))?;
            rows.collect()
        })?;
        rows.iter()
            .map(|n| {
                n.parse()
                    .map_err(|_| StoreError::Invalid(format!("stored network {n:?}")))
            })
            .collect()
    }
}
