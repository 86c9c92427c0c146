//! The API library `garrison up` puts in a new control-plane store, so that a newcomer opening
//! the portal finds the citizen APIs and checks in the catalogue and can sign in: the
//! Department for Work and Pensions owning every API of the configuration, a consumer
//! organisation, one API owner and one consumer developer (random passwords, written to a
//! private file, never printed), and a plan to subscribe under.
//!
//! Only an empty store is seeded: what a user changed is never overwritten.

use std::path::{Path, PathBuf};

use garrison_config::Config;
use garrison_core::api_key::{ApiKey, Environment};
use garrison_store::{
    Classification, Lifecycle, NewApi, NewApiVersion, NewOrganisation, NewPlan, NewUser, Role,
    Store, password,
};

/// The sign-ins `garrison up` creates: (email, name, role, organisation slug).
const USERS: [(&str, &str, Role, &str); 2] = [
    ("owner@dwp.example", "Demo API owner", Role::ApiOwner, "dwp"),
    (
        "developer@dvla.example",
        "Demo consumer developer",
        Role::ConsumerDeveloper,
        "dvla",
    ),
];

/// Seeds an empty store from the configuration's `apis:`; returns the file holding the demo
/// sign-ins when it did.
pub(crate) fn seed(
    store: &dyn Store,
    config: &Config,
    demo_dir: &Path,
) -> Result<Option<PathBuf>, String> {
    let e = |e: garrison_store::StoreError| e.to_string();
    if !store.organisations().map_err(e)?.is_empty() {
        return Ok(None);
    }
    let dwp = store
        .create_organisation(NewOrganisation {
            slug: "dwp".to_owned(),
            name: "Department for Work and Pensions".to_owned(),
        })
        .map_err(e)?;
    let dvla = store
        .create_organisation(NewOrganisation {
            slug: "dvla".to_owned(),
            name: "Driver and Vehicle Licensing Agency".to_owned(),
        })
        .map_err(e)?;
    store
        .create_plan(NewPlan {
            name: "standard".to_owned(),
            requests: 10,
            period_seconds: 1,
            burst: 20,
        })
        .map_err(e)?;
    for api in &config.apis {
        let info = &api.contract.document["info"];
        let text = |field: &str| info[field].as_str().unwrap_or_default().trim().to_owned();
        let title = Some(text("title"))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| api.name.clone());
        let description = text("description")
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut tags = vec![
            if api.check.is_some() {
                "check"
            } else {
                "citizen"
            }
            .to_owned(),
        ];
        if api.mock {
            tags.push("sandbox".to_owned());
        }
        let created = store
            .create_api(NewApi {
                slug: api.name.clone(),
                title,
                owner: dwp.id,
                description,
                // Every API of the demo answers about people, the mocked sandbox included.
                classification: Classification::OfficialSensitive,
                tags,
            })
            .map_err(e)?;
        store
            .create_api_version(NewApiVersion {
                api: created.id,
                version: "v1".to_owned(),
                group: api.name.clone(),
                status: if api.mock {
                    Lifecycle::Beta
                } else {
                    Lifecycle::Stable
                },
            })
            .map_err(e)?;
    }
    let mut lines = String::from(
        "# garrison up: demo sign-ins for the portal (email password); keep this file private\n",
    );
    for (email, name, role, organisation) in USERS {
        let password = random_password()?;
        store
            .create_user(NewUser {
                email: email.to_owned(),
                name: name.to_owned(),
                organisation: Some(if organisation == "dwp" {
                    dwp.id
                } else {
                    dvla.id
                }),
                role,
                password_hash: password::hash(&password).map_err(e)?,
            })
            .map_err(e)?;
        lines.push_str(&format!("{email} {password}\n"));
    }
    let file = demo_dir.join("portal-users");
    write_private(&file, &lines)?;
    Ok(Some(file))
}

/// 32 random characters from the alphabet of API keys: a password nobody has to invent.
fn random_password() -> Result<String, String> {
    let key = ApiKey::generate(Environment::Test).map_err(|e| format!("randomness: {e}"))?;
    let random = key.expose().trim_start_matches(Environment::Test.prefix());
    Ok(random.chars().take(32).collect())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}
