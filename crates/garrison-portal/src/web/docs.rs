//! An API's page and its documentation: each version's contract (the resolved document the
//! gateway validates against) served as JSON and rendered by Swagger UI, which comes from the
//! `utoipa-swagger-ui` crate (its dist vendored in the crate, embedded in the binary) — never
//! copied into this repository. Calls from the documentation ("try it out") are off: they go
//! through the try-it console ([`super::console`]), relayed through the gateway.

use std::sync::Arc;

use bytes::Bytes;
use garrison_store::User;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

use super::Page;
use super::pages::{escape, html, nav, plain, redirect};
use crate::Portal;

/// What the documentation pages need from the browser beyond the portal's own policy:
/// Swagger UI's scripts (from this origin), its inline styles and `data:` icons, and fetching
/// the contract (from this origin).
pub(super) const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The API with slug `slug` and its versions, or a 404 page.
fn api_and_versions(
    portal: &Portal,
    slug: &str,
) -> Result<(garrison_store::Api, Vec<garrison_store::ApiVersion>), Box<Page>> {
    let not_found = || Box::new(plain(StatusCode::NOT_FOUND, "There is no such API."));
    let unreadable = |_: garrison_store::StoreError| {
        Box::new(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The catalogue could not be read.",
        ))
    };
    let api = portal
        .store
        .apis()
        .map_err(unreadable)?
        .into_iter()
        .find(|a| a.slug == slug)
        .ok_or_else(not_found)?;
    let versions = portal.store.api_versions(api.id).map_err(unreadable)?;
    Ok((api, versions))
}

/// `/apis/{slug}`: what the API is, who owns it, and each version with its lifecycle and a
/// link to its documentation when its contract is known.
pub(super) fn api_page(portal: &Portal, user: &User, csrf: &str, slug: &str) -> Page {
    let (api, versions) = match api_and_versions(portal, slug) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let owner = portal
        .store
        .organisation(api.owner)
        .ok()
        .flatten()
        .map_or_else(|| "—".to_owned(), |o| o.name);
    let mut main = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<dl class=\"facts\">\n<dt>Owner</dt><dd>{}</dd>\n\
         <dt>Classification</dt><dd>{}</dd>\n<dt>Tags</dt><dd>{}</dd>\n</dl>\n\
         <h2>Versions</h2>\n<table>\n<caption>Versions of {}</caption>\n<thead><tr>\
         <th scope=\"col\">Version</th><th scope=\"col\">Status</th><th scope=\"col\">Sunset</th>\
         <th scope=\"col\">Documentation</th></tr></thead>\n<tbody>\n",
        escape(&api.title),
        escape(&api.description),
        escape(&owner),
        match api.classification {
            garrison_store::Classification::Official => "OFFICIAL",
            _ => "OFFICIAL-SENSITIVE",
        },
        escape(&api.tags.join(", ")),
        escape(&api.title),
    );
    for version in &versions {
        let docs = if portal.contract(&version.group).is_some() {
            format!(
                "<a href=\"/apis/{slug}/{v}/docs/\">Documentation <span class=\"visually-hidden\">of {v}</span></a> · \
                 <a href=\"/apis/{slug}/{v}/openapi.json\">OpenAPI <span class=\"visually-hidden\">of {v}</span></a>",
                slug = escape(&api.slug),
                v = escape(&version.version)
            )
        } else {
            "—".to_owned()
        };
        let docs = match portal.sandbox_base(&version.group) {
            Some(_) if portal.contract(&version.group).is_some() => format!(
                "{docs} · <a href=\"/apis/{slug}/{v}/console\">Try it <span class=\"visually-hidden\">{v}</span> in the console</a>",
                slug = escape(&api.slug),
                v = escape(&version.version)
            ),
            _ => docs,
        };
        main.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td><strong class=\"status status-{s}\">{s}</strong></td>\
             <td>{}</td><td>{}</td></tr>\n",
            escape(&version.version),
            escape(version.sunset.as_deref().unwrap_or("—")),
            docs,
            s = version.status.as_str(),
        ));
    }
    main.push_str("</tbody>\n</table>\n");
    if user.role == garrison_store::Role::PlatformAdmin || user.organisation == Some(api.owner) {
        main.push_str(&format!(
            "<p><a href=\"/apis/{}/usage\">Usage of this API</a></p>\n",
            escape(&api.slug)
        ));
    }
    changelog(portal, &versions, &mut main);
    html(StatusCode::OK, &api.title, &main, &nav(user, csrf))
}

