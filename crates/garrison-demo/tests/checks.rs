//! The rules of the checks `garrison up` serves, as declared in `src/citizens.yaml`, at their
//! edges: the configuration `prepare` writes is loaded (so the declarations are compiled exactly
//! as the gateway compiles them) and each check is run against a stand-in for the granular
//! APIs that answers what each case needs.

use std::collections::HashMap;

use garrison_compose::{
    CallError, CallRequest, CallResponse, Caller, CompiledCheck, RefusalKind, RunError,
};
use serde_json::{Value, json};

const TODAY: &str = "2026-11-25";
const ID: &str = "3f2a8c1e-5b7d-4e9a-9c61-0d2b4f8e7a15";

/// The compiled checks of the demo configuration, by API name.
fn checks() -> HashMap<String, std::sync::Arc<CompiledCheck>> {
    // One directory per call: the tests run in parallel.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "garrison-demo-checks-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let state = garrison_demo::prepare(
        &dir,
        "127.0.0.1:0",
        "127.0.0.1:0",
        "127.0.0.1:9",
        "127.0.0.1:9",
    )
    .expect("prepare");
    let config = garrison_config::load(&state.config_file).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    config
        .apis
        .iter()
        .filter_map(|a| {
            a.check
                .as_ref()
                .map(|c| (a.name.clone(), c.compiled.clone()))
        })
        .collect()
}

