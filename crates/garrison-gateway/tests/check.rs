//! Checks end to end over mutual TLS: an operation answered by composing calls to other APIs'
//! operations (sequential and parallel steps, values passed along, a CEL decision). The caller
//! gets the decision only; the granular answers never leave the gateway.

mod common;

use bytes::Bytes;
use common::{Harness, Setup, assert_problem};
use garrison_testkit::client::{Protocol, json, request};
use serde_json::json;

const RECORDS: &str = r##"openapi: 3.1.0
info: {title: Records, version: 1.0.0}
paths:
  /records/v1/lookup:
    post:
      operationId: lookup
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [lastName], properties: {lastName: {type: string}}}
      responses:
        '200': {description: The echo.}
  /records/v1/items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        '200': {description: The echo.}
"##;

const SANDBOX: &str = r##"openapi: 3.1.0
info: {title: Sandbox, version: 1.0.0}
paths:
  /sandbox/v1/status:
    get:
      operationId: getStatus
      responses:
        '200':
          description: Open.
          content:
            application/json:
              schema: {type: object}
              example: {status: open}
"##;

const ELIGIBILITY: &str = r##"openapi: 3.1.0
info: {title: Eligibility, version: 1.0.0}
paths:
  /checks/v1/eligibility:
    post:
      operationId: checkEligibility
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [lastName]
              additionalProperties: false
              properties: {lastName: {type: string, minLength: 1}}
      responses:
        '200': {description: The decision.}
"##;

fn setup(records_upstream: &str) -> Setup {
    Setup {
        files: vec![
            ("records.yaml", RECORDS.to_owned()),
            ("sandbox.yaml", SANDBOX.to_owned()),
            ("eligibility.yaml", ELIGIBILITY.to_owned()),
        ],
        apis: format!(
            r#"  - name: records
    contract: records.yaml
    upstream: {records_upstream}
  - name: sandbox
    contract: sandbox.yaml
    mock: true
  - name: eligibility
    contract: eligibility.yaml
    check:
      steps:
        - name: lookup
          operation: records.lookup
          body: '{{"lastName": request.lastName}}'
        - parallel:
            - name: item
              operation: records.getItem
              path: {{id: 'string(steps.lookup.body.bodyBytes)'}}
              query: {{limit: '3', testSubject: 'request.lastName in ["Named", "Slow"] ? "AB123456C" : null'}}
            - name: status
              operation: sandbox.getStatus
        - name: never
          operation: records.getItem
          when: 'steps.status.body.status != "open"'
          path: {{id: '"x"'}}
        - name: slow
          operation: records.getItem
          when: 'request.lastName == "Slow"'
          path: {{id: '"hang"'}}
      refuse:
        - when: 'request.lastName == "Later"'
          as: invalid
          detail: Asked too early.
        - when: 'steps.lookup.status == 200 && request.lastName == "Broken"'
          as: unavailable
        - when: 'steps.item.status == 200 && request.lastName == "Named"'
          as: unavailable
      decision: |
        {{
          "outcome": steps.lookup.status == 200
              && steps.item.body.path == "/records/v1/items/" + string(steps.lookup.body.bodyBytes)
              && steps.item.body.query == "limit=3"
              && steps.status.body.status == "open" ? "eligible" : "notEligible",
          "consumerSeen": steps.lookup.body.headers["garrison-consumer"],
          "purposeSeen": steps.lookup.body.headers["context"],
          "skipped": steps.never.skipped
        }}
"#
        ),
        extra_subscriptions: "  - consumer: alice\n    group: eligibility\n    plan: standard\n"
            .to_owned(),
        ..Setup::default()
    }
}

async fn ask(h: &Harness, body: &str) -> http::Response<Bytes> {
    let key = h.consumer("alice").key.clone();
    let mut req = request(
        "POST",
        "/checks/v1/eligibility",
        Some(&key),
        Bytes::from(body.to_owned()),
    );
    req.headers_mut()
        .insert("content-type", "application/json".parse().expect("value"));
    req.headers_mut()
        .insert("context", "DVLA-LICENSING".parse().expect("value"));
    h.client("alice", Protocol::Http2)
        .send(h.addr, req)
        .await
        .expect("response")
}

#[tokio::test]
async fn a_check_composes_calls_and_answers_with_the_decision_only() {
    let h = Harness::start(setup("main")).await;
    let response = ask(&h, r#"{"lastName": "Smith"}"#).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(
        json(&response),
        json!({
            "outcome": "eligible",
            "consumerSeen": "alice",
            "purposeSeen": "DVLA-LICENSING",
            "skipped": true
        })
    );
    assert_eq!(
        h.upstream.paths(),
        ["/records/v1/lookup", "/records/v1/items/20"],
        "two calls reached the records service (the sandbox is mocked; the last step was skipped); 20 bytes of lookup body"
    );
    assert!(response.headers().contains_key("x-request-id"));

    // A request that breaks the check's contract makes no call at all.
    let before = h.upstream.requests();
    assert_problem(
        &ask(&h, r#"{"lastName": ""}"#).await,
        400,
        "REQUEST_INVALID",
    );
    assert_eq!(h.upstream.requests(), before);

    // A check cannot be made a sandbox mock: sandbox keys (anyone signed up may hold one)
    // would reach the real services through its steps.
    let config = std::fs::read_to_string(h.config_path()).expect("config");
    let mocked = config.replacen(
        "    contract: eligibility.yaml\n",
        "    contract: eligibility.yaml\n    mock: true\n",
        1,
    );
    assert_ne!(mocked, config);
    std::fs::write(h.config_path(), mocked).expect("write");
    let error = h.gateway.reload().expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("apis[2].mock: a check answers from real services"),
        "{error}"
    );
}

