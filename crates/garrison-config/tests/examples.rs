//! Every example configuration under the repository's `config/` directory must validate, so a
//! shipped example can never rot (STYLE rule 9).

use std::path::{Path, PathBuf};

/// The repository's `config/` directory.
fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// Every `*.yaml` / `*.yml` file under `dir`, at any depth, in a stable order.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_example_configuration_validates() {
    let files = yaml_files(&config_dir());
    assert!(
        !files.is_empty(),
        "no example configuration found under {}",
        config_dir().display()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| garrison_config::load(file).err().map(|e| e.to_string()))
        .collect();
    assert!(
        failures.is_empty(),
        "example configurations that do not validate:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_gateway_example_resolves_what_its_comments_promise() {
    let config = garrison_config::load(&config_dir().join("gateway.example.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.listeners.len(), 1);
    let tls = config.listeners[0]
        .tls
        .as_ref()
        .expect("the listener has TLS");
    assert_eq!(
        tls.client_certificates,
        garrison_config::ClientCertPolicy::Required
    );
    assert!(!tls.cert_chain.is_empty() && !tls.client_ca.is_empty());
    assert_eq!(config.upstreams.len(), 2);
    assert_eq!(config.plans.len(), 3);
    assert_eq!(config.consumers.len(), 3);
    // The route without `group` is in the group of its own name; the public one has no key.
    let status = config
        .routes
        .iter()
        .find(|r| r.name == "status")
        .expect("status route");
    assert_eq!(status.group, "status");
    assert_eq!(status.auth, garrison_config::RouteAuth::Public);
    // `rate: 100/s` without `burst` bursts to 100.
    let standard = config
        .plans
        .iter()
        .find(|p| p.name == "standard")
        .expect("plan");
    assert_eq!((standard.requests, standard.burst), (100, 100));
    // One revoked key and one imported plaintext key, kept only as its digest.
    let keys: Vec<_> = config.consumers.iter().flat_map(|c| &c.keys).collect();
    assert_eq!(keys.iter().filter(|k| k.revoked).count(), 1);
    let legacy = keys
        .iter()
        .find(|k| k.id == "leeds-legacy")
        .expect("imported key");
    assert_eq!(
        legacy.digest,
        garrison_core::ApiKey::from_plaintext("kong-2f9c41d7a8e35b60c4e1f7a2d9b83c5e").digest()
    );
    // Every consumer is bound to the certificate shipped for it in example-pki/.
    for consumer in &config.consumers {
        let pem = std::fs::read(
            config_dir()
                .join("example-pki")
                .join(format!("{}.pem", consumer.name)),
        )
        .expect("the consumer's example certificate");
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(&pem)
            .map(|c: rustls_pki_types::CertificateDer<'_>| c.to_vec())
            .expect("PEM certificate");
        assert_eq!(
            consumer.certificates,
            vec![garrison_core::CertFingerprint::of_der(&der)],
            "{}",
            consumer.name
        );
    }
}
