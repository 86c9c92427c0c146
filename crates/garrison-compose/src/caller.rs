//! The boundary with the HTTP layer: the gateway implements [`Caller`].

use std::future::Future;

/// Makes the calls of a check: the gateway's HTTP client, with its credentials, purpose headers,
/// timeouts and retries, lives behind this trait.
///
/// The method returns `impl Future + Send` (a return-position `impl Trait` in a trait, stable
/// since Rust 1.75) rather than a boxed future, so an implementation may simply be written as
/// `async fn call(..)` and no allocation is made per call. The price is that the trait is not
/// dyn-compatible: [`CompiledCheck::run`](crate::CompiledCheck::run) is generic over the caller.
/// The future must be `Send` so that a check can run on a multi-threaded runtime.
pub trait Caller {
    /// Calls `operation` (as declared in the check, e.g. `"citizen-claims.getClaims"`).
    ///
    /// Any HTTP status is a response, not an error: the check's expressions decide what a 404
    /// means. An error is for a call that produced no usable response.
    fn call(
        &self,
        operation: &str,
        request: CallRequest,
    ) -> impl Future<Output = Result<CallResponse, CallError>> + Send;
}

/// What to send, as the check's expressions computed it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallRequest {
    /// Path parameters, name then value, in declaration order.
    pub path: Vec<(String, String)>,
    /// Query parameters, name then value, in declaration order; a name may repeat.
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// What came back.
#[derive(Clone, Debug, PartialEq)]
pub struct CallResponse {
    /// The HTTP status.
    pub status: u16,
    /// The parsed JSON body; `Null` when there was none.
    pub body: serde_json::Value,
}

/// A call that produced no usable response. The gateway maps these to 502, 503 and 504.
///
/// Messages must not carry personal data: they end up in logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The upstream could not be reached, or refused the call before answering (→ 503).
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// The upstream did not answer in time (→ 504).
    #[error("upstream timed out")]
    Timeout,
    /// The upstream answered with something unusable, e.g. a body that is not JSON (→ 502).
    #[error("invalid upstream response: {0}")]
    InvalidResponse(String),
}
