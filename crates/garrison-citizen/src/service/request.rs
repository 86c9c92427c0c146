//! Reading requests: the match body, the query parameters of claims and income, each checked
//! against its contract.
//!
//! The gateway validates every request against the contract before it gets here; these
//! checks are for a service reached without it (tests, a misrouted call), so that bad input
//! is a 400 rather than a wrong answer. Every rule broken is listed; no value is repeated.
//!
//! Syntax and semantics are kept apart on purpose. A value the contract allows but the store
//! cannot hold (a date of birth in the year 0800) is not malformed: it matches nobody.

use serde_json::{Map, Value};

use crate::{BenefitType, Date, Month};

use super::answer::Invalid;

/// The details a match was asked for, each as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MatchQuery {
    /// Last name.
    pub(crate) last_name: String,
    /// Date of birth; `None` for a well-formed date outside the years the store holds, which
    /// nobody matches.
    pub(crate) date_of_birth: Option<Date>,
    /// First name.
    pub(crate) first_name: Option<String>,
    /// The last four digits of the NI number.
    pub(crate) nino_fragment: Option<String>,
    /// Postcode.
    pub(crate) postcode: Option<String>,
}

const ATTRIBUTES: [&str; 5] = [
    "lastName",
    "dateOfBirth",
    "firstName",
    "ninoFragment",
    "postcode",
];

/// Reads a `MatchRequest` body.
pub(crate) fn match_query(body: &[u8]) -> Result<MatchQuery, Vec<Invalid>> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Err(vec![Invalid::new(
            "/body",
            "json",
            "the body is not a JSON document",
        )]);
    };
    let mut errors = Vec::new();
    let Some(top) = object(&value, "/body", &["data"], &mut errors) else {
        return Err(errors);
    };
    let Some(data) = top.get("data") else {
        errors.push(Invalid::new("/body/data", "required", "data is required"));
        return Err(errors);
    };
    let Some(data) = object(data, "/body/data", &["type", "attributes"], &mut errors) else {
        return Err(errors);
    };
    match data.get("type") {
        None => errors.push(Invalid::new(
            "/body/data/type",
            "required",
            "type is required",
        )),
        Some(t) if t.as_str() != Some("Match") => errors.push(Invalid::new(
            "/body/data/type",
            "const",
            "type must be Match",
        )),
        Some(_) => {}
    }
    let Some(attributes) = data.get("attributes") else {
        errors.push(Invalid::new(
            "/body/data/attributes",
            "required",
            "attributes is required",
        ));
        return Err(errors);
    };
    let Some(attributes) = object(
        attributes,
        "/body/data/attributes",
        &ATTRIBUTES,
        &mut errors,
    ) else {
        return Err(errors);
    };
    let field = |name: &str| attributes.get(name);
    let last_name = text(
        field("lastName"),
        Field::new("/body/data/attributes/lastName", 1, 35, true),
        &mut errors,
    );
    let first_name = text(
        field("firstName"),
        Field::new("/body/data/attributes/firstName", 1, 70, false),
        &mut errors,
    );
    let postcode = text(
        field("postcode"),
        Field::new("/body/data/attributes/postcode", 0, 8, false),
        &mut errors,
    );
    let date_of_birth = text(
        field("dateOfBirth"),
        Field::new("/body/data/attributes/dateOfBirth", 0, usize::MAX, true),
        &mut errors,
    );
    let date_of_birth = date_of_birth.and_then(|d| match full_date(&d) {
        Some(date) => Some(date),
        None => {
            errors.push(Invalid::new(
                "/body/data/attributes/dateOfBirth",
                "format",
                "must be a date, YYYY-MM-DD",
            ));
            None
        }
    });
    let nino_fragment = text(
        field("ninoFragment"),
        Field::new("/body/data/attributes/ninoFragment", 0, usize::MAX, false),
        &mut errors,
    );
    if let Some(fragment) = &nino_fragment
        && !(fragment.len() == 4 && fragment.bytes().all(|b| b.is_ascii_digit()))
    {
        errors.push(Invalid::new(
            "/body/data/attributes/ninoFragment",
            "pattern",
            "must be the last four digits of the National Insurance number",
        ));
    }
    match (last_name, date_of_birth) {
        (Some(last_name), Some(date_of_birth)) if errors.is_empty() => Ok(MatchQuery {
            last_name,
            date_of_birth,
            first_name,
            nino_fragment,
            postcode,
        }),
        _ => Err(errors),
    }
}

