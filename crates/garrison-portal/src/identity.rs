//! Sessions, organisations, users, plans and the admin events: the platform's own records.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use garrison_core::ProblemCode;
use garrison_store::{NewOrganisation, NewPlan, NewUser, Role, StoreError, password};
use http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::Portal;
use crate::auth::{self, Principal};
use crate::reply::{Outcome, Refusal, created, no_content, ok};
use crate::routes::Call;

/// A slug: lower-case letters, digits and hyphens, starting with a letter or digit, at most
/// 63 characters. Slugs name consumers (`org/app`) in headers, metrics and the audit trail,
/// so nothing else is allowed.
pub(crate) fn check_slug(field: &str, slug: &str) -> Result<(), Refusal> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Refusal::bad(format!(
            "{field}: lower-case letters, digits and hyphens, at most 63"
        )))
    }
}

/// A display name: 1 to 200 characters, no control characters.
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), Refusal> {
    let len = name.chars().count();
    if (1..=200).contains(&len) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(Refusal::bad(format!(
            "{field}: 1 to 200 characters, no control characters"
        )))
    }
}

/// A slug from a display name: lower-case ASCII letters and digits, other runs as one
/// hyphen, at most 50 characters (room for a `-N` suffix); `developer` if nothing is left.
pub(crate) fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 50 {
            break;
        }
    }
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "developer".to_owned()
    } else {
        slug.to_owned()
    }
}

