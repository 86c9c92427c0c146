//! `garrison contract test FILE --base-url URL`: property-based contract testing of a running
//! backend. Requests generated from the contract's schemas — valid ones, and ones that break
//! one rule each — are sent to the backend; every answer is checked against the contract,
//! and each failure is printed with a `curl` command that reproduces it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use garrison_contract::probe::{Case, Expect, cases, curl};
use garrison_contract::validate::{CompiledContract, compile};
use http::{HeaderName, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

/// What `contract test` was asked to do.
pub(crate) struct TestRun {
    pub(crate) file: PathBuf,
    pub(crate) base_url: String,
    pub(crate) cases_per_operation: usize,
    pub(crate) seed: u64,
    pub(crate) headers: Vec<String>,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) timeout: Duration,
}

/// One answer that broke the contract.
struct Failure {
    case: Case,
    status: Option<u16>,
    problems: Vec<String>,
}

/// Runs the test on a small runtime of its own; exit status 0 when every answer conforms, 1
/// when one does not, 2 when the test could not run (contract, TLS files, base URL).
pub(crate) fn run(run: TestRun) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(contract_test(run)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::from(2)
        }
    }
}

async fn contract_test(run: TestRun) -> ExitCode {
    match prepare(&run) {
        Ok((compiled, target, all)) => execute(&run, &compiled, &target, all).await,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Where requests go.
struct Target {
    base: Uri,
    tls: Option<tokio_rustls::TlsConnector>,
    extra: Vec<(HeaderName, HeaderValue)>,
}

fn prepare(run: &TestRun) -> Result<(CompiledContract, Target, Vec<Case>), String> {
    let contract = garrison_contract::load(&run.file).map_err(|e| e.to_string())?;
    let compiled = compile(&contract).map_err(|e| e.to_string())?;
    let all = cases(&contract, run.seed, run.cases_per_operation);
    let base: Uri = run
        .base_url
        .trim_end_matches('/')
        .parse()
        .map_err(|e| format!("--base-url {:?}: {e}", run.base_url))?;
    let tls = match base.scheme_str() {
        Some("https") => Some(tls_connector(run)?),
        Some("http") => None,
        _ => {
            return Err(format!(
                "--base-url {:?}: expected an http:// or https:// URL",
                run.base_url
            ));
        }
    };
    let mut extra = Vec::new();
    for header in &run.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?}: expected \"name: value\""))?;
        let name = HeaderName::try_from(name.trim())
            .map_err(|_| format!("--header {header:?}: not a valid header name"))?;
        let value = HeaderValue::try_from(value.trim())
            .map_err(|_| format!("--header {header:?}: not a valid header value"))?;
        extra.push((name, value));
    }
    Ok((compiled, Target { base, tls, extra }, all))
}

fn tls_connector(run: &TestRun) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = run.ca.as_ref().ok_or(
        "an https:// base URL needs --ca FILE: the CA that issued the server's certificate",
    )?;
    for cert in read_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    let config = match (&run.cert, &run.key) {
        (Some(cert), Some(key)) => {
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(read_certs(cert)?, key)
                .map_err(|e| format!("{}: {e}", cert.display()))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("--cert and --key go together".to_owned()),
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

async fn execute(
    run: &TestRun,
    compiled: &CompiledContract,
    target: &Target,
    all: Vec<Case>,
) -> ExitCode {
    let total = all.len();
    let mut failures = Vec::new();
    for case in all {
        let Some(operation) = compiled
            .operations()
            .iter()
            .find(|o| o.pointer() == case.operation)
        else {
            continue;
        };
        let answer = tokio::time::timeout(run.timeout, send(target, &case)).await;
        let (status, problems) = match answer {
            Err(_) => (None, vec![format!("no answer within {:?}", run.timeout)]),
            Ok(Err(e)) => (None, vec![e]),
            Ok(Ok((status, headers, body))) => {
                let mut problems = Vec::new();
                if status >= 500 {
                    problems.push(format!("server error {status}"));
                }
                match case.expect {
                    Expect::Rejected if (200..300).contains(&status) => problems.push(format!(
                        "an invalid request was accepted with {status}: {}",
                        case.description
                    )),
                    // Other 4xx (404 for an unknown id, 422) can be right for a valid request;
                    // whether they are documented is checked below.
                    Expect::Conforming if status == 400 => {
                        problems.push("a valid request was refused as malformed (400)".to_owned())
                    }
                    _ => {}
                }
                if let Err(violations) = operation.validate_response(status, &headers, &body) {
                    for v in violations.0 {
                        problems.push(format!(
                            "response {}: {} ({})",
                            v.location, v.message, v.rule
                        ));
                    }
                }
                (Some(status), problems)
            }
        };
        if !problems.is_empty() {
            failures.push(Failure {
                case,
                status,
                problems,
            });
        }
    }
    for failure in &failures {
        let case = &failure.case;
        println!(
            "FAIL {} {} ({}) — {}{}",
            case.method,
            case.path,
            case.operation_id.as_deref().unwrap_or(&case.operation),
            case.description,
            failure
                .status
                .map(|s| format!(" → {s}"))
                .unwrap_or_default()
        );
        for problem in &failure.problems {
            println!("  - {problem}");
        }
        println!("  reproduce: {}\n", curl(case, &run.base_url));
    }
    let operations = compiled.operations().len();
    println!(
        "{total} requests to {operations} operation{}: {} conforming, {} failing",
        if operations == 1 { "" } else { "s" },
        total - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Sends one case on a fresh connection; the status, headers and whole body come back.
async fn send(target: &Target, case: &Case) -> Result<(u16, http::HeaderMap, Bytes), String> {
    let authority = target
        .base
        .authority()
        .ok_or("the base URL has no host")?
        .clone();
    let port = authority
        .port_u16()
        .unwrap_or(if target.tls.is_some() { 443 } else { 80 });
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let mut path = format!("{}{}", target.base.path().trim_end_matches('/'), case.path);
    if let Some(query) = &case.query {
        path.push('?');
        path.push_str(query);
    }
    let mut request = Request::builder()
        .method(case.method)
        .uri(path)
        .header(http::header::HOST, authority.as_str());
    for (name, value) in &target.extra {
        request = request.header(name, value);
    }
    for (name, value) in &case.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let body = match &case.body {
        Some((content_type, bytes)) => {
            request = request.header(http::header::CONTENT_TYPE, content_type.as_str());
            Bytes::from(bytes.clone())
        }
        None => Bytes::new(),
    };
    let request = request
        .body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let response = match &target.tls {
        Some(connector) => {
            let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
            let tls = connector
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS with {authority}: {e}"))?;
            exchange(tls, request).await?
        }
        None => exchange(stream, request).await?,
    };
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("reading the response: {e}"))?
        .to_bytes();
    Ok((parts.status.as_u16(), parts.headers, body))
}

async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("sending the request: {e}"))
}
