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
    /// steps' answers named are added to `subjects` (for the audit trail) whatever the
    /// outcome: a check refused or failed after reading someone's records has still read them.
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
            subjects: Mutex::new(Vec::new()),
        };
        let outcome = self.compiled.run(&caller, request, &today()).await;
        subjects.extend(
            caller
                .subjects
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let outcome = outcome.map_err(run_error)?;
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
    /// The data subjects the steps' answers named, in order, each once.
    subjects: Mutex<Vec<String>>,
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
            crate::audit::take_subjects(&mut parts.headers, Some(&mut subjects));
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

/// Today's date in the UK, `YYYY-MM-DD`, for the `today` variable of checks: the questions
/// are about UK dates (a prescription dispensed today), and from the end of March to the end
/// of October the UK is an hour ahead of UTC — a pharmacy asking at 00:30 BST must not be
/// told its date is in the future.
fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    uk_date(now)
}

/// The UK civil date at `unix` seconds: GMT, or BST (UTC+1) from 01:00 UTC on the last Sunday
/// of March to 01:00 UTC on the last Sunday of October (the Summer Time Order 2002).
fn uk_date(unix: i64) -> String {
    const DAY: i64 = 86_400;
    let (year, _, _) = civil_from_days(unix.div_euclid(DAY));
    let last_sunday = |month: u32| {
        let end = days_from_civil(year, month, 31);
        // 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7.
        end - (end + 4).rem_euclid(7)
    };
    let summer_starts = last_sunday(3) * DAY + 3_600;
    let summer_ends = last_sunday(10) * DAY + 3_600;
    let offset = if (summer_starts..summer_ends).contains(&unix) {
        3_600
    } else {
        0
    };
    let (year, month, day) = civil_from_days((unix + offset).div_euclid(DAY));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era-based method: 400-year eras
/// of 146,097 days, years counted from March so the leap day falls last).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * month_from_march + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    })
    .unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_uk_date_across_the_summer_time_changes() {
        // 2026: BST from 01:00 UTC on Sunday 29 March to 01:00 UTC on Sunday 25 October.
        let at =
            |y, m, d, h: i64, min: i64| days_from_civil(y, m, d) * 86_400 + h * 3_600 + min * 60;
        assert_eq!(uk_date(at(2026, 3, 28, 23, 30)), "2026-03-28", "GMT");
        assert_eq!(uk_date(at(2026, 3, 29, 0, 59)), "2026-03-29");
        assert_eq!(
            uk_date(at(2026, 3, 29, 23, 30)),
            "2026-03-30",
            "BST from the 29th"
        );
        assert_eq!(
            uk_date(at(2025, 3, 30, 23, 30)),
            "2025-03-31",
            "BST from the 30th"
        );
        assert_eq!(uk_date(at(2025, 3, 29, 23, 30)), "2025-03-29", "not yet");
        assert_eq!(
            uk_date(at(2027, 10, 30, 23, 30)),
            "2027-10-31",
            "BST to the 31st"
        );
        assert_eq!(uk_date(at(2027, 10, 31, 23, 30)), "2027-10-31", "GMT after");
        assert_eq!(uk_date(at(2026, 6, 30, 22, 59)), "2026-06-30");
        assert_eq!(
            uk_date(at(2026, 6, 30, 23, 0)),
            "2026-07-01",
            "midnight BST"
        );
        assert_eq!(uk_date(at(2026, 10, 24, 23, 30)), "2026-10-25", "still BST");
        assert_eq!(uk_date(at(2026, 10, 25, 23, 30)), "2026-10-25", "GMT again");
        assert_eq!(uk_date(at(2026, 12, 31, 23, 59)), "2026-12-31");
        // 2024, a leap year whose last Sunday of March is the 31st.
        assert_eq!(uk_date(at(2024, 3, 31, 0, 59)), "2024-03-31");
        assert_eq!(uk_date(at(2024, 2, 29, 23, 30)), "2024-02-29");
        assert_eq!(uk_date(at(2024, 7, 31, 23, 30)), "2024-08-01");
        // The calendar round-trips over centuries.
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

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
