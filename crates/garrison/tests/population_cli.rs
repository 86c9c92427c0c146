//! `garrison population generate`: a store written where asked, holding the population the
//! seed determines, with the summary line printed.

use std::process::Command;

use garrison_citizen::{Population, Store};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

#[test]
fn generates_a_store_that_holds_the_seeded_population() {
    let dir = garrison_testkit::temp_dir("population-generate");
    let store = dir.join("nested").join("population.db");
    let output = Command::new(BIN)
        .args([
            "population",
            "generate",
            "--people",
            "2000",
            "--seed",
            "5",
            "--store",
        ])
        .arg(&store)
        .output()
        .expect("run garrison");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("2000 people (seed 5) in "), "{stdout}");
    assert!(stdout.contains("people/s"), "{stdout}");
    assert!(stdout.contains("MiB"), "{stdout}");

    let opened = Store::open(&store).expect("open the store");
    assert_eq!(opened.meta().people, 2000);
    assert_eq!(opened.meta().seed, 5);
    let mut expected = Vec::new();
    Population::new(5)
        .generate_range(1234..1235, &mut expected)
        .expect("generate");
    assert_eq!(
        opened.person(1234).expect("read").as_ref(),
        Some(&expected[0].person)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_more_people_than_there_are_ni_numbers() {
    let dir = garrison_testkit::temp_dir("population-too-many");
    let store = dir.join("population.db");
    let output = Command::new(BIN)
        .args(["population", "generate", "--people", "400000000", "--store"])
        .arg(&store)
        .output()
        .expect("run garrison");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at most 373000000 people"), "{stderr}");
    assert!(!store.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
