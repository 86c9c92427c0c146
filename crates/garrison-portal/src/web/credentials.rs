//! An application's credentials beyond its first key: key rotation, client certificates
//! (bound from their PEM) and the IP allow-list — each an admin API operation run for the
//! signed-in user.

use std::fmt::Write;

use http::StatusCode;
use serde_json::{Value, json};

use super::pages::{escape, redirect};
use super::selfservice::{Session, date, key_shown_once, text};
use super::{Page, Visit, form};

pub(super) fn certificates_section(
    s: &Session<'_>,
    app: &Value,
    may_change: bool,
    main: &mut String,
) {
    let params = [("app", text(&app["id"]))];
    let (_, certificates) = s.run("listCertificates", &params, None);
    main.push_str(
        "<h2>Client certificates</h2>\n<p>Once one is bound, the application's keys are accepted \
         only over a connection presenting one of its certificates.</p>\n",
    );
    let list = certificates["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !list.is_empty() {
        main.push_str(
            "<table>\n<caption>Certificates bound to this application</caption>\n<thead><tr>\
             <th scope=\"col\">Label</th><th scope=\"col\">SHA-256 fingerprint</th>\
             <th scope=\"col\">Added</th><th scope=\"col\">Unbound</th>\
             <th scope=\"col\"><span class=\"visually-hidden\">Action</span></th></tr></thead>\n<tbody>\n",
        );
        for cert in &list {
            let action = if may_change && cert["revokedAt"].is_null() {
                format!(
                    "<form method=\"post\" action=\"/applications/{}/certificates/{}/revoke\">{}\
                     <button type=\"submit\" class=\"warning\">Unbind <span class=\"visually-hidden\">{}</span></button></form>",
                    app["id"],
                    cert["id"],
                    s.csrf_field(),
                    escape(&text(&cert["label"]))
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                main,
                "<tr><th scope=\"row\">{}</th><td><code class=\"fingerprint\">{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(&cert["label"])),
                escape(&text(&cert["fingerprint"])),
                date(&cert["createdAt"]),
                date(&cert["revokedAt"]),
                action
            );
        }
        main.push_str("</tbody>\n</table>\n");
    }
    if may_change {
        let _ = write!(
            main,
            "<form method=\"post\" action=\"/applications/{}/certificates\">{}\n\
             <p><label for=\"pem\">Client certificate (PEM)</label>\n\
             <textarea id=\"pem\" name=\"pem\" rows=\"6\" cols=\"64\" required></textarea></p>\n\
             <p><label for=\"label\">Label</label>\n<input id=\"label\" name=\"label\" maxlength=\"200\"></p>\n\
             <p><button type=\"submit\">Bind certificate</button></p>\n</form>\n",
            app["id"],
            s.csrf_field()
        );
    }
}

pub(super) fn allow_list_section(
    s: &Session<'_>,
    app: &Value,
    may_change: bool,
    main: &mut String,
) {
    let params = [("app", text(&app["id"]))];
    let (_, allow) = s.run("getAllowList", &params, None);
    let networks: Vec<String> = allow["networks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    main.push_str("<h2>IP allow-list</h2>\n");
    if networks.is_empty() {
        main.push_str("<p>Calls are accepted from any address.</p>\n");
    } else {
        main.push_str("<ul class=\"networks\">");
        for net in &networks {
            let _ = write!(main, "<li><code>{}</code></li>", escape(net));
        }
        main.push_str("</ul>\n");
    }
    if may_change {
        let _ = write!(
            main,
            "<form method=\"post\" action=\"/applications/{}/allow-list\">{}\n\
             <p><label for=\"networks\">Addresses or networks, one a line</label>\n\
             <span class=\"hint\" id=\"networks-hint\">None: any address. Each no wider than the platform allows (a /24 by default).</span>\n\
             <textarea id=\"networks\" name=\"networks\" rows=\"4\" cols=\"40\" aria-describedby=\"networks-hint\">{}</textarea></p>\n\
             <p><button type=\"submit\">Save allow-list</button></p>\n</form>\n",
            app["id"],
            s.csrf_field(),
            escape(&networks.join("\n"))
        );
    }
}

pub(super) fn rotate_key(s: &Session<'_>, id: &str, key: &str) -> Page {
    let params = [("app", id.to_owned())];
    let (status, app) = s.run("getApplication", &params, None);
    if status != StatusCode::OK {
        return s.refused(status, &app, "/applications");
    }
    let (status, rotated) = s.run(
        "rotateKey",
        &[("app", id.to_owned()), ("key", key.to_owned())],
        None,
    );
    if status != StatusCode::CREATED {
        return s.refused(status, &rotated, &format!("/applications/{id}"));
    }
    key_shown_once(s, StatusCode::CREATED, &app, &rotated)
}

pub(super) fn add_certificate(s: &Session<'_>, visit: &Visit, id: &str) -> Page {
    let fields = form::decode(&visit.body);
    let mut body = json!({"pem": form::field(&fields, "pem").unwrap_or_default()});
    if let Some(label) = form::field(&fields, "label").filter(|l| !l.trim().is_empty()) {
        body["label"] = json!(label);
    }
    let (status, answer) = s.run("addCertificate", &[("app", id.to_owned())], Some(body));
    if status != StatusCode::CREATED {
        return s.refused(status, &answer, &format!("/applications/{id}"));
    }
    redirect(&format!("/applications/{id}"))
}

pub(super) fn revoke_certificate(s: &Session<'_>, id: &str, certificate: &str) -> Page {
    let params = [
        ("app", id.to_owned()),
        ("certificate", certificate.to_owned()),
    ];
    let (status, answer) = s.run("revokeCertificate", &params, None);
    if status != StatusCode::NO_CONTENT {
        return s.refused(status, &answer, &format!("/applications/{id}"));
    }
    redirect(&format!("/applications/{id}"))
}

pub(super) fn set_allow_list(s: &Session<'_>, visit: &Visit, id: &str) -> Page {
    let fields = form::decode(&visit.body);
    let networks: Vec<String> = form::field(&fields, "networks")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let (status, answer) = s.run(
        "setAllowList",
        &[("app", id.to_owned())],
        Some(json!({"networks": networks})),
    );
    if status != StatusCode::OK {
        return s.refused(status, &answer, &format!("/applications/{id}"));
    }
    redirect(&format!("/applications/{id}"))
}
