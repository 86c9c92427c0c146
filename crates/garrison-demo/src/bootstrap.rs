//! Creating the demo data directory.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use garrison_core::{ApiKey, Environment};
use garrison_pki::{CertificateAuthority, IssuedCert};

const CA_NAME: &str = "Garrison development CA";

/// The purpose headers the citizen match contract requires (curl `-H @file` format).
const PURPOSE_HEADERS: &str = "context: DVLA-LICENSING
policy-id: driving-licence-application
correlation-id: 7c9e6679-7425-40de-944b-e07fc1f90ae7
instigating-user-id: user-4821
access-level: 1
content-type: application/json
";

/// A match request that conforms to the contract.
const MATCH: &str = r#"{"data": {"type": "Match", "attributes": {"lastName": "Smith", "firstName": "Jo", "dateOfBirth": "1980-04-23", "postcode": "ZZ99 1ZZ"}}}
"#;

/// A match request that breaks it three ways: no last name, a date of birth that is not a
/// date, and a field the contract does not allow.
const MATCH_INVALID: &str = r#"{"data": {"type": "Match", "attributes": {"dateOfBirth": "23/04/1980", "nino": "QQ123456C"}}}
"#;

/// A demo consumer, modelled on the real consumers of citizen data: its plan, the purpose it
/// states (`context`), and what it is subscribed to — each subscription a group and any
/// entitlement lines (operations, fields) beyond the purpose.
struct Organisation {
    name: &'static str,
    plan: &'static str,
    purpose: &'static str,
    subscriptions: &'static [(&'static str, &'static str)],
}

/// Personal details a contact centre may read: not the National Insurance number.
const CONTACT_CENTRE_FIELDS: &str = "    fields: [data.id, data.type, data.attributes.firstName, data.attributes.lastName, data.attributes.dateOfBirth]\n";

const CONSUMERS: [Organisation; 6] = [
    Organisation {
        name: "dvla-licensing",
        plan: "standard",
        purpose: "DVLA-LICENSING",
        subscriptions: &[
            ("demo", ""),
            ("citizen-match-sandbox", ""),
            ("identity", ""),
        ],
    },
    Organisation {
        name: "nhs-prescriptions",
        plan: "gold",
        purpose: "NHSBSA-EXEMPTION",
        subscriptions: &[
            ("demo", ""),
            ("citizen-match-sandbox", ""),
            ("prescription-exemption", ""),
        ],
    },
    Organisation {
        name: "dfe-free-school-meals",
        plan: "gold",
        purpose: "DFE-FSM",
        subscriptions: &[("free-school-meals", ""), ("passport-benefits", "")],
    },
    Organisation {
        name: "contact-centre",
        plan: "standard",
        purpose: "CONTACT-CENTRE-VERIFY",
        subscriptions: &[
            ("citizen-match", ""),
            ("citizen-details", CONTACT_CENTRE_FIELDS),
            ("citizen-address", ""),
            ("income-band", ""),
            ("caller-identification", ""),
        ],
    },
    Organisation {
        name: "medical-assessor",
        plan: "standard",
        purpose: "PIP-ASSESSMENT",
        subscriptions: &[
            ("citizen-match", ""),
            ("citizen-details", ""),
            ("citizen-address", ""),
            ("citizen-claims", ""),
            // Secure file transfer: it sends its assessment reports to DWP's PIP inbox.
            (
                "evidence",
                "    send_to: [pip-decisions]\n    document_types: [medical-assessment]\n",
            ),
        ],
    },
    Organisation {
        name: "dwp-pip-decisions",
        plan: "standard",
        purpose: "PIP-DECISION",
        // Reads the `pip-decisions` inbox of the transfer service (it owns it).
        subscriptions: &[("evidence", "")],
    },
];

/// The secure file transfer service: tus uploads, encrypted at rest, delivered to inboxes.
const TRANSFERS: &str =
    "# Secure file transfer (docs/transfer.md): senders upload with any tus 1.0.0 client; files
# are encrypted at rest under per-file keys wrapped by demo/transfer-master-keys, and wait in
# the recipient's inbox until it downloads and acknowledges them.
transfers:
  - name: evidence
    base_path: /files/v1
    store: transfers
    master_keys: demo/transfer-master-keys
    document_types: [medical-assessment, supporting-evidence]
    max_size: 1073741824
    upload_expiry: 24h
    retention: 30d
    delete_acknowledged_after: 1h
    audit: true
    inboxes:
      - name: pip-decisions
        owner: dwp-pip-decisions
