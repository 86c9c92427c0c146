//! TLS files.

use super::*;

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
fn the_minimum_tls_version_is_1_2_or_1_3() {
    let tls =
        "      certificate: server.pem\n      key: server.key\n      client_certificates: off\n";
    let (_s, _file, result) = load_with_pki("tls-default", &with_tls(tls));
    let config = result.expect("valid");
    let listener = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(listener.min_version, garrison_config::TlsVersion::Tls12);

    let strict = with_tls(&format!("{tls}      min_version: \"1.3\"\n"));
    let (_s, _file, result) = load_with_pki("tls-13", &strict);
    let config = result.expect("valid");
    let listener = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(listener.min_version, garrison_config::TlsVersion::Tls13);

    let old = with_tls(&format!("{tls}      min_version: \"1.0\"\n"));
    let (_s, file, result) = load_with_pki("tls-10", &old);
    let problems = result.expect_err("refused");
    assert_only(
        &problems,
        &file,
        position(&old, "\"1.0\""),
        "listeners[0].tls.min_version",
        &["expected \"1.2\" or \"1.3\""],
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
