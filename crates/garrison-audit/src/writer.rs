//! The audit log handle: a bounded queue feeding one batching writer task.
//!
//! The request path pays for a channel send; the writer gathers whatever has queued into one
//! batch, writes it with one `write` (and, by default, one `sync_data`), and only then answers
//! each record's acknowledgement. Records arriving during an fsync form the next batch (group
//! commit), so batching adds no latency and the batch grows with the load by itself.
//!
//! The writer is a task on the gateway's runtime, not a thread of its own: a record then
//! reaches it, and its acknowledgement comes back, as a wake-up of a task on the same
//! scheduler — no futex, no context switch, no second thread on a core the gateway needs. (As
//! a thread, moving each batch there and back cost more CPU than serialising and hashing it.)
//! What may wait on the disk leaves the runtime: under `fsync` each batch is written and synced
//! on the blocking pool; under `write` a batch is written in place (a `write` to the page cache
//! takes microseconds) and only the periodic `sync_data` and the rare segment roll go to the
//! blocking pool.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use tokio::sync::{mpsc, oneshot};

use crate::chain::{Acknowledged, ChainLimits, ChainWriter};
use crate::keys::{self, SIGNING_KEY_FILE};
use crate::stats::{Counters, WriterStats};
use crate::{AuditError, AuditRecord};

/// What `append` does when the queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueuePolicy {
    /// Wait for room: the request waits, so nothing is served unaudited (fail closed). The
    /// default, as personal data must not be disclosed without a record.
    #[default]
    Block,
    /// Refuse at once with [`AuditError::QueueFull`] and count the record in
    /// [`AuditLog::shed_count`] (export it as an alarm metric).
    Shed,
}

/// When a record counts as stored, and so when `append` returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// After its batch is written and `sync_data`'d: an acknowledged record survives a crash of
    /// the process, of the operating system and a power cut. The default.
    #[default]
    Fsync,
    /// After its batch is written to the file (the kernel holds it): an acknowledged record
    /// survives a crash or `kill -9` of the process, but an operating-system crash or power cut
    /// may lose what was written since the last `sync_data`, which happens at most
    /// `sync_interval` after a write. The fsync then no longer sits on every request's way.
    Write {
        /// Longest time written records wait for their `sync_data`.
        sync_interval: Duration,
    },
}

/// How the log is tuned.
#[derive(Clone, Debug)]
// Not non_exhaustive: callers build it as `{ field, ..Default::default() }`, which keeps
// compiling when fields are added.
pub struct AuditLogOptions {
    /// Records that may wait for the writer (besides the batch being written).
    pub queue_capacity: usize,
    /// What to do when the queue is full.
    pub queue_policy: QueuePolicy,
    /// Most records in one write + fsync.
    pub max_batch: usize,
    /// When a record is acknowledged: after fsync (default) or after the write.
    pub durability: Durability,
    /// Shortest time from the start of one batch to the start of the next (group commit):
    /// records arriving within this of the last batch wait for its end, to share a batch — and
    /// so its `write` and `sync_data` — with the records behind them. A record reaching a log
    /// whose last batch is older is written at once; so is a backlog of `max_batch` records or
    /// more, so the wait never caps the rate. It falls on every record once records come more
    /// often than this (one every 30 ms under 50 ms waits ~20 ms). Zero: every batch starts as
    /// soon as the previous one is done. (Tokio's timer ticks in milliseconds, so a wait rounds
    /// up to the next one.)
    pub group_commit: Duration,
    /// A signed checkpoint every this many records.
    pub checkpoint_interval: u64,
    /// And at most this long after a record is written (a tick wakes an idle writer for it):
    /// records not yet under a signature could be rewritten undetected, so this bounds how far
    /// back anyone with write access to the store could do so.
    pub checkpoint_max_age: Duration,
    /// A segment is closed and a new one started once it reaches this size.
    pub segment_max_bytes: u64,
    /// Where the Ed25519 signing key lives; `None` = `audit-signing.key` in the directory.
    pub signing_key_file: Option<PathBuf>,
}

impl Default for AuditLogOptions {
    fn default() -> Self {
        AuditLogOptions {
            queue_capacity: 4096,
            queue_policy: QueuePolicy::Block,
            max_batch: 512,
            durability: Durability::Fsync,
            group_commit: Duration::ZERO,
            checkpoint_interval: 1000,
            checkpoint_max_age: Duration::from_secs(1),
            segment_max_bytes: 64 * 1024 * 1024,
            signing_key_file: None,
        }
    }
}

type AckSender = oneshot::Sender<Result<Acknowledged, AuditError>>;

