//! Secure file transfer served by the gateway itself: tus 1.0.0 uploads from senders into
//! encrypted storage, and recipients' inboxes (list, download, acknowledge).
//!
//! A transfer service's routes went through the same admission as every other route (address
//! allow-lists, API key, certificate binding, subscription, rate limit) before they reach
//! here. This module adds what is particular to files: the sender's entitlement to the inbox
//! and document type (checked before any byte is stored), object-level authorisation (an
//! upload is its sender's, an inbox its owner's), and streaming with bounded memory in both
//! directions.

mod inbox;
pub(crate) mod sweep;
mod upload;
mod webhook;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use garrison_audit::FileFacts;
use garrison_config::{Transfer, TransferOperation};
use garrison_core::ProblemCode;
use garrison_transfer::{FileRecord, LocalStore, TransferError, Transfers};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;

use crate::GatewayBody;
use crate::error::GatewayError;
use crate::proxy::Exchange;
use crate::snapshot::{Snapshot, SubscriptionRuntime};

/// A transfer service as the request path needs it.
pub(crate) struct TransferRuntime {
    pub(crate) name: Arc<str>,
    pub(crate) base_path: Arc<str>,
    pub(crate) service: Arc<Transfers>,
    pub(crate) document_types: Box<[Box<str>]>,
    pub(crate) max_size: u64,
    pub(crate) upload_expiry: u64,
    pub(crate) retention: u64,
    pub(crate) delete_acknowledged_after: u64,
    pub(crate) sweep_interval: Duration,
    pub(crate) audited: bool,
    /// The inboxes.
    pub(crate) inboxes: Box<[InboxRuntime]>,
}

/// An inbox as the request path needs it.
pub(crate) struct InboxRuntime {
    pub(crate) name: Box<str>,
    /// The consumer (index) that reads it.
    pub(crate) owner: usize,
    pub(crate) webhook: Option<Arc<garrison_config::Webhook>>,
}

/// Open stores, by directory, with the id of the master key they were opened with: they
/// outlive snapshots (a reload must not open a second `Transfers` over the same files, whose
/// write locks would not see each other's).
#[derive(Default)]
pub(crate) struct OpenStores(Mutex<Vec<(PathBuf, Arc<Transfers>, String)>>);

impl OpenStores {
    /// The service over `transfer.store`, opened on first use with the master keys of that
    /// first configuration (changing a store's keys needs a restart).
    pub(crate) fn get(&self, transfer: &Transfer) -> Result<Arc<Transfers>, String> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let current_key = transfer.master_keys.current_id();
        if let Some((_, service, opened_with)) =
            open.iter().find(|(dir, ..)| *dir == transfer.store)
        {
            // However the service is named now: its store keeps the keys it was opened with.
            if opened_with != current_key {
                return Err(format!(
                    "transfer store {}: its current master key changed ({opened_with:?} to {current_key:?}); that needs a restart",
                    transfer.store.display()
                ));
            }
            return Ok(service.clone());
        }
        let store = LocalStore::open(&transfer.store)
            .map_err(|e| format!("transfer store {}: {e}", transfer.store.display()))?;
        let service = Arc::new(Transfers::new(
            Arc::new(store),
            transfer.master_keys.clone(),
        ));
        open.push((
            transfer.store.clone(),
            service.clone(),
            current_key.to_owned(),
        ));
        Ok(service)
    }
}

impl TransferRuntime {
    pub(crate) fn new(transfer: &Transfer, service: Arc<Transfers>) -> Self {
        TransferRuntime {
            name: Arc::from(transfer.name.as_str()),
            base_path: Arc::from(transfer.base_path.as_str()),
            service,
            document_types: transfer
                .document_types
                .iter()
                .map(|d| Box::from(d.as_str()))
                .collect(),
            max_size: transfer.max_size,
            upload_expiry: transfer.upload_expiry.as_secs(),
            retention: transfer.retention.as_secs(),
            delete_acknowledged_after: transfer.delete_acknowledged_after.as_secs(),
            sweep_interval: transfer.sweep_interval,
            audited: transfer.audit,
            inboxes: transfer
                .inboxes
                .iter()
                .map(|i| InboxRuntime {
                    name: Box::from(i.name.as_str()),
                    owner: i.owner,
                    webhook: i.webhook.clone().map(Arc::new),
                })
                .collect(),
        }
    }

    fn inbox(&self, name: &str) -> Option<&InboxRuntime> {
        self.inboxes.iter().find(|i| &*i.name == name)
    }

    fn inbox_owner(&self, name: &str) -> Option<usize> {
        self.inbox(name).map(|i| i.owner)
    }
}

/// The path parameters of a transfer route, copied out of the request path.
#[derive(Debug, Default)]
pub(crate) struct TransferParams {
    pub(crate) id: Option<String>,
    pub(crate) inbox: Option<String>,
}

