//! Starting, reloading and stopping the gateway.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use garrison_config::{Config, ConfigError};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use garrison_store::{GatewayView, Store};

use crate::admin::AdminExtension;
use crate::conn_limit::ConnectionLimiter;
use crate::snapshot::{Shared, Snapshot};
use crate::{admin, listener};

/// State shared by every connection: the current snapshot and what outlives it.
pub(crate) struct GatewayState {
    pub(crate) snapshot: ArcSwap<Snapshot>,
    pub(crate) shared: Shared,
    pub(crate) connections: Arc<ConnectionLimiter>,
    generation: AtomicU64,
    config_path: PathBuf,
    ready: std::sync::atomic::AtomicBool,
    /// Held while a snapshot compiles; guards the configuration last compiled, which a
    /// change in the store recompiles with.
    reloading: std::sync::Mutex<Arc<Config>>,
    /// The control-plane store, whose applications and subscriptions compile in beside the
    /// configuration's.
    pub(crate) store: Option<Arc<dyn Store>>,
    /// What the admin listener serves beyond its own endpoints (the admin REST API).
    pub(crate) admin_extension: Option<Arc<dyn AdminExtension>>,
}

/// What a gateway is started with besides its configuration.
#[derive(Default, Clone)]
pub struct GatewayOptions {
    /// The control-plane store: its applications (keys, certificates, allow-lists) and
    /// approved subscriptions are compiled into every snapshot, and a change in it compiles a
    /// new one (no restart, no request ever reads the store).
    pub store: Option<Arc<dyn Store>>,
    /// Endpoints the admin listener serves for another crate (the admin REST API of
    /// `garrison-portal`); never on a public listener.
    pub admin_extension: Option<Arc<dyn AdminExtension>>,
}

impl std::fmt::Debug for GatewayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayOptions")
            .field("store", &self.store)
            .field("admin_extension", &self.admin_extension.is_some())
            .finish()
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration compiled into an unusable snapshot (e.g. a key that does not match its
    /// certificate).
    #[error("{0}")]
    Compile(String),
    /// The audit store could not be opened.
    #[error("audit store: {0}")]
    Audit(String),
    /// The control-plane store could not be read.
    #[error("control-plane store: {0}")]
    Store(String),
    /// A listener could not bind its address.
    #[error("cannot listen on {address} ({name}): {source}")]
    Bind {
        /// Listener name.
        name: String,
        /// The address.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a reload was refused; the running configuration stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The file is valid but could not be compiled.
    #[error("{0}")]
    Compile(String),
    /// The change needs a restart (listener addresses).
    #[error("{0}")]
    NeedsRestart(String),
    /// The control-plane store could not be read.
    #[error("control-plane store: {0}")]
    Store(String),
}

impl ReloadError {
    /// Each problem as one line.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ReloadError::Config(e) => e.problems.iter().map(|p| p.to_string()).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// A running gateway: its bound addresses, and the handles to reload and stop it.
pub struct Gateway {
    state: Arc<GatewayState>,
    listen_addrs: Vec<SocketAddr>,
    admin_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    graceful: Arc<GracefulShutdown>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.listen_addrs)
            .field("admin", &self.admin_addr)
            .finish()
    }
}

impl Gateway {
    /// Compiles `config`, binds every listener and the admin listener, and starts serving.
    pub async fn start(config: Config) -> Result<Gateway, StartError> {
        Self::start_with(config, GatewayOptions::default()).await
    }