/// Creates a self-signed-up developer's organisation, named `name`, under a slug of the name
/// not yet taken (`dvla`, `dvla-2`, …): a sign-up never joins an existing organisation.
pub(crate) fn own_organisation(portal: &Portal, name: &str) -> Result<i64, StoreError> {
    let base = slug_of(name);
    let taken: std::collections::HashSet<String> = portal
        .store
        .organisations()?
        .into_iter()
        .map(|o| o.slug)
        .collect();
    let mut n = 1u32;
    loop {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        n += 1;
        if taken.contains(&slug) {
            continue;
        }
        match portal.store.create_organisation(NewOrganisation {
            slug,
            name: name.to_owned(),
        }) {
            Ok(organisation) => return Ok(organisation.id),
            // Taken since the list was read: try the next.
            Err(StoreError::Conflict(_)) if n < 1000 => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether `email` looks like an email address (a local part, `@`, a dotted domain).
pub(crate) fn plausible_email(email: &str) -> bool {
    email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    name: String,
    email: String,
    password: String,
    organisation: String,
}

/// `POST /admin/v1/sign-ups`: the web portal's sign-up over the API (only with
/// `control_plane.self_sign_up`), throttled alike; answers a session like sign-in.
pub(crate) fn sign_up(portal: &Portal, call: &Call<'_>) -> Outcome {
    if !portal.settings.self_sign_up {
        return Err(Refusal::new(
            ProblemCode::MatchingResourceNotFound,
            "Self sign-up is not enabled here.",
        ));
    }
    let input: SignUp = call.body()?;
    let addr = call.context.peer.ip();
    let now = Instant::now();
    if let Some(wait) = portal.sign_ups.blocked(&input.email, addr, now) {
        let mut refused = Refusal::new(
            ProblemCode::MessageThrottledOut,
            "Too many sign-ups; try again later.",
        )
        .reply();
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            refused
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        return Ok(refused);
    }
    portal.sign_ups.failed(&input.email, addr, now);
    let (name, email, organisation) = (
        input.name.trim(),
        input.email.trim(),
        input.organisation.trim(),
    );
    check_name("name", name)?;
    check_name("organisation", organisation)?;
    if !plausible_email(email) {
        return Err(Refusal::bad("email: expected an email address"));
    }
    // Hashed before the email is looked up (a taken address costs the same time).
    let password_hash = password::hash(&input.password)?;
    // A taken address is not named as such (see docs/portal.md).
    let generic = || Refusal::bad("Check your details: an account could not be created with them.");
    if portal.store.user_by_email(email)?.is_some() {
        return Err(generic());
    }
    let organisation = own_organisation(portal, organisation)?;
    let user = portal
        .store
        .create_user(NewUser {
            email: email.to_owned(),
            name: name.to_owned(),
            organisation: Some(organisation),
            role: Role::ConsumerDeveloper,
            password_hash,
        })
        .map_err(|e| match e {
            StoreError::Conflict(_) => generic(),
            other => other.into(),
        })?;
    match open_session(portal, email, &input.password, addr) {
        Ok((token, expires_at, user)) => created(&SessionAnswer {
            token,
            expires_at,
            user,
        }),
        Err(SignInFailure::Failed(refusal)) => Err(refusal),
        Err(_) => Err(Refusal::new(
            ProblemCode::InternalError,
            format!("user {} was created but could not be signed in", user.id),
        )),
    }
}

pub(crate) fn require_admin(who: &Principal) -> Result<(), Refusal> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(Refusal::forbidden("Only a platform admin may do this."))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAnswer {
    token: String,
    expires_at: i64,
    user: garrison_store::User,
}

/// Why a sign-in did not open a session.
pub(crate) enum SignInFailure {
    /// Too many failures: wait this long.
    Throttled(std::time::Duration),
    /// Unknown account or wrong password (deliberately not said which).
    Invalid,
    /// The store failed.
    Failed(Refusal),
}

impl From<garrison_store::StoreError> for SignInFailure {
    fn from(e: garrison_store::StoreError) -> Self {
        SignInFailure::Failed(e.into())
    }
}

/// Most password verifications at once. Each argon2id verification holds ~19 MiB and a thread
/// of the blocking pool the gateway shares (its store refreshes, its audit writer's syncs); a
/// crowd of sign-ins beyond this is refused as busy rather than queued, whatever addresses it
/// comes from.
const MAX_VERIFYING: usize = 8;

/// A place among the verifications running, given back on drop.
struct Verifying<'a>(&'a AtomicUsize);

impl<'a> Verifying<'a> {
    fn enter(running: &'a AtomicUsize) -> Option<Self> {
        if running.fetch_add(1, Ordering::AcqRel) >= MAX_VERIFYING {
            running.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Verifying(running))
    }
}

impl Drop for Verifying<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Checks a password (throttled per account and per address) and opens a session: its
/// token, expiry and user. Shared by the admin API and the web portal.
pub(crate) fn open_session(
    portal: &Portal,
    email: &str,
    password: &str,
    addr: std::net::IpAddr,
) -> Result<(String, i64, garrison_store::User), SignInFailure> {
    // Before the throttle counts the attempt: a busy refusal is not a failed guess.
    let Some(_verifying) = Verifying::enter(&portal.verifying) else {
        return Err(SignInFailure::Failed(Refusal::new(
            ProblemCode::ServiceUnavailable,
            "Too many sign-ins at once; try again in a moment.",
        )));
    };
    portal
        .throttle
        .begin(email, addr, Instant::now())
        .map_err(SignInFailure::Throttled)?;
    let found = portal.store.user_by_email(email)?;
    // An unknown account costs the same argon2 verification as a known one.
    let stored = found
        .as_ref()
        .map_or(password::decoy(), |(_, hash)| hash.as_str());
    let matches = password::verify(password, stored);
    // A failure was counted when the attempt began.
    let Some((user, _)) = found.filter(|_| matches) else {
        return Err(SignInFailure::Invalid);
    };
    portal.throttle.succeeded(email, addr);
    let token = auth::new_session_token()
        .map_err(|e| SignInFailure::Failed(Refusal::new(ProblemCode::InternalError, e)))?;
    let expires_at = garrison_store::now()
        + i64::try_from(portal.settings.session_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    portal
        .store
        .create_session(auth::token_digest(&token), user.id, expires_at)?;
    Ok((token, expires_at, user))
}

pub(crate) fn sign_in(portal: &Portal, call: &Call<'_>) -> Outcome {
    let input: SignIn = call.body()?;
    match open_session(
        portal,
        &input.email,
        &input.password,
        call.context.peer.ip(),
    ) {
        Ok((token, expires_at, user)) => created(&SessionAnswer {
            token,
            expires_at,
            user,
        }),
        Err(SignInFailure::Throttled(wait)) => {
            let mut refused = Refusal::new(
                ProblemCode::MessageThrottledOut,
                "Too many failed sign-ins; try again later.",
            )
            .reply();
            if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                refused
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, value);
            }
            Ok(refused)
        }
        Err(SignInFailure::Invalid) => Err(Refusal::new(
            ProblemCode::InvalidCredentials,
            "The email or password is not right.",
        )),
        Err(SignInFailure::Failed(refusal)) => Err(refusal),
    }
}

pub(crate) fn sign_out(portal: &Portal, call: &Call<'_>) -> Outcome {
    call.who()?;
    // The admin token is not a session: there is nothing to end.
    if let Some(token) = call.token.filter(|t| t.starts_with(auth::SESSION_PREFIX)) {
        portal.store.delete_session(&auth::token_digest(token))?;
    }
    no_content()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    role: Role,
    organisation: Option<i64>,
    user: Option<garrison_store::User>,
}

pub(crate) fn me(_: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    ok(&Me {
        role: who.role(),
        organisation: who.organisation(),
        user: match who {
            Principal::User(u) => Some(u.clone()),
            Principal::AdminToken => None,
        },
    })
}

pub(crate) fn list_organisations(portal: &Portal, call: &Call<'_>) -> Outcome {
    call.who()?;
    // Everyone signed in may see who publishes the catalogue's APIs: organisations' names
    // are not secret, their applications are.
    let all = portal.store.organisations()?;
    ok(&serde_json::json!({ "organisations": all }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationInput {
    slug: String,
    name: String,
}

pub(crate) fn create_organisation(portal: &Portal, call: &Call<'_>) -> Outcome {
    require_admin(call.who()?)?;
    let input: OrganisationInput = call.body()?;
    check_slug("slug", &input.slug)?;
    check_name("name", &input.name)?;
    created(&portal.store.create_organisation(NewOrganisation {
        slug: input.slug,
        name: input.name,
    })?)
}

pub(crate) fn list_users(portal: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    let users = if who.is_admin() {
        portal.store.users(None)?
    } else {
        match who.organisation() {
            Some(org) => portal.store.users(Some(org))?,
            None => Vec::new(),
        }
    };
    ok(&serde_json::json!({ "users": users }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInput {
    email: String,
    name: String,
    organisation: Option<i64>,
    role: String,
    password: String,
}

pub(crate) fn create_user(portal: &Portal, call: &Call<'_>) -> Outcome {
    require_admin(call.who()?)?;
    let input: UserInput = call.body()?;
    let role = Role::parse(&input.role).ok_or_else(|| {
        Refusal::bad("role: expected platform_admin, api_owner or consumer_developer")
    })?;
    if !input.email.contains('@') || input.email.len() > 254 {
        return Err(Refusal::bad("email: expected an email address"));
    }
    check_name("name", &input.name)?;
    let password_hash = password::hash(&input.password)?;
    created(&portal.store.create_user(NewUser {
        email: input.email,
        name: input.name,
        organisation: input.organisation,
        role,
        password_hash,
    })?)
}

pub(crate) fn list_plans(portal: &Portal, call: &Call<'_>) -> Outcome {
    call.who()?;
    ok(&serde_json::json!({ "plans": portal.store.plans()? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PlanInput {
    name: String,
    requests: u32,
    period_seconds: u32,
    burst: u32,
}

pub(crate) fn create_plan(portal: &Portal, call: &Call<'_>) -> Outcome {
    require_admin(call.who()?)?;
    let input: PlanInput = call.body()?;
    check_slug("name", &input.name)?;
    created(&portal.store.create_plan(NewPlan {
        name: input.name,
        requests: input.requests,
        period_seconds: input.period_seconds,
        burst: input.burst,
    })?)
}

pub(crate) fn list_events(portal: &Portal, call: &Call<'_>) -> Outcome {
    require_admin(call.who()?)?;
    ok(&serde_json::json!({ "events": portal.store.events(200)? }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_so_many_verifications_run_at_once() {
        let running = AtomicUsize::new(0);
        let held: Vec<_> = (0..MAX_VERIFYING)
            .map(|_| Verifying::enter(&running).expect("a place"))
            .collect();
        assert!(Verifying::enter(&running).is_none());
        drop(held);
        assert_eq!(running.load(Ordering::Acquire), 0);
        assert!(Verifying::enter(&running).is_some());
    }
}
