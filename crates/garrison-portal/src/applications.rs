//! Applications and their credentials: keys (shown once), client certificates and IP
//! allow-lists. An application is visible to its organisation and to platform admins only;
//! to anyone else it does not exist (404). Its consumer developers and platform admins change
//! it; its organisation's API owners only read it.

use garrison_core::{ApiKey, CertFingerprint, Environment, ProblemCode};
use garrison_store::{Application, Credential, NewApplication, Role};
use ipnet::IpNet;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

use crate::Portal;
use crate::auth::Principal;
use crate::identity::{check_name, check_slug};
use crate::reply::{Outcome, Refusal, created, no_content, ok};
use crate::routes::Call;

/// The application `id` if `who` may see it.
pub(crate) fn visible(portal: &Portal, who: &Principal, id: i64) -> Result<Application, Refusal> {
    portal
        .store
        .application(id)?
        .filter(|app| who.is_admin() || who.in_organisation(app.organisation))
        .ok_or_else(|| Refusal::not_found("application"))
}

/// The application `id` if `who` may change it.
fn manageable(portal: &Portal, who: &Principal, id: i64) -> Result<Application, Refusal> {
    let app = visible(portal, who, id)?;
    if who.is_admin() || who.role() == Role::ConsumerDeveloper {
        Ok(app)
    } else {
        Err(Refusal::forbidden(
            "Only the organisation's consumer developers may change its applications.",
        ))
    }
}

pub(crate) fn list(portal: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    let apps = if who.is_admin() {
        portal.store.applications(None)?
    } else {
        match who.organisation() {
            Some(org) => portal.store.applications(Some(org))?,
            None => Vec::new(),
        }
    };
    ok(&serde_json::json!({ "applications": apps }))
}

