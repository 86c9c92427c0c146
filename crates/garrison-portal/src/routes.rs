//! The endpoint table (one row per operation of the contract, by operationId), and the
//! dispatch: route, authenticate, run the handler, record changes as admin events.

use std::collections::HashMap;

use bytes::Bytes;
use garrison_core::ProblemCode;
use garrison_gateway::AdminContext;
use http::{HeaderValue, Method, Request, header};
use serde::de::DeserializeOwned;
use std::future::Future;

use crate::auth::{self, Principal, SESSION_PREFIX};
use crate::reply::{Outcome, Refusal, Reply};
use crate::{Portal, applications, catalogue, identity, subscriptions};

/// One request, as a handler sees it.
pub(crate) struct Call<'a> {
    /// The authenticated caller; `None` only for public endpoints.
    pub(crate) principal: Option<Principal>,
    pub(crate) params: HashMap<String, String>,
    pub(crate) body: &'a Bytes,
    pub(crate) context: &'a AdminContext,
    /// The bearer token presented, if any.
    pub(crate) token: Option<&'a str>,
}

impl Call<'_> {
    /// The caller (every non-public endpoint has one).
    pub(crate) fn who(&self) -> Result<&Principal, Refusal> {
        self.principal.as_ref().ok_or_else(|| {
            Refusal::new(
                ProblemCode::MissingCredentials,
                "A bearer token is required.",
            )
        })
    }

    /// A numeric path parameter.
    pub(crate) fn id(&self, name: &str) -> Result<i64, Refusal> {
        self.params
            .get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Refusal::bad(format!("{name}: expected a numeric id")))
    }

    /// The JSON body.
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<T, Refusal> {
        serde_json::from_slice(self.body).map_err(|e| Refusal::bad(format!("body: {e}")))
    }
}

type Handler = fn(&Portal, &Call<'_>) -> Outcome;

#[derive(Clone, Copy)]
struct Endpoint {
    operation: &'static str,
    handler: Handler,
    /// Callable without a bearer token (sign-in only).
    public: bool,
}

/// Every endpoint, by path template and method.
pub(crate) struct Routes {
    router: matchit::Router<Vec<(Method, Endpoint)>>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Routes")
    }
}

const TABLE: &[(&str, &str, &str, Handler, bool)] = &[
    ("POST", "sessions", "signIn", identity::sign_in, true),
    ("POST", "sign-ups", "signUp", identity::sign_up, true),
    (
        "DELETE",
        "sessions/current",
        "signOut",
        identity::sign_out,
        false,
    ),
    ("GET", "me", "getMe", identity::me, false),
    (
        "GET",
        "organisations",
        "listOrganisations",
        identity::list_organisations,
        false,
    ),
    (
        "POST",
        "organisations",
        "createOrganisation",
        identity::create_organisation,
        false,
    ),
    ("GET", "users", "listUsers", identity::list_users, false),
    ("POST", "users", "createUser", identity::create_user, false),
    ("GET", "plans", "listPlans", identity::list_plans, false),
    ("POST", "plans", "createPlan", identity::create_plan, false),
    ("GET", "events", "listEvents", identity::list_events, false),
    (
        "GET",
        "applications",
        "listApplications",
        applications::list,
        false,
    ),
    (
        "POST",
        "applications",
        "createApplication",
        applications::create,
        false,
    ),
    (
        "GET",
        "applications/{app}",
        "getApplication",
        applications::get,
        false,
    ),
    (
        "GET",
        "applications/{app}/keys",
        "listKeys",
        applications::list_keys,
        false,
    ),
    (
        "POST",
        "applications/{app}/keys",
        "createKey",
        applications::create_key,
        false,
    ),
    (
        "POST",
        "applications/{app}/keys/{key}/rotate",
        "rotateKey",
        applications::rotate_key,
        false,
    ),
    (
        "DELETE",
        "applications/{app}/keys/{key}",
        "revokeKey",
        applications::revoke_key,
        false,
    ),
    (
        "GET",
        "applications/{app}/certificates",
        "listCertificates",
        applications::list_certificates,
        false,
    ),
    (
        "POST",
        "applications/{app}/certificates",
        "addCertificate",
        applications::add_certificate,
        false,
    ),
    (
        "DELETE",
        "applications/{app}/certificates/{certificate}",
        "revokeCertificate",
        applications::revoke_certificate,
        false,
    ),
    (
        "GET",
        "applications/{app}/allow-list",
        "getAllowList",
        applications::get_allow_list,
        false,
    ),
    (
        "PUT",
        "applications/{app}/allow-list",
        "setAllowList",
        applications::set_allow_list,
        false,
    ),
    ("GET", "apis", "listApis", catalogue::list, false),
    ("POST", "apis", "createApi", catalogue::create, false),
    ("GET", "apis/{api}", "getApi", catalogue::get, false),
    (
        "POST",
        "apis/{api}/versions",
        "createApiVersion",
        catalogue::create_version,
        false,
    ),
    (
        "PUT",
        "apis/{api}/versions/{version}/lifecycle",
        "setLifecycle",
        catalogue::set_lifecycle,
        false,
    ),
    (
        "GET",
        "subscriptions",
        "listSubscriptions",
        subscriptions::list,
        false,
    ),
    (
        "POST",
        "subscriptions",
        "requestSubscription",
        subscriptions::request,
        false,
    ),
    (
        "POST",
        "subscriptions/{subscription}/approve",
        "approveSubscription",
        subscriptions::approve,
        false,
    ),
    (
        "POST",
        "subscriptions/{subscription}/reject",
        "rejectSubscription",
        subscriptions::reject,
        false,
    ),
    (
        "POST",
        "subscriptions/{subscription}/revoke",
        "revokeSubscription",
        subscriptions::revoke,
        false,
    ),
];

