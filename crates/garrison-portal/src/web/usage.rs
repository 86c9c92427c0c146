//! The usage pages: an application's traffic (its consumer `org/app` on every API), for its
//! own organisation; an API's traffic (every consumer of its versions' route groups), for its
//! owner. Requests, errors and latency per minute, drawn as SVG charts with a data table.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::PoisonError;

use garrison_store::{Role, User};
use http::StatusCode;

use super::Page;
use super::pages::{escape, html, nav, plain};
use super::selfservice::{Session, text};
use crate::Portal;
use crate::usage::chart::{self, BLUE, ORANGE, Series, VERMILION};
use crate::usage::ring::{Point, Totals};

/// The periods a usage page offers, in minutes.
const WINDOWS: [(i64, &str); 3] = [
    (60, "last hour"),
    (360, "last 6 hours"),
    (1440, "last 24 hours"),
];

/// The period asked for in the query (`window=` minutes), the last hour by default.
pub(super) fn window(query: Option<&str>) -> i64 {
    super::form::decode(query.unwrap_or("").as_bytes())
        .into_iter()
        .find(|(k, _)| k == "window")
        .and_then(|(_, v)| v.parse().ok())
        .filter(|w| WINDOWS.iter().any(|(m, _)| m == w))
        .unwrap_or(60)
}

/// `/applications/{id}/usage`: visible to whoever may see the application (its own
/// organisation, platform admins): another organisation's is a 404, as everywhere.
pub(super) fn application(s: &Session<'_>, id: &str, minutes: i64) -> Page {
    let (status, app) = s.run("getApplication", &[("app", id.to_owned())], None);
    if status != StatusCode::OK {
        return s.refused(status, &app, "/applications");
    }
    let organisation = app["organisation"]
        .as_i64()
        .and_then(|o| s.portal.store.organisation(o).ok().flatten());
    let Some(organisation) = organisation else {
        return plain(StatusCode::NOT_FOUND, "There is no such application.");
    };
    let consumer = format!("{}/{}", organisation.slug, text(&app["slug"]));
    s.portal.sample_usage();
    let (from, to) = span(minutes);
    let (points, by) = {
        let ring = s
            .portal
            .usage
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let by = ring.breakdown(from, to, &|_, c| c == consumer);
        let called: BTreeSet<String> = by.keys().map(|(g, _)| g.clone()).collect();
        // The gateway measures latency per route, not per caller: the latency of the APIs
        // this application called, whoever else called them.
        let points = ring.query(from, to, &|_, c| c == consumer, &|g| called.contains(g));
        (points, by)
    };
    let title = format!("Usage of {}", text(&app["name"]));
    let mut main = format!(
        "<h1>{}</h1>\n<p>Calls through the gateway by the application <code>{}</code>, per minute. \
         Latency is that of the APIs it called (the gateway measures latency per API).</p>\n",
        escape(&title),
        escape(&consumer)
    );
    main.push_str(&window_form(
        &format!("/applications/{}/usage", app["id"]),
        minutes,
    ));
    main.push_str(&charts(s.portal, &points, minutes));
    breakdown_table(&mut main, "API (route group)", &by, |(group, _)| {
        group.clone()
    });
    main.push_str(&format!(
        "<p><a href=\"/applications/{}\">Back to the application</a></p>",
        app["id"]
    ));
    html(StatusCode::OK, &title, &main, &nav(s.user, s.csrf))
}

/// `/apis/{slug}/usage`: for the API's owner organisation and platform admins; anyone else
/// gets a 404 (another organisation's usage does not exist for them).
pub(super) fn api(portal: &Portal, user: &User, csrf: &str, slug: &str, minutes: i64) -> Page {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such page.");
    let Some(api) = portal
        .store
        .apis()
        .ok()
        .and_then(|apis| apis.into_iter().find(|a| a.slug == slug))
    else {
        return not_found();
    };
    if user.role != Role::PlatformAdmin && user.organisation != Some(api.owner) {
        return not_found();
    }
    let groups: BTreeSet<String> = portal
        .store
        .api_versions(api.id)
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.group)
        .collect();
    portal.sample_usage();
    let (from, to) = span(minutes);
    let (points, by) = {
        let ring = portal
            .usage
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let points = ring.query(from, to, &|g, _| groups.contains(g), &|g| {
            groups.contains(g)
        });
        (points, ring.breakdown(from, to, &|g, _| groups.contains(g)))
    };
    let title = format!("Usage of {}", api.title);
    let mut main = format!(
        "<h1>{}</h1>\n<p>Calls through the gateway to every version of this API, per minute, \
         by every caller.</p>\n",
        escape(&title)
    );
    main.push_str(&window_form(
        &format!("/apis/{}/usage", escape(&api.slug)),
        minutes,
    ));
    main.push_str(&charts(portal, &points, minutes));
    breakdown_table(&mut main, "Caller", &by, |(group, consumer)| {
        if consumer.is_empty() {
            format!("(not identified) · {group}")
        } else {
            format!("{consumer} · {group}")
        }
    });
    main.push_str(&format!(
        "<p><a href=\"/apis/{}\">Back to the API</a></p>",
        escape(&api.slug)
    ));
    html(StatusCode::OK, &title, &main, &nav(user, csrf))
}

