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

// === the good path ===

#[test]
fn a_valid_file_resolves_names_defaults_durations_and_digests() {
    let config = accepted("valid", VALID);

    // Defaults of the sections the file leaves out.
    assert_eq!(
        config.admin.listen,
        "127.0.0.1:8081".parse::<SocketAddr>().expect("addr")
    );
    assert!(config.admin.token.is_none());
    assert!(config.gateway.access_log);
    assert!(config.gateway.allow.is_empty() && config.gateway.trusted_proxies.is_empty());
    let (limits, defaults) = (&config.gateway.limits, Limits::default());
    assert_eq!(limits.max_header_bytes, 16 * 1024);
    assert_eq!(limits.max_headers, 100);
    assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
    assert_eq!(limits.body_timeout, Duration::from_secs(30));
    assert_eq!(limits.keep_alive_timeout, Duration::from_secs(60));
    assert_eq!(limits.tls_handshake_timeout, Duration::from_secs(10));
    assert_eq!(limits.max_connections_per_ip, 512);
    assert_eq!(limits.max_body_bytes, 1024 * 1024);
    assert_eq!(
        limits.h2_max_concurrent_streams,
        defaults.h2_max_concurrent_streams
    );

    let listener = &config.listeners[0];
    assert_eq!(listener.name, "public");
    assert_eq!(
        listener.address,
        "127.0.0.1:8443".parse::<SocketAddr>().expect("addr")
    );
    assert!(listener.tls.is_none(), "no tls block: plain HTTP");

    // Upstreams: targets normalised to host:port; defaults and durations.
    let records = &config.upstreams[0];
    assert_eq!(records.targets, ["127.0.0.1:9101", "127.0.0.1:9102"]);
    assert_eq!(records.connect_timeout, Duration::from_secs(2));
    assert_eq!(records.request_timeout, Duration::from_secs(30));
    assert_eq!(records.idle_timeout, Duration::from_secs(60));
    assert_eq!(records.max_idle_per_target, 256);
    assert_eq!(
        (records.breaker_failures, records.breaker_cooldown),
        (5, Duration::from_secs(10))
    );
    let checks = &config.upstreams[1];
    assert_eq!(checks.connect_timeout, Duration::from_millis(250));
    assert_eq!(checks.request_timeout, Duration::from_secs(5));
    assert_eq!(
        (checks.breaker_failures, checks.breaker_cooldown),
        (3, Duration::from_secs(60))
    );

    // Routes: upstream names become indices, methods upper case, host lower case, group
    // defaults to the name, body limit defaults to the gateway's.
    let [lookup, matching, files, status] = &config.routes[..] else {
        panic!("four routes expected");
    };
    assert_eq!(
        (lookup.upstream, matching.upstream, files.upstream),
        (0, 0, 1)
    );
    assert_eq!(lookup.methods, ["GET"]);
    assert_eq!(lookup.timeout, Some(Duration::from_secs(3)));
    assert_eq!(lookup.group, "citizens");
    assert_eq!(lookup.auth, RouteAuth::ApiKey);
    assert_eq!(lookup.max_body_bytes, 1024 * 1024);
    assert_eq!(matching.max_body_bytes, 4096);
    assert_eq!(matching.timeout, None);
    assert_eq!(files.group, "files");
    assert_eq!(files.host.as_deref(), Some("files.example.gov.uk"));
    assert!(files.methods.is_empty(), "no methods: every method");
    assert_eq!(files.path, "/files/{*rest}");
    assert_eq!(status.methods, ["GET", "HEAD"]);
    assert_eq!(status.auth, RouteAuth::Public);

    // Plans: the burst defaults to the rate's count.
    let standard = &config.plans[0];
    assert_eq!(
        (standard.requests, standard.period, standard.burst),
        (10, Duration::from_secs(1), 10)
    );
    let bulk = &config.plans[1];
    assert_eq!(
        (bulk.requests, bulk.period, bulk.burst),
        (6000, Duration::from_secs(60), 50)
    );

    // Consumers: digests parsed, the plaintext key hashed, networks truncated.
    let dvla = &config.consumers[0];
    assert_eq!(
        dvla.keys[0].digest,
        KeyDigest::parse(DVLA_DIGEST).expect("digest")
    );
    assert!(!dvla.keys[0].revoked);
    assert_eq!(
        dvla.keys[1].digest,
        KeyDigest::parse(OLD_DIGEST).expect("digest")
    );
    assert!(dvla.keys[1].revoked);
    assert_eq!(
        dvla.certificates,
        vec![FINGERPRINT.parse::<CertFingerprint>().expect("fingerprint")]
    );
    assert_eq!(
        dvla.allow,
        vec![
            "10.20.0.0/16".parse().expect("net"),
            "10.0.0.0/8".parse().expect("net")
        ]
    );
    let council = &config.consumers[1];
    assert_eq!(council.keys[0].id, "legacy");
    assert_eq!(council.keys[0].digest.to_string(), IMPORTED_DIGEST);
    assert!(council.certificates.is_empty() && council.allow.is_empty());

    // Subscriptions: consumer and plan names become indices.
    let subs: Vec<_> = config
        .subscriptions
        .iter()
        .map(|s| (s.consumer, s.group.as_str(), s.plan))
        .collect();
    assert_eq!(subs, [(0, "citizens", 0), (1, "files", 1)]);
}

