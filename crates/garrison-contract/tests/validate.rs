//! Request and response validation against contracts written for the purpose
//! (`tests/fixtures/validate/`): one OpenAPI 3.1 and one 3.0 contract. Every rule has a valid
//! message that passes and an invalid one with its exact violations.

use std::path::{Path, PathBuf};

use garrison_contract::{
    CompiledContract, CompiledOperation, RequestParts, Violations, compile, load, load_str,
    operations,
};
use http::{HeaderMap, HeaderName, HeaderValue};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/validate")
        .join(name)
}

fn compiled(name: &str) -> CompiledContract {
    let contract = load(&fixture(name)).unwrap_or_else(|e| panic!("{e}"));
    compile(&contract).unwrap_or_else(|e| panic!("{e}"))
}

fn op<'a>(contract: &'a CompiledContract, id: &str) -> &'a CompiledOperation {
    contract
        .operations()
        .iter()
        .find(|o| o.operation_id() == Some(id))
        .unwrap_or_else(|| panic!("no operation {id}"))
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    map
}

/// The violations as sorted `(location, rule)` pairs; `[]` when valid.
fn found(result: Result<(), Violations>) -> Vec<(String, String)> {
    let mut out: Vec<_> = match result {
        Ok(()) => Vec::new(),
        Err(Violations(v)) => {
            assert!(!v.is_empty(), "Err holds no violation");
            v.into_iter().map(|v| (v.location, v.rule)).collect()
        }
    };
    out.sort();
    out
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<_> = pairs
        .iter()
        .map(|(l, r)| (l.to_string(), r.to_string()))
        .collect();
    out.sort();
    out
}

struct Req<'a> {
    path: &'a [(&'a str, &'a str)],
    query: Option<&'a str>,
    headers: HeaderMap,
    body: &'a [u8],
}

impl Req<'_> {
    fn check(&self, op: &CompiledOperation) -> Vec<(String, String)> {
        found(op.validate_request(&RequestParts {
            path_params: self.path,
            query: self.query,
            headers: &self.headers,
            body: self.body,
        }))
    }
}

const ID: &str = "0b6b2b6e-1f0a-4c4e-9d7a-3f2d2c1b0a99";

const CITIZEN: &str = r#"{
  "name": "Ada", "dateOfBirth": "1990-02-28", "email": "ada@example.org",
  "middleName": null, "kind": "person", "coordinates": [51.5, -0.1],
  "reference": 12, "address": {"line1": "1 Street", "postcode": "SW1A 1AA"},
  "children": [{"name": "Bo", "age": 3}],
  "benefit": {"benefitType": "pension", "weeklyAmount": 200.5},
  "family": {"name": "root", "children": [{"name": "kid", "children": [{"name": "grandkid"}]}]}
}"#;

fn update<'a>(query: Option<&'a str>, extra: &[(&str, &str)], body: &'a [u8]) -> Req<'a> {
    let mut h = vec![
        ("x-correlation-id", ID),
        ("content-type", "application/json; charset=utf-8"),
    ];
    h.extend_from_slice(extra);
    Req {
        path: &[("id", ID)],
        query,
        headers: headers(&h),
        body,
    }
}

#[test]
fn operations_keep_the_contract_order() {
    let contract = load(&fixture("citizens-3.1.yaml")).unwrap();
    let c = compile(&contract).unwrap();
    let expected: Vec<_> = operations(&contract)
        .iter()
        .map(|o| (o.method, o.path.to_owned(), o.pointer.clone()))
        .collect();
    let actual: Vec<_> = c
        .operations()
        .iter()
        .map(|o| (o.method(), o.path().to_owned(), o.pointer().to_owned()))
        .collect();
    assert_eq!(actual, expected);
    let put = op(&c, "updateCitizen");
    assert_eq!(put.pointer(), "#/paths/~1citizens~1{id}/put");
    assert!(put.accepts_body());
    assert!(!op(&c, "getFamily").accepts_body());
}

#[test]
fn a_valid_3_1_request_passes() {
    let c = compiled("citizens-3.1.yaml");
    let req = update(
        Some(
            "benefitType=pension&page=2&verbose=true&unknown=x&filter=%7B%22status%22%3A%22open%22%7D",
        ),
        &[("x-tags", "a, b"), ("x-tags", "c"), ("x-limits", "max=5")],
        CITIZEN.as_bytes(),
    );
    assert_eq!(req.check(op(&c, "updateCitizen")), expect(&[]));
}

