//! Garrison's admin REST API: the control plane's organisations, users, applications and
//! their credentials, APIs and their lifecycle, plans and subscriptions, with role-based
//! access for platform admins, API owners and consumer developers. Its contract is
//! `contracts/garrison-admin-api.yaml`.
//!
//! The API is served on the gateway's admin listener (never a public one) through the
//! gateway's [`AdminExtension`] hook, under `/admin/v1/`. Every change, and every refused
//! attempt at one, is recorded as an admin event in the store; every change the gateway cares
//! about reaches it through the store's change notification, with no restart.
//!
//! This crate decides who may do what; the store keeps the records, and the gateway never
//! asks this crate anything on its request path.

mod applications;
mod auth;
mod catalogue;
mod identity;
mod reply;
mod routes;
mod subscriptions;
mod usage;
pub mod web;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use garrison_gateway::{AdminContext, AdminExtension, AdminFuture};
use garrison_store::Store;
use http::{Request, Response};
use http_body_util::Full;

pub use auth::{Principal, SESSION_PREFIX, SignInThrottle};
pub use usage::{RING_MINUTES, SAMPLE_EVERY, sample_every};

/// The path prefix of every admin REST API endpoint.
pub const PREFIX: &str = "/admin/v1/";

/// Settings of the admin API.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// How long a session lasts after sign-in.
    pub session_ttl: Duration,
    /// The widest IPv4 network an application's allow-list may hold (24: no wider than a /24,
    /// as the HMRC developer hub requires).
    pub max_allow_prefix_v4: u8,
    /// The widest IPv6 network (64: one subnet).
    pub max_allow_prefix_v6: u8,
    /// Failed sign-ins per account or address before sign-in is refused for the window.
    pub sign_in_failures: u32,
    /// The window of the sign-in throttle.
    pub sign_in_window: Duration,
    /// Whether consumer developers may sign themselves up on the web portal (each into a new
    /// organisation of their own). Off by default.
    pub self_sign_up: bool,
    /// Sign-up attempts per source address (or per email address) in `sign_in_window`
    /// before sign-up is refused until the window ends.
    pub sign_ups_per_window: u32,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            session_ttl: Duration::from_secs(8 * 3600),
            max_allow_prefix_v4: 24,
            max_allow_prefix_v6: 64,
            sign_in_failures: 5,
            sign_in_window: Duration::from_secs(15 * 60),
            self_sign_up: false,
            sign_ups_per_window: 5,
        }
    }
}

/// The admin REST API over a store.
#[derive(Debug)]
pub struct Portal {
    store: Arc<dyn Store>,
    settings: PortalSettings,
    throttle: SignInThrottle,
    /// Password verifications running now (see `identity::Verifying`).
    verifying: std::sync::atomic::AtomicUsize,
    /// Counts sign-up attempts per address and per email (every attempt, not only failures).
    sign_ups: SignInThrottle,
    routes: routes::Routes,
    /// Each route group's contract (the resolved document), for the documentation pages.
    contracts: RwLock<HashMap<String, Arc<serde_json::Value>>>,
    /// The gateway's audit trail, where every admin event is recorded too (set once the
    /// gateway has started).
    audit: OnceLock<Arc<garrison_audit::AuditLog>>,
    /// Usage over time, sampled from the gateway's counters.
    usage: usage::Usage,
    /// How the try-it console reaches the gateway (none: the console is off).
    console: RwLock<Option<Arc<web::ConsoleSettings>>>,
}

impl Portal {
    /// The API over `store`.
    pub fn new(store: Arc<dyn Store>, settings: PortalSettings) -> Arc<Portal> {
        Arc::new(Portal {
            throttle: SignInThrottle::new(settings.sign_in_failures, settings.sign_in_window),
            verifying: std::sync::atomic::AtomicUsize::new(0),
            sign_ups: SignInThrottle::new(settings.sign_ups_per_window, settings.sign_in_window),
            store,
            settings,
            routes: routes::Routes::new(),
            contracts: RwLock::new(HashMap::new()),
            audit: OnceLock::new(),
            usage: usage::Usage::new(),
            console: RwLock::new(None),
        })
    }

