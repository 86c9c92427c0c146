//! Mock responses from the fixtures under `tests/fixtures/mock/` (OpenAPI 3.0 and 3.1): named
//! examples, `Prefer` code and example, bodies generated from schemas (formats, nullable,
//! `oneOf`/`anyOf`/`allOf`, patterns, recursion) that validate against those schemas.

// The helpers below (outside #[test] fns) unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use garrison_contract::{Contract, MockError, MockOperation, Prefer, mock_operation, operations};
use serde_json::{Value, json};
use support::{at, fixture, validator};

fn mock(contract: &Contract, operation_id: &str) -> MockOperation {
    let ops = operations(contract);
    let op = ops
        .iter()
        .find(|o| o.operation_id == Some(operation_id))
        .unwrap();
    mock_operation(contract, op)
}

fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn the_first_named_example_of_the_lowest_success_is_served() {
    let c = fixture("citizens-3.0.yaml");
    let r = mock(&c, "createCitizen")
        .respond(&Prefer::default(), 0)
        .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(json_body(&r.body)["firstName"], "Jane");
}

#[test]
fn prefer_chooses_the_example_and_the_code() {
    let c = fixture("citizens-3.0.yaml");
    let create = mock(&c, "createCitizen");
    let john = create.respond(&Prefer::parse("example=john"), 0).unwrap();
    assert_eq!(json_body(&john.body)["lastName"], "Smith");
    assert_eq!(json_body(&john.body)["email"], Value::Null);

    let get = mock(&c, "getCitizen");
    let gone = get
        .respond(&Prefer::parse("code=404; example=gone"), 0)
        .unwrap();
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(json_body(&gone.body)["title"], "Gone");
    // Without a name, the first example in the loaded document's order, which sorts names.
    let first = get.respond(&Prefer::parse("code=404"), 0).unwrap();
    assert_eq!(json_body(&first.body)["title"], "Gone");
    let not_found = get
        .respond(&Prefer::parse("code=404,example=notFound"), 0)
        .unwrap();
    assert_eq!(json_body(&not_found.body)["title"], "Not Found");
    // The media type's single `example`.
    let ok = get.respond(&Prefer::default(), 0).unwrap();
    assert_eq!(json_body(&ok.body)["nino"], "QQ123456A");
}

#[test]
fn unknown_codes_and_examples_name_what_is_available() {
    let c = fixture("citizens-3.0.yaml");
    let get = mock(&c, "getCitizen");
    let err = get.respond(&Prefer::parse("code=500"), 0).unwrap_err();
    assert!(matches!(err, MockError::UnknownStatus { code: 500, .. }));
    assert_eq!(
        err.to_string(),
        "status 500 is not documented for this operation; documented: 200, 404"
    );
    let err = get
        .respond(&Prefer::parse("code=404, example=missing"), 0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the 404 response has no example named \"missing\"; available: gone, notFound"
    );
    let err = get.respond(&Prefer::parse("example=x"), 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the 200 response has no example named \"x\"; it has no named examples"
    );
}

#[test]
fn a_response_without_content_has_no_body() {
    let c = fixture("citizens-3.0.yaml");
    let r = mock(&c, "deleteCitizen")
        .respond(&Prefer::default(), 0)
        .unwrap();
    assert_eq!((r.status, r.content_type, r.body.len()), (204, None, 0));
}