#[test]
fn a_garrison_key_given_in_plaintext_is_checked_and_hashed() {
    let key = ApiKey::generate(Environment::Test).expect("random");
    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        &format!("plaintext: {}", key.expose()),
    );
    let config = accepted("grn-plaintext", &yaml);
    assert_eq!(config.consumers[1].keys[0].digest, key.digest());
}

#[test]
fn routes_on_other_hosts_or_methods_do_not_conflict() {
    let yaml = mistake(
        "plans:\n",
        "  - name: lookup-on-host\n    host: api.example\n    path: /citizens/{nino}\n    upstream: records\n  - name: delete\n    methods: [DELETE]\n    path: /citizens/{nino}\n    upstream: records\nplans:\n",
    );
    assert_eq!(accepted("no-conflict", &yaml).routes.len(), 6);
}

// === structure: parse errors ===

#[test]
fn an_unknown_field_is_named_with_the_fields_that_are_allowed() {
    let yaml = mistake("    request_timeout: 5s", "    request_timeuot: 5s");
    let (_s, file, problems) = rejected("typo", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "request_timeuot"),
        "upstreams[1].request_timeuot",
        &[
            "unknown field \"request_timeuot\"",
            "connect_timeout, request_timeout, idle_timeout",
        ],
    );

    let yaml = mistake("plans:\n", "route:\nplans:\n");
    let (_s, file, problems) = rejected("typo-top", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "route:\n"),
        "route",
        &["unknown field \"route\"", "routes"],
    );
}

#[test]
fn a_value_of_the_wrong_type_says_what_is_expected() {
    let yaml = mistake("burst: 50", "burst: fifty");
    let (_s, file, problems) = rejected("type-int", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "fifty"),
        "plans[1].burst",
        &["expected a whole number"],
    );

    let yaml = mistake("burst: 50", "burst: -5");
    let (_s, file, problems) = rejected("type-negative", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "-5"),
        "plans[1].burst",
        &["expected a whole number", "no sign"],
    );

    let yaml = mistake("revoked: true", "revoked: yes");
    let (_s, file, problems) = rejected("type-bool", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "yes"),
        "consumers[0].keys[1].revoked",
        &["expected true or false"],
    );

    let yaml = mistake("allow: [10.20.0.0/16, 10.1.2.3/8]", "allow: 10.20.0.0/16");
    let (_s, file, problems) = rejected("type-list", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "10.20.0.0/16"),
        "consumers[0].allow",
        &["expected a sequence"],
    );
}