";

/// A synthetic document for the transfer demo (no real person).
const ASSESSMENT: &str = "PIP assessment report (synthetic demo document)
Claimant: Jane Example, date of birth 1980-04-23, NI number QQ123456C (not a real number)
Assessment date: 2026-11-02
Daily living: preparing food 2 points, managing treatments 1 point
Mobility: planning and following journeys 4 points
";

/// Headers of a tus creation-with-upload by the medical assessor: its purpose, the protocol
/// version, the inbox and document type (base64 in `Upload-Metadata`) and the tus body type.
const TRANSFER_HEADERS: &str = "context: PIP-ASSESSMENT
tus-resumable: 1.0.0
upload-metadata: recipient cGlwLWRlY2lzaW9ucw==,document_type bWVkaWNhbC1hc3Nlc3NtZW50,filename YXNzZXNzbWVudC50eHQ=
content-type: application/offset+octet-stream
";

/// The citizen APIs and checks, under `apis:` (see the file's comments).
const CITIZEN_APIS: &str = include_str!("citizens.yaml");

/// Every contract the demo serves, by its path under `contracts/`.
const CONTRACTS: [(&str, &str); 13] = [
    (
        "citizen-match.yaml",
        include_str!("../../../contracts/citizen-match.yaml"),
    ),
    (
        "citizen-details.yaml",
        include_str!("../../../contracts/citizen-details.yaml"),
    ),
    (
        "citizen-address.yaml",
        include_str!("../../../contracts/citizen-address.yaml"),
    ),
    (
        "citizen-claims.yaml",
        include_str!("../../../contracts/citizen-claims.yaml"),
    ),
    (
        "citizen-income.yaml",
        include_str!("../../../contracts/citizen-income.yaml"),
    ),
    (
        "check-free-school-meals.yaml",
        include_str!("../../../contracts/check-free-school-meals.yaml"),
    ),
    (
        "check-prescription-exemption.yaml",
        include_str!("../../../contracts/check-prescription-exemption.yaml"),
    ),
    (
        "check-identity.yaml",
        include_str!("../../../contracts/check-identity.yaml"),
    ),
    (
        "check-passport-benefits.yaml",
        include_str!("../../../contracts/check-passport-benefits.yaml"),
    ),
    (
        "check-income-band.yaml",
        include_str!("../../../contracts/check-income-band.yaml"),
    ),
    (
        "check-caller-identification.yaml",
        include_str!("../../../contracts/check-caller-identification.yaml"),
    ),
    (
        "shared/citizen.yaml",
        include_str!("../../../contracts/shared/citizen.yaml"),
    ),
    (
        "garrison-admin.yaml",
        include_str!("../../../contracts/garrison-admin.yaml"),
    ),
];

/// Why the data directory could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error("certificates: {0}")]
    Pki(#[from] garrison_pki::PkiError),
    /// The operating system's random number generator failed.
    #[error("random number generator: {0}")]
    Random(String),
}

/// One demo consumer's files.
#[derive(Debug, Clone)]
pub struct DemoConsumer {
    /// Consumer name.
    pub name: String,
    /// File holding its API key.
    pub key_file: PathBuf,
    /// Its client certificate.
    pub cert_file: PathBuf,
    /// Its client key.
    pub cert_key_file: PathBuf,
    /// The purpose it states in the `context` header.
    pub purpose: String,
}

/// The prepared data directory.
#[derive(Debug, Clone)]
pub struct DemoState {
    /// The configuration `garrison up` serves.
    pub config_file: PathBuf,
    /// The development CA certificate (trust it to call the gateway).
    pub ca_file: PathBuf,
    /// The admin bearer token file.
    pub admin_token_file: PathBuf,
    /// Demo consumers.
    pub consumers: Vec<DemoConsumer>,
    /// Whether this run created the directory (keys were just issued).
    pub created: bool,
    /// Example requests for the citizen match sandbox: `purpose.headers`, `match.json`,
    /// `match-invalid.json`; and `<consumer>.headers`, each consumer's purpose headers.
    pub requests_dir: PathBuf,
    /// The synthetic population the citizen APIs answer from.
    pub population_file: PathBuf,
    /// The key the audit trail hashes data subjects under (`garrison audit search --subject`).
    pub subject_keys_file: PathBuf,
}