/// The minutes since the epoch of the window ending now.
fn span(minutes: i64) -> (i64, i64) {
    let now = garrison_store::now().div_euclid(60);
    (now - minutes + 1, now)
}

fn window_form(action: &str, minutes: i64) -> String {
    let mut options = String::new();
    for (value, label) in WINDOWS {
        let _ = write!(
            options,
            "<option value=\"{value}\"{}>{label}</option>",
            if value == minutes { " selected" } else { "" }
        );
    }
    format!(
        "<form method=\"get\" action=\"{action}\" class=\"filters\">\
         <label for=\"window\">Period</label> <select id=\"window\" name=\"window\">{options}</select> \
         <button type=\"submit\">Show</button></form>\n"
    )
}

/// The three charts and the table of the minutes with traffic.
fn charts(portal: &Portal, points: &[Point], minutes: i64) -> String {
    if !portal.usage.measured() {
        return "<p role=\"status\">Usage is not measured here: the portal was started without \
                the gateway's counters.</p>\n"
            .to_owned();
    }
    let now = points.last().map_or(0, |p| p.at);
    let x = |p: &Point| (p.at - now) as f64;
    let series = |f: &dyn Fn(&Totals) -> u64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (x(p), f(&p.totals) as f64)).collect()
    };
    let latency = |q: f64| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter_map(|p| p.latency.quantile_ms(q).map(|v| (x(p), v)))
            .collect()
    };
    let drawn = [
        chart::line_chart(
            "chart-requests",
            "Requests per minute",
            "requests",
            minutes,
            &[Series {
                name: "requests",
                colour: BLUE,
                points: series(&|t| t.requests),
            }],
        ),
        chart::line_chart(
            "chart-errors",
            "Errors per minute (4xx and 5xx)",
            "responses",
            minutes,
            &[
                Series {
                    name: "4xx",
                    colour: ORANGE,
                    points: series(&|t| t.client_errors),
                },
                Series {
                    name: "5xx",
                    colour: VERMILION,
                    points: series(&|t| t.server_errors),
                },
            ],
        ),
        chart::line_chart(
            "chart-latency",
            "Latency (p50 and p95, milliseconds)",
            "ms",
            minutes,
            &[
                Series {
                    name: "p50",
                    colour: BLUE,
                    points: latency(0.5),
                },
                Series {
                    name: "p95",
                    colour: VERMILION,
                    points: latency(0.95),
                },
            ],
        ),
    ];
    let mut out = String::new();
    for svg in drawn {
        match svg {
            Ok(svg) => {
                let _ = writeln!(out, "<figure class=\"chart\">{svg}</figure>");
            }
            Err(e) => {
                tracing::error!(error = %e, "a usage chart could not be drawn");
                out.push_str("<p role=\"alert\">A chart could not be drawn.</p>\n");
            }
        }
    }
    let busy: Vec<&Point> = points.iter().filter(|p| p.totals.requests > 0).collect();
    let total: u64 = busy.iter().map(|p| p.totals.requests).sum();
    let _ = writeln!(
        out,
        "<p role=\"status\" id=\"usage-total\">Requests in this period: {total}.</p>"
    );
    out.push_str(
        "<table class=\"usage\">\n<caption>The charts' numbers: minutes with requests \
         (UTC)</caption>\n<thead><tr><th scope=\"col\">Minute</th><th scope=\"col\">Requests</th>\
         <th scope=\"col\">4xx</th><th scope=\"col\">5xx</th><th scope=\"col\">p50 (ms)</th>\
         <th scope=\"col\">p95 (ms)</th><th scope=\"col\">mean (ms)</th></tr></thead>\n<tbody>\n",
    );
    if busy.is_empty() {
        out.push_str("<tr><td colspan=\"7\">No requests in this period.</td></tr>\n");
    }
    let ms = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"));
    for p in busy.iter().rev() {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            clock(p.at),
            p.totals.requests,
            p.totals.client_errors,
            p.totals.server_errors,
            ms(p.latency.quantile_ms(0.5)),
            ms(p.latency.quantile_ms(0.95)),
            ms(p.latency.mean_ms()),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// `HH:MM` (UTC) of a minute since the epoch.
fn clock(minute: i64) -> String {
    let of_day = minute.rem_euclid(24 * 60);
    format!("{:02}:{:02}", of_day / 60, of_day % 60)
}

fn breakdown_table(
    main: &mut String,
    heading: &str,
    by: &std::collections::BTreeMap<(String, String), Totals>,
    name: impl Fn(&(String, String)) -> String,
) {
    let _ = writeln!(
        main,
        "<table class=\"breakdown\">\n<caption>Totals in this period</caption>\n<thead><tr>\
         <th scope=\"col\">{}</th><th scope=\"col\">Requests</th><th scope=\"col\">4xx</th>\
         <th scope=\"col\">5xx</th></tr></thead>\n<tbody>",
        escape(heading)
    );
    if by.is_empty() {
        main.push_str("<tr><td colspan=\"4\">No requests in this period.</td></tr>\n");
    }
    for (key, totals) in by {
        let _ = writeln!(
            main,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name(key)),
            totals.requests,
            totals.client_errors,
            totals.server_errors
        );
    }
    main.push_str("</tbody>\n</table>\n");
}
