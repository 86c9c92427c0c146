//! The `garrison` binary as a newcomer uses it: `up` on a fresh data directory, the printed
//! commands working, a graceful stop on Ctrl-C, no identifier of the population in its logs or
//! audit store, and `config check` / `key` on the command line.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use garrison_testkit::client::{Protocol, TlsClient, get, json};
use garrison_testkit::pki::IssuedCert;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use garrison_testkit::net::{free_port, wait_admin_ready};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

/// Waits up to 30 s for `garrison up`'s admin listener to report ready.
async fn wait_ready(admin: SocketAddr) -> bool {
    wait_admin_ready(admin, Duration::from_secs(30)).await
}

fn consumer_identity(dir: &Path, name: &str) -> (IssuedCert, String) {
    let read = |file: &str| {
        std::fs::read_to_string(dir.join("demo").join(name).join(file)).expect("demo file")
    };
    (
        IssuedCert {
            cert_pem: read("client.pem"),
            key_pem: read("client.key"),
            cert_der: Vec::new(),
        },
        read("api-key"),
    )
}

#[tokio::test]
async fn garrison_up_serves_the_demo_over_mutual_tls_and_stops_on_ctrl_c() {
    let dir = garrison_testkit::temp_dir("up");
    let (gateway, admin, upstream, citizens) = (
        free_port().await,
        free_port().await,
        free_port().await,
        free_port().await,
    );
    let portal = free_port().await;
    let run = |dir: &Path| {
        Command::new(BIN)
            .args(["up", "--data-dir"])
            .arg(dir)
            .args(["--listen", &gateway.to_string()])
            .args(["--admin", &admin.to_string()])
            .args(["--portal", &portal.to_string()])
            .args(["--upstream", &upstream.to_string()])
            .args(["--citizens", &citizens.to_string()])
            // A small population keeps the debug-build test fast; the default is 100,000.
            .args(["--people", "2000"])
            // Everything it logs (JSON lines on standard output, after the banner), to look
            // for personal data in it afterwards.
            .env("GARRISON_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn garrison up")
    };
    let mut child = run(&dir);
    assert!(wait_ready(admin).await, "garrison up became ready");

    let ca = std::fs::read_to_string(dir.join("pki/ca.pem")).expect("ca");
    let (cert, key) = consumer_identity(&dir, "dvla-licensing");
    let config = std::fs::read_to_string(dir.join("garrison.yaml")).expect("config");
    assert!(
        !config.contains(&key),
        "the configuration holds only the digest"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("demo/dvla-licensing/api-key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key file is private to its owner");
    }
    demo_library_is_seeded(&dir, admin).await;
    let client = TlsClient::new(&ca, Some(&cert), Protocol::Http1);
    let response = client
        .send(gateway, get("/demo/v1/echo", Some(&key)))
        .await
        .expect("demo call");
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response)["consumer"], "dvla-licensing");
    assert_eq!(json(&response)["apiKeyForwarded"], false);

    // A check over mutual TLS, by the organisation entitled to it, about a person of the
    // synthetic population: the free school meals check for a parent on Pension Credit.
    let (dfe_cert, dfe_key) = consumer_identity(&dir, "dfe-free-school-meals");
    let dfe = TlsClient::new(&ca, Some(&dfe_cert), Protocol::Http1);
    let body = std::fs::read(dir.join("demo/requests/free-school-meals.json")).expect("example");
    let mut request = garrison_testkit::client::request(
        "POST",
        "/checks/v1/free-school-meals",
        Some(&dfe_key),
        body.into(),
    );
    let headers = std::fs::read_to_string(dir.join("demo/requests/dfe-free-school-meals.headers"))
        .expect("headers");
    for line in headers.lines() {
        let (name, value) = line.split_once(": ").expect("name: value");
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    let answer = dfe.send(gateway, request).await.expect("check");
    assert_eq!(answer.status(), 200, "{:?}", answer.body());
    assert_eq!(json(&answer), serde_json::json!({"status": "eligible"}));

    // Every check, by the organisation entitled to it: for a person of the population who
    // should pass, and for someone who does not exist.
    let example = |name: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(dir.join("demo/requests").join(name)).expect("example"),
        )
        .expect("JSON")
    };
    let nobody = serde_json::json!({"nino": "AB123456C", "lastName": "Nobody",
        "dateOfBirth": "1901-01-01", "firstName": "No", "postcode": "ZZ9 9ZZ",
        "date": "2026-10-15", "fromMonth": "2025-11", "toMonth": "2026-10"});
    let pick = |from: &serde_json::Value, keys: &[&str]| -> serde_json::Value {
        keys.iter()
            .map(|k| ((*k).to_owned(), from[*k].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let cases = [
        (
            "nhs-prescriptions",
            "prescription-exemption",
            example("prescription-exemption.json"),
            serde_json::json!({"exempt": true, "basis": "pensions_credit", "patientFound": true}),
            pick(&nobody, &["nino", "lastName", "dateOfBirth", "date"]),
            serde_json::json!({"exempt": false, "basis": null, "patientFound": false}),
        ),
        (
            "dvla-licensing",
            "identity",
            example("identity.json"),
            serde_json::json!({"result": "fullMatch"}),
            pick(
                &nobody,
                &["nino", "lastName", "dateOfBirth", "firstName", "postcode"],
            ),
            serde_json::json!({"result": "noMatch"}),
        ),
        (
            "dfe-free-school-meals",
            "passport-benefits",
            example("passport-benefits.json"),
            serde_json::json!({"personFound": true, "benefits": ["pensions_credit"]}),
            pick(&nobody, &["nino", "lastName", "dateOfBirth", "date"]),
            serde_json::json!({"personFound": false, "benefits": []}),
        ),
        (
            "contact-centre",
            "caller-identification",
            example("caller-identification.json"),
            serde_json::json!({"verified": true, "confidence": "high"}),
            pick(
                &nobody,
                &["lastName", "dateOfBirth", "firstName", "postcode"],
            ),
            serde_json::json!({"verified": false, "confidence": "none"}),
        ),
        (
            "contact-centre",
            "income-band",
            example("income-band.json"),
            serde_json::Value::Null,
            pick(
                &nobody,
                &["nino", "lastName", "dateOfBirth", "fromMonth", "toMonth"],
            ),
            serde_json::json!({"band": "personNotFound"}),
        ),
    ];
    for (consumer, check, pass, passed, fail, failed) in cases {
        let (cert, key) = consumer_identity(&dir, consumer);
        let client = TlsClient::new(&ca, Some(&cert), Protocol::Http1);
        let headers =
            std::fs::read_to_string(dir.join(format!("demo/requests/{consumer}.headers")))
                .expect("headers");
        for (body, expected) in [(pass, passed), (fail, failed)] {
            let mut request = garrison_testkit::client::request(
                "POST",
                &format!("/checks/v1/{check}"),
                Some(&key),
                body.to_string().into(),
            );
            for line in headers.lines() {
                let (name, value) = line.split_once(": ").expect("name: value");
                request.headers_mut().insert(
                    http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    value.parse().expect("value"),
                );
            }
            let answer = client.send(gateway, request).await.expect("check");
            assert_eq!(answer.status(), 200, "{check}: {:?}", answer.body());
            let answer = json(&answer);
            if expected.is_null() {
                // The income band of an earner: any band but the not-found ones.
                assert!(
                    ["under5000", "5000to15000", "15000to30000", "over30000"]
                        .contains(&answer["band"].as_str().unwrap_or_default()),
                    "{check}: {answer}"
                );
            } else {
                assert_eq!(answer, expected, "{check}");
            }
        }
    }

    // The granular APIs through the gateway: the contact centre matches a person and reads
    // the details it is entitled to (never the NI number); the match id is useless to another
    // organisation; a call without a purpose is refused.
    let identity = example("identity.json");
    let match_body = serde_json::json!({"data": {"type": "Match", "attributes": {
        "lastName": identity["lastName"], "dateOfBirth": identity["dateOfBirth"],
        "firstName": identity["firstName"]}}});
    let granular = |consumer: &'static str,
                    method: &'static str,
                    path: String,
                    body: Option<serde_json::Value>,
                    purpose: bool| {
        let dir = dir.clone();
        let ca = ca.clone();
        async move {
            let (cert, key) = consumer_identity(&dir, consumer);
            let client = TlsClient::new(&ca, Some(&cert), Protocol::Http1);
            let mut request = garrison_testkit::client::request(
                method,
                &path,
                Some(&key),
                body.map(|b| b.to_string()).unwrap_or_default().into(),
            );
            let headers =
                std::fs::read_to_string(dir.join(format!("demo/requests/{consumer}.headers")))
                    .expect("headers");
            for line in headers
                .lines()
                .filter(|l| purpose || !l.starts_with("context:"))
            {
                let (name, value) = line.split_once(": ").expect("name: value");
                request.headers_mut().insert(
                    http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    value.parse().expect("value"),
                );
            }
            client.send(gateway, request).await.expect("call")
        }
    };
    let matched = granular(
        "contact-centre",
        "POST",
        "/capi/v2/citizens/match".into(),
        Some(match_body.clone()),
        true,
    )
    .await;
    assert_eq!(matched.status(), 200, "{:?}", matched.body());
    let id = json(&matched)["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let details = granular(
        "contact-centre",
        "GET",
        format!("/capi/v2/citizens/{id}"),
        None,
        true,
    )
    .await;
    assert_eq!(details.status(), 200);
    let attributes = json(&details)["data"]["attributes"].clone();
    assert_eq!(attributes["lastName"], identity["lastName"]);
    assert!(
        attributes.get("nino").is_none(),
        "the NI number is removed: {attributes}"
    );
    let text = String::from_utf8_lossy(details.body()).into_owned();
    assert!(
        !text.contains(identity["nino"].as_str().expect("nino")),
        "{text}"
    );
    let stolen = granular(
        "medical-assessor",
        "GET",
        format!("/capi/v2/citizens/{id}"),
        None,
        true,
    )
    .await;
    assert_eq!(
        stolen.status(),
        404,
        "another organisation's match id is unknown to it"
    );
    let no_purpose = granular(
        "contact-centre",
        "POST",
        "/capi/v2/citizens/match".into(),
        Some(match_body),
        false,
    )
    .await;
    assert_eq!(no_purpose.status(), 400, "{:?}", no_purpose.body());
    let income = granular(
        "contact-centre",
        "GET",
        format!("/capi/v2/citizens/{id}/income?fromMonth=2026-01&toMonth=2026-03"),
        None,
        true,
    )
    .await;
    assert_eq!(
        income.status(),
        403,
        "the contact centre may not read income"
    );

    // Ctrl-C: a graceful, successful exit.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        out.read_to_string(&mut stdout).expect("stdout");
    }
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "exit status {exit:?}");
    assert!(stdout.contains("Garrison is up."), "{stdout}");
    assert!(stdout.contains("curl --cacert"), "{stdout}");
    no_identifier_in_logs_or_audit(&dir, &stdout);

    // A second run reuses the directory: the same key still works.
    let mut child = run(&dir);
    assert!(wait_ready(admin).await, "garrison up became ready again");
    let response = client
        .send(gateway, get("/demo/v1/echo", Some(&key)))
        .await
        .expect("demo call");
    assert_eq!(response.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn config_check_reports_every_problem_with_file_line_and_field() {
    let dir = garrison_testkit::temp_dir("check");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "listeners:\n  - name: public\n    address: 127.0.0.1:0\nupstreams:\n  - name: a\n    targets: [127.0.0.1:9]\nroutes:\n  - name: r\n    path: /x\n    upstream: b\nplans:\n  - name: p\n    rate: 0/s\n",
    )
    .expect("write");
    let output = Command::new(BIN)
        .args(["config", "check"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yaml:10:15: routes[0].upstream: no upstream is named \"b\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.yaml:13:11: plans[0].rate:"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problems found"), "{stderr}");

    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "listeners:\n  - name: public\n    address: 127.0.0.1:0\n",
    )
    .expect("write");
    let output = Command::new(BIN)
        .args(["config", "check"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("ok"));
}

#[test]
fn key_generate_and_digest_agree() {
    let output = Command::new(BIN)
        .args(["key", "generate", "--test"])
        .output()
        .expect("run");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("key:    "))
        .expect("key line");
    let digest = text
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .expect("digest line");
    assert!(key.starts_with("grn_test_"));
    assert!(garrison_core::api_key::check_format(key).is_ok());
    let mut child = Command::new(BIN)
        .args(["key", "digest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{key}\n").as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), digest);
}

/// Every NI number, postcode and full name of the population, looked for in the debug log (and
/// banner) and in every file of the audit store, after the checks above asked about several of
/// those people.
fn no_identifier_in_logs_or_audit(dir: &Path, log: &str) {
    let store = garrison_citizen::Store::open(&dir.join("population.db")).expect("population");
    let mut identifiers = Vec::new();
    for id in 0..=2_100 {
        let Some(person) = store.person(id).expect("person") else {
            continue;
        };
        identifiers.push(person.nino.to_string());
        identifiers.push(format!("{} {}", person.first_name, person.last_name));
        if let Some(address) = store.current_address(id).expect("address") {
            identifiers.push(address.postcode.as_str().to_owned());
        }
    }
    assert!(identifiers.len() > 5_000, "the population was read");
    let mut texts = vec![(Path::new("<standard output>").to_owned(), log.to_owned())];
    let audit = dir.join("audit");
    let mut audit_files = 0;
    for entry in std::fs::read_dir(&audit).expect("audit dir") {
        let path = entry.expect("entry").path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("audit file")).into_owned();
        audit_files += 1;
        texts.push((path, text));
    }
    assert!(audit_files >= 2, "a segment and keys");
    assert!(
        texts[0].1.contains("\"message\":\"gateway started\""),
        "the log was read"
    );
    for (path, text) in &texts {
        if let Some(found) = identifiers.iter().find(|i| text.contains(i.as_str())) {
            panic!("{} holds {found}", path.display());
        }
    }
}

