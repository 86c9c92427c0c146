//! The control plane's records: what the store keeps, as the rest of Garrison sees it.
//!
//! Ids are the store's row ids. Times are whole seconds since the Unix epoch (UTC); dates
//! (sunsets) are `YYYY-MM-DD`. No record carries a secret: API keys are kept as their SHA-256
//! digest and a short visible prefix, passwords as an argon2 PHC string that never leaves the
//! store except to be verified.

use garrison_core::{CertFingerprint, Environment, KeyDigest};
use ipnet::IpNet;
use serde::Serialize;

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The current time as a [`Timestamp`].
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An organisation: a publisher of APIs, a consumer of them, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    /// Row id.
    pub id: i64,
    /// Short unique name (`dvla`), used in consumer names and URLs.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What a user may do. The three roles of the API library (see `docs/portal.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Runs the platform: every organisation, user, API and plan.
    PlatformAdmin,
    /// Publishes the APIs of their organisation and decides subscriptions to them.
    ApiOwner,
    /// Builds applications of their organisation that consume APIs.
    ConsumerDeveloper,
}

impl Role {
    /// The role's name as stored and shown (`platform_admin`, `api_owner`,
    /// `consumer_developer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::ApiOwner => "api_owner",
            Role::ConsumerDeveloper => "consumer_developer",
        }
    }

    /// Parses a role name.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "platform_admin" => Some(Role::PlatformAdmin),
            "api_owner" => Some(Role::ApiOwner),
            "consumer_developer" => Some(Role::ConsumerDeveloper),
            _ => None,
        }
    }
}

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Sign-in name, unique, kept in lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The organisation the user acts for; `None` only for platform admins.
    pub organisation: Option<i64>,
    /// What the user may do.
    pub role: Role,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A consuming system of an organisation: what the gateway calls a consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Row id.
    pub id: i64,
    /// The organisation that owns it.
    pub organisation: i64,
    /// Short name, unique within the organisation.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// One API key of an application: only its digest and visible prefix are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// Row id.
    pub id: i64,
    /// The application it authenticates.
    pub application: i64,
    /// Sandbox (`grn_test_`) or production (`grn_live_`).
    #[serde(serialize_with = "environment_name")]
    pub environment: Environment,
    /// The first characters of the key (`grn_test_AbCd`), so its owner can tell keys apart.
    pub prefix: String,
    /// SHA-256 of the key.
    #[serde(skip)]
    pub digest: KeyDigest,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it was revoked; a revoked key is refused by the gateway.
    pub revoked_at: Option<Timestamp>,
}

fn environment_name<S: serde::Serializer>(env: &Environment, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(environment_str(*env))
}

/// `sandbox` or `production`.
pub fn environment_str(env: Environment) -> &'static str {
    match env {
        Environment::Test => "sandbox",
        _ => "production",
    }
}

/// A client certificate an application is bound to, by the SHA-256 of its DER.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// Row id.
    pub id: i64,
    /// The application bound to it.
    pub application: i64,
    /// SHA-256 of the certificate's DER encoding.
    #[serde(serialize_with = "fingerprint_hex")]
    pub fingerprint: CertFingerprint,
    /// A label for people (the certificate's subject, as uploaded).
    pub label: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it was revoked; a revoked certificate no longer binds.
    pub revoked_at: Option<Timestamp>,
}

fn fingerprint_hex<S: serde::Serializer>(fp: &CertFingerprint, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(fp.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    garrison_core::hex::encode(bytes)
}

/// Data classification of an API (UK Government Security Classifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Classification {
    /// No personal data.
    Official,
    /// Personal or otherwise sensitive data.
    OfficialSensitive,
}

impl Classification {
    /// The stored name (`official`, `official_sensitive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Official => "official",
            Classification::OfficialSensitive => "official_sensitive",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Classification> {
        match text {
            "official" => Some(Classification::Official),
            "official_sensitive" => Some(Classification::OfficialSensitive),
            _ => None,
        }
    }
}

/// An API in the library, owned by an organisation; it has one or more versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// Row id.
    pub id: i64,
    /// Short unique name (`citizen-match`).
    pub slug: String,
    /// Display name.
    pub title: String,
    /// The organisation that publishes it (whose API owners decide subscriptions).
    pub owner: i64,
    /// What it is for.
    pub description: String,
    /// Its data classification.
    pub classification: Classification,
    /// Free-form tags for search.
    pub tags: Vec<String>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Where a version of an API is in its life (the HMRC developer hub's statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Lifecycle {
    /// Documentation only; not callable in production.
    Alpha,
    /// Callable; may still change.
    Beta,
    /// Callable; changes only with notice.
    Stable,
    /// Callable until its sunset date; calls carry `Deprecation` and `Sunset` headers.
    Deprecated,
    /// No longer callable: `410 Gone` with a pointer to its successor.
    Retired,
}