#[test]
fn every_body_violation_is_reported_with_its_pointer() {
    let c = compiled("citizens-3.1.yaml");
    let body = r#"{
      "name": "", "dateOfBirth": "1990-02-30", "email": "not-an-email",
      "middleName": 3, "kind": "robot", "coordinates": [1, 2, 3],
      "reference": "nope", "address": {"line1": "x"},
      "children": [{"age": 18}], "nickname": "Ada",
      "benefit": {"benefitType": "housing"},
      "family": {"name": "root", "children": [{"children": [{"name": 1}]}]}
    }"#;
    let req = update(Some("benefitType=pension"), &[], body.as_bytes());
    assert_eq!(
        req.check(op(&c, "updateCitizen")),
        expect(&[
            ("/body/name", "minLength"),
            ("/body/dateOfBirth", "format"),
            ("/body/email", "format"),
            ("/body/middleName", "type"),
            ("/body/kind", "const"),
            ("/body/coordinates/2", "items"),
            ("/body/reference", "anyOf"),
            ("/body/address/postcode", "required"),
            ("/body/children/0/name", "required"),
            ("/body/children/0/age", "maximum"),
            ("/body/nickname", "additionalProperties"),
            ("/body/benefit", "oneOf"),
            ("/body/family/children/0/name", "required"),
            ("/body/family/children/0/children/0/name", "type"),
        ])
    );
}

#[test]
fn messages_never_echo_the_offending_value() {
    let c = compiled("citizens-3.1.yaml");
    let body =
        r#"{"name": "Ada", "dateOfBirth": "SECRET-DOB", "email": "SECRET@", "middleName": 77777}"#;
    let req = update(
        Some("benefitType=SECRET-Q&page=SECRET-P"),
        &[],
        body.as_bytes(),
    );
    let result = op(&c, "updateCitizen").validate_request(&RequestParts {
        path_params: &[("id", "SECRET-ID")],
        query: req.query,
        headers: &req.headers,
        body: req.body,
    });
    let Err(Violations(violations)) = result else {
        panic!("expected violations");
    };
    assert!(violations.len() >= 6, "{violations:?}");
    for v in &violations {
        assert!(
            !v.message.contains("SECRET") && !v.message.contains("77777"),
            "{v:?}"
        );
        assert!(!v.message.is_empty());
    }
}

#[test]
fn parameters_are_required_typed_and_coerced() {
    let c = compiled("citizens-3.1.yaml");
    let put = op(&c, "updateCitizen");
    // Missing required query and header; the cookie is not checked.
    let req = Req {
        path: &[("id", ID)],
        query: None,
        headers: headers(&[("content-type", "application/json")]),
        body: CITIZEN.as_bytes(),
    };
    assert_eq!(
        req.check(put),
        expect(&[
            ("header.x-correlation-id", "required"),
            ("query.benefitType", "required")
        ])
    );
    // Wrong types and formats, a repeated scalar, malformed JSON content.
    let req = update(
        Some("benefitType=other&page=0&verbose=maybe&page=3&filter=%7Bnope"),
        &[("x-tags", "a,toolong"), ("x-limits", "max=lots")],
        CITIZEN.as_bytes(),
    );
    let mut req = req;
    req.path = &[("id", "not-a-uuid")];
    req.headers
        .insert("x-correlation-id", HeaderValue::from_static("nope"));
    assert_eq!(
        req.check(put),
        expect(&[
            ("path.id", "format"),
            ("header.x-correlation-id", "format"),
            ("header.x-tags/1", "maxLength"),
            ("header.x-limits/max", "type"),
            ("query.benefitType", "enum"),
            ("query.page", "style"),
            ("query.verbose", "type"),
            ("query.filter", "json"),
        ])
    );
    // JSON content parameter validated against its schema.
    let req = update(
        Some("benefitType=housing&filter=%7B%22status%22%3A%22closed%22%7D"),
        &[],
        CITIZEN.as_bytes(),
    );
    assert_eq!(req.check(put), expect(&[("query.filter/status", "const")]));
}

