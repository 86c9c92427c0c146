//! APIs declared by their contracts, end to end over mutual TLS: a request that breaks the
//! contract never reaches the upstream and gets every violation back; a drifting upstream is
//! caught (`enforce`) or counted (`report`); a mocked API answers from its contract alone.

mod common;

use bytes::Bytes;
use common::{Harness, Setup, admin, assert_problem};
use garrison_testkit::client::{Protocol, json, request};
use http::Response;

/// An OpenAPI 3.0 contract (so `nullable`, `example` and boolean exclusive bounds go through
/// normalisation). The test upstream echoes what it received as
/// `{method, path, query, headers, bodyBytes, uri}`: `matchPerson`'s response schema
/// describes that echo, `getPerson`'s does not (the upstream has "drifted").
const PEOPLE: &str = r##"openapi: 3.0.3
info: {title: People, version: 1.0.0}
servers:
  - url: https://api.example.gov.uk/people/v1
paths:
  /match:
    post:
      operationId: matchPerson
      parameters:
        - name: correlation-id
          in: header
          required: true
          schema: {type: string, format: uuid}
        - name: mode
          in: query
          schema: {type: string, enum: [strict, fuzzy]}
        - name: limit
          in: query
          schema: {type: integer, minimum: 0, exclusiveMinimum: true, maximum: 10}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [lastName, dateOfBirth]
              additionalProperties: false
              properties:
                lastName: {type: string, minLength: 1, maxLength: 35}
                dateOfBirth: {type: string, format: date}
                postcode: {type: string, nullable: true, pattern: '^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$'}
      responses:
        '200':
          description: The echo of the request.
          content:
            application/json:
              schema:
                type: object
                required: [method, path, bodyBytes]
                properties:
                  method: {type: string, enum: [POST]}
                  path: {type: string}
                  bodyBytes: {type: integer, minimum: 1}
        '400': {description: Invalid}
  /people/{id}:
    get:
      operationId: getPerson
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
      responses:
        '200':
          description: A person.
          content:
            application/json:
              schema:
                type: object
                required: [id, lastName]
                properties:
                  id: {type: string}
                  lastName: {type: string}
              examples:
                smith: {value: {id: 6f1c1b4e-2f0a-4c1e-9a51-7d0c2b5b8e11, lastName: Smith}}
                jones: {value: {id: 0b7e2d7c-4b8f-4d8a-a0a4-2f5f1f7f3c22, lastName: Jones}}
        '404':
          description: Nobody has this id.
          content:
            application/problem+json:
              schema: {type: object, required: [code], properties: {code: {type: string}}}
              example: {code: MATCHING_RESOURCE_NOT_FOUND}
"##;

const ID: &str = "6f1c1b4e-2f0a-4c1e-9a51-7d0c2b5b8e11";

fn setup() -> Setup {
    Setup {
        files: vec![("people.yaml", PEOPLE.to_owned())],
        apis: r#"  - name: people
    contract: people.yaml
    upstream: main
    validation:
      responses: enforce
  - name: people-report
    contract: people.yaml
    base_path: /report/v1
    upstream: main
    validation:
      responses: report
  - name: people-sandbox
    contract: people.yaml
    base_path: /sandbox/v1
    mock: true
"#
        .to_owned(),
        extra_subscriptions: ["people", "people-report", "people-sandbox"]
            .iter()
            .map(|g| format!("  - consumer: alice\n    group: {g}\n    plan: standard\n"))
            .collect(),
        ..Setup::default()
    }
}

async fn send(
    h: &Harness,
    protocol: Protocol,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response<Bytes> {
    let key = h.consumer("alice").key.clone();
    let mut req = request(method, path, Some(&key), Bytes::from(body.to_owned()));
    for (name, value) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    h.client("alice", protocol)
        .send(h.addr, req)
        .await
        .expect("request")
}

const GOOD: &str = r#"{"lastName": "Smith", "dateOfBirth": "1970-01-31", "postcode": null}"#;
const JSON: (&str, &str) = ("content-type", "application/json");
const CORRELATION: (&str, &str) = ("correlation-id", "1b4e28ba-2fa1-11d2-883f-0016d3cca427");

#[tokio::test]
async fn a_conforming_request_goes_through_on_both_protocols() {
    let h = Harness::start(setup()).await;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let before = h.upstream.requests();
        let response = send(
            &h,
            protocol,
            "POST",
            "/people/v1/match?mode=strict&limit=3",
            &[JSON, CORRELATION],
            GOOD,
        )
        .await;
        assert_eq!(response.status(), 200, "{:?}", response.body());
        let echo = json(&response);
        assert_eq!(echo["path"], "/people/v1/match");
        assert_eq!(echo["query"], "mode=strict&limit=3");
        assert_eq!(echo["bodyBytes"], GOOD.len(), "the body arrives whole");
        assert_eq!(h.upstream.requests(), before + 1);
    }
}