impl Lifecycle {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Alpha => "alpha",
            Lifecycle::Beta => "beta",
            Lifecycle::Stable => "stable",
            Lifecycle::Deprecated => "deprecated",
            Lifecycle::Retired => "retired",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Lifecycle> {
        match text {
            "alpha" => Some(Lifecycle::Alpha),
            "beta" => Some(Lifecycle::Beta),
            "stable" => Some(Lifecycle::Stable),
            "deprecated" => Some(Lifecycle::Deprecated),
            "retired" => Some(Lifecycle::Retired),
            _ => None,
        }
    }
}

/// One version of an API, served by the gateway under a route group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersion {
    /// Row id.
    pub id: i64,
    /// The API it is a version of.
    pub api: i64,
    /// The version's name (`v1`), unique within the API.
    pub version: String,
    /// The gateway route group that serves it: the `name` of an entry of `apis:` in the
    /// configuration. Subscriptions to this version become subscriptions to that group.
    pub group: String,
    /// Its lifecycle status.
    pub status: Lifecycle,
    /// The date (`YYYY-MM-DD`) after which it is retired, for a deprecated version.
    pub sunset: Option<String>,
    /// The version that replaces it.
    pub successor: Option<i64>,
}

/// A rate plan a subscription is granted under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Row id.
    pub id: i64,
    /// Unique name (`bronze`).
    pub name: String,
    /// Requests per period.
    pub requests: u32,
    /// The period, in seconds.
    pub period_seconds: u32,
    /// Requests admitted back to back.
    pub burst: u32,
}

/// Where a subscription request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubscriptionStatus {
    /// Waiting for the API's owner.
    Requested,
    /// Granted: the gateway lets the application call the API version.
    Approved,
    /// Refused by the API's owner.
    Rejected,
    /// Granted once, withdrawn since.
    Revoked,
}

impl SubscriptionStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Requested => "requested",
            SubscriptionStatus::Approved => "approved",
            SubscriptionStatus::Rejected => "rejected",
            SubscriptionStatus::Revoked => "revoked",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<SubscriptionStatus> {
        match text {
            "requested" => Some(SubscriptionStatus::Requested),
            "approved" => Some(SubscriptionStatus::Approved),
            "rejected" => Some(SubscriptionStatus::Rejected),
            "revoked" => Some(SubscriptionStatus::Revoked),
            _ => None,
        }
    }

    /// Whether a subscription may move from `self` to `to`: requested → approved | rejected,
    /// approved → revoked. Nothing else: a decision is never silently rewritten.
    pub fn may_become(self, to: SubscriptionStatus) -> bool {
        matches!(
            (self, to),
            (
                SubscriptionStatus::Requested,
                SubscriptionStatus::Approved | SubscriptionStatus::Rejected
            ) | (SubscriptionStatus::Approved, SubscriptionStatus::Revoked)
        )
    }
}

/// An application's request for (and, once decided, right to) a version of an API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Row id.
    pub id: i64,
    /// The subscribing application.
    pub application: i64,
    /// The API version.
    pub api_version: i64,
    /// The plan asked for.
    pub plan: i64,
    /// Why the application needs the data (the purpose it will state in the `context`
    /// header; the gateway refuses any other).
    pub purpose: String,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// Who asked.
    pub requested_by: i64,
    /// When.
    pub requested_at: Timestamp,
    /// Who approved, rejected or revoked it.
    pub decided_by: Option<i64>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// The decider's reason, shown to the consumer.
    pub reason: Option<String>,
    /// The response fields granted on approval (dotted paths, as in the configuration's
    /// `subscriptions[].fields`); `None` discloses the whole response.
    pub fields: Option<Vec<String>>,
}

/// One administrative change (or refused attempt), as the store records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminEvent {
    /// Row id: events are numbered in the order they were recorded.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who: `user:<id>`, `admin-token`, or `anonymous`.
    pub actor: String,
    /// What (the admin API's operationId, e.g. `approveSubscription`).
    pub action: String,
    /// On what (`subscription:12`).
    pub target: String,
    /// `ok`, or the refusal's problem code.
    pub outcome: String,
}

