//! Self-service pages: applications (a sandbox key at once, shown once), their keys,
//! subscription requests, and the API owners' approvals. Every action is an admin API
//! operation run for the signed-in user ([`crate::routes::invoke`]): the pages hold no rule
//! of their own, and every change is an admin event like any other.

use std::collections::HashMap;
use std::fmt::Write;

use garrison_gateway::AdminContext;
use garrison_store::{Role, User};
use http::StatusCode;
use serde_json::{Value, json};

use super::pages::{escape, html, nav, redirect};
use super::{Page, Visit, form};
use crate::Portal;
use crate::auth::Principal;
use crate::routes::invoke;

/// What a signed-in page needs.
pub(super) struct Session<'a> {
    pub(super) portal: &'a Portal,
    pub(super) user: &'a User,
    pub(super) csrf: &'a str,
    pub(super) context: AdminContext,
}

impl Session<'_> {
    pub(super) fn run(
        &self,
        operation: &str,
        params: &[(&str, String)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        invoke(
            self.portal,
            Principal::User(self.user.clone()),
            operation,
            params,
            body,
            &self.context,
        )
    }

    fn page(&self, status: StatusCode, title: &str, main: &str) -> Page {
        html(status, title, main, &nav(self.user, self.csrf))
    }

    pub(super) fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(self.csrf)
        )
    }

    /// A page saying why an action was refused, with the API's own words.
    pub(super) fn refused(&self, status: StatusCode, answer: &Value, back: &str) -> Page {
        let detail = answer["detail"]
            .as_str()
            .unwrap_or("The request was refused.");
        self.page(
            status,
            "Not done",
            &format!(
                "<h1>Not done</h1>\n<div class=\"error\" role=\"alert\"><p>{}</p></div>\n\
                 <p><a href=\"{}\">Back</a></p>",
                escape(detail),
                escape(back)
            ),
        )
    }
}

pub(super) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

pub(super) fn date(value: &Value) -> String {
    value
        .as_i64()
        .and_then(civil_date)
        .unwrap_or_else(|| "—".to_owned())
}

/// `YYYY-MM-DD` of a Unix time (the audit trail's calendar, not another one).
fn civil_date(secs: i64) -> Option<String> {
    let at = garrison_audit::Timestamp::from_unix_micros(secs.checked_mul(1_000_000)?);
    at.to_string().get(..10).map(str::to_owned)
}

