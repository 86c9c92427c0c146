//! The console's page: the operation chooser, the form, and the gateway's answer, escaped.

use std::fmt::Write;

use http::StatusCode;

use super::super::Page;
use super::super::pages::{escape, html, nav};
use super::{Console, MAX_ANSWER, MAX_BODY, Outcome};

/// The console page, with the outcome of a call when there is one.
pub(in crate::web) fn draw(console: &Console, outcome: Option<&Outcome>) -> Page {
    let action = format!(
        "/apis/{}/{}/console",
        escape(&console.api_slug),
        escape(&console.version)
    );
    let title = format!("Try {} {}", console.api_title, console.version);
    let mut main = format!(
        "<h1>{}</h1>\n<p>Calls the <strong>sandbox</strong> of this version (answers made from \
         its contract, never anyone's data) through the gateway, with your application's \
         sandbox key. The key is sent for this call only: the portal does not keep it.</p>\n",
        escape(&title)
    );
    let mut options = String::new();
    for (i, op) in console.operations.iter().enumerate() {
        let _ = write!(
            options,
            "<option value=\"{i}\"{}>{} {}{}</option>",
            if i == console.selected {
                " selected"
            } else {
                ""
            },
            escape(&op.method),
            escape(&op.path),
            if op.summary.is_empty() {
                String::new()
            } else {
                format!(" — {}", escape(&op.summary))
            }
        );
    }
    let _ = writeln!(
        main,
        "<form method=\"get\" action=\"{action}\" class=\"filters\">\
         <label for=\"choose-operation\">Operation</label> \
         <select id=\"choose-operation\" name=\"op\">{options}</select> \
         <button type=\"submit\">Choose</button></form>"
    );
    let Some(op) = console.operations.get(console.selected) else {
        main.push_str("<p>The contract declares no operation.</p>\n");
        return html(
            StatusCode::OK,
            &title,
            &main,
            &nav(&console.user, &console.csrf),
        );
    };
    let _ = writeln!(
        main,
        "<form method=\"post\" action=\"{action}\" class=\"console\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"operation\" value=\"{}\">\n\
         <h2>{} <code>{}{}</code></h2>",
        escape(&console.csrf),
        console.selected,
        escape(&op.method),
        escape(&console.base),
        escape(&op.path)
    );
    for (i, p) in op.parameters.iter().enumerate() {
        let name = format!("{}.{}", p.place, p.name);
        let value = console.values.get(&name).cloned().unwrap_or_default();
        let _ = writeln!(
            main,
            "<p><label for=\"param-{i}\">{} <span class=\"hint\">({} parameter{})</span></label>\n\
             <input id=\"param-{i}\" name=\"{}\" value=\"{}\"{}{}></p>",
            escape(&p.name),
            escape(&p.place),
            if p.required { ", required" } else { "" },
            escape(&name),
            escape(&value),
            if p.required { " required" } else { "" },
            if p.description.is_empty() {
                String::new()
            } else {
                format!(" title=\"{}\"", escape(&p.description))
            }
        );
    }
    if !op.statuses.is_empty() {
        let chosen = console.values.get("prefer").cloned().unwrap_or_default();
        let mut answers = String::from("<option value=\"\">the first documented success</option>");
        for code in &op.statuses {
            let _ = write!(
                answers,
                "<option value=\"{c}\"{}>{c}</option>",
                if *code == chosen { " selected" } else { "" },
                c = escape(code)
            );
        }
        let _ = writeln!(
            main,
            "<p><label for=\"console-prefer\">Sandbox answer <span class=\"hint\">(the contract's \
             example for this status, sent as <code>Prefer: code=…</code>)</span></label>\n\
             <select id=\"console-prefer\" name=\"prefer\">{answers}</select></p>"
        );
    }
    if let Some(body) = &console.body {
        let _ = writeln!(
            main,
            "<p><label for=\"console-body\">Request body (JSON, at most {} KiB)</label>\n\
             <textarea id=\"console-body\" name=\"body\" rows=\"12\" cols=\"72\" spellcheck=\"false\">{}</textarea></p>",
            MAX_BODY / 1024,
            escape(body)
        );
    }
    main.push_str(
        "<p><label for=\"console-key\">Sandbox key (grn_test_…)</label>\n\
         <input id=\"console-key\" name=\"key\" type=\"password\" autocomplete=\"off\" \
         required pattern=\"grn_test_.*\" aria-describedby=\"key-hint\">\n\
         <span id=\"key-hint\" class=\"hint\">Keys are shown once, when issued: paste your \
         application's sandbox key. It is not stored.</span></p>\n\
         <button type=\"submit\">Send to the sandbox</button>\n</form>\n",
    );
    let status = match outcome {
        None => StatusCode::OK,
        Some(Outcome::Refused(status, why) | Outcome::Failed(status, why)) => {
            let _ = writeln!(
                main,
                "<div class=\"error\" role=\"alert\" id=\"console-error\"><p>{}</p></div>",
                escape(why)
            );
            *status
        }
        Some(Outcome::Answer {
            status,
            headers,
            body,
            truncated,
        }) => {
            let _ = writeln!(
                main,
                "<section aria-labelledby=\"answer-heading\" class=\"answer\">\n\
                 <h2 id=\"answer-heading\">The gateway answered</h2>\n\
                 <p role=\"status\">Status <strong id=\"console-status\">{} {}</strong></p>\n\
                 <table>\n<caption>Response headers</caption>\n<thead><tr><th scope=\"col\">Header</th>\
                 <th scope=\"col\">Value</th></tr></thead>\n<tbody>",
                status.as_u16(),
                escape(status.canonical_reason().unwrap_or(""))
            );
            for (name, value) in headers {
                let _ = writeln!(
                    main,
                    "<tr><th scope=\"row\"><code>{}</code></th><td><code>{}</code></td></tr>",
                    escape(name),
                    escape(value)
                );
            }
            let _ = writeln!(
                main,
                "</tbody>\n</table>\n<h3>Body{}</h3>\n<pre id=\"console-answer\" tabindex=\"0\">{}</pre>\n</section>",
                if *truncated {
                    format!(" (the first {} KiB)", MAX_ANSWER / 1024)
                } else {
                    String::new()
                },
                escape(body)
            );
            StatusCode::OK
        }
    };
    let _ = writeln!(
        main,
        "<p><a href=\"/apis/{}\">Back to {}</a></p>",
        escape(&console.api_slug),
        escape(&console.api_title)
    );
    html(status, &title, &main, &nav(&console.user, &console.csrf))
}
