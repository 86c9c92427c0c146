//! The configuration file as written: every field kept as text with its position, so that
//! validation can point at the exact line of anything it rejects.

use std::path::Path;

use marked_yaml::{LoaderOptions, Spanned};
use serde::Deserialize;

use crate::diagnostic::{ConfigError, Diagnostic};

type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub(crate) admin: Option<RawAdmin>,
    #[serde(default)]
    pub(crate) gateway: Option<RawGateway>,
    #[serde(default)]
    pub(crate) listeners: Vec<RawListener>,
    #[serde(default)]
    pub(crate) upstreams: Vec<RawUpstream>,
    #[serde(default)]
    pub(crate) routes: Vec<RawRoute>,
    #[serde(default)]
    pub(crate) apis: Vec<RawApi>,
    #[serde(default)]
    pub(crate) plans: Vec<RawPlan>,
    #[serde(default)]
    pub(crate) consumers: Vec<RawConsumer>,
    #[serde(default)]
    pub(crate) subscriptions: Vec<RawSubscription>,
    #[serde(default)]
    pub(crate) audit: Option<RawAudit>,
    #[serde(default)]
    pub(crate) control_plane: Option<RawControlPlane>,
    #[serde(default)]
    pub(crate) transfers: Vec<RawTransfer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawControlPlane {
    pub(crate) store: Text,
    pub(crate) session_ttl: Option<Text>,
    pub(crate) allow_list_max_prefix_ipv4: Option<Text>,
    pub(crate) allow_list_max_prefix_ipv6: Option<Text>,
    pub(crate) self_sign_up: Option<Spanned<bool>>,
}

/// A file transfer service: tus uploads into encrypted storage, delivered to inboxes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTransfer {
    pub(crate) name: Text,
    pub(crate) base_path: Text,
    pub(crate) host: Option<Text>,
    pub(crate) store: Text,
    pub(crate) master_keys: Text,
    pub(crate) document_types: Spanned<Vec<Text>>,
    pub(crate) max_size: Option<Spanned<u64>>,
    pub(crate) upload_expiry: Option<Text>,
    pub(crate) retention: Option<Text>,
    pub(crate) delete_acknowledged_after: Option<Text>,
    pub(crate) sweep_interval: Option<Text>,
    pub(crate) audit: Option<Spanned<bool>>,
    pub(crate) inboxes: Spanned<Vec<RawInbox>>,
}

/// An inbox: where files for one recipient system wait until it fetches them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInbox {
    pub(crate) name: Text,
    pub(crate) owner: Text,
    pub(crate) webhook: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub(crate) dir: Text,
    pub(crate) queue: Option<Text>,
    pub(crate) durability: Option<Text>,
    pub(crate) sync_interval: Option<Text>,
    pub(crate) group_commit: Option<Text>,
    pub(crate) signing_key: Option<Text>,
    pub(crate) subject_keys: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub(crate) listen: Option<Text>,
    pub(crate) token_digest: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGateway {
    #[serde(default)]
    pub(crate) trusted_proxies: Vec<Text>,
    #[serde(default)]
    pub(crate) allow: Vec<Text>,
    pub(crate) access_log: Option<Spanned<bool>>,
    pub(crate) limits: Option<RawLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) max_header_bytes: Option<Spanned<u64>>,
    pub(crate) max_headers: Option<Spanned<u64>>,
    pub(crate) header_read_timeout: Option<Text>,
    pub(crate) body_timeout: Option<Text>,
    pub(crate) keep_alive_timeout: Option<Text>,
    pub(crate) idle_timeout: Option<Text>,
    pub(crate) tls_handshake_timeout: Option<Text>,
    pub(crate) max_connections_per_ip: Option<Spanned<u64>>,
    pub(crate) max_connections: Option<Spanned<u64>>,
    pub(crate) max_body_bytes: Option<Spanned<u64>>,
    pub(crate) h2_max_concurrent_streams: Option<Spanned<u64>>,
    pub(crate) h2_max_pending_reset_streams: Option<Spanned<u64>>,
    pub(crate) h2_max_local_error_reset_streams: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListener {
    pub(crate) name: Text,
    pub(crate) address: Text,
    pub(crate) tls: Option<RawTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) certificate: Text,
    pub(crate) key: Text,
    pub(crate) client_certificates: Option<Text>,
    pub(crate) client_ca: Option<Text>,
    pub(crate) min_version: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstream {
    pub(crate) name: Text,
    pub(crate) targets: Spanned<Vec<Text>>,
    pub(crate) connect_timeout: Option<Text>,
    pub(crate) request_timeout: Option<Text>,
    pub(crate) idle_timeout: Option<Text>,
    pub(crate) max_idle_per_target: Option<Spanned<u64>>,
    pub(crate) circuit_breaker: Option<RawBreaker>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    pub(crate) failures: Option<Spanned<u64>>,
    pub(crate) cooldown: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) name: Text,
    pub(crate) group: Option<Text>,
    pub(crate) host: Option<Text>,
    #[serde(default)]
    pub(crate) methods: Vec<Text>,
    pub(crate) path: Text,
    pub(crate) upstream: Text,
    pub(crate) timeout: Option<Text>,
    pub(crate) max_body_bytes: Option<Spanned<u64>>,
    pub(crate) auth: Option<Text>,
    pub(crate) audit: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub(crate) name: Text,
    pub(crate) contract: Text,
    pub(crate) base_path: Option<Text>,
    pub(crate) host: Option<Text>,
    pub(crate) upstream: Option<Text>,
    pub(crate) mock: Option<Spanned<bool>>,
    pub(crate) timeout: Option<Text>,
    pub(crate) max_body_bytes: Option<Spanned<u64>>,
    pub(crate) auth: Option<Text>,
    pub(crate) audit: Option<Spanned<bool>>,
    pub(crate) validation: Option<RawValidation>,
    pub(crate) check: Option<RawCheck>,
}

