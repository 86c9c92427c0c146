//! RFC 9457 problem details: the one shape every Garrison error takes on the wire.
//!
//! Each problem has a stable `code` (the HMRC developer hub's vocabulary where one exists), a
//! stable `type` URI derived from it, and a status. The `detail` is written for the caller and
//! never carries internal names, upstream addresses or stack traces.

use http::StatusCode;
use serde::Serialize;

/// The media type of a problem document (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The stable codes a caller can program against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemCode {
    /// 400: the request is malformed (bad path encoding, bad header value).
    BadRequest,
    /// 400: the request breaks the API's contract; `errors` lists every violation.
    RequestInvalid,
    /// 401: no API key was presented.
    MissingCredentials,
    /// 401: the API key is malformed, unknown or revoked.
    InvalidCredentials,
    /// 403: authenticated, but not allowed: not subscribed, wrong certificate, wrong address.
    ResourceForbidden,
    /// 404: no route matches the host and path.
    MatchingResourceNotFound,
    /// 405: the path exists but not for this method.
    MethodNotAllowed,
    /// 409: the change conflicts with what exists (a name taken, a decision already made).
    Conflict,
    /// 410: the API version is retired; the detail names its successor.
    VersionRetired,
    /// 408: the client did not send its body in time.
    RequestTimeout,
    /// 413: the body is larger than the route allows.
    PayloadTooLarge,
    /// 429: over the plan's rate.
    MessageThrottledOut,
    /// 500: a fault inside the gateway.
    InternalError,
    /// 502: the upstream refused, reset or answered with something that is not HTTP.
    BadGateway,
    /// 502: the upstream's response breaks the API's contract, so it was not passed on.
    UpstreamContractViolation,
    /// 503: no upstream target is available (all circuit breakers open, or draining).
    ServiceUnavailable,
    /// 504: the upstream did not answer in time.
    GatewayTimeout,
    /// 409: the upload is not at the `Upload-Offset` the client sent (tus).
    UploadOffsetConflict,
    /// 410: the upload expired before it was completed (tus expiration).
    UploadExpired,
    /// 412: `Tus-Resumable` is missing or names an unsupported version.
    TusVersionUnsupported,
    /// 415: the body's content type is not the one the resource accepts.
    UnsupportedMediaType,
    /// 416: the `Range` lies outside the file.
    RangeNotSatisfiable,
    /// 423: another request is writing to this upload right now.
    UploadLocked,
    /// 460: the body does not match its `Upload-Checksum` (tus checksum).
    ChecksumMismatch,
    /// 500: stored data failed its integrity check; nothing unverified is released.
    StoredDataCorrupt,
    /// 422: the request conforms to the contract, but it asks what cannot be answered (a
    /// check's date after today, months outside the records held).
    RequestNotAnswerable,
}