#[test]
fn a_missing_required_field_is_reported_at_its_parent() {
    let yaml = mistake("    rate: 10/s\n", "");
    let (_s, file, problems) = rejected("missing-field", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p.file, file);
    // The line of the plan that lacks it (the column is the YAML library's mapping mark).
    assert_eq!(p.line, position(&yaml, "name: standard").0, "{p}");
    assert_eq!(p.field, "plans[0]");
    assert_eq!(p.message, "missing field `rate`");
}

#[test]
fn a_duplicate_yaml_key_is_refused_with_both_lines() {
    let yaml = mistake("    rate: 10/s\n", "    rate: 10/s\n    rate: 20/s\n");
    let (_s, file, problems) = rejected("duplicate-key", &yaml);
    let first = position(&yaml, "rate: 10/s").0;
    assert_only(
        &problems,
        &file,
        position(&yaml, "rate: 20/s"),
        "",
        &[
            "duplicate key \"rate\"",
            &format!("first defined on line {first}"),
        ],
    );
}

#[test]
fn broken_yaml_is_reported_at_its_line() {
    let yaml = mistake("methods: [POST]", "methods: [POST");
    let (_s, file, problems) = rejected("syntax", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, file);
    assert!(
        problems[0].message.starts_with("invalid YAML"),
        "{problems:?}"
    );
    // The scanner notices the unclosed flow sequence on the next line.
    assert_eq!(problems[0].line, position(&yaml, "path: /citizens/match").0);
}

#[test]
fn an_unreadable_configuration_file_is_reported_as_a_whole() {
    let scratch = Scratch::new("missing-file");
    let file = scratch.dir.join("absent.yaml");
    let error = garrison_config::load(&file).expect_err("no such file");
    assert_eq!(error.problems.len(), 1);
    let p = &error.problems[0];
    assert_eq!((p.file.as_path(), p.line, p.column), (file.as_path(), 0, 0));
    assert!(p.message.starts_with("cannot read the file"), "{p}");
    assert_eq!(p.to_string(), format!("{}: {}", file.display(), p.message));
}

// === values ===

#[test]
fn bad_durations_are_refused_with_the_units_that_work() {
    for (bad, says) in [
        ("3 s", "unknown unit"),
        ("1.5s", "unknown unit"),
        ("10", "no unit"),
        ("0s", "longer than zero"),
        ("25h", "at most 24h"),
        ("99999999999999999999s", "too long"),
    ] {
        let yaml = mistake("timeout: 3s", &format!("timeout: \"{bad}\""));
        let (_s, file, problems) = rejected("duration", &yaml);
        assert_only(
            &problems,
            &file,
            position(&yaml, &format!("\"{bad}\"")),
            "routes[0].timeout",
            &[says],
        );
    }
    let yaml = mistake("cooldown: 1m", "cooldown: soon");
    let (_s, file, problems) = rejected("duration-breaker", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "soon"),
        "upstreams[1].circuit_breaker.cooldown",
        &["500ms, 10s, 5m or 1h"],
    );
}

#[test]
fn a_zero_or_malformed_rate_is_refused() {
    let yaml = mistake("rate: 10/s", "rate: 0/s");
    let (_s, file, problems) = rejected("zero-rate", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "0/s"),
        "plans[0].rate",
        &["a rate of zero admits nothing"],
    );

    let yaml = mistake("rate: 10/s", "rate: 10/week");
    let (_s, file, problems) = rejected("rate-period", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "10/week"),
        "plans[0].rate",
        &["unknown period \"week\"", "s, min, h or day"],
    );

    let yaml = mistake("rate: 10/s", "rate: fast");
    let (_s, file, problems) = rejected("rate-shape", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "fast"),
        "plans[0].rate",
        &["not a rate", "100/s"],
    );
}

