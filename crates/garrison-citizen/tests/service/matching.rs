//! Matching: namesakes refused until told apart, the postcode narrowing, nobody matching.

use garrison_citizen::ServiceOptions;
use serde_json::json;

use crate::support::{
    assert_conforms, claimant, current_address, get, match_id, namesakes, start, try_match, unique,
};

#[tokio::test]
async fn namesakes_are_refused_until_disambiguated() {
    let service = start(ServiceOptions::default()).await;
    let (a, b) = namesakes();
    assert_eq!(a.date_of_birth, b.date_of_birth);
    let both = json!({"lastName": a.last_name, "dateOfBirth": a.date_of_birth.to_string()});
    let answer = try_match(service.addr, "dfe", both.clone()).await;
    answer.assert_problem(422, "MORE_THAN_ONE_MATCH");
    assert_conforms("match", &answer);

    // Upper case and stray punctuation do not decide a match.
    let mut shouted = both.clone();
    shouted["lastName"] = format!(" {}.", a.last_name.to_uppercase()).into();
    let answer = try_match(service.addr, "dfe", shouted).await;
    assert_eq!(answer.status, 422);

    for p in [&a, &b] {
        let mut by_fragment = both.clone();
        by_fragment["ninoFragment"] = p.nino.fragment().into();
        let id = match_id(service.addr, "dfe", by_fragment).await;
        let details = get(service.addr, &format!("/capi/v2/citizens/{id}")).await;
        assert_eq!(details.subject(), Some(p.nino.compact().as_str()));
    }
    if a.first_name != b.first_name {
        let mut by_name = both.clone();
        by_name["firstName"] = a.first_name.to_lowercase().into();
        let id = match_id(service.addr, "dfe", by_name).await;
        let details = get(service.addr, &format!("/capi/v2/citizens/{id}")).await;
        assert_eq!(details.subject(), Some(a.nino.compact().as_str()));
    }
}

#[tokio::test]
async fn postcode_narrows_a_match_to_the_current_address() {
    let service = start(ServiceOptions::default()).await;
    let p = claimant();
    let current = current_address(&p);
    let mut attributes = unique(&p);
    attributes["postcode"] = current
        .postcode
        .as_str()
        .to_lowercase()
        .replace(' ', "")
        .into();
    match_id(service.addr, "dfe", attributes.clone()).await;
    attributes["postcode"] = "ZZ99 9ZZ".into();
    let answer = try_match(service.addr, "dfe", attributes.clone()).await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    attributes["postcode"] = "nonsense".into();
    let answer = try_match(service.addr, "dfe", attributes).await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn nobody_matching_is_404() {
    let service = start(ServiceOptions::default()).await;
    let answer = try_match(
        service.addr,
        "dfe",
        json!({"lastName": "Nobody-Such", "dateOfBirth": "1901-01-01"}),
    )
    .await;
    answer.assert_problem(404, "MATCHING_RESOURCE_NOT_FOUND");
    assert_conforms("match", &answer);
}