    /// [`Gateway::start`] with a control-plane store and admin endpoints.
    pub async fn start_with(
        config: Config,
        options: GatewayOptions,
    ) -> Result<Gateway, StartError> {
        let audit = match &config.audit {
            None => None,
            Some(settings) => Some(Arc::new(open_audit(settings).await?)),
        };
        let subject_key = match config.audit.as_ref().and_then(|a| a.subject_keys.as_ref()) {
            None => None,
            Some(path) => Some(Arc::new(subject_key(path)?)),
        };
        let mut shared = Shared::new(audit);
        shared.subject_key = subject_key;
        let view = match &options.store {
            None => None,
            Some(store) => Some(read_view(store.clone()).await.map_err(StartError::Store)?),
        };
        let snapshot =
            Snapshot::compile(&config, view.as_ref(), &shared, 1).map_err(StartError::Compile)?;
        shared.metrics.set_gauges(snapshot.gauges(&shared));
        let config = Arc::new(config);
        let state = Arc::new(GatewayState {
            snapshot: ArcSwap::from_pointee(snapshot),
            shared,
            connections: ConnectionLimiter::new(),
            generation: AtomicU64::new(1),
            config_path: config.source.clone(),
            ready: std::sync::atomic::AtomicBool::new(false),
            reloading: std::sync::Mutex::new(config.clone()),
            store: options.store.clone(),
            admin_extension: options.admin_extension,
        });
        let (shutdown, _) = watch::channel(false);
        let graceful = Arc::new(GracefulShutdown::new());
        let mut tasks = JoinSet::new();
        let mut listen_addrs = Vec::new();
        for (index, l) in config.listeners.iter().enumerate() {
            let bound = TcpListener::bind(l.address)
                .await
                .map_err(|source| StartError::Bind {
                    name: l.name.clone(),
                    address: l.address,
                    source,
                })?;
            listen_addrs.push(bound.local_addr().unwrap_or(l.address));
            tasks.spawn(listener::accept_loop(
                state.clone(),
                bound,
                index,
                shutdown.subscribe(),
                graceful.clone(),
            ));
        }
        let admin_listener = TcpListener::bind(config.admin.listen)
            .await
            .map_err(|source| StartError::Bind {
                name: "admin".into(),
                address: config.admin.listen,
                source,
            })?;
        let admin_addr = admin_listener.local_addr().unwrap_or(config.admin.listen);
        tasks.spawn(admin::serve(
            state.clone(),
            admin_listener,
            shutdown.subscribe(),
        ));
        if let Some(store) = options.store {
            tasks.spawn(follow_store(
                state.clone(),
                store.changes(),
                shutdown.subscribe(),
            ));
        }
        if !config.transfers.is_empty() {
            tasks.spawn(crate::transfer::sweep::run(
                state.clone(),
                shutdown.subscribe(),
            ));
        }
        tasks.spawn(crate::timer_anchor::run(shutdown.subscribe()));
        state.ready.store(true, Ordering::Release);
        tracing::info!(
            listeners = ?listen_addrs,
            admin = %admin_addr,
            routes = config.routes.len(),
            consumers = config.consumers.len(),
            "gateway started"
        );
        Ok(Gateway {
            state,
            listen_addrs,
            admin_addr,
            shutdown,
            tasks,
            graceful,
        })
    }

    /// The bound gateway addresses, in listener order (useful with port 0).
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listen_addrs
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The audit trail this gateway records to, if its configuration keeps one (for the
    /// control plane, whose changes belong in the same trail).
    pub fn audit_log(&self) -> Option<Arc<garrison_audit::AuditLog>> {
        self.state.shared.audit.clone()
    }

    /// A read-only view of the request counters (the usage charts' sampler reads it).
    pub fn metrics_reader(&self) -> crate::MetricsReader {
        crate::MetricsReader(self.state.shared.metrics.clone())
    }

    /// The generation of the snapshot in force.
    pub fn generation(&self) -> u64 {
        self.state.snapshot.load().generation
    }

    /// Re-reads the configuration file and swaps it in if valid.
    pub fn reload(&self) -> Result<u64, ReloadError> {
        self.state.reload()
    }

    /// A handle that can trigger reloads from elsewhere (file watcher, signal handler).
    pub fn reloader(&self) -> Reloader {
        Reloader {
            state: self.state.clone(),
        }
    }

    /// Stops accepting, lets in-flight requests finish (up to `grace`), then returns.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        let graceful = Arc::try_unwrap(self.graceful).ok();
        if let Some(graceful) = graceful
            && tokio::time::timeout(grace, graceful.shutdown())
                .await
                .is_err()
        {
            tracing::warn!("connections still open after the grace period; closing them");
        }
        if let Some(audit) = &self.state.shared.audit
            && let Err(e) = audit.close().await
        {
            tracing::error!(error = %e, "closing the audit store failed");
        }
        tracing::info!("gateway stopped");
    }
}