#[test]
fn numbers_out_of_range_name_the_range() {
    let yaml = mistake("burst: 50", "burst: 0");
    let (_s, file, problems) = rejected("burst-zero", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "burst: 0").add_columns(7),
        "plans[1].burst",
        &["between 1 and 1000000"],
    );

    let yaml = mistake(
        "listeners:\n",
        "gateway:\n  limits:\n    max_headers: 2\n    max_header_bytes: 1024\nlisteners:\n",
    );
    let (_s, file, problems) = rejected("limits", &yaml);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "max_headers: 2").add_columns(13),
        "gateway.limits.max_headers",
        &["between 8 and 1000"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "max_header_bytes: 1024").add_columns(18),
        "gateway.limits.max_header_bytes",
        &["between 8192 and 1048576"],
    );

    let yaml = mistake("failures: 3", "failures: 0");
    let (_s, file, problems) = rejected("breaker-failures", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "failures: 0").add_columns(10),
        "upstreams[1].circuit_breaker.failures",
        &["between 1 and 1000"],
    );
}

/// Moves a position right, to point from a `key: ` needle at its value.
trait AddColumns {
    fn add_columns(self, n: usize) -> Self;
}

impl AddColumns for (usize, usize) {
    fn add_columns(self, n: usize) -> Self {
        (self.0, self.1 + n)
    }
}

// === references and names ===

#[test]
fn a_route_naming_an_unknown_upstream_is_refused() {
    let yaml = mistake(
        "    upstream: checks\n    auth",
        "    upstream: chekcs\n    auth",
    );
    let (_s, file, problems) = rejected("unknown-upstream", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "chekcs"),
        "routes[3].upstream",
        &["no upstream is named \"chekcs\""],
    );
}

#[test]
fn a_subscription_to_unknown_names_reports_each_one() {
    let yaml = mistake(
        "  - consumer: council\n    group: files\n    plan: bulk\n",
        "  - consumer: councl\n    group: filez\n    plan: gold\n",
    );
    let (_s, file, problems) = rejected("unknown-subscription", &yaml);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "councl"),
        "subscriptions[1].consumer",
        &["no consumer is named \"councl\""],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "filez"),
        "subscriptions[1].group",
        &["no route is in group \"filez\""],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "gold"),
        "subscriptions[1].plan",
        &["no plan is named \"gold\""],
    );
}

#[test]
fn a_consumer_subscribed_twice_to_a_group_is_refused() {
    let yaml = mistake(
        "    plan: bulk\n",
        "    plan: bulk\n  - consumer: council # again\n    group: files\n    plan: standard\n",
    );
    let (_s, file, problems) = rejected("duplicate-subscription", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "council # again"),
        "subscriptions[2]",
        &["already subscribed to this group"],
    );
}

#[test]
fn duplicate_names_are_refused_at_the_second_use() {
    for (section, from, to, field) in [
        (
            "upstream",
            "  - name: checks\n",
            "  - name: records\n",
            "upstreams[1].name",
        ),
        (
            "route",
            "  - name: citizen-match\n",
            "  - name: citizen-lookup\n",
            "routes[1].name",
        ),
        (
            "plan",
            "  - name: bulk\n",
            "  - name: standard\n",
            "plans[1].name",
        ),
        (
            "consumer",
            "  - name: council\n",
            "  - name: dvla\n",
            "consumers[1].name",
        ),
        (
            "key id",
            "      - id: dvla-old\n",
            "      - id: dvla-1\n",
            "consumers[0].keys[1].id",
        ),
    ] {
        let yaml = mistake(from, to);
        let (_s, file, problems) = rejected(section, &yaml);
        let name = to
            .trim()
            .trim_start_matches("- ")
            .split_once(": ")
            .expect("kv")
            .1;
        // (References to the name that disappeared are reported too, each at its own line.)
        assert_problem(
            &problems,
            &file,
            position_nth(&yaml, &format!(": {name}\n"), 1).add_columns(2),
            field,
            &[&format!("the name \"{name}\" is used twice")],
        );
    }

    let yaml = mistake(
        "    address: 127.0.0.1:8443\n",
        "    address: 127.0.0.1:8443\n  - name: public\n    address: 127.0.0.1:8444\n",
    );
    let (_s, file, problems) = rejected("listener", &yaml);
    assert_only(
        &problems,
        &file,
        position_nth(&yaml, "public", 1),
        "listeners[1].name",
        &["used twice"],
    );
}

