//! The SQLite backend: the shared conformance suite on real database files, and what only
//! this backend has (migrations, reopening).
#![allow(clippy::unwrap_used)]

use garrison_store::{
    NewOrganisation, SCHEMA_VERSION, SqliteStore, Store, StoreError, conformance,
};

#[test]
fn the_sqlite_store_passes_the_conformance_suite() {
    for (name, case) in conformance::CASES {
        let dir = garrison_testkit::temp_dir(&format!("store-{name}"));
        let store = SqliteStore::open(&dir.join("control-plane.db")).unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&store)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("conformance case {name} failed: {message}");
        }
    }
}

#[test]
fn a_new_database_is_migrated_to_the_latest_schema_and_reopens_with_its_data() {
    let dir = garrison_testkit::temp_dir("store-reopen");
    let path = dir.join("nested").join("control-plane.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let org = store
        .create_organisation(NewOrganisation {
            slug: "dvla".into(),
            name: "DVLA".into(),
        })
        .unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(reopened.organisation(org.id).unwrap(), Some(org));
}

#[test]
fn a_database_from_a_newer_garrison_is_refused_untouched() {
    let dir = garrison_testkit::temp_dir("store-newer");
    let path = dir.join("control-plane.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    }
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_failed_migration_leaves_no_half_applied_schema() {
    // A file that is not a database is refused before anything is written into it.
    let dir = garrison_testkit::temp_dir("store-garbage");
    let path = dir.join("control-plane.db");
    std::fs::write(
        &path,
        b"this is not an SQLite database, just text of some length....",
    )
    .unwrap();
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::Database(_))
    ));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"this is not an SQLite database, just text of some length....".to_vec()
    );
}
