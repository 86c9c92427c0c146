//! Subscriptions: a consumer developer asks for an API version under a plan and for a
//! purpose; an API owner of the API's owner organisation (or a platform admin) approves,
//! rejects or later revokes it. A subscription is visible to the subscribing organisation,
//! to the API's owner organisation and to platform admins; to anyone else it does not exist.

use garrison_core::ProblemCode;
use garrison_store::{Decision, Lifecycle, NewSubscription, Subscription, SubscriptionStatus};
use serde::Deserialize;

use crate::Portal;
use crate::applications;
use crate::auth::Principal;
use crate::catalogue::may_own;
use crate::reply::{Outcome, Refusal, created, ok};
use crate::routes::Call;

/// The organisation that owns the API a subscription is for.
fn api_owner(portal: &Portal, subscription: &Subscription) -> Result<i64, Refusal> {
    let version = portal
        .store
        .api_version(subscription.api_version)?
        .ok_or_else(|| Refusal::not_found("API version"))?;
    let api = portal
        .store
        .api(version.api)?
        .ok_or_else(|| Refusal::not_found("API"))?;
    Ok(api.owner)
}

/// Whether `who` may see `subscription`.
fn may_see(portal: &Portal, who: &Principal, subscription: &Subscription) -> Result<bool, Refusal> {
    if who.is_admin() {
        return Ok(true);
    }
    let Some(org) = who.organisation() else {
        return Ok(false);
    };
    let app = portal.store.application(subscription.application)?;
    Ok(app.is_some_and(|a| a.organisation == org) || api_owner(portal, subscription)? == org)
}

pub(crate) fn list(portal: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    let mut visible = Vec::new();
    for subscription in portal.store.subscriptions(None)? {
        if may_see(portal, who, &subscription)? {
            let requester = requester(portal, &subscription)?;
            let mut entry = serde_json::to_value(&subscription)
                .map_err(|e| Refusal::new(ProblemCode::InternalError, e.to_string()))?;
            if let Some(fields) = entry.as_object_mut() {
                fields.insert("requester".to_owned(), requester);
            }
            visible.push(entry);
        }
    }
    ok(&serde_json::json!({ "subscriptions": visible }))
}

/// Who asks, as the owner deciding needs to see it: the application's organisation (name and
/// slug — a display name alone can be anyone's), the application, the person and the plan.
/// Without it an approval is a guess at "Application #7".
fn requester(portal: &Portal, subscription: &Subscription) -> Result<serde_json::Value, Refusal> {
    let app = portal.store.application(subscription.application)?;
    let org = match &app {
        Some(app) => portal.store.organisation(app.organisation)?,
        None => None,
    };
    let user = portal.store.user(subscription.requested_by)?;
    let plan = portal.store.plan(subscription.plan)?;
    Ok(serde_json::json!({
        "organisation": org.map(|o| serde_json::json!({"name": o.name, "slug": o.slug})),
        "application": app.map(|a| serde_json::json!({"name": a.name, "slug": a.slug})),
        "email": user.map(|u| u.email),
        "plan": plan.map(|p| p.name),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SubscriptionInput {
    application: i64,
    api_version: i64,
    plan: i64,
    purpose: String,
}

/// A purpose is what the consumer will send in the `context` header: 1 to 64 characters
/// that are safe in a header and in logs.
fn check_purpose(purpose: &str) -> Result<(), Refusal> {
    let ok = (1..=64).contains(&purpose.len())
        && purpose
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(Refusal::bad(
            "purpose: 1 to 64 letters, digits and - _ . : / (the value of the context header)",
        ))
    }
}

pub(crate) fn request(portal: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    let input: SubscriptionInput = call.body()?;
    let app = applications::visible(portal, who, input.application)?;
    if !(who.is_admin() || who.role() == garrison_store::Role::ConsumerDeveloper) {
        return Err(Refusal::forbidden(
            "Only consumer developers request subscriptions for their applications.",
        ));
    }
    check_purpose(&input.purpose)?;
    let version = portal
        .store
        .api_version(input.api_version)?
        .ok_or_else(|| Refusal::not_found("API version"))?;
    if matches!(version.status, Lifecycle::Alpha | Lifecycle::Retired) {
        return Err(Refusal::bad(format!(
            "apiVersion: a {} version cannot be subscribed to",
            version.status.as_str()
        )));
    }
    portal
        .store
        .plan(input.plan)?
        .ok_or_else(|| Refusal::not_found("plan"))?;
    let requested_by = match who {
        Principal::User(u) => u.id,
        Principal::AdminToken => {
            return Err(Refusal::bad(
                "The admin token is no user; sign in as one to request a subscription.",
            ));
        }
    };
    created(&portal.store.request_subscription(NewSubscription {
        application: app.id,
        api_version: version.id,
        plan: input.plan,
        purpose: input.purpose,
        requested_by,
    })?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DecisionInput {
    reason: Option<String>,
    fields: Option<Vec<String>>,
}

fn decide(portal: &Portal, call: &Call<'_>, status: SubscriptionStatus) -> Outcome {
    let who = call.who()?;
    let subscription = portal
        .store
        .subscription(call.id("subscription")?)?
        .ok_or_else(|| Refusal::not_found("subscription"))?;
    if !may_see(portal, who, &subscription)? {
        return Err(Refusal::not_found("subscription"));
    }
    if !may_own(who, api_owner(portal, &subscription)?) {
        return Err(Refusal::forbidden(
            "Only the API's owner organisation decides its subscriptions.",
        ));
    }
    let input: DecisionInput = if call.body.is_empty() {
        DecisionInput::default()
    } else {
        call.body()?
    };
    if input
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 1000)
    {
        return Err(Refusal::bad("reason: at most 1000 characters"));
    }
    if status == SubscriptionStatus::Rejected && input.reason.is_none() {
        return Err(Refusal::bad("reason: say why, for the consumer"));
    }
    if input.fields.is_some() && status != SubscriptionStatus::Approved {
        return Err(Refusal::bad("fields: granted on approval only"));
    }
    let by = match who {
        Principal::User(u) => u.id,
        Principal::AdminToken => {
            return Err(Refusal::bad(
                "The admin token is no user; sign in as one to decide a subscription.",
            ));
        }
    };
    if !subscription.status.may_become(status) {
        return Err(Refusal::new(
            garrison_core::ProblemCode::Conflict,
            format!(
                "A {} subscription cannot become {}.",
                subscription.status.as_str(),
                status.as_str()
            ),
        ));
    }
    ok(&portal.store.decide_subscription(
        subscription.id,
        Decision {
            status,
            by,
            reason: input.reason,
            fields: input.fields,
        },
    )?)
}

pub(crate) fn approve(portal: &Portal, call: &Call<'_>) -> Outcome {
    decide(portal, call, SubscriptionStatus::Approved)
}

pub(crate) fn reject(portal: &Portal, call: &Call<'_>) -> Outcome {
    decide(portal, call, SubscriptionStatus::Rejected)
}

pub(crate) fn revoke(portal: &Portal, call: &Call<'_>) -> Outcome {
    decide(portal, call, SubscriptionStatus::Revoked)
}