#[test]
fn names_outside_the_allowed_characters_are_refused() {
    let yaml = mistake("plans:\n", "plans:\n  - name: bulk plan\n    rate: 1/s\n");
    let (_s, file, problems) = rejected("bad-name", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "bulk plan"),
        "plans[0].name",
        &["1-64 characters of letters, digits, '-', '_' and '.'"],
    );
}

// === routes ===

#[test]
fn conflicting_route_templates_are_refused() {
    let yaml = mistake(
        "plans:\n",
        "  - name: by-nino\n    methods: [GET]\n    path: /citizens/{nino}\n    upstream: records\nplans:\n",
    );
    let (_s, file, problems) = rejected("conflict-param", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "/citizens/{nino}"),
        "routes[4].path",
        &["cannot route GET /citizens/{nino}", "/citizens/{id}"],
    );

    // A route without methods claims every method, so it conflicts with any route on the path.
    let yaml = mistake(
        "plans:\n",
        "  - name: more-files\n    host: files.example.gov.uk\n    methods: [PUT]\n    path: /files/{*other}\n    upstream: checks\nplans:\n",
    );
    let (_s, file, problems) = rejected("conflict-catch-all", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "/files/{*other}"),
        "routes[4].path",
        &["cannot route PUT /files/{*other}", "/files/{*rest}"],
    );

    let yaml = mistake("path: /files/{*rest}", "path: /files/{*rest}/meta");
    let (_s, file, problems) = rejected("catch-all-not-last", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "/files/{*rest}/meta"),
        "routes[2].path",
        &["Catch-all parameters are only allowed at the end"],
    );
}

#[test]
fn route_methods_hosts_paths_and_auth_are_checked() {
    let yaml = mistake("methods: [GET, HEAD]", "methods: [GET, TRACE, get]");
    let (_s, file, problems) = rejected("methods", &yaml);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "TRACE"),
        "routes[3].methods[1]",
        &["expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"],
    );
    assert_problem(
        &problems,
        &file,
        position_nth(&yaml, "get]", 1),
        "routes[3].methods[2]",
        &["method listed twice"],
    );

    let yaml = mistake(
        "host: Files.Example.GOV.uk",
        "host: files.example.gov.uk:8443",
    );
    let (_s, file, problems) = rejected("host", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "files.example.gov.uk:8443"),
        "routes[2].host",
        &["without port or path"],
    );

    let yaml = mistake("path: /status", "path: status");
    let (_s, file, problems) = rejected("path", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "status\n    upstream"),
        "routes[3].path",
        &["starts with '/'"],
    );

    let yaml = mistake("auth: public", "auth: none");
    let (_s, file, problems) = rejected("auth", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "none"),
        "routes[3].auth",
        &["expected api_key or public"],
    );
}

// === networks, fingerprints, keys ===

#[test]
fn bad_networks_are_refused_in_every_allow_list() {
    let yaml = mistake(
        "listeners:\n",
        "gateway:\n  allow: [10.0.0.0/8, 10.0.0.0/33]\n  trusted_proxies: [proxy.internal]\nlisteners:\n",
    );
    let yaml = yaml.replacen("10.1.2.3/8]", "10.1.2/8]", 1);
    let (_s, file, problems) = rejected("cidr", &yaml);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "10.0.0.0/33"),
        "gateway.allow[1]",
        &["\"10.0.0.0/33\" is not an IP address or CIDR network"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "proxy.internal"),
        "gateway.trusted_proxies[0]",
        &["not an IP address or CIDR network"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "10.1.2/8"),
        "consumers[0].allow[1]",
        &["e.g. 203.0.113.0/24"],
    );
}

