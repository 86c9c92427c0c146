//! The control plane end to end, as an operator and two organisations would use it: `garrison
//! up` on a fresh directory, then `garrison admin …` against its admin listener — an
//! organisation, a consumer developer who creates an application (its sandbox key printed
//! once), an API owner who publishes a version of the demo API and approves the subscription —
//! and the sandbox key admitted by the running gateway over mutual TLS, with no restart.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use garrison_testkit::client::{Protocol, TlsClient, get, json};
use garrison_testkit::pki::IssuedCert;
use http::HeaderValue;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use garrison_testkit::net::{free_port, wait_admin_ready};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

/// Runs `garrison admin <args>` against `admin` with the token in `token_file`.
fn garrison_admin(
    admin: SocketAddr,
    token_file: &Path,
    args: &[&str],
    password: Option<&str>,
) -> Output {
    let mut command = Command::new(BIN);
    command
        .arg("admin")
        .args(["--url", &format!("http://{admin}")])
        .arg("--token-file")
        .arg(token_file)
        .args(args)
        .stdin(Stdio::null());
    if let Some(password) = password {
        command.env("GARRISON_PASSWORD", password);
    }
    command.output().expect("run garrison admin")
}

/// The `garrison up` process, killed when the test ends however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn http_exchange(addr: SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("portal");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out).await;
    out
}

async fn http_get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> String {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    http_exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"),
    )
    .await
}