impl Routes {
    pub(crate) fn new() -> Self {
        let mut by_path: Vec<(String, Vec<(Method, Endpoint)>)> = Vec::new();
        for &(method, path, operation, handler, public) in TABLE {
            let path = format!("{}{path}", crate::PREFIX);
            let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
            let endpoint = Endpoint {
                operation,
                handler,
                public,
            };
            match by_path.iter_mut().find(|(p, _)| *p == path) {
                Some((_, methods)) => methods.push((method, endpoint)),
                None => by_path.push((path, vec![(method, endpoint)])),
            }
        }
        let mut router = matchit::Router::new();
        for (path, methods) in by_path {
            // The table is fixed at compile time; a test proves every row inserts.
            if let Err(e) = router.insert(path.clone(), methods) {
                tracing::error!(%path, error = %e, "admin API route not registered");
            }
        }
        Routes { router }
    }
}

/// Runs `operation` for `principal` exactly as the admin API would — the same handler, so
/// the same rules, and the same admin event for a change — with path `params` and a JSON
/// `body`; returns the status and the JSON answer (`null` for none). The web portal is a
/// client of the admin API through this, so it holds no authorisation rule of its own.
pub(crate) fn invoke(
    portal: &Portal,
    principal: Principal,
    operation: &str,
    params: &[(&str, String)],
    body: Option<serde_json::Value>,
    context: &AdminContext,
) -> (http::StatusCode, serde_json::Value) {
    let Some(&(method, _, _, handler, _)) = TABLE.iter().find(|row| row.2 == operation) else {
        return (
            http::StatusCode::NOT_FOUND,
            serde_json::json!({"detail": "no such operation"}),
        );
    };
    let body = Bytes::from(body.map(|b| b.to_string()).unwrap_or_default());
    let actor = principal.actor();
    let call = Call {
        principal: Some(principal),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        body: &body,
        context,
        token: None,
    };
    let outcome = handler(portal, &call);
    let code = match &outcome {
        Ok(_) => "ok",
        Err(refusal) => refusal.code.as_str(),
    };
    record(
        portal,
        &actor,
        operation,
        &call.params,
        method != "GET",
        code,
    );
    let reply = outcome.unwrap_or_else(|refusal| refusal.reply());
    let status = reply.status();
    (status, body_of(reply))
}

/// The JSON of an answer built in memory: a `Full` body is complete, so its one frame is
/// ready at the first poll (no executor needed on this blocking thread).
fn body_of(reply: Reply) -> serde_json::Value {
    use http_body_util::BodyExt;
    let mut collect = std::pin::pin!(reply.into_body().collect());
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match collect.as_mut().poll(&mut context) {
        std::task::Poll::Ready(Ok(collected)) => {
            serde_json::from_slice(&collected.to_bytes()).unwrap_or(serde_json::Value::Null)
        }
        _ => serde_json::Value::Null,
    }
}

