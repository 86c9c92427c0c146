//! APIs declared by their contracts: routes derived from operations, and every way the
//! declaration or the contract can be wrong.

use super::*;
use garrison_config::{ResponseValidation, RouteOperation};

const CONTRACT: &str = r#"openapi: 3.1.0
info: {title: Citizen details, version: 1.0.0}
servers:
  - url: https://api.example.gov.uk/details/v1
paths:
  /people/{id}:
    get:
      operationId: getPerson
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: found}
  /people/match:
    post:
      responses:
        "200": {description: matched}
"#;

const CONFIG: &str = r#"listeners:
  - name: public
    address: 127.0.0.1:8443
upstreams:
  - name: records
    targets: [127.0.0.1:9101]
routes:
  - name: status
    path: /status
    upstream: records
    auth: public
apis:
  - name: details
    contract: details.yaml
    upstream: records
    timeout: 2s
    validation:
      responses: enforce
plans:
  - name: standard
    rate: 10/s
consumers:
  - name: council
subscriptions:
  - consumer: council
    group: details
    plan: standard
"#;

/// Writes the contract and `config` into a scratch directory and loads the configuration.
fn load_with(
    name: &str,
    contract: &str,
    config: &str,
) -> (
    Scratch,
    PathBuf,
    Result<Config, garrison_config::ConfigError>,
) {
    let scratch = Scratch::new(name);
    scratch.write("details.yaml", contract);
    let (file, result) = load(&scratch, config);
    (scratch, file, result)
}

fn refused(name: &str, contract: &str, config: &str) -> (Scratch, PathBuf, Vec<Diagnostic>) {
    match load_with(name, contract, config) {
        (s, file, Err(e)) => (s, file, e.problems),
        (_, _, Ok(_)) => panic!("the configuration was accepted:\n{config}"),
    }
}

#[test]
fn every_operation_of_the_contract_becomes_a_route_of_the_api() {
    let (_s, _file, result) = load_with("api-good", CONTRACT, CONFIG);
    let config = result.unwrap_or_else(|e| panic!("refused:\n{e}"));
    assert_eq!(config.apis.len(), 1);
    let api = &config.apis[0];
    assert_eq!(api.name, "details");
    assert_eq!(
        api.base_path, "/details/v1",
        "taken from the first server URL"
    );
    assert!(api.validate_requests, "requests are validated by default");
    assert_eq!(api.responses, ResponseValidation::Enforce);
    assert!(!api.mock);
    let derived: Vec<_> = config
        .routes
        .iter()
        .filter(|r| r.operation.is_some())
        .map(|r| {
            (
                r.name.as_str(),
                r.methods.clone(),
                r.path.as_str(),
                r.group.as_str(),
            )
        })
        .collect();
    assert_eq!(
        derived,
        [
            (
                "details.post-people-match",
                vec!["POST".to_owned()],
                "/details/v1/people/match",
                "details"
            ),
            (
                "details.getPerson",
                vec!["GET".to_owned()],
                "/details/v1/people/{id}",
                "details"
            ),
        ]
    );
    let get = config
        .routes
        .iter()
        .find(|r| r.name == "details.getPerson")
        .expect("derived");
    assert_eq!(get.operation, Some(RouteOperation { api: 0, index: 1 }));
    assert_eq!(get.upstream, Some(0));
    assert_eq!(get.timeout, Some(Duration::from_secs(2)));
    assert_eq!(get.auth, RouteAuth::ApiKey);
    assert_eq!(config.subscriptions.len(), 1);
}

#[test]
fn a_mocked_api_needs_no_upstream_and_a_base_path_can_be_set() {
    let config = CONFIG.replace(
        "    upstream: records\n    timeout: 2s\n",
        "    mock: true\n    base_path: /sandbox/details\n",
    );
    let (_s, _file, result) = load_with("api-mock", CONTRACT, &config);
    let config = result.unwrap_or_else(|e| panic!("refused:\n{e}"));
    assert!(config.apis[0].mock);
    let derived: Vec<_> = config
        .routes
        .iter()
        .filter(|r| r.operation.is_some())
        .collect();
    assert!(derived.iter().all(|r| r.upstream.is_none()));
    assert!(
        derived
            .iter()
            .any(|r| r.path == "/sandbox/details/people/{id}")
    );
}

