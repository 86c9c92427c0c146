//! File transfer services: every rule of `transfers:` and of the subscriptions to them.

use super::*;

const KEY_LINE: &str = "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

const TRANSFER: &str = r#"listeners:
  - name: public
    address: 127.0.0.1:8443
plans:
  - name: standard
    rate: 10/s
consumers:
  - name: assessor
    keys:
      - id: a-1
        digest: "sha256:695bffa214f3587a0f0e25bcdcc6e29a4e914f8e2abe36c2ecbf30904fdfa4cd"
  - name: decisions
    keys:
      - id: d-1
        digest: "sha256:0935ea2573687e9921a17fd4652f5ea5a8c8894d09d404eefdefa6d0b96e8f65"
subscriptions:
  - consumer: assessor
    group: evidence
    plan: standard
    send_to: [pip-decisions]
    document_types: [medical-assessment]
  - consumer: decisions
    group: evidence
    plan: standard
transfers:
  - name: evidence
    base_path: /files/v1
    store: store
    master_keys: master-keys
    document_types: [medical-assessment, fit-note]
    max_size: 1073741824
    retention: 30d
    inboxes:
      - name: pip-decisions
        owner: decisions
"#;

fn load_transfer(
    name: &str,
    yaml: &str,
    keys: &str,
) -> (
    Scratch,
    PathBuf,
    Result<Config, garrison_config::ConfigError>,
) {
    let scratch = Scratch::new(name);
    scratch.write("master-keys", keys);
    let (file, result) = load(&scratch, yaml);
    (scratch, file, result)
}

fn transfer_mistake(from: &str, to: &str) -> String {
    assert_eq!(
        TRANSFER.matches(from).count(),
        1,
        "{from:?} must occur once"
    );
    TRANSFER.replacen(from, to, 1)
}

fn refused(name: &str, yaml: &str, keys: &str) -> (Scratch, PathBuf, Vec<Diagnostic>) {
    let (scratch, file, result) = load_transfer(name, yaml, keys);
    match result {
        Ok(_) => panic!("the configuration was accepted:\n{yaml}"),
        Err(e) => (scratch, file, e.problems),
    }
}

#[test]
fn a_transfer_service_becomes_five_routes_and_its_entitlements() {
    let (_s, _file, result) = load_transfer("transfer-good", TRANSFER, KEY_LINE);
    let config = result.unwrap_or_else(|e| panic!("refused: {e}"));
    let t = &config.transfers[0];
    assert_eq!(t.name, "evidence");
    assert_eq!(t.max_size, 1 << 30);
    assert_eq!(t.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(t.upload_expiry, Duration::from_secs(86_400));
    assert_eq!(t.delete_acknowledged_after, Duration::from_secs(3600));
    assert_eq!(t.master_keys.current_id(), "k1");
    assert_eq!(t.inboxes[0].owner, 1);
    let routes: Vec<(&str, &str)> = config
        .routes
        .iter()
        .filter(|r| r.transfer.is_some())
        .map(|r| (r.name.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("evidence.uploads", "/files/v1/uploads"),
            ("evidence.upload", "/files/v1/uploads/{id}"),
            ("evidence.inbox", "/files/v1/inboxes/{inbox}/files"),
            ("evidence.download", "/files/v1/inboxes/{inbox}/files/{id}"),
            (
                "evidence.acknowledge",
                "/files/v1/inboxes/{inbox}/files/{id}/acknowledgement"
            ),
        ]
    );
    assert!(config.routes.iter().all(|r| r.auth == RouteAuth::ApiKey));
    let sender = &config.subscriptions[0];
    assert_eq!(sender.send_to, vec!["pip-decisions".to_owned()]);
    assert_eq!(
        sender.document_types,
        Some(vec!["medical-assessment".to_owned()])
    );
    assert!(config.subscriptions[1].send_to.is_empty());
}

#[test]
fn two_transfer_services_may_not_share_a_store() {
    let yaml = format!(
        "{TRANSFER}  - name: evidence-2
    base_path: /files/v2
    store: ./store
    master_keys: master-keys
    document_types: [fit-note]
    max_size: 1024
    retention: 1d
    inboxes:
      - name: pip-decisions
        owner: decisions
"
    );
    let (_s, file, problems) = refused("transfer-shared-store", &yaml, KEY_LINE);
    assert_only(
        &problems,
        &file,
        position(&yaml, "./store"),
        "transfers[1].store",
        &["transfer service \"evidence\" has this store already"],
    );
}

#[test]
fn an_inbox_owner_must_be_a_consumer() {
    let yaml = transfer_mistake("        owner: decisions\n", "        owner: decisons\n");
    let (_s, file, problems) = refused("transfer-owner", &yaml, KEY_LINE);
    assert_only(
        &problems,
        &file,
        position(&yaml, "decisons"),
        "transfers[0].inboxes[0].owner",
        &["no consumer is named \"decisons\""],
    );
}

#[test]
fn a_sender_may_only_name_inboxes_and_types_of_the_service() {
    let yaml = transfer_mistake(
        "    send_to: [pip-decisions]\n    document_types: [medical-assessment]\n",
        "    send_to: [pip-decision]\n    document_types: [x-ray]\n",
    );
    let (_s, file, problems) = refused("transfer-entitlements", &yaml, KEY_LINE);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "pip-decision]"),
        "subscriptions[0].send_to[0]",
        &["has no inbox named \"pip-decision\""],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "x-ray"),
        "subscriptions[0].document_types[0]",
        &["accepts no document type \"x-ray\""],
    );
}

