//! Building answers: JSON bodies, RFC 9457 problems, and the refusal type handlers return.

use bytes::Bytes;
use garrison_core::problem::PROBLEM_JSON;
use garrison_core::{Problem, ProblemCode};
use garrison_store::StoreError;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

/// An answer.
pub(crate) type Reply = Response<Full<Bytes>>;

/// Why a request was not carried out: a problem code and a detail for the caller.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) code: ProblemCode,
    pub(crate) detail: String,
}

impl Refusal {
    pub(crate) fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Refusal {
            code,
            detail: detail.into(),
        }
    }

    /// 404 for a record the caller may not see, exactly as for one that does not exist, so
    /// that ids of other organisations' records cannot be probed (OWASP API1).
    pub(crate) fn not_found(what: &str) -> Self {
        Refusal::new(
            ProblemCode::MatchingResourceNotFound,
            format!("No {what} with this id."),
        )
    }

    pub(crate) fn forbidden(why: &str) -> Self {
        Refusal::new(ProblemCode::ResourceForbidden, why)
    }

    pub(crate) fn bad(why: impl Into<String>) -> Self {
        Refusal::new(ProblemCode::BadRequest, why)
    }

    pub(crate) fn reply(&self) -> Reply {
        problem(self.code, &self.detail)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                Refusal::new(ProblemCode::Conflict, format!("{what} already exists."))
            }
            StoreError::NotFound(what) => Refusal::new(
                ProblemCode::MatchingResourceNotFound,
                format!("{what} was not found."),
            ),
            StoreError::Invalid(why) => Refusal::bad(why),
            other => {
                tracing::error!(error = %other, "the control-plane store failed");
                Refusal::new(
                    ProblemCode::InternalError,
                    "The control-plane store failed.",
                )
            }
        }
    }
}

/// What handlers return.
pub(crate) type Outcome = Result<Reply, Refusal>;

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Outcome {
    let body = serde_json::to_vec(value)
        .map_err(|e| Refusal::new(ProblemCode::InternalError, e.to_string()))?;
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Answers may hold a key shown once: never cached anywhere.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) fn ok(value: &impl Serialize) -> Outcome {
    json(StatusCode::OK, value)
}

pub(crate) fn created(value: &impl Serialize) -> Outcome {
    json(StatusCode::CREATED, value)
}

pub(crate) fn no_content() -> Outcome {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

pub(crate) fn problem(code: ProblemCode, detail: &str) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(Problem::new(code, detail).to_json())));
    *response.status_mut() = code.status();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