/// Answers one request.
pub(crate) fn dispatch(portal: &Portal, request: &Request<Bytes>, context: &AdminContext) -> Reply {
    let Ok(found) = portal.routes.router.at(request.uri().path()) else {
        return Refusal::new(
            ProblemCode::MatchingResourceNotFound,
            "No admin API endpoint matches the request.",
        )
        .reply();
    };
    let Some(endpoint) = found
        .value
        .iter()
        .find(|(m, _)| m == request.method())
        .map(|(_, e)| *e)
    else {
        let mut refused = Refusal::new(
            ProblemCode::MethodNotAllowed,
            "The endpoint does not support this method.",
        )
        .reply();
        let allow: Vec<&str> = found.value.iter().map(|(m, _)| m.as_str()).collect();
        if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
            refused.headers_mut().insert(header::ALLOW, value);
        }
        return refused;
    };
    let params: HashMap<String, String> = found
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let changes = request.method() != Method::GET;
    let principal = match authenticate(portal, request.headers(), context) {
        Ok(principal) => principal,
        Err(refusal) if !endpoint.public => {
            record(
                portal,
                "anonymous",
                endpoint.operation,
                &params,
                changes,
                refusal.code.as_str(),
            );
            return refusal.reply();
        }
        Err(_) => None,
    };
    if principal.is_none() && !endpoint.public {
        let refusal = Refusal::new(
            ProblemCode::MissingCredentials,
            "A bearer token is required.",
        );
        record(
            portal,
            "anonymous",
            endpoint.operation,
            &params,
            changes,
            refusal.code.as_str(),
        );
        return refusal.reply();
    }
    let actor = principal
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), Principal::actor);
    let call = Call {
        principal,
        params,
        body: request.body(),
        context,
        token: auth::bearer(request.headers()),
    };
    let outcome = (endpoint.handler)(portal, &call);
    let code = match &outcome {
        // A throttled sign-in or sign-up answers its own reply (with `Retry-After`).
        Ok(reply) if reply.status() == http::StatusCode::TOO_MANY_REQUESTS => {
            ProblemCode::MessageThrottledOut.as_str()
        }
        Ok(_) => "ok",
        Err(refusal) => refusal.code.as_str(),
    };
    record(
        portal,
        &actor,
        endpoint.operation,
        &call.params,
        changes,
        code,
    );
    outcome.unwrap_or_else(|refusal| refusal.reply())
}

/// Records a change or refused attempt (reads are not recorded: they change nothing and the
/// admin listener's own access is the operator's to log). A record that cannot be written
/// is logged; the answer stands.
fn record(
    portal: &Portal,
    actor: &str,
    operation: &str,
    params: &HashMap<String, String>,
    changes: bool,
    outcome: &str,
) {
    if !changes {
        return;
    }
    let mut target: Vec<String> = params.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    target.sort();
    portal.record_event(actor, operation, &target.join(","), outcome);
}

/// The caller: the admin token's holder, a session's user, or nobody (no token).
fn authenticate(
    portal: &Portal,
    headers: &http::HeaderMap,
    context: &AdminContext,
) -> Result<Option<Principal>, Refusal> {
    let Some(token) = auth::bearer(headers) else {
        return Ok(None);
    };
    let invalid = || {
        Refusal::new(
            ProblemCode::InvalidCredentials,
            "The bearer token is not valid.",
        )
    };
    let digest = auth::token_digest(token);
    if let Some(admin) = context.admin_token
        && digest.ct_eq(&admin)
    {
        return Ok(Some(Principal::AdminToken));
    }
    if !token.starts_with(SESSION_PREFIX) {
        return Err(invalid());
    }
    let session = portal
        .store
        .session(&digest, garrison_store::now())?
        .ok_or_else(invalid)?;
    let user = portal.store.user(session.user)?.ok_or_else(invalid)?;
    Ok(Some(Principal::User(user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_is_routable_and_operation_ids_are_unique() {
        let routes = Routes::new();
        let mut seen = std::collections::HashSet::new();
        for &(method, path, operation, _, _) in TABLE {
            assert!(seen.insert(operation), "{operation} twice");
            let concrete = path.replace(['{', '}'], "");
            let concrete = format!("{}{concrete}", crate::PREFIX);
            let found = routes
                .router
                .at(&concrete)
                .unwrap_or_else(|_| panic!("{method} {concrete} not routed"));
            assert!(
                found
                    .value
                    .iter()
                    .any(|(m, e)| m.as_str() == method && e.operation == operation),
                "{method} {path}"
            );
        }
    }
}
