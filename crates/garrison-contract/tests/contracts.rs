//! Every contract shipped under `contracts/` loads and has no lint finding of any severity,
//! so a shipped contract can never rot (STYLE.md convention 9).

use std::path::PathBuf;

use garrison_contract::{RuleSet, lint, load};

#[test]
fn every_shipped_contract_loads_and_lints_clean() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no contracts in {}", dir.display());
    for file in files {
        let contract = load(&file).unwrap_or_else(|e| panic!("{e}"));
        let findings = lint(&contract, &RuleSet::default());
        assert!(findings.is_empty(), "{}: {findings:#?}", file.display());
    }
}

#[test]
fn the_citizen_match_contract_has_no_findings_at_all() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/citizen-match.yaml");
    let contract = load(&file).unwrap();
    assert_eq!(lint(&contract, &RuleSet::default()), vec![]);
    // Its parameters and responses came in through $ref and are now inline.
    let op = contract
        .document
        .pointer("/paths/~1capi~1v2~1citizens~1match/post")
        .unwrap();
    assert_eq!(op["parameters"][0]["name"], "context");
    assert_eq!(
        op.pointer("/responses/422/content/application~1problem+json/example/code")
            .unwrap(),
        "MORE_THAN_ONE_MATCH"
    );
}