/// What a handler needs besides the request.
pub(crate) struct Call<'a> {
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) transfer: &'a TransferRuntime,
    pub(crate) subscription: Option<&'a SubscriptionRuntime>,
    pub(crate) consumer: usize,
    pub(crate) params: TransferParams,
    pub(crate) body_idle_timeout: Duration,
}

impl Call<'_> {
    fn consumer_name(&self) -> &str {
        &self.snapshot.consumers[self.consumer].name
    }
}

/// Serves a request to a transfer route that passed admission.
pub(crate) async fn serve(
    call: Call<'_>,
    operation: TransferOperation,
    request: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    let mut response = match operation {
        TransferOperation::Uploads | TransferOperation::Upload => {
            upload::serve(&call, operation, request, exchange).await?
        }
        TransferOperation::Inbox => inbox::list(&call, exchange).await?,
        TransferOperation::Download => inbox::download(&call, request, exchange).await?,
        TransferOperation::Acknowledge => inbox::acknowledge(&call, exchange).await?,
        _ => return Err(not_found()),
    };
    // What left the gateway, for the audit record: a file's content on a successful download,
    // nothing otherwise (an upload discloses nothing to its sender).
    let downloaded = exchange.event == Some("download") && response.status().is_success();
    exchange.disclosed = Some(if downloaded {
        vec!["*".to_owned()]
    } else {
        Vec::new()
    });
    response.headers_mut().insert(
        crate::proxy::headers::REQUEST_ID.clone(),
        exchange.request_id.clone(),
    );
    if let Some(admission) = &exchange.admission {
        admission.write_headers(response.headers_mut());
    }
    Ok(response)
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What the audit trail says about `record`.
pub(crate) fn facts(record: &FileRecord) -> FileFacts {
    FileFacts {
        id: record.id.clone(),
        sender: record.sender.clone(),
        recipient: record.recipient.clone(),
        document_type: record.document_type.clone(),
        size: record.length,
        offset: record.offset,
        sha256: record.sha256.clone(),
    }
}

/// Runs blocking store work off the event loop.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TransferError> + Send + 'static,
) -> Result<T, TransferError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(TransferError::Io(std::io::Error::other(e.to_string()))))
}

fn not_found() -> GatewayError {
    GatewayError::downstream(
        ProblemCode::MatchingResourceNotFound,
        "No such upload or file.",
    )
}

/// The problem a store error becomes. Internal failures are logged here with the file id
/// only; the caller learns nothing of paths or keys.
pub(crate) fn store_error(error: TransferError) -> GatewayError {
    use garrison_transfer::tus::TusError;
    match error {
        TransferError::NotFound => not_found(),
        TransferError::Gone => {
            GatewayError::downstream(ProblemCode::UploadExpired, "The upload expired.")
        }
        TransferError::Locked => GatewayError::downstream(
            ProblemCode::UploadLocked,
            "Another request is writing to this upload; retry when it has finished.",
        ),
        TransferError::Busy => GatewayError::downstream(
            ProblemCode::MessageThrottledOut,
            "Too many uploads are being written at once; retry when one has finished.",
        ),
        TransferError::Delivered => GatewayError::downstream(
            ProblemCode::ResourceForbidden,
            "The file was delivered: it belongs to the recipient's inbox now.",
        ),
        TransferError::TooManyUnfinished => {
            GatewayError::downstream(ProblemCode::MessageThrottledOut, "")
                .with_detail(TransferError::TooManyUnfinished.to_string())
        }
        TransferError::Tus(e) => {
            let code = match e {
                TusError::UnsupportedVersion => ProblemCode::TusVersionUnsupported,
                TusError::UnsupportedMediaType => ProblemCode::UnsupportedMediaType,
                TusError::OffsetConflict { .. } => ProblemCode::UploadOffsetConflict,
                TusError::TooLarge { .. } => ProblemCode::PayloadTooLarge,
                TusError::ChecksumMismatch => ProblemCode::ChecksumMismatch,
                _ => ProblemCode::BadRequest,
            };
            GatewayError::downstream(code, "").with_detail(e.to_string())
        }
        TransferError::Crypto(garrison_transfer::CryptoError::Integrity) => {
            tracing::error!("a stored file failed its integrity check");
            let mut e = GatewayError::downstream(
                ProblemCode::StoredDataCorrupt,
                "The stored file failed its integrity check; nothing unverified is released.",
            );
            e.side = crate::error::Side::Internal;
            e
        }
        other => {
            tracing::error!(error = %other, "transfer store failure");
            let mut e = GatewayError::downstream(
                ProblemCode::InternalError,
                "The file could not be stored or read.",
            );
            e.side = crate::error::Side::Internal;
            e
        }
    }
}

/// A bodiless response with `status`.
pub(crate) fn empty(status: u16) -> Response<GatewayBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
}

pub(crate) fn header_value(text: impl Into<String>) -> HeaderValue {
    HeaderValue::try_from(text.into()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    headers.get(name).map(HeaderValue::as_bytes)
}
