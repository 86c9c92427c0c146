//! Checks: an API operation answered by composing calls to operations of other APIs, with a
//! decision rule in CEL (`garrison_compose`). The gateway supplies the calls: each goes
//! straight to the target operation's upstream (or mock), carrying the caller's purpose
//! headers, consumer and request id; the caller of the check receives only the decision.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use garrison_compose::{
    CallError, CallRequest, CallResponse, Caller, CompiledCheck, RefusalKind, RunError,
};
use garrison_core::ProblemCode;
use http::{HeaderMap, HeaderValue, Request, Response, Uri, header};
use http_body_util::{BodyExt, Either, Full, Limited};

use crate::GatewayBody;
use crate::contract;
use crate::error::GatewayError;
use crate::proxy::headers::{CONSUMER, REQUEST_ID};
use crate::snapshot::Snapshot;
use crate::upstream::Failure;

/// Request headers a check passes on to every call: the purpose of the original request.
const PASSED_ON: [&str; 5] = [
    "context",
    "policy-id",
    "correlation-id",
    "instigating-user-id",
    "access-level",
];

/// The largest answer of a step the gateway reads.
const MAX_STEP_RESPONSE: usize = 1024 * 1024;

/// A route answered by a check.
pub(crate) struct RouteCheck {
    compiled: Arc<CompiledCheck>,
    /// Operation (`api.operationId`) → the route that serves it.
    targets: Vec<(String, usize)>,
}

impl RouteCheck {
    pub(crate) fn new(compiled: Arc<CompiledCheck>, targets: Vec<(String, usize)>) -> Self {
        RouteCheck { compiled, targets }
    }

    /// Runs the check for a validated request and returns its answer. The data subjects its
    /// steps' answers name are added to `subjects` (for the audit trail) as each answer
    /// arrives, whatever the outcome: a check refused, failed or abandoned by its client after
    /// reading someone's records has still read them.
    pub(crate) async fn answer(
        &self,
        snapshot: &Snapshot,
        headers: &HeaderMap,
        consumer: Option<&HeaderValue>,
        request_id: &HeaderValue,
        body: &[u8],
        subjects: &mut Vec<String>,
    ) -> Result<Response<GatewayBody>, GatewayError> {
        let request = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(body).map_err(|_| {
                GatewayError::downstream(ProblemCode::BadRequest, "The request body is not JSON.")
            })?
        };
        let mut passed = HeaderMap::new();
        for name in PASSED_ON {
            if let Some(value) = headers.get(name) {
                passed.insert(name, value.clone());
            }
        }
        if let Some(consumer) = consumer {
            passed.insert(CONSUMER.clone(), consumer.clone());
        }
        passed.insert(REQUEST_ID.clone(), request_id.clone());
        let caller = GatewayCaller {
            snapshot,
            targets: &self.targets,
            headers: passed,
            subjects: Mutex::new(subjects),
        };
        let outcome = self
            .compiled
            .run(&caller, request, &today())
            .await
            .map_err(run_error)?;
        let answer = serde_json::to_vec(&outcome.answer).map_err(|_| {
            GatewayError::upstream(
                ProblemCode::InternalError,
                "The check could not be answered.",
            )
        })?;
        let mut response = Response::new(Either::Right(Full::new(Bytes::from(answer))));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }
}

/// Makes a check's calls on the routes of the snapshot in force.
struct GatewayCaller<'a> {
    snapshot: &'a Snapshot,
    targets: &'a [(String, usize)],
    headers: HeaderMap,
    /// The data subjects the steps' answers named, in order, each once: the exchange's own
    /// list, so that they are there even if the check's future is dropped mid-run.
    subjects: Mutex<&'a mut Vec<String>>,
}

impl Caller for GatewayCaller<'_> {
    async fn call(&self, operation: &str, call: CallRequest) -> Result<CallResponse, CallError> {
        let index = self
            .targets
            .iter()
            .find(|(name, _)| name == operation)
            .map(|(_, index)| *index)
            .ok_or_else(|| CallError::Unavailable(format!("no route for {operation}")))?;
        let route = &self.snapshot.routes[index];
        let Some((method, template)) = &route.call else {
            return Err(CallError::Unavailable(format!(
                "{operation} cannot be called"
            )));
        };
        let uri = fill(template, &call.path, &call.query)
            .ok_or_else(|| CallError::Unavailable(format!("{operation}: bad path or query")))?;
        let mut headers = self.headers.clone();
        let body = match &call.body {
            Some(value) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Bytes::from(
                    serde_json::to_vec(value)
                        .map_err(|e| CallError::InvalidResponse(format!("request body: {e}")))?,
                )
            }
            None => Bytes::new(),
        };

        // A mocked operation answers from its contract, as it would for a consumer.
        if let Some(mock) = route.contract.as_ref().and_then(|c| c.mock()) {
            let response = contract::mock_response(mock, &HeaderMap::new(), fastrand::u64(..))
                .map_err(|_| CallError::InvalidResponse(format!("{operation}: no mock answer")))?;
            return self.read(operation, response).await;
        }
        let pool = route
            .pool
            .as_ref()
            .ok_or_else(|| CallError::Unavailable(format!("{operation} has no upstream")))?;
        let mut request = Request::new(Either::Right(Full::new(body)));
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let response =
            pool.send(request, route.timeout)
                .await
                .map_err(|failure| match failure {
                    Failure::Timeout => CallError::Timeout,
                    _ => CallError::Unavailable(operation.to_owned()),
                })?;
        self.read(operation, response.map(Either::Left)).await
    }
}

