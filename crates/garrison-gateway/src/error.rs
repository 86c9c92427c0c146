//! The gateway's error: a problem code, a caller-safe detail, and which side failed.

use bytes::Bytes;
use garrison_core::problem::PROBLEM_JSON;
use garrison_core::{Problem, ProblemCode, ProblemItem};
use http::{HeaderValue, Response, header};
use http_body_util::{Either, Full};
use std::borrow::Cow;

use crate::GatewayBody;

/// Which side of the gateway a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Side {
    /// The caller sent something the gateway refuses.
    Downstream,
    /// The upstream failed or timed out.
    Upstream,
    /// The gateway itself failed.
    Internal,
}

/// A refused or failed request, turned into `application/problem+json` at the edge.
#[derive(Debug, Clone)]
pub struct GatewayError {
    /// The stable problem code.
    pub code: ProblemCode,
    /// A detail safe to show the caller: no internal names, addresses or traces.
    pub detail: Cow<'static, str>,
    /// Specific faults (contract violations), listed in the problem's `errors` member.
    pub errors: Vec<ProblemItem>,
    /// Which side failed.
    pub side: Side,
    /// Whether trying again unchanged could succeed (timeouts, throttling, unavailability).
    pub retry_safe: bool,
}

impl GatewayError {
    /// A refusal caused by the caller.
    pub fn downstream(code: ProblemCode, detail: &'static str) -> Self {
        GatewayError {
            code,
            detail: Cow::Borrowed(detail),
            errors: Vec::new(),
            side: Side::Downstream,
            retry_safe: matches!(
                code,
                ProblemCode::MessageThrottledOut | ProblemCode::RequestTimeout
            ),
        }
    }

    /// A failure of the upstream.
    pub fn upstream(code: ProblemCode, detail: &'static str) -> Self {
        GatewayError {
            code,
            detail: Cow::Borrowed(detail),
            errors: Vec::new(),
            side: Side::Upstream,
            retry_safe: matches!(
                code,
                ProblemCode::ServiceUnavailable | ProblemCode::GatewayTimeout
            ),
        }
    }

    /// The same error listing specific faults.
    pub fn with_errors(mut self, errors: Vec<ProblemItem>) -> Self {
        self.errors = errors;
        self
    }

    /// The same error with a detail composed for this occurrence.
    pub fn with_detail(mut self, detail: String) -> Self {
        self.detail = Cow::Owned(detail);
        self
    }

    /// The problem response, tagged with the request id.
    pub fn into_response(self, request_id: &HeaderValue) -> Response<GatewayBody> {
        let id = request_id.to_str().unwrap_or_default();
        let body = Problem::new(self.code, self.detail)
            .with_request_id(id)
            .with_errors(self.errors)
            .to_json();
        let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
        *response.status_mut() = self.code.status();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert("x-request-id", request_id.clone());
        response
    }
}