pub(crate) fn get(portal: &Portal, call: &Call<'_>) -> Outcome {
    ok(&visible(portal, call.who()?, call.id("app")?)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationInput {
    slug: String,
    name: String,
    organisation: Option<i64>,
}

/// A key issued now: the only answer that ever holds it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedKey {
    /// The key itself, shown once.
    key: String,
    credential: Credential,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedApplication {
    application: Application,
    sandbox_key: IssuedKey,
}

/// Most applications an organisation may hold, and unrevoked keys an application: every
/// application and key is compiled into the gateway's snapshot, so without a bound one
/// self-signed-up account could make every snapshot rebuild — how revocations take effect —
/// as slow as it liked.
const MAX_APPLICATIONS: usize = 100;
const MAX_LIVE_KEYS: usize = 10;

pub(crate) fn create(portal: &Portal, call: &Call<'_>) -> Outcome {
    let who = call.who()?;
    let input: ApplicationInput = call.body()?;
    let organisation = match (who.role(), who.organisation(), input.organisation) {
        (Role::PlatformAdmin, _, Some(org)) => org,
        (Role::PlatformAdmin, _, None) => {
            return Err(Refusal::bad(
                "organisation: a platform admin names the organisation",
            ));
        }
        (Role::ConsumerDeveloper, Some(own), None) => own,
        (Role::ConsumerDeveloper, Some(own), Some(named)) if named == own => own,
        (Role::ConsumerDeveloper, _, Some(_)) => {
            return Err(Refusal::forbidden(
                "An application can only be created for your own organisation.",
            ));
        }
        _ => {
            return Err(Refusal::forbidden(
                "Only consumer developers and platform admins create applications.",
            ));
        }
    };
    check_slug("slug", &input.slug)?;
    check_name("name", &input.name)?;
    if who.role() != Role::PlatformAdmin
        && portal.store.applications(Some(organisation))?.len() >= MAX_APPLICATIONS
    {
        return Err(Refusal::new(
            ProblemCode::Conflict,
            format!(
                "An organisation holds at most {MAX_APPLICATIONS} applications; delete one first."
            ),
        ));
    }
    let application = portal.store.create_application(NewApplication {
        organisation,
        slug: input.slug,
        name: input.name,
    })?;
    // A sandbox key at once, so a developer can try the sandbox straight away.
    let sandbox_key = issue(portal, application.id, Environment::Test)?;
    created(&CreatedApplication {
        application,
        sandbox_key,
    })
}

fn issue(
    portal: &Portal,
    application: i64,
    environment: Environment,
) -> Result<IssuedKey, Refusal> {
    let key = ApiKey::generate(environment)
        .map_err(|e| Refusal::new(ProblemCode::InternalError, e.to_string()))?;
    // `grn_test_` and four characters: enough to tell keys apart, far too little to guess.
    let prefix: String = key.expose().chars().take(13).collect();
    let credential = portal
        .store
        .add_key(application, environment, &prefix, key.digest())?;
    Ok(IssuedKey {
        key: key.expose().to_owned(),
        credential,
    })
}

pub(crate) fn list_keys(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = visible(portal, call.who()?, call.id("app")?)?;
    ok(&serde_json::json!({ "keys": portal.store.keys(app.id)? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyInput {
    environment: String,
}

fn environment(name: &str) -> Result<Environment, Refusal> {
    match name {
        "sandbox" => Ok(Environment::Test),
        "production" => Ok(Environment::Live),
        _ => Err(Refusal::bad("environment: expected sandbox or production")),
    }
}

pub(crate) fn create_key(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = manageable(portal, call.who()?, call.id("app")?)?;
    let input: KeyInput = call.body()?;
    let live = portal
        .store
        .keys(app.id)?
        .iter()
        .filter(|k| k.revoked_at.is_none())
        .count();
    if live >= MAX_LIVE_KEYS {
        return Err(Refusal::new(
            ProblemCode::Conflict,
            format!(
                "An application holds at most {MAX_LIVE_KEYS} unrevoked keys; revoke one first."
            ),
        ));
    }
    created(&issue(portal, app.id, environment(&input.environment)?)?)
}

/// The key `key` of `app`, if it is one of its keys.
fn key_of(portal: &Portal, app: &Application, key: i64) -> Result<Credential, Refusal> {
    portal
        .store
        .key(key)?
        .filter(|k| k.application == app.id)
        .ok_or_else(|| Refusal::not_found("key"))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rotated {
    key: String,
    credential: Credential,
    revoked: i64,
}

/// Issues a new key in the same environment and revokes the old one in the same request: a
/// rotation that leaves both valid is two calls (create, then revoke when deployed).
pub(crate) fn rotate_key(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = manageable(portal, call.who()?, call.id("app")?)?;
    let old = key_of(portal, &app, call.id("key")?)?;
    if old.revoked_at.is_some() {
        return Err(Refusal::new(
            ProblemCode::Conflict,
            "The key is revoked already; issue a new one instead.",
        ));
    }
    let issued = issue(portal, app.id, old.environment)?;
    portal.store.revoke_key(old.id)?;
    created(&Rotated {
        key: issued.key,
        credential: issued.credential,
        revoked: old.id,
    })
}

pub(crate) fn revoke_key(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = manageable(portal, call.who()?, call.id("app")?)?;
    let key = key_of(portal, &app, call.id("key")?)?;
    portal.store.revoke_key(key.id)?;
    no_content()
}

pub(crate) fn list_certificates(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = visible(portal, call.who()?, call.id("app")?)?;
    ok(&serde_json::json!({ "certificates": portal.store.certificates(app.id)? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateInput {
    pem: String,
    label: Option<String>,
}

pub(crate) fn add_certificate(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = manageable(portal, call.who()?, call.id("app")?)?;
    let input: CertificateInput = call.body()?;
    // Only the first certificate of the PEM is bound (the leaf): the gateway compares the
    // leaf the client presents.
    let der = CertificateDer::from_pem_slice(input.pem.as_bytes())
        .map_err(|_| Refusal::bad("pem: expected a PEM certificate (BEGIN CERTIFICATE)"))?;
    let label = input
        .label
        .unwrap_or_else(|| "client certificate".to_owned());
    check_name("label", &label)?;
    created(
        &portal
            .store
            .add_certificate(app.id, CertFingerprint::of_der(der.as_ref()), &label)?,
    )
}

pub(crate) fn revoke_certificate(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = manageable(portal, call.who()?, call.id("app")?)?;
    let cert = portal
        .store
        .certificate(call.id("certificate")?)?
        .filter(|c| c.application == app.id)
        .ok_or_else(|| Refusal::not_found("certificate"))?;
    portal.store.revoke_certificate(cert.id)?;
    no_content()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowList {
    networks: Vec<String>,
}

pub(crate) fn get_allow_list(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = visible(portal, call.who()?, call.id("app")?)?;
    let networks = portal.store.allow_list(app.id)?;
    ok(&AllowList {
        networks: networks.iter().map(ToString::to_string).collect(),
    })
}

/// The most entries one allow-list holds.
const MAX_NETWORKS: usize = 50;

pub(crate) fn set_allow_list(portal: &Portal, call: &Call<'_>) -> Outcome {
    let app = manageable(portal, call.who()?, call.id("app")?)?;
    let input: AllowList = call.body()?;
    if input.networks.len() > MAX_NETWORKS {
        return Err(Refusal::bad(format!("networks: at most {MAX_NETWORKS}")));
    }
    let mut networks = Vec::with_capacity(input.networks.len());
    for (i, text) in input.networks.iter().enumerate() {
        networks.push(
            network(portal, text).map_err(|why| Refusal::bad(format!("networks[{i}]: {why}")))?,
        );
    }
    portal.store.set_allow_list(app.id, &networks)?;
    get_allow_list(portal, call)
}

/// Parses an address or network and checks it is no wider than the configured prefix.
fn network(portal: &Portal, text: &str) -> Result<IpNet, String> {
    let net: IpNet = text
        .parse()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a network (CIDR)"))?;
    let widest = match net {
        IpNet::V4(_) => portal.settings.max_allow_prefix_v4,
        IpNet::V6(_) => portal.settings.max_allow_prefix_v6,
    };
    if net.prefix_len() < widest {
        return Err(format!(
            "{net} is wider than the /{widest} allowed for an application"
        ));
    }
    Ok(net.trunc())
}
