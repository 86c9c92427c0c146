//! Every bad-input rule of the configuration, each sent as a real file: the report must name
//! the file, the exact line and column, the field path and say what would be right. And the
//! good path: what a valid file resolves to.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use garrison_config::{ClientCertPolicy, Config, Diagnostic, Limits, RouteAuth};
use garrison_core::{ApiKey, CertFingerprint, Environment, KeyDigest};
use garrison_pki::CertificateAuthority;

mod apis;
mod control_plane;
mod credentials;
mod good_path;
mod listeners;
mod many;
mod references;
mod structure;
mod tls;
mod transfers;
mod values;

// === scratch files ===

/// A fresh directory under the system temp dir, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "garrison-config-test-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch { dir }
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("write a scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `yaml` to `gateway.yaml` in `scratch` and loads it.
fn load(scratch: &Scratch, yaml: &str) -> (PathBuf, Result<Config, garrison_config::ConfigError>) {
    let file = scratch.write("gateway.yaml", yaml);
    let result = garrison_config::load(&file);
    (file, result)
}

/// Loads `yaml`, which must be refused, and returns the file and every problem.
fn rejected(name: &str, yaml: &str) -> (Scratch, PathBuf, Vec<Diagnostic>) {
    let scratch = Scratch::new(name);
    let (file, result) = load(&scratch, yaml);
    match result {
        Ok(_) => panic!("the configuration was accepted:\n{yaml}"),
        Err(e) => (scratch, file, e.problems),
    }
}

/// Loads `yaml`, which must be accepted.
fn accepted(name: &str, yaml: &str) -> Config {
    let scratch = Scratch::new(name);
    let (_, result) = load(&scratch, yaml);
    result.unwrap_or_else(|e| panic!("the configuration was refused:\n{e}"))
}

/// `VALID` with `from` (which must occur exactly once) replaced by `to`.
fn mistake(from: &str, to: &str) -> String {
    assert_eq!(VALID.matches(from).count(), 1, "{from:?} must occur once");
    VALID.replacen(from, to, 1)
}

/// 1-based line and column of the `nth` (0-based) occurrence of `needle` in `text`.
fn position_nth(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} occurs fewer than {} times", nth + 1))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// 1-based line and column of the only occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "{needle:?} must occur once"
    );
    position_nth(text, needle, 0)
}

/// Asserts that exactly one problem concerns `field`, in `file` at `at`, with a message
/// containing each of `says`.
#[track_caller]
fn assert_problem(
    problems: &[Diagnostic],
    file: &Path,
    at: (usize, usize),
    field: &str,
    says: &[&str],
) {
    let matching: Vec<&Diagnostic> = problems.iter().filter(|p| p.field == field).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one problem with field {field:?}, got: {problems:#?}"
    );
    let p = matching[0];
    assert_eq!(p.file, file, "{p}");
    assert_eq!((p.line, p.column), at, "position of {p}");
    for text in says {
        assert!(p.message.contains(text), "{p:?} should say {text:?}");
    }
    // The one-line form an operator reads (a problem found while reading the YAML itself,
    // such as a duplicate key, has no field path).
    let field_part = if field.is_empty() {
        String::new()
    } else {
        format!(" {field}:")
    };
    assert_eq!(
        p.to_string(),
        format!(
            "{}:{}:{}:{field_part} {}",
            file.display(),
            at.0,
            at.1,
            p.message
        )
    );
}

/// Asserts that `problems` is exactly one problem, as [`assert_problem`].
#[track_caller]
fn assert_only(
    problems: &[Diagnostic],
    file: &Path,
    at: (usize, usize),
    field: &str,
    says: &[&str],
) {
    assert_eq!(problems.len(), 1, "expected one problem: {problems:#?}");
    assert_problem(problems, file, at, field, says);
}

// === the valid configuration every mistake starts from ===

const DVLA_DIGEST: &str = "sha256:695bffa214f3587a0f0e25bcdcc6e29a4e914f8e2abe36c2ecbf30904fdfa4cd";
const OLD_DIGEST: &str = "sha256:0935ea2573687e9921a17fd4652f5ea5a8c8894d09d404eefdefa6d0b96e8f65";
/// SHA-256 of `imported-from-kong-0001`, computed with `sha256sum`.
const IMPORTED_DIGEST: &str =
    "sha256:61692cf474fd34997177e0c96de07191fa8cee37ebd03079791cb13e1138be1a";
const FINGERPRINT: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

const VALID: &str = r#"# A valid configuration; each test breaks one thing.
listeners:
  - name: public
    address: 127.0.0.1:8443
upstreams:
  - name: records
    targets: [127.0.0.1:9101, "http://127.0.0.1:9102/"]
  - name: checks
    targets: [127.0.0.1:9201]
    connect_timeout: 250ms
    request_timeout: 5s
    circuit_breaker:
      failures: 3
      cooldown: 1m
routes:
  - name: citizen-lookup
    group: citizens
    methods: [get]
    path: /citizens/{id}
    upstream: records
    timeout: 3s
  - name: citizen-match
    group: citizens
    methods: [POST]
    path: /citizens/match
    upstream: records
    max_body_bytes: 4096
  - name: files
    host: Files.Example.GOV.uk
    path: /files/{*rest}
    upstream: checks
  - name: status
    methods: [GET, HEAD]
    path: /status
    upstream: checks
    auth: public
plans:
  - name: standard
    rate: 10/s
  - name: bulk
    rate: 6000/min
    burst: 50
consumers:
  - name: dvla
    keys:
      - id: dvla-1
        digest: "sha256:695bffa214f3587a0f0e25bcdcc6e29a4e914f8e2abe36c2ecbf30904fdfa4cd"
      - id: dvla-old
        digest: "sha256:0935ea2573687e9921a17fd4652f5ea5a8c8894d09d404eefdefa6d0b96e8f65"
        revoked: true
    certificates:
      - "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
    allow: [10.20.0.0/16, 10.1.2.3/8]
  - name: council
    keys:
      - id: legacy
        plaintext: imported-from-kong-0001
subscriptions:
  - consumer: dvla
    group: citizens
    plan: standard
  - consumer: council
    group: files
    plan: bulk
"#;

/// Moves a position right, to point from a `key: ` needle at its value.
trait AddColumns {
    fn add_columns(self, n: usize) -> Self;
}

impl AddColumns for (usize, usize) {
    fn add_columns(self, n: usize) -> Self {
        (self.0, self.1 + n)
    }
}