/// The object at `location`, its members checked against `allowed` (the contracts say
/// `additionalProperties: false`).
fn object<'a>(
    value: &'a Value,
    location: &'static str,
    allowed: &[&str],
    errors: &mut Vec<Invalid>,
) -> Option<&'a Map<String, Value>> {
    let Some(map) = value.as_object() else {
        errors.push(Invalid::new(location, "type", "must be an object"));
        return None;
    };
    if map.keys().any(|k| !allowed.contains(&k.as_str())) {
        errors.push(Invalid::new(
            location,
            "additionalProperties",
            "has a member the contract does not define",
        ));
    }
    Some(map)
}

/// A string member's rules.
struct Field {
    location: &'static str,
    min: usize,
    max: usize,
    required: bool,
}

impl Field {
    const fn new(location: &'static str, min: usize, max: usize, required: bool) -> Self {
        Field {
            location,
            min,
            max,
            required,
        }
    }
}

fn text(value: Option<&Value>, rules: Field, errors: &mut Vec<Invalid>) -> Option<String> {
    let Some(value) = value else {
        if rules.required {
            errors.push(Invalid::new(rules.location, "required", "is required"));
        }
        return None;
    };
    let Some(s) = value.as_str() else {
        errors.push(Invalid::new(rules.location, "type", "must be a string"));
        return None;
    };
    // JSON Schema counts lengths in code points.
    let length = s.chars().count();
    if length < rules.min {
        errors.push(Invalid::new(rules.location, "minLength", "is too short"));
        None
    } else if length > rules.max {
        errors.push(Invalid::new(rules.location, "maxLength", "is too long"));
        None
    } else {
        Some(s.to_owned())
    }
}

/// An RFC 3339 `full-date`: `Err` when malformed, `Ok(None)` when well formed but outside the
/// years a [`Date`] holds (1000 to 9999).
fn full_date_checked(s: &str) -> Result<Option<Date>, ()> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(());
    }
    let (year, month, day) = (number(&b[0..4])?, number(&b[5..7])?, number(&b[8..10])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(()),
    };
    if !(1..=days).contains(&day) {
        return Err(());
    }
    Ok(Date::from_ymd(year as i32, month, day))
}

/// See [`full_date_checked`]: `None` when malformed, `Some(None)` when out of range.
fn full_date(s: &str) -> Option<Option<Date>> {
    full_date_checked(s).ok()
}

fn number(digits: &[u8]) -> Result<u32, ()> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(());
    }
    Ok(digits.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')))
}

/// The query string's parameters, percent-decoded; each name at most once.
fn parameters(query: Option<&str>) -> Result<Vec<(String, String)>, Vec<Invalid>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(name), Some(value)) = (percent_decode(name), percent_decode(value)) else {
            return Err(vec![Invalid::new(
                "query",
                "encoding",
                "the query string is not valid percent-encoded UTF-8",
            )]);
        };
        if out.iter().any(|(n, _)| *n == name) {
            return Err(vec![Invalid::new(
                "query",
                "duplicate",
                "a parameter is given more than once",
            )]);
        }
        out.push((name, value));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The claims query: which benefit types (`None`: all) and which dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimsQuery {
    /// Only these benefit types, when given (an empty list selects none).
    pub(crate) benefits: Option<Vec<BenefitType>>,
    /// Claims effective on or after this date.
    pub(crate) from: Option<Date>,
    /// Claims effective on or before this date.
    pub(crate) to: Option<Date>,
}

/// Reads the claims query string.
pub(crate) fn claims_query(query: Option<&str>) -> Result<ClaimsQuery, Vec<Invalid>> {
    let params = parameters(query)?;
    let mut errors = Vec::new();
    let benefits = get(&params, "benefitType").map(|list| {
        list.split(',')
            .filter(|s| !s.is_empty())
            .filter_map(|name| {
                let parsed = BenefitType::parse(name);
                if parsed.is_none() {
                    errors.push(Invalid::new(
                        "query.benefitType",
                        "enum",
                        "not a benefit type",
                    ));
                }
                parsed
            })
            .collect::<Vec<_>>()
    });
    let mut date = |name: &str, location: &'static str, floor: bool| {
        let text = get(&params, name)?;
        match full_date_checked(text) {
            Ok(Some(d)) => Some(d),
            // A year before 1000: earlier than anything the store holds.
            Ok(None) => Date::from_ymd(1000, 1, 1).map(|d| if floor { d } else { d.add_days(-1) }),
            Err(()) => {
                errors.push(Invalid::new(
                    location,
                    "format",
                    "must be a date, YYYY-MM-DD",
                ));
                None
            }
        }
    };
    let from = date("effectiveFromDate", "query.effectiveFromDate", true);
    let to = date("effectiveToDate", "query.effectiveToDate", false);
    if errors.is_empty() {
        Ok(ClaimsQuery { benefits, from, to })
    } else {
        Err(errors)
    }
}