#[test]
fn transfer_fields_are_only_for_a_transfer_service() {
    let yaml = transfer_mistake(
        "  - consumer: decisions\n    group: evidence\n    plan: standard\n",
        "  - consumer: decisions\n    group: evidence\n    plan: standard\n  - consumer: decisions\n    group: other\n    plan: standard\n    send_to: [x]\n",
    )
    .replace("transfers:\n", "routes:\n  - name: other\n    path: /other\n    upstream: up\nupstreams:\n  - name: up\n    targets: [127.0.0.1:9000]\ntransfers:\n");
    let (_s, file, problems) = refused("transfer-fields", &yaml, KEY_LINE);
    assert_only(
        &problems,
        &file,
        position(&yaml, "[x]"),
        "subscriptions[2].send_to",
        &["send_to is for a subscription to a transfer service"],
    );
}

#[test]
fn a_bad_master_key_ring_is_refused_at_its_field() {
    let (_s, file, problems) = refused("transfer-keys", TRANSFER, "k1 QUFB\n");
    assert_only(
        &problems,
        &file,
        position(TRANSFER, "master-keys"),
        "transfers[0].master_keys",
        &["line 1: a master key is 32 bytes"],
    );
}

#[test]
fn limits_and_lists_of_a_transfer_service_are_checked() {
    let yaml = transfer_mistake(
        "    retention: 30d\n",
        "    retention: 4000d\n    upload_expiry: 0s\n",
    )
    .replace(
        "    document_types: [medical-assessment, fit-note]\n",
        "    document_types: [medical-assessment, fit-note, \"bad type\"]\n",
    )
    .replace(
        "    base_path: /files/v1\n",
        "    base_path: /files/../v1\n",
    );
    let (_s, file, problems) = refused("transfer-limits", &yaml, KEY_LINE);
    assert_problem(
        &problems,
        &file,
        position(&yaml, "4000d"),
        "transfers[0].retention",
        &["at most 3650d"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "0s"),
        "transfers[0].upload_expiry",
        &["at least 1s"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "\"bad type\""),
        "transfers[0].document_types[2]",
        &["a document type is"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "/files/../v1"),
        "transfers[0].base_path",
        &["a base path is a plain path"],
    );
}

#[test]
fn a_webhook_is_a_plain_http_url() {
    let yaml = transfer_mistake(
        "        owner: decisions\n",
        "        owner: decisions\n        webhook: https://hooks.example/files\n",
    );
    let (_s, file, problems) = refused("transfer-webhook", &yaml, KEY_LINE);
    assert_only(
        &problems,
        &file,
        position(&yaml, "https://hooks.example/files"),
        "transfers[0].inboxes[0].webhook",
        &["plain http:// URL"],
    );
    let good = transfer_mistake(
        "        owner: decisions\n",
        "        owner: decisions\n        webhook: http://10.0.0.5/hooks\n",
    );
    let (_s, _file, result) = load_transfer("transfer-webhook-good", &good, KEY_LINE);
    let config = result.unwrap_or_else(|e| panic!("refused: {e}"));
    let hook = config.transfers[0].inboxes[0]
        .webhook
        .clone()
        .expect("webhook");
    assert_eq!(hook.authority, "10.0.0.5:80");
    assert_eq!(hook.path, "/hooks");
}
