//! The pages, as HTML strings. Every piece of text from the store or the request goes
//! through [`escape`]. The markup is plain and semantic (landmarks, labels, a table with a
//! caption and header cells, a skip link) so that it works with a keyboard and a screen
//! reader, and without the stylesheet.

use std::collections::HashMap;
use std::fmt::Write;

use bytes::Bytes;
use garrison_store::{Api, ApiVersion, Lifecycle, User};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

use super::Page;
use super::form::Filters;
use crate::Portal;

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

pub(super) fn html(status: StatusCode, title: &str, main: &str, nav: &str) -> Page {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – Garrison API library</title>\n\
         <link rel=\"stylesheet\" href=\"/assets/portal.css\">\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to main content</a>\n\
         <header class=\"masthead\"><p class=\"brand\">Garrison API library</p>{nav}</header>\n\
         <main id=\"main\">\n{main}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut page = Response::new(Full::new(Bytes::from(body)));
    *page.status_mut() = status;
    page.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    page
}

/// A short page for errors.
pub(super) fn plain(status: StatusCode, message: &str) -> Page {
    html(
        status,
        status.canonical_reason().unwrap_or("Error"),
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/catalogue\">Go to the catalogue</a></p>",
            escape(status.canonical_reason().unwrap_or("Error")),
            escape(message)
        ),
        "",
    )
}

/// `303 See Other` to `location` (after a form post, so a reload does not post again).
pub(super) fn redirect(location: &str) -> Page {
    let mut page = Response::new(Full::new(Bytes::new()));
    *page.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        page.headers_mut().insert(header::LOCATION, value);
    }
    page
}

/// The navigation of a signed-in page: the sections the user's role has, and sign-out.
pub(super) fn nav(user: &User, csrf: &str) -> String {
    let approvals = if user.role == garrison_store::Role::ApiOwner {
        "<li><a href=\"/approvals\">Approvals</a></li>"
    } else {
        ""
    };
    format!(
        "<nav aria-label=\"Main\"><ul class=\"menu\"><li><a href=\"/catalogue\">Catalogue</a></li>\
         <li><a href=\"/applications\">Applications</a></li>{approvals}</ul>\n\
         <span>Signed in as {}</span>\n\
         <form method=\"post\" action=\"/sign-out\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Sign out</button></form></nav>",
        escape(&user.email),
        escape(csrf)
    )
}

pub(super) fn sign_in(error: Option<&str>, status: StatusCode, sign_up: bool) -> Page {
    let error = error
        .map(|e| {
            format!(
                "<div class=\"error\" role=\"alert\" id=\"sign-in-error\"><p>{}</p></div>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    let described = if error.is_empty() {
        ""
    } else {
        " aria-describedby=\"sign-in-error\""
    };
    let sign_up = if sign_up {
        "\n<p>New to the API library? <a href=\"/sign-up\">Create a developer account</a></p>"
    } else {
        ""
    };
    let main = format!(
        "<h1>Sign in</h1>\n{error}<form method=\"post\" action=\"/sign-in\"{described}>\n\
         <p><label for=\"email\">Email address</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required></p>\n\
         <p><label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\n\
         <p><button type=\"submit\">Sign in</button></p>\n</form>{sign_up}"
    );
    html(status, "Sign in", &main, "")
}

fn status_badge(status: Lifecycle) -> String {
    format!(
        "<strong class=\"status status-{s}\">{s}</strong>",
        s = status.as_str()
    )
}

fn matches(api: &Api, versions: &[ApiVersion], filters: &Filters) -> bool {
    let haystack = format!(
        "{} {} {} {}",
        api.slug,
        api.title,
        api.description,
        api.tags.join(" ")
    )
    .to_lowercase();
    let words_match = filters
        .query
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word));
    let status_match = filters
        .status
        .as_deref()
        .is_none_or(|s| versions.iter().any(|v| v.status.as_str() == s));
    let tag_match = filters
        .tag
        .as_deref()
        .is_none_or(|t| api.tags.iter().any(|tag| tag == t));
    words_match && status_match && tag_match
}

