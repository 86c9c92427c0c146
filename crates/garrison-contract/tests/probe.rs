//! Contract-test cases from the fixtures under `tests/fixtures/mock/` (OpenAPI 3.0 and 3.1):
//! conforming requests carry every required parameter and a schema-valid body; rejected ones
//! break one rule each; everything is reproducible from the seed.

// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

use garrison_contract::{Case, Expect, cases, curl};
use serde_json::Value;
use support::{at, fixture, validator};

fn of<'a>(all: &'a [Case], operation_id: &str) -> Vec<&'a Case> {
    all.iter()
        .filter(|c| c.operation_id.as_deref() == Some(operation_id))
        .collect()
}

fn query_pairs(case: &Case) -> Vec<(String, String)> {
    case.query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn conforming_requests_carry_valid_parameters_and_bodies() {
    let c = fixture("citizens-3.0.yaml");
    let all = cases(&c, 11, 50);
    let create = of(&all, "createCitizen");
    let schema = at(
        &c,
        "/paths/~1citizens/post/requestBody/content/application~1json/schema",
    );
    let v = validator(&c, schema);
    let conforming: Vec<_> = create
        .iter()
        .filter(|c| c.expect == Expect::Conforming)
        .collect();
    assert_eq!(conforming.len(), 50);
    for case in &conforming {
        let (content_type, body) = case.body.as_ref().unwrap();
        assert_eq!(content_type, "application/json");
        let body: Value = serde_json::from_slice(body).unwrap();
        assert!(v.is_valid(&body), "{body}");
        assert_eq!((case.method, case.path.as_str()), ("POST", "/citizens"));
    }

    for case in of(&all, "listCitizens") {
        if case.expect != Expect::Conforming {
            continue;
        }
        let pairs = query_pairs(case);
        let limit: i64 = pairs
            .iter()
            .find(|(k, _)| k == "limit")
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert!((1..=100).contains(&limit));
        // `status` is form, not exploded: one pair, comma-separated.
        assert!(pairs.iter().filter(|(k, _)| k == "status").count() <= 1);
        let (name, id) = &case.headers[0];
        assert_eq!(name, "correlation-id");
        assert_eq!(id.len(), 36);
        assert!(!case.headers.iter().any(|(n, _)| n == "session"));
    }

    for case in of(&all, "getCitizen") {
        let nino = case.path.strip_prefix("/citizens/").unwrap();
        if case.expect == Expect::Conforming {
            assert_eq!(nino.len(), 9, "{nino}");
            assert!(nino.chars().take(2).all(|c| c.is_ascii_uppercase()));
        }
    }
}

#[test]
fn rejected_requests_break_one_rule_each() {
    let c = fixture("citizens-3.0.yaml");
    let all = cases(&c, 3, 2);
    let descriptions = |id: &str| -> Vec<String> {
        of(&all, id)
            .iter()
            .filter(|c| c.expect == Expect::Rejected)
            .map(|c| c.description.clone())
            .collect()
    };
    let list = descriptions("listCitizens");
    assert!(
        list.contains(&"missing required query parameter `limit`".to_owned()),
        "{list:?}"
    );
    assert!(list.contains(&"missing required header parameter `correlation-id`".to_owned()));
    assert!(
        list.iter()
            .any(|d| d.starts_with("query parameter `limit` ")),
        "{list:?}"
    );

    let claim = descriptions("getClaim");
    assert!(
        claim
            .iter()
            .any(|d| d.starts_with("path parameter `claimId` ")),
        "{claim:?}"
    );
    for case in of(&all, "getClaim") {
        if case.expect == Expect::Rejected {
            let id = case.path.strip_prefix("/claims/").unwrap();
            assert!(id.parse::<i64>().map_or(true, |n| n < 1), "{id}");
        }
    }

    let create = descriptions("createCitizen");
    assert!(
        create.contains(&"the body is not JSON".to_owned()),
        "{create:?}"
    );
    assert!(create.contains(&"the required body is missing".to_owned()));
    let schema = at(
        &c,
        "/paths/~1citizens/post/requestBody/content/application~1json/schema",
    );
    let v = validator(&c, schema);
    let mut broken = 0;
    for case in of(&all, "createCitizen") {
        if case.expect != Expect::Rejected {
            continue;
        }
        let Some((_, body)) = &case.body else {
            continue;
        };
        if let Ok(body) = serde_json::from_slice::<Value>(body) {
            assert!(!v.is_valid(&body), "{}: {body}", case.description);
            broken += 1;
        }
    }
    assert!(broken >= 1);
}

#[test]
fn many_seeds_give_bodies_that_validate_or_are_rejected() {
    for (file, operation_id, pointer) in [
        ("library-3.1.yaml", "createBook", "/components/schemas/Book"),
        (
            "citizens-3.0.yaml",
            "createCitizen",
            "/components/schemas/Citizen",
        ),
    ] {
        let c = fixture(file);
        let v = validator(&c, at(&c, pointer));
        for seed in 0..200 {
            for case in cases(&c, seed, 5) {
                if case.operation_id.as_deref() != Some(operation_id) {
                    continue;
                }
                let Some((_, body)) = &case.body else {
                    continue;
                };
                let Ok(body) = serde_json::from_slice::<Value>(body) else {
                    assert_eq!(case.expect, Expect::Rejected);
                    continue;
                };
                assert_eq!(
                    v.is_valid(&body),
                    case.expect == Expect::Conforming,
                    "seed {seed}: {}: {body}",
                    case.description
                );
            }
        }
    }
}

#[test]
fn path_parameters_are_filled_and_percent_encoded() {
    let c = fixture("library-3.1.yaml");
    let all = cases(&c, 5, 10);
    for case in &all {
        assert!(!case.path.contains('{'), "{}", case.path);
        assert!(
            case.path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-._~%".contains(&b)),
            "{}",
            case.path
        );
    }
    let books = of(&all, "getBook");
    assert!(books.iter().any(|c| {
        c.description
            .starts_with("path parameter `bookId` is not a UUID")
    }));
    let list = of(&all, "listBooks");
    assert!(
        list.iter().all(|c| c.expect == Expect::Rejected
            || query_pairs(c).iter().any(|(k, _)| k == "published"))
    );
}

#[test]
fn cases_are_reproducible_from_the_seed() {
    let c = fixture("library-3.1.yaml");
    assert_eq!(cases(&c, 9, 4), cases(&c, 9, 4));
    assert_ne!(cases(&c, 9, 4), cases(&c, 10, 4));
}

#[test]
fn curl_reproduces_a_case() {
    let c = fixture("citizens-3.0.yaml");
    let all = cases(&c, 1, 1);
    let case = of(&all, "deleteCitizen")[0];
    assert_eq!(
        curl(case, "https://api.example.gov.uk/v1"),
        format!(
            "curl -X DELETE 'https://api.example.gov.uk/v1{}'",
            case.path
        )
    );
    let post = of(&all, "createCitizen")[0];
    let line = curl(post, "http://127.0.0.1:8080");
    assert!(line.starts_with("curl -X POST 'http://127.0.0.1:8080/citizens' -H 'Content-Type: application/json' --data-binary '{"), "{line}");
}

#[test]
fn request_bodies_leave_out_read_only_properties() {
    let c = fixture("citizens-3.0.yaml");
    let mut pins = 0;
    for case in cases(&c, 4, 100) {
        if case.operation_id.as_deref() != Some("createCitizen")
            || case.expect != Expect::Conforming
        {
            continue;
        }
        let body: Value = serde_json::from_slice(&case.body.unwrap().1).unwrap();
        assert!(body.get("id").is_none(), "{body}");
        pins += usize::from(body.get("pin").is_some());
    }
    assert!(pins > 0);
    // 3.1: a required read-only property stays (`required` holds); an optional one goes.
    let c = fixture("library-3.1.yaml");
    for case in cases(&c, 4, 50) {
        if case.operation_id.as_deref() != Some("createBook") || case.expect != Expect::Conforming {
            continue;
        }
        let body: Value = serde_json::from_slice(&case.body.unwrap().1).unwrap();
        assert!(
            body.get("id").is_some() && body.get("addedBy").is_none(),
            "{body}"
        );
    }
}