#[tokio::test]
async fn a_bad_request_lists_every_violation_and_never_reaches_the_upstream() {
    let h = Harness::start(setup()).await;
    let bad_body =
        r#"{"dateOfBirth": "31/01/1970", "postcode": "not a postcode", "nino": "AB123456C"}"#;
    let response = send(
        &h,
        Protocol::Http1,
        "POST",
        "/people/v1/match?mode=loose&limit=0",
        &[JSON, ("correlation-id", "not-a-uuid")],
        bad_body,
    )
    .await;
    assert_problem(&response, 400, "REQUEST_INVALID");
    let problem = json(&response);
    let mut found: Vec<(String, String)> = problem["errors"]
        .as_array()
        .expect("an errors list")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            (
                e["location"].as_str().unwrap_or_default().to_owned(),
                e["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    let expected = [
        ("/body/lastName", "required"),
        ("/body/nino", "additionalProperties"),
        ("/body/dateOfBirth", "format"),
        ("/body/postcode", "pattern"),
        ("header.correlation-id", "format"),
        ("query.limit", "exclusiveMinimum"),
        ("query.mode", "enum"),
    ];
    for (location, rule) in expected {
        assert!(
            found.iter().any(|(l, r)| l == location && r == rule),
            "missing {location} {rule} in {found:?}"
        );
    }
    // No value is echoed back: the caller's data (here a NINO) stays out of the answer.
    let text = String::from_utf8_lossy(response.body());
    for value in ["AB123456C", "31/01/1970", "not a postcode", "not-a-uuid"] {
        assert!(!text.contains(value), "{value} echoed in {text}");
    }
    // Wrong media type, a body that is not JSON, and a missing body.
    for (headers, body, location, rule) in [
        (
            &[("content-type", "text/plain"), CORRELATION][..],
            GOOD,
            "header.content-type",
            "content-type",
        ),
        (&[JSON, CORRELATION][..], "{not json", "/body", "json"),
        (&[JSON, CORRELATION][..], "", "/body", "required"),
        (&[JSON][..], GOOD, "header.correlation-id", "required"),
    ] {
        let response = send(
            &h,
            Protocol::Http2,
            "POST",
            "/people/v1/match",
            headers,
            body,
        )
        .await;
        assert_problem(&response, 400, "REQUEST_INVALID");
        let problem = json(&response);
        assert!(
            problem["errors"].as_array().is_some_and(|e| e
                .iter()
                .any(|e| e["location"] == location && e["rule"] == rule)),
            "expected {location} {rule}: {problem}"
        );
    }
    let response = send(&h, Protocol::Http1, "GET", "/people/v1/people/42", &[], "").await;
    assert_problem(&response, 400, "REQUEST_INVALID");
    assert_eq!(json(&response)["errors"][0]["location"], "path.id");
    assert_eq!(
        h.upstream.requests(),
        0,
        "no invalid request reached the upstream"
    );
    let (_, metrics) = admin(h.gateway.admin_addr(), "GET", "/metrics", None).await;
    assert!(
        metrics.contains(
            "garrison_contract_violations_total{route=\"people.matchPerson\",direction=\"request\"} 5"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_drifting_upstream_is_caught_when_enforcing_and_counted_when_reporting() {
    let h = Harness::start(setup()).await;
    let path = format!("/people/v1/people/{ID}");
    let response = send(&h, Protocol::Http1, "GET", &path, &[], "").await;
    assert_problem(&response, 502, "UPSTREAM_CONTRACT_VIOLATION");
    let problem = json(&response);
    assert!(
        problem["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["location"] == "/body/id" && e["rule"] == "required")),
        "{problem}"
    );
    assert_eq!(h.upstream.requests(), 1, "the request itself was valid");
    assert!(
        !String::from_utf8_lossy(response.body()).contains("x-upstream"),
        "nothing of the withheld answer leaks"
    );

    let response = send(
        &h,
        Protocol::Http1,
        "GET",
        &format!("/report/v1/people/{ID}"),
        &[],
        "",
    )
    .await;
    assert_eq!(response.status(), 200, "report mode passes the answer on");
    assert_eq!(json(&response)["method"], "GET");
    let (_, metrics) = admin(h.gateway.admin_addr(), "GET", "/metrics", None).await;
    for route in ["people.getPerson", "people-report.getPerson"] {
        assert!(
            metrics.contains(&format!(
                "garrison_contract_violations_total{{route=\"{route}\",direction=\"response\"}} 1"
            )),
            "{route} in {metrics}"
        );
    }
    // One too large to check is passed on whole, unchecked, under `report`…
    let pad = ("test-pad", "9000000");
    let response = send(
        &h,
        Protocol::Http1,
        "GET",
        &format!("/report/v1/people/{ID}"),
        &[pad],
        "",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(&response)["pad"].as_str().map(str::len),
        Some(9_000_000)
    );
    // …and refused under `enforce`.
    let response = send(&h, Protocol::Http1, "GET", &path, &[pad], "").await;
    assert_problem(&response, 502, "UPSTREAM_CONTRACT_VIOLATION");
}

#[tokio::test]
async fn a_mocked_api_answers_from_its_contract_and_still_validates() {
    let h = Harness::start(setup()).await;
    let path = format!("/sandbox/v1/people/{ID}");
    let response = send(&h, Protocol::Http1, "GET", &path, &[], "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        json(&response)["lastName"],
        "Jones",
        "the first named example (by name: the loaded document keeps keys sorted)"
    );

    let response = send(
        &h,
        Protocol::Http2,
        "GET",
        &path,
        &[("prefer", "example=smith")],
        "",
    )
    .await;
    assert_eq!(json(&response)["lastName"], "Smith");

    let response = send(
        &h,
        Protocol::Http1,
        "GET",
        &path,
        &[("prefer", "code=404")],
        "",
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(json(&response)["code"], "MATCHING_RESOURCE_NOT_FOUND");

    let response = send(
        &h,
        Protocol::Http1,
        "GET",
        &path,
        &[("prefer", "code=418")],
        "",
    )
    .await;
    assert_problem(&response, 400, "BAD_REQUEST");
    assert!(
        json(&response)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("418")),
        "the detail names what was asked"
    );

    // Generated from the schema when there is no example: valid against it.
    let response = send(
        &h,
        Protocol::Http1,
        "POST",
        "/sandbox/v1/match",
        &[JSON, CORRELATION],
        GOOD,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json(&response);
    assert_eq!(body["method"], "POST");
    assert!(body["bodyBytes"].as_i64().is_some_and(|n| n >= 1), "{body}");

    let response = send(&h, Protocol::Http1, "GET", "/sandbox/v1/people/42", &[], "").await;
    assert_problem(&response, 400, "REQUEST_INVALID");
    assert_eq!(h.upstream.requests(), 0, "a mock never calls the upstream");
}

#[tokio::test]
async fn a_contract_change_takes_effect_on_reload_and_a_broken_one_changes_nothing() {
    let h = Harness::start(setup()).await;
    let admin_addr = h.gateway.admin_addr();
    let contract = h.dir.join("people.yaml");
    let valid_path = "/people/v1/match?mode=fuzzy";

    // A contract that no longer loads: refused with the file and pointer; the old one serves.
    std::fs::write(
        &contract,
        PEOPLE.replace(
            "'400': {description: Invalid}",
            "'400': {$ref: '#/components/responses/Gone'}",
        ),
    )
    .expect("break the contract");
    let (status, body) = admin(admin_addr, "POST", "/admin/reload", Some(&h.admin_token)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("people.yaml"), "{body}");
    assert!(body.contains("#/components/responses/Gone"), "{body}");
    let response = send(
        &h,
        Protocol::Http1,
        "POST",
        valid_path,
        &[JSON, CORRELATION],
        GOOD,
    )
    .await;
    assert_eq!(response.status(), 200, "the old contract is still in force");

    // A valid change (mode no longer accepts `fuzzy`) is in force after the reload.
    std::fs::write(
        &contract,
        PEOPLE.replace("enum: [strict, fuzzy]", "enum: [strict]"),
    )
    .expect("change the contract");
    let (status, body) = admin(admin_addr, "POST", "/admin/reload", Some(&h.admin_token)).await;
    assert_eq!(status, 200, "{body}");
    let response = send(
        &h,
        Protocol::Http1,
        "POST",
        valid_path,
        &[JSON, CORRELATION],
        GOOD,
    )
    .await;
    assert_problem(&response, 400, "REQUEST_INVALID");
    assert_eq!(json(&response)["errors"][0]["location"], "query.mode");
}
