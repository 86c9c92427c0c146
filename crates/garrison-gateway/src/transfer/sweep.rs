//! Deleting what has had its time: expired uploads, delivered files whose retention ended,
//! acknowledged files after their grace period. Each deletion is an audit record.

use std::sync::Arc;
use std::time::Duration;

use garrison_audit::{AuditRecord, Decision};
use tokio::sync::watch;

use super::{TransferRuntime, blocking, facts, now};
use crate::server::GatewayState;

/// Sweeps every transfer service of the snapshot in force, at the shortest of their sweep
/// intervals, until the gateway shuts down.
pub(crate) async fn run(state: Arc<GatewayState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let interval = state
            .snapshot
            .load()
            .transfers
            .iter()
            .map(|t| t.sweep_interval)
            .min()
            .unwrap_or(Duration::from_secs(60));
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let snapshot = state.snapshot.load_full();
        for transfer in snapshot.transfers.iter() {
            sweep(&state, transfer).await;
        }
    }
}

async fn sweep(state: &GatewayState, transfer: &TransferRuntime) {
    let service = transfer.service.clone();
    // Each deletion is recorded before it is made: a file whose record cannot be stored stays
    // for the next sweep. The sweep runs on the blocking pool, so it waits for each record there.
    let log = state.shared.audit.clone().filter(|_| transfer.audited);
    let runtime = tokio::runtime::Handle::current();
    let name = transfer.name.clone();
    let deleted = match blocking(move || {
        service.sweep_recorded(now(), |record, why| {
            let Some(log) = &log else { return true };
            let mut entry = AuditRecord::new(
                format!("sweep-{}", record.id),
                &*name,
                format!("{name}.delete.{}", why.as_str()),
                Decision::Allowed,
            );
            entry.file = Some(Box::new(facts(record)));
            match runtime.block_on(log.append(entry)) {
                Ok(_) => true,
                Err(e) => {
                    tracing::error!(error = %e, file = %record.id, "audit record of a deletion not stored; file kept");
                    false
                }
            }
        })
    })
    .await
    {
        Ok(deleted) => deleted,
        Err(e) => {
            tracing::error!(transfer = %transfer.name, error = %e, "transfer sweep failed");
            return;
        }
    };
    for (record, why) in deleted {
        tracing::info!(transfer = %transfer.name, file = %record.id, reason = why.as_str(), "file deleted");
    }
}
