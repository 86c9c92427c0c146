//! The free school meals check (DfE "check your eligibility"), as a realistic composition:
//! match the parent to an opaque id, read that id's claims, decide.

use serde_json::{Value, json};

use super::double::Upstream;
use crate::{
    CallDefinition, CallError, CheckDefinition, CompiledCheck, RunError, StepDefinition,
    StepRecord, compile,
};

/// The check as the gateway will build it from this YAML:
///
/// ```yaml
/// free-school-meals:
///   steps:
///     - call: match
///       operation: citizen-match.matchCitizen
///       body: >-
///         {"data": {"type": "Match", "attributes": {
///           "lastName": request.lastName, "dateOfBirth": request.dateOfBirth,
///           "ninoFragment": lastFour(digits(request.nino))}}}
///     - parallel:
///         - call: claims
///           operation: citizen-claims.getClaims
///           when: steps.match.status == 200
///           path: {id: steps.match.body.data.id}
///           query: {effectiveFromDate: addMonths(today, -3)}
///   decision: …  # DECISION below
/// ```
///
/// DWP wants the last four digits of the NI number without its suffix letter, hence
/// `lastFour(digits(…))` rather than `lastFour(…)`. The claims group has one call today; the
/// others a department may add (say HMRC earnings) would run beside it.
pub(super) fn definition() -> CheckDefinition {
    CheckDefinition {
        name: "free-school-meals".to_owned(),
        steps: vec![
            StepDefinition::Call(CallDefinition {
                name: "match".to_owned(),
                operation: "citizen-match.matchCitizen".to_owned(),
                when: None,
                path: vec![],
                query: vec![],
                body: Some(
                    r#"{"data": {"type": "Match", "attributes": {
                        "lastName": request.lastName,
                        "dateOfBirth": request.dateOfBirth,
                        "ninoFragment": lastFour(digits(request.nino))}}}"#
                        .to_owned(),
                ),
            }),
            StepDefinition::Parallel(vec![CallDefinition {
                name: "claims".to_owned(),
                operation: "citizen-claims.getClaims".to_owned(),
                when: Some("steps.match.status == 200".to_owned()),
                path: vec![("id".to_owned(), "steps.match.body.data.id".to_owned())],
                query: vec![(
                    "effectiveFromDate".to_owned(),
                    "addMonths(today, -3)".to_owned(),
                )],
                body: None,
            }]),
        ],
        decision: DECISION.to_owned(),
        refusals: Vec::new(),
    }
}

/// - `parentNotFound` when DWP finds no one (404) **or more than one person** (422): either way
///   the details given do not identify one parent, asking again will not change that, and the
///   parent's route is the same (check the details, or send evidence to the school).
/// - `DwpError` for any other failure to match or to read claims (a 5xx, a 429, …): worth
///   trying again later. A 404 for claims means no claims, so `notEligible`.
/// - `eligible` when a claim is in payment of Pension Credit, income-based JSA, income-related
///   ESA or Income Support; or of Universal Credit with at least one award in the last three
///   months, whose take-home pay (pence per monthly assessment period) taken together is at
///   most £7,400 a year: the sum over the n awards × 12 at most 740,000 × n (DfE assesses
///   earnings over one to three assessment periods, so one month over is balanced by another
///   under). An award is in the window unless it ended before `addMonths(today, -3)` or starts
///   after today.
const DECISION: &str = r#"
    steps.match.status in [404, 422] ? {"status": "parentNotFound"}
    : steps.match.status != 200 || !(steps.claims.status in [200, 404]) ? {"status": "DwpError"}
    : steps.claims.status == 200 && steps.claims.body.data.exists(c,
        c.attributes.status == "in_payment" && (
          c.attributes.benefitType in ["pensions_credit", "job_seekers_allowance_income_based",
            "employment_support_allowance_income_based", "income_support"]
          || c.attributes.benefitType == "universal_credit"
             && size(c.attributes.awards.filter(a, a.startDate <= today
                  && (!has(a.endDate) || a.endDate == null || a.endDate >= addMonths(today, -3)))) > 0
             && sum(c.attributes.awards.filter(a, a.startDate <= today
                  && (!has(a.endDate) || a.endDate == null || a.endDate >= addMonths(today, -3)))
                  .map(a, a.assessmentAttributes.takeHomePay)) * 12
                <= 740000 * size(c.attributes.awards.filter(a, a.startDate <= today
                  && (!has(a.endDate) || a.endDate == null || a.endDate >= addMonths(today, -3))))))
      ? {"status": "eligible"}
      : {"status": "notEligible"}
"#;