/// Reads the store's view on a blocking thread (SQLite I/O stays off the event loop).
async fn read_view(store: Arc<dyn Store>) -> Result<GatewayView, String> {
    tokio::task::spawn_blocking(move || store.gateway_view())
        .await
        .map_err(|e| format!("the store task failed: {e}"))?
        .map_err(|e| e.to_string())
}

/// How often the store's revision is compared with the snapshot's even without a
/// notification: changes written by another process (another gateway sharing the store, a
/// repair by hand) notify nobody here.
const STORE_POLL: Duration = Duration::from_secs(2);

/// Recompiles the snapshot whenever the store changes, until shutdown. Notifications that
/// arrive while a compile runs collapse into one more compile.
async fn follow_store(
    state: Arc<GatewayState>,
    mut changes: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut poll = tokio::time::interval(STORE_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = poll.tick() => {}
            _ = shutdown.changed() => return,
        }
        let state = state.clone();
        let result = tokio::task::spawn_blocking(move || state.refresh_from_store()).await;
        if let Ok(Err(e)) = result {
            tracing::error!(error = %e, "the store's change was not compiled; the running snapshot stays in force");
        }
    }
}

/// Opens the audit store the configuration names.
async fn open_audit(
    settings: &garrison_config::AuditSettings,
) -> Result<garrison_audit::AuditLog, StartError> {
    let options = garrison_audit::AuditLogOptions {
        queue_policy: if settings.shed_when_full {
            garrison_audit::QueuePolicy::Shed
        } else {
            garrison_audit::QueuePolicy::Block
        },
        durability: match settings.write_then_sync {
            None => garrison_audit::Durability::Fsync,
            Some(sync_interval) => garrison_audit::Durability::Write { sync_interval },
        },
        group_commit: settings.group_commit,
        signing_key_file: settings.signing_key.clone(),
        ..Default::default()
    };
    garrison_audit::AuditLog::open(&settings.dir, options)
        .await
        .map_err(|e| StartError::Audit(format!("{}: {e}", settings.dir.display())))
}

/// The key data subjects are hashed under: the first of the subject-keys file (the current
/// one; the others are retired keys kept for searching).
fn subject_key(path: &std::path::Path) -> Result<garrison_audit::SubjectKey, StartError> {
    let file =
        garrison_audit::read_subject_keys(path).map_err(|e| StartError::Audit(e.to_string()))?;
    if let Some(warning) = &file.permissions_warning {
        tracing::warn!("{warning}");
    }
    file.keys
        .into_iter()
        .next()
        .ok_or_else(|| StartError::Audit(format!("{}: no subject key", path.display())))
}

/// Triggers reloads of a running gateway.
#[derive(Clone)]
pub struct Reloader {
    state: Arc<GatewayState>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reloader")
    }
}

impl Reloader {
    /// Re-reads the configuration file and swaps it in if valid.
    pub fn reload(&self) -> Result<u64, ReloadError> {
        self.state.reload()
    }

    /// The same, with the file read and the snapshot compiled on a blocking thread, so that a
    /// single-threaded gateway keeps serving while a large configuration compiles.
    pub async fn reload_off_thread(&self) -> Result<u64, ReloadError> {
        self.state.clone().reload_off_thread().await
    }

    /// The configuration file being served.
    pub fn config_path(&self) -> &std::path::Path {
        &self.state.config_path
    }
}

impl GatewayState {
    /// Loads, validates and compiles the configuration file off the request path, then swaps
    /// the new snapshot in with one atomic store. Requests already running keep the snapshot
    /// they started with; a refused file changes nothing.
    pub(crate) fn reload(&self) -> Result<u64, ReloadError> {
        let result = self.try_reload();
        let metrics = &self.shared.metrics;
        match &result {
            Ok(generation) => {
                metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(generation, "configuration reloaded");
            }
            Err(e) => {
                metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                for line in e.lines() {
                    tracing::error!(problem = %line, "configuration reload refused; the running configuration stays in force");
                }
            }
        }
        result
    }

