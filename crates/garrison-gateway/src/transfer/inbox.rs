//! The recipient's side: list an inbox, download a file (streamed, decrypted and verified
//! segment by segment, with `Range`), acknowledge it.

use bytes::Bytes;
use garrison_core::ProblemCode;
use garrison_transfer::{FileId, FileRecord, SEGMENT_SIZE, TransferError};
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::{Either, Full};
use hyper::body::Incoming;

use super::{Call, blocking, empty, facts, header_value, now, store_error};
use crate::GatewayBody;
use crate::error::GatewayError;
use crate::proxy::Exchange;
use crate::upstream::PooledBody;

/// The inbox named by the path, if the caller owns it; anyone else is refused the same way
/// whether or not it exists.
fn owned_inbox<'c>(call: &'c Call<'_>) -> Result<&'c str, GatewayError> {
    let name = call.params.inbox.as_deref().unwrap_or_default();
    match call.transfer.inbox_owner(name) {
        Some(owner) if owner == call.consumer => Ok(name),
        _ => Err(GatewayError::downstream(
            ProblemCode::ResourceForbidden,
            "You may not read this inbox.",
        )),
    }
}

/// The file named by the path, if it was delivered to `inbox`.
async fn file_in(
    call: &Call<'_>,
    inbox: &str,
    exchange: &mut Exchange,
) -> Result<FileRecord, GatewayError> {
    let id = call
        .params
        .id
        .as_deref()
        .and_then(FileId::parse)
        .ok_or_else(|| store_error(TransferError::NotFound))?;
    let service = call.transfer.service.clone();
    let record = blocking(move || service.record(&id))
        .await
        .map_err(store_error)?;
    if record.recipient != inbox || !record.is_complete() {
        return Err(store_error(TransferError::NotFound));
    }
    exchange.file = Some(facts(&record));
    Ok(record)
}

fn json(value: &serde_json::Value) -> Response<GatewayBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(
        serde_json::to_vec(value).unwrap_or_default(),
    ))));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) async fn list(
    call: &Call<'_>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("list");
    let inbox = owned_inbox(call)?.to_owned();
    let service = call.transfer.service.clone();
    let files = blocking(move || {
        let mut out = Vec::new();
        for record in service.inbox(&inbox)? {
            let metadata = service.metadata(&record)?;
            let text = |key: &str| {
                metadata
                    .get(key)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            };
            out.push(serde_json::json!({
                "id": record.id,
                "sender": record.sender,
                "documentType": record.document_type,
                "size": record.length,
                "sha256": record.sha256,
                "filename": text("filename"),
                "contentType": text("filetype"),
                "deliveredAt": record.completed,
                "acknowledgedAt": record.acknowledged,
                "deleteAfter": record.expires,
            }));
        }
        Ok(out)
    })
    .await
    .map_err(store_error)?;
    Ok(json(&serde_json::json!({ "files": files })))
}

/// A satisfiable single byte range of a file of `length` bytes (RFC 9110 §14.1.2), end
/// exclusive; `Ok(None)` to send the whole file (no `Range`, several ranges, or a unit other
/// than bytes: a server may ignore those); `Err` for a range outside the file (416).
fn range(value: Option<&HeaderValue>, length: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(text) = value.and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = text.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.trim().split_once('-').ok_or(())?;
    let number = |s: &str| -> Result<u64, ()> {
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        s.parse().map_err(|_| ())
    };
    let (start, end) = if first.is_empty() {
        // A suffix: the last N bytes.
        let n = number(last)?;
        if n == 0 {
            return Err(());
        }
        (length.saturating_sub(n), length)
    } else {
        let start = number(first)?;
        let end = if last.is_empty() {
            length
        } else {
            let last = number(last)?;
            if last < start {
                return Err(());
            }
            (last + 1).min(length)
        };
        (start, end)
    };
    if start >= length {
        return Err(());
    }
    Ok(Some((start, end)))
}

