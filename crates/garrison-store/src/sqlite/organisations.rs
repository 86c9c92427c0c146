//! Organisations, their users and users' sign-in sessions: who may act in the control plane.
//! None of these changes what the gateway admits, so no write here advances the revision.

use garrison_core::KeyDigest;
use rusqlite::{OptionalExtension, params};

use super::rows::{ORG, USER, all, one, org, user};
use super::{SqliteStore, db, write_err};
use crate::error::{StoreError, StoreResult};
use crate::model::*;

impl SqliteStore {
    pub(super) fn create_organisation(&self, new: NewOrganisation) -> StoreResult<Organisation> {
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

    pub(super) fn organisation(&self, id: i64) -> StoreResult<Option<Organisation>> {
        self.read(|c| one(c, ORG, id, org))
    }

    pub(super) fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.read(|c| all(c, &format!("{ORG} ORDER BY id"), [], org))
    }

    pub(super) fn create_user(&self, new: NewUser) -> StoreResult<User> {
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

    pub(super) fn user(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(|c| one(c, USER, id, user))
    }

    pub(super) fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        self.read(|c| {
            c.query_row(
                &format!("{USER} WHERE email = ?1"),
                [email.to_lowercase()],
                |r| Ok((user(r)?, r.get::<_, String>(6)?)),
            )
            .optional()
        })
    }

    pub(super) fn users(&self, organisation: Option<i64>) -> StoreResult<Vec<User>> {
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

    pub(super) fn create_session(
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

    pub(super) fn session(&self, token: &KeyDigest, at: Timestamp) -> StoreResult<Option<Session>> {
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

    pub(super) fn delete_session(&self, token: &KeyDigest) -> StoreResult<bool> {
        self.write(false, |tx| {
            tx.execute("DELETE FROM sessions WHERE token = ?1", [token.to_string()])
                .map(|n| n > 0)
                .map_err(db)
        })
    }
}
