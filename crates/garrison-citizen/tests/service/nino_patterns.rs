//! The contracts that take a National Insurance number accept exactly the numbers the service
//! does: the gateway enforces their `pattern` before the service sees a request, so a pattern
//! wider than HMRC's rules lets unissued numbers through, and a narrower one refuses people.

use std::path::Path;

use garrison_citizen::Nino;
use garrison_contract::RequestParts;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;

#[test]
fn every_nino_pattern_accepts_exactly_the_issued_numbers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let contract = garrison_contract::load(&path).unwrap();
        let compiled = garrison_contract::compile(&contract).unwrap();
        for operation in compiled.operations() {
            // The operation's own example, which lint keeps valid, with the number swapped.
            let at = format!(
                "{}/requestBody/content/application~1json/example",
                operation.pointer().trim_start_matches('#')
            );
            let Some(example) = contract.document.pointer(&at) else {
                continue;
            };
            if example.get("nino").is_none() {
                continue;
            }
            for first in b'A'..=b'Z' {
                for second in b'A'..=b'Z' {
                    let prefix = format!("{}{}", char::from(first), char::from(second));
                    for nino in [format!("{prefix}123456C"), format!("{prefix} 12 34 56 D")] {
                        let mut body = example.clone();
                        body["nino"] = Value::String(nino.clone());
                        let body = serde_json::to_vec(&body).unwrap();
                        let request = RequestParts {
                            path_params: &[],
                            query: None,
                            headers: &headers,
                            body: &body,
                        };
                        // Only the number's own verdict: the purpose headers are absent.
                        let accepted = match operation.validate_request(&request) {
                            Ok(()) => true,
                            Err(violations) => violations
                                .0
                                .iter()
                                .all(|v| !v.location.starts_with("/body")),
                        };
                        assert_eq!(
                            accepted,
                            Nino::parse(&nino).is_ok(),
                            "{} {}: {nino}",
                            path.display(),
                            operation.pointer()
                        );
                    }
                }
            }
            checked += 1;
        }
    }
    // Free school meals, prescription exemption, identity, passport benefits, income band.
    assert!(checked >= 5, "only {checked} operations take a nino");
}
