//! Who may call: the admission checks of an authenticated route, in the order that reveals
//! the least to an unauthenticated caller and costs the least for a rejected one.

use std::time::Duration;

use garrison_config::RouteAuth;
use garrison_core::{KeyDigest, ProblemCode, ProblemItem, api_key};
use garrison_limits::Decision;
use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::Exchange;
use super::headers::{API_KEY, contains};
use crate::error::GatewayError;
use crate::identity::ConnectionIdentity;
use crate::snapshot::{RouteRuntime, Snapshot, SubscriptionRuntime};

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// The purpose header (the DWP Citizen API's `context`).
static PURPOSE: HeaderName = HeaderName::from_static("context");

/// The outcome of the rate limit, kept to write the `RateLimit` headers on the response.
pub(crate) struct Admission {
    policy: HeaderValue,
    state: HeaderValue,
    retry_after: Option<HeaderValue>,
}

impl Admission {
    fn new(subscription: &SubscriptionRuntime, decision: Decision) -> Self {
        let (remaining, reset, retry_after) = match decision {
            Decision::Allow { remaining, reset } => (remaining, reset, None),
            Decision::Deny { retry_after, reset } => (0, reset, Some(retry_after)),
        };
        // `"plan";r=<remaining>;t=<reset>`, written on the stack without the formatting
        // machinery: the only allocation is the header value itself. Plan names are at most
        // 64 characters, so the prefix and two numbers always fit.
        let mut buffer = [0u8; 128];
        let prefix = subscription.state_prefix.as_bytes();
        buffer[..prefix.len()].copy_from_slice(prefix);
        let mut written = prefix.len();
        written += write_decimal(&mut buffer[written..], u64::from(remaining));
        buffer[written..written + 3].copy_from_slice(b";t=");
        written += 3;
        written += write_decimal(&mut buffer[written..], ceil_secs(reset));
        Admission {
            policy: subscription.policy.clone(),
            state: HeaderValue::from_bytes(&buffer[..written])
                .unwrap_or_else(|_| HeaderValue::from_static("")),
            retry_after: retry_after.map(|d| HeaderValue::from(ceil_secs(d).max(1))),
        }
    }

    /// Writes `RateLimit-Policy`, `RateLimit` and, when refused, `Retry-After`
    /// (draft-ietf-httpapi-ratelimit-headers).
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(RATELIMIT_POLICY.clone(), self.policy.clone());
        headers.insert(RATELIMIT.clone(), self.state.clone());
        if let Some(retry) = &self.retry_after {
            headers.insert(header::RETRY_AFTER, retry.clone());
        }
    }
}