async fn http_post_form(addr: SocketAddr, path: &str, form: &str) -> String {
    http_exchange(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await
}

#[track_caller]
fn answer(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "garrison admin failed ({:?}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test]
async fn an_application_created_with_garrison_admin_calls_the_running_gateway() {
    let dir = garrison_testkit::temp_dir("admin-cli");
    let (gateway, admin, upstream, citizens) = (
        free_port().await,
        free_port().await,
        free_port().await,
        free_port().await,
    );
    let portal = free_port().await;
    let _up = Running(
        Command::new(BIN)
            .args(["up", "--data-dir"])
            .arg(&dir)
            .args(["--listen", &gateway.to_string()])
            .args(["--admin", &admin.to_string()])
            .args(["--portal", &portal.to_string()])
            .args(["--upstream", &upstream.to_string()])
            .args(["--citizens", &citizens.to_string()])
            .args(["--people", "200"])
            // This journey builds its own library through the CLI.
            .arg("--no-demo-library")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn garrison up"),
    );
    assert!(
        wait_admin_ready(admin, Duration::from_secs(30)).await,
        "garrison up became ready"
    );
    assert!(
        dir.join("control-plane.db").exists(),
        "the embedded store is created"
    );

    let root = dir.join("demo/admin-token");
    const PASSWORD: &str = "a long enough password";
    let dvla = answer(&garrison_admin(
        admin,
        &root,
        &["create-organisation", "--slug", "dvla", "--name", "DVLA"],
        None,
    ));
    let dwp = answer(&garrison_admin(
        admin,
        &root,
        &["create-organisation", "--slug", "dwp", "--name", "DWP"],
        None,
    ));
    let dvla_id = dvla["id"].to_string();
    let dwp_id = dwp["id"].to_string();
    answer(&garrison_admin(
        admin,
        &root,
        &[
            "create-user",
            "--email",
            "dev@dvla.example",
            "--name",
            "Dev",
            "--role",
            "consumer_developer",
            "--organisation",
            &dvla_id,
        ],
        Some(PASSWORD),
    ));
    answer(&garrison_admin(
        admin,
        &root,
        &[
            "create-user",
            "--email",
            "owner@dwp.example",
            "--name",
            "Owner",
            "--role",
            "api_owner",
            "--organisation",
            &dwp_id,
        ],
        Some(PASSWORD),
    ));
    let plan = answer(&garrison_admin(
        admin,
        &root,
        &[
            "create-plan",
            "--name",
            "bronze",
            "--requests",
            "10",
            "--burst",
            "10",
        ],
        None,
    ));

    // Each person signs in; the CLI prints the session token.
    let sign_in = |email: &str, file: &str| {
        let session = answer(&garrison_admin(
            admin,
            &root,
            &["sign-in", "--email", email],
            Some(PASSWORD),
        ));
        let path = dir.join(file);
        std::fs::write(&path, session["token"].as_str().expect("token")).expect("token file");
        path
    };
    let developer = sign_in("dev@dvla.example", "dev-token");
    let owner = sign_in("owner@dwp.example", "owner-token");
    let wrong = garrison_admin(
        admin,
        &root,
        &["sign-in", "--email", "dev@dvla.example"],
        Some("not the password"),
    );
    assert!(!wrong.status.success(), "a wrong password is refused");

    let app = answer(&garrison_admin(
        admin,
        &developer,
        &[
            "create-application",
            "--slug",
            "licensing",
            "--name",
            "Licensing",
        ],
        None,
    ));
    let sandbox_key = app["sandboxKey"]["key"].as_str().expect("key").to_owned();
    let app_id = app["application"]["id"].to_string();
    let api = answer(&garrison_admin(
        admin,
        &owner,
        &["create-api", "--slug", "demo", "--title", "Demo echo"],
        None,
    ));
    let version = answer(&garrison_admin(
        admin,
        &owner,
        &[
            "add-version",
            "--api",
            &api["id"].to_string(),
            "--version",
            "v1",
            "--group",
            "demo",
            "--status",
            "stable",
        ],
        None,
    ));
    let subscription = answer(&garrison_admin(
        admin,
        &developer,
        &[
            "subscribe",
            "--app",
            &app_id,
            "--version",
            &version["id"].to_string(),
            "--plan",
            &plan["id"].to_string(),
            "--purpose",
            "DVLA-LICENSING",
        ],
        None,
    ));
    let id = subscription["id"].to_string();
    let self_approval = garrison_admin(admin, &developer, &["approve", &id], None);
    assert!(!self_approval.status.success(), "a consumer cannot approve");
    assert!(String::from_utf8_lossy(&self_approval.stdout).contains("RESOURCE_FORBIDDEN"));
    answer(&garrison_admin(
        admin,
        &owner,
        &["approve", &id, "--reason", "Checked."],
        None,
    ));

    // Over mutual TLS (any certificate of the demo CA: the application is not bound to one).
    let ca = std::fs::read_to_string(dir.join("pki/ca.pem")).expect("ca");
    let read = |file: &str| {
        std::fs::read_to_string(dir.join("demo/dvla-licensing").join(file)).expect("demo file")
    };
    let cert = IssuedCert {
        cert_pem: read("client.pem"),
        key_pem: read("client.key"),
        cert_der: Vec::new(),
    };
    let client = TlsClient::new(&ca, Some(&cert), Protocol::Http1);
    let echo = |key: &str| {
        let mut request = get("/demo/v1/echo", Some(key));
        request
            .headers_mut()
            .insert("context", HeaderValue::from_static("DVLA-LICENSING"));
        request
    };

    // The sandbox key calls the sandbox (the mocked citizen match) at once, with no
    // subscription asked for...
    let mut sandbox_call = garrison_testkit::client::request(
        "POST",
        "/sandbox/capi/v2/citizens/match",
        Some(&sandbox_key),
        bytes::Bytes::from(std::fs::read(dir.join("demo/requests/match.json")).expect("example")),
    );
    let purpose =
        std::fs::read_to_string(dir.join("demo/requests/purpose.headers")).expect("headers");
    for line in purpose.lines() {
        if let Some((name, value)) = line.split_once(':') {
            sandbox_call.headers_mut().insert(
                http::HeaderName::from_bytes(name.trim().as_bytes()).expect("name"),
                HeaderValue::from_str(value.trim()).expect("value"),
            );
        }
    }
    let matched = client
        .send(gateway, sandbox_call)
        .await
        .expect("sandbox call");
    assert_eq!(matched.status(), 200, "{:?}", matched.body());
    // ...and nothing else, even subscribed: the demo API needs a production key.
    let refused = client
        .send(gateway, echo(&sandbox_key))
        .await
        .expect("call");
    assert_eq!(refused.status(), 403, "{:?}", refused.body());
    let live = answer(&garrison_admin(
        admin,
        &developer,
        &[
            "create-key",
            "--app",
            &app_id,
            "--environment",
            "production",
        ],
        None,
    ));
    let live_key = live["key"].as_str().expect("key").to_owned();
    let mut last = None;
    for _ in 0..100 {
        let response = client.send(gateway, echo(&live_key)).await.expect("call");
        if response.status() == 200 {
            last = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = last.expect("the store's application was admitted without a restart");
    assert_eq!(json(&response)["consumer"], "dvla/licensing");

    // Revoked through the CLI: refused again.
    let keys = answer(&garrison_admin(admin, &developer, &["applications"], None));
    assert_eq!(keys["applications"].as_array().map(Vec::len), Some(1));
    let key_id = live["credential"]["id"].to_string();
    let revoked = garrison_admin(
        admin,
        &developer,
        &["revoke-key", "--app", &app_id, "--key", &key_id],
        None,
    );
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stdout)
    );
    let mut refused = false;
    for _ in 0..100 {
        if client
            .send(gateway, echo(&live_key))
            .await
            .expect("call")
            .status()
            == 401
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the revoked key is refused without a restart");

    // The web portal of `garrison up`: sign in with the form, and the catalogue lists the API.
    let page = http_get(portal, "/sign-in", None).await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let form = format!(
        "email=dev%40dvla.example&password={}",
        PASSWORD.replace(' ', "+")
    );
    let signed = http_post_form(portal, "/sign-in", &form).await;
    assert!(signed.starts_with("HTTP/1.1 303"), "{signed}");
    let cookie = signed
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let catalogue = http_get(portal, "/catalogue?q=demo", Some(&cookie)).await;
    assert!(catalogue.starts_with("HTTP/1.1 200"), "{catalogue}");
    assert!(catalogue.contains("Demo echo"), "{catalogue}");

    let events = answer(&garrison_admin(admin, &root, &["events"], None));
    assert!(
        events["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "approveSubscription" && e["outcome"] == "RESOURCE_FORBIDDEN"),
        "the refused approval is recorded"
    );

    // The same events are in the gateway's hash-chained audit trail, beside the accesses
    // they enabled — stored before their answers left (the sign-in through the page included).
    let filter = garrison_audit::SearchFilter {
        api: Some("garrison-admin".to_owned()),
        ..Default::default()
    };
    let operations: Vec<_> = garrison_audit::search(&dir.join("audit"), &filter)
        .expect("search the audit trail")
        .into_iter()
        .map(|f| (f.record.operation, f.record.decision))
        .collect();
    assert!(
        operations
            .iter()
            .any(|(o, d)| o == "signIn" && *d == garrison_audit::Decision::Allowed),
        "{operations:?}"
    );
    assert!(
        operations.iter().any(|(o, d)| o == "approveSubscription"
            && *d
                == garrison_audit::Decision::Refused {
                    reason: "RESOURCE_FORBIDDEN".to_owned()
                }),
        "{operations:?}"
    );
    assert!(
        operations
            .iter()
            .any(|(o, d)| o == "createApplication" && *d == garrison_audit::Decision::Allowed),
        "{operations:?}"
    );
}
