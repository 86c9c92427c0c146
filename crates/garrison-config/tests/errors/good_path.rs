//! The good path.

use super::*;

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
    assert_eq!(limits.idle_timeout, Duration::from_secs(120));
    assert_eq!(limits.tls_handshake_timeout, Duration::from_secs(10));
    assert_eq!(limits.max_connections_per_ip, 512);
    assert_eq!(limits.max_connections, 10_000);
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
        (Some(0), Some(0), Some(1))
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