/// Creates the data directory under `dir` unless it already exists, and describes it.
///
/// `gateway` and `admin` are the addresses written into a new configuration; `upstream` is
/// where the demo upstream listens.
pub fn prepare(
    dir: &Path,
    gateway: &str,
    admin: &str,
    upstream: &str,
    citizens: &str,
) -> Result<DemoState, DemoError> {
    let config_file = dir.join("garrison.yaml");
    let demo = dir.join("demo");
    let state = DemoState {
        config_file: config_file.clone(),
        ca_file: dir.join("pki").join("ca.pem"),
        admin_token_file: demo.join("admin-token"),
        consumers: CONSUMERS
            .iter()
            .map(|org| DemoConsumer {
                name: org.name.to_owned(),
                purpose: org.purpose.to_owned(),
                key_file: demo.join(org.name).join("api-key"),
                cert_file: demo.join(org.name).join("client.pem"),
                cert_key_file: demo.join(org.name).join("client.key"),
            })
            .collect(),
        created: !config_file.exists(),
        requests_dir: demo.join("requests"),
        population_file: dir.join("population.db"),
        subject_keys_file: demo.join("subject-keys"),
    };
    if !state.created {
        return Ok(state);
    }

    let pki = dir.join("pki");
    let ca = CertificateAuthority::generate(CA_NAME)?;
    write(&pki.join("ca.pem"), &ca.cert().cert_pem, false)?;
    write(&pki.join("ca.key"), &ca.cert().key_pem, true)?;
    let server = ca.issue_server(&["localhost", "127.0.0.1", "::1"])?;
    write(&pki.join("server.pem"), &server.cert_pem, false)?;
    write(&pki.join("server.key"), &server.key_pem, true)?;

    let mut consumers_yaml = String::new();
    let mut subscriptions_yaml = String::new();
    for (org, files) in CONSUMERS.iter().zip(&state.consumers) {
        let (name, plan) = (org.name, org.plan);
        let key =
            ApiKey::generate(Environment::Test).map_err(|e| DemoError::Random(e.to_string()))?;
        let cert: IssuedCert = ca.issue_client(name)?;
        write(&files.key_file, key.expose(), true)?;
        write(&files.cert_file, &cert.cert_pem, false)?;
        write(&files.cert_key_file, &cert.key_pem, true)?;
        consumers_yaml.push_str(&format!(
            "  - name: {name}\n    keys:\n      - id: {name}-1\n        digest: \"{}\"\n    certificates:\n      - \"{}\"\n    allow: [127.0.0.0/8, \"::1/128\"]\n",
            key.digest(),
            cert.fingerprint_hex()
        ));
        for (group, entitlement) in org.subscriptions {
            subscriptions_yaml.push_str(&format!(
                "  - consumer: {name}\n    group: {group}\n    plan: {plan}\n{entitlement}"
            ));
            // The demo echo and the sandbox are not personal data: no purpose needed there.
            if !matches!(*group, "demo" | "citizen-match-sandbox") {
                subscriptions_yaml.push_str(&format!("    purposes: [{}]\n", org.purpose));
            }
        }
    }
    for (name, text) in CONTRACTS {
        write(&dir.join("contracts").join(name), text, false)?;
    }
    write(
        &state.requests_dir.join("purpose.headers"),
        PURPOSE_HEADERS,
        false,
    )?;
    write(&state.requests_dir.join("match.json"), MATCH, false)?;
    write(
        &state.requests_dir.join("assessment.txt"),
        ASSESSMENT,
        false,
    )?;
    write(
        &state.requests_dir.join("transfer.headers"),
        TRANSFER_HEADERS,
        false,
    )?;
    let master = garrison_transfer::MasterKeys::generate_line("demo-1")
        .map_err(|e| DemoError::Random(e.to_string()))?;
    write(
        &demo.join("transfer-master-keys"),
        &format!("# garrison transfer master keys: the first wraps new files' keys\n{master}"),
        true,
    )?;
    write(
        &state.requests_dir.join("match-invalid.json"),
        MATCH_INVALID,
        false,
    )?;
    for org in &CONSUMERS {
        let headers = format!(
            "context: {}\npolicy-id: {}-demo\ncorrelation-id: 7c9e6679-7425-40de-944b-e07fc1f90ae7\ninstigating-user-id: user-4821\naccess-level: 1\ncontent-type: application/json\n",
            org.purpose,
            org.purpose.to_ascii_lowercase()
        );
        write(
            &state.requests_dir.join(format!("{}.headers", org.name)),
            &headers,
            false,
        )?;
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| DemoError::Random(e.to_string()))?;
    let hex = garrison_core::hex::encode(&secret);
    write(
        &state.subject_keys_file,
        &format!("# garrison audit subject keys: the first hashes new records\ndemo-1 {hex}\n"),
        true,
    )?;
    let admin_token =
        ApiKey::generate(Environment::Live).map_err(|e| DemoError::Random(e.to_string()))?;
    write(&state.admin_token_file, admin_token.expose(), true)?;

    let config = format!(
        "# Written by `garrison up`. API keys appear here only as SHA-256 digests; the keys
# themselves are in demo/<consumer>/api-key. Edit freely: the gateway reloads on save.
admin:
  listen: {admin}
  token_digest: \"{admin_digest}\"

gateway:
  allow: [127.0.0.0/8, \"::1/128\"]
  access_log: true

listeners:
  - name: public
    address: {gateway}
    tls:
      certificate: pki/server.pem
      key: pki/server.key
      client_certificates: required
      client_ca: pki/ca.pem

upstreams:
  - name: demo
    targets: [{upstream}]
    connect_timeout: 1s
    request_timeout: 10s
  # The granular citizen APIs over the synthetic population (population.db).
  - name: citizens
    targets: [{citizens}]
    connect_timeout: 1s
    request_timeout: 5s

routes:
  - name: demo-echo
    group: demo
    methods: [GET, POST]
    path: /demo/v1/echo
    upstream: demo
    max_body_bytes: 65536
  - name: demo-status
    group: public
    methods: [GET]
    path: /demo/v1/status
    upstream: demo
    auth: public

# An API declared by its contract: every operation becomes a route, and requests are checked
# against the contract before anything answers them. This one is a sandbox: `mock: true`
# answers from the contract's examples (Prefer: code=422 or example=minimal picks one).
apis:
  - name: citizen-match-sandbox
    contract: contracts/citizen-match.yaml
    base_path: /sandbox
    mock: true
{CITIZEN_APIS}
# The control plane: organisations, applications, keys, certificates and subscriptions,
# managed through the admin REST API (http://{admin}/admin/v1/, `garrison admin`,
# docs/portal.md) and compiled into the gateway without a restart. The admin token above is a
# platform admin.
control_plane:
  store: control-plane.db
  # Consumer developers sign themselves up on the portal (http://…/sign-up), each into a new
  # organisation of their own; production access still needs an API owner's approval.
  self_sign_up: true

{TRANSFERS}
# Every access to personal data is recorded: who, why, what was disclosed, and a keyed hash of
# the person (`garrison audit search --dir audit`, `garrison audit report --subject …`).
audit:
  dir: audit
  subject_keys: demo/subject-keys

plans:
  - name: standard
    rate: 3/s
    burst: 6
  - name: gold
    rate: 100/s
    burst: 200

consumers:
{consumers_yaml}
subscriptions:
{subscriptions_yaml}",
        admin_digest = admin_token.digest(),
    );
    // The configuration is written last: its presence marks a complete directory.
    write(&config_file, &config, false)?;
    Ok(state)
}

/// Writes `contents` to `path`, creating parent directories; secrets are readable by the
/// owner only.
fn write(path: &Path, contents: &str, secret: bool) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)
}

/// A client certificate for the web portal's try-it console, issued now by the demo CA (read
/// from `pki/ca.pem` and `pki/ca.key` of the data directory) and kept in memory only: the
/// certificate and its private key, PEM. The console presents it to the gateway when it
/// relays a call to a sandbox API with a user's sandbox key.
pub fn console_certificate(state: &DemoState) -> Result<(String, String), DemoError> {
    let pki = state.ca_file.parent().unwrap_or(Path::new("."));
    let read = |name: &str| {
        let path = pki.join(name);
        fs::read_to_string(&path).map_err(|source| DemoError::Io { path, source })
    };
    let ca = CertificateAuthority::from_pem(CA_NAME, &read("ca.pem")?, &read("ca.key")?)?;
    let cert = ca.issue_client("garrison-portal-console")?;
    Ok((cert.cert_pem, cert.key_pem))
}
