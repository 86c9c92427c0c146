//! The snapshot: everything the request path needs, compiled once from a [`Config`] and then
//! only read. A reload compiles a new one beside the old and swaps them atomically.

mod overlay;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use garrison_config::{Config, Consumer, GatewaySettings, Plan, RouteAuth};
use garrison_core::{CertFingerprint, KeyDigest};
use garrison_limits::{Cell, LocalLimiter, Quota};
use garrison_store::GatewayView;
use http::{HeaderValue, Method};
use ipnet::IpNet;
use rustls::ServerConfig;

use self::overlay::StoreOverlay;
use crate::check::RouteCheck;
use crate::contract::RouteContract;
use crate::entitlement::FieldFilter;
use crate::lifecycle::GroupLifecycle;
use crate::metrics::{Gauge, Metrics, RouteStats, StatusCounters};
use crate::router::Router;
use crate::tls;
use crate::upstream::{PoolCache, UpstreamPool};
use garrison_contract::mock::{MockOperation, mock_operation};

/// State that outlives snapshots: rate-limit cells, metrics, warm upstream pools and the audit
/// trail.
pub(crate) struct Shared {
    pub(crate) limiter: Arc<LocalLimiter>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) pools: PoolCache,
    /// The audit trail, when the configuration has one (opened once; changing it needs a
    /// restart).
    pub(crate) audit: Option<Arc<garrison_audit::AuditLog>>,
    /// The key data subjects are hashed under in audit records.
    pub(crate) subject_key: Option<Arc<garrison_audit::SubjectKey>>,
    /// The transfer services' stores, opened once.
    pub(crate) stores: crate::transfer::OpenStores,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("audit", &self.audit.is_some())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(audit: Option<Arc<garrison_audit::AuditLog>>) -> Self {
        Shared {
            limiter: Arc::new(LocalLimiter::new(1_000_000)),
            metrics: Arc::new(Metrics::default()),
            pools: PoolCache::default(),
            audit,
            subject_key: None,
            stores: crate::transfer::OpenStores::default(),
        }
    }
}

/// One listener as the accept loop needs it.
pub(crate) struct ListenerRuntime {
    pub(crate) name: String,
    pub(crate) address: SocketAddr,
    pub(crate) tls: Option<Arc<ServerConfig>>,
}

/// A route ready to serve.
pub(crate) struct RouteRuntime {
    pub(crate) name: Arc<str>,
    pub(crate) group: usize,
    /// Where requests go; `None` for an operation of a mocked API.
    pub(crate) pool: Option<Arc<UpstreamPool>>,
    pub(crate) timeout: Duration,
    pub(crate) max_body: u64,
    pub(crate) auth: RouteAuth,
    /// An operation of a mocked API (a sandbox): the only kind a sandbox key may call.
    pub(crate) sandbox: bool,
    /// The route group, which the audit trail records as the API.
    pub(crate) group_name: Arc<str>,
    /// Whether requests are recorded in the audit trail.
    pub(crate) audited: bool,
    /// The contract operation, for a route derived from an API.
    pub(crate) contract: Option<RouteContract>,
    /// For a check's operation: how it is answered.
    pub(crate) check: Option<RouteCheck>,
    /// For a route derived from an API: its method and full path template, so that a check
    /// can call it.
    pub(crate) call: Option<(Method, Box<str>)>,
    /// For a route of a transfer service: which (an index into [`Snapshot::transfers`]) and
    /// what it does.
    pub(crate) transfer: Option<(usize, garrison_config::TransferOperation)>,
    pub(crate) stats: Arc<RouteStats>,
    /// Per-consumer counters, indexed like [`Snapshot::consumers`], filled on first use.
    consumer_stats: Vec<OnceLock<Arc<StatusCounters>>>,
}

impl RouteRuntime {
    pub(crate) fn consumer_stats(&self, consumer: usize, name: &str) -> &StatusCounters {
        self.consumer_stats[consumer].get_or_init(|| self.stats.for_consumer(name))
    }
}

