//! An API version's lifecycle at the gateway: a deprecated version's answers carry
//! `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers; a retired version answers
//! `410 Gone` with a problem naming its successor, before any credential is looked at.
//! Compiled once per snapshot from the control-plane store's view.

use garrison_store::{Lifecycle, ViewLifecycle};
use http::{HeaderMap, HeaderName, HeaderValue};

static DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
static SUNSET: HeaderName = HeaderName::from_static("sunset");

/// What the gateway announces for one route group.
#[derive(Debug)]
pub(crate) struct GroupLifecycle {
    /// For a retired version: the problem's detail.
    pub(crate) retired: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl GroupLifecycle {
    /// The announcement for `view`; `None` for a status the gateway does not announce.
    pub(crate) fn compile(view: &ViewLifecycle) -> Option<Self> {
        let mut headers = Vec::new();
        // RFC 9745 §2.1: the date the resource was deprecated, as a structured-field date.
        if let Ok(value) = HeaderValue::from_str(&format!("@{}", view.since)) {
            headers.push((DEPRECATION.clone(), value));
        }
        if let Some(date) = view.sunset.as_deref().and_then(end_of_day_http_date)
            && let Ok(value) = HeaderValue::from_str(&date)
        {
            headers.push((SUNSET.clone(), value));
        }
        match view.status {
            Lifecycle::Deprecated => Some(GroupLifecycle {
                retired: None,
                headers,
            }),
            Lifecycle::Retired => Some(GroupLifecycle {
                retired: Some(match &view.successor_group {
                    Some(successor) => {
                        format!("This version is retired; use its successor, {successor}.")
                    }
                    None => "This version is retired and has no successor.".to_owned(),
                }),
                headers,
            }),
            _ => None,
        }
    }

    /// Adds the announcement to a response.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// `2027-03-31` → `Wed, 31 Mar 2027 23:59:59 GMT` (RFC 9110 §5.6.7): the version is
/// callable through the whole of its sunset day.
fn end_of_day_http_date(date: &str) -> Option<String> {
    let at = garrison_audit::Timestamp::parse(&format!("{date}T23:59:59Z")).ok()?;
    let days = at.unix_micros().div_euclid(86_400_000_000);
    // 1970-01-01 was a Thursday.
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS[usize::try_from(days.rem_euclid(7)).ok()?];
    let (year, rest) = date.split_once('-')?;
    let (month, day) = rest.split_once('-')?;
    let month = MONTHS.get(month.parse::<usize>().ok()?.checked_sub(1)?)?;
    Some(format!("{weekday}, {day} {month} {year} 23:59:59 GMT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sunset_dates_are_http_dates_at_the_end_of_the_day() {
        assert_eq!(
            end_of_day_http_date("2027-03-31").as_deref(),
            Some("Wed, 31 Mar 2027 23:59:59 GMT")
        );
        assert_eq!(
            end_of_day_http_date("2024-02-29").as_deref(),
            Some("Thu, 29 Feb 2024 23:59:59 GMT")
        );
        assert_eq!(
            end_of_day_http_date("1970-01-01").as_deref(),
            Some("Thu, 01 Jan 1970 23:59:59 GMT")
        );
        assert_eq!(end_of_day_http_date("2027-13-01"), None);
    }

    #[test]
    fn a_deprecated_version_announces_its_dates_and_a_retired_one_its_successor() {
        let view = ViewLifecycle {
            group: "v1".into(),
            status: Lifecycle::Deprecated,
            sunset: Some("2027-03-31".into()),
            successor_group: Some("v2".into()),
            since: 1_796_100_000,
        };
        let deprecated = GroupLifecycle::compile(&view).unwrap();
        assert!(deprecated.retired.is_none());
        let mut headers = HeaderMap::new();
        deprecated.write_headers(&mut headers);
        assert_eq!(headers["deprecation"], "@1796100000");
        assert_eq!(headers["sunset"], "Wed, 31 Mar 2027 23:59:59 GMT");
        let retired = GroupLifecycle::compile(&ViewLifecycle {
            status: Lifecycle::Retired,
            ..view.clone()
        })
        .unwrap();
        assert!(retired.retired.unwrap().contains("v2"));
        let stable = ViewLifecycle {
            status: Lifecycle::Stable,
            ..view
        };
        assert!(GroupLifecycle::compile(&stable).is_none());
    }
}