/// Answers each operation with one fixed response (a missing operation is unavailable).
struct Granular(HashMap<&'static str, (u16, Value)>);

impl Caller for Granular {
    async fn call(&self, operation: &str, _: CallRequest) -> Result<CallResponse, CallError> {
        let (status, body) = self
            .0
            .get(operation)
            .cloned()
            .ok_or_else(|| CallError::Unavailable(operation.to_owned()))?;
        Ok(CallResponse { status, body })
    }
}

async fn run(
    check: &CompiledCheck,
    request: Value,
    answers: &[(&'static str, u16, Value)],
) -> Value {
    let granular = Granular(
        answers
            .iter()
            .map(|(o, s, b)| (*o, (*s, b.clone())))
            .collect(),
    );
    check
        .run(&granular, request, TODAY)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .answer
}

/// How `check` refuses `request` given `answers`: the refusal's kind, or a panic when it
/// answers (or fails otherwise).
async fn refusal(
    check: &CompiledCheck,
    request: Value,
    answers: &[(&'static str, u16, Value)],
) -> RefusalKind {
    let granular = Granular(
        answers
            .iter()
            .map(|(o, s, b)| (*o, (*s, b.clone())))
            .collect(),
    );
    match check.run(&granular, request, TODAY).await {
        Err(RunError::Refused { kind, detail, .. }) => {
            assert!(
                detail.is_some_and(|d| !d.is_empty()),
                "every refusal says why"
            );
            kind
        }
        Err(other) => panic!("not a refusal: {other}"),
        Ok(outcome) => panic!("answered {}", outcome.answer),
    }
}

const MATCH: &str = "citizen-match.matchCitizen";
const CLAIMS: &str = "citizen-claims.getClaims";
const DETAILS: &str = "citizen-details.getPersonalDetails";
const ADDRESS: &str = "citizen-address.getCurrentAddress";
const INCOME: &str = "citizen-income.getIncome";

fn matched() -> (&'static str, u16, Value) {
    (
        MATCH,
        200,
        json!({"data": {"id": ID, "type": "MatchResult"}}),
    )
}

fn claim(benefit: &str, award: Value) -> Value {
    json!({"type": "Claim", "attributes": {"benefitType": benefit, "status": "in_payment",
        "startDate": "2024-01-01", "awards": [award]}})
}

fn uc_award(start: &str, end: &str, take_home: u64) -> Value {
    json!({"startDate": start, "endDate": end, "status": "in_payment", "amount": 60000,
        "assessmentAttributes": {"takeHomePay": take_home}})
}

#[tokio::test]
async fn prescription_exemption_edges() {
    let checks = checks();
    let check = &checks["prescription-exemption"];
    let request = json!({"nino": "QQ123456C", "lastName": "Smith", "dateOfBirth": "1980-04-23", "date": "2026-10-15"});
    let with = |claims: Value| vec![matched(), (CLAIMS, 200, json!({"data": claims}))];
    // The UC earnings limit exactly met, and a penny over.
    let at_limit = with(json!([claim(
        "universal_credit",
        uc_award("2026-10-01", "2026-10-31", 43_500)
    )]));
    assert_eq!(
        run(check, request.clone(), &at_limit).await,
        json!({"exempt": true, "basis": "universal_credit", "patientFound": true})
    );
    let over = with(json!([claim(
        "universal_credit",
        uc_award("2026-10-01", "2026-10-31", 43_501)
    )]));
    assert_eq!(
        run(check, request.clone(), &over).await,
        json!({"exempt": false, "basis": null, "patientFound": true})
    );
    // An award that ended the day before the prescription date does not count.
    let ended = with(json!([claim(
        "pensions_credit",
        json!({"startDate": "2026-04-01", "endDate": "2026-10-14", "status": "in_payment", "amount": 20000})
    )]));
    assert_eq!(run(check, request.clone(), &ended).await["exempt"], false);
    let ends_that_day = with(json!([claim(
        "pensions_credit",
        json!({"startDate": "2026-04-01", "endDate": "2026-10-15", "status": "in_payment", "amount": 20000})
    )]));
    assert_eq!(
        run(check, request.clone(), &ends_that_day).await["basis"],
        "pensions_credit"
    );
    // An award that has ended since (its status today is `ended`) covered the date asked.
    let since_ended = with(json!([claim(
        "pensions_credit",
        json!({"startDate": "2026-04-01", "endDate": "2026-10-31", "status": "ended", "amount": 20000})
    )]));
    assert_eq!(
        run(check, request.clone(), &since_ended).await["basis"],
        "pensions_credit"
    );
    // One suspended now is not counted.
    let suspended = with(json!([claim(
        "pensions_credit",
        json!({"startDate": "2026-04-01", "status": "suspended", "amount": 20000})
    )]));
    assert_eq!(
        run(check, request.clone(), &suspended).await["exempt"],
        false
    );
    // PIP does not exempt; nobody found.
    let pip = with(json!([claim(
        "personal_independence_payment",
        json!({"startDate": "2026-04-01", "status": "in_payment", "amount": 20000})
    )]));
    assert_eq!(run(check, request.clone(), &pip).await["exempt"], false);
    assert_eq!(
        run(check, request, &[(MATCH, 404, Value::Null)]).await,
        json!({"exempt": false, "basis": null, "patientFound": false})
    );
}

#[tokio::test]
async fn identity_edges() {
    let checks = checks();
    let check = &checks["identity"];
    let request = json!({"nino": "QQ 12 34 56 C", "lastName": "Smith", "firstName": "jo",
        "dateOfBirth": "1980-04-23", "postcode": "ls14ab"});
    let details = (
        DETAILS,
        200,
        json!({"data": {"id": ID, "type": "Citizen", "attributes": {
        "firstName": "Jo", "lastName": "Smith", "dateOfBirth": "1980-04-23", "nino": "QQ123456C"}}}),
    );
    let address = |postcode: &str| {
        (
            ADDRESS,
            200,
            json!({"data": {"type": "Address", "attributes": {
        "lines": ["1 High Street"], "postcode": postcode, "fromDate": "2019-06-01"}}}),
        )
    };
    assert_eq!(
        run(
            check,
            request.clone(),
            &[matched(), details.clone(), address("LS1 4AB")]
        )
        .await,
        json!({"result": "fullMatch"}),
        "case and spaces do not matter"
    );
    assert_eq!(
        run(
            check,
            request.clone(),
            &[matched(), details.clone(), address("LS2 9ZZ")]
        )
        .await,
        json!({"result": "partialMatch"}),
        "a different postcode"
    );
    // The suffix letter identifies nobody: another, or none, is the same number.
    for nino in ["QQ 12 34 56 A", "qq123456"] {
        let mut other_suffix = request.clone();
        other_suffix["nino"] = json!(nino);
        assert_eq!(
            run(
                check,
                other_suffix,
                &[matched(), details.clone(), address("LS1 4AB")]
            )
            .await,
            json!({"result": "fullMatch"}),
            "{nino}"
        );
    }
    let mut other_number = request.clone();
    other_number["nino"] = json!("QQ 12 34 57 C");
    assert_eq!(
        run(
            check,
            other_number,
            &[matched(), details.clone(), address("LS1 4AB")]
        )
        .await,
        json!({"result": "partialMatch"})
    );
    assert_eq!(
        run(check, request.clone(), &[(MATCH, 404, Value::Null)]).await,
        json!({"result": "noMatch"})
    );
    // Two people with the same name and birthday: the narrowed match (same operation, the
    // stand-in answers 422 to both) finds nobody, so no match.
    assert_eq!(
        run(check, request, &[(MATCH, 422, Value::Null)]).await,
        json!({"result": "noMatch"})
    );
}

#[tokio::test]
async fn caller_identification_confidence() {
    let checks = checks();
    let check = &checks["caller-identification"];
    let details = (
        DETAILS,
        200,
        json!({"data": {"id": ID, "type": "Citizen", "attributes": {
        "firstName": "Jo", "lastName": "Smith", "dateOfBirth": "1980-04-23", "nino": "QQ123456C"}}}),
    );
    let address = (
        ADDRESS,
        200,
        json!({"data": {"type": "Address", "attributes": {
        "lines": ["1 High Street"], "postcode": "LS1 4AB", "fromDate": "2019-06-01"}}}),
    );
    let answers = [matched(), details, address];
    for (known, expected) in [
        (
            json!({"firstName": "Jo", "ninoFragment": "3456", "postcode": "LS1 4AB"}),
            json!({"verified": true, "confidence": "high"}),
        ),
        (
            json!({"firstName": "Jo", "ninoFragment": "3456"}),
            json!({"verified": true, "confidence": "medium"}),
        ),
        (
            json!({"firstName": "Jo", "ninoFragment": "0000", "postcode": "ZZ9 9ZZ"}),
            json!({"verified": false, "confidence": "none"}),
        ),
        (
            // One detail, and right: answered as a wrong one is.
            json!({"ninoFragment": "3456"}),
            json!({"verified": false, "confidence": "none"}),
        ),
        (
            json!({"ninoFragment": "0000"}),
            json!({"verified": false, "confidence": "none"}),
        ),
    ] {
        let mut request = json!({"lastName": "Smith", "dateOfBirth": "1980-04-23"});
        if let (Some(r), Some(k)) = (request.as_object_mut(), known.as_object()) {
            r.extend(k.clone());
        }
        assert_eq!(run(check, request, &answers).await, expected, "{known}");
    }
}

#[tokio::test]
async fn income_band_thresholds() {
    let checks = checks();
    let check = &checks["income-band"];
    let request = json!({"nino": "QQ123456C", "lastName": "Smith", "dateOfBirth": "1980-04-23",
        "fromMonth": "2025-11", "toMonth": "2026-10"});
    let income = |months: &[u64]| {
        (
            INCOME,
            200,
            json!({"data": {"type": "Income", "attributes": {
        "months": months.iter().map(|p| json!({"month": "2026-01", "earnings": p})).collect::<Vec<_>>()}}}),
        )
    };
    for (months, band) in [
        (&[0u64, 0][..], "none"),
        (&[250_000, 249_999], "under5000"),
        (&[250_000, 250_000], "5000to15000"),
        (&[1_499_999], "5000to15000"),
        (&[1_500_000], "15000to30000"),
        (&[3_000_000], "over30000"),
    ] {
        assert_eq!(
            run(check, request.clone(), &[matched(), income(months)]).await,
            json!({"band": band}),
            "{months:?}"
        );
    }
    assert_eq!(
        run(
            check,
            request.clone(),
            &[matched(), (INCOME, 503, Value::Null)]
        )
        .await,
        json!({"band": "unavailable"})
    );
    // Months the income API holds no record of: the caller's to change, never "none".
    assert_eq!(
        refusal(
            check,
            request.clone(),
            &[matched(), (INCOME, 400, Value::Null)]
        )
        .await,
        RefusalKind::Invalid
    );
    assert_eq!(
        run(check, request, &[(MATCH, 404, Value::Null)]).await,
        json!({"band": "personNotFound"})
    );
}

#[tokio::test]
async fn passport_benefits_on_a_date() {
    let checks = checks();
    let check = &checks["passport-benefits"];
    let request = json!({"nino": "QQ123456C", "lastName": "Smith", "dateOfBirth": "1980-04-23", "date": "2026-10-15"});
    let claims = json!({"data": [
        claim("income_support", json!({"startDate": "2026-04-01", "endDate": "2026-10-14", "status": "in_payment", "amount": 1})),
        claim("universal_credit", uc_award("2026-10-01", "2026-10-31", 90_000)),
        claim("personal_independence_payment", json!({"startDate": "2026-04-01", "status": "in_payment", "amount": 1}))
    ]});
    assert_eq!(
        run(check, request.clone(), &[matched(), (CLAIMS, 200, claims)]).await,
        json!({"personFound": true, "benefits": ["universal_credit"]}),
        "an award ended the day before does not count; PIP is not a passporting benefit"
    );
    assert_eq!(
        run(check, request, &[(MATCH, 404, Value::Null)]).await,
        json!({"personFound": false, "benefits": []})
    );
}

/// A check whose records could not be read gives no answer rather than a wrong one ("not
/// exempt", "no match", "person not found"), and a date after today — on which an open-ended
/// award in payment now says nothing — is the caller's to change.
#[tokio::test]
async fn failures_and_future_dates_are_refused_not_answered() {
    let checks = checks();
    let unavailable = RefusalKind::Unavailable;
    let failed = |status: u16| vec![matched(), (CLAIMS, status, Value::Null)];
    for name in ["prescription-exemption", "passport-benefits"] {
        let check = &checks[name];
        let on = |date: &str| json!({"nino": "AB123456C", "lastName": "Smith", "dateOfBirth": "1980-04-23", "date": date});
        // An award in payment today, with no end date: it covers today, not next year.
        let open = vec![
            matched(),
            (
                CLAIMS,
                200,
                json!({"data": [claim("pensions_credit",
                json!({"startDate": "2026-04-01", "status": "in_payment", "amount": 20000}))]}),
            ),
        ];
        assert_eq!(
            refusal(check, on("2026-11-26"), &open).await,
            RefusalKind::Invalid,
            "{name}: tomorrow"
        );
        assert_eq!(
            refusal(check, on("2030-01-01"), &[]).await,
            RefusalKind::Invalid
        );
        let today = run(check, on(TODAY), &open).await;
        assert!(
            today.to_string().contains("pensions_credit"),
            "{name}: {today}"
        );
        for status in [500, 502, 503, 400] {
            assert_eq!(
                refusal(check, on("2026-10-15"), &failed(status)).await,
                unavailable,
                "{name}: claims {status}"
            );
            // A match refused as malformed: details the caller gave, the caller's to change.
            let expected = if status == 400 {
                RefusalKind::Invalid
            } else {
                unavailable
            };
            assert_eq!(
                refusal(check, on("2026-10-15"), &[(MATCH, status, Value::Null)]).await,
                expected,
                "{name}: match {status}"
            );
        }
        // No claims on record, or nobody (or several people) matched: answered.
        run(check, on("2026-10-15"), &failed(404)).await;
        run(check, on("2026-10-15"), &[(MATCH, 422, Value::Null)]).await;
    }

    let details = |status: u16| {
        (
            DETAILS,
            status,
            json!({"data": {"id": ID, "type": "Citizen", "attributes": {
            "firstName": "Jo", "lastName": "Smith", "dateOfBirth": "1980-04-23", "nino": "AB123456C"}}}),
        )
    };
    let address = |status: u16| {
        (
            ADDRESS,
            status,
            json!({"data": {"type": "Address", "attributes": {
            "lines": ["1 High Street"], "postcode": "LS1 4AB", "fromDate": "2019-06-01"}}}),
        )
    };
    let identity = json!({"nino": "AB 12 34 56 C", "lastName": "Smith", "firstName": "Jo",
        "dateOfBirth": "1980-04-23", "postcode": "LS1 4AB"});
    let caller = json!({"lastName": "Smith", "dateOfBirth": "1980-04-23", "firstName": "Jo",
        "ninoFragment": "3456"});
    for (name, request, without_address) in [
        ("identity", identity, json!({"result": "partialMatch"})),
        (
            "caller-identification",
            caller,
            json!({"verified": true, "confidence": "medium"}),
        ),
    ] {
        let check = &checks[name];
        for answers in [
            vec![(MATCH, 503, Value::Null)],
            vec![matched(), details(500), address(200)],
            vec![matched(), details(200), address(504)],
        ] {
            assert_eq!(
                refusal(check, request.clone(), &answers).await,
                unavailable,
                "{name}: {answers:?}"
            );
        }
        assert_eq!(
            refusal(check, request.clone(), &[(MATCH, 400, Value::Null)]).await,
            RefusalKind::Invalid,
            "{name}"
        );
        // Several people match, and still several once narrowed: an answer (no match).
        run(check, request.clone(), &[(MATCH, 422, Value::Null)]).await;
        // No current address is an answer (fewer details agree), not a failure.
        assert_eq!(
            run(check, request, &[matched(), details(200), address(404)]).await,
            without_address,
            "{name}"
        );
    }

    // Income band: a failed match is `unavailable` (its own answer), never `personNotFound`.
    let check = &checks["income-band"];
    let request = json!({"nino": "AB123456C", "lastName": "Smith", "dateOfBirth": "1980-04-23",
        "fromMonth": "2025-11", "toMonth": "2026-10"});
    assert_eq!(
        run(check, request.clone(), &[(MATCH, 503, Value::Null)]).await,
        json!({"band": "unavailable"})
    );
    assert_eq!(
        run(check, request, &[(MATCH, 422, Value::Null)]).await,
        json!({"band": "personNotFound"})
    );
}

/// Free school meals: Universal Credit earnings are assessed over the assessment periods of
/// the last three months together (DfE), not each against a twelfth of the threshold.
#[tokio::test]
async fn free_school_meals_assesses_universal_credit_over_the_periods_together() {
    let checks = checks();
    let check = &checks["free-school-meals"];
    let request = json!({"nino": "AB123456C", "lastName": "Smith", "dateOfBirth": "1980-04-23"});
    let periods = |pays: [u64; 3]| {
        let awards: Vec<Value> = [
            ("2026-08-25", "2026-09-24"),
            ("2026-09-25", "2026-10-24"),
            ("2026-10-25", "2026-11-24"),
        ]
        .iter()
        .zip(pays)
        .map(|((start, end), pay)| uc_award(start, end, pay))
        .collect();
        let mut claim = claim("universal_credit", Value::Null);
        claim["attributes"]["awards"] = Value::Array(awards);
        vec![matched(), (CLAIMS, 200, json!({"data": [claim]}))]
    };
    // One month over £616.66, balanced by the others: 185,000 pence over three periods.
    assert_eq!(
        run(check, request.clone(), &periods([73_333, 50_000, 61_667])).await,
        json!({"status": "eligible"})
    );
    assert_eq!(
        run(check, request.clone(), &periods([73_333, 50_000, 61_668])).await,
        json!({"status": "notEligible"})
    );
    assert_eq!(
        run(check, request, &[(MATCH, 503, Value::Null)]).await,
        json!({"status": "DwpError"})
    );
}