#[test]
fn bodies_are_generated_from_schemas_with_formats() {
    let c = fixture("citizens-3.0.yaml");
    let list = mock(&c, "listCitizens")
        .respond(&Prefer::default(), 0)
        .unwrap();
    let body = json_body(&list.body);
    let citizen = &body["citizens"][0];
    assert_eq!(citizen["dateOfBirth"], "2026-01-31");
    assert_eq!(citizen["id"], "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    assert_eq!(citizen["email"], "user@example.com");
    assert_eq!(body["next"], "https://example.com/resource");
    let nino = citizen["nino"].as_str().unwrap();
    assert_eq!(nino.len(), 9, "{nino}");
    let schema = at(
        &c,
        "/paths/~1citizens/get/responses/200/content/application~1json/schema",
    );
    assert!(validator(&c, schema).is_valid(&body));
    // The problem response is generated too.
    let problem = mock(&c, "listCitizens")
        .respond(&Prefer::parse("code=400"), 0)
        .unwrap();
    assert_eq!(json_body(&problem.body)["status"], 400);
}

/// Every generated body of `operation_id`'s `status` response validates, statically and with
/// `dynamic=true` over many seeds, and the seeds give varied bodies.
fn generated_bodies_validate(c: &Contract, operation_id: &str, pointer: &str, code: u16) {
    let m = mock(c, operation_id);
    let v = validator(c, at(c, pointer));
    let fixed = m
        .respond(
            &Prefer {
                code: Some(code),
                ..Prefer::default()
            },
            0,
        )
        .unwrap();
    assert!(v.is_valid(&json_body(&fixed.body)), "{operation_id}");
    let dynamic = Prefer {
        code: Some(code),
        example: None,
        dynamic: true,
    };
    let mut bodies = BTreeSet::new();
    for seed in 0..500 {
        let r = m.respond(&dynamic, seed).unwrap();
        let body = json_body(&r.body);
        assert!(v.is_valid(&body), "{operation_id} seed {seed}: {body}");
        bodies.insert(r.body);
    }
    assert!(
        bodies.len() > 400,
        "{operation_id}: {} distinct",
        bodies.len()
    );
    // The same seed, the same body.
    assert_eq!(
        m.respond(&dynamic, 7).unwrap(),
        m.respond(&dynamic, 7).unwrap()
    );
}

#[test]
fn dynamic_bodies_validate_3_0() {
    let c = fixture("citizens-3.0.yaml");
    let ok = "/paths/~1citizens/get/responses/200/content/application~1json/schema";
    generated_bodies_validate(&c, "listCitizens", ok, 200);
    // oneOf of allOf with a 3.0 boolean exclusiveMinimum and multipleOf 0.01.
    let claim = "/paths/~1claims~1{claimId}/get/responses/200/content/application~1json/schema";
    generated_bodies_validate(&c, "getClaim", claim, 200);
    // A recursive schema: generation terminates.
    let household =
        "/paths/~1citizens~1{nino}~1household/get/responses/200/content/application~1json/schema";
    generated_bodies_validate(&c, "getHousehold", household, 200);
}

#[test]
fn dynamic_bodies_validate_3_1() {
    let c = fixture("library-3.1.yaml");
    let book = "/paths/~1books~1{bookId}/get/responses/200/content/application~1json/schema";
    generated_bodies_validate(&c, "getBook", book, 200);
    let shelf = "/paths/~1shelves~1{shelfId}/get/responses/200/content/application~1json/schema";
    generated_bodies_validate(&c, "getShelf", shelf, 200);
    let problem = "/components/schemas/Problem";
    generated_bodies_validate(&c, "getShelf", problem, 404);
}

#[test]
fn examples_3_1() {
    let c = fixture("library-3.1.yaml");
    // The schema's `examples` (3.1) serve when the media type has none.
    let list = mock(&c, "listBooks")
        .respond(&Prefer::default(), 0)
        .unwrap();
    assert_eq!(json_body(&list.body)[0]["title"], "The Example");
    // The media type's `example`.
    let created = mock(&c, "createBook")
        .respond(&Prefer::default(), 0)
        .unwrap();
    assert_eq!(
        (created.status, json_body(&created.body)["title"].clone()),
        (201, json!("Added Book"))
    );
    // A generated book: patterns, formats, anyOf/oneOf first branches.
    let book = json_body(
        &mock(&c, "getBook")
            .respond(&Prefer::default(), 0)
            .unwrap()
            .body,
    );
    let isbn = book["isbn"].as_str().unwrap();
    assert!(isbn.len() == 13 && isbn.starts_with("97"), "{isbn}");
    assert_eq!(book["contact"], "user@example.com");
    assert_eq!(book["edition"], 1);
    assert_eq!(book["published"], "2026-01-31");
    assert_eq!(book["price"], json!(0.01));
    let shelf = json_body(
        &mock(&c, "getShelf")
            .respond(&Prefer::default(), 0)
            .unwrap()
            .body,
    );
    let label = shelf["label"].as_str().unwrap();
    assert!(label.len() == 4 && label.as_bytes()[1] == b'-', "{label}");
}

#[test]
fn responses_leave_out_write_only_properties() {
    let c = fixture("citizens-3.0.yaml");
    let m = mock(&c, "listCitizens");
    let mut ids = 0;
    for seed in 0..200 {
        let r = m.respond(&Prefer::parse("dynamic=true"), seed).unwrap();
        for citizen in json_body(&r.body)["citizens"].as_array().unwrap() {
            assert!(citizen.get("pin").is_none(), "{citizen}");
            ids += usize::from(citizen.get("id").is_some());
        }
    }
    assert!(ids > 0);
    let c = fixture("library-3.1.yaml");
    let book = mock(&c, "getBook").respond(&Prefer::default(), 0).unwrap();
    let book = json_body(&book.body);
    assert!(
        book.get("secret").is_none() && book.get("addedBy").is_some(),
        "{book}"
    );
}
