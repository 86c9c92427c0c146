//! APIs declared by their contracts: every operation of the contract becomes a route.
//!
//! The contract says *what* the API is (paths, operations, parameters, schemas); the
//! configuration says how the gateway serves it (upstream or mock, host, base path, auth,
//! limits, validation). Keeping gateway policy out of the contract means a contract can be
//! published to consumers as it is, and the same contract can be served by several
//! environments (a mocked sandbox, the real thing) with different policy.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::routes::{Templates, auth, host, upstream};
use super::{Check, METHODS};
use crate::model::*;
use crate::schema::*;

pub(super) fn resolve_apis(
    c: &mut Check<'_>,
    raw: &[RawApi],
    upstreams: &[Upstream],
    default_body: u64,
    templates: &mut Templates,
    routes: &mut Vec<Route>,
) -> Vec<Api> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    // The raw index of each API that made it into `out` (one whose contract loaded).
    let mut names_in_order = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let at = format!("apis[{i}]");
        c.name(&a.name, &format!("{at}.name"), &mut names);
        let mock = a.mock.as_ref().is_some_and(|m| **m);
        let upstream = match &a.upstream {
            Some(name) => upstream(c, name, &format!("{at}.upstream"), upstreams),
            None if mock || a.check.is_some() => None,
            None => {
                c.fail(
                    &a.name,
                    format!("{at}.upstream"),
                    "an API needs an upstream, unless it is served from its contract (mock: true) or is a check",
                );
                None
            }
        };
        if let (Some(flag), Some(_), true) = (&a.mock, &a.check, mock) {
            c.fail(
                flag,
                format!("{at}.mock"),
                "a check answers from real services through its steps: it cannot be a sandbox mock (whose keys anyone signed up may hold)",
            );
        }
        if let (Some(name), Some(_)) = (&a.upstream, &a.check) {
            c.fail(
                name,
                format!("{at}.upstream"),
                "a check calls other APIs' operations: it has no upstream",
            );
        }
        let host = host(c, &a.host, &format!("{at}.host"));
        let auth = auth(c, &a.auth, &format!("{at}.auth"));
        let timeout = a.timeout.as_ref().map(|_| {
            c.duration(
                &a.timeout,
                &format!("{at}.timeout"),
                Duration::from_secs(30),
            )
        });
        let max_body_bytes = c.count(
            &a.max_body_bytes,
            &format!("{at}.max_body_bytes"),
            default_body,
            0,
            1 << 40,
        );
        let validation = a.validation.as_ref();
        let validate_requests = validation
            .and_then(|v| v.requests.as_ref())
            .is_none_or(|r| **r);
        let responses = match validation.and_then(|v| v.responses.as_ref()) {
            None => ResponseValidation::Off,
            Some(text) => match text.as_str() {
                "off" => ResponseValidation::Off,
                "report" => ResponseValidation::Report,
                "enforce" => ResponseValidation::Enforce,
                _ => {
                    c.fail(
                        text,
                        format!("{at}.validation.responses"),
                        "expected off, report or enforce",
                    );
                    ResponseValidation::Off
                }
            },
        };

        let file = c.base.join(a.contract.as_str());
        let contract = match garrison_contract::load(&file) {
            Ok(contract) => contract,
            Err(e) => {
                c.fail(&a.contract, format!("{at}.contract"), e.to_string());
                continue;
            }
        };
        let compiled = match garrison_contract::validate::compile(&contract) {
            Ok(compiled) => compiled,
            Err(e) => {
                c.fail(&a.contract, format!("{at}.contract"), e.to_string());
                continue;
            }
        };
        let base_path = match &a.base_path {
            Some(text) => {
                let valid = text.is_empty()
                    || (text.starts_with('/')
                        && !text.ends_with('/')
                        && !text.contains(['{', '}', '?', '#', '*']));
                if !valid {
                    c.fail(
                        text,
                        format!("{at}.base_path"),
                        "a base path is empty or starts with '/', has no trailing '/' and no template",
                    );
                }
                text.to_string()
            }
            None => server_path(&contract.document),
        };

        let api = out.len();
        let contract_field = format!("{at}.contract");
        for (index, operation) in garrison_contract::operations(&contract).iter().enumerate() {
            let whole = format!("{base_path}{}", operation.path);
            let problem = if !METHODS.contains(&operation.method) {
                Some(format!(
                    "{} {} ({}): the gateway does not route {}",
                    operation.method, operation.path, operation.pointer, operation.method
                ))
            } else if let Err(why) = routable(operation.path) {
                Some(format!(
                    "{} {} ({}): {why}",
                    operation.method, operation.path, operation.pointer
                ))
            } else {
                let methods = [operation.method.to_owned()];
                templates
                    .add(&host, &methods, &whole, routes.len())
                    .err()
                    .map(|e| format!("{e} ({} in {})", operation.pointer, file.display()))
            };
            if let Some(message) = problem {
                c.fail(&a.contract, contract_field.clone(), message);
                continue;
            }
            routes.push(Route {
                name: route_name(&a.name, operation),
                group: a.name.to_string(),
                host: host.clone(),
                methods: vec![operation.method.to_owned()],
                path: whole,
                upstream,
                timeout,
                max_body_bytes,
                auth,
                audit: a.audit.as_ref().is_some_and(|f| **f),
                operation: Some(RouteOperation { api, index }),
                transfer: None,
            });
        }
        out.push(Api {
            name: a.name.to_string(),
            contract: Arc::new(contract),
            compiled: Arc::new(compiled),
            base_path,
            mock,
            validate_requests,
            responses,
            check: None,
        });
        names_in_order.push(i);
    }
    resolve_checks(c, raw, &names_in_order, &mut out, routes);
    out
}

