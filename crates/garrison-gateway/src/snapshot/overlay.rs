//! The control plane's store seen in the configuration's terms: its applications become
//! consumers after the configured ones, its approved subscriptions subscriptions, and every
//! application gets sandbox access to the mocked APIs — so that both compile through the same
//! code.

use std::collections::HashSet;
use std::time::Duration;

use garrison_config::{Consumer, Key, Plan};
use garrison_core::KeyDigest;
use garrison_store::GatewayView;

/// The store's applications and approved subscriptions in the configuration's terms, so
/// that both compile through the same code. Store consumers come after configured ones.
pub(super) struct StoreOverlay {
    pub(super) consumers: Vec<Consumer>,
    pub(super) subscriptions: Vec<StoreSubscription>,
    /// Digests of sandbox keys (`grn_test_` keys issued by the store): they call sandbox
    /// (mocked) APIs only.
    pub(super) sandbox_keys: HashSet<KeyDigest>,
}

/// The plan of the sandbox access every store application has: the HMRC developer hub's
/// default of 3 requests a second.
fn sandbox_plan() -> Plan {
    Plan {
        name: "sandbox".to_owned(),
        requests: 3,
        period: Duration::from_secs(1),
        burst: 6,
    }
}

/// An approved subscription of the store, in the configuration's terms.
pub(super) struct StoreSubscription {
    /// Index in the combined consumer list.
    pub(super) consumer: usize,
    pub(super) group: String,
    pub(super) plan: Plan,
    /// The one purpose granted; `None` (sandbox access): any.
    pub(super) purposes: Option<Vec<String>>,
    pub(super) fields: Option<Vec<String>>,
}

impl StoreOverlay {
    /// `sandbox_groups`: the route groups of mocked APIs, which every store application may
    /// call (HMRC's sandbox: access at once, no approval — the answers are the contract's
    /// examples, never anyone's data).
    pub(super) fn new(
        view: Option<&GatewayView>,
        configured: usize,
        sandbox_groups: &[&str],
    ) -> Self {
        let Some(view) = view else {
            return StoreOverlay {
                consumers: Vec::new(),
                subscriptions: Vec::new(),
                sandbox_keys: Default::default(),
            };
        };
        let sandbox_keys = view
            .consumers
            .iter()
            .flat_map(|c| &c.keys)
            .filter(|k| k.sandbox)
            .map(|k| k.digest)
            .collect();
        let consumers: Vec<Consumer> = view
            .consumers
            .iter()
            .map(|c| Consumer {
                name: c.name.clone(),
                keys: c
                    .keys
                    .iter()
                    .map(|k| Key {
                        id: k.id.clone(),
                        digest: k.digest,
                        revoked: k.revoked,
                    })
                    .collect(),
                certificates: c.certificates.clone(),
                allow: c.allow.clone(),
            })
            .collect();
        let mut subscriptions: Vec<StoreSubscription> = view
            .subscriptions
            .iter()
            .filter_map(|s| {
                let index = consumers.iter().position(|c| c.name == s.consumer)?;
                Some(StoreSubscription {
                    consumer: configured + index,
                    group: s.group.clone(),
                    plan: Plan {
                        name: s.plan.name.clone(),
                        requests: s.plan.requests,
                        period: Duration::from_secs(u64::from(s.plan.period_seconds)),
                        burst: s.plan.burst,
                    },
                    purposes: Some(vec![s.purpose.clone()]),
                    fields: s.fields.clone(),
                })
            })
            .collect();
        for index in 0..consumers.len() {
            for group in sandbox_groups {
                let granted = subscriptions
                    .iter()
                    .any(|s| s.consumer == configured + index && s.group == *group);
                if !granted {
                    subscriptions.push(StoreSubscription {
                        consumer: configured + index,
                        group: (*group).to_owned(),
                        plan: sandbox_plan(),
                        purposes: None,
                        fields: None,
                    });
                }
            }
        }
        StoreOverlay {
            consumers,
            subscriptions,
            sandbox_keys,
        }
    }
}