#[tokio::test]
async fn a_check_whose_service_is_down_fails_as_unavailable() {
    let h = Harness::start(setup("down")).await;
    let response = ask(&h, r#"{"lastName": "Smith"}"#).await;
    assert_problem(&response, 503, "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn a_check_refuses_rather_than_decides_when_its_configuration_says_so() {
    let h = Harness::start(setup("main")).await;
    // Decided before any call: it reads the request only.
    let response = ask(&h, r#"{"lastName": "Later"}"#).await;
    assert_problem(&response, 422, "REQUEST_NOT_ANSWERABLE");
    assert_eq!(json(&response)["detail"], "Asked too early.");
    assert!(
        h.upstream.paths().is_empty(),
        "no call for a refused request"
    );

    // Decided once the step it reads has run, before the next is called.
    let response = ask(&h, r#"{"lastName": "Broken"}"#).await;
    assert_problem(&response, 502, "BAD_GATEWAY");
    assert!(
        json(&response)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("cannot answer")),
        "the gateway's wording when the check gives none: {}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(h.upstream.paths(), ["/records/v1/lookup"]);

    // A refusal of an unknown kind, or whose condition is not CEL, is refused at load with
    // the file, line and field; the old configuration stays in force.
    let config = std::fs::read_to_string(h.config_path()).expect("config");
    for (from, to, field) in [
        ("as: invalid", "as: maybe", "apis[2].check.refuse[0].as"),
        (
            r#"'request.lastName == "Later"'"#,
            "'request.lastName =='",
            "apis[2].check.refuse[0].when",
        ),
    ] {
        assert!(config.contains(from), "{from}");
        std::fs::write(h.config_path(), config.replacen(from, to, 1)).expect("write");
        let error = h.gateway.reload().expect_err("refused").to_string();
        assert!(error.contains(field) && error.contains(":"), "{error}");
        let line = config[..config.find(from).expect("there")].lines().count();
        assert!(error.contains(&format!(":{line}:")), "line {line}: {error}");
    }
    // Both at once: each error names its own refusal, the second's index unshifted by the
    // first's.
    let both = config.replacen("as: invalid", "as: maybe", 1).replacen(
        r#"'steps.lookup.status == 200 && request.lastName == "Broken"'"#,
        "'steps.lookup.status =='",
        1,
    );
    std::fs::write(h.config_path(), both).expect("write");
    let error = h.gateway.reload().expect_err("refused").to_string();
    assert!(
        error.contains("refuse[0].as") && error.contains("refuse[1].when"),
        "{error}"
    );
    std::fs::write(h.config_path(), &config).expect("write");
    let response = ask(&h, r#"{"lastName": "Smith"}"#).await;
    assert_eq!(response.status(), 200);
}

fn audited() -> Setup {
    let mut audited = setup("main");
    audited.audit = true;
    audited.apis = audited.apis.replacen(
        "    contract: eligibility.yaml\n",
        "    contract: eligibility.yaml\n    audit: true\n",
        1,
    );
    audited
}

/// Stops the gateway (its audit trail closed) and searches the trail for `identifier`.
async fn stop_and_find(h: Harness, identifier: &str) -> Vec<garrison_audit::Found> {
    let keys = garrison_audit::read_subject_keys(&h.dir.join("subject-keys"))
        .expect("subject keys")
        .keys;
    let dir = h.dir.join("audit");
    let Harness { gateway, .. } = h;
    gateway.shutdown(std::time::Duration::from_secs(5)).await;
    garrison_audit::search(
        &dir,
        &garrison_audit::SearchFilter::default().subject(identifier, &keys),
    )
    .expect("search")
}

/// A check refused after its steps read someone's records still records whose: the steps'
/// calls have no audit records of their own.
#[tokio::test]
async fn a_refused_check_still_names_whose_records_it_read() {
    let h = Harness::start(audited()).await;
    let response = ask(&h, r#"{"lastName": "Named"}"#).await;
    assert_problem(&response, 502, "BAD_GATEWAY");
    let about = stop_and_find(h, "AB123456C").await;
    assert_eq!(
        about.len(),
        1,
        "the refused check's record names the subject"
    );
    assert_eq!(about[0].record.api, "eligibility");
    assert_eq!(about[0].record.upstream_status, None, "no answer was given");
}

/// So does a check whose client goes away while a later step is still waiting: the record of
/// the abandoned request names the subject an earlier step's answer named.
#[tokio::test]
async fn a_check_abandoned_by_its_client_still_names_whose_records_it_read() {
    let h = Harness::start(audited()).await;
    let abandoned = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        ask(&h, r#"{"lastName": "Slow"}"#),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "the last step hangs until the client gives up"
    );
    // The abandoned request's record is queued by a task of its own; shutdown writes it.
    let about = stop_and_find(h, "AB123456C").await;
    assert_eq!(
        about.len(),
        1,
        "the abandoned check's record names the subject"
    );
    assert_eq!(about[0].record.api, "eligibility");
    assert_eq!(about[0].record.upstream_status, None);
}