const TODAY: &str = "2026-11-25";
const MATCH: &str = "citizen-match.matchCitizen";
const CLAIMS: &str = "citizen-claims.getClaims /id=0c4a9f43-7b1e-4a6c-9d55-3f0f6f1e2a10 ?effectiveFromDate=2026-08-25";
const ID: &str = "0c4a9f43-7b1e-4a6c-9d55-3f0f6f1e2a10";

fn check() -> CompiledCheck {
    match compile(&definition()) {
        Ok(check) => check,
        Err(error) => panic!("{error}"),
    }
}

fn request() -> Value {
    json!({"nino": "qq 12 34 56 c", "lastName": "Smith", "dateOfBirth": "1990-01-01"})
}

fn matched() -> Upstream {
    Upstream::new().respond(
        MATCH,
        200,
        json!({"jsonapi": {"version": "1.0"}, "data": {"id": ID, "type": "MatchResult"}}),
    )
}

fn claims(claims: Vec<Value>) -> Value {
    json!({"data": claims})
}

fn claim(benefit_type: &str, status: &str) -> Value {
    json!({"id": "claim-1", "type": "Claim", "attributes": {
        "benefitType": benefit_type, "status": status, "startDate": "2024-01-01"}})
}

/// A Universal Credit claim in payment with these awards: (start, end, take-home pay in pence).
fn universal_credit(awards: &[(&str, Option<&str>, i64)]) -> Value {
    let awards: Vec<Value> = awards
        .iter()
        .map(|(start, end, pay)| {
            let mut award = json!({"startDate": start, "status": "in_payment", "amount": 52000,
                "assessmentAttributes": {"takeHomePay": pay}});
            if let Some(end) = end {
                award["endDate"] = json!(end);
            }
            award
        })
        .collect();
    json!({"id": "claim-uc", "type": "Claim", "attributes": {
        "benefitType": "universal_credit", "status": "in_payment", "startDate": "2024-01-01",
        "awards": awards}})
}

async fn status_for(upstream: &Upstream) -> String {
    match check().run(upstream, request(), TODAY).await {
        Ok(outcome) => match &outcome.answer["status"] {
            Value::String(status) => status.clone(),
            other => panic!("no status in {other}"),
        },
        Err(error) => panic!("{error}"),
    }
}

#[tokio::test]
async fn sends_the_minimum_to_match_then_reads_claims_of_the_matched_id() {
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![claim("pensions_credit", "in_payment")]),
    );
    let outcome = match check().run(&upstream, request(), TODAY).await {
        Ok(outcome) => outcome,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(outcome.answer, json!({"status": "eligible"}));
    assert_eq!(upstream.keys(), vec![MATCH.to_owned(), CLAIMS.to_owned()]);
    let calls = upstream.calls();
    assert_eq!(
        calls[0].1.body,
        Some(json!({"data": {"type": "Match", "attributes": {
            "lastName": "Smith", "dateOfBirth": "1990-01-01", "ninoFragment": "3456"}}}))
    );
    assert_eq!(calls[1].1.body, None);
    assert_eq!(
        outcome.calls,
        vec![
            StepRecord {
                name: "match".into(),
                operation: MATCH.into(),
                status: 200,
                skipped: false
            },
            StepRecord {
                name: "claims".into(),
                operation: "citizen-claims.getClaims".into(),
                status: 200,
                skipped: false
            },
        ]
    );
}

#[tokio::test]
async fn no_match_is_parent_not_found_and_claims_are_not_read() {
    let upstream = Upstream::new().respond(MATCH, 404, json!({"errors": [{"status": "404"}]}));
    let outcome = match check().run(&upstream, request(), TODAY).await {
        Ok(outcome) => outcome,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(outcome.answer, json!({"status": "parentNotFound"}));
    assert_eq!(upstream.keys(), vec![MATCH.to_owned()]);
    assert_eq!(
        outcome.calls[1],
        StepRecord {
            name: "claims".into(),
            operation: "citizen-claims.getClaims".into(),
            status: 0,
            skipped: true
        }
    );
}

#[tokio::test]
async fn more_than_one_match_is_parent_not_found() {
    let upstream = Upstream::new().respond(MATCH, 422, Value::Null);
    assert_eq!(status_for(&upstream).await, "parentNotFound");
    assert_eq!(upstream.keys(), vec![MATCH.to_owned()]);
}

#[tokio::test]
async fn an_upstream_error_status_is_dwp_error() {
    let upstream = Upstream::new().respond(MATCH, 500, Value::Null);
    assert_eq!(status_for(&upstream).await, "DwpError");
    let upstream = matched().respond(CLAIMS, 503, Value::Null);
    assert_eq!(status_for(&upstream).await, "DwpError");
}

#[tokio::test]
async fn no_claims_is_not_eligible() {
    assert_eq!(
        status_for(&matched().respond(CLAIMS, 404, Value::Null)).await,
        "notEligible"
    );
    assert_eq!(
        status_for(&matched().respond(CLAIMS, 200, claims(vec![]))).await,
        "notEligible"
    );
}

#[tokio::test]
async fn each_passported_benefit_in_payment_is_eligible() {
    for benefit in [
        "pensions_credit",
        "job_seekers_allowance_income_based",
        "employment_support_allowance_income_based",
        "income_support",
    ] {
        let upstream = matched().respond(CLAIMS, 200, claims(vec![claim(benefit, "in_payment")]));
        assert_eq!(status_for(&upstream).await, "eligible", "{benefit}");
        let upstream = matched().respond(CLAIMS, 200, claims(vec![claim(benefit, "closed")]));
        assert_eq!(
            status_for(&upstream).await,
            "notEligible",
            "{benefit} not in payment"
        );
    }
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![claim("child_benefit", "in_payment")]),
    );
    assert_eq!(status_for(&upstream).await, "notEligible");
}

