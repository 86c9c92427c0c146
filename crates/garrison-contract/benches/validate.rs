//! Validation benchmarks: (1) one request with a ~1 KB JSON body and path, query and header
//! parameters against a compiled operation — the gateway's per-request cost; (2) loading and
//! compiling a deterministic synthetic contract of ~5 MB — the cost of a contract reload.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use garrison_contract::{RequestParts, compile, load, load_str};
use http::{HeaderMap, HeaderValue};

const ID: &str = "0b6b2b6e-1f0a-4c4e-9d7a-3f2d2c1b0a99";

/// A ~1 KB citizen matching `tests/fixtures/validate/citizens-3.1.yaml`.
fn citizen_body() -> String {
    let mut children = String::new();
    for i in 0..12 {
        if i > 0 {
            children.push(',');
        }
        write!(children, r#"{{"name": "Child number {i}", "age": {i}}}"#).ok();
    }
    format!(
        r#"{{"name": "Ada Lovelace", "dateOfBirth": "1990-02-28", "email": "ada@example.org",
  "middleName": null, "kind": "person", "coordinates": [51.5, -0.1],
  "reference": "{ID}", "address": {{"line1": "1 Some Street, Somewhere", "postcode": "SW1A 1AA"}},
  "children": [{children}],
  "benefit": {{"benefitType": "pension", "weeklyAmount": 200.5}},
  "family": {{"name": "root", "children": [{{"name": "kid", "children": [{{"name": "grandkid"}}]}}, {{"name": "other"}}]}}
}}"#
    )
}

fn bench_request(c: &mut Criterion) {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate/citizens-3.1.yaml");
    let compiled = compile(&load(&file).expect("fixture loads")).expect("fixture compiles");
    let op = compiled
        .operations()
        .iter()
        .find(|o| o.operation_id() == Some("updateCitizen"))
        .expect("updateCitizen");
    let body = citizen_body();
    let mut headers = HeaderMap::new();
    headers.insert("x-correlation-id", HeaderValue::from_static(ID));
    headers.insert("x-tags", HeaderValue::from_static("a, b, c"));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let path = [("id", ID)];
    let request = RequestParts {
        path_params: &path,
        query: Some("benefitType=pension&page=2&verbose=true"),
        headers: &headers,
        body: body.as_bytes(),
    };
    assert!(
        op.validate_request(&request).is_ok(),
        "the request is valid"
    );
    let mut group = c.benchmark_group("validate");
    group.throughput(criterion::Throughput::Bytes(body.len() as u64));
    group.bench_function(format!("request ({} B body)", body.len()), |b| {
        b.iter(|| op.validate_request(black_box(&request)))
    });
    let mut response_headers = HeaderMap::new();
    response_headers.insert("content-type", HeaderValue::from_static("application/json"));
    group.bench_function("response 200", |b| {
        b.iter(|| op.validate_response(200, &response_headers, black_box(body.as_bytes())))
    });
    group.finish();
}

/// A deterministic OpenAPI 3.0 contract of about `target` bytes of JSON: many paths with path,
/// query and header parameters, request and response bodies, and component schemas (one of
/// them recursive).
fn synthetic_contract(target: usize) -> String {
    let mut out = String::with_capacity(target + 64 * 1024);
    out.push_str(
        r#"{"openapi": "3.0.3", "info": {"title": "Synthetic", "version": "1"}, "paths": {"#,
    );
    let schemas = 200;
    let mut i = 0;
    // The component schemas below add about 1 KB each.
    while out.len() < target - schemas * 1100 {
        if i > 0 {
            out.push(',');
        }
        let s = i % schemas;
        write!(
            out,
            r##""/resources{i}/{{id}}": {{
  "parameters": [{{"name": "id", "in": "path", "required": true, "schema": {{"type": "string", "format": "uuid"}}}}],
  "get": {{"operationId": "get{i}", "parameters": [
      {{"name": "page", "in": "query", "schema": {{"type": "integer", "minimum": 1, "maximum": 1000}}}},
      {{"name": "sort", "in": "query", "style": "form", "explode": false, "schema": {{"type": "array", "items": {{"type": "string", "enum": ["asc", "desc"]}}}}}},
      {{"name": "filter", "in": "query", "style": "deepObject", "schema": {{"type": "object", "properties": {{"status": {{"type": "string"}}, "since": {{"type": "string", "format": "date"}}}}}}}},
      {{"name": "x-correlation-id", "in": "header", "required": true, "schema": {{"type": "string", "format": "uuid"}}}}],
    "responses": {{"200": {{"description": "ok", "content": {{"application/json": {{"schema": {{"$ref": "#/components/schemas/Schema{s}"}}}}}}}},
                  "4XX": {{"description": "problem", "content": {{"application/problem+json": {{"schema": {{"type": "object", "properties": {{"title": {{"type": "string"}}, "status": {{"type": "integer"}}}}}}}}}}}}}}}},
  "put": {{"operationId": "put{i}",
    "requestBody": {{"required": true, "content": {{"application/json": {{"schema": {{"$ref": "#/components/schemas/Schema{s}"}}}}}}}},
    "responses": {{"204": {{"description": "updated"}}, "default": {{"description": "problem"}}}}}}}}"##
        )
        .ok();
        i += 1;
    }
    out.push_str(
        r##"}, "components": {"schemas": {"Tree": {"type": "object", "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}}}"##,
    );
    for s in 0..schemas {
        write!(
            out,
            r##", "Schema{s}": {{"type": "object", "additionalProperties": false, "required": ["id", "name"], "properties": {{
  "id": {{"type": "string", "format": "uuid"}},
  "name": {{"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z {s}]+$"}},
  "email": {{"type": "string", "format": "email", "nullable": true}},
  "born": {{"type": "string", "format": "date"}},
  "count": {{"type": "integer", "minimum": 0, "exclusiveMinimum": true, "example": 5}},
  "status": {{"type": "string", "enum": ["open", "closed", "pending"]}},
  "tree": {{"$ref": "#/components/schemas/Tree"}},
  "items": {{"type": "array", "maxItems": 50, "items": {{"type": "object", "properties": {{
      "sku": {{"type": "string"}}, "quantity": {{"type": "integer"}}, "price": {{"type": "number", "minimum": 0}}}}}}}},
  "kind": {{"oneOf": [{{"type": "object", "required": ["a"], "properties": {{"a": {{"type": "string"}}}}}},
                      {{"type": "object", "required": ["b"], "properties": {{"b": {{"type": "integer"}}}}}}]}}
}}}}"##
        )
        .ok();
    }
    out.push_str("}}}");
    out
}

fn bench_compile(c: &mut Criterion) {
    let text = synthetic_contract(5 * 1024 * 1024);
    let path = Path::new("synthetic.json");
    let contract = load_str(path, &text).expect("synthetic contract loads");
    let operations = compile(&contract).expect("compiles").operations().len();
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Bytes(text.len() as u64));
    group.bench_function("load_str", |b| {
        b.iter(|| load_str(path, black_box(&text)).expect("loads"))
    });
    group.bench_function("compile", |b| {
        b.iter(|| compile(black_box(&contract)).expect("compiles"))
    });
    group.bench_function(
        format!(
            "load_str + compile ({:.1} MB, {operations} operations)",
            text.len() as f64 / 1e6
        ),
        |b| {
            b.iter(|| {
                let contract = load_str(path, black_box(&text)).expect("loads");
                compile(&contract).expect("compiles")
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench_request, bench_compile);
criterion_main!(benches);