/// A consumer ready to be checked.
pub(crate) struct ConsumerRuntime {
    pub(crate) name: Arc<str>,
    pub(crate) header: HeaderValue,
    pub(crate) allow: Vec<IpNet>,
    pub(crate) certificates: Vec<CertFingerprint>,
}

/// Where a key digest leads.
pub(crate) struct KeyEntry {
    pub(crate) consumer: usize,
    pub(crate) revoked: bool,
    /// A sandbox key of the store: it calls sandbox (mocked) routes only.
    pub(crate) sandbox_only: bool,
}

/// A subscription's limit, with its cell already resolved.
pub(crate) struct SubscriptionRuntime {
    pub(crate) quota: Quota,
    pub(crate) cell: Arc<Cell>,
    /// `"plan";q=…;w=…` — the `RateLimit-Policy` value, computed once.
    pub(crate) policy: HeaderValue,
    /// `"plan";r=` — the start of every `RateLimit` value, computed once.
    pub(crate) state_prefix: Box<str>,
    /// The routes of the group it may call (sorted indices); `None`: all of them.
    pub(crate) operations: Option<Box<[usize]>>,
    /// The response fields it may receive; `None`: the whole response.
    pub(crate) fields: Option<FieldFilter>,
    /// The purposes (`context` values) it may state; `None`: any.
    pub(crate) purposes: Option<Box<[Box<str>]>>,
    /// For a transfer service: the inboxes it may send to.
    pub(crate) send_to: Box<[Box<str>]>,
    /// For a transfer service: the document types it may send; `None`: any the service takes.
    pub(crate) document_types: Option<Box<[Box<str>]>>,
}

/// Key digests are uniformly random already; hashing them again is wasted work. The table is
/// built from configuration, never from caller input, so there is nothing to flood.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
}

/// Everything the request path reads.
pub struct Snapshot {
    pub(crate) generation: u64,
    pub(crate) settings: GatewaySettings,
    pub(crate) listeners: Vec<ListenerRuntime>,
    pub(crate) router: Router,
    pub(crate) routes: Vec<RouteRuntime>,
    pub(crate) consumers: Vec<ConsumerRuntime>,
    /// The transfer services.
    pub(crate) transfers: Vec<crate::transfer::TransferRuntime>,
    keys: HashMap<KeyDigest, KeyEntry, BuildHasherDefault<DigestHasher>>,
    subscriptions: Vec<Option<SubscriptionRuntime>>,
    groups: usize,
    pub(crate) admin_token: Option<KeyDigest>,
    pub(crate) config: Arc<ConfigSummary>,
    pub(crate) clock: garrison_limits::Clock,
    /// The control-plane store revision compiled in; `None` without a store.
    pub(crate) store_revision: Option<u64>,
    /// Deprecated or retired route groups, by group index.
    lifecycle: Vec<Option<GroupLifecycle>>,
}

/// One subscription to compile, from the configuration or from the store.
struct SubscriptionSpec<'a> {
    /// Where it came from, for error messages.
    origin: String,
    consumer: usize,
    group: &'a str,
    plan: &'a Plan,
    operations: Option<&'a [usize]>,
    fields: Option<&'a [String]>,
    purposes: Option<&'a [String]>,
    /// For a transfer service: the inboxes the consumer may send to.
    send_to: &'a [String],
    /// For a transfer service: the document types it may send (`None`: every type).
    document_types: Option<&'a [String]>,
}

/// What a snapshot remembers of its configuration, for the admin endpoints.
#[derive(Debug)]
pub struct ConfigSummary {
    /// The file it came from.
    pub source: std::path::PathBuf,
    /// The admin listener address.
    pub admin: SocketAddr,
    /// The audit store settings.
    pub audit: Option<garrison_config::AuditSettings>,
    /// The control-plane settings (the store is opened once, at start).
    pub control_plane: Option<garrison_config::ControlPlaneSettings>,
    /// Each transfer service's name, store and master-key file and current key id (opened
    /// once: changing them needs a restart).
    pub transfer_stores: Vec<TransferStoreSummary>,
}

