//! The embedded store: one SQLite database file, opened with foreign keys enforced and WAL
//! journaling, migrated at open. One connection behind a mutex: the control plane's writes
//! are rare and short, and SQLite serialises writers anyway.

mod applications;
mod catalogue;
mod events;
mod migrations;
mod organisations;
mod rows;
mod subscriptions;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use garrison_core::{CertFingerprint, Environment, KeyDigest};
use ipnet::IpNet;
use rusqlite::{Connection, ErrorCode, Transaction};
use tokio::sync::watch;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::model::*;

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
        migrations::migrate(&mut conn)?;
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
        migrations::current_version(&conn)
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

// === impl Store for SqliteStore ===

// Each method delegates to the inherent method of the same name in its domain's submodule.
// Inherent methods take precedence over trait methods, so these calls do not recurse (and
// rustc's `unconditional_recursion` lint would flag one whose inherent method went missing).
impl Store for SqliteStore {
    // --- organisations, users and sessions: organisations.rs ---

    fn create_organisation(&self, new: NewOrganisation) -> StoreResult<Organisation> {
        self.create_organisation(new)
    }

    fn organisation(&self, id: i64) -> StoreResult<Option<Organisation>> {
        self.organisation(id)
    }

    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.organisations()
    }

    fn create_user(&self, new: NewUser) -> StoreResult<User> {
        self.create_user(new)
    }

    fn user(&self, id: i64) -> StoreResult<Option<User>> {
        self.user(id)
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        self.user_by_email(email)
    }

    fn users(&self, organisation: Option<i64>) -> StoreResult<Vec<User>> {
        self.users(organisation)
    }

    fn create_session(
        &self,
        token: KeyDigest,
        user: i64,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.create_session(token, user, expires_at)
    }

    fn session(&self, token: &KeyDigest, at: Timestamp) -> StoreResult<Option<Session>> {
        self.session(token, at)
    }

    fn delete_session(&self, token: &KeyDigest) -> StoreResult<bool> {
        self.delete_session(token)
    }

    // --- applications, keys, certificates and allow-lists: applications.rs ---

    fn create_application(&self, new: NewApplication) -> StoreResult<Application> {
        self.create_application(new)
    }

    fn application(&self, id: i64) -> StoreResult<Option<Application>> {
        self.application(id)
    }

    fn applications(&self, organisation: Option<i64>) -> StoreResult<Vec<Application>> {
        self.applications(organisation)
    }

    fn add_key(
        &self,
        application: i64,
        environment: Environment,
        prefix: &str,
        digest: KeyDigest,
    ) -> StoreResult<Credential> {
        self.add_key(application, environment, prefix, digest)
    }

    fn key(&self, id: i64) -> StoreResult<Option<Credential>> {
        self.key(id)
    }

    fn keys(&self, application: i64) -> StoreResult<Vec<Credential>> {
        self.keys(application)
    }

    fn revoke_key(&self, id: i64) -> StoreResult<bool> {
        self.revoke_key(id)
    }

    fn add_certificate(
        &self,
        application: i64,
        fingerprint: CertFingerprint,
        label: &str,
    ) -> StoreResult<Certificate> {
        self.add_certificate(application, fingerprint, label)
    }

    fn certificate(&self, id: i64) -> StoreResult<Option<Certificate>> {
        self.certificate(id)
    }

    fn certificates(&self, application: i64) -> StoreResult<Vec<Certificate>> {
        self.certificates(application)
    }

    fn revoke_certificate(&self, id: i64) -> StoreResult<bool> {
        self.revoke_certificate(id)
    }

    fn set_allow_list(&self, application: i64, networks: &[IpNet]) -> StoreResult<()> {
        self.set_allow_list(application, networks)
    }

    fn allow_list(&self, application: i64) -> StoreResult<Vec<IpNet>> {
        self.allow_list(application)
    }

    // --- APIs, versions, lifecycles and plans: catalogue.rs ---

    fn create_api(&self, new: NewApi) -> StoreResult<Api> {
        self.create_api(new)
    }

    fn api(&self, id: i64) -> StoreResult<Option<Api>> {
        self.api(id)
    }

    fn apis(&self) -> StoreResult<Vec<Api>> {
        self.apis()
    }

    fn create_api_version(&self, new: NewApiVersion) -> StoreResult<ApiVersion> {
        self.create_api_version(new)
    }

    fn api_version(&self, id: i64) -> StoreResult<Option<ApiVersion>> {
        self.api_version(id)
    }

    fn api_versions(&self, api: i64) -> StoreResult<Vec<ApiVersion>> {
        self.api_versions(api)
    }

    fn set_lifecycle(&self, id: i64, change: LifecycleChange) -> StoreResult<ApiVersion> {
        self.set_lifecycle(id, change)
    }

    fn create_plan(&self, new: NewPlan) -> StoreResult<Plan> {
        self.create_plan(new)
    }

    fn plan(&self, id: i64) -> StoreResult<Option<Plan>> {
        self.plan(id)
    }

    fn plans(&self) -> StoreResult<Vec<Plan>> {
        self.plans()
    }

    // --- subscriptions: subscriptions.rs ---

    fn request_subscription(&self, new: NewSubscription) -> StoreResult<Subscription> {
        self.request_subscription(new)
    }

    fn subscription(&self, id: i64) -> StoreResult<Option<Subscription>> {
        self.subscription(id)
    }

    fn subscriptions(&self, application: Option<i64>) -> StoreResult<Vec<Subscription>> {
        self.subscriptions(application)
    }

    fn decide_subscription(&self, id: i64, decision: Decision) -> StoreResult<Subscription> {
        self.decide_subscription(id, decision)
    }

    // --- admin events: events.rs ---

    fn record_event(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
    ) -> StoreResult<()> {
        self.record_event(actor, action, target, outcome)
    }

    fn events(&self, limit: usize) -> StoreResult<Vec<AdminEvent>> {
        self.events(limit)
    }

    // --- the gateway's view, the revision and its changes: view.rs ---

    fn gateway_view(&self) -> StoreResult<GatewayView> {
        self.gateway_view()
    }

    fn revision(&self) -> StoreResult<u64> {
        self.revision()
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes()
    }
}

#[cfg(test)]
mod tests {
    use super::rows::valid_date;
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