/// Second pass, once every API's routes exist: each check's steps name operations of other
/// APIs (`api.operationId`), which must be routes derived from APIs that are not checks.
fn resolve_checks(
    c: &mut Check<'_>,
    raw: &[RawApi],
    raw_index: &[usize],
    apis: &mut [Api],
    routes: &[Route],
) {
    for (api_index, &i) in raw_index.iter().enumerate() {
        let a = &raw[i];
        let Some(check) = &a.check else { continue };
        let at = format!("apis[{i}].check");
        let operations = routes
            .iter()
            .filter(|r| r.operation.is_some_and(|o| o.api == api_index))
            .count();
        if operations != 1 {
            c.fail(
                &a.contract,
                format!("apis[{i}].contract"),
                format!("a check's contract declares exactly one operation, not {operations}"),
            );
        }
        let mut steps = Vec::new();
        let mut targets: Vec<(String, usize)> = Vec::new();
        for (j, step) in check.steps.iter().enumerate() {
            let field = format!("{at}.steps[{j}]");
            match &step.parallel {
                Some(group) => {
                    if step.name.is_some()
                        || step.operation.is_some()
                        || step.when.is_some()
                        || step.body.is_some()
                        || !step.path.is_empty()
                        || !step.query.is_empty()
                    {
                        c.fail(
                            &check.steps,
                            field.clone(),
                            "a step is either a call or `parallel:` calls, not both",
                        );
                    }
                    let mut calls = Vec::new();
                    for (k, call) in group.iter().enumerate() {
                        if let Some(call) = resolve_call(
                            c,
                            call,
                            &format!("{field}.parallel[{k}]"),
                            apis,
                            routes,
                            &mut targets,
                            &check.steps,
                        ) {
                            calls.push(call);
                        }
                    }
                    steps.push(garrison_compose::StepDefinition::Parallel(calls));
                }
                None => {
                    if let Some(call) =
                        resolve_call(c, step, &field, apis, routes, &mut targets, &check.steps)
                    {
                        steps.push(garrison_compose::StepDefinition::Call(call));
                    }
                }
            }
        }
        let mut refusals = Vec::new();
        for (j, refusal) in check.refuse.iter().enumerate() {
            let kind = match refusal.kind.as_str() {
                "invalid" => garrison_compose::RefusalKind::Invalid,
                "unavailable" => garrison_compose::RefusalKind::Unavailable,
                _ => {
                    c.fail(
                        &refusal.kind,
                        format!("{at}.refuse[{j}].as"),
                        "must be `invalid` (422: the caller's request cannot be answered) or `unavailable` (502: a service the check depends on failed)",
                    );
                    // Still compiled, so that an error in a later `when` names its own index.
                    garrison_compose::RefusalKind::Unavailable
                }
            };
            refusals.push(garrison_compose::RefusalDefinition {
                when: refusal.when.to_string(),
                kind,
                detail: refusal.detail.as_ref().map(|d| d.to_string()),
            });
        }
        let definition = garrison_compose::CheckDefinition {
            name: a.name.to_string(),
            steps,
            decision: check.decision.to_string(),
            refusals,
        };
        match garrison_compose::compile(&definition) {
            Ok(compiled) => {
                apis[api_index].check = Some(crate::model::Check {
                    definition,
                    compiled: Arc::new(compiled),
                    targets,
                });
            }
            // An expression of a refusal is reported where it is written.
            Err(e) => match e.site().map(|site| &site.field) {
                Some(&garrison_compose::Field::Refusal(j)) if j < check.refuse.len() => {
                    c.fail(
                        &check.refuse[j].when,
                        format!("{at}.refuse[{j}].when"),
                        e.to_string(),
                    );
                }
                _ => c.fail(&check.decision, at, e.to_string()),
            },
        }
    }
}

