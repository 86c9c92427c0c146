//! Telling a recipient system that a file arrived in its inbox: a `POST` of a small JSON
//! document to the inbox's configured webhook, retried a few times, never blocking the upload.
//! The notification names the file (id, type, size, digest); never its content or file name —
//! the recipient fetches those over its authenticated connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use garrison_config::Webhook;
use garrison_transfer::FileRecord;
use http::{HeaderValue, Request, header};
use http_body_util::Full;
use hyper_util::rt::TokioIo;

use super::TransferRuntime;

/// Attempts per notification, and the time allowed for each.
const ATTEMPTS: u32 = 4;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the delivery notification of `record` in the background, if its inbox has a webhook.
pub(super) fn notify(transfer: &TransferRuntime, record: &FileRecord) {
    let Some(hook) = transfer
        .inbox(&record.recipient)
        .and_then(|i| i.webhook.clone())
    else {
        return;
    };
    let body = serde_json::json!({
        "event": "file.delivered",
        "transfer": &*transfer.name,
        "inbox": record.recipient,
        "file": record.id,
        "sender": record.sender,
        "documentType": record.document_type,
        "size": record.length,
        "sha256": record.sha256,
        "deliveredAt": record.completed,
    })
    .to_string();
    let file = record.id.clone();
    tokio::spawn(async move {
        for attempt in 0..ATTEMPTS {
            match tokio::time::timeout(ATTEMPT_TIMEOUT, send(&hook, &body)).await {
                Ok(Ok(status)) if status.is_success() => {
                    tracing::info!(file = %file, webhook = %hook.authority, "recipient notified");
                    return;
                }
                Ok(Ok(status)) => {
                    tracing::warn!(file = %file, webhook = %hook.authority, status = status.as_u16(), attempt, "webhook refused the notification");
                }
                Ok(Err(e)) => {
                    tracing::warn!(file = %file, webhook = %hook.authority, error = %e, attempt, "webhook unreachable");
                }
                Err(_) => {
                    tracing::warn!(file = %file, webhook = %hook.authority, attempt, "webhook did not answer in time");
                }
            }
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
        }
        tracing::error!(file = %file, webhook = %hook.authority, "recipient not notified; the file waits in its inbox");
    });
}

async fn send(hook: &Arc<Webhook>, body: &str) -> Result<http::StatusCode, String> {
    let tcp = tokio::net::TcpStream::connect(&hook.authority)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = Request::post(hook.path.as_str())
        .header(
            header::HOST,
            HeaderValue::try_from(hook.authority.as_str()).map_err(|e| e.to_string())?,
        )
        .header(header::CONTENT_TYPE, "application/json")
        .header("garrison-event", "file.delivered")
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status())
}