    /// Compiles the configuration in force with the store's current view, if the store has
    /// changed since the snapshot was compiled; returns the generation in force.
    pub(crate) fn refresh_from_store(&self) -> Result<u64, ReloadError> {
        let Some(store) = &self.store else {
            return Ok(self.snapshot.load().generation);
        };
        let config = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.snapshot.load();
        let revision = store
            .revision()
            .map_err(|e| ReloadError::Store(e.to_string()))?;
        if current.store_revision == Some(revision) {
            return Ok(current.generation);
        }
        let view = store
            .gateway_view()
            .map_err(|e| ReloadError::Store(e.to_string()))?;
        let generation = self.generation.load(Ordering::Acquire) + 1;
        let snapshot = Snapshot::compile(&config, Some(&view), &self.shared, generation)
            .map_err(ReloadError::Compile)?;
        // The lock is held until the swap so that a file reload cannot interleave.
        self.swap(snapshot, generation);
        drop(config);
        tracing::info!(
            generation,
            revision = view.revision,
            "control-plane change compiled"
        );
        Ok(generation)
    }

    fn swap(&self, snapshot: Snapshot, generation: u64) {
        self.generation.store(generation, Ordering::Release);
        self.shared
            .metrics
            .set_gauges(snapshot.gauges(&self.shared));
        self.snapshot.store(Arc::new(snapshot));
    }

    fn try_reload(&self) -> Result<u64, ReloadError> {
        let config = garrison_config::load(&self.config_path)?;
        let current = self.snapshot.load();
        let before: Vec<_> = current
            .listeners
            .iter()
            .map(|l| (l.name.as_str(), l.address))
            .collect();
        let after: Vec<_> = config
            .listeners
            .iter()
            .map(|l| (l.name.as_str(), l.address))
            .collect();
        if before != after {
            return Err(ReloadError::NeedsRestart(format!(
                "{}: listeners: adding, removing or moving a listener needs a restart",
                self.config_path.display()
            )));
        }
        if config.audit != current.config.audit {
            return Err(ReloadError::NeedsRestart(format!(
                "{}: audit: changing the audit store needs a restart",
                self.config_path.display()
            )));
        }
        if config.control_plane != current.config.control_plane {
            return Err(ReloadError::NeedsRestart(format!(
                "{}: control_plane: changing the control-plane store or its settings needs a restart",
                self.config_path.display()
            )));
        }
        // A transfer service's store and keys are opened once (see `transfer::OpenStores`): a
        // reload moving a service to another store would leave the old one unswept, and a new
        // key ring would not be used.
        for t in &config.transfers {
            if let Some(old) = (current.config.transfer_stores.iter()).find(|o| o.name == t.name)
                && (old.store != t.store
                    || old.master_keys_file != t.master_keys_file
                    || old.current_key != t.master_keys.current_id())
            {
                return Err(ReloadError::NeedsRestart(format!(
                    "{}: transfers: changing the store or master keys of transfer service {:?} needs a restart",
                    self.config_path.display(),
                    t.name
                )));
            }
        }
        if config.admin.listen != current.config.admin {
            return Err(ReloadError::NeedsRestart(format!(
                "{}: admin.listen: moving the admin listener needs a restart",
                self.config_path.display()
            )));
        }
        // Reloads are serialised so generations are consecutive and a refused one uses none.
        let mut in_force = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let view = self
            .store
            .as_ref()
            .map(|store| store.gateway_view())
            .transpose()
            .map_err(|e| ReloadError::Store(e.to_string()))?;
        let generation = self.generation.load(Ordering::Acquire) + 1;
        let snapshot = Snapshot::compile(&config, view.as_ref(), &self.shared, generation)
            .map_err(ReloadError::Compile)?;
        self.swap(snapshot, generation);
        *in_force = Arc::new(config);
        Ok(generation)
    }

    /// [`GatewayState::reload`] on a blocking thread.
    pub(crate) async fn reload_off_thread(self: Arc<Self>) -> Result<u64, ReloadError> {
        tokio::task::spawn_blocking(move || self.reload())
            .await
            .unwrap_or_else(|e| Err(ReloadError::Compile(format!("the reload task failed: {e}"))))
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