/// What changed between each version and the next (by the order they were added), as
/// `garrison contract diff` reports it: breaking changes first.
fn changelog(portal: &Portal, versions: &[garrison_store::ApiVersion], main: &mut String) {
    let documented: Vec<_> = versions
        .iter()
        .filter_map(|v| portal.contract(&v.group).map(|c| (v, c)))
        .collect();
    if documented.len() < 2 {
        return;
    }
    main.push_str("<h2>Changelog</h2>\n");
    for pair in documented.windows(2) {
        let ((old, old_contract), (new, new_contract)) = (&pair[0], &pair[1]);
        let mut changes = garrison_contract::diff(old_contract, new_contract);
        changes.sort_by_key(|c| c.level);
        main.push_str(&format!(
            "<h3>From {} to {}</h3>\n",
            escape(&old.version),
            escape(&new.version)
        ));
        if changes.is_empty() {
            main.push_str("<p>No change to the contract.</p>\n");
            continue;
        }
        let breaking = changes
            .iter()
            .filter(|c| c.level == garrison_contract::Level::Breaking)
            .count();
        main.push_str(&format!(
            "<p>{} changes, {breaking} breaking.</p>\n<ul class=\"changes\">\n",
            changes.len()
        ));
        for change in &changes {
            main.push_str(&format!(
                "<li><strong class=\"change change-{level}\">{level}</strong> {} <code>{}</code></li>\n",
                escape(&change.message),
                escape(&change.pointer),
                level = change.level.as_str(),
            ));
        }
        main.push_str("</ul>\n");
    }
}

/// The contract of version `version` of API `slug`, if known.
fn contract_of(
    portal: &Portal,
    slug: &str,
    version: &str,
) -> Result<Arc<serde_json::Value>, Box<Page>> {
    let (_, versions) = api_and_versions(portal, slug)?;
    versions
        .iter()
        .find(|v| v.version == version)
        .and_then(|v| portal.contract(&v.group))
        .ok_or_else(|| {
            Box::new(plain(
                StatusCode::NOT_FOUND,
                "This version has no published contract.",
            ))
        })
}

/// `/apis/{slug}/{version}/openapi.json`.
pub(super) fn openapi(portal: &Portal, slug: &str, version: &str) -> Page {
    let contract = match contract_of(portal, slug, version) {
        Ok(contract) => contract,
        Err(page) => return *page,
    };
    let body = serde_json::to_vec_pretty(contract.as_ref()).unwrap_or_default();
    let mut page = Response::new(Full::new(Bytes::from(body)));
    page.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    page
}

/// `/apis/{slug}/{version}/docs/{file}`: Swagger UI's files, configured for this contract.
pub(super) fn swagger(portal: &Portal, slug: &str, version: &str, file: &str) -> Page {
    if let Err(page) = contract_of(portal, slug, version) {
        return *page;
    }
    if file.is_empty() && !slug.is_empty() {
        // Swagger UI's index refers to its files relatively: the directory needs its slash.
        return redirect(&format!("/apis/{slug}/{version}/docs/"));
    }
    let spec = format!("/apis/{slug}/{version}/openapi.json");
    let config = Arc::new(
        utoipa_swagger_ui::Config::new([spec])
            .try_it_out_enabled(false)
            .supported_submit_methods(Vec::<String>::new())
            .validator_url("none")
            .display_operation_id(true),
    );
    let name = if file == "/" {
        "index.html"
    } else {
        file.trim_start_matches('/')
    };
    match utoipa_swagger_ui::serve(name, config) {
        Ok(Some(served)) => {
            let mut page = Response::new(Full::new(Bytes::from(served.bytes.into_owned())));
            if let Ok(value) = HeaderValue::from_str(&served.content_type) {
                page.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            page
        }
        Ok(None) => plain(StatusCode::NOT_FOUND, "There is no such page."),
        Err(e) => {
            tracing::error!(error = %e, "Swagger UI could not be served");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The documentation could not be shown.",
            )
        }
    }
}
