//! The granular APIs of a matched person (details, address, claims, income), living or dead.

use garrison_citizen::ServiceOptions;

use crate::support::{
    assert_conforms, claimant, current_address, get, is_uuid, match_id, person, sql, start,
    try_match, unique,
};

#[tokio::test]
async fn a_known_person_matches_and_each_granular_api_answers_as_its_contract_says() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let first = match_id(service.addr, "dfe", unique(&p)).await;
    assert!(is_uuid(&first), "{first}");
    let second = match_id(service.addr, "dfe", unique(&p)).await;
    assert_ne!(first, second, "every match gets a fresh id");

    let answer = try_match(service.addr, "dfe", unique(&p)).await;
    assert_conforms("match", &answer);
    assert_eq!(answer.json()["data"]["type"], "MatchResult");

    let base = format!("/capi/v2/citizens/{first}");
    let nino = p.nino.compact();

    let details = get(service.addr, &base).await;
    assert_eq!(details.status, 200);
    assert_conforms("details", &details);
    assert_eq!(details.subject(), Some(nino.as_str()));
    let attributes = &details.json()["data"]["attributes"];
    assert_eq!(attributes["lastName"], p.last_name.as_str());
    assert_eq!(attributes["nino"], nino.as_str());
    assert_eq!(details.json()["data"]["id"], first.as_str());
    assert!(attributes.get("dateOfDeath").is_none());

    let address = get(service.addr, &format!("{base}/address")).await;
    assert_eq!(address.status, 200);
    assert_conforms("address", &address);
    assert_eq!(address.subject(), Some(nino.as_str()));
    let current = current_address(&p);
    assert_eq!(
        address.json()["data"]["attributes"]["postcode"],
        current.postcode.as_str()
    );

    let claims = get(service.addr, &format!("{base}/claims")).await;
    assert_eq!(claims.status, 200);
    assert_conforms("claims", &claims);
    assert_eq!(claims.subject(), Some(nino.as_str()));
    let all = claims.json()["data"].as_array().unwrap().clone();
    assert!(
        all.iter()
            .any(|c| c["attributes"]["benefitType"] == "universal_credit"
                && c["attributes"]["status"] == "in_payment")
    );
    let starts: Vec<&str> = all
        .iter()
        .map(|c| c["attributes"]["startDate"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {starts:?}"
    );
    let uc = all
        .iter()
        .find(|c| c["attributes"]["benefitType"] == "universal_credit")
        .unwrap();
    assert!(uc["attributes"]["awards"][0]["assessmentAttributes"]["takeHomePay"].is_u64());

    let filtered = get(service.addr, &format!("{base}/claims?benefitType=pensions_credit,income_support&effectiveFromDate=2026-01-01&effectiveToDate=2026-10-31"))
    .await;
    assert_eq!(filtered.status, 200);
    assert_conforms("claims", &filtered);
    assert!(
        filtered.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["attributes"]["benefitType"] != "universal_credit"),
        "filtered by benefit type"
    );
    let only_uc = get(
        service.addr,
        &format!("{base}/claims?benefitType=universal_credit"),
    )
    .await;
    assert_conforms("claims", &only_uc);
    assert!(!only_uc.json()["data"].as_array().unwrap().is_empty());

    let income = get(
        service.addr,
        &format!("{base}/income?fromMonth=2025-11&toMonth=2026-10"),
    )
    .await;
    assert_eq!(income.status, 200);
    assert_conforms("income", &income);
    assert_eq!(income.subject(), Some(nino.as_str()));
    let months = income.json()["data"]["attributes"]["months"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        months.len(),
        12,
        "every month held, with or without earnings"
    );
    assert_eq!(months[0]["month"], "2025-11");
    assert_eq!(months[11]["month"], "2026-10");
    assert!(months.iter().any(|m| m["earnings"].as_u64().unwrap() > 0));

    for (query, why) in [
        (
            "fromMonth=2024-01&toMonth=2026-01",
            "25 months, most of them not held",
        ),
        // Months the store holds no record of are refused, not answered "no earnings".
        (
            "fromMonth=2024-11&toMonth=2026-10",
            "before the months held",
        ),
        ("fromMonth=2030-01&toMonth=2030-03", "the future"),
        (
            "fromMonth=2026-01&toMonth=2026-11",
            "this month, not over yet",
        ),
        ("fromMonth=2026-02&toMonth=2026-01", "backwards"),
        ("fromMonth=2026-01", "toMonth missing"),
        ("fromMonth=2026-1&toMonth=2026-02", "not YYYY-MM"),
    ] {
        let answer = get(service.addr, &format!("{base}/income?{query}")).await;
        answer.assert_problem(400, "REQUEST_INVALID");
        assert_conforms("income", &answer);
        assert!(
            !answer.json()["errors"].as_array().unwrap().is_empty(),
            "{why}"
        );
    }
    let answer = get(
        service.addr,
        &format!("{base}/claims?benefitType=child_benefit"),
    )
    .await;
    answer.assert_problem(400, "REQUEST_INVALID");
    assert_conforms("claims", &answer);
}

#[tokio::test]
async fn a_deceased_persons_details_carry_the_date_of_death_and_no_address() {
    let service = start(ServiceOptions::default()).await;
    let id: i64 = sql()
        .query_row(
            "SELECT id FROM people WHERE date_of_death IS NOT NULL ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let p = person(id as u64);
    let death = p.date_of_death.unwrap();
    let match_id = match_id(service.addr, "dfe", unique(&p)).await;
    let details = get(service.addr, &format!("/capi/v2/citizens/{match_id}")).await;
    assert_eq!(details.status, 200);
    assert_conforms("details", &details);
    assert_eq!(
        details.json()["data"]["attributes"]["dateOfDeath"],
        death.to_string()
    );
    let address = get(
        service.addr,
        &format!("/capi/v2/citizens/{match_id}/address"),
    )
    .await;
    address.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    assert_conforms("address", &address);
}
