//! Who is calling: the admin token's holder, a signed-in user (a session's bearer token), or
//! nobody; and the throttle that makes password guessing slow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use garrison_core::KeyDigest;
use garrison_store::{Role, User};

/// The caller of an admin API request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Whoever holds the admin token of the configuration: a platform administrator.
    AdminToken,
    /// A signed-in user.
    User(User),
}

impl Principal {
    /// The caller's role.
    pub fn role(&self) -> Role {
        match self {
            Principal::AdminToken => Role::PlatformAdmin,
            Principal::User(u) => u.role,
        }
    }

    /// Whether the caller runs the platform.
    pub fn is_admin(&self) -> bool {
        self.role() == Role::PlatformAdmin
    }

    /// The organisation the caller acts for.
    pub fn organisation(&self) -> Option<i64> {
        match self {
            Principal::AdminToken => None,
            Principal::User(u) => u.organisation,
        }
    }

    /// The caller as the admin events name it.
    pub fn actor(&self) -> String {
        match self {
            Principal::AdminToken => "admin-token".to_owned(),
            Principal::User(u) => format!("user:{}", u.id),
        }
    }

    /// Whether the caller belongs to `organisation` (a platform admin belongs to none).
    pub fn in_organisation(&self, organisation: i64) -> bool {
        self.organisation() == Some(organisation)
    }
}

/// The prefix of session tokens, so that a leaked one is recognisable (secret scanners).
pub const SESSION_PREFIX: &str = "grn_sess_";

/// A new session token: 256 random bits, hex-encoded after the prefix.
pub(crate) fn new_session_token() -> Result<String, String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| e.to_string())?;
    Ok(format!("{SESSION_PREFIX}{}", garrison_store::hex(&random)))
}

/// The bearer token of `Authorization: Bearer …`, if the header has that form.
pub(crate) fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The digest a session token is stored under.
pub(crate) fn token_digest(token: &str) -> KeyDigest {
    KeyDigest::of(token.as_bytes())
}

/// Counts failed sign-ins per account and per source address in a fixed window; once either
/// reaches the limit, sign-in is refused (even with the right password) until the window
/// ends. In memory: a restart forgets, which is acceptable for a throttle.
#[derive(Debug)]
pub struct SignInThrottle {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// The most distinct accounts and addresses remembered; beyond it, expired entries are
/// swept, and if none has expired the table is not grown (the new key is not tracked). It
/// bounds the memory an attacker can make the throttle use.
const MAX_TRACKED: usize = 10_000;

impl SignInThrottle {
    /// A throttle admitting `limit` failures per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        SignInThrottle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, addr: IpAddr) -> [String; 2] {
        [
            format!("account:{}", email.to_lowercase()),
            format!("address:{addr}"),
        ]
    }

    /// How long the caller must wait, if blocked.
    pub fn blocked(&self, email: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        let table = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::keys(email, addr)
            .iter()
            .filter_map(|k| table.get(k))
            .filter(|(count, start)| *count >= self.limit && now < *start + self.window)
            .map(|(_, start)| *start + self.window - now)
            .max()
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, addr: IpAddr, now: Instant) {
        let mut table = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if table.len() >= MAX_TRACKED {
            let window = self.window;
            table.retain(|_, (_, start)| now < *start + window);
        }
        for key in Self::keys(email, addr) {
            if table.len() >= MAX_TRACKED && !table.contains_key(&key) {
                continue;
            }
            let entry = table.entry(key).or_insert((0, now));
            if now >= entry.1 + self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// Forgets the account's failures after a successful sign-in (the address's stay: one
    /// right password must not reset a spray across accounts).
    pub fn succeeded(&self, email: &str) {
        let mut table = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table.remove(&format!("account:{}", email.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_blocks_an_account_after_the_limit_until_the_window_ends() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..2 {
            throttle.failed("A@example", addr, t0);
        }
        assert_eq!(throttle.blocked("a@example", addr, t0), None);
        throttle.failed("a@example", addr, t0);
        assert!(throttle.blocked("a@example", addr, t0).is_some());
        // The account is blocked from another address too, and the address for another
        // account.
        assert!(throttle.blocked("a@example", other, t0).is_some());
        assert!(throttle.blocked("b@example", addr, t0).is_some());
        assert_eq!(throttle.blocked("b@example", other, t0), None);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(throttle.blocked("a@example", addr, later), None);
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_empty_ones_ignored() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, "bEaReR abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(http::header::AUTHORIZATION, "Bearer  ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn session_tokens_are_long_random_and_prefixed() {
        let a = new_session_token().unwrap();
        let b = new_session_token().unwrap();
        assert!(a.starts_with(SESSION_PREFIX));
        assert_eq!(a.len(), SESSION_PREFIX.len() + 64);
        assert_ne!(a, b);
    }
}