#[test]
fn a_bad_certificate_fingerprint_is_refused() {
    let short = &FINGERPRINT[..FINGERPRINT.len() - 3];
    let yaml = mistake(FINGERPRINT, short);
    let (_s, file, problems) = rejected("fingerprint", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, &format!("\"{short}\"")),
        "consumers[0].certificates[0]",
        &["64 hex digits, optionally separated by colons"],
    );
}

#[test]
fn a_bad_key_digest_is_refused() {
    let truncated = &DVLA_DIGEST[..40];
    let yaml = mistake(DVLA_DIGEST, truncated);
    let (_s, file, problems) = rejected("digest", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, &format!("\"{truncated}\"")),
        "consumers[0].keys[0].digest",
        &["expected sha256: followed by 64 hex digits"],
    );

    let yaml = mistake(
        "listeners:\n",
        "admin:\n  token_digest: md5:0123\nlisteners:\n",
    );
    let (_s, file, problems) = rejected("admin-digest", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "md5:0123"),
        "admin.token_digest",
        &["expected sha256: followed by 64 hex digits"],
    );
}

#[test]
fn a_garrison_key_with_a_wrong_checksum_is_refused() {
    let key = ApiKey::generate(Environment::Live).expect("random");
    let mut mistyped = key.expose().to_owned();
    let last = mistyped.pop().expect("non-empty");
    mistyped.push(if last == 'a' { 'b' } else { 'a' });
    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        &format!("plaintext: {mistyped}"),
    );
    let (_s, file, problems) = rejected("checksum", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, &mistyped),
        "consumers[1].keys[0].plaintext",
        &["not a valid Garrison key", "checksum does not match"],
    );

    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        "plaintext: grn_live_tooshortbutlongerthan16",
    );
    let (_s, file, problems) = rejected("grn-shape", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "grn_live_tooshort"),
        "consumers[1].keys[0].plaintext",
        &["not a valid Garrison key", "base62"],
    );
}

#[test]
fn imported_keys_must_be_long_and_given_exactly_one_way() {
    let yaml = mistake("plaintext: imported-from-kong-0001", "plaintext: kong-123");
    let (_s, file, problems) = rejected("short-key", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "kong-123"),
        "consumers[1].keys[0].plaintext",
        &["at least 16 characters"],
    );

    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        &format!("plaintext: imported-from-kong-0001\n        digest: \"{OLD_DIGEST}\""),
    );
    let (_s, file, problems) = rejected("both", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "legacy"),
        "consumers[1].keys[0]",
        &["give exactly one of `digest`", "or `plaintext`"],
    );
}

#[test]
fn one_key_cannot_belong_to_two_consumers() {
    // The same key, once as a digest and once in plaintext.
    let yaml = mistake(DVLA_DIGEST, IMPORTED_DIGEST);
    let (_s, file, problems) = rejected("shared-key", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "legacy"),
        "consumers[1].keys[0]",
        &["already a key of consumer \"dvla\""],
    );
}

// === listeners and upstreams ===

#[test]
fn listener_and_admin_addresses_are_checked() {
    let yaml = mistake("address: 127.0.0.1:8443", "address: localhost:8443");
    let (_s, file, problems) = rejected("listener-address", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "localhost:8443"),
        "listeners[0].address",
        &["0.0.0.0:8443"],
    );

    let yaml = mistake(
        "    address: 127.0.0.1:8443\n",
        "    address: 127.0.0.1:8443\n  - name: second\n    address: 127.0.0.1:8443 # again\n",
    );
    let (_s, file, problems) = rejected("listener-twice", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "127.0.0.1:8443 # again"),
        "listeners[1].address",
        &["two listeners bind the same address"],
    );

    let yaml = mistake("listeners:\n", "admin:\n  listen: 8081\nlisteners:\n");
    let (_s, file, problems) = rejected("admin-listen", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "8081"),
        "admin.listen",
        &["127.0.0.1:8081"],
    );
}