#[tokio::test]
async fn universal_credit_at_the_earnings_threshold_is_eligible_and_a_penny_over_is_not() {
    // £7,400 a year is 740000/12 = 61666.67 pence a month; over three assessment periods,
    // 185000 pence. A period over the monthly figure is balanced by one under.
    let at = |pay| {
        universal_credit(&[
            ("2026-08-25", Some("2026-09-24"), 50000),
            ("2026-09-25", Some("2026-10-24"), 73333),
            ("2026-10-25", Some("2026-11-24"), pay),
        ])
    };
    let upstream = matched().respond(CLAIMS, 200, claims(vec![at(61667)]));
    assert_eq!(status_for(&upstream).await, "eligible", "185000 exactly");
    let upstream = matched().respond(CLAIMS, 200, claims(vec![at(61668)]));
    assert_eq!(status_for(&upstream).await, "notEligible");
    let upstream = matched().respond(CLAIMS, 200, claims(vec![at(0)]));
    assert_eq!(status_for(&upstream).await, "eligible");
    // One period in the window: its own pay against one period's share.
    let one = |pay| universal_credit(&[("2026-11-01", None, pay)]);
    let upstream = matched().respond(CLAIMS, 200, claims(vec![one(61666)]));
    assert_eq!(status_for(&upstream).await, "eligible");
    let upstream = matched().respond(CLAIMS, 200, claims(vec![one(61667)]));
    assert_eq!(status_for(&upstream).await, "notEligible");
}

#[tokio::test]
async fn an_award_that_ended_yesterday_counts_and_one_that_ended_before_the_window_does_not() {
    // Ended yesterday, earnings too high: in the window, so not eligible.
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![universal_credit(&[
            ("2026-10-25", Some("2026-11-24"), 150000),
            ("2026-11-25", None, 10000),
        ])]),
    );
    assert_eq!(status_for(&upstream).await, "notEligible");
    // Ended the day before the window opened (2026-08-25): its earnings are not assessed.
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![universal_credit(&[
            ("2026-07-25", Some("2026-08-24"), 200000),
            ("2026-08-25", Some("2026-09-24"), 10000),
            ("2026-09-25", None, 10000),
        ])]),
    );
    assert_eq!(status_for(&upstream).await, "eligible");
    // Ended on the day the window opened: assessed.
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![universal_credit(&[
            ("2026-07-26", Some("2026-08-25"), 150000),
            ("2026-08-26", None, 10000),
        ])]),
    );
    assert_eq!(status_for(&upstream).await, "notEligible");
}

#[tokio::test]
async fn universal_credit_with_no_award_in_the_window_is_not_eligible() {
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![universal_credit(&[(
            "2026-01-01",
            Some("2026-05-31"),
            0,
        )])]),
    );
    assert_eq!(status_for(&upstream).await, "notEligible");
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![universal_credit(&[("2026-12-01", None, 0)])]),
    );
    assert_eq!(status_for(&upstream).await, "notEligible");
}

#[tokio::test]
async fn any_eligible_claim_among_several_is_enough() {
    let upstream = matched().respond(
        CLAIMS,
        200,
        claims(vec![
            universal_credit(&[("2026-10-25", None, 900000)]),
            claim("income_support", "in_payment"),
        ]),
    );
    assert_eq!(status_for(&upstream).await, "eligible");
}

#[tokio::test]
async fn a_failed_call_is_an_error_naming_the_step_and_no_personal_data() {
    let upstream = matched().fail(CLAIMS, || CallError::Timeout);
    let error = match check().run(&upstream, request(), TODAY).await {
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, RunError::Call { step, source: CallError::Timeout, .. } if step == "claims"),
        "{error:?}"
    );
    let text = format!("{error} {error:?}");
    for personal in ["Smith", "1990-01-01", "3456", "qq 12"] {
        assert!(!text.contains(personal), "{text}");
    }
}