impl ProblemCode {
    /// The code as it appears in the `code` member.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::BadRequest => "BAD_REQUEST",
            ProblemCode::RequestInvalid => "REQUEST_INVALID",
            ProblemCode::MissingCredentials => "MISSING_CREDENTIALS",
            ProblemCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ProblemCode::ResourceForbidden => "RESOURCE_FORBIDDEN",
            ProblemCode::MatchingResourceNotFound => "MATCHING_RESOURCE_NOT_FOUND",
            ProblemCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ProblemCode::Conflict => "CONFLICT",
            ProblemCode::VersionRetired => "API_VERSION_RETIRED",
            ProblemCode::RequestTimeout => "REQUEST_TIMEOUT",
            ProblemCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ProblemCode::MessageThrottledOut => "MESSAGE_THROTTLED_OUT",
            ProblemCode::InternalError => "INTERNAL_SERVER_ERROR",
            ProblemCode::BadGateway => "BAD_GATEWAY",
            ProblemCode::UpstreamContractViolation => "UPSTREAM_CONTRACT_VIOLATION",
            ProblemCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ProblemCode::GatewayTimeout => "GATEWAY_TIMEOUT",
            ProblemCode::UploadOffsetConflict => "UPLOAD_OFFSET_CONFLICT",
            ProblemCode::UploadExpired => "UPLOAD_EXPIRED",
            ProblemCode::TusVersionUnsupported => "TUS_VERSION_UNSUPPORTED",
            ProblemCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ProblemCode::RangeNotSatisfiable => "RANGE_NOT_SATISFIABLE",
            ProblemCode::UploadLocked => "UPLOAD_LOCKED",
            ProblemCode::ChecksumMismatch => "CHECKSUM_MISMATCH",
            ProblemCode::StoredDataCorrupt => "STORED_DATA_CORRUPT",
            ProblemCode::RequestNotAnswerable => "REQUEST_NOT_ANSWERABLE",
        }
    }

    /// The HTTP status the code is sent with.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemCode::BadRequest | ProblemCode::RequestInvalid => StatusCode::BAD_REQUEST,
            ProblemCode::MissingCredentials | ProblemCode::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ProblemCode::ResourceForbidden => StatusCode::FORBIDDEN,
            ProblemCode::MatchingResourceNotFound => StatusCode::NOT_FOUND,
            ProblemCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::Conflict => StatusCode::CONFLICT,
            ProblemCode::VersionRetired => StatusCode::GONE,
            ProblemCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ProblemCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::MessageThrottledOut => StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::BadGateway | ProblemCode::UpstreamContractViolation => {
                StatusCode::BAD_GATEWAY
            }
            ProblemCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            ProblemCode::UploadOffsetConflict => StatusCode::CONFLICT,
            ProblemCode::UploadExpired => StatusCode::GONE,
            ProblemCode::TusVersionUnsupported => StatusCode::PRECONDITION_FAILED,
            ProblemCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ProblemCode::UploadLocked => StatusCode::LOCKED,
            // tus 1.0.0 checksum extension: "460 Checksum Mismatch" (not an IANA status).
            ProblemCode::ChecksumMismatch => {
                StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ProblemCode::StoredDataCorrupt => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::RequestNotAnswerable => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// A short, fixed summary (the RFC 9457 `title`).
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::BadRequest => "The request is malformed",
            ProblemCode::RequestInvalid => "The request does not conform to the API's contract",
            ProblemCode::MissingCredentials => "Credentials are required",
            ProblemCode::InvalidCredentials => "The credentials are not valid",
            ProblemCode::ResourceForbidden => "Access to this resource is forbidden",
            ProblemCode::MatchingResourceNotFound => "No resource matches the request",
            ProblemCode::MethodNotAllowed => "The method is not allowed for this resource",
            ProblemCode::Conflict => "The request conflicts with the resource's current state",
            ProblemCode::VersionRetired => "This version of the API is retired",
            ProblemCode::RequestTimeout => "The request was not received in time",
            ProblemCode::PayloadTooLarge => "The request body is too large",
            ProblemCode::MessageThrottledOut => "The request rate is over the plan's limit",
            ProblemCode::InternalError => "The gateway failed to process the request",
            ProblemCode::BadGateway => "The upstream service failed",
            ProblemCode::UpstreamContractViolation => {
                "The upstream service answered outside the API's contract"
            }
            ProblemCode::ServiceUnavailable => "The service is unavailable",
            ProblemCode::GatewayTimeout => "The upstream service did not answer in time",
            ProblemCode::UploadOffsetConflict => "The upload is not at the offset sent",
            ProblemCode::UploadExpired => "The upload expired",
            ProblemCode::TusVersionUnsupported => "The tus protocol version is not supported",
            ProblemCode::UnsupportedMediaType => "The body's content type is not accepted",
            ProblemCode::RangeNotSatisfiable => "The range lies outside the file",
            ProblemCode::UploadLocked => "Another request is writing to this upload",
            ProblemCode::ChecksumMismatch => "The body does not match its checksum",
            ProblemCode::StoredDataCorrupt => "The stored data failed its integrity check",
            ProblemCode::RequestNotAnswerable => {
                "The request conforms to the contract but cannot be answered"
            }
        }
    }

    /// The stable `type` URI. A `tag:` URI (RFC 4151), as RFC 9457 §3.1.1 suggests for types
    /// that are identifiers rather than documentation links.
    pub fn type_uri(self) -> String {
        format!(
            "tag:garrison.dev,2026:problem:{}",
            self.as_str().to_ascii_lowercase().replace('_', "-")
        )
    }
}