/// What a reload may not change of a transfer service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferStoreSummary {
    /// The service's name.
    pub name: String,
    /// Its store's directory.
    pub store: std::path::PathBuf,
    /// Its key-ring file.
    pub master_keys_file: std::path::PathBuf,
    /// The id of its current master key.
    pub current_key: String,
}

impl TransferStoreSummary {
    fn of(config: &Config) -> Vec<Self> {
        config
            .transfers
            .iter()
            .map(|t| TransferStoreSummary {
                name: t.name.clone(),
                store: t.store.clone(),
                master_keys_file: t.master_keys_file.clone(),
                current_key: t.master_keys.current_id().to_owned(),
            })
            .collect()
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot(generation {})", self.generation)
    }
}

impl Snapshot {
    /// Compiles `config` and, when there is a control-plane store, its view; `generation`
    /// numbers snapshots for logs and the admin API.
    pub(crate) fn compile(
        config: &Config,
        store: Option<&GatewayView>,
        shared: &Shared,
        generation: u64,
    ) -> Result<Self, String> {
        let sandbox_groups: Vec<&str> = config
            .apis
            .iter()
            .filter(|api| api.mock)
            .map(|api| api.name.as_str())
            .collect();
        let overlay = StoreOverlay::new(store, config.consumers.len(), &sandbox_groups);
        let all_consumers: Vec<&Consumer> = config
            .consumers
            .iter()
            .chain(overlay.consumers.iter())
            .collect();
        let listeners = config
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let tls = l
                    .tls
                    .as_ref()
                    .map(tls::server_config)
                    .transpose()
                    .map_err(|e| format!("listeners[{i}] ({}): {e}", l.name))?;
                Ok(ListenerRuntime {
                    name: l.name.clone(),
                    address: l.address,
                    tls,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let clock = shared.limiter.clock();
        let pools: Vec<Arc<UpstreamPool>> = config
            .upstreams
            .iter()
            .map(|u| shared.pools.get(u, clock))
            .collect();

        let mut groups: Vec<&str> = config.routes.iter().map(|r| r.group.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        let group_index = |name: &str| groups.binary_search(&name).ok();

        // Mocked operations are prepared once per snapshot, like the validators.
        let mut mocks: Vec<Vec<Option<MockOperation>>> = config
            .apis
            .iter()
            .map(|api| {
                let operations = garrison_contract::operations(&api.contract);
                operations
                    .iter()
                    .map(|op| api.mock.then(|| mock_operation(&api.contract, op)))
                    .collect()
            })
            .collect();

        let mut router = Router::default();
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, r) in config.routes.iter().enumerate() {
            let contract = r.operation.map(|op| {
                let api = &config.apis[op.api];
                RouteContract::new(
                    api.compiled.clone(),
                    op.index,
                    api.validate_requests,
                    api.responses,
                    mocks[op.api].get_mut(op.index).and_then(Option::take),
                )
            });
            router
                .insert(r.host.as_deref(), &r.methods, &r.path, i)
                .map_err(|e| format!("routes[{i}] ({}): {e}", r.name))?;
            let pool = r.upstream.map(|u| pools[u].clone());
            routes.push(RouteRuntime {
                name: Arc::from(r.name.as_str()),
                group: group_index(&r.group).unwrap_or(0),
                timeout: r
                    .timeout
                    .or(pool.as_ref().map(|p| p.config.request_timeout))
                    .unwrap_or(Duration::from_secs(30)),
                pool,
                max_body: r.max_body_bytes,
                auth: r.auth,
                sandbox: r.operation.is_some_and(|op| config.apis[op.api].mock),
                group_name: Arc::from(r.group.as_str()),
                audited: r.audit,
                contract,
                check: r
                    .operation
                    .and_then(|op| config.apis[op.api].check.as_ref())
                    .map(|c| RouteCheck::new(c.compiled.clone(), c.targets.clone())),
                call: match (r.operation, r.methods.as_slice()) {
                    (Some(_), [method]) => Method::from_bytes(method.as_bytes())
                        .ok()
                        .map(|m| (m, r.path.as_str().into())),
                    _ => None,
                },
                transfer: r.transfer.map(|t| (t.transfer, t.operation)),
                stats: shared.metrics.route(&r.name),
                consumer_stats: (0..all_consumers.len()).map(|_| OnceLock::new()).collect(),
            });
        }

        let mut keys = HashMap::default();
        let mut consumers = Vec::with_capacity(all_consumers.len());
        for (i, c) in all_consumers.iter().enumerate() {
            if all_consumers[..i].iter().any(|other| other.name == c.name) {
                return Err(format!("consumer {}: the name is used twice", c.name));
            }
            for key in &c.keys {
                // A digest known twice would make one consumer's key open another's door.
                if keys
                    .insert(
                        key.digest,
                        KeyEntry {
                            consumer: i,
                            revoked: key.revoked,
                            sandbox_only: overlay.sandbox_keys.contains(&key.digest),
                        },
                    )
                    .is_some()
                {
                    return Err(format!(
                        "consumer {}: key {} is also another key's digest",
                        c.name, key.id
                    ));
                }
            }
            consumers.push(ConsumerRuntime {
                name: Arc::from(c.name.as_str()),
                header: HeaderValue::from_str(&c.name)
                    .map_err(|_| format!("consumers[{i}]: name is not a valid header value"))?,
                allow: c.allow.clone(),
                certificates: c.certificates.clone(),
            });
        }

        let mut subscriptions: Vec<Option<SubscriptionRuntime>> =
            (0..consumers.len() * groups.len()).map(|_| None).collect();
        let specs = config
            .subscriptions
            .iter()
            .enumerate()
            .map(|(i, s)| SubscriptionSpec {
                origin: format!("subscriptions[{i}]"),
                consumer: s.consumer,
                group: &s.group,
                plan: &config.plans[s.plan],
                operations: s.operations.as_deref(),
                fields: s.fields.as_deref(),
                purposes: s.purposes.as_deref(),
                send_to: &s.send_to,
                document_types: s.document_types.as_deref(),
            })
            .chain(overlay.subscriptions.iter().map(|s| SubscriptionSpec {
                origin: format!("store subscription of {}", all_consumers[s.consumer].name),
                consumer: s.consumer,
                group: &s.group,
                plan: &s.plan,
                operations: None,
                fields: s.fields.as_deref(),
                purposes: s.purposes.as_deref(),
                // The control plane grants no file transfer (yet): the configuration does.
                send_to: &[],
                document_types: None,
            }));
        let mut live_cells = Vec::with_capacity(config.subscriptions.len());
        for s in specs {
            let plan = s.plan;
            let origin = &s.origin;
            let Some(group) = group_index(s.group) else {
                continue;
            };
            let quota = Quota::new(plan.requests, plan.period, plan.burst)
                .ok_or_else(|| format!("{origin}: plan {}: the rate admits nothing", plan.name))?;
            let key = format!("{}\u{0}{}", all_consumers[s.consumer].name, s.group);
            let cell = shared
                .limiter
                .cell(&key)
                .map_err(|e| format!("{origin}: {e}"))?;
            live_cells.push(key);
            let policy = format!(
                "\"{}\";q={};w={}",
                plan.name,
                quota.burst(),
                quota.window().as_secs().max(1)
            );
            subscriptions[s.consumer * groups.len() + group] = Some(SubscriptionRuntime {
                quota,
                cell,
                policy: HeaderValue::from_str(&policy).map_err(|_| {
                    format!(
                        "{origin}: plan {}: name is not a valid header value",
                        plan.name
                    )
                })?,
                state_prefix: format!("\"{}\";r=", plan.name).into_boxed_str(),
                operations: s.operations.map(Box::from),
                fields: s.fields.map(FieldFilter::new),
                purposes: s
                    .purposes
                    .as_ref()
                    .map(|p| p.iter().map(|p| Box::from(p.as_str())).collect()),
                send_to: s.send_to.iter().map(|i| Box::from(i.as_str())).collect(),
                document_types: s
                    .document_types
                    .map(|d| d.iter().map(|d| Box::from(d.as_str())).collect()),
            });
        }
        // Cells of subscriptions that no longer exist are dropped, so the limiter's memory
        // tracks the configuration.
        live_cells.sort_unstable();
        shared
            .limiter
            .retain(|k| live_cells.binary_search_by(|c| c.as_str().cmp(k)).is_ok());
        let names: Vec<&str> = config.upstreams.iter().map(|u| u.name.as_str()).collect();
        shared.pools.retain(&names);
        let mut lifecycle: Vec<Option<GroupLifecycle>> = (0..groups.len()).map(|_| None).collect();
        for view in store.iter().flat_map(|v| &v.lifecycle) {
            if let Some(group) = group_index(&view.group) {
                lifecycle[group] = GroupLifecycle::compile(view);
            }
        }

        let transfers = config
            .transfers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let service = shared
                    .stores
                    .get(t)
                    .map_err(|e| format!("transfers[{i}] ({}): {e}", t.name))?;
                Ok(crate::transfer::TransferRuntime::new(t, service))
            })
            .collect::<Result<Vec<_>, String>>()?;

        Ok(Snapshot {
            generation,
            transfers,
            settings: config.gateway.clone(),
            listeners,
            router,
            routes,
            consumers,
            keys,
            subscriptions,
            groups: groups.len(),
            admin_token: config.admin.token,
            config: Arc::new(ConfigSummary {
                source: config.source.clone(),
                admin: config.admin.listen,
                audit: config.audit.clone(),
                control_plane: config.control_plane.clone(),
                transfer_stores: TransferStoreSummary::of(config),
            }),
            clock,
            store_revision: store.map(|v| v.revision),
            lifecycle,
        })
    }

