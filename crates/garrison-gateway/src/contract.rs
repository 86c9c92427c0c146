//! The contract phase of a route derived from an API: the request checked against its
//! operation before the upstream sees it, the upstream's response checked after, and a
//! mocked operation answered from the contract itself.
//!
//! Validators are compiled when the configuration is loaded; here they only run.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use garrison_config::ResponseValidation;
use garrison_contract::mock::{MockOperation, Prefer};
use garrison_contract::validate::{CompiledContract, CompiledOperation, RequestParts, Violations};
use garrison_core::{ProblemCode, ProblemItem};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Either, Full, Limited};

use crate::GatewayBody;
use crate::error::GatewayError;
use crate::metrics::RouteStats;
use crate::upstream::PooledBody;

/// The largest upstream response body the gateway buffers to check it. A larger one cannot
/// be checked: it is reported (or, when enforcing, refused) as a violation.
const MAX_CHECKED_RESPONSE: usize = 8 * 1024 * 1024;

/// The most violations a problem lists: a body crafted to break thousands of rules must not
/// turn into an answer thousands of times its size.
const MAX_LISTED: usize = 50;

/// What a route derived from an API knows of its contract.
pub(crate) struct RouteContract {
    compiled: Arc<CompiledContract>,
    index: usize,
    validate_requests: bool,
    responses: ResponseValidation,
    mock: Option<MockOperation>,
}

impl RouteContract {
    /// The contract phase of operation `index` of `compiled`.
    pub(crate) fn new(
        compiled: Arc<CompiledContract>,
        index: usize,
        validate_requests: bool,
        responses: ResponseValidation,
        mock: Option<MockOperation>,
    ) -> Self {
        RouteContract {
            compiled,
            index,
            validate_requests,
            responses,
            mock,
        }
    }

    fn operation(&self) -> &CompiledOperation {
        &self.compiled.operations()[self.index]
    }

    /// Whether the request must be read whole before it goes on: to validate it, or because
    /// nothing goes on (a mock).
    pub(crate) fn buffers_requests(&self) -> bool {
        self.validate_requests || self.mock.is_some()
    }

    /// Whether upstream responses are buffered and checked.
    pub(crate) fn checks_responses(&self) -> bool {
        self.responses != ResponseValidation::Off && self.mock.is_none()
    }

    /// The mocked operation, when the API is served from its contract.
    pub(crate) fn mock(&self) -> Option<&MockOperation> {
        self.mock.as_ref()
    }