/// One problem document, ready to serialise.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI identifying the problem type.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the problem type.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// An explanation specific to this occurrence, safe to show the caller.
    pub detail: String,
    /// The stable code.
    pub code: &'static str,
    /// The request id, so a caller can quote it to the operator.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every specific fault, for problems such as `REQUEST_INVALID` that have several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemItem>,
}

/// One specific fault listed in a problem's `errors` member: where it is and which rule it
/// breaks. Never the offending value, which may be personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemItem {
    /// Where: a JSON pointer into the body (`/body/dateOfBirth`) or a parameter
    /// (`query.benefitType`, `header.content-type`, `path.id`).
    pub location: String,
    /// The rule broken (a JSON Schema keyword such as `required` or `format`).
    pub rule: String,
    /// A sentence for the developer.
    pub message: String,
}

impl Problem {
    /// A problem of `code` with a caller-facing detail.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: code.type_uri(),
            title: code.title(),
            status: code.status().as_u16(),
            detail: detail.into(),
            code: code.as_str(),
            request_id: None,
            errors: Vec::new(),
        }
    }

    /// Attaches the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Attaches the list of specific faults.
    pub fn with_errors(mut self, errors: Vec<ProblemItem>) -> Self {
        self.errors = errors;
        self
    }

    /// The document as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a struct of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_serialises_with_rfc9457_members_and_the_code() {
        let problem = Problem::new(ProblemCode::MessageThrottledOut, "Retry in 2 seconds")
            .with_request_id("abc");
        let json: serde_json::Value =
            serde_json::from_slice(&problem.to_json()).expect("valid JSON");
        assert_eq!(json["status"], 429);
        assert_eq!(json["code"], "MESSAGE_THROTTLED_OUT");
        assert_eq!(
            json["type"],
            "tag:garrison.dev,2026:problem:message-throttled-out"
        );
        assert_eq!(json["requestId"], "abc");
        assert_eq!(json["detail"], "Retry in 2 seconds");
    }

    #[test]
    fn every_code_has_a_distinct_type_and_an_error_status() {
        let codes = [
            ProblemCode::BadRequest,
            ProblemCode::RequestInvalid,
            ProblemCode::UpstreamContractViolation,
            ProblemCode::MissingCredentials,
            ProblemCode::InvalidCredentials,
            ProblemCode::ResourceForbidden,
            ProblemCode::MatchingResourceNotFound,
            ProblemCode::MethodNotAllowed,
            ProblemCode::RequestTimeout,
            ProblemCode::PayloadTooLarge,
            ProblemCode::MessageThrottledOut,
            ProblemCode::UploadOffsetConflict,
            ProblemCode::UploadExpired,
            ProblemCode::TusVersionUnsupported,
            ProblemCode::UnsupportedMediaType,
            ProblemCode::RangeNotSatisfiable,
            ProblemCode::UploadLocked,
            ProblemCode::ChecksumMismatch,
            ProblemCode::StoredDataCorrupt,
            ProblemCode::RequestNotAnswerable,
            ProblemCode::InternalError,
            ProblemCode::BadGateway,
            ProblemCode::ServiceUnavailable,
            ProblemCode::GatewayTimeout,
        ];
        let types: std::collections::HashSet<_> = codes.iter().map(|c| c.type_uri()).collect();
        assert_eq!(types.len(), codes.len());
        assert!(codes.iter().all(|c| c.status().as_u16() >= 400));
    }
}
