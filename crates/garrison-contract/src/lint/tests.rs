//! For every rule: a contract that trips it and one that does not.

use std::path::Path;

use super::*;
use crate::load_str;

/// A small contract that breaks no rule; each test changes one thing.
const CLEAN: &str = r#"openapi: 3.1.0
info:
  title: Test
  version: 1.0.0
  description: A test API.
  contact: {name: Team, email: team@example.gov.uk}
servers:
  - url: https://api.example.gov.uk
security:
  - apiKey: []
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: api-key}
  schemas:
    Citizen:
      type: object
      properties:
        lastName: {type: string, maxLength: 35}
paths:
  /citizens/match:
    post:
      operationId: matchCitizen
      summary: Match a citizen
      parameters:
        - {name: correlation-id, in: header, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Citizen'}
            example: {lastName: Smith}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: object}
              example: {}
        '404': {description: none}
"#;

fn findings(yaml: &str) -> Vec<Finding> {
    let contract = load_str(Path::new("t.yaml"), yaml).unwrap();
    lint(&contract, &RuleSet::default())
}

fn rules_hit(yaml: &str) -> Vec<&'static str> {
    findings(yaml).into_iter().map(|f| f.rule).collect()
}

fn replaced(from: &str, to: &str) -> String {
    assert!(CLEAN.contains(from), "{from:?} is in the clean contract");
    CLEAN.replacen(from, to, 1)
}

/// The clean contract with one more GET operation at `path` with `parameters` (YAML flow
/// sequence).
fn with_path(path: &str, parameters: &str) -> String {
    format!(
        "{CLEAN}  {path}:\n    get:\n      operationId: other\n      summary: Other\n      parameters: {parameters}\n      responses:\n        '404': {{description: none}}\n"
    )
}

fn assert_only(yaml: &str, rule: &str) -> Vec<Finding> {
    let found = findings(yaml);
    assert!(!found.is_empty(), "{rule} did not fire");
    assert!(found.iter().all(|f| f.rule == rule), "{found:#?}");
    found
}

#[test]
fn the_clean_contract_has_no_findings() {
    assert_eq!(findings(CLEAN), vec![]);
    assert_eq!(
        rules_hit(&with_path("/benefit-claims", "[]")),
        Vec::<&str>::new()
    );
}

#[test]
fn https_servers_only() {
    let found = assert_only(
        &replaced("https://api.example", "http://api.example"),
        "https-servers-only",
    );
    assert_eq!(found[0].pointer, "#/servers/0/url");
    assert_eq!(found[0].severity, Severity::Error);
    let none = replaced("servers:\n  - url: https://api.example.gov.uk\n", "");
    assert_only(&none, "https-servers-only");
    // Loopback never leaves the machine: a local management API may be plain HTTP.
    for local in [
        "http://127.0.0.1:8081",
        "http://localhost:8081/admin",
        "http://[::1]:8081",
    ] {
        let url = replaced("https://api.example.gov.uk", local);
        assert_eq!(rules_hit(&url), Vec::<&str>::new(), "{local}");
    }
    for remote in [
        "http://10.0.0.1:8081",
        "http://localhost.example.gov.uk",
        "http://[::2]",
    ] {
        assert_only(
            &replaced("https://api.example.gov.uk", remote),
            "https-servers-only",
        );
    }
}

#[test]
fn info_description() {
    assert_only(
        &replaced("  description: A test API.\n", ""),
        "info-description",
    );
}

#[test]
fn info_contact() {
    let found = assert_only(
        &replaced("email: team@example.gov.uk", "phone: '123'"),
        "info-contact",
    );
    assert_eq!(found[0].pointer, "#/info/contact");
    assert_only(
        &replaced("  contact: {name: Team, email: team@example.gov.uk}\n", ""),
        "info-contact",
    );
}

#[test]
fn info_version() {
    assert_only(&replaced("version: 1.0.0", "version: ' '"), "info-version");
}

#[test]
fn no_x_headers_in_requests_and_responses() {
    let found = assert_only(
        &replaced("name: correlation-id", "name: X-Correlation-Id"),
        "no-x-headers",
    );
    assert_eq!(
        found[0].pointer,
        "#/paths/~1citizens~1match/post/parameters/0"
    );
    let found = assert_only(
        &replaced(
            "'404': {description: none}",
            "'404': {description: none, headers: {X-Rate-Limit: {schema: {type: integer}}}}",
        ),
        "no-x-headers",
    );
    assert_eq!(
        found[0].pointer,
        "#/paths/~1citizens~1match/post/responses/404/headers/X-Rate-Limit"
    );
}

#[test]
fn operation_id() {
    assert_only(
        &replaced("      operationId: matchCitizen\n", ""),
        "operation-id",
    );
}

#[test]
fn operation_id_unique() {
    let yaml = with_path(
        "/citizens/{citizenId}",
        "[{name: citizenId, in: path, required: true, schema: {type: string}}]",
    )
    .replace("operationId: other", "operationId: matchCitizen");
    let found = assert_only(&yaml, "operation-id-unique");
    assert!(
        found[0].message.contains("POST /citizens/match"),
        "{}",
        found[0].message
    );
}

