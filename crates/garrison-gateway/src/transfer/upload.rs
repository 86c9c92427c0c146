//! The tus 1.0.0 side: capabilities (`OPTIONS`), creation (`POST`, with or without a body),
//! offsets (`HEAD`), appends (`PATCH`) and termination (`DELETE`).

use bytes::Bytes;
use garrison_audit::FileFacts;
use garrison_config::TransferOperation;
use garrison_core::ProblemCode;
use garrison_transfer::tus::{self, TusError};
use garrison_transfer::{FileId, FileRecord, NewUpload, TransferError, UploadWriter};
use http::{HeaderMap, HeaderValue, Method, Request, Response, header};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};

use super::{Call, blocking, empty, facts, header, header_value, now, store_error};
use crate::GatewayBody;
use crate::error::GatewayError;
use crate::proxy::Exchange;

/// The metadata keys a sender must set: the inbox and the document type.
const RECIPIENT: &str = "recipient";
const DOCUMENT_TYPE: &str = "document_type";

pub(super) async fn serve(
    call: &Call<'_>,
    operation: TransferOperation,
    request: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    let method = request.method().clone();
    let result = if method == Method::OPTIONS {
        exchange.event = Some("capabilities");
        Ok(capabilities(call))
    } else {
        match tus::check_version(header(request.headers(), "tus-resumable")) {
            Err(e) => Err(store_error(e.into())),
            Ok(()) => match (operation, method) {
                (TransferOperation::Uploads, Method::POST) => create(call, request, exchange).await,
                (TransferOperation::Upload, Method::HEAD) => head(call, exchange).await,
                (TransferOperation::Upload, Method::PATCH) => patch(call, request, exchange).await,
                (TransferOperation::Upload, Method::DELETE) => terminate(call, exchange).await,
                _ => Err(GatewayError::downstream(
                    ProblemCode::MethodNotAllowed,
                    "The resource does not support this method.",
                )),
            },
        }
    };
    // Every tus response, refusals included, says which version it speaks; a 412 also lists
    // the versions supported. So refusals become responses here, and are marked as refusals
    // for the audit trail.
    let mut response = match result {
        Ok(response) => response,
        Err(e) => {
            exchange.refused = Some((e.code.as_str(), e.side));
            let version_refused = e.code == ProblemCode::TusVersionUnsupported;
            let mut response = e.into_response(&exchange.request_id);
            if version_refused {
                response
                    .headers_mut()
                    .insert("tus-version", HeaderValue::from_static(tus::VERSION));
            }
            response
        }
    };
    response
        .headers_mut()
        .insert("tus-resumable", HeaderValue::from_static(tus::VERSION));
    Ok(response)
}

fn capabilities(call: &Call<'_>) -> Response<GatewayBody> {
    let mut response = empty(204);
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(tus::VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(tus::EXTENSIONS));
    headers.insert("tus-max-size", HeaderValue::from(call.transfer.max_size));
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(tus::CHECKSUM_ALGORITHMS),
    );
    response
}

fn text(metadata: &tus::Metadata, key: &str) -> Result<String, GatewayError> {
    metadata
        .get(key)
        .and_then(|v| std::str::from_utf8(v).ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            GatewayError::downstream(ProblemCode::BadRequest, "").with_detail(format!(
                "Upload-Metadata must name the {key:?} (base64 of its name)"
            ))
        })
}

