//! Garrison's control-plane store: organisations, users, applications and their credentials,
//! APIs and their versions, plans and subscriptions — everything the API library and the admin
//! API change, and that the gateway compiles into its snapshot beside the declarative
//! configuration.
//!
//! One trait, [`Store`], is the whole interface; [`SqliteStore`] is the embedded
//! implementation (one database file, versioned migrations applied at open). A PostgreSQL
//! implementation slots in behind the same trait and proves itself with the same
//! [`conformance`] suite.
//!
//! The trait is synchronous. The control plane is low-volume, the request path never reads the
//! store (the gateway compiles a [`GatewayView`] into its snapshot), and async callers run
//! store calls on a blocking thread (`tokio::task::spawn_blocking`); a synchronous trait keeps
//! the SQLite backend on `rusqlite`, which the workspace already builds, instead of adding an
//! async SQL stack.
//!
//! This crate knows nothing about HTTP, sessions' cookies or roles' permissions: it keeps
//! records and enforces the rules of the records themselves (uniqueness, the subscription
//! state machine).

mod error;
mod model;
mod sqlite;

pub mod conformance;
pub mod password;

pub use error::{StoreError, StoreResult};
pub use model::*;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

use garrison_core::{CertFingerprint, Environment, KeyDigest};
use ipnet::IpNet;

/// The control plane's state. Every method is one transaction; every change that the gateway
/// cares about (credentials, allow-lists, subscriptions, lifecycles, plans) advances
/// [`Store::revision`] and notifies [`Store::changes`].
pub trait Store: Send + Sync + std::fmt::Debug {
    // --- organisations and users ---

    /// Creates an organisation.
    fn create_organisation(&self, new: NewOrganisation) -> StoreResult<Organisation>;
    /// One organisation.
    fn organisation(&self, id: i64) -> StoreResult<Option<Organisation>>;
    /// Every organisation, by id.
    fn organisations(&self) -> StoreResult<Vec<Organisation>>;

    /// Creates a user.
    fn create_user(&self, new: NewUser) -> StoreResult<User>;
    /// One user.
    fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// A user by sign-in name (case-insensitive), with the stored password hash.
    fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;
    /// Users, of one organisation or all.
    fn users(&self, organisation: Option<i64>) -> StoreResult<Vec<User>>;

    // --- sessions ---

    /// Opens a session for `user`, found later by `token` (the digest of a random token).
    fn create_session(&self, token: KeyDigest, user: i64, expires_at: Timestamp)
    -> StoreResult<()>;
    /// The session of `token` if it is still valid at `at`.
    fn session(&self, token: &KeyDigest, at: Timestamp) -> StoreResult<Option<Session>>;
    /// Ends a session; whether there was one.
    fn delete_session(&self, token: &KeyDigest) -> StoreResult<bool>;

    // --- applications and credentials ---

    /// Creates an application.
    fn create_application(&self, new: NewApplication) -> StoreResult<Application>;
    /// One application.
    fn application(&self, id: i64) -> StoreResult<Option<Application>>;
    /// Applications, of one organisation or all.
    fn applications(&self, organisation: Option<i64>) -> StoreResult<Vec<Application>>;

    /// Records a newly issued key by its digest and visible prefix.
    fn add_key(
        &self,
        application: i64,
        environment: Environment,
        prefix: &str,
        digest: KeyDigest,
    ) -> StoreResult<Credential>;
    /// One key.
    fn key(&self, id: i64) -> StoreResult<Option<Credential>>;
    /// The keys of an application, revoked ones included, by id.
    fn keys(&self, application: i64) -> StoreResult<Vec<Credential>>;
    /// Revokes a key; `false` if it was revoked already.
    fn revoke_key(&self, id: i64) -> StoreResult<bool>;

    /// Binds a client certificate to an application.
    fn add_certificate(
        &self,
        application: i64,
        fingerprint: CertFingerprint,
        label: &str,
    ) -> StoreResult<Certificate>;
    /// One certificate.
    fn certificate(&self, id: i64) -> StoreResult<Option<Certificate>>;
    /// The certificates of an application, by id.
    fn certificates(&self, application: i64) -> StoreResult<Vec<Certificate>>;
    /// Revokes a certificate binding; `false` if it was revoked already.
    fn revoke_certificate(&self, id: i64) -> StoreResult<bool>;

    /// Replaces an application's IP allow-list (empty: any address).
    fn set_allow_list(&self, application: i64, networks: &[IpNet]) -> StoreResult<()>;
    /// An application's IP allow-list.
    fn allow_list(&self, application: i64) -> StoreResult<Vec<IpNet>>;

    // --- APIs, plans, subscriptions ---

    /// Adds an API to the library.
    fn create_api(&self, new: NewApi) -> StoreResult<Api>;
    /// One API.
    fn api(&self, id: i64) -> StoreResult<Option<Api>>;
    /// Every API, by slug.
    fn apis(&self) -> StoreResult<Vec<Api>>;
    /// Adds a version to an API.
    fn create_api_version(&self, new: NewApiVersion) -> StoreResult<ApiVersion>;
    /// One API version.
    fn api_version(&self, id: i64) -> StoreResult<Option<ApiVersion>>;
    /// The versions of an API, by id.
    fn api_versions(&self, api: i64) -> StoreResult<Vec<ApiVersion>>;
    /// Moves an API version through its lifecycle.
    fn set_lifecycle(&self, version: i64, change: LifecycleChange) -> StoreResult<ApiVersion>;

    /// Creates a plan.
    fn create_plan(&self, new: NewPlan) -> StoreResult<Plan>;
    /// One plan.
    fn plan(&self, id: i64) -> StoreResult<Option<Plan>>;
    /// Every plan, by name.
    fn plans(&self) -> StoreResult<Vec<Plan>>;

    /// Records a subscription request (status `requested`).
    fn request_subscription(&self, new: NewSubscription) -> StoreResult<Subscription>;
    /// One subscription.
    fn subscription(&self, id: i64) -> StoreResult<Option<Subscription>>;
    /// Subscriptions of one application, or all.
    fn subscriptions(&self, application: Option<i64>) -> StoreResult<Vec<Subscription>>;
    /// Decides a subscription; refused unless [`SubscriptionStatus::may_become`] allows it.
    fn decide_subscription(&self, id: i64, decision: Decision) -> StoreResult<Subscription>;

    // --- admin events ---

    /// Records an administrative change or refused attempt.
    fn record_event(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
    ) -> StoreResult<()>;
    /// The latest `limit` events, newest first.
    fn events(&self, limit: usize) -> StoreResult<Vec<AdminEvent>>;

    // --- the gateway's view ---

    /// What the gateway compiles, read in one transaction.
    fn gateway_view(&self) -> StoreResult<GatewayView>;
    /// A number that grows with every change the gateway cares about.
    fn revision(&self) -> StoreResult<u64>;
    /// Notified with the new revision after every such change made through this store.
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;
}