// Nearly every message is an Append, so boxing the record would add an allocation per record
// to save queue memory only on the rare Close.
#[allow(clippy::large_enum_variant)]
enum Command {
    Append(AuditRecord, AckSender),
    Close(oneshot::Sender<Result<(), AuditError>>),
    /// Wakes an idle writer so that written records get their `sync_data` and their checkpoint
    /// in time.
    Tick,
}

/// A handle to an open audit log; cheap to clone, one per worker if you like.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Command>,
    policy: QueuePolicy,
    shed: Arc<AtomicU64>,
    public_key: VerifyingKey,
    counters: Arc<Counters>,
}

/// A record accepted into the queue, not yet durable.
#[derive(Debug)]
pub struct PendingAck {
    rx: oneshot::Receiver<Result<Acknowledged, AuditError>>,
}

// === impl AuditLog ===

impl AuditLog {
    /// Opens (creating if needed) the audit store in `dir`, recovers from a crash, and starts
    /// the writer task. Must be called within a Tokio runtime, which the log then lives on
    /// (recovery runs on its blocking pool); close the log before the runtime ends, or the last
    /// segment lacks its closing checkpoint (which costs nothing but a recovery at next open).
    pub async fn open(dir: impl AsRef<Path>, options: AuditLogOptions) -> Result<Self, AuditError> {
        let dir = dir.as_ref().to_owned();
        let key_path = options
            .signing_key_file
            .clone()
            .unwrap_or_else(|| dir.join(SIGNING_KEY_FILE));
        let limits = ChainLimits {
            segment_max_bytes: options.segment_max_bytes.max(1),
            checkpoint_interval: options.checkpoint_interval.max(1),
            checkpoint_max_age: options.checkpoint_max_age,
            sync_each_batch: options.durability == Durability::Fsync,
        };
        let chain = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| AuditError::io(&dir, e))?;
            let key = keys::load_or_create(&key_path)?;
            ChainWriter::open(&dir, key, limits)
        })
        .await
        .map_err(|_| AuditError::Closed)??;
        let public_key = chain.verifying_key();
        let counters = chain.counters.clone();
        let (tx, rx) = mpsc::channel(options.queue_capacity.max(1));
        let max_batch = options.max_batch.max(1);
        let sync_interval = match options.durability {
            Durability::Fsync => None,
            // The ticker wakes an idle writer this often; a zero interval would spin.
            Durability::Write { sync_interval } => {
                Some(sync_interval.max(Duration::from_millis(1)))
            }
        };
        // The ticker wakes an idle writer to sync written records in time (under `write`) and
        // to sign them in time: a record is signed within about 1½ × `checkpoint_max_age`.
        let checkpoint_tick = (options.checkpoint_max_age / 2).max(Duration::from_millis(10));
        let tick = sync_interval.map_or(checkpoint_tick, |s| s.min(checkpoint_tick));
        {
            // A weak handle, so the ticker never keeps the log open: it stops once every
            // AuditLog is dropped.
            let weak = tx.downgrade();
            std::thread::Builder::new()
                .name("garrison-audit-tick".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(tick);
                        let Some(tx) = weak.upgrade() else { return };
                        // A full queue means a busy writer, which syncs and signs by itself
                        // when due.
                        if let Err(mpsc::error::TrySendError::Closed(_)) =
                            tx.try_send(Command::Tick)
                        {
                            return;
                        }
                    }
                })
                .map_err(|e| AuditError::io("<audit tick thread>", e))?;
        }
        let pacing = Pacing {
            max_batch,
            group_commit: options.group_commit,
            sync_interval,
        };
        tokio::spawn(run_writer(rx, chain, pacing));
        Ok(AuditLog {
            tx,
            policy: options.queue_policy,
            shed: Arc::new(AtomicU64::new(0)),
            public_key,
            counters,
        })
    }

    /// Appends a record and returns once it is stored as [`AuditLogOptions::durability`] says:
    /// by default written and `sync_data`'d, so an acknowledged record survives a crash,
    /// `kill -9` or a power cut.
    pub async fn append(&self, record: AuditRecord) -> Result<Acknowledged, AuditError> {
        self.submit(record).await?.durable().await
    }

    /// Puts a record in the queue (waiting for room under `Block`, failing under `Shed`) and
    /// returns a handle to await its durability, so a caller can overlap the wait with work.
    pub async fn submit(&self, record: AuditRecord) -> Result<PendingAck, AuditError> {
        let (ack, rx) = oneshot::channel();
        let command = Command::Append(record, ack);
        match self.policy {
            QueuePolicy::Block => self
                .tx
                .send(command)
                .await
                .map_err(|_| AuditError::Closed)?,
            QueuePolicy::Shed => match self.tx.try_send(command) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.shed.fetch_add(1, Ordering::Relaxed);
                    return Err(AuditError::QueueFull);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(AuditError::Closed),
            },
        }
        Ok(PendingAck { rx })
    }

    /// Records refused because the queue was full under [`QueuePolicy::Shed`], since open.
    pub fn shed_count(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Records waiting in the queue for the writer now (an alarm when it nears the capacity:
    /// requests are about to wait, or records to be shed).
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// What the writer has done since open: batches, records, and its `sync_data` durations.
    pub fn stats(&self) -> WriterStats {
        self.counters.read()
    }

    /// The public key that verifies this log's checkpoints.
    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// Writes everything queued before this call, a closing checkpoint, syncs, and stops the
    /// writer; later appends on any clone fail with [`AuditError::Closed`].
    pub async fn close(&self) -> Result<(), AuditError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Command::Close(done))
            .await
            .map_err(|_| AuditError::Closed)?;
        rx.await.map_err(|_| AuditError::Closed)?
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("policy", &self.policy)
            .field("queue_depth", &self.queue_depth())
            .field("key_id", &crate::key_id(&self.public_key))
            .finish_non_exhaustive()
    }
}