// === inputs ===

/// A new organisation.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    /// Short unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A new user; the password is hashed by [`crate::password::hash`] before it reaches the
/// store.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The organisation (required unless platform admin).
    pub organisation: Option<i64>,
    /// The role.
    pub role: Role,
    /// The argon2 PHC string of the password.
    pub password_hash: String,
}

/// A new application.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Owning organisation.
    pub organisation: i64,
    /// Short name, unique within it.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A new API.
#[derive(Debug, Clone)]
pub struct NewApi {
    /// Short unique name.
    pub slug: String,
    /// Display name.
    pub title: String,
    /// Publishing organisation.
    pub owner: i64,
    /// What it is for.
    pub description: String,
    /// Data classification.
    pub classification: Classification,
    /// Tags.
    pub tags: Vec<String>,
}

/// A new API version.
#[derive(Debug, Clone)]
pub struct NewApiVersion {
    /// The API.
    pub api: i64,
    /// Version name.
    pub version: String,
    /// The gateway route group serving it.
    pub group: String,
    /// Initial status.
    pub status: Lifecycle,
}

/// A change of an API version's lifecycle.
#[derive(Debug, Clone)]
pub struct LifecycleChange {
    /// New status.
    pub status: Lifecycle,
    /// Sunset date (`YYYY-MM-DD`).
    pub sunset: Option<String>,
    /// The version replacing it.
    pub successor: Option<i64>,
}

/// A new plan.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// Unique name.
    pub name: String,
    /// Requests per period.
    pub requests: u32,
    /// Period in seconds.
    pub period_seconds: u32,
    /// Burst.
    pub burst: u32,
}

/// A subscription request.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// The application.
    pub application: i64,
    /// The API version.
    pub api_version: i64,
    /// The plan.
    pub plan: i64,
    /// The purpose.
    pub purpose: String,
    /// The requesting user.
    pub requested_by: i64,
}

/// A decision on a subscription.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The new status.
    pub status: SubscriptionStatus,
    /// The deciding user.
    pub by: i64,
    /// Why, for the consumer.
    pub reason: Option<String>,
    /// On approval: the response fields granted; `None` grants the whole response.
    pub fields: Option<Vec<String>>,
}

/// A signed-in user's session, found by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: i64,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// Everything the gateway needs from the store, read in one consistent transaction: the
/// applications as consumers and their approved subscriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayView {
    /// The store revision this view was read at.
    pub revision: u64,
    /// Applications that hold at least one key.
    pub consumers: Vec<ViewConsumer>,
    /// Approved subscriptions of those applications.
    pub subscriptions: Vec<ViewSubscription>,
    /// Every API version whose lifecycle the gateway announces (deprecated or retired).
    pub lifecycle: Vec<ViewLifecycle>,
}

/// An application as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewConsumer {
    /// `<organisation slug>/<application slug>`: its name in logs, metrics and the audit
    /// trail. The `/` cannot appear in a configured consumer's name, so the two never clash.
    pub name: String,
    /// Its keys, revoked ones included.
    pub keys: Vec<ViewKey>,
    /// Bound certificates (revoked ones left out).
    pub certificates: Vec<CertFingerprint>,
    /// Networks it may call from; empty means any.
    pub allow: Vec<IpNet>,
}

/// A key as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewKey {
    /// A non-secret id (`store-key-<id>`), for logs.
    pub id: String,
    /// SHA-256 of the key.
    pub digest: KeyDigest,
    /// A revoked key is refused.
    pub revoked: bool,
    /// A sandbox key (`grn_test_`) calls sandbox (mocked) APIs only.
    pub sandbox: bool,
}

/// An approved subscription as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSubscription {
    /// The consumer's name.
    pub consumer: String,
    /// The gateway route group.
    pub group: String,
    /// The plan.
    pub plan: Plan,
    /// The one purpose the consumer may state.
    pub purpose: String,
    /// The response fields granted; `None`: the whole response.
    pub fields: Option<Vec<String>>,
}

/// An API version's lifecycle as the gateway announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewLifecycle {
    /// The gateway route group.
    pub group: String,
    /// Deprecated or retired.
    pub status: Lifecycle,
    /// Sunset date (`YYYY-MM-DD`).
    pub sunset: Option<String>,
    /// The successor's route group.
    pub successor_group: Option<String>,
    /// When the version took this status (the `Deprecation` date).
    pub since: Timestamp,
}