/// `POST` to the uploads: every rule is checked — size, metadata, the sender's entitlement to
/// the inbox and document type — before the upload exists or a byte of body is read.
async fn create(
    call: &Call<'_>,
    request: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("create");
    let headers = request.headers();
    if headers.contains_key("upload-defer-length") {
        return Err(GatewayError::downstream(
            ProblemCode::BadRequest,
            "Upload-Defer-Length is not supported: state Upload-Length.",
        ));
    }
    let length = tus::parse_u64("Upload-Length", header(headers, "upload-length"))
        .map_err(|e| store_error(e.into()))?;
    let metadata = tus::parse_metadata(header(headers, "upload-metadata"))
        .map_err(|e| store_error(e.into()))?;
    let recipient = text(&metadata, RECIPIENT)?;
    let document_type = text(&metadata, DOCUMENT_TYPE)?;
    exchange.file = Some(FileFacts {
        id: String::new(),
        sender: call.consumer_name().to_owned(),
        recipient: recipient.clone(),
        document_type: document_type.clone(),
        size: length,
        offset: 0,
        sha256: None,
    });
    if length > call.transfer.max_size {
        return Err(store_error(
            TusError::TooLarge {
                max: call.transfer.max_size,
            }
            .into(),
        ));
    }
    if !call
        .transfer
        .document_types
        .iter()
        .any(|d| **d == *document_type)
    {
        return Err(
            GatewayError::downstream(ProblemCode::BadRequest, "").with_detail(format!(
                "this service accepts no document type {document_type:?}"
            )),
        );
    }
    // Entitlement: the inbox must be one the subscription may send to, and the type one it
    // may send. An unknown inbox is refused the same way, so inbox names cannot be probed.
    let subscription = call.subscription;
    let to_inbox = call.transfer.inbox_owner(&recipient).is_some()
        && subscription.is_some_and(|s| s.send_to.iter().any(|i| **i == *recipient));
    let of_type = subscription.is_some_and(|s| {
        s.document_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| **t == *document_type))
    });
    if !to_inbox {
        return Err(GatewayError::downstream(
            ProblemCode::ResourceForbidden,
            "You are not entitled to send files to this inbox.",
        ));
    }
    if !of_type {
        return Err(GatewayError::downstream(
            ProblemCode::ResourceForbidden,
            "You are not entitled to send this document type.",
        ));
    }
    // creation-with-upload: a body, if any, must be of the tus type and fit the upload.
    let has_body = !request.body().is_end_stream();
    if has_body {
        tus::check_content_type(header(headers, "content-type"))
            .map_err(|e| store_error(e.into()))?;
        if request
            .body()
            .size_hint()
            .exact()
            .is_some_and(|n| n > length)
        {
            return Err(store_error(TusError::TooLarge { max: length }.into()));
        }
    }
    let checksum = if has_body {
        tus::parse_checksum(header(headers, "upload-checksum"))
            .map_err(|e| store_error(e.into()))?
    } else {
        None
    };

    let now = now();
    let new = NewUpload {
        sender: call.consumer_name().to_owned(),
        recipient,
        document_type,
        length,
        metadata,
        now,
        expires: now.saturating_add(call.transfer.upload_expiry),
    };
    let service = call.transfer.service.clone();
    let record = blocking(move || service.create(new))
        .await
        .map_err(store_error)?;
    exchange.file = Some(facts(&record));
    let location = header_value(format!("{}/uploads/{}", call.transfer.base_path, record.id));
    let record = if has_body || length == 0 {
        let failed = match append(call, &record, request.into_body(), checksum, exchange).await {
            Ok((record, Ok(()))) => Ok(record),
            Ok((record, Err(e))) => Err((record, e)),
            Err(e) => Err((record, e)),
        };
        match failed {
            Ok(record) => record,
            // The upload exists whatever became of its body: the refusal says where, and from
            // which offset to resume, or the client could neither resume nor end it.
            Err((record, e)) => {
                exchange.refused = Some((e.code.as_str(), e.side));
                let mut response = e.into_response(&exchange.request_id);
                let headers = response.headers_mut();
                headers.insert(header::LOCATION, location);
                write_state(headers, &record);
                return Ok(response);
            }
        }
    } else {
        record
    };
    let mut response = empty(201);
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    write_state(headers, &record);
    Ok(response)
}

/// The upload named by the path, if it is the caller's: another sender's upload is "not
/// found", so ids cannot be probed.
async fn owned_upload(
    call: &Call<'_>,
    exchange: &mut Exchange,
) -> Result<FileRecord, GatewayError> {
    let id = call
        .params
        .id
        .as_deref()
        .and_then(FileId::parse)
        .ok_or_else(|| store_error(TransferError::NotFound))?;
    let service = call.transfer.service.clone();
    let now = now();
    let found = blocking(move || {
        let record = service.record(&id)?;
        Ok((service.upload(&id, now).err(), record))
    })
    .await
    .map_err(store_error)?;
    let (expired, record) = found;
    if record.sender != call.consumer_name() {
        return Err(store_error(TransferError::NotFound));
    }
    exchange.file = Some(facts(&record));
    if let Some(e) = expired {
        return Err(store_error(e));
    }
    Ok(record)
}

fn write_state(headers: &mut HeaderMap, record: &FileRecord) {
    headers.insert("upload-offset", HeaderValue::from(record.offset));
    if !record.is_complete() {
        headers.insert(
            "upload-expires",
            header_value(tus::http_date(record.expires)),
        );
    }
}

