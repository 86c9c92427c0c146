//! Loading contracts from files: both OpenAPI versions, both syntaxes, references within and
//! across files, recursion, and the errors for what cannot load.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use garrison_contract::{LoadError, OpenApiVersion, load};
use serde_json::json;

/// A fresh directory under the system temporary directory.
fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "garrison-contract-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(&path, text).expect("write file");
    path
}

const HEAD_30: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";
const HEAD_31: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n";

#[test]
fn openapi_3_0_and_3_1_in_yaml() {
    let dir = temp_dir("versions");
    let a = write(&dir, "a.yaml", &format!("{HEAD_30}paths: {{}}\n"));
    let b = write(&dir, "b.yaml", &format!("{HEAD_31}paths: {{}}\n"));
    assert_eq!(load(&a).unwrap().version, OpenApiVersion::V3_0);
    let b = load(&b).unwrap();
    assert_eq!(b.version, OpenApiVersion::V3_1);
    assert_eq!(b.document["info"]["version"], json!("1"));
}

#[test]
fn json_contracts_load() {
    let dir = temp_dir("json");
    let file = write(
        &dir,
        "c.json",
        r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "components": {"schemas": {"Id": {"type": "string"}}},
            "paths": {"/a": {"get": {"responses": {"200": {"description": "ok",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Id"}}}}}}}}}"##,
    );
    let c = load(&file).unwrap();
    assert_eq!(
        c.document
            .pointer("/paths/~1a/get/responses/200/content/application~1json/schema")
            .unwrap(),
        &json!({"type": "string"})
    );
}

#[test]
fn other_versions_are_rejected_with_the_file_named() {
    let dir = temp_dir("swagger");
    let file = write(
        &dir,
        "old.yaml",
        "swagger: '2.0'\ninfo: {title: t, version: '1'}\n",
    );
    let e = load(&file).unwrap_err();
    assert!(matches!(e, LoadError::Version { .. }));
    assert!(
        e.to_string().contains("old.yaml: #/openapi: Swagger 2.0"),
        "{e}"
    );
    let file = write(&dir, "new.yaml", "openapi: 4.0.0\n");
    assert!(
        load(&file)
            .unwrap_err()
            .to_string()
            .contains("\"4.0.0\" is not supported")
    );
}

#[test]
fn refs_across_relative_files_resolve_including_their_own_internal_refs() {
    let dir = temp_dir("files");
    write(
        &dir,
        "schemas/citizen.yaml",
        "Citizen:\n  type: object\n  properties:\n    address: {$ref: '#/Address'}\n    claims: {$ref: './claims.json'}\nAddress:\n  type: object\n  properties:\n    postcode: {type: string, maxLength: 8}\n",
    );
    write(
        &dir,
        "schemas/claims.json",
        r#"{"type": "array", "items": {"type": "string"}}"#,
    );
    let root = write(
        &dir,
        "api.yaml",
        &format!(
            "{HEAD_31}paths:\n  /c:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{$ref: 'schemas/citizen.yaml#/Citizen'}}\n"
        ),
    );
    let c = load(&root).unwrap();
    let schema = c
        .document
        .pointer("/paths/~1c/get/responses/200/content/application~1json/schema")
        .unwrap();
    assert_eq!(
        schema,
        &json!({"type": "object", "properties": {
            "address": {"type": "object", "properties": {"postcode": {"type": "string", "maxLength": 8}}},
            "claims": {"type": "array", "items": {"type": "string"}}
        }})
    );
}

#[test]
fn a_recursive_schema_keeps_a_ref_to_itself() {
    let dir = temp_dir("recursive");
    let root = write(
        &dir,
        "tree.yaml",
        &format!(
            "{HEAD_30}paths: {{}}\ncomponents:\n  schemas:\n    Node:\n      type: object\n      properties:\n        children:\n          type: array\n          items: {{$ref: '#/components/schemas/Node'}}\n"
        ),
    );
    let c = load(&root).unwrap();
    assert_eq!(
        c.document
            .pointer("/components/schemas/Node/properties/children/items")
            .unwrap(),
        &json!({"$ref": "#/components/schemas/Node"})
    );
}

#[test]
fn a_recursive_schema_in_another_file_is_bundled_under_defs() {
    let dir = temp_dir("recursive-ext");
    write(
        &dir,
        "node.yaml",
        "Node:\n  type: object\n  properties:\n    next: {$ref: '#/Node'}\n",
    );
    let root = write(
        &dir,
        "api.yaml",
        &format!(
            "{HEAD_31}paths: {{}}\ncomponents:\n  schemas:\n    List: {{$ref: 'node.yaml#/Node'}}\n"
        ),
    );
    let c = load(&root).unwrap();
    let bundled = json!({"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}});
    assert_eq!(c.document["$defs"]["Node"], bundled);
    assert_eq!(
        c.document["components"]["schemas"]["List"],
        json!({"$ref": "#/$defs/Node"})
    );
}

#[test]
fn a_missing_ref_names_the_file_and_the_pointer() {
    let dir = temp_dir("missing");
    let root = write(
        &dir,
        "citizen.yaml",
        &format!(
            "{HEAD_31}paths:\n  /citizens/{{id}}:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Nope'}}\n"
        ),
    );
    let e = load(&root).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: #/paths/~1citizens~1{{id}}/get/responses/200/content/application~1json/schema: $ref \"#/components/schemas/Nope\" does not resolve",
            root.display()
        )
    );
    assert_eq!(e.file(), root);
}

#[test]
fn a_missing_file_or_a_bad_pointer_in_another_file_names_the_referring_file() {
    let dir = temp_dir("missing-file");
    write(
        &dir,
        "other.yaml",
        "Foo: {type: string}\nBar: {$ref: '#/Baz'}\n",
    );
    let root = write(
        &dir,
        "api.yaml",
        &format!("{HEAD_31}paths: {{}}\nx: {{$ref: 'gone.yaml#/Foo'}}\n"),
    );
    let e = load(&root).unwrap_err().to_string();
    assert!(
        e.contains("api.yaml: #/x: $ref \"gone.yaml#/Foo\" cannot be loaded"),
        "{e}"
    );
    let root = write(
        &dir,
        "api2.yaml",
        &format!("{HEAD_31}paths: {{}}\nx: {{$ref: 'other.yaml#/Bar'}}\n"),
    );
    let e = load(&root).unwrap_err().to_string();
    assert!(
        e.contains("other.yaml: #/Bar: $ref \"#/Baz\" does not resolve"),
        "{e}"
    );
}

#[test]
fn network_refs_are_refused_never_fetched() {
    let dir = temp_dir("network");
    let root = write(
        &dir,
        "api.yaml",
        &format!(
            "{HEAD_31}paths: {{}}\ncomponents:\n  schemas:\n    A: {{$ref: 'https://example.com/s.yaml#/A'}}\n"
        ),
    );
    let e = load(&root).unwrap_err();
    let LoadError::Reference {
        pointer, reason, ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(pointer, "#/components/schemas/A");
    assert!(reason.contains("network"), "{reason}");
    let root = write(
        &dir,
        "b.yaml",
        &format!("{HEAD_31}paths: {{}}\nx: {{$ref: 'file:///etc/passwd'}}\n"),
    );
    assert!(
        load(&root)
            .unwrap_err()
            .to_string()
            .contains("file: scheme")
    );
}

#[test]
fn malformed_yaml_names_the_file() {
    let dir = temp_dir("syntax");
    let root = write(&dir, "bad.yaml", "openapi: [3.1.0\n");
    let e = load(&root).unwrap_err();
    assert!(matches!(e, LoadError::Syntax { .. }));
    assert!(e.to_string().contains("bad.yaml: not valid YAML"), "{e}");
}

#[test]
fn a_recursive_definition_inside_another_files_components_is_bundled() {
    let dir = temp_dir("recursive-components");
    write(
        &dir,
        "lib.yaml",
        "components:\n  schemas:\n    Tree:\n      type: object\n      properties:\n        kids: {type: array, items: {$ref: '#/components/schemas/Tree'}}\n",
    );
    let root = write(
        &dir,
        "api.yaml",
        &format!("{HEAD_31}paths: {{}}\nx: {{$ref: 'lib.yaml#/components'}}\n"),
    );
    let c = load(&root).unwrap();
    let kids = c
        .document
        .pointer("/x/schemas/Tree/properties/kids/items")
        .unwrap();
    assert_eq!(kids, &json!({"$ref": "#/$defs/Tree"}));
    assert_eq!(
        c.document
            .pointer("/$defs/Tree/properties/kids/items")
            .unwrap(),
        kids
    );
}

#[test]
fn a_self_alias_is_a_cycle_error() {
    let dir = temp_dir("alias");
    let root = write(
        &dir,
        "api.yaml",
        &format!(
            "{HEAD_31}paths: {{}}\ncomponents:\n  schemas:\n    A: {{$ref: '#/components/schemas/B'}}\n    B: {{$ref: '#/components/schemas/A'}}\n"
        ),
    );
    let e = load(&root).unwrap_err().to_string();
    assert!(e.contains("#/components/schemas/"), "{e}");
    assert!(e.contains("never reaches a value"), "{e}");
}

#[test]
fn a_loaded_3_0_schema_normalises_to_2020_12() {
    use garrison_contract::normalise_schema;
    let dir = temp_dir("normalise");
    let root = write(
        &dir,
        "api.yaml",
        &format!(
            "{HEAD_30}paths: {{}}\ncomponents:\n  schemas:\n    Age:\n      type: integer\n      minimum: 0\n      exclusiveMinimum: true\n      nullable: true\n      example: 42\n"
        ),
    );
    let c = load(&root).unwrap();
    let age = c.document.pointer("/components/schemas/Age").unwrap();
    assert_eq!(
        normalise_schema(age, c.version),
        json!({"type": ["integer", "null"], "exclusiveMinimum": 0, "examples": [42]})
    );
}
