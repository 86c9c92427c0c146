//! The audit log handle: a bounded queue feeding one batching writer thread.
//!
//! The request path pays for a channel send; the writer gathers whatever has queued into one
//! batch, writes it with one `write` and one `sync_data`, and only then answers each record's
//! acknowledgement. Records arriving during an fsync form the next batch (group commit), so
//! batching adds no latency and the batch grows with the load by itself.
//!
//! The writer is a thread of its own rather than a task handing each batch to Tokio's blocking
//! pool: it blocks on the queue and on the disk, and nothing else needs waking to move a batch
//! from one to the other.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// A signed checkpoint every this many records.
    pub checkpoint_interval: u64,
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
            checkpoint_interval: 1000,
            segment_max_bytes: 64 * 1024 * 1024,
            signing_key_file: None,
        }
    }
}

type AckSender = oneshot::Sender<Result<Acknowledged, AuditError>>;

/// A batch's answers, for the runtime to deliver.
type Answers = Vec<(AckSender, Result<Acknowledged, AuditError>)>;

// Nearly every message is an Append, so boxing the record would add an allocation per record
// to save queue memory only on the rare Close.
#[allow(clippy::large_enum_variant)]
enum Command {
    Append(AuditRecord, AckSender),
    Close(oneshot::Sender<Result<(), AuditError>>),
    /// Wakes an idle writer so that written records get their `sync_data` in time.
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
    /// the writer thread. Must be called within a Tokio runtime (recovery runs on its blocking
    /// pool).
    pub async fn open(dir: impl AsRef<Path>, options: AuditLogOptions) -> Result<Self, AuditError> {
        let dir = dir.as_ref().to_owned();
        let key_path = options
            .signing_key_file
            .clone()
            .unwrap_or_else(|| dir.join(SIGNING_KEY_FILE));
        let limits = ChainLimits {
            segment_max_bytes: options.segment_max_bytes.max(1),
            checkpoint_interval: options.checkpoint_interval.max(1),
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
        // The writer hands each batch's answers to a task on the runtime in one message, which
        // answers the waiting requests there: one wake-up from the writer thread per batch, not
        // one per record (each of which could switch threads twice on a shared core).
        let (answers_tx, mut answers_rx) = mpsc::unbounded_channel::<Answers>();
        tokio::spawn(async move {
            while let Some(answers) = answers_rx.recv().await {
                for (ack, answer) in answers {
                    let _ = ack.send(answer);
                }
            }
        });
        let sync_interval = match options.durability {
            Durability::Fsync => None,
            // The ticker wakes an idle writer this often; a zero interval would spin.
            Durability::Write { sync_interval } => {
                Some(sync_interval.max(Duration::from_millis(1)))
            }
        };
        if let Some(interval) = sync_interval {
            // A weak handle, so the ticker never keeps the log open: it stops once every
            // AuditLog is dropped.
            let weak = tx.downgrade();
            std::thread::Builder::new()
                .name("garrison-audit-tick".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(interval);
                        let Some(tx) = weak.upgrade() else { return };
                        // A full queue means a busy writer, which syncs by itself when due.
                        if let Err(mpsc::error::TrySendError::Closed(_)) =
                            tx.try_send(Command::Tick)
                        {
                            return;
                        }
                    }
                })
                .map_err(|e| AuditError::io("<audit tick thread>", e))?;
        }
        std::thread::Builder::new()
            .name("garrison-audit".to_owned())
            .spawn(move || run_writer(rx, chain, max_batch, sync_interval, answers_tx))
            .map_err(|e| AuditError::io("<audit writer thread>", e))?;
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

/// The writer thread: one batch at a time, until every handle is dropped or `close` is asked.
/// `sync_interval` is set under [`Durability::Write`]: batches are acknowledged once written,
/// and synced when the oldest unsynced write is that old.
fn run_writer(
    mut rx: mpsc::Receiver<Command>,
    mut chain: ChainWriter,
    max_batch: usize,
    sync_interval: Option<Duration>,
    answers: mpsc::UnboundedSender<Answers>,
) {
    // If the runtime (and its answering task) is gone, nobody waits for an answer any more.
    let answer = |batch: Answers| {
        let _ = answers.send(batch);
    };
    // Each batch's lines, in one buffer that keeps its capacity from batch to batch.
    let mut buf = Vec::with_capacity(64 * 1024);
    // After a failed write or fsync the file's state is unknown (a failed fsync may have
    // dropped dirty pages), so the writer fails closed until the log is reopened and recovered.
    let mut failed: Option<String> = None;
    loop {
        let Some(first) = rx.blocking_recv() else {
            // Every handle dropped without close(): still leave a closing checkpoint, unless
            // the file is in an unknown state.
            if failed.is_none() {
                let _ = chain.close();
            }
            return;
        };
        // Let whoever woke us queue more before the batch is taken: where the writer shares a
        // core with the request path, a wake-up per record would cost two context switches per
        // request; after a yield, the records of every request served meanwhile go together.
        std::thread::yield_now();
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
            acks: acks_for,
            close,
        } = batch;
        if let (Some(interval), None) = (sync_interval, &failed)
            && chain
                .unsynced_since()
                .is_some_and(|t| t.elapsed() >= interval)
            && let Err(e) = chain.sync()
        {
            failed = Some(e.to_string());
        }
        if let Some(reason) = &failed {
            answer(
                acks_for
                    .into_iter()
                    .map(|ack| (ack, Err(AuditError::WriterFailed(reason.clone()))))
                    .collect(),
            );
        } else if !records.is_empty() {
            match chain.write_batch(records, &mut buf) {
                Ok(done) => {
                    answer(acks_for.into_iter().zip(done.into_iter().map(Ok)).collect());
                }
                Err(e) => {
                    let reason = e.to_string();
                    answer(
                        acks_for
                            .into_iter()
                            .map(|ack| (ack, Err(AuditError::WriterFailed(reason.clone()))))
                            .collect(),
                    );
                    failed = Some(reason);
                }
            }
        }
        if let Some(done) = close {
            // The chain (and with it the store's lock) is dropped before answering, so a caller
            // may reopen the store as soon as close() returns.
            let result = match failed {
                Some(reason) => Err(AuditError::WriterFailed(reason)),
                None => chain.close(),
            };
            drop(chain);
            let _ = done.send(result);
            return;
        }
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