// === impl PendingAck ===

impl PendingAck {
    /// Waits until the record is durable.
    pub async fn durable(self) -> Result<Acknowledged, AuditError> {
        self.rx.await.map_err(|_| AuditError::Closed)?
    }
}

/// How the writer takes its batches.
struct Pacing {
    max_batch: usize,
    group_commit: Duration,
    /// Set under [`Durability::Write`]: batches are acknowledged once written, and synced in
    /// the background when the oldest unsynced write is this old.
    sync_interval: Option<Duration>,
}

/// The writer task: one batch at a time, until every handle is dropped or `close` is asked.
async fn run_writer(mut rx: mpsc::Receiver<Command>, chain: ChainWriter, pacing: Pacing) {
    let Pacing {
        max_batch,
        group_commit,
        sync_interval,
    } = pacing;
    let mut last_batch: Option<tokio::time::Instant> = None;
    // The chain and the batch buffer (whose capacity is kept from batch to batch) travel
    // together to the blocking pool and back; `None` once a panic there lost them.
    let mut state = Some((chain, Vec::with_capacity(64 * 1024)));
    // After a failed write or fsync the file's state is unknown (a failed fsync may have
    // dropped dirty pages), so the writer fails closed until the log is reopened and recovered.
    let mut failed: Option<String> = None;
    let background = Arc::new(BackgroundSync::default());
    loop {
        let Some(first) = rx.recv().await else {
            // Every handle dropped without close(): still leave a closing checkpoint, unless
            // the file is in an unknown state.
            if let (Some((chain, buf)), None) = (state, &failed) {
                let _ = on_blocking_pool(chain, buf, |chain, _| chain.close()).await;
            }
            return;
        };
        // No yield to gather more: the first record's wake put the writer at the back of the
        // run queue, so the requests ahead of it have already queued their records by now. (A
        // `yield_now` here cost more than it gathered: measured under load, each yield was
        // followed by timer registrations — hyper's header timeouts — waking the I/O driver
        // through its eventfd, a `write` syscall per request.)
        // Group commit: records close behind the last batch wait for the records behind them —
        // unless a full batch is queued already (a backlog is drained at once, so the wait
        // never caps the rate). A tick or a close neither waits nor counts as a batch, so an
        // idle store still writes a record at once.
        if matches!(first, Command::Append(..))
            && rx.len() + 1 < max_batch
            && let Some(due) = last_batch.and_then(|t| t.checked_add(group_commit))
            && due > tokio::time::Instant::now()
        {
            tokio::time::sleep_until(due).await;
        }
        let taken_at = tokio::time::Instant::now();
        let mut batch = Batch::default();
        batch.take(first);
        while batch.acks.len() < max_batch && batch.close.is_none() {
            match rx.try_recv() {
                Ok(command) => batch.take(command),
                Err(_) => break,
            }
        }
        let Batch {
            records,
            acks,
            close,
        } = batch;
        if !group_commit.is_zero() && !records.is_empty() {
            last_batch = Some(taken_at);
        }
        if failed.is_none()
            && let Some(reason) = background.failure.get()
        {
            failed = Some(reason.clone());
        }
        if state.is_none() && failed.is_none() {
            failed = Some("the audit writer panicked".to_owned());
        }
        if let Some(reason) = &failed {
            for ack in acks {
                let _ = ack.send(Err(AuditError::WriterFailed(reason.clone())));
            }
        } else if let Some((mut chain, mut buf)) = state.take() {
            let written = if records.is_empty() && !chain.checkpoint_due() {
                state = Some((chain, buf));
                Some(Ok(Vec::new()))
            } else if sync_interval.is_none() || chain.may_roll(records.len()) {
                // Under `fsync` every batch waits on the disk; under `write` only one that may
                // roll the segment does.
                on_blocking_pool(chain, buf, move |chain, buf| {
                    chain.write_batch(records, buf)
                })
                .await
                .map(|(chain, buf, written)| {
                    state = Some((chain, buf));
                    written
                })
            } else {
                let written = chain.write_batch(records, &mut buf);
                state = Some((chain, buf));
                Some(written)
            };
            match written {
                Some(Ok(done)) => {
                    for (ack, done) in acks.into_iter().zip(done) {
                        let _ = ack.send(Ok(done));
                    }
                }
                Some(Err(e)) => {
                    let reason = e.to_string();
                    for ack in acks {
                        let _ = ack.send(Err(AuditError::WriterFailed(reason.clone())));
                    }
                    failed = Some(reason);
                }
                // Lost in a panic: dropping the acks answers Closed.
                None => {}
            }
            if let (Some(interval), None, Some((chain, _))) = (sync_interval, &failed, &mut state) {
                background.sync_if_due(chain, interval);
            }
        }
        if let Some(done) = close {
            // A background sync still running may yet fail: its outcome is part of the answer
            // (it syncs through a second descriptor of the file, which takes the error with it).
            while background.running.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if failed.is_none()
                && let Some(reason) = background.failure.get()
            {
                failed = Some(reason.clone());
            }
            // The chain (and with it the store's lock) is dropped before answering, so a caller
            // may reopen the store as soon as close() returns.
            let result = match (failed, state) {
                (Some(reason), _) => Err(AuditError::WriterFailed(reason)),
                (None, None) => Err(AuditError::WriterFailed(
                    "the audit writer panicked".to_owned(),
                )),
                (None, Some((chain, buf))) => {
                    match on_blocking_pool(chain, buf, |chain, _| chain.close()).await {
                        Some((chain, _, result)) => {
                            drop(chain);
                            result
                        }
                        None => Err(AuditError::WriterFailed(
                            "the audit writer panicked".to_owned(),
                        )),
                    }
                }
            };
            let _ = done.send(result);
            return;
        }
    }
}

