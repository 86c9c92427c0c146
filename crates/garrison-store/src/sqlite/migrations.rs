//! The schema, as an ordered list of migrations embedded in the binary. A database records
//! the versions applied in `schema_version`; opening it applies the missing ones, all in one
//! transaction, so a store is never left half-migrated. Never edit a shipped migration: add
//! the next one.

use rusqlite::{Connection, params};

use super::{SCHEMA_VERSION, db};
use crate::error::{StoreError, StoreResult};
use crate::model::now;

/// `(version, SQL)`, in order, starting at 1 with no gaps (a test checks).
pub(super) const MIGRATIONS: &[(u32, &str)] = &[(1, V1)];

/// The newest migration the database has applied (0 for a new one).
pub(super) fn current_version(conn: &Connection) -> StoreResult<u32> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )
    .map_err(db)
}

/// Applies every migration newer than the database's version, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
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
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.execute_batch(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version, now()],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

const V1: &str = r#"
CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    organisation  INTEGER REFERENCES organisations(id),
    role          TEXT NOT NULL
                  CHECK (role IN ('platform_admin', 'api_owner', 'consumer_developer')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    CHECK (role = 'platform_admin' OR organisation IS NOT NULL)
);

-- A session is found by the SHA-256 of its bearer token: a stolen database yields no
-- usable token.
CREATE TABLE sessions (
    token       TEXT PRIMARY KEY,
    user        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE applications (
    id            INTEGER PRIMARY KEY,
    organisation  INTEGER NOT NULL REFERENCES organisations(id),
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (organisation, slug)
);

-- Keys are stored as their digest only; the prefix lets their owner tell them apart.
CREATE TABLE credentials (
    id           INTEGER PRIMARY KEY,
    application  INTEGER NOT NULL REFERENCES applications(id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    prefix       TEXT NOT NULL,
    digest       TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX credentials_application ON credentials(application);

CREATE TABLE certificates (
    id           INTEGER PRIMARY KEY,
    application  INTEGER NOT NULL REFERENCES applications(id),
    fingerprint  TEXT NOT NULL,
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX certificates_application ON certificates(application);

CREATE TABLE allow_list (
    application  INTEGER NOT NULL REFERENCES applications(id),
    network      TEXT NOT NULL,
    PRIMARY KEY (application, network)
);

CREATE TABLE apis (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    owner           INTEGER NOT NULL REFERENCES organisations(id),
    description     TEXT NOT NULL,
    classification  TEXT NOT NULL CHECK (classification IN ('official', 'official_sensitive')),
    tags            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE api_versions (
    id           INTEGER PRIMARY KEY,
    api          INTEGER NOT NULL REFERENCES apis(id),
    version      TEXT NOT NULL,
    route_group  TEXT NOT NULL,
    status       TEXT NOT NULL
                 CHECK (status IN ('alpha', 'beta', 'stable', 'deprecated', 'retired')),
    sunset       TEXT,
    successor    INTEGER REFERENCES api_versions(id),
    -- When the status last changed: a deprecated version's `Deprecation` date.
    changed_at   INTEGER NOT NULL,
    UNIQUE (api, version)
);

CREATE TABLE plans (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    requests        INTEGER NOT NULL CHECK (requests > 0),
    period_seconds  INTEGER NOT NULL CHECK (period_seconds > 0),
    burst           INTEGER NOT NULL CHECK (burst > 0)
);

CREATE TABLE subscriptions (
    id            INTEGER PRIMARY KEY,
    application   INTEGER NOT NULL REFERENCES applications(id),
    api_version   INTEGER NOT NULL REFERENCES api_versions(id),
    plan          INTEGER NOT NULL REFERENCES plans(id),
    purpose       TEXT NOT NULL,
    status        TEXT NOT NULL
                  CHECK (status IN ('requested', 'approved', 'rejected', 'revoked')),
    requested_by  INTEGER NOT NULL REFERENCES users(id),
    requested_at  INTEGER NOT NULL,
    decided_by    INTEGER REFERENCES users(id),
    decided_at    INTEGER,
    reason        TEXT,
    -- The response fields granted, one dotted path a line; NULL: the whole response.
    fields        TEXT
);
CREATE INDEX subscriptions_application ON subscriptions(application);

CREATE TABLE admin_events (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    outcome  TEXT NOT NULL
);

-- One row: the revision the gateway compares with the one its snapshot was built from.
CREATE TABLE revision (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  INTEGER NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);
"#;