/// The most months one income request may span.
pub(crate) const MAX_INCOME_MONTHS: i32 = 24;

/// Reads the income query string: the first and last month, both required.
pub(crate) fn income_query(query: Option<&str>) -> Result<(Month, Month), Vec<Invalid>> {
    let params = parameters(query)?;
    let mut errors = Vec::new();
    let mut month = |name: &str, location: &'static str| {
        let Some(text) = get(&params, name) else {
            errors.push(Invalid::new(location, "required", "is required"));
            return None;
        };
        let b = text.as_bytes();
        let parsed = (b.len() == 7 && b[4] == b'-')
            .then(|| Some((number(&b[0..4]).ok()?, number(&b[5..7]).ok()?)))
            .flatten()
            .filter(|&(_, m)| (1..=12).contains(&m));
        match parsed {
            Some((y, m)) => Some(Month::from_index(y as i32 * 12 + m as i32 - 1)),
            None => {
                errors.push(Invalid::new(
                    location,
                    "pattern",
                    "must be a month, YYYY-MM",
                ));
                None
            }
        }
    };
    let from = month("fromMonth", "query.fromMonth");
    let to = month("toMonth", "query.toMonth");
    match (from, to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(errors),
    }
}

/// The months whose earnings the store holds, first and last: the
/// [`EARNINGS_MONTHS`](crate::EARNINGS_MONTHS) before the month of "as of".
pub(crate) fn held_months(as_of: crate::Date) -> (Month, Month) {
    let this_month = as_of.month();
    (
        this_month.add_months(-crate::EARNINGS_MONTHS),
        this_month.add_months(-1),
    )
}