pub(super) fn applications(s: &Session<'_>) -> Page {
    let (status, answer) = s.run("listApplications", &[], None);
    if status != StatusCode::OK {
        return s.refused(status, &answer, "/catalogue");
    }
    let mut main = String::from("<h1>Applications</h1>\n");
    let apps = answer["applications"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if apps.is_empty() {
        main.push_str("<p>Your organisation has no application yet.</p>\n");
    } else {
        main.push_str("<ul class=\"apps\">\n");
        for app in &apps {
            let _ = writeln!(
                main,
                "<li><a href=\"/applications/{}\">{}</a> <code>{}</code></li>",
                app["id"],
                escape(&text(&app["name"])),
                escape(&text(&app["slug"]))
            );
        }
        main.push_str("</ul>\n");
    }
    if s.user.role == Role::ConsumerDeveloper {
        let _ = write!(
            main,
            "<h2>Create an application</h2>\n<p>It gets a sandbox key at once, shown once.</p>\n\
             <form method=\"post\" action=\"/applications\">{}\n\
             <p><label for=\"name\">Name</label>\n<input id=\"name\" name=\"name\" required maxlength=\"200\"></p>\n\
             <p><label for=\"slug\">Short name</label>\n<span class=\"hint\" id=\"slug-hint\">Lower-case letters, digits and hyphens.</span>\n\
             <input id=\"slug\" name=\"slug\" required pattern=\"[a-z0-9][a-z0-9-]*\" maxlength=\"63\" aria-describedby=\"slug-hint\"></p>\n\
             <p><button type=\"submit\">Create application</button></p>\n</form>\n",
            s.csrf_field()
        );
    }
    s.page(StatusCode::OK, "Applications", &main)
}

/// The one page that ever shows a key.
pub(super) fn key_shown_once(
    s: &Session<'_>,
    status: StatusCode,
    app: &Value,
    key: &Value,
) -> Page {
    let main = format!(
        "<h1>Your new key</h1>\n<div class=\"panel\" role=\"status\">\n\
         <p>The {environment} key of <strong>{name}</strong>:</p>\n\
         <p><code class=\"key\" id=\"new-key\">{key}</code></p>\n\
         <p><strong>Copy it now: it is shown only this once.</strong> Garrison keeps only its \
         SHA-256 digest and cannot show it again.</p>\n</div>\n\
         <p><a href=\"/applications/{id}\">Continue to the application</a></p>",
        environment = escape(&text(&key["credential"]["environment"])),
        name = escape(&text(&app["name"])),
        key = escape(&text(&key["key"])),
        id = app["id"],
    );
    s.page(status, "Your new key", &main)
}

pub(super) fn create_application(s: &Session<'_>, visit: &Visit) -> Page {
    let fields = form::decode(&visit.body);
    let body = json!({
        "slug": form::field(&fields, "slug").unwrap_or_default(),
        "name": form::field(&fields, "name").unwrap_or_default(),
    });
    let (status, answer) = s.run("createApplication", &[], Some(body));
    if status != StatusCode::CREATED {
        return s.refused(status, &answer, "/applications");
    }
    key_shown_once(
        s,
        StatusCode::CREATED,
        &answer["application"],
        &answer["sandboxKey"],
    )
}

pub(super) fn application(s: &Session<'_>, id: &str) -> Page {
    let params = [("app", id.to_owned())];
    let (status, app) = s.run("getApplication", &params, None);
    if status != StatusCode::OK {
        return s.refused(status, &app, "/applications");
    }
    let (_, keys) = s.run("listKeys", &params, None);
    let (_, subscriptions) = s.run("listSubscriptions", &[], None);
    let (_, catalogue) = s.run("listApis", &[], None);
    let (_, plans) = s.run("listPlans", &[], None);
    let versions = version_names(&catalogue);
    let may_change = s.user.role == Role::ConsumerDeveloper;
    let mut main = format!(
        "<h1>{}</h1>\n<p><code>{}</code> · <a href=\"/applications/{}/usage\">Usage of this application</a></p>\n<h2>Keys</h2>\n",
        escape(&text(&app["name"])),
        escape(&text(&app["slug"])),
        app["id"]
    );
    main.push_str(
        "<table>\n<caption>Keys of this application (the keys themselves are never shown again)</caption>\n\
         <thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Environment</th>\
         <th scope=\"col\">Issued</th><th scope=\"col\">Revoked</th><th scope=\"col\"><span class=\"visually-hidden\">Action</span></th></tr></thead>\n<tbody>\n",
    );
    for key in keys["keys"].as_array().into_iter().flatten() {
        let action = if may_change && key["revokedAt"].is_null() {
            format!(
                "<form method=\"post\" action=\"/applications/{id}/keys/{key}/rotate\">{csrf}\
                 <button type=\"submit\">Rotate <span class=\"visually-hidden\">{prefix}</span></button></form> \
                 <form method=\"post\" action=\"/applications/{id}/keys/{key}/revoke\">{csrf}\
                 <button type=\"submit\" class=\"warning\">Revoke <span class=\"visually-hidden\">{prefix}</span></button></form>",
                id = app["id"],
                key = key["id"],
                csrf = s.csrf_field(),
                prefix = escape(&text(&key["prefix"])),
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            main,
            "<tr><th scope=\"row\"><code>{}…</code></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&text(&key["prefix"])),
            escape(&text(&key["environment"])),
            date(&key["createdAt"]),
            date(&key["revokedAt"]),
            action
        );
    }
    main.push_str("</tbody>\n</table>\n");
    if may_change {
        let _ = write!(
            main,
            "<form method=\"post\" action=\"/applications/{}/keys\">{}\n\
             <p><label for=\"environment\">Issue a key for</label>\n<select id=\"environment\" name=\"environment\">\
             <option value=\"sandbox\">sandbox</option><option value=\"production\">production</option></select></p>\n\
             <p><button type=\"submit\">Issue a key</button></p>\n</form>\n",
            app["id"],
            s.csrf_field()
        );
    }
    super::credentials::certificates_section(s, &app, may_change, &mut main);
    super::credentials::allow_list_section(s, &app, may_change, &mut main);
    main.push_str("<h2>Subscriptions</h2>\n");
    let mine: Vec<&Value> = subscriptions["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sub| sub["application"] == app["id"])
        .collect();
    if mine.is_empty() {
        main.push_str("<p>None yet.</p>\n");
    } else {
        main.push_str(
            "<table>\n<caption>Subscriptions of this application</caption>\n<thead><tr>\
             <th scope=\"col\">API version</th><th scope=\"col\">Purpose</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Reason</th></tr></thead>\n<tbody>\n",
        );
        for sub in mine {
            let version = sub["apiVersion"].as_i64().unwrap_or_default();
            let _ = writeln!(
                main,
                "<tr><th scope=\"row\">{}</th><td><code>{}</code></td><td><strong class=\"sub sub-{status}\">{status}</strong></td><td>{}</td></tr>",
                escape(versions.get(&version).map_or("—", |v| v.0.as_str())),
                escape(&text(&sub["purpose"])),
                escape(&text(&sub["reason"])),
                status = escape(&text(&sub["status"])),
            );
        }
        main.push_str("</tbody>\n</table>\n");
    }
    if may_change {
        let mut options = String::new();
        for (id, (name, status)) in versions_sorted(&versions) {
            if matches!(status.as_str(), "beta" | "stable" | "deprecated") {
                let _ = write!(options, "<option value=\"{id}\">{}</option>", escape(name));
            }
        }
        let mut plan_options = String::new();
        for plan in plans["plans"].as_array().into_iter().flatten() {
            let _ = write!(
                plan_options,
                "<option value=\"{}\">{}</option>",
                plan["id"],
                escape(&text(&plan["name"]))
            );
        }
        let _ = write!(
            main,
            "<h3>Request a production subscription</h3>\n\
             <form method=\"post\" action=\"/applications/{}/subscriptions\">{}\n\
             <p><label for=\"version\">API version</label>\n<select id=\"version\" name=\"version\">{options}</select></p>\n\
             <p><label for=\"plan\">Plan</label>\n<select id=\"plan\" name=\"plan\">{plan_options}</select></p>\n\
             <p><label for=\"purpose\">Purpose</label>\n<span class=\"hint\" id=\"purpose-hint\">The value your calls will send in the <code>context</code> header, e.g. DVLA-LICENSING.</span>\n\
             <input id=\"purpose\" name=\"purpose\" required maxlength=\"64\" aria-describedby=\"purpose-hint\"></p>\n\
             <p><button type=\"submit\">Request subscription</button></p>\n</form>\n",
            app["id"],
            s.csrf_field()
        );
    }
    s.page(StatusCode::OK, &text(&app["name"]), &main)
}

/// API version id → ("Title v1", status), from the catalogue.
fn version_names(catalogue: &Value) -> HashMap<i64, (String, String)> {
    let mut names = HashMap::new();
    for api in catalogue["apis"].as_array().into_iter().flatten() {
        for version in api["versions"].as_array().into_iter().flatten() {
            if let Some(id) = version["id"].as_i64() {
                names.insert(
                    id,
                    (
                        format!("{} {}", text(&api["title"]), text(&version["version"])),
                        text(&version["status"]),
                    ),
                );
            }
        }
    }
    names
}

fn versions_sorted(versions: &HashMap<i64, (String, String)>) -> Vec<(i64, &(String, String))> {
    let mut sorted: Vec<_> = versions.iter().map(|(id, v)| (*id, v)).collect();
    sorted.sort_by(|a, b| a.1.0.cmp(&b.1.0));
    sorted
}

pub(super) fn create_key(s: &Session<'_>, visit: &Visit, id: &str) -> Page {
    let fields = form::decode(&visit.body);
    let params = [("app", id.to_owned())];
    let (status, app) = s.run("getApplication", &params, None);
    if status != StatusCode::OK {
        return s.refused(status, &app, "/applications");
    }
    let body = json!({"environment": form::field(&fields, "environment").unwrap_or_default()});
    let (status, key) = s.run("createKey", &params, Some(body));
    if status != StatusCode::CREATED {
        return s.refused(status, &key, &format!("/applications/{id}"));
    }
    key_shown_once(s, StatusCode::CREATED, &app, &key)
}

pub(super) fn revoke_key(s: &Session<'_>, id: &str, key: &str) -> Page {
    let (status, answer) = s.run(
        "revokeKey",
        &[("app", id.to_owned()), ("key", key.to_owned())],
        None,
    );
    if status != StatusCode::NO_CONTENT {
        return s.refused(status, &answer, &format!("/applications/{id}"));
    }
    redirect(&format!("/applications/{id}"))
}

pub(super) fn request_subscription(s: &Session<'_>, visit: &Visit, id: &str) -> Page {
    let fields = form::decode(&visit.body);
    let number = |name: &str| {
        form::field(&fields, name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let body = json!({
        "application": id.parse::<i64>().unwrap_or_default(),
        "apiVersion": number("version"),
        "plan": number("plan"),
        "purpose": form::field(&fields, "purpose").unwrap_or_default(),
    });
    let (status, answer) = s.run("requestSubscription", &[], Some(body));
    if status != StatusCode::CREATED {
        return s.refused(status, &answer, &format!("/applications/{id}"));
    }
    redirect(&format!("/applications/{id}"))
}

pub(super) fn approvals(s: &Session<'_>) -> Page {
    let (_, subscriptions) = s.run("listSubscriptions", &[], None);
    let (_, catalogue) = s.run("listApis", &[], None);
    let (_, applications) = s.run("listApplications", &[], None);
    let own_apps: Vec<&Value> = applications["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    // The API owners' queue: requests to their organisation's APIs (not their own
    // organisation's requests to others).
    let owned: HashMap<i64, (String, String)> = {
        let mut owned = HashMap::new();
        for api in catalogue["apis"].as_array().into_iter().flatten() {
            if api["owner"].as_i64() != s.user.organisation {
                continue;
            }
            for version in api["versions"].as_array().into_iter().flatten() {
                if let Some(id) = version["id"].as_i64() {
                    owned.insert(
                        id,
                        (
                            format!("{} {}", text(&api["title"]), text(&version["version"])),
                            text(&version["status"]),
                        ),
                    );
                }
            }
        }
        owned
    };
    let waiting: Vec<&Value> = subscriptions["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sub| sub["status"] == "requested")
        .filter(|sub| {
            sub["apiVersion"]
                .as_i64()
                .is_some_and(|v| owned.contains_key(&v))
        })
        .filter(|sub| !own_apps.iter().any(|a| a["id"] == sub["application"]))
        .collect();
    let mut main = String::from("<h1>Approvals</h1>\n");
    if waiting.is_empty() {
        main.push_str("<p>No subscription is waiting for a decision.</p>\n");
    }
    for sub in waiting {
        let version = sub["apiVersion"].as_i64().unwrap_or_default();
        let _ = write!(
            main,
            "<section class=\"request\" aria-labelledby=\"request-{id}\">\n\
             <h2 id=\"request-{id}\">{api}</h2>\n\
             <p>{who}, purpose <code>{purpose}</code>, plan {plan}, requested {when}.</p>\n\
             <form method=\"post\" action=\"/subscriptions/{id}/decide\">{csrf}\n\
             <p><label for=\"reason-{id}\">Reason (shown to the consumer; needed to reject)</label>\n\
             <input id=\"reason-{id}\" name=\"reason\" maxlength=\"1000\"></p>\n\
             <p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n\
             <button type=\"submit\" name=\"decision\" value=\"reject\" class=\"warning\">Reject</button></p>\n\
             </form>\n</section>\n",
            id = sub["id"],
            api = escape(owned.get(&version).map_or("—", |v| v.0.as_str())),
            who = requester(sub),
            plan = escape(&text(&sub["requester"]["plan"])),
            purpose = escape(&text(&sub["purpose"])),
            when = date(&sub["requestedAt"]),
            csrf = s.csrf_field(),
        );
    }
    s.page(StatusCode::OK, "Approvals", &main)
}

/// Who asks for a subscription, escaped for the page: the organisation by name and slug (a
/// display name alone can be anyone's), the application, the person.
fn requester(sub: &Value) -> String {
    let r = &sub["requester"];
    let org = &r["organisation"];
    let app = &r["application"];
    format!(
        "{} (<code>{}</code>), application {} (<code>{}</code>), asked by {}",
        escape(&text(&org["name"])),
        escape(&text(&org["slug"])),
        escape(&text(&app["name"])),
        escape(&text(&app["slug"])),
        escape(&text(&r["email"])),
    )
}

pub(super) fn decide(s: &Session<'_>, visit: &Visit, id: &str) -> Page {
    let fields = form::decode(&visit.body);
    let operation = match form::field(&fields, "decision").as_deref() {
        Some("approve") => "approveSubscription",
        Some("reject") => "rejectSubscription",
        _ => {
            return s.refused(
                StatusCode::BAD_REQUEST,
                &json!({"detail": "Choose approve or reject."}),
                "/approvals",
            );
        }
    };
    let body = match form::field(&fields, "reason").filter(|r| !r.trim().is_empty()) {
        Some(reason) => json!({"reason": reason}),
        None => json!({}),
    };
    let (status, answer) = s.run(operation, &[("subscription", id.to_owned())], Some(body));
    if status != StatusCode::OK {
        return s.refused(status, &answer, "/approvals");
    }
    redirect("/approvals")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_become_civil_dates() {
        assert_eq!(civil_date(0).as_deref(), Some("1970-01-01"));
        assert_eq!(civil_date(1_709_164_800).as_deref(), Some("2024-02-29"));
        assert_eq!(civil_date(1_798_761_599).as_deref(), Some("2026-12-31"));
    }
}