#[test]
fn a_file_without_listeners_is_refused_as_a_whole() {
    let yaml = mistake(
        "listeners:\n  - name: public\n    address: 127.0.0.1:8443\n",
        "",
    );
    let (_s, file, problems) = rejected("no-listeners", &yaml);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!((&problems[0].file, problems[0].line), (&file, 0));
    assert_eq!(
        problems[0].to_string(),
        format!(
            "{}: no listeners: declare at least one under `listeners:`",
            file.display()
        )
    );
}

#[test]
fn upstream_targets_must_be_plain_host_and_port() {
    let yaml = mistake(
        "targets: [127.0.0.1:9201]",
        "targets: [127.0.0.1, \"https://checks.internal:443\", checks.internal:9201]",
    );
    let (_s, file, problems) = rejected("targets", &yaml);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "127.0.0.1,"),
        "upstreams[1].targets[0]",
        &["expected host:port"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "\"https://checks.internal:443\""),
        "upstreams[1].targets[1]",
        &["TLS to upstreams is not supported yet"],
    );

    let yaml = mistake("targets: [127.0.0.1:9201]", "targets: []");
    let (_s, file, problems) = rejected("no-targets", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "[]"),
        "upstreams[1].targets",
        &["at least one target"],
    );
}

// === TLS files ===

/// Writes a CA and a server certificate and key into `scratch`, as PEM files.
fn write_pki(scratch: &Scratch) {
    let ca = CertificateAuthority::generate("Test CA").expect("ca");
    let server = ca.issue_server(&["localhost"]).expect("server cert");
    scratch.write("ca.pem", &ca.cert().cert_pem);
    scratch.write("server.pem", &server.cert_pem);
    scratch.write("server.key", &server.key_pem);
}

fn with_tls(tls: &str) -> String {
    mistake(
        "    address: 127.0.0.1:8443\n",
        &format!("    address: 127.0.0.1:8443\n    tls:\n{tls}"),
    )
}

/// Loads `yaml` from a scratch directory that holds the test PKI.
fn load_with_pki(name: &str, yaml: &str) -> (Scratch, PathBuf, Result<Config, Vec<Diagnostic>>) {
    let scratch = Scratch::new(name);
    write_pki(&scratch);
    let (file, result) = load(&scratch, yaml);
    (scratch, file, result.map_err(|e| e.problems))
}

#[test]
fn tls_files_are_read_relative_to_the_configuration() {
    let yaml = with_tls(
        "      certificate: server.pem\n      key: server.key\n      client_certificates: optional\n      client_ca: ca.pem\n",
    );
    let (_s, _file, result) = load_with_pki("tls-ok", &yaml);
    let config = result.unwrap_or_else(|p| panic!("{p:#?}"));
    let tls = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(tls.cert_chain.len(), 1);
    assert_eq!(tls.client_ca.len(), 1);
    assert_eq!(tls.client_certificates, ClientCertPolicy::Optional);

    // Without `client_certificates`, client certificates are required.
    let yaml =
        with_tls("      certificate: server.pem\n      key: server.key\n      client_ca: ca.pem\n");
    let (_s, _file, result) = load_with_pki("tls-default", &yaml);
    let config = result.unwrap_or_else(|p| panic!("{p:#?}"));
    let tls = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(tls.client_certificates, ClientCertPolicy::Required);

    // `off` needs no CA.
    let yaml = with_tls(
        "      certificate: server.pem\n      key: server.key\n      client_certificates: off\n",
    );
    let (_s, _file, result) = load_with_pki("tls-off", &yaml);
    let config = result.unwrap_or_else(|p| panic!("{p:#?}"));
    let tls = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(tls.client_certificates, ClientCertPolicy::Off);
    assert!(tls.client_ca.is_empty());
}

