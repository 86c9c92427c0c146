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

/// The most distinct accounts and addresses remembered; beyond it, expired entries are swept,
/// and if none has expired the oldest is forgotten. It bounds the memory an attacker can make
/// the throttle use, without ever leaving a new account or address untracked.
const MAX_TRACKED: usize = 10_000;

/// Longest address an account key keeps (RFC 5321's limit on a path): a longer "email" is no
/// account's, and must not make a table entry of any size.
const MAX_EMAIL: usize = 254;

type Table = HashMap<String, (u32, Instant)>;

impl SignInThrottle {
    /// A throttle admitting `limit` failures per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        SignInThrottle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The account's key and the address's: an IPv6 address by its /64, which one host
    /// usually holds whole.
    fn keys(email: &str, addr: IpAddr) -> [String; 2] {
        let mut end = email.len().min(MAX_EMAIL);
        while !email.is_char_boundary(end) {
            end -= 1;
        }
        let address = match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        };
        [
            format!("account:{}", email[..end].to_lowercase()),
            format!("address:{address}"),
        ]
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait(&self, table: &Table, keys: &[String; 2], now: Instant) -> Option<Duration> {
        keys.iter()
            .filter_map(|k| table.get(k))
            .filter(|(count, start)| *count >= self.limit && now < *start + self.window)
            .map(|(_, start)| *start + self.window - now)
            .max()
    }

    fn count(&self, table: &mut Table, keys: [String; 2], now: Instant) {
        for key in keys {
            if table.len() >= MAX_TRACKED && !table.contains_key(&key) {
                let window = self.window;
                table.retain(|_, (_, start)| now < *start + window);
                if table.len() >= MAX_TRACKED
                    && let Some(oldest) = table
                        .iter()
                        .min_by_key(|(_, (_, start))| *start)
                        .map(|(k, _)| k.clone())
                {
                    table.remove(&oldest);
                }
            }
            let entry = table.entry(key).or_insert((0, now));
            if now >= entry.1 + self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// How long the caller must wait, if blocked.
    pub fn blocked(&self, email: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        self.wait(&self.table(), &Self::keys(email, addr), now)
    }

    /// Admits an attempt — counted as a failure until [`SignInThrottle::succeeded`] says
    /// otherwise — or says how long to wait. Counting before the password is checked, in the
    /// same step as the check of the limit, is what holds concurrent attempts to the limit:
    /// checked first and counted after the slow hash, a burst of parallel guesses all pass.
    pub fn begin(&self, email: &str, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let keys = Self::keys(email, addr);
        let mut table = self.table();
        if let Some(wait) = self.wait(&table, &keys, now) {
            return Err(wait);
        }
        self.count(&mut table, keys, now);
        Ok(())
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, addr: IpAddr, now: Instant) {
        let keys = Self::keys(email, addr);
        self.count(&mut self.table(), keys, now);
    }

    /// A sign-in admitted by [`SignInThrottle::begin`] succeeded: the account's failures are
    /// forgotten, and the address's count gives the attempt back (the address's earlier
    /// failures stay: one right password must not reset a spray across accounts).
    pub fn succeeded(&self, email: &str, addr: IpAddr) {
        let [account, address] = Self::keys(email, addr);
        let mut table = self.table();
        table.remove(&account);
        if let Some((count, _)) = table.get_mut(&address) {
            *count = count.saturating_sub(1);
        }
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
    fn attempts_count_before_the_password_is_checked_and_a_success_gives_one_back() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        // Three in flight at once use up the limit; the fourth waits, before any hashing.
        for _ in 0..3 {
            assert!(throttle.begin("a@example", addr, t0).is_ok());
        }
        assert!(throttle.begin("a@example", addr, t0).is_err());
        // One of them was right: the account is free again, the address has room for one.
        throttle.succeeded("a@example", addr);
        assert!(throttle.begin("b@example", addr, t0).is_ok());
        assert!(throttle.begin("c@example", addr, t0).is_err());
    }

    #[test]
    fn an_ipv6_host_is_one_address_and_long_emails_one_account() {
        let throttle = SignInThrottle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        throttle.failed("x@example", a, t0);
        throttle.failed("y@example", b, t0);
        assert!(throttle.blocked("z@example", a, t0).is_some());
        assert!(throttle.blocked("z@example", elsewhere, t0).is_none());
        let long = "a".repeat(MAX_EMAIL + 500);
        let longer = format!("{long}b");
        throttle.failed(&long, elsewhere, t0);
        throttle.failed(&longer, "192.0.2.9".parse().unwrap(), t0);
        assert!(
            throttle
                .blocked(&long, "192.0.2.10".parse().unwrap(), t0)
                .is_some()
        );
        assert!(throttle.table().keys().all(|k| k.len() < MAX_EMAIL + 20));
    }

    #[test]
    fn a_full_table_forgets_its_oldest_entry_rather_than_stop_counting() {
        let throttle = SignInThrottle::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..MAX_TRACKED {
            throttle.failed(&format!("filler{i}@example"), addr, t0);
        }
        let victim = "victim@example";
        throttle.failed(
            victim,
            "198.51.100.7".parse().unwrap(),
            t0 + Duration::from_secs(1),
        );
        assert!(
            throttle
                .blocked(
                    victim,
                    "203.0.113.1".parse().unwrap(),
                    t0 + Duration::from_secs(1)
                )
                .is_some()
        );
        assert!(throttle.table().len() <= MAX_TRACKED);
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
