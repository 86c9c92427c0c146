//! The snapshot: everything the request path needs, compiled once from a [`Config`] and then
//! only read. A reload compiles a new one beside the old and swaps them atomically.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use garrison_config::{Config, GatewaySettings, RouteAuth};
use garrison_core::{CertFingerprint, KeyDigest};
use garrison_limits::{Cell, LocalLimiter, Quota};
use http::{HeaderValue, Method};
use ipnet::IpNet;
use rustls::ServerConfig;

use crate::check::RouteCheck;
use crate::contract::RouteContract;
use crate::entitlement::FieldFilter;
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
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot(generation {})", self.generation)
    }
}

impl Snapshot {
    /// Compiles `config`; `generation` numbers snapshots for logs and the admin API.
    pub(crate) fn compile(
        config: &Config,
        shared: &Shared,
        generation: u64,
    ) -> Result<Self, String> {
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
                consumer_stats: (0..config.consumers.len())
                    .map(|_| OnceLock::new())
                    .collect(),
            });
        }

        let mut keys = HashMap::default();
        let mut consumers = Vec::with_capacity(config.consumers.len());
        for (i, c) in config.consumers.iter().enumerate() {
            for key in &c.keys {
                keys.insert(
                    key.digest,
                    KeyEntry {
                        consumer: i,
                        revoked: key.revoked,
                    },
                );
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
        let mut live_cells = Vec::with_capacity(config.subscriptions.len());
        for (i, s) in config.subscriptions.iter().enumerate() {
            let plan = &config.plans[s.plan];
            let Some(group) = group_index(&s.group) else {
                continue;
            };
            let quota = Quota::new(plan.requests, plan.period, plan.burst).ok_or_else(|| {
                format!("plans[{}] ({}): the rate admits nothing", s.plan, plan.name)
            })?;
            let key = format!("{}\u{0}{}", config.consumers[s.consumer].name, s.group);
            let cell = shared
                .limiter
                .cell(&key)
                .map_err(|e| format!("subscriptions[{i}]: {e}"))?;
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
                policy: HeaderValue::from_str(&policy)
                    .map_err(|_| format!("plans[{}]: name is not a valid header value", s.plan))?,
                state_prefix: format!("\"{}\";r=", plan.name).into_boxed_str(),
                operations: s.operations.as_ref().map(|o| o.clone().into_boxed_slice()),
                fields: s.fields.as_deref().map(FieldFilter::new),
                purposes: s
                    .purposes
                    .as_ref()
                    .map(|p| p.iter().map(|p| Box::from(p.as_str())).collect()),
                send_to: s.send_to.iter().map(|i| Box::from(i.as_str())).collect(),
                document_types: s
                    .document_types
                    .as_ref()
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
            }),
            clock,
        })
    }

    /// The consumer a key digest belongs to, compared in constant time once found.
    pub(crate) fn key(&self, digest: &KeyDigest) -> Option<&KeyEntry> {
        self.keys
            .get_key_value(digest)
            .filter(|(stored, _)| stored.ct_eq(digest))
            .map(|(_, entry)| entry)
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