#[test]
fn client_certificates_without_a_client_ca_are_refused() {
    let yaml = with_tls(
        "      certificate: server.pem\n      key: server.key\n      client_certificates: required\n",
    );
    let (_s, file, result) = load_with_pki("no-client-ca", &yaml);
    let problems = result.expect_err("refused");
    assert_only(
        &problems,
        &file,
        position(&yaml, "required"),
        "listeners[0].tls.client_ca",
        &["a client_ca bundle is needed", "client_certificates: off"],
    );

    // Required by default: the problem points at the TLS block's first line.
    let yaml = with_tls("      certificate: server.pem\n      key: server.key\n");
    let (_s, file, result) = load_with_pki("no-client-ca-default", &yaml);
    let problems = result.expect_err("refused");
    assert_only(
        &problems,
        &file,
        position(&yaml, "server.pem"),
        "listeners[0].tls.client_ca",
        &["a client_ca bundle is needed"],
    );

    let yaml = with_tls(
        "      certificate: server.pem\n      key: server.key\n      client_certificates: maybe\n      client_ca: ca.pem\n",
    );
    let (_s, file, result) = load_with_pki("client-cert-policy", &yaml);
    let problems = result.expect_err("refused");
    assert_only(
        &problems,
        &file,
        position(&yaml, "maybe"),
        "listeners[0].tls.client_certificates",
        &["expected required, optional or off"],
    );
}

#[test]
fn unreadable_or_wrong_tls_files_are_refused() {
    let yaml = with_tls(
        "      certificate: missing.pem\n      key: server.key\n      client_ca: ca.pem\n",
    );
    let (scratch, file, result) = load_with_pki("missing-cert", &yaml);
    let problems = result.expect_err("refused");
    let full = scratch.dir.join("missing.pem");
    assert_only(
        &problems,
        &file,
        position(&yaml, "missing.pem"),
        "listeners[0].tls.certificate",
        &[&format!("cannot read {}", full.display())],
    );

    // A file without a PEM certificate, and a key file that holds a certificate.
    let yaml =
        with_tls("      certificate: server.pem\n      key: ca.pem\n      client_ca: notes.txt\n");
    let scratch = Scratch::new("wrong-pem");
    write_pki(&scratch);
    scratch.write("notes.txt", "not a certificate\n");
    let (file, result) = load(&scratch, &yaml);
    let problems = result.expect_err("refused").problems;
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "ca.pem"),
        "listeners[0].tls.key",
        &["no PEM private key found"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "notes.txt"),
        "listeners[0].tls.client_ca",
        &["the file holds no PEM certificate"],
    );
}

// === many problems at once ===

#[test]
fn every_problem_in_a_file_is_reported_in_line_order() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8443
upstreams:
  - name: records
    targets: [127.0.0.1:9101]
    request_timeout: 30
routes:
  - name: lookup
    path: /citizens/{id}
    upstream: recods
plans:
  - name: standard
    rate: 0/s
consumers:
  - name: dvla
    keys:
      - id: k1
        digest: sha256:abc
    allow: [10.0.0.0/99]
subscriptions:
  - consumer: dvla
    group: lookup
    plan: gold
";
    let (_s, file, problems) = rejected("many", yaml);
    let f = file.display();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            format!(
                "{f}:7:22: upstreams[0].request_timeout: \"30\" has no unit: write e.g. 500ms, 10s, 5m or 1h"
            ),
            format!("{f}:11:15: routes[0].upstream: no upstream is named \"recods\""),
            format!("{f}:14:11: plans[0].rate: \"0/s\": a rate of zero admits nothing"),
            format!(
                "{f}:19:17: consumers[0].keys[0].digest: expected sha256: followed by 64 hex digits"
            ),
            format!(
                "{f}:20:13: consumers[0].allow[0]: \"10.0.0.0/99\" is not an IP address or CIDR network (e.g. 203.0.113.0/24)"
            ),
            format!("{f}:24:11: subscriptions[0].plan: no plan is named \"gold\""),
        ]
    );
    // And the whole report, as `garrison config check` prints it: one problem per line.
    let report = garrison_config::load(&file)
        .expect_err("refused")
        .to_string();
    assert_eq!(report, lines.join("\n"));
}