async fn head(
    call: &Call<'_>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("offset");
    let record = owned_upload(call, exchange).await?;
    // tus: a HEAD gives back the metadata as the client sent it.
    let service = call.transfer.service.clone();
    let sealed = record.clone();
    let metadata = blocking(move || service.metadata(&sealed))
        .await
        .map_err(store_error)?;
    let mut response = empty(200);
    let headers = response.headers_mut();
    if !metadata.is_empty() {
        headers.insert(
            "upload-metadata",
            header_value(tus::format_metadata(&metadata)),
        );
    }
    write_state(headers, &record);
    headers.insert("upload-length", HeaderValue::from(record.length));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn patch(
    call: &Call<'_>,
    request: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("append");
    let record = owned_upload(call, exchange).await?;
    let headers = request.headers();
    tus::check_patch(
        header(headers, "content-type"),
        header(headers, "upload-offset"),
        request.body().size_hint().exact(),
        record.offset,
        record.length,
    )
    .map_err(|e| store_error(e.into()))?;
    let checksum = tus::parse_checksum(header(headers, "upload-checksum"))
        .map_err(|e| store_error(e.into()))?;
    if record.is_complete() {
        // Nothing more to take: an empty PATCH is answered with the offset; any byte is one
        // too many.
        if request.body().is_end_stream() {
            let mut response = empty(204);
            write_state(response.headers_mut(), &record);
            return Ok(response);
        }
        return Err(store_error(
            TusError::TooLarge { max: record.length }.into(),
        ));
    }
    let (record, outcome) = append(call, &record, request.into_body(), checksum, exchange).await?;
    outcome?;
    let mut response = empty(204);
    write_state(response.headers_mut(), &record);
    Ok(response)
}

/// Streams `body` into a write session of `record`. Memory stays within one segment plus
/// one frame, whatever the size of the body. Returns the record as it stands (the offset
/// durable) and how the body ended: a body that broke off is not an error of the upload — what
/// arrived is kept for the client to resume — but the request's answer says it failed.
async fn append(
    call: &Call<'_>,
    record: &FileRecord,
    mut body: Incoming,
    checksum: Option<tus::UploadChecksum>,
    exchange: &mut Exchange,
) -> Result<(FileRecord, Result<(), GatewayError>), GatewayError> {
    let service = call.transfer.service.clone();
    let id = FileId::parse(&record.id).ok_or_else(|| store_error(TransferError::NotFound))?;
    let verified = checksum.is_some();
    // At the offset the client's request was checked against (and, for a creation with
    // upload, 0); `begin` checks it again under the upload's lock.
    let offset = record.offset;
    let mut writer = blocking(move || service.begin(&id, offset, now(), !verified))
        .await
        .map_err(store_error)?;
    if let Some(checksum) = &checksum {
        writer.expect_checksum(checksum);
    }
    let ended: Result<(), GatewayError> = loop {
        let frame = match tokio::time::timeout(call.body_idle_timeout, body.frame()).await {
            Err(_) => {
                break Err(GatewayError::downstream(
                    ProblemCode::RequestTimeout,
                    "The body stalled; what arrived was kept: resume from Upload-Offset.",
                ));
            }
            Ok(None) => break Ok(()),
            Ok(Some(Err(_))) => {
                break Err(GatewayError::downstream(
                    ProblemCode::BadRequest,
                    "The body broke off; what arrived was kept: resume from Upload-Offset.",
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match write(writer, data).await {
            (w, Ok(())) => writer = w,
            (w, Err(e)) => {
                writer = w;
                break Err(store_error(e));
            }
        }
    };
    let retention = call.transfer.retention;
    let record = match ended {
        Ok(()) => {
            let before = writer.record().clone();
            match blocking(move || writer.finish(checksum.as_ref(), now(), retention)).await {
                Ok(record) => {
                    if record.is_complete() {
                        exchange.event = Some("complete");
                        super::webhook::notify(call.transfer, &record);
                    }
                    exchange.file = Some(facts(&record));
                    return Ok((record, Ok(())));
                }
                Err(e) => {
                    exchange.file = Some(facts(&before));
                    return Ok((before, Err(store_error(e))));
                }
            }
        }
        Err(_) => blocking(move || writer.interrupted())
            .await
            .map_err(store_error)?,
    };
    exchange.file = Some(facts(&record));
    Ok((record, ended))
}

/// Writes one frame, on a blocking thread only when it completes a segment (and so stores
/// one).
async fn write(mut writer: UploadWriter, data: Bytes) -> (UploadWriter, Result<(), TransferError>) {
    if writer.fits(data.len()) {
        let result = writer.write(&data);
        return (writer, result);
    }
    match tokio::task::spawn_blocking(move || {
        let result = writer.write(&data);
        (writer, result)
    })
    .await
    {
        Ok(done) => done,
        // A panic in the store is a bug; the writer is lost with it and the request fails.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn terminate(
    call: &Call<'_>,
    exchange: &mut Exchange,
) -> Result<Response<GatewayBody>, GatewayError> {
    exchange.event = Some("terminate");
    let record = owned_upload(call, exchange).await?;
    if record.is_complete() {
        return Err(store_error(TransferError::Delivered));
    }
    let service = call.transfer.service.clone();
    let id = FileId::parse(&record.id).ok_or_else(|| store_error(TransferError::NotFound))?;
    blocking(move || service.delete(&id))
        .await
        .map_err(store_error)?;
    Ok(empty(204))
}