/// The rules on a month range the schema cannot express: `from` no later than `to`, at most
/// [`MAX_INCOME_MONTHS`] months, all of them `held` (see [`held_months`]). A month outside is
/// refused rather than answered 0: "no earnings" and "no record" are different answers, and a
/// check adding the months up would take the one for the other.
pub(crate) fn income_range(
    from: Month,
    to: Month,
    held: (Month, Month),
) -> Result<(), Vec<Invalid>> {
    if from < held.0 {
        Err(vec![Invalid::new(
            "query.fromMonth",
            "range",
            "earnings are held for the 12 months before the records' as-of month only",
        )])
    } else if to > held.1 {
        Err(vec![Invalid::new(
            "query.toMonth",
            "range",
            "earnings are held up to the month before the records' as-of month only",
        )])
    } else if from > to {
        Err(vec![Invalid::new(
            "query.toMonth",
            "range",
            "toMonth is before fromMonth",
        )])
    } else if to.index() - from.index() >= MAX_INCOME_MONTHS {
        Err(vec![Invalid::new(
            "query.toMonth",
            "range",
            "at most 24 months may be asked for at once",
        )])
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(attributes: &str) -> Vec<u8> {
        format!(r#"{{"data":{{"type":"Match","attributes":{attributes}}}}}"#).into_bytes()
    }

    #[test]
    fn a_full_match_body_is_read() {
        let q = match_query(&body(
            r#"{"lastName":"Smith","firstName":"Jo","dateOfBirth":"1980-04-23","ninoFragment":"3456","postcode":"ZZ99 1ZZ"}"#,
        ))
        .unwrap();
        assert_eq!(q.last_name, "Smith");
        assert_eq!(q.date_of_birth, Date::from_ymd(1980, 4, 23));
        assert_eq!(q.first_name.as_deref(), Some("Jo"));
        assert_eq!(q.nino_fragment.as_deref(), Some("3456"));
        assert_eq!(q.postcode.as_deref(), Some("ZZ99 1ZZ"));
    }

    #[test]
    fn a_well_formed_date_the_store_cannot_hold_matches_nobody_rather_than_fails() {
        let q = match_query(&body(r#"{"lastName":"Smith","dateOfBirth":"0800-02-29"}"#)).unwrap();
        assert_eq!(q.date_of_birth, None);
    }

    #[test]
    fn every_broken_rule_of_a_match_body_is_listed_without_its_value() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"not json", "/body", "json"),
            (b"[]", "/body", "type"),
            (br#"{"data":{"type":"Match","attributes":{"lastName":"Smith","dateOfBirth":"1980-04-23"}},"x":1}"#, "/body", "additionalProperties"),
            (br#"{}"#, "/body/data", "required"),
            (br#"{"data":{"type":"Other","attributes":{"lastName":"Smith","dateOfBirth":"1980-04-23"}}}"#, "/body/data/type", "const"),
            (br#"{"data":{"type":"Match"}}"#, "/body/data/attributes", "required"),
            (&body(r#"{"dateOfBirth":"1980-04-23"}"#), "/body/data/attributes/lastName", "required"),
            (&body(r#"{"lastName":"","dateOfBirth":"1980-04-23"}"#), "/body/data/attributes/lastName", "minLength"),
            (&body(&format!(r#"{{"lastName":"{}","dateOfBirth":"1980-04-23"}}"#, "a".repeat(36))), "/body/data/attributes/lastName", "maxLength"),
            (&body(r#"{"lastName":7,"dateOfBirth":"1980-04-23"}"#), "/body/data/attributes/lastName", "type"),
            (&body(r#"{"lastName":"Smith","dateOfBirth":"1980-02-30"}"#), "/body/data/attributes/dateOfBirth", "format"),
            (&body(r#"{"lastName":"Smith"}"#), "/body/data/attributes/dateOfBirth", "required"),
            (&body(r#"{"lastName":"Smith","dateOfBirth":"1980-04-23","ninoFragment":"123A"}"#), "/body/data/attributes/ninoFragment", "pattern"),
            (&body(r#"{"lastName":"Smith","dateOfBirth":"1980-04-23","postcode":"AB12 3CDE"}"#), "/body/data/attributes/postcode", "maxLength"),
            (&body(r#"{"lastName":"Smith","dateOfBirth":"1980-04-23","nino":"QQ123456C"}"#), "/body/data/attributes", "additionalProperties"),
        ];
        for (input, location, rule) in cases {
            let errors = match_query(input).unwrap_err();
            assert!(
                errors
                    .iter()
                    .any(|e| e.location == *location && e.rule == *rule),
                "{}: {errors:?}",
                String::from_utf8_lossy(input)
            );
            assert!(errors.iter().all(|e| !e.message.contains("Smith")));
        }
    }

    #[test]
    fn claims_queries() {
        let q = claims_query(Some(
            "benefitType=universal_credit%2Cpensions_credit&effectiveFromDate=2026-08-01",
        ))
        .unwrap();
        assert_eq!(
            q.benefits,
            Some(vec![
                BenefitType::UniversalCredit,
                BenefitType::PensionsCredit
            ])
        );
        assert_eq!(q.from, Date::from_ymd(2026, 8, 1));
        assert_eq!(q.to, None);
        assert_eq!(claims_query(None).unwrap().benefits, None);
        for bad in [
            "benefitType=child_benefit",
            "effectiveFromDate=2026-13-01",
            "effectiveToDate=yesterday",
            "effectiveToDate=2026-01-01&effectiveToDate=2026-02-01",
            "benefitType=%ZZ",
        ] {
            assert!(claims_query(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn income_queries() {
        let (from, to) = income_query(Some("fromMonth=2026-01&toMonth=2026-06")).unwrap();
        assert_eq!(
            (from, to),
            (Month::new(2026, 1).unwrap(), Month::new(2026, 6).unwrap())
        );
        let held = (Month::new(2015, 1).unwrap(), Month::new(2030, 12).unwrap());
        assert!(income_range(from, to, held).is_ok());
        for bad in [
            "fromMonth=2026-01",
            "toMonth=2026-01",
            "fromMonth=2026-13&toMonth=2026-01",
            "fromMonth=2026-1&toMonth=2026-02",
        ] {
            assert!(income_query(Some(bad)).is_err(), "{bad}");
        }
        let m = |y, n| Month::new(y, n).unwrap();
        assert!(
            income_range(m(2024, 1), m(2025, 12), held).is_ok(),
            "24 months"
        );
        assert!(
            income_range(m(2024, 1), m(2026, 1), held).is_err(),
            "25 months"
        );
        assert!(
            income_range(m(2026, 2), m(2026, 1), held).is_err(),
            "backwards"
        );
        // Held: the 12 months before November 2026.
        let held = held_months(crate::Date::from_ymd(2026, 11, 1).unwrap());
        assert_eq!(held, (m(2025, 11), m(2026, 10)));
        assert!(income_range(m(2025, 11), m(2026, 10), held).is_ok());
        let refused = |from, to| income_range(from, to, held).unwrap_err()[0].location;
        assert_eq!(refused(m(2025, 10), m(2026, 10)), "query.fromMonth");
        assert_eq!(refused(m(2026, 1), m(2026, 11)), "query.toMonth");
        assert_eq!(
            refused(m(2030, 1), m(2030, 3)),
            "query.toMonth",
            "the future"
        );
    }
}