    /// Checks a whole request; every violation is listed in the `400`.
    pub(crate) fn check_request(
        &self,
        path: &str,
        params: &[(&str, Range<usize>)],
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        stats: &RouteStats,
    ) -> Result<(), GatewayError> {
        if !self.validate_requests {
            return Ok(());
        }
        // Path parameters arrive as byte ranges of the path (the router's slices could not
        // outlive the request they borrowed from); rebuilt as slices here, without copying.
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, range)| (*name, path.get(range.clone()).unwrap_or_default()))
            .collect();
        let parts = RequestParts {
            path_params: &pairs,
            query,
            headers,
            body,
        };
        self.operation().validate_request(&parts).map_err(|v| {
            stats.requests_invalid.fetch_add(1, Ordering::Relaxed);
            let total = v.0.len();
            let error = GatewayError::downstream(
                ProblemCode::RequestInvalid,
                "The request does not conform to the API's contract: see `errors`.",
            )
            .with_errors(items(v));
            if total > MAX_LISTED {
                error.with_detail(format!(
                    "The request does not conform to the API's contract: the first {MAX_LISTED} of {total} violations are listed in `errors`."
                ))
            } else {
                error
            }
        })
    }

    /// Checks an upstream response. Conforming (or not checked): the response to send on.
    /// Not conforming: reported (and passed on) or refused, as the API says.
    pub(crate) async fn check_response(
        &self,
        route: &str,
        request_id: &HeaderValue,
        response: Response<PooledBody>,
        stats: &RouteStats,
    ) -> Result<Response<GatewayBody>, GatewayError> {
        let (parts, body) = response.into_parts();
        // Declared larger than the gateway checks: under `report` passed on unread (and said
        // so), under `enforce` refused below without reading it.
        let declared_too_large = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > MAX_CHECKED_RESPONSE as u64);
        if declared_too_large && self.responses != ResponseValidation::Enforce {
            tracing::warn!(
                target: "garrison::contract",
                request_id = request_id.to_str().unwrap_or_default(),
                route,
                status = parts.status.as_u16(),
                "upstream response too large to check against the contract; passed on unchecked"
            );
            return Ok(Response::from_parts(parts, Either::Left(body)));
        }
        let collected = Limited::new(body, MAX_CHECKED_RESPONSE).collect().await;
        let (body, violations) = match collected {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let verdict = self.operation().validate_response(
                    parts.status.as_u16(),
                    &parts.headers,
                    &bytes,
                );
                (bytes, verdict.err().map(items))
            }
            // Found too large only while read (no length declared): what was read is gone, so
            // the answer cannot be passed on whole in either mode.
            Err(error)
                if error
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                    && self.responses != ResponseValidation::Enforce =>
            {
                return Err(GatewayError::upstream(
                    ProblemCode::BadGateway,
                    "The upstream's answer was larger than the gateway checks, so it could not be passed on.",
                ));
            }
            Err(error)
                if error
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                (
                    Bytes::new(),
                    Some(vec![ProblemItem {
                        location: "/body".to_owned(),
                        rule: "size".to_owned(),
                        message: format!(
                            "the body is larger than the {MAX_CHECKED_RESPONSE} bytes the gateway checks"
                        ),
                    }]),
                )
            }
            Err(_) => {
                return Err(GatewayError::upstream(
                    ProblemCode::BadGateway,
                    "The upstream service failed to answer.",
                ));
            }
        };
        let Some(violations) = violations else {
            return Ok(Response::from_parts(parts, Either::Right(Full::new(body))));
        };
        stats
            .responses_nonconforming
            .fetch_add(1, Ordering::Relaxed);
        // Locations and rules only: the values may be personal data.
        let summary = violations
            .iter()
            .map(|v| format!("{} ({})", v.location, v.rule))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(
            target: "garrison::contract",
            request_id = request_id.to_str().unwrap_or_default(),
            route,
            status = parts.status.as_u16(),
            violations = %summary,
            enforced = self.responses == ResponseValidation::Enforce,
            "upstream response breaks the contract"
        );
        if self.responses == ResponseValidation::Enforce {
            return Err(GatewayError::upstream(
                ProblemCode::UpstreamContractViolation,
                "The upstream service answered outside the API's contract, so its answer was withheld.",
            )
            .with_errors(violations));
        }
        Ok(Response::from_parts(parts, Either::Right(Full::new(body))))
    }
}

/// Answers a mocked operation: the response the `Prefer` header asks for, or the contract's
/// default one.
pub(crate) fn mock_response(
    mock: &MockOperation,
    headers: &HeaderMap,
    seed: u64,
) -> Result<Response<GatewayBody>, GatewayError> {
    // Several `Prefer` fields are one list (RFC 9110 §5.3).
    let prefer = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    let prefer = Prefer::parse(&prefer);
    let answer = mock.respond(&prefer, seed).map_err(|e| {
        GatewayError::downstream(
            ProblemCode::BadRequest,
            "The Prefer header asks for a response the contract does not document.",
        )
        .with_detail(format!(
            "The Prefer header asks for a response the contract does not document: {e}"
        ))
    })?;
    let mut response = Response::new(Either::Right(Full::new(answer.body)));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    if let Some(content_type) = answer.content_type
        && let Ok(value) = HeaderValue::from_str(&content_type)
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    Ok(response)
}

fn items(violations: Violations) -> Vec<ProblemItem> {
    violations
        .0
        .into_iter()
        .take(MAX_LISTED)
        .map(|v| ProblemItem {
            location: v.location,
            rule: v.rule,
            message: v.message,
        })
        .collect()
}
