//! The catalogue: APIs, their versions and their lifecycle. Everyone signed in reads it; an
//! API's owner organisation (its API owners) and platform admins change it.

use garrison_core::ProblemCode;
use garrison_store::{
    Api, ApiVersion, Classification, Lifecycle, LifecycleChange, NewApi, NewApiVersion, Role,
};
use serde::{Deserialize, Serialize};

use crate::Portal;
use crate::auth::Principal;
use crate::identity::{check_name, check_slug};
use crate::reply::{Outcome, Refusal, created, ok};
use crate::routes::Call;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiEntry {
    #[serde(flatten)]
    api: Api,
    versions: Vec<ApiVersion>,
}

fn entry(portal: &Portal, api: Api) -> Result<ApiEntry, Refusal> {
    let versions = portal.store.api_versions(api.id)?;
    Ok(ApiEntry { api, versions })
}

pub(crate) fn list(portal: &Portal, call: &Call<'_>) -> Outcome {
    call.who()?;
    let apis = portal
        .store
        .apis()?
        .into_iter()
        .map(|api| entry(portal, api))
        .collect::<Result<Vec<_>, _>>()?;
    ok(&serde_json::json!({ "apis": apis }))
}

pub(crate) fn get(portal: &Portal, call: &Call<'_>) -> Outcome {
    call.who()?;
    let api = portal
        .store
        .api(call.id("api")?)?
        .ok_or_else(|| Refusal::not_found("API"))?;
    ok(&entry(portal, api)?)
}

/// The API `id` if `who` may change it: a platform admin, or an API owner of its owner.
pub(crate) fn owned(portal: &Portal, who: &Principal, id: i64) -> Result<Api, Refusal> {
    let api = portal
        .store
        .api(id)?
        .ok_or_else(|| Refusal::not_found("API"))?;
    if may_own(who, api.owner) {
        Ok(api)
    } else {
        Err(Refusal::forbidden(
            "Only the API's owner organisation may change it.",
        ))
    }
}

/// Whether `who` acts for the owner organisation `owner` (or runs the platform).
pub(crate) fn may_own(who: &Principal, owner: i64) -> bool {
    who.is_admin() || (who.role() == Role::ApiOwner && who.in_organisation(owner))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiInput {
    slug: String,
    title: String,
    owner: Option<i64>,
    description: String,
    classification: String,
    #[serde(default)]
    tags: Vec<String>,
}

pub(crate) fn create(portal: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    let input: ApiInput = call.body()?;
    let owner = match (who.role(), who.organisation(), input.owner) {
        (Role::PlatformAdmin, _, Some(owner)) => owner,
        (Role::PlatformAdmin, _, None) => {
            return Err(Refusal::bad(
                "owner: a platform admin names the owner organisation",
            ));
        }
        (Role::ApiOwner, Some(own), None) => own,
        (Role::ApiOwner, Some(own), Some(named)) if named == own => own,
        _ => {
            return Err(Refusal::forbidden(
                "Only API owners (for their organisation) and platform admins publish APIs.",
            ));
        }
    };
    check_slug("slug", &input.slug)?;
    check_name("title", &input.title)?;
    if input.description.chars().count() > 5000 {
        return Err(Refusal::bad("description: at most 5000 characters"));
    }
    let classification = Classification::parse(&input.classification)
        .ok_or_else(|| Refusal::bad("classification: expected official or official_sensitive"))?;
    for tag in &input.tags {
        check_slug("tags[]", tag)?;
    }
    let api = portal.store.create_api(NewApi {
        slug: input.slug,
        title: input.title,
        owner,
        description: input.description,
        classification,
        tags: input.tags,
    })?;
    created(&entry(portal, api)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionInput {
    version: String,
    group: String,
    status: String,
}

fn status(name: &str) -> Result<Lifecycle, Refusal> {
    Lifecycle::parse(name)
        .ok_or_else(|| Refusal::bad("status: expected alpha, beta, stable, deprecated or retired"))
}

pub(crate) fn create_version(portal: &Portal, call: &Call<'_>) -> Outcome {
    let api = owned(portal, call.who()?, call.id("api")?)?;
    let input: VersionInput = call.body()?;
    check_slug("version", &input.version)?;
    // The route group is the configuration's API name, which allows `.` and `_` as well.
    if input.group.is_empty()
        || input.group.len() > 100
        || !input
            .group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(Refusal::bad(
            "group: the name of an API of the configuration",
        ));
    }
    if !call.who()?.is_admin() {
        group_free_for(portal, &input.group, api.owner)?;
    }
    created(&portal.store.create_api_version(NewApiVersion {
        api: api.id,
        version: input.version,
        group: input.group,
        status: status(&input.status)?,
    })?)
}

/// A route group is the organisation's whose API first published it: subscriptions approved,
/// lifecycles set and usage shown for a version all act on its group at the gateway, so an API
/// owner naming another organisation's group would hand out access to that organisation's
/// data. Only a platform administrator may bind a group across organisations.
fn group_free_for(portal: &Portal, group: &str, owner: i64) -> Result<(), Refusal> {
    for other in portal.store.apis()? {
        if other.owner == owner {
            continue;
        }
        if portal
            .store
            .api_versions(other.id)?
            .iter()
            .any(|v| v.group == group)
        {
            return Err(Refusal::new(
                ProblemCode::Conflict,
                "group: served by another organisation's API.",
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleInput {
    status: String,
    sunset: Option<String>,
    successor: Option<i64>,
}

pub(crate) fn set_lifecycle(portal: &Portal, call: &Call<'_>) -> Outcome {
    let api = owned(portal, call.who()?, call.id("api")?)?;
    let version = portal
        .store
        .api_version(call.id("version")?)?
        .filter(|v| v.api == api.id)
        .ok_or_else(|| Refusal::not_found("API version"))?;
    let input: LifecycleInput = call.body()?;
    let status = status(&input.status)?;
    if status == Lifecycle::Deprecated && input.sunset.is_none() {
        return Err(Refusal::bad(
            "sunset: a deprecated version needs a sunset date",
        ));
    }
    if let Some(successor) = input.successor
        && portal
            .store
            .api_version(successor)?
            .is_none_or(|s| s.api != api.id)
    {
        return Err(Refusal::bad("successor: not a version of this API"));
    }
    ok(&portal.store.set_lifecycle(
        version.id,
        LifecycleChange {
            status,
            sunset: input.sunset,
            successor: input.successor,
        },
    )?)
}
