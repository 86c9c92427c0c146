//! The embedded store: one SQLite database file, opened with foreign keys enforced and WAL
//! journaling, migrated at open. One connection behind a mutex: the control plane's writes
//! are rare and short, and SQLite serialises writers anyway.

mod migrations;
mod rows;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use garrison_core::{CertFingerprint, Environment, KeyDigest};
use ipnet::IpNet;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use tokio::sync::watch;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::model::*;
use rows::*;

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: u32 = migrations::MIGRATIONS.len() as u32;

/// The control-plane store in a SQLite database file.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    changes: watch::Sender<u64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

/// Maps a constraint failure to what it means for `what` (the record being written).
fn write_err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
            // SQLITE_CONSTRAINT_FOREIGNKEY: a referenced record does not exist.
            if f.extended_code == 787 {
                StoreError::NotFound(format!("a record {what} refers to"))
            } else if f.extended_code == 2067 || f.extended_code == 1555 {
                StoreError::Conflict(what.to_owned())
            } else {
                StoreError::Invalid(format!("{what}: {e}"))
            }
        }
        _ => db(e),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies missing migrations.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(Box::new(e)))?;
        }
        let mut conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .map_err(db)?;
        migrate(&mut conn)?;
        let revision: i64 = conn
            .query_row("SELECT value FROM revision WHERE id = 1", [], |r| r.get(0))
            .map_err(db)?;
        let (changes, _) = watch::channel(u64::try_from(revision).unwrap_or(0));
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            changes,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> StoreResult<u32> {
        let conn = self.lock();
        current_version(&conn)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open (rusqlite rolls
        // back on drop), so the connection is still sound.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` in a write transaction; with `bump`, advances the revision in the same
    /// transaction and notifies watchers after the commit.
    fn write<T>(
        &self,
        bump: bool,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let value = f(&tx)?;
        let revision = if bump {
            Some(bump_revision(&tx)?)
        } else {
            None
        };
        tx.commit().map_err(db)?;
        drop(conn);
        if let Some(revision) = revision {
            self.changes.send_replace(revision);
        }
        Ok(value)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let conn = self.lock();
        f(&conn).map_err(db)
    }
}

fn bump_revision(tx: &Transaction<'_>) -> StoreResult<u64> {
    let value: i64 = tx
        .query_row(
            "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

fn current_version(conn: &Connection) -> StoreResult<u32> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )
    .map_err(db)
}

/// Applies every migration newer than the database's version, in one transaction.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .map_err(db)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )
    .map_err(db)?;
    let found = current_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sql) in migrations::MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.execute_batch(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version, now()],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}
// === impl Store for SqliteStore ===