/// The catalogue: every API with its owner, classification, tags and versions, filtered.
pub(super) fn catalogue(portal: &Portal, user: &User, csrf: &str, filters: &Filters) -> Page {
    let loaded = (|| -> Result<_, garrison_store::StoreError> {
        let owners: HashMap<i64, String> = portal
            .store
            .organisations()?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let mut apis = Vec::new();
        for api in portal.store.apis()? {
            let versions = portal.store.api_versions(api.id)?;
            apis.push((api, versions));
        }
        Ok((owners, apis))
    })();
    let Ok((owners, apis)) = loaded else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The catalogue could not be read.",
        );
    };
    let mut tags: Vec<&str> = apis
        .iter()
        .flat_map(|(api, _)| api.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let shown: Vec<_> = apis
        .iter()
        .filter(|(api, versions)| matches(api, versions, filters))
        .collect();

    let mut main = String::new();
    main.push_str("<h1>API catalogue</h1>\n");
    main.push_str(
        "<form method=\"get\" action=\"/catalogue\" class=\"filters\" role=\"search\">\n",
    );
    let _ = write!(
        main,
        "<p><label for=\"q\">Search</label>\n<input id=\"q\" name=\"q\" type=\"search\" value=\"{}\"></p>\n",
        escape(&filters.query)
    );
    main.push_str("<p><label for=\"status\">Status</label>\n<select id=\"status\" name=\"status\">\n<option value=\"\">Any</option>\n");
    for status in ["alpha", "beta", "stable", "deprecated", "retired"] {
        let selected = if filters.status.as_deref() == Some(status) {
            " selected"
        } else {
            ""
        };
        let _ = writeln!(
            main,
            "<option value=\"{status}\"{selected}>{status}</option>"
        );
    }
    main.push_str("</select></p>\n<p><label for=\"tag\">Tag</label>\n<select id=\"tag\" name=\"tag\">\n<option value=\"\">Any</option>\n");
    for tag in &tags {
        let selected = if filters.tag.as_deref() == Some(*tag) {
            " selected"
        } else {
            ""
        };
        let _ = writeln!(
            main,
            "<option value=\"{t}\"{selected}>{t}</option>",
            t = escape(tag)
        );
    }
    main.push_str("</select></p>\n<p><button type=\"submit\">Filter</button></p>\n</form>\n");
    let _ = writeln!(
        main,
        "<p class=\"count\" role=\"status\">{} of {} APIs</p>",
        shown.len(),
        apis.len()
    );
    if shown.is_empty() {
        main.push_str("<p>No API matches these filters.</p>\n");
    } else {
        main.push_str(
            "<table class=\"catalogue\">\n<caption>APIs in the library</caption>\n<thead><tr>\
             <th scope=\"col\">API</th><th scope=\"col\">Owner</th>\
             <th scope=\"col\">Classification</th><th scope=\"col\">Tags</th>\
             <th scope=\"col\">Versions</th></tr></thead>\n<tbody>\n",
        );
        for (api, versions) in shown {
            let owner = owners.get(&api.owner).map(String::as_str).unwrap_or("—");
            let tags = api
                .tags
                .iter()
                .map(|t| format!("<span class=\"tag\">{}</span>", escape(t)))
                .collect::<Vec<_>>()
                .join(" ");
            let versions_html = versions
                .iter()
                .map(|v| {
                    let sunset = v
                        .sunset
                        .as_deref()
                        .map(|d| format!(" <span class=\"sunset\">sunset {}</span>", escape(d)))
                        .unwrap_or_default();
                    format!(
                        "<li>{} {}{sunset}</li>",
                        escape(&v.version),
                        status_badge(v.status)
                    )
                })
                .collect::<String>();
            let _ = writeln!(
                main,
                "<tr><th scope=\"row\"><a class=\"title\" href=\"/apis/{}\">{}</a> <code>{}</code><p>{}</p></th>\
                 <td>{}</td><td>{}</td><td>{}</td><td><ul class=\"versions\">{}</ul></td></tr>",
                escape(&api.slug),
                escape(&api.title),
                escape(&api.slug),
                escape(&api.description),
                escape(owner),
                classification_label(api),
                tags,
                versions_html
            );
        }
        main.push_str("</tbody>\n</table>\n");
    }
    html(StatusCode::OK, "API catalogue", &main, &nav(user, csrf))
}

/// How a classification is shown: as the Government Security Classifications write it.
fn classification_label(api: &Api) -> &'static str {
    match api.classification {
        garrison_store::Classification::Official => "OFFICIAL",
        _ => "OFFICIAL-SENSITIVE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_in_text_and_attributes() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
