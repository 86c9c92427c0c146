//! What the service answers: the contracts' JSON shapes for the store's model, and RFC 9457
//! problems in the same form as the gateway's (`type`, `title`, `status`, `code`, `detail`,
//! `errors`), so a caller sees one vocabulary whichever side refused.
//!
//! Problem documents never repeat the rejected value: it may be personal data.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::{Address, Claim, ClaimStatus, Date, Month, Person};

use super::matches::MatchId;

/// The response header naming the data subject of an answer for the gateway's audit trail.
pub(crate) const SUBJECT: &str = "garrison-subject";

/// One rule a request broke: where, which rule, and a sentence for the developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// `body/data/attributes/lastName`, `query.fromMonth`, `path.id`, …
    pub(crate) location: &'static str,
    /// A JSON Schema keyword (`required`, `format`, `maxLength`) or a named rule.
    pub(crate) rule: &'static str,
    /// The explanation, which never quotes the value.
    pub(crate) message: &'static str,
}

impl Invalid {
    pub(crate) const fn new(
        location: &'static str,
        rule: &'static str,
        message: &'static str,
    ) -> Self {
        Invalid {
            location,
            rule,
            message,
        }
    }
}

/// Why the service did not answer with data.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 400: the request breaks the contract; every rule broken is listed.
    Invalid(Vec<Invalid>),
    /// 403: no `garrison-consumer` header: the request did not come through the gateway.
    NotFromGateway,
    /// 404: no such path, nobody matches, or the id is unknown, expired or another
    /// consumer's.
    NotFound,
    /// 405: the path exists, not for this method.
    MethodNotAllowed,
    /// 413: the body is larger than any valid one.
    PayloadTooLarge,
    /// 422: more than one person matches.
    MoreThanOneMatch,
    /// 503: the match id registry is full of live ids.
    Unavailable,
    /// 500: the store or the random source failed (the cause is logged, not sent).
    Internal,
}

impl Refusal {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        match self {
            Refusal::Invalid(_) => (
                StatusCode::BAD_REQUEST,
                "REQUEST_INVALID",
                "The request does not conform to the API's contract",
                "See errors for every rule the request breaks.",
            ),
            Refusal::NotFromGateway => (
                StatusCode::FORBIDDEN,
                "RESOURCE_FORBIDDEN",
                "Access to this resource is forbidden",
                "This service answers only the gateway.",
            ),
            Refusal::NotFound => (
                StatusCode::NOT_FOUND,
                "MATCHING_RESOURCE_NOT_FOUND",
                "No resource matches the request",
                "No citizen matches, or the id is unknown or has expired.",
            ),
            Refusal::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "The method is not allowed for this resource",
                "This resource does not answer this method.",
            ),
            Refusal::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "The request body is too large",
                "The body is larger than any valid request.",
            ),
            Refusal::MoreThanOneMatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "MORE_THAN_ONE_MATCH",
                "More than one citizen matches",
                "Give more details (firstName, ninoFragment, postcode) to narrow the match.",
            ),
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "The service is unavailable",
                "Too many matches are outstanding; retry shortly.",
            ),
            Refusal::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "The service failed to process the request",
                "The failure has been logged.",
            ),
        }
    }

    /// The problem document as a response.
    pub(crate) fn response(&self) -> Response<Full<Bytes>> {
        let (status, code, title, detail) = self.parts();
        let mut body = json!({
            "type": format!(
                "tag:garrison.dev,2026:problem:{}",
                code.to_ascii_lowercase().replace('_', "-")
            ),
            "title": title,
            "status": status.as_u16(),
            "code": code,
            "detail": detail,
        });
        if let Refusal::Invalid(errors) = self {
            body["errors"] = errors
                .iter()
                .map(|e| json!({"location": e.location, "rule": e.rule, "message": e.message}))
                .collect();
        }
        let mut response = respond(status, "application/problem+json", &body);
        if matches!(self, Refusal::Unavailable) {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A JSON answer about `subject`, named in the [`SUBJECT`] header.
pub(crate) fn personal(subject: &Person, body: &Value) -> Response<Full<Bytes>> {
    let mut response = respond(StatusCode::OK, "application/json", body);
    if let Ok(value) = HeaderValue::from_str(&subject.nino.compact()) {
        response.headers_mut().insert(SUBJECT, value);
    }
    response
}

fn respond(status: StatusCode, content_type: &'static str, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Personal data must not linger in a cache between here and the consumer.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `MatchResult`.
pub(crate) fn match_result(id: &MatchId) -> Value {
    json!({"data": {"id": id.to_string(), "type": "MatchResult"}})
}

/// `PersonalDetails`: the date of death only for someone who has died.
pub(crate) fn details(id: &MatchId, person: &Person) -> Value {
    let mut attributes = json!({
        "firstName": person.first_name,
        "lastName": person.last_name,
        "dateOfBirth": person.date_of_birth.to_string(),
        "nino": person.nino.compact(),
    });
    if let Some(death) = person.date_of_death {
        attributes["dateOfDeath"] = death.to_string().into();
    }
    json!({"data": {"id": id.to_string(), "type": "Citizen", "attributes": attributes}})
}

/// `CurrentAddress`.
pub(crate) fn address(address: &Address) -> Value {
    json!({"data": {"type": "Address", "attributes": {
        "lines": address.lines,
        "town": address.town,
        "postcode": address.postcode.as_str(),
        "fromDate": address.from.to_string(),
    }}})
}

/// `Claims`, newest first as the contract says (the store gives them oldest first), and the
/// awards of each claim newest first too, so the latest assessment period is the first.
///
/// The store keeps no status per award; it follows from the claim's and the award's dates: an
/// award of an ended claim, or one that ended before `as_of`, is `ended`; a current award
/// has its claim's status.
pub(crate) fn claims(claims: &[Claim], as_of: Date) -> Value {
    let data: Vec<Value> = claims
        .iter()
        .rev()
        .map(|claim| {
            let awards: Vec<Value> = claim
                .awards
                .iter()
                .rev()
                .map(|award| {
                    let over = award.end.is_some_and(|end| end < as_of);
                    let status = if over || claim.status == ClaimStatus::Ended {
                        ClaimStatus::Ended
                    } else {
                        claim.status
                    };
                    let mut out = json!({
                        "startDate": award.start.to_string(),
                        "status": status.as_str(),
                        "amount": award.amount_pence,
                    });
                    if let Some(end) = award.end {
                        out["endDate"] = end.to_string().into();
                    }
                    if let Some(pay) = award.take_home_pay_pence {
                        out["assessmentAttributes"] = json!({"takeHomePay": pay});
                    }
                    out
                })
                .collect();
            let mut attributes = json!({
                "benefitType": claim.benefit.as_str(),
                "status": claim.status.as_str(),
                "startDate": claim.start.to_string(),
                "awards": awards,
            });
            if let Some(end) = claim.end {
                attributes["endDate"] = end.to_string().into();
            }
            json!({"type": "Claim", "attributes": attributes})
        })
        .collect();
    json!({"data": data})
}

/// `Income`: every month from `from` to `to`, 0 for a month without earnings.
pub(crate) fn income(from: Month, to: Month, earnings: &[crate::Earnings]) -> Value {
    let months: Vec<Value> = (from.index()..=to.index())
        .map(|index| {
            let month = Month::from_index(index);
            let pence: u64 = earnings
                .iter()
                .filter(|e| e.month == month)
                .map(|e| u64::from(e.pence))
                .sum();
            json!({"month": month.to_string(), "earnings": pence})
        })
        .collect();
    json!({"data": {"type": "Income", "attributes": {"months": months}}})
}