#[test]
fn operation_summary() {
    assert_only(
        &replaced("      summary: Match a citizen\n", ""),
        "operation-summary",
    );
}

#[test]
fn operation_4xx_response() {
    let found = assert_only(
        &replaced("'404': {description: none}", "'500': {description: oops}"),
        "operation-4xx-response",
    );
    assert_eq!(found[0].severity, Severity::Warning);
}

#[test]
fn operation_examples() {
    let found = assert_only(
        &replaced("            example: {lastName: Smith}\n", ""),
        "operation-examples",
    );
    assert_eq!(
        found[0].pointer,
        "#/paths/~1citizens~1match/post/requestBody/content/application~1json"
    );
    // An example on the schema counts.
    let on_schema = replaced("            example: {lastName: Smith}\n", "").replace(
        "lastName: {type: string, maxLength: 35}",
        "lastName: {type: string, maxLength: 35}\n      examples: [{lastName: Smith}]",
    );
    assert_eq!(rules_hit(&on_schema), Vec::<&str>::new());
}

#[test]
fn example_valid() {
    // The body's example breaks its schema: too long a last name.
    let long = replaced(
        "example: {lastName: Smith}",
        &format!("example: {{lastName: {}}}", "S".repeat(36)),
    );
    let found = assert_only(&long, "example-valid");
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(
        found[0].pointer,
        "#/paths/~1citizens~1match/post/requestBody/content/application~1json/example"
    );
    assert!(
        found[0].message.contains("/lastName"),
        "{}",
        found[0].message
    );
    assert!(
        !found[0].message.contains("SSSS"),
        "never the value: {}",
        found[0].message
    );
    // A named example, and one on the schema, are checked too.
    let named = replaced(
        "example: {lastName: Smith}",
        "examples: {ok: {value: {lastName: Smith}}, bad: {value: {lastName: 7}}}",
    );
    let found = assert_only(&named, "example-valid");
    assert!(
        found[0].pointer.ends_with("/examples/bad/value"),
        "{}",
        found[0].pointer
    );
    let on_schema = replaced("            example: {lastName: Smith}\n", "").replace(
        "lastName: {type: string, maxLength: 35}",
        "lastName: {type: string, maxLength: 35}\n      examples: [{lastName: []}]",
    );
    assert_only(&on_schema, "example-valid");
    // A parameter's example.
    let parameter = replaced(
        "schema: {type: string}}",
        "schema: {type: string, maxLength: 3}, example: abcd}",
    );
    let found = assert_only(&parameter, "example-valid");
    assert!(
        found[0].pointer.ends_with("/parameters/0/example"),
        "{}",
        found[0].pointer
    );
}

#[test]
fn operation_security() {
    let open = replaced("security:\n  - apiKey: []\n", "security: []\n");
    assert_only(&open, "operation-security");
    let optional = replaced("  - apiKey: []\n", "  - apiKey: []\n  - {}\n");
    let found = assert_only(&optional, "operation-security");
    assert_eq!(found[0].pointer, "#/security/1");
    let none = replaced("security:\n  - apiKey: []\n", "");
    assert_only(&none, "operation-security");
    let undefined = replaced("  - apiKey: []\n", "  - oauth: []\n");
    assert_only(&undefined, "operation-security");
    // Operation-level security replaces the document's.
    let op_level = none.replace(
        "      summary: Match a citizen\n",
        "      summary: Match a citizen\n      security: [{apiKey: []}]\n",
    );
    assert_eq!(rules_hit(&op_level), Vec::<&str>::new());
    // A deliberately public operation says so, and must clear the document's requirement.
    let public = CLEAN.replace(
        "      summary: Match a citizen\n",
        "      summary: Match a citizen\n      x-garrison-public: true\n      security: []\n",
    );
    assert_eq!(rules_hit(&public), Vec::<&str>::new());
    let half = CLEAN.replace(
        "      summary: Match a citizen\n",
        "      summary: Match a citizen\n      x-garrison-public: true\n",
    );
    assert_only(&half, "operation-security");
}

#[test]
fn nino_in_url_by_name_pattern_and_example() {
    let by_name = with_path(
        "/citizens/{nino}",
        "[{name: nino, in: path, required: true, schema: {type: string}}]",
    );
    let found = assert_only(&by_name, "nino-in-url");
    assert_eq!(
        found[0].pointer,
        "#/paths/~1citizens~1{nino}/get/parameters/0"
    );
    let by_pattern = with_path(
        "/citizens",
        r"[{name: reference, in: query, schema: {type: string, pattern: '^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$'}}]",
    );
    assert_only(&by_pattern, "nino-in-url");
    let by_example = with_path(
        "/citizens",
        "[{name: reference, in: query, example: 'QQ 12 34 56 A', schema: {type: string}}]",
    );
    assert_only(&by_example, "nino-in-url");
    // In a header it is not in the URL (other rules may apply, this one does not).
    let header = with_path(
        "/citizens",
        "[{name: nino, in: header, schema: {type: string}}]",
    );
    assert!(!rules_hit(&header).contains(&"nino-in-url"));
    let harmless = with_path(
        "/citizens",
        "[{name: benefitType, in: query, schema: {type: string}}]",
    );
    assert_eq!(rules_hit(&harmless), Vec::<&str>::new());
}