pub(super) async fn download(
    call: &Call<'_>,
    request: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("download");
    let inbox = owned_inbox(call)?.to_owned();
    let record = file_in(call, &inbox, exchange).await?;
    let length = record.length;
    let Ok(wanted) = range(request.headers().get(header::RANGE), length) else {
        let mut e = GatewayError::downstream(
            ProblemCode::RangeNotSatisfiable,
            "The range lies outside the file.",
        )
        .into_response(&exchange.request_id);
        e.headers_mut().insert(
            header::CONTENT_RANGE,
            header_value(format!("bytes */{length}")),
        );
        exchange.refused = Some((
            ProblemCode::RangeNotSatisfiable.as_str(),
            crate::error::Side::Downstream,
        ));
        return Ok(e);
    };
    let (start, end) = wanted.unwrap_or((0, length));
    let id = FileId::parse(&record.id).ok_or_else(|| store_error(TransferError::NotFound))?;
    let service = call.transfer.service.clone();
    let head_only = request.method() == Method::HEAD;
    // The first segment is read and verified before the answer starts: a corrupt file is
    // refused with a problem, not cut off mid-stream (when the damage is in a later segment,
    // the stream stops there and the client sees a truncated body and a wrong checksum).
    let segment = SEGMENT_SIZE as u64;
    let first_index = start / segment;
    let (reader, first) = blocking(move || {
        let reader = service.reader(&id)?;
        let first = if end > start {
            reader.read(first_index, start, end)?
        } else {
            Vec::new()
        };
        Ok((reader, first))
    })
    .await
    .map_err(store_error)?;

    let body = if head_only || end == start {
        Either::Right(Full::new(Bytes::new()))
    } else {
        let (send, receive) = tokio::sync::mpsc::channel::<Bytes>(2);
        let reader = std::sync::Arc::new(reader);
        let file_id = record.id.clone();
        tokio::spawn(async move {
            if send.send(Bytes::from(first)).await.is_err() {
                return;
            }
            let last_index = (end - 1) / segment;
            for index in first_index + 1..=last_index {
                let reader = reader.clone();
                let chunk =
                    tokio::task::spawn_blocking(move || reader.read(index, start, end)).await;
                match chunk {
                    Ok(Ok(bytes)) => {
                        if send.send(Bytes::from(bytes)).await.is_err() {
                            return; // the client went away
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::error!(file = %file_id, segment = index, error = %e, "download stopped: a segment failed its integrity check");
                        return;
                    }
                    Err(e) => {
                        tracing::error!(file = %file_id, error = %e, "download stopped");
                        return;
                    }
                }
            }
        });
        Either::Left(PooledBody::local(receive, end - start))
    };
    let mut response = Response::new(body);
    let partial = wanted.is_some();
    *response.status_mut() = if partial {
        http::StatusCode::PARTIAL_CONTENT
    } else {
        http::StatusCode::OK
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if partial {
        headers.insert(
            header::CONTENT_RANGE,
            header_value(format!("bytes {start}-{}/{length}", end - 1)),
        );
    }
    if let Some(sha256) = &record.sha256 {
        // RFC 9530: the digest of the whole file, whatever range is sent.
        headers.insert("repr-digest", header_value(format!("sha-256=:{sha256}:")));
    }
    Ok(response)
}

pub(super) async fn acknowledge(
    call: &Call<'_>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("acknowledge");
    let inbox = owned_inbox(call)?.to_owned();
    let record = file_in(call, &inbox, exchange).await?;
    let id = FileId::parse(&record.id).ok_or_else(|| store_error(TransferError::NotFound))?;
    let service = call.transfer.service.clone();
    let after = call.transfer.delete_acknowledged_after;
    let record = blocking(move || service.acknowledge(&id, now(), after))
        .await
        .map_err(store_error)?;
    exchange.file = Some(facts(&record));
    Ok(empty(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s: &str| range(Some(&HeaderValue::from_str(s).expect("header")), 100);
        assert_eq!(range(None, 100), Ok(None));
        assert_eq!(r("bytes=0-9"), Ok(Some((0, 10))));
        assert_eq!(r("bytes=90-"), Ok(Some((90, 100))));
        assert_eq!(r("bytes=-10"), Ok(Some((90, 100))));
        assert_eq!(r("bytes=-1000"), Ok(Some((0, 100))));
        assert_eq!(r("bytes=50-1000"), Ok(Some((50, 100))));
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("items=0-1"), Ok(None));
        for bad in [
            "bytes=100-",
            "bytes=5-4",
            "bytes=-0",
            "bytes=a-b",
            "bytes=",
            "bytes=-",
        ] {
            assert_eq!(r(bad), Err(()), "{bad}");
        }
    }
}