/// Runs `work` on the chain on Tokio's blocking pool, where waiting on the disk holds up no
/// request, and hands the chain back. `None` if `work` panicked (the chain is lost with it).
async fn on_blocking_pool<T, F>(
    mut chain: ChainWriter,
    mut buf: Vec<u8>,
    work: F,
) -> Option<(ChainWriter, Vec<u8>, T)>
where
    F: FnOnce(&mut ChainWriter, &mut Vec<u8>) -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let result = work(&mut chain, &mut buf);
        (chain, buf, result)
    })
    .await
    .ok()
}

/// The periodic `sync_data` under [`Durability::Write`], run on the blocking pool while the
/// writer goes on writing; at most one at a time.
#[derive(Default)]
struct BackgroundSync {
    running: AtomicBool,
    /// Why a sync failed; the writer refuses everything from then on.
    failure: OnceLock<String>,
}

impl BackgroundSync {
    fn sync_if_due(self: &Arc<Self>, chain: &mut ChainWriter, interval: Duration) {
        let due = chain
            .unsynced_since()
            .is_some_and(|t| t.elapsed() >= interval);
        if !due || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let job = match chain.take_sync_job() {
            Ok(Some(job)) => job,
            Ok(None) => {
                self.running.store(false, Ordering::Release);
                return;
            }
            Err(e) => {
                let _ = self.failure.set(e.to_string());
                self.running.store(false, Ordering::Release);
                return;
            }
        };
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = job.run() {
                let _ = this.failure.set(e.to_string());
            }
            this.running.store(false, Ordering::Release);
        });
    }
}

#[derive(Default)]
struct Batch {
    records: Vec<AuditRecord>,
    acks: Vec<AckSender>,
    close: Option<oneshot::Sender<Result<(), AuditError>>>,
}

impl Batch {
    fn take(&mut self, command: Command) {
        match command {
            Command::Append(record, ack) => {
                self.records.push(record);
                self.acks.push(ack);
            }
            Command::Close(done) => self.close = Some(done),
            Command::Tick => {}
        }
    }
}