    /// The consumer a key digest belongs to, compared in constant time once found.
    pub(crate) fn key(&self, digest: &KeyDigest) -> Option<&KeyEntry> {
        self.keys
            .get_key_value(digest)
            .filter(|(stored, _)| stored.ct_eq(digest))
            .map(|(_, entry)| entry)
    }

    /// What the gateway announces about route group `group`'s lifecycle, if anything.
    pub(crate) fn lifecycle(&self, group: usize) -> Option<&GroupLifecycle> {
        self.lifecycle.get(group).and_then(Option::as_ref)
    }

    /// The subscription of `consumer` to route group `group`.
    pub(crate) fn subscription(
        &self,
        consumer: usize,
        group: usize,
    ) -> Option<&SubscriptionRuntime> {
        self.subscriptions
            .get(consumer * self.groups + group)
            .and_then(Option::as_ref)
    }

    /// The gauges this snapshot exposes (upstream target health, limiter size).
    pub(crate) fn gauges(&self, shared: &Shared) -> Vec<(String, Gauge)> {
        let mut gauges: Vec<(String, Gauge)> = Vec::new();
        let clock = shared.limiter.clock();
        let mut seen = std::collections::HashSet::new();
        for route in &self.routes {
            let Some(pool) = route.pool.clone() else {
                continue;
            };
            if !seen.insert(Arc::as_ptr(&pool)) {
                continue;
            }
            for (i, target) in pool.targets.iter().enumerate() {
                let pool = pool.clone();
                gauges.push((
                    format!(
                        "garrison_upstream_target_up{{upstream=\"{}\",target=\"{}\"}}",
                        pool.config.name, target.authority
                    ),
                    Box::new(move || {
                        if pool.targets[i].breaker.is_open(clock.now()) {
                            0.0
                        } else {
                            1.0
                        }
                    }),
                ));
            }
        }
        if let Some(audit) = shared.audit.clone() {
            let depth = audit.clone();
            gauges.push((
                "garrison_audit_shed_total".to_owned(),
                Box::new(move || audit.shed_count() as f64),
            ));
            gauges.push((
                "garrison_audit_queue_depth".to_owned(),
                Box::new(move || depth.queue_depth() as f64),
            ));
        }
        let limiter = shared.limiter.clone();
        gauges.push((
            "garrison_ratelimit_cells".to_owned(),
            Box::new(move || limiter.len() as f64),
        ));
        gauges.push((
            "garrison_config_generation".to_owned(),
            Box::new({
                let generation = self.generation as f64;
                move || generation
            }),
        ));
        gauges
    }
}