/// Writes `n` in decimal at the start of `out`; returns how many bytes it took.
fn write_decimal(out: &mut [u8], mut n: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (slot, digit) in out.iter_mut().zip(digits[..len].iter().rev()) {
        *slot = *digit;
    }
    len
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn forbidden(detail: &'static str) -> GatewayError {
    GatewayError::downstream(ProblemCode::ResourceForbidden, detail)
}

fn invalid_credentials() -> GatewayError {
    // One message for unknown, malformed and revoked keys: the caller learns nothing about
    // which keys exist.
    GatewayError::downstream(ProblemCode::InvalidCredentials, "The API key is not valid.")
}

/// Refuses callers outside the gateway-wide allow-list.
pub(crate) fn check_global_allow(
    snapshot: &Snapshot,
    exchange: &Exchange,
) -> Result<(), GatewayError> {
    let allow = &snapshot.settings.allow;
    if !allow.is_empty() && !contains(allow, exchange.client_ip) {
        return Err(forbidden("Requests from this address are not allowed."));
    }
    Ok(())
}

/// Identifies the caller of `route`: API key, the consumer's allow-list, its certificate
/// binding and its subscription. Returns the subscription to throttle against (`None` for a
/// public route); on success the exchange knows its consumer.
pub(crate) fn authenticate<'s>(
    snapshot: &'s Snapshot,
    conn: &ConnectionIdentity,
    route: &RouteRuntime,
    route_index: usize,
    headers: &HeaderMap,
    exchange: &mut Exchange,
) -> Result<Option<&'s SubscriptionRuntime>, GatewayError> {
    if route.auth == RouteAuth::Public {
        return Ok(None);
    }

    let key = headers.get(&API_KEY).ok_or_else(|| {
        GatewayError::downstream(
            ProblemCode::MissingCredentials,
            "An API key is required in the x-api-key header.",
        )
    })?;
    let key = key.as_bytes();
    // A key with Garrison's prefix must pass its checksum; this rejects typos and guesses
    // without a table lookup. Imported keys of other shapes go straight to the lookup.
    if key.starts_with(b"grn_") {
        let text = std::str::from_utf8(key).map_err(|_| invalid_credentials())?;
        api_key::check_format(text).map_err(|_| invalid_credentials())?;
    }
    let entry = snapshot
        .key(&KeyDigest::of(key))
        .ok_or_else(invalid_credentials)?;
    if entry.revoked {
        return Err(invalid_credentials());
    }
    exchange.consumer = Some(entry.consumer);
    // HMRC's rule: sandbox credentials reach the sandbox only, whatever is subscribed.
    if entry.sandbox_only && !route.sandbox {
        return Err(forbidden(
            "A sandbox key calls sandbox APIs only; use a production key.",
        ));
    }
    let consumer = &snapshot.consumers[entry.consumer];

    if !consumer.allow.is_empty() && !contains(&consumer.allow, exchange.client_ip) {
        return Err(forbidden(
            "Requests with these credentials are not allowed from this address.",
        ));
    }
    if !consumer.certificates.is_empty() {
        let bound = conn
            .client_cert
            .is_some_and(|fp| consumer.certificates.contains(&fp));
        if !bound {
            return Err(forbidden(
                "The client certificate is not the one bound to these credentials.",
            ));
        }
    }
    let subscription = snapshot
        .subscription(entry.consumer, route.group)
        .ok_or_else(|| forbidden("The application is not subscribed to this API."))?;
    entitle(subscription, route_index, headers)?;
    Ok(Some(subscription))
}

/// What the subscription entitles the consumer to: this operation of the API, and the purpose
/// it states (the `context` header, as the DWP Citizen API's consumers send it).
fn entitle(
    subscription: &SubscriptionRuntime,
    route_index: usize,
    headers: &HeaderMap,
) -> Result<(), GatewayError> {
    if let Some(operations) = &subscription.operations
        && operations.binary_search(&route_index).is_err()
    {
        return Err(forbidden(
            "The application is not entitled to this operation of the API.",
        ));
    }
    if let Some(purposes) = &subscription.purposes {
        let mut values = headers.get_all(&PURPOSE).iter();
        let stated = values.next().map(HeaderValue::as_bytes);
        if values.next().is_some() {
            return Err(super::repeated_purpose("context"));
        }
        match stated {
            None => {
                return Err(GatewayError::downstream(
                    ProblemCode::RequestInvalid,
                    "A purpose is required: state it in the context header.",
                )
                .with_errors(vec![ProblemItem {
                    location: "header.context".to_owned(),
                    rule: "required".to_owned(),
                    message: "the purpose of the request is required".to_owned(),
                }]));
            }
            Some(value) if !purposes.iter().any(|p| p.as_bytes() == value) => {
                return Err(forbidden(
                    "The stated purpose is not one this application may use this API for.",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Takes one request from the subscription's allowance, or refuses with 429.
pub(crate) fn throttle(
    snapshot: &Snapshot,
    subscription: &SubscriptionRuntime,
    exchange: &mut Exchange,
) -> Result<(), GatewayError> {
    let decision = subscription
        .quota
        .check(&subscription.cell, snapshot.clock.now());
    let admission = Admission::new(subscription, decision);
    let refused = admission.retry_after.is_some();
    exchange.admission = Some(admission);
    if refused {
        return Err(GatewayError::downstream(
            ProblemCode::MessageThrottledOut,
            "The request rate is over the plan's limit; retry after the time in Retry-After.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_in_place() {
        let mut out = [0u8; 20];
        for n in [0u64, 7, 10, 12_345, u64::MAX] {
            let len = write_decimal(&mut out, n);
            assert_eq!(
                std::str::from_utf8(&out[..len]).expect("ascii"),
                n.to_string()
            );
        }
    }
}