#[test]
fn path_kebab_case() {
    let found = assert_only(&with_path("/benefitClaims", "[]"), "path-kebab-case");
    assert!(found[0].message.contains("benefitClaims"));
    assert_only(
        &with_path(
            "/benefit_claims/{claimId}",
            "[{name: claimId, in: path, required: true, schema: {type: string}}]",
        ),
        "path-kebab-case",
    );
}

#[test]
fn parameter_camel_case() {
    let found = assert_only(
        &with_path(
            "/claims",
            "[{name: benefit_type, in: query, schema: {type: string}}]",
        ),
        "parameter-camel-case",
    );
    assert!(
        found[0].message.contains("benefitType"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].pointer, "#/paths/~1claims/get/parameters/0/name");
}

#[test]
fn property_camel_case_reported_once_per_name() {
    let yaml = replaced("lastName: {type", "last_name: {type")
        .replace("example: {lastName: Smith}", "example: {last_name: Smith}");
    let found = assert_only(&yaml, "property-camel-case");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].pointer,
        "#/components/schemas/Citizen/properties/last_name"
    );
}

#[test]
fn severities_can_be_changed_or_turned_off() {
    let yaml = replaced("      summary: Match a citizen\n", "");
    let mut rules = RuleSet::default();
    rules.set("operation-summary=error").unwrap();
    let contract = load_str(Path::new("t.yaml"), &yaml).unwrap();
    assert_eq!(lint(&contract, &rules)[0].severity, Severity::Error);
    rules.set("operation-summary=off").unwrap();
    assert_eq!(lint(&contract, &rules), vec![]);
    assert_eq!(
        rules.set("nope=error"),
        Err(RuleSetError::UnknownRule("nope".into()))
    );
    assert!(matches!(
        rules.set("nino-in-url=fatal"),
        Err(RuleSetError::UnknownSeverity(_))
    ));
    assert!(matches!(
        rules.set("nino-in-url"),
        Err(RuleSetError::Malformed(_))
    ));
}

#[test]
fn every_rule_has_a_unique_id() {
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len());
}

#[test]
fn nino_helpers() {
    use super::naming::*;
    assert!(looks_like_nino("QQ123456A"));
    assert!(looks_like_nino("qq 12 34 56"));
    assert!(!looks_like_nino("QQ123456E"));
    assert!(!looks_like_nino("12345678"));
    assert!(name_suggests_nino("nationalInsuranceNumber"));
    assert!(name_suggests_nino("ni_number"));
    assert!(name_suggests_nino("NINO"));
    assert!(!name_suggests_nino("benefitType"));
    assert!(pattern_matches_nino_shape(
        r"^[A-Z]{2}\d{2}\s?\d{2}\s?\d{2}[A-D]$"
    ));
    assert!(!pattern_matches_nino_shape(r"^\d{6}$"));
    assert_eq!(camel_case("date_of_birth"), "dateOfBirth");
    assert!(is_kebab_case("v2") && is_kebab_case("openapi.json") && !is_kebab_case("Match"));
}

#[test]
fn reports_count_exit_codes_and_render_unloadable_files() {
    let missing = std::path::PathBuf::from("/nonexistent/garrison/contract.yaml");
    let report = lint_files(std::slice::from_ref(&missing), &RuleSet::default());
    assert_eq!(report.exit_code(), 2);
    let json = report.to_json();
    assert_eq!(json["files"][0]["loaded"], false);
    assert_eq!(json["files"][0]["error"]["pointer"], "#");
    assert_eq!(json["summary"]["unloadable"], 1);
    assert!(
        report
            .to_text()
            .contains("/nonexistent/garrison/contract.yaml: cannot read the file")
    );
}

#[test]
fn an_example_on_a_recursive_schema_counts() {
    let yaml = replaced("            example: {lastName: Smith}\n", "").replace(
        "lastName: {type: string, maxLength: 35}",
        "lastName: {type: string, maxLength: 35}\n        partner: {$ref: '#/components/schemas/Citizen'}\n      examples: [{lastName: Smith}]",
    );
    let contract = load_str(Path::new("t.yaml"), &yaml).unwrap();
    // The body's schema is kept as a reference, because Citizen contains itself.
    assert_eq!(
        contract
            .document
            .pointer("/paths/~1citizens~1match/post/requestBody/content/application~1json/schema"),
        Some(&serde_json::json!({"$ref": "#/components/schemas/Citizen"}))
    );
    assert_eq!(lint(&contract, &RuleSet::default()), vec![]);
}
