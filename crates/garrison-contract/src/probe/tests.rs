use std::path::Path;

use serde_json::json;

use super::*;

fn parameter(style: &'static str, explode: bool, location: Location) -> Parameter<'static> {
    static SCHEMA: Value = Value::Null;
    Parameter {
        name: "id",
        location,
        required: true,
        schema: &SCHEMA,
        style,
        explode,
        json: false,
    }
}

#[test]
fn path_styles() {
    let array = json!(["a b", 2]);
    let simple = parameter("simple", false, Location::Path);
    assert_eq!(path_value(&simple, &json!("x/y?")), "x%2Fy%3F");
    assert_eq!(path_value(&simple, &array), "a%20b,2");
    assert_eq!(
        path_value(&parameter("label", false, Location::Path), &array),
        ".a%20b,2"
    );
    assert_eq!(
        path_value(&parameter("label", true, Location::Path), &array),
        ".a%20b.2"
    );
    assert_eq!(
        path_value(&parameter("matrix", false, Location::Path), &array),
        ";id=a%20b,2"
    );
    assert_eq!(
        path_value(&parameter("matrix", true, Location::Path), &array),
        ";id=a%20b;id=2"
    );
    let object = json!({"r": 1, "g": 2});
    assert_eq!(path_value(&simple, &object), "g,2,r,1");
    assert_eq!(
        path_value(&parameter("simple", true, Location::Path), &object),
        "g=2,r=1"
    );
}

#[test]
fn query_styles() {
    let array = json!(["a", "b&c"]);
    let form = parameter("form", true, Location::Query);
    assert_eq!(query_value(&form, &json!(5)), "id=5");
    assert_eq!(query_value(&form, &array), "id=a&id=b%26c");
    assert_eq!(
        query_value(&parameter("form", false, Location::Query), &array),
        "id=a,b%26c"
    );
    assert_eq!(
        query_value(&parameter("spaceDelimited", false, Location::Query), &array),
        "id=a%20b%26c"
    );
    assert_eq!(
        query_value(&parameter("pipeDelimited", false, Location::Query), &array),
        "id=a%7Cb%26c"
    );
    assert_eq!(query_value(&form, &json!({"x": 1})), "x=1");
    assert_eq!(
        query_value(
            &parameter("deepObject", true, Location::Query),
            &json!({"x": 1})
        ),
        "id%5Bx%5D=1"
    );
}

#[test]
fn headers_keep_visible_ascii() {
    let simple = parameter("simple", false, Location::Header);
    assert_eq!(header_value(&simple, &json!("a b,c")), "a b,c");
    assert_eq!(header_value(&simple, &json!("é\n")), "%C3%A9%0A");
    assert_eq!(header_value(&simple, &json!([1, 2])), "1,2");
}

#[test]
fn curl_quotes_for_the_shell() {
    let case = Case {
        operation: "#/paths/~1a/post".to_owned(),
        operation_id: None,
        method: "POST",
        path: "/a".to_owned(),
        query: Some("q=it%27s".to_owned()),
        headers: vec![("trace".to_owned(), "x'y".to_owned())],
        body: Some((
            "application/json".to_owned(),
            br#"{"name":"O'Brien"}"#.to_vec(),
        )),
        expect: Expect::Conforming,
        description: String::new(),
    };
    assert_eq!(
        curl(&case, "https://api.example.com/v1/"),
        r#"curl -X POST 'https://api.example.com/v1/a?q=it%27s' -H 'trace: x'\''y' -H 'Content-Type: application/json' --data-binary '{"name":"O'\''Brien"}'"#
    );
    let get = Case {
        method: "GET",
        body: None,
        headers: vec![],
        query: None,
        ..case
    };
    assert_eq!(curl(&get, "http://h"), "curl 'http://h/a'");
}

#[test]
fn rephrased_descriptions_name_the_subject() {
    assert_eq!(
        rephrase("the value is not an integer", "query parameter `n`"),
        "query parameter `n` is not an integer"
    );
    assert_eq!(
        rephrase("missing required property `a`", "the body"),
        "the body: missing required property `a`"
    );
}

#[test]
fn cookie_and_ignored_header_parameters_are_left_out() {
    let text = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      parameters:
        - {name: session, in: cookie, required: true, schema: {type: string}}
        - {name: Accept, in: header, required: true, schema: {type: string}}
        - {name: trace, in: header, required: true, schema: {type: string, format: uuid}}
      responses: {"200": {description: ok}}
"##;
    let c = crate::load_str(Path::new("c.yaml"), text).unwrap();
    let all = cases(&c, 1, 2);
    let descriptions: Vec<_> = all.iter().map(|c| c.description.as_str()).collect();
    assert_eq!(
        descriptions,
        [
            "valid request 1",
            "valid request 2",
            "missing required header parameter `trace`"
        ]
    );
    assert_eq!(all[0].headers.len(), 1);
    assert_eq!(all[0].headers[0].0, "trace");
}

#[test]
fn bodies_are_encoded_for_their_media_type() {
    let value = json!({"a": "x y", "b": [1, 2]});
    assert_eq!(
        encode_body("application/x-www-form-urlencoded", &value),
        Some((
            "application/x-www-form-urlencoded".to_owned(),
            b"a=x%20y&b=1&b=2".to_vec()
        ))
    );
    assert_eq!(
        encode_body("text/plain", &json!("hello")),
        Some(("text/plain".to_owned(), b"hello".to_vec()))
    );
    assert_eq!(
        encode_body("*/*", &json!("hello")),
        Some(("application/json".to_owned(), b"\"hello\"".to_vec()))
    );
    assert_eq!(encode_body("multipart/form-data", &value), None);
}