impl Store for SqliteStore {
    fn create_organisation(&self, new: NewOrganisation) -> StoreResult<Organisation> {
        self.write(false, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO organisations (slug, name, created_at) VALUES (?1, ?2, ?3) \
                     RETURNING id",
                    params![new.slug, new.name, now()],
                    |r| r.get(0),
                )
                .map_err(write_err("organisation"))?;
            one(tx, ORG, id, org)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("organisation".into()))
        })
    }

    fn organisation(&self, id: i64) -> StoreResult<Option<Organisation>> {
        self.read(|c| one(c, ORG, id, org))
    }

    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.read(|c| all(c, &format!("{ORG} ORDER BY id"), [], org))
    }

    fn create_user(&self, new: NewUser) -> StoreResult<User> {
        if new.role != Role::PlatformAdmin && new.organisation.is_none() {
            return Err(StoreError::Invalid(
                "only a platform admin may belong to no organisation".into(),
            ));
        }
        self.write(false, |tx| {
            let id = tx
                .query_row(
                    "INSERT INTO users (email, name, organisation, role, password_hash, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                    params![
                        new.email.to_lowercase(),
                        new.name,
                        new.organisation,
                        new.role.as_str(),
                        new.password_hash,
                        now()
                    ],
                    |r| r.get(0),
                )
                .map_err(write_err("user"))?;
            one(tx, USER, id, user)
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound("user".into()))
        })
    }

    fn user(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(|c| one(c, USER, id, user))
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        self.read(|c| {
            c.query_row(
                &format!("{USER} WHERE email = ?1"),
                [email.to_lowercase()],
                |r| Ok((user(r)?, r.get::<_, String>(6)?)),
            )
            .optional()
        })
    }

    fn users(&self, organisation: Option<i64>) -> StoreResult<Vec<User>> {
        self.read(|c| match organisation {
            Some(o) => all(
                c,
                &format!("{USER} WHERE organisation = ?1 ORDER BY id"),
                [o],
                user,
            ),
            None => all(c, &format!("{USER} ORDER BY id"), [], user),
        })
    }

    fn create_session(
        &self,
        token: KeyDigest,
        user: i64,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let at = now();
        self.write(false, |tx| {
            // Expired sessions are swept whenever one is opened.
            tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [at])
                .map_err(db)?;
            tx.execute(
                "INSERT INTO sessions (token, user, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token.to_string(), user, at, expires_at],
            )
            .map_err(write_err("session"))?;
            Ok(())
        })
    }

    fn session(&self, token: &KeyDigest, at: Timestamp) -> StoreResult<Option<Session>> {
        self.read(|c| {
            c.query_row(
                "SELECT user, created_at, expires_at FROM sessions \
                 WHERE token = ?1 AND expires_at > ?2",
                params![token.to_string(), at],
                |r| {
                    Ok(Session {
                        user: r.get(0)?,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                },
            )
            .optional()
        })
    }

    fn delete_session(&self, token: &KeyDigest) -> StoreResult<bool> {
        self.write(false, |tx| {
            tx.execute("DELETE FROM sessions WHERE token = ?1", [token.to_string()])
                .map(|n| n > 0)
                .map_err(db)
        })
    }

    fn create_application(&self, new: NewApplication) -> StoreResult<Application> {
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

    fn application(&self, id: i64) -> StoreResult<Option<Application>> {
        self.read(|c| one(c, APP, id, app))
    }

    fn applications(&self, organisation: Option<i64>) -> StoreResult<Vec<Application>> {
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

    fn add_key(
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

    fn key(&self, id: i64) -> StoreResult<Option<Credential>> {
        self.read(|c| one(c, KEY, id, key))
    }

    fn keys(&self, application: i64) -> StoreResult<Vec<Credential>> {
        self.read(|c| {
            all(
                c,
                &format!("{KEY} WHERE application = ?1 ORDER BY id"),
                [application],
                key,
            )
        })
    }

    fn revoke_key(&self, id: i64) -> StoreResult<bool> {
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

    fn add_certificate(
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

    fn certificate(&self, id: i64) -> StoreResult<Option<Certificate>> {
        self.read(|c| one(c, CERT, id, cert))
    }

    fn certificates(&self, application: i64) -> StoreResult<Vec<Certificate>> {
        self.read(|c| {
            all(
                c,
                &format!("{CERT} WHERE application = ?1 ORDER BY id"),
                [application],
                cert,
            )
        })
    }

    fn revoke_certificate(&self, id: i64) -> StoreResult<bool> {
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

    fn set_allow_list(&self, application: i64, networks: &[IpNet]) -> StoreResult<()> {
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

    fn allow_list(&self, application: i64) -> StoreResult<Vec<IpNet>> {
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

    fn create_api(&self, new: NewApi) -> StoreResult<Api> {
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

    fn api(&self, id: i64) -> StoreResult<Option<Api>> {
        self.read(|c| one(c, API, id, api))
    }

    fn apis(&self) -> StoreResult<Vec<Api>> {
        self.read(|c| all(c, &format!("{API} ORDER BY slug"), [], api))
    }

    fn create_api_version(&self, new: NewApiVersion) -> StoreResult<ApiVersion> {
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

    fn api_version(&self, id: i64) -> StoreResult<Option<ApiVersion>> {
        self.read(|c| one(c, VERSION, id, version))
    }

    fn api_versions(&self, api: i64) -> StoreResult<Vec<ApiVersion>> {
        self.read(|c| {
            all(
                c,
                &format!("{VERSION} WHERE api = ?1 ORDER BY id"),
                [api],
                version,
            )
        })
    }

    fn set_lifecycle(&self, id: i64, change: LifecycleChange) -> StoreResult<ApiVersion> {
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

    fn create_plan(&self, new: NewPlan) -> StoreResult<Plan> {
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

    fn plan(&self, id: i64) -> StoreResult<Option<Plan>> {
        self.read(|c| one(c, PLAN, id, plan))
    }

    fn plans(&self) -> StoreResult<Vec<Plan>> {
        self.read(|c| all(c, &format!("{PLAN} ORDER BY name"), [], plan))
    }

    fn request_subscription(&self, new: NewSubscription) -> StoreResult<Subscription> {
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

    fn subscription(&self, id: i64) -> StoreResult<Option<Subscription>> {
        self.read(|c| one(c, SUB, id, sub))
    }

    fn subscriptions(&self, application: Option<i64>) -> StoreResult<Vec<Subscription>> {
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

    fn decide_subscription(&self, id: i64, decision: Decision) -> StoreResult<Subscription> {
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

    fn record_event(
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

    fn events(&self, limit: usize) -> StoreResult<Vec<AdminEvent>> {
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

    fn gateway_view(&self) -> StoreResult<GatewayView> {
        let mut conn = self.lock();
        // A deferred read transaction: one consistent snapshot of every table.
        let tx = conn.transaction().map_err(db)?;
        let view = view::read_view(&tx).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(view)
    }

    fn revision(&self) -> StoreResult<u64> {
        let value: i64 = self
            .read(|c| c.query_row("SELECT value FROM revision WHERE id = 1", [], |r| r.get(0)))?;
        Ok(u64::try_from(value).unwrap_or(0))
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, (version, _)) in migrations::MIGRATIONS.iter().enumerate() {
            assert_eq!(*version as usize, i + 1);
        }
    }

    #[test]
    fn dates_are_checked_for_real_months_and_days() {
        assert!(valid_date("2027-03-31"));
        assert!(valid_date("2028-02-29"));
        assert!(!valid_date("2027-02-29"));
        assert!(!valid_date("2027-04-31"));
        assert!(!valid_date("2027-13-01"));
        assert!(!valid_date("27-03-31"));
        assert!(!valid_date("2027/03/31"));
    }
}