/// One JSON request to the admin listener; the status and the body.
async fn admin_call(
    admin: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(admin).await.expect("admin");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: admin\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    let status = out.get(9..12).and_then(|s| s.parse().ok()).expect("status");
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or_default())
}

/// A new `garrison up` puts the configuration's APIs in the portal's catalogue, and its demo
/// sign-ins (in a private file) work.
async fn demo_library_is_seeded(dir: &Path, admin: SocketAddr) {
    let file = dir.join("demo/portal-users");
    let text = std::fs::read_to_string(&file).expect("demo sign-ins");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the sign-ins are private to their owner");
    }
    let token = std::fs::read_to_string(dir.join("demo/admin-token")).expect("admin token");
    let (status, catalogue) =
        admin_call(admin, "GET", "/admin/v1/apis", Some(token.trim()), "").await;
    assert_eq!(status, 200, "{catalogue}");
    let slugs: Vec<&str> = catalogue["apis"]
        .as_array()
        .expect("apis")
        .iter()
        .filter_map(|a| a["slug"].as_str())
        .collect();
    for api in ["citizen-match", "citizen-details", "free-school-meals"] {
        assert!(slugs.contains(&api), "{api} in {slugs:?}");
    }
    let developer = text
        .lines()
        .find(|l| l.starts_with("developer@dvla.example "))
        .expect("the developer's sign-in");
    let (email, password) = developer.split_once(' ').expect("email password");
    let body = serde_json::json!({"email": email, "password": password}).to_string();
    let (status, session) = admin_call(admin, "POST", "/admin/v1/sessions", None, &body).await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["user"]["role"], "consumer_developer");
}