/// A check: the API's one operation answered by composing calls to other APIs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    pub(crate) steps: Spanned<Vec<RawStep>>,
    pub(crate) decision: Text,
    #[serde(default)]
    pub(crate) refuse: Vec<RawRefusal>,
}

/// When a check gives no decision: `when` (CEL), `as` (`invalid` or `unavailable`), `detail`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRefusal {
    pub(crate) when: Text,
    #[serde(rename = "as")]
    pub(crate) kind: Text,
    pub(crate) detail: Option<Text>,
}

/// A call, or `parallel:` calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub(crate) name: Option<Text>,
    pub(crate) operation: Option<Text>,
    pub(crate) when: Option<Text>,
    #[serde(default)]
    pub(crate) path: std::collections::BTreeMap<String, Text>,
    #[serde(default)]
    pub(crate) query: std::collections::BTreeMap<String, Text>,
    pub(crate) body: Option<Text>,
    pub(crate) parallel: Option<Vec<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawValidation {
    pub(crate) requests: Option<Spanned<bool>>,
    pub(crate) responses: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlan {
    pub(crate) name: Text,
    pub(crate) rate: Text,
    pub(crate) burst: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsumer {
    pub(crate) name: Text,
    #[serde(default)]
    pub(crate) keys: Vec<RawKey>,
    #[serde(default)]
    pub(crate) certificates: Vec<Text>,
    #[serde(default)]
    pub(crate) allow: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    pub(crate) id: Text,
    pub(crate) digest: Option<Text>,
    pub(crate) plaintext: Option<Text>,
    pub(crate) revoked: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubscription {
    pub(crate) consumer: Text,
    pub(crate) group: Text,
    pub(crate) plan: Text,
    pub(crate) operations: Option<Spanned<Vec<Text>>>,
    pub(crate) fields: Option<Spanned<Vec<Text>>>,
    pub(crate) purposes: Option<Spanned<Vec<Text>>>,
    pub(crate) send_to: Option<Spanned<Vec<Text>>>,
    pub(crate) document_types: Option<Spanned<Vec<Text>>>,
}

/// Parses YAML into the raw schema; a syntax or shape error becomes one diagnostic.
pub(crate) fn parse(path: &Path, text: &str) -> Result<RawConfig, ConfigError> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    marked_yaml::from_yaml_with_options(0, text, options).map_err(|e| {
        let (line, column, field, message) = match &e {
            marked_yaml::FromYamlError::ParseYaml(load) => {
                let (line, column) = load_error_position(load);
                (line, column, String::new(), load_error_message(load))
            }
            marked_yaml::FromYamlError::FromNode(node) => {
                let (line, column) = node
                    .start_mark()
                    .map(|m| (m.line(), m.column()))
                    .unwrap_or((0, 0));
                let message = match &**node {
                    marked_yaml::Error::UnknownFieldError(field, expected, _) => format!(
                        "unknown field {field:?}; expected one of: {}",
                        expected.join(", ")
                    ),
                    // marked_yaml's own wording ("invalid digit found in string", "Value was
                    // not a boolean") does not say what the field wants.
                    marked_yaml::Error::NotBoolean(_) => "expected true or false".to_owned(),
                    marked_yaml::Error::IntegerParseFailure(e, _) => match e.kind() {
                        std::num::IntErrorKind::PosOverflow => "the number is too large".to_owned(),
                        _ => "expected a whole number of 0 or more (digits only: no sign, decimal point or unit)".to_owned(),
                    },
                    other => other.to_string(),
                };
                (
                    line,
                    column,
                    node.path().unwrap_or_default().to_owned(),
                    message,
                )
            }
        };
        ConfigError::single(Diagnostic {
            file: path.to_owned(),
            line,
            column,
            field,
            message,
        })
    })
}

fn load_error_position(error: &marked_yaml::LoadError) -> (usize, usize) {
    use marked_yaml::LoadError::*;
    let marker = match error {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(*m),
        DuplicateKey(inner) => inner.key.span().start().copied(),
    };
    marker.map(|m| (m.line(), m.column())).unwrap_or((0, 0))
}

fn load_error_message(error: &marked_yaml::LoadError) -> String {
    use marked_yaml::LoadError::*;
    match error {
        TopLevelMustBeMapping(_) => "the file must be a YAML mapping".into(),
        TopLevelMustBeSequence(_) => "the file must be a YAML sequence".into(),
        UnexpectedAnchor(_) => "YAML anchors and aliases are not supported".into(),
        MappingKeyMustBeScalar(_) => "mapping keys must be plain strings".into(),
        UnexpectedTag(_) => "YAML tags are not supported".into(),
        ScanError(_, e) => format!("invalid YAML: {e}"),
        DuplicateKey(inner) => format!(
            "duplicate key {:?} (first defined on line {})",
            inner.key.as_str(),
            inner.prev_key.span().start().map(|m| m.line()).unwrap_or(0)
        ),
    }
}
