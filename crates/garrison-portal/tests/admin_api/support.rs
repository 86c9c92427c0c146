//! Shared assertions on admin API answers, and the cast of the conformance tour.

use serde_json::Value;

use crate::common::{Answer, Server};

#[track_caller]
pub(crate) fn status(answer: &Answer, want: u16) {
    assert_eq!(answer.status, want, "{}", answer.text());
}

#[track_caller]
pub(crate) fn problem(answer: &Answer, want: u16, code: &str) {
    status(answer, want);
    assert_eq!(answer.json()["code"], code, "{}", answer.text());
}

/// The answer is the problem 400 `BAD_REQUEST`.
#[track_caller]
pub(crate) fn bad_request(answer: &Answer) {
    problem(answer, 400, "BAD_REQUEST");
}

/// The answer is the problem 403 `RESOURCE_FORBIDDEN`.
#[track_caller]
pub(crate) fn forbidden(answer: &Answer) {
    problem(answer, 403, "RESOURCE_FORBIDDEN");
}

/// The answer is the problem 404 `MATCHING_RESOURCE_NOT_FOUND`.
#[track_caller]
pub(crate) fn not_found(answer: &Answer) {
    problem(answer, 404, "MATCHING_RESOURCE_NOT_FOUND");
}

/// The answer is the problem 409 `CONFLICT`.
#[track_caller]
pub(crate) fn conflict(answer: &Answer) {
    problem(answer, 409, "CONFLICT");
}

/// The length of the JSON array `field` of an answer.
#[track_caller]
pub(crate) fn count(answer: &Answer, field: &str) -> usize {
    answer.json()[field].as_array().unwrap().len()
}

/// The `id` of the resource an answer describes.
#[track_caller]
pub(crate) fn id(answer: &Answer) -> i64 {
    answer.json()["id"].as_i64().unwrap()
}

/// Attempts `signIn` with `body`, anonymously.
pub(crate) async fn sign_in_with(s: &Server, body: Value) -> Answer {
    s.call("signIn", "POST", "/admin/v1/sessions", None, Some(body))
        .await
}

/// Attempts `signUp` with `body`, anonymously.
pub(crate) async fn sign_up_with(s: &Server, body: Value) -> Answer {
    s.call("signUp", "POST", "/admin/v1/sign-ups", None, Some(body))
        .await
}

/// The conformance tour's server, organisations and signed-in callers.
pub(crate) struct Tour {
    pub(crate) s: Server,
    pub(crate) dvla: i64,
    pub(crate) dwp: i64,
    pub(crate) nhs: i64,
    /// A platform admin's session.
    pub(crate) admin: String,
    /// A DVLA consumer developer's session.
    pub(crate) consumer: String,
    /// A DWP API owner's session.
    pub(crate) owner: String,
    /// An NHSBSA consumer developer's session.
    pub(crate) stranger: String,
    /// An NHSBSA API owner's session.
    pub(crate) other_owner: String,
    /// The gateway's static admin token.
    pub(crate) token: String,
}

/// An API published during the tour, with its two versions.
#[derive(Clone, Copy)]
pub(crate) struct Published {
    pub(crate) api: i64,
    pub(crate) v1: i64,
    pub(crate) v2: i64,
}

/// The DVLA application created during the tour.
pub(crate) struct App {
    pub(crate) id: i64,
    pub(crate) path: String,
    pub(crate) sandbox_key: String,
    pub(crate) sandbox_key_id: i64,
}