/// One call of a check: its operation must be a route derived from an API that is not itself
/// a check.
fn resolve_call(
    c: &mut Check<'_>,
    raw: &RawStep,
    field: &str,
    apis: &[Api],
    routes: &[Route],
    targets: &mut Vec<(String, usize)>,
    steps_at: &marked_yaml::Spanned<Vec<RawStep>>,
) -> Option<garrison_compose::CallDefinition> {
    if raw.parallel.is_some() {
        c.fail(steps_at, field, "parallel groups do not nest");
        return None;
    }
    let (Some(name), Some(operation)) = (&raw.name, &raw.operation) else {
        c.fail(
            steps_at,
            field,
            "a call needs a `name` and an `operation` (api.operationId)",
        );
        return None;
    };
    let route = routes.iter().position(|r| {
        r.name == **operation
            && r.operation
                .is_some_and(|o| o.api < apis.len() && apis[o.api].check.is_none())
    });
    match route {
        Some(index) if routes[index].upstream.is_some() || r_is_mock(apis, &routes[index]) => {
            if !targets.iter().any(|(name, _)| name == operation.as_str()) {
                targets.push((operation.to_string(), index));
            }
        }
        _ => {
            c.fail(
                operation,
                format!("{field}.operation"),
                format!(
                    "no API operation is named {:?} (expected api.operationId of an API that is not a check)",
                    operation.as_str()
                ),
            );
            return None;
        }
    }
    Some(garrison_compose::CallDefinition {
        name: name.to_string(),
        operation: operation.to_string(),
        when: raw.when.as_ref().map(|w| w.to_string()),
        path: raw
            .path
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        query: raw
            .query
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        body: raw.body.as_ref().map(|b| b.to_string()),
    })
}

fn r_is_mock(apis: &[Api], route: &Route) -> bool {
    route.operation.is_some_and(|o| apis[o.api].mock)
}

/// `api.operationId`, or `api.method-path` for an operation without one.
fn route_name(api: &str, operation: &garrison_contract::OperationInfo<'_>) -> String {
    match operation.operation_id {
        Some(id) => format!("{api}.{id}"),
        None => {
            let path: String = operation
                .path
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
                .collect();
            format!(
                "{api}.{}{}",
                operation.method.to_ascii_lowercase(),
                path.trim_end_matches('-')
            )
        }
    }
}

/// Whether the router can match an OpenAPI path template: it must start with '/', and a
/// parameter must fill a whole segment (`/files/{name}`, not `/files/{name}.json`).
fn routable(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("a path starts with '/'".to_owned());
    }
    for segment in path.split('/').skip(1) {
        let is_parameter = segment.len() > 2
            && segment.starts_with('{')
            && segment.ends_with('}')
            && segment[1..segment.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !is_parameter && segment.contains(['{', '}']) {
            return Err(format!(
                "the router cannot match the segment {segment:?}: a parameter must fill a whole \
                 path segment and be named with letters, digits, '_', '-' or '.'"
            ));
        }
    }
    Ok(())
}

/// The path of the contract's first server URL (`https://api.example.gov.uk/citizens/v1` →
/// `/citizens/v1`), with server variables at their defaults; empty when there is none.
fn server_path(document: &Value) -> String {
    let Some(server) = document
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
    else {
        return String::new();
    };
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(variables) = server.get("variables").and_then(Value::as_object) {
        for (name, variable) in variables {
            if let Some(default) = variable.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
    }
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url.as_str(),
    };
    path.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_segment_parameters_only() {
        assert!(routable("/citizens/{id}/address").is_ok());
        assert!(routable("/files/{name}.json").is_err());
        assert!(routable("/a/{b}{c}").is_err());
        assert!(routable("/a/{}").is_err());
        assert!(routable("relative").is_err());
    }

    #[test]
    fn server_paths() {
        let doc =
            serde_json::json!({"servers": [{"url": "https://api.example.gov.uk/citizens/v1/"}]});
        assert_eq!(server_path(&doc), "/citizens/v1");
        let doc = serde_json::json!({"servers": [{"url": "https://{env}.example.gov.uk/{version}",
            "variables": {"env": {"default": "api"}, "version": {"default": "v2"}}}]});
        assert_eq!(server_path(&doc), "/v2");
        let doc = serde_json::json!({"servers": [{"url": "/relative"}]});
        assert_eq!(server_path(&doc), "/relative");
        assert_eq!(server_path(&serde_json::json!({})), "");
        let doc = serde_json::json!({"servers": [{"url": "https://api.example.gov.uk"}]});
        assert_eq!(server_path(&doc), "");
    }
}