#[test]
fn an_api_without_upstream_or_mock_is_refused() {
    let config = CONFIG.replace("    upstream: records\n    timeout: 2s\n", "");
    let (_s, file, problems) = refused("api-no-upstream", CONTRACT, &config);
    assert_only(
        &problems,
        &file,
        position(&config, "details\n    contract"),
        "apis[0].upstream",
        &["needs an upstream", "mock: true"],
    );
}

#[test]
fn a_contract_that_cannot_load_is_reported_at_the_declaration_with_its_file_and_pointer() {
    let broken = CONTRACT.replace(
        "      responses:\n        \"200\": {description: found}",
        "      responses:\n        \"200\": {$ref: \"#/components/responses/Missing\"}",
    );
    let (s, file, problems) = refused("api-bad-ref", &broken, CONFIG);
    assert_only(
        &problems,
        &file,
        position(CONFIG, "details.yaml"),
        "apis[0].contract",
        &[
            &s.dir.join("details.yaml").display().to_string(),
            "#/paths/~1people~1{id}/get/responses/200",
            "#/components/responses/Missing",
        ],
    );
    // The subscription to the API's group is not reported again.
}

#[test]
fn a_path_template_the_router_cannot_express_is_refused_at_load_time() {
    let contract = CONTRACT.replace("  /people/match:", "  /people/{id}.json:");
    let (_s, file, problems) = refused("api-template", &contract, CONFIG);
    assert_only(
        &problems,
        &file,
        position(CONFIG, "details.yaml"),
        "apis[0].contract",
        &[
            "POST /people/{id}.json",
            "#/paths/~1people~1{id}.json/post",
            "\"{id}.json\"",
            "whole path segment",
        ],
    );
}

#[test]
fn an_operation_that_collides_with_a_declared_route_is_refused() {
    let config = CONFIG.replace(
        "    path: /status\n",
        "    path: /details/v1/people/{person}\n    methods: [GET]\n",
    );
    let (_s, file, problems) = refused("api-conflict", CONTRACT, &config);
    assert_only(
        &problems,
        &file,
        position(&config, "details.yaml"),
        "apis[0].contract",
        &[
            "cannot route GET /details/v1/people/{id}",
            "#/paths/~1people~1{id}/get",
        ],
    );
}

#[test]
fn bad_validation_and_base_path_values_are_named() {
    let config = CONFIG
        .replace("responses: enforce", "responses: strict")
        .replace(
            "    timeout: 2s\n",
            "    timeout: 2s\n    base_path: details/\n",
        );
    let (_s, file, problems) = refused("api-values", CONTRACT, &config);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&config, "strict"),
        "apis[0].validation.responses",
        &["off, report or enforce"],
    );
    assert_problem(
        &problems,
        &file,
        position(&config, "details/"),
        "apis[0].base_path",
        &["starts with '/'"],
    );
}

#[test]
fn entitlements_name_operations_fields_and_purposes() {
    let config = CONFIG.replace(
        "    group: details\n    plan: standard\n",
        "    group: details\n    plan: standard\n    operations: [getPerson, details.post-people-match]\n    fields: [data.attributes.lastName, data.id]\n    purposes: [DFE-FSM]\n",
    );
    let (_s, _file, result) = load_with("api-entitled", CONTRACT, &config);
    let config = result.unwrap_or_else(|e| panic!("refused:\n{e}"));
    let s = &config.subscriptions[0];
    let names: Vec<&str> = s
        .operations
        .as_ref()
        .expect("operations")
        .iter()
        .map(|&i| config.routes[i].name.as_str())
        .collect();
    assert_eq!(names, ["details.post-people-match", "details.getPerson"]);
    assert_eq!(
        s.fields.as_deref(),
        Some(&["data.attributes.lastName".to_owned(), "data.id".to_owned()][..])
    );
    assert_eq!(s.purposes.as_deref(), Some(&["DFE-FSM".to_owned()][..]));

    let bad = CONFIG.replace(
        "    group: details\n    plan: standard\n",
        "    group: details\n    plan: standard\n    operations: [status]\n    fields: [data..id]\n    purposes: [\"two words\"]\n",
    );
    let (_s, file, problems) = refused("api-entitled-bad", CONTRACT, &bad);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&bad, "status]"),
        "subscriptions[0].operations[0]",
        &["no route or operation named \"status\" is in group \"details\""],
    );
    assert_problem(
        &problems,
        &file,
        position(&bad, "data..id"),
        "subscriptions[0].fields[0]",
        &["dotted path"],
    );
    assert_problem(
        &problems,
        &file,
        position(&bad, "\"two words\""),
        "subscriptions[0].purposes[0]",
        &["printable characters without spaces"],
    );
}