#[test]
fn request_bodies_need_a_declared_content_type_and_json() {
    let c = compiled("citizens-3.1.yaml");
    let put = op(&c, "updateCitizen");
    let q = Some("benefitType=pension");
    let empty = update(q, &[], b"");
    assert_eq!(empty.check(put), expect(&[("/body", "required")]));
    let broken = update(q, &[], b"{\"name\":");
    assert_eq!(broken.check(put), expect(&[("/body", "json")]));
    let mut xml = update(q, &[], b"<citizen/>");
    xml.headers
        .insert("content-type", HeaderValue::from_static("application/xml"));
    assert_eq!(
        xml.check(put),
        expect(&[("header.content-type", "content-type")])
    );
    xml.headers.remove("content-type");
    assert_eq!(
        xml.check(put),
        expect(&[("header.content-type", "required")])
    );
    // text/* is a range without a schema: only the content type is checked.
    xml.headers
        .insert("content-type", HeaderValue::from_static("text/plain"));
    assert_eq!(xml.check(put), expect(&[]));
    // A +json media type is JSON, validated against its own schema.
    let mut patch = update(q, &[], br#"{"a":1,"b":2,"c":3}"#);
    patch.headers.insert(
        "content-type",
        HeaderValue::from_static("application/merge-patch+json"),
    );
    assert_eq!(patch.check(put), expect(&[("/body", "maxProperties")]));
}

#[test]
fn path_parameters_in_simple_label_and_matrix_styles() {
    let c = compiled("citizens-3.1.yaml");
    let styles = op(&c, "pathStyles");
    let ok = Req {
        path: &[
            ("simple", "1,2,3"),
            ("label", ".a.b%20c"),
            ("matrix", ";x=1;y=2"),
        ],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(ok.check(styles), expect(&[]));
    let bad = Req {
        path: &[("simple", "1,x"), ("label", "a.b"), ("matrix", ";y=a")],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(
        bad.check(styles),
        expect(&[
            ("path.simple/1", "type"),
            ("path.label", "style"),
            ("path.matrix/x", "required"),
            ("path.matrix/y", "type"),
        ])
    );
    let missing = Req {
        path: &[("simple", "1")],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(
        missing.check(styles),
        expect(&[("path.label", "required"), ("path.matrix", "required")])
    );

    let objects = op(&c, "pathObjects");
    let ok = Req {
        path: &[
            ("simple", "a,1,b,true"),
            ("label", ".a,2"),
            ("matrix", ";matrix=1,2"),
            ("scalar", ";scalar=9.5"),
        ],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(ok.check(objects), expect(&[]));
    let bad = Req {
        path: &[
            ("simple", "a,1,b"),
            ("label", ".a,x"),
            ("matrix", ";matrix=1,2,3,4"),
            ("scalar", ";scalar=11"),
        ],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(
        bad.check(objects),
        expect(&[
            ("path.simple", "style"),
            ("path.label/a", "type"),
            ("path.matrix", "maxItems"),
            ("path.scalar", "maximum"),
        ])
    );
}

#[test]
fn query_parameters_in_form_delimited_and_deep_object_styles() {
    let c = compiled("citizens-3.1.yaml");
    let search = op(&c, "search");
    let ok = Req {
        path: &[],
        query: Some(
            "ids=1,2,3&tag=a&tag=c+d&lat=51.5&lng=-0.1&range=min,1,max,5\
             &words=ab%20cd&codes=1|2%7C3&filter[status]=open&filter%5Bsince%5D=2024-01-31&filter[limit]=10",
        ),
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(ok.check(search), expect(&[]));
    let bad = Req {
        path: &[],
        query: Some(
            "ids=1,x&tag=a&tag=z&lat=91&range=min,1,max&words=ab+c\
             &codes=1|b&filter[status]=gone&filter[since]=2024-13-01&filter[other]=1",
        ),
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(
        bad.check(search),
        expect(&[
            ("query.ids/1", "type"),
            ("query.tag/1", "enum"),
            ("query.point/lat", "maximum"),
            ("query.range", "style"),
            ("query.words/1", "minLength"),
            ("query.codes/1", "type"),
            ("query.filter/status", "enum"),
            ("query.filter/since", "format"),
            ("query.filter/other", "additionalProperties"),
        ])
    );
    // Optional parameters may be absent altogether.
    let none = Req {
        path: &[],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(none.check(search), expect(&[]));
}

#[test]
fn a_3_0_contract_with_nullable_exclusive_bounds_and_recursion() {
    let c = compiled("benefits-3.0.yaml");
    let get = op(&c, "getClaim");
    let ok = Req {
        path: &[("claimId", "1")],
        query: None,
        headers: headers(&[("x-request-id", ID)]),
        body: b"",
    };
    assert_eq!(ok.check(get), expect(&[]));
    let bad = Req {
        path: &[("claimId", "0")],
        query: None,
        headers: headers(&[("x-request-id", "nope")]),
        body: b"",
    };
    assert_eq!(
        bad.check(get),
        expect(&[
            ("path.claimId", "exclusiveMinimum"),
            ("header.x-request-id", "format")
        ])
    );

    let post = op(&c, "updateClaim");
    let body = r#"{"claimId": 3, "amount": 99.5, "status": null, "note": null,
        "startDate": "2024-02-29", "owner": "a@b.org",
        "kind": {"type": "housing", "rent": 100},
        "tree": {"label": "a", "children": [{"label": "b", "children": []}]}}"#;
    let ok = Req {
        path: &[("claimId", "3")],
        query: None,
        headers: headers(&[("content-type", "application/json")]),
        body: body.as_bytes(),
    };
    assert_eq!(ok.check(post), expect(&[]));
    // No body is fine: the request body is optional.
    let empty = Req {
        path: &[("claimId", "3")],
        query: None,
        headers: HeaderMap::new(),
        body: b"",
    };
    assert_eq!(empty.check(post), expect(&[]));
    let body = r#"{"claimId": 0, "amount": 100, "status": "lost", "note": 1,
        "startDate": "2023-02-29", "owner": "nobody",
        "kind": {"type": "pension"},
        "tree": {"label": "a", "children": [{"label": "b", "colour": "red"}]}}"#;
    let bad = Req {
        path: &[("claimId", "3")],
        query: None,
        headers: headers(&[("content-type", "application/vnd.claim+json")]),
        body: body.as_bytes(),
    };
    assert_eq!(
        bad.check(post),
        expect(&[
            ("/body/claimId", "exclusiveMinimum"),
            ("/body/amount", "exclusiveMaximum"),
            ("/body/status", "enum"),
            ("/body/note", "type"),
            ("/body/startDate", "format"),
            ("/body/owner", "format"),
            ("/body/kind", "oneOf"),
            ("/body/tree/children/0/colour", "additionalProperties"),
        ])
    );
}

#[test]
fn responses_are_found_by_status_range_or_default() {
    let c = compiled("citizens-3.1.yaml");
    let put = op(&c, "updateCitizen");
    let json = headers(&[("content-type", "application/json")]);
    let problem = headers(&[("content-type", "application/problem+json")]);
    assert_eq!(
        found(put.validate_response(200, &json, CITIZEN.as_bytes())),
        expect(&[])
    );
    assert_eq!(
        found(put.validate_response(204, &HeaderMap::new(), b"")),
        expect(&[])
    );
    assert_eq!(
        found(put.validate_response(404, &problem, br#"{"title": "Not found"}"#)),
        expect(&[])
    );
    // Undocumented status, no default.
    assert_eq!(
        found(put.validate_response(500, &problem, br#"{"title": "x"}"#)),
        expect(&[("status", "status")])
    );
    // Wrong content type.
    assert_eq!(
        found(put.validate_response(404, &json, br#"{"title": "x"}"#)),
        expect(&[("header.content-type", "content-type")])
    );
    // Body drift: the upstream no longer matches its contract.
    assert_eq!(
        found(put.validate_response(200, &json, br#"{"name": "Ada", "dob": "x"}"#)),
        expect(&[
            ("/body/dateOfBirth", "required"),
            ("/body/email", "required"),
            ("/body/dob", "additionalProperties"),
        ])
    );
    assert_eq!(
        found(put.validate_response(200, &json, b"")),
        expect(&[("/body", "required")])
    );
    assert_eq!(
        found(put.validate_response(422, &problem, b"[]")),
        expect(&[("/body", "type")])
    );
    // `default` covers every other status of getFamily.
    let family = op(&c, "getFamily");
    assert_eq!(
        found(family.validate_response(503, &HeaderMap::new(), b"")),
        expect(&[])
    );
    assert_eq!(
        found(family.validate_response(
            200,
            &json,
            br#"{"name": "a", "children": [{"name": "b", "children": [{}]}]}"#
        )),
        expect(&[("/body/children/0/children/0/name", "required")])
    );
}

#[test]
fn schemas_that_do_not_compile_name_their_pointer() {
    let text = r#"
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /x:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: string, pattern: "(unclosed"}
      responses:
        "204": {description: ok}
"#;
    let contract = load_str(Path::new("bad.yaml"), text).unwrap();
    let error = compile(&contract).unwrap_err();
    assert_eq!(
        error.pointer,
        "#/paths/~1x/post/requestBody/content/application~1json/schema"
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with(
            "bad.yaml: #/paths/~1x/post/requestBody/content/application~1json/schema: "
        ),
        "{shown}"
    );
}

#[test]
fn a_recursive_schema_bundled_from_another_file_resolves_through_defs() {
    let contract = load(&fixture("tree.yaml")).unwrap();
    let text = contract.document.to_string();
    assert!(text.contains("#/$defs/"), "{text}");
    let c = compile(&contract).unwrap();
    let plant = op(&c, "plantTree");
    let json = headers(&[("content-type", "application/json")]);
    let ok = format!(r#"{{"label": "{ID}", "children": [{{"label": "{ID}", "children": []}}]}}"#);
    let check = |body: &str| {
        found(plant.validate_request(&RequestParts {
            path_params: &[],
            query: None,
            headers: &json,
            body: body.as_bytes(),
        }))
    };
    assert_eq!(check(&ok), expect(&[]));
    assert_eq!(
        check(r#"{"label": "x", "children": [{"children": [{"label": 1}]}]}"#),
        expect(&[
            ("/body/label", "format"),
            ("/body/children/0/label", "required"),
            ("/body/children/0/children/0/label", "type"),
        ])
    );
}

#[test]
fn the_shipped_and_feature_contracts_compile() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for file in [
        root.join("../../contracts/citizen-match.yaml"),
        root.join("tests/fixtures/benefits-3.0.yaml"),
    ] {
        let contract = load(&file).unwrap();
        let c = compile(&contract).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.operations().len(), operations(&contract).len());
    }
}

/// OAS 3.0: a `readOnly` property is not required of a request, nor a `writeOnly` one of a
/// response, though listed in `required` of a schema both share ("the required will take
/// effect on the response only"); in 3.1 `required` holds as written.
#[test]
fn read_only_and_write_only_properties_are_required_one_way_only_in_3_0() {
    let contract = |version: &str| {
        format!(
            r#"openapi: {version}
info: {{title: Accounts, version: 1.0.0}}
paths:
  /accounts:
    post:
      operationId: createAccount
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/Account'}}
      responses:
        '201':
          description: Created.
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Account'}}
components:
  schemas:
    Account:
      type: object
      required: [id, name, pin]
      properties:
        id: {{type: string, readOnly: true}}
        name: {{type: string}}
        pin: {{type: string, writeOnly: true}}
"#
        )
    };
    let json = headers(&[("content-type", "application/json")]);
    for (version, one_way) in [("3.0.3", true), ("3.1.0", false)] {
        let loaded = load_str(Path::new("accounts.yaml"), &contract(version)).expect("loads");
        let compiled = compile(&loaded).expect("compiles");
        let create = op(&compiled, "createAccount");
        let request = Req {
            path: &[],
            query: None,
            headers: json.clone(),
            body: br#"{"name": "Jo", "pin": "1234"}"#,
        };
        let response = create.validate_response(201, &json, br#"{"id": "a1", "name": "Jo"}"#);
        if one_way {
            assert_eq!(request.check(create), expect(&[]), "{version}: no id sent");
            assert!(response.is_ok(), "{version}: no pin returned: {response:?}");
        } else {
            assert_eq!(
                request.check(create),
                expect(&[("/body/id", "required")]),
                "{version}"
            );
            assert_eq!(found(response), expect(&[("/body/pin", "required")]));
        }
        // Still required the other way: a request without its name, a response without its id.
        let nameless = Req {
            path: &[],
            query: None,
            headers: json.clone(),
            body: br#"{"pin": "1234"}"#,
        };
        assert!(
            nameless
                .check(create)
                .contains(&("/body/name".to_owned(), "required".to_owned())),
            "{version}"
        );
        let idless = create.validate_response(201, &json, br#"{"name": "Jo"}"#);
        assert!(
            found(idless).contains(&("/body/id".to_owned(), "required".to_owned())),
            "{version}"
        );
    }
}