    /// Records every later admin event in `log` as well as in the store: the hash-chained,
    /// signed trail then holds the control plane's changes beside the accesses they enabled.
    pub fn set_audit_log(&self, log: Arc<garrison_audit::AuditLog>) {
        let _ = self.audit.set(log);
    }

    /// Records an admin event in the store and, when there is one, the audit trail (API
    /// `garrison-admin`; the actor as `user:ID`, `admin` or `anonymous`, never an email).
    pub(crate) fn record_event(&self, actor: &str, operation: &str, target: &str, outcome: &str) {
        if let Err(e) = self.store.record_event(actor, operation, target, outcome) {
            tracing::error!(error = %e, operation, "the admin event was not recorded");
        }
        let Some(log) = self.audit.get().cloned() else {
            return;
        };
        let decision = if outcome == "ok" {
            garrison_audit::Decision::Allowed
        } else {
            garrison_audit::Decision::Refused {
                reason: outcome.to_owned(),
            }
        };
        let mut record = garrison_audit::AuditRecord::new(
            "control-plane",
            "garrison-admin",
            operation,
            decision,
        );
        record.consumer = Some(actor.to_owned());
        // Stored by a task of the runtime; the answer waits for it (see `answered`), so an
        // answered change is in the trail even if the process dies the moment after. A record
        // that cannot be stored is logged (the store's event table has the event).
        let stored = tokio::spawn(async move {
            if let Err(e) = log.append(record).await {
                tracing::error!(error = %e, "an admin event was not stored in the audit trail");
            }
        });
        PENDING_RECORDS.with(|pending| pending.borrow_mut().push(stored));
    }

    /// Sets the contracts the documentation pages render, by route group (the `name` of
    /// each `apis:` entry of the configuration, which API versions name as their group).
    pub fn set_contracts(&self, contracts: HashMap<String, Arc<serde_json::Value>>) {
        *self
            .contracts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = contracts;
    }

    /// The contract of route group `group`.
    pub(crate) fn contract(&self, group: &str) -> Option<Arc<serde_json::Value>> {
        self.contracts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(group)
            .cloned()
    }

    /// The store the API changes.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Answers one request (synchronously: the store is synchronous and password hashing
    /// is CPU work; [`AdminExtension::handle`] runs this on a blocking thread).
    pub(crate) fn answer(
        &self,
        request: &Request<Bytes>,
        context: &AdminContext,
    ) -> Response<Full<Bytes>> {
        routes::dispatch(self, request, context)
    }
}

std::thread_local! {
    /// The audit records of admin events the request running on this (blocking) thread made,
    /// not yet stored: a request is answered on one thread from start to end.
    static PENDING_RECORDS: std::cell::RefCell<Vec<tokio::task::JoinHandle<()>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` — a request's synchronous handling — on the blocking pool, then waits until the
/// admin events it recorded are stored in the audit trail: its answer leaves only then.
pub(crate) async fn answered<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let (value, pending) = tokio::task::spawn_blocking(move || {
        PENDING_RECORDS.with(|pending| pending.borrow_mut().clear());
        let value = work();
        (value, PENDING_RECORDS.with(|pending| pending.take()))
    })
    .await?;
    for stored in pending {
        let _ = stored.await;
    }
    Ok(value)
}

/// The admin REST API as an extension of the gateway's admin listener.
#[derive(Debug, Clone)]
pub struct PortalExtension(pub Arc<Portal>);

impl AdminExtension for PortalExtension {
    fn serves(&self, path: &str) -> bool {
        path.starts_with(PREFIX)
    }

    fn handle(&self, request: Request<Bytes>, context: AdminContext) -> AdminFuture {
        let portal = self.0.clone();
        Box::pin(async move {
            answered(move || portal.answer(&request, &context))
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "an admin API request failed");
                    reply::problem(
                        garrison_core::ProblemCode::InternalError,
                        "The request could not be processed.",
                    )
                })
        })
    }
}