impl GatewayCaller<'_> {
    /// The status and JSON body of a step's answer; notes the data subject it names.
    async fn read(
        &self,
        operation: &str,
        response: Response<GatewayBody>,
    ) -> Result<CallResponse, CallError> {
        let (mut parts, body) = response.into_parts();
        {
            let mut subjects = self.subjects.lock().unwrap_or_else(PoisonError::into_inner);
            crate::audit::take_subjects(&mut parts.headers, Some(&mut **subjects));
        }
        let bytes = Limited::new(body, MAX_STEP_RESPONSE)
            .collect()
            .await
            .map_err(|_| CallError::InvalidResponse(format!("{operation}: unreadable answer")))?
            .to_bytes();
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|_| CallError::InvalidResponse(format!("{operation}: not JSON")))?
        };
        Ok(CallResponse {
            status: parts.status.as_u16(),
            body,
        })
    }
}

/// The origin-form URI of `template` with its `{name}` segments filled (percent-encoded) and
/// the query appended (form-encoded).
fn fill(template: &str, path: &[(String, String)], query: &[(String, String)]) -> Option<Uri> {
    let mut out = String::with_capacity(template.len() + 64);
    for segment in template.split('/').skip(1) {
        out.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let (_, value) = path.iter().find(|(n, _)| n == name)?;
                encode(&mut out, value);
            }
            None => out.push_str(segment),
        }
    }
    for (i, (name, value)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        encode(&mut out, name);
        out.push('=');
        encode(&mut out, value);
    }
    out.parse().ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

fn run_error(error: RunError) -> GatewayError {
    match &error {
        RunError::Call { source, .. } => match source {
            CallError::Timeout => GatewayError::upstream(
                ProblemCode::GatewayTimeout,
                "A service the check depends on did not answer in time.",
            ),
            CallError::Unavailable(_) => GatewayError::upstream(
                ProblemCode::ServiceUnavailable,
                "A service the check depends on is unavailable.",
            ),
            _ => GatewayError::upstream(
                ProblemCode::BadGateway,
                "A service the check depends on gave an unusable answer.",
            ),
        },
        // The check declared it cannot decide: the detail is its configuration's wording,
        // never a value of the request.
        RunError::Refused { kind, detail, .. } => {
            let mut error = match kind {
                RefusalKind::Invalid => GatewayError::downstream(
                    ProblemCode::RequestNotAnswerable,
                    "The check cannot answer this request.",
                ),
                _ => GatewayError::upstream(
                    ProblemCode::BadGateway,
                    "A service the check depends on failed, so the check cannot answer.",
                ),
            };
            if let Some(detail) = detail {
                error.detail = detail.clone().into();
            }
            error
        }
        // A rule that cannot be evaluated is a fault of the check's declaration. The message
        // names the check and expression, never the values.
        _ => {
            tracing::error!(target: "garrison::check", error = %error, "check failed");
            GatewayError {
                code: ProblemCode::InternalError,
                detail: "The check could not be evaluated.".into(),
                errors: Vec::new(),
                side: crate::error::Side::Internal,
                retry_safe: false,
            }
        }
    }
}

/// Today's date in the UK, `YYYY-MM-DD`, for the `today` variable of checks (see
/// [`garrison_compose::uk_date`]).
fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    garrison_compose::uk_date(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_date() {
        let today = today();
        assert_eq!(today.len(), 10);
        assert_eq!(&today[4..5], "-");
        assert!(today.as_str() >= "2026-01-01");
    }

    #[test]
    fn templates_are_filled_and_encoded() {
        let uri = fill(
            "/capi/v2/citizens/{id}/claims",
            &[("id".to_owned(), "a b/c".to_owned())],
            &[
                ("benefitType".to_owned(), "universal_credit".to_owned()),
                ("from".to_owned(), "2026-08-25".to_owned()),
            ],
        )
        .expect("uri");
        assert_eq!(
            uri.to_string(),
            "/capi/v2/citizens/a%20b%2Fc/claims?benefitType=universal_credit&from=2026-08-25"
        );
        assert!(fill("/x/{id}", &[], &[]).is_none(), "a missing parameter");
    }
}
