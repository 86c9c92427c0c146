//! The audit record of a request on an audited route — including one whose client goes away
//! first.
//!
//! `serve` is the connection's service future, and the connection may drop it at any await: an
//! HTTP/2 client resets its stream, a connection closes, shutdown's grace period ends. By then
//! the upstream may have acted on the request, so its record must not be lost with the
//! future. [`Unrecorded`] holds the exchange until its record is in the audit queue; dropped
//! before that, it queues the record of an abandoned request from a task of its own.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use garrison_audit::AuditRecord;

use super::Exchange;
use crate::audit;
use crate::error::Side;
use crate::identity::ConnectionIdentity;
use crate::server::GatewayState;
use crate::snapshot::Snapshot;

/// An exchange whose audit record, if its route is audited, is not yet queued.
pub(crate) struct Unrecorded {
    exchange: Exchange,
    /// What recording it on drop needs; `None` once queued, or when there is no audit trail.
    context: Option<Context>,
}

struct Context {
    state: Arc<GatewayState>,
    snapshot: Arc<Snapshot>,
    conn: Arc<ConnectionIdentity>,
}

impl Unrecorded {
    pub(crate) fn new(
        exchange: Exchange,
        state: &Arc<GatewayState>,
        snapshot: &Arc<Snapshot>,
        conn: &Arc<ConnectionIdentity>,
    ) -> Self {
        let context = state.shared.audit.is_some().then(|| Context {
            state: state.clone(),
            snapshot: snapshot.clone(),
            conn: conn.clone(),
        });
        Unrecorded { exchange, context }
    }

    /// The record was handed to the audit queue (which stores whatever it accepted, or
    /// refused it, which the caller answers for): nothing is left to do on drop.
    pub(crate) fn queued(&mut self) {
        self.context = None;
    }
}

impl Deref for Unrecorded {
    type Target = Exchange;

    fn deref(&self) -> &Exchange {
        &self.exchange
    }
}

impl DerefMut for Unrecorded {
    fn deref_mut(&mut self) -> &mut Exchange {
        &mut self.exchange
    }
}

impl Drop for Unrecorded {
    fn drop(&mut self) {
        let Some(Context {
            state,
            snapshot,
            conn,
        }) = self.context.take()
        else {
            return;
        };
        let Some(index) = self.exchange.route.filter(|&i| snapshot.routes[i].audited) else {
            return;
        };
        let (Some(log), Ok(runtime)) = (
            state.shared.audit.clone(),
            tokio::runtime::Handle::try_current(),
        ) else {
            return;
        };
        let record = record_of(
            &mut self.exchange,
            &state,
            &snapshot,
            &conn,
            index,
            None,
            0,
            audit::abandoned,
        );
        runtime.spawn(async move {
            if let Err(e) = log.append(record).await {
                tracing::error!(error = %e, "the audit record of an abandoned request was not stored");
            }
        });
    }
}

/// The record of `exchange` on audited route `index`, made by `build` (taking what it records
/// out of the exchange).
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_of(
    exchange: &mut Exchange,
    state: &GatewayState,
    snapshot: &Snapshot,
    conn: &ConnectionIdentity,
    index: usize,
    refusal: Option<(&'static str, Side)>,
    status: u16,
    build: fn(audit::Outcome<'_>) -> AuditRecord,
) -> AuditRecord {
    let route = &snapshot.routes[index];
    let operation = match exchange.event {
        Some(event) => std::borrow::Cow::Owned(format!("{}.{event}", route.group_name)),
        None => std::borrow::Cow::Borrowed(&*route.name),
    };
    build(audit::Outcome {
        request_id: exchange.request_id.to_str().unwrap_or_default(),
        api: &route.group_name,
        operation: &operation,
        consumer: exchange.consumer.map(|c| &*snapshot.consumers[c].name),
        conn,
        client_ip: exchange.client_ip,
        purpose: std::mem::take(&mut exchange.purpose),
        refusal,
        status,
        disclosed: exchange.disclosed.take(),
        subjects: match &state.shared.subject_key {
            Some(key) => exchange.subjects.iter().map(|id| key.hash(id)).collect(),
            None => Vec::new(),
        },
        file: exchange.file.take(),
    })
}
