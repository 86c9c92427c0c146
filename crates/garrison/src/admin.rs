//! `garrison admin …`: the common control-plane operations, as calls to the admin REST API
//! of a running gateway (`contracts/garrison-admin-api.yaml`). The CLI holds no rule of its
//! own: what a caller may do is decided by the API, exactly as for the portal.

use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Where the admin API is and who calls it.
#[derive(Args)]
pub(crate) struct AdminTarget {
    /// The admin listener.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8081",
        env = "GARRISON_ADMIN_URL"
    )]
    url: String,
    /// A file holding the bearer token: the admin token, or a session token from `sign-in`.
    #[arg(long, env = "GARRISON_ADMIN_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

/// The admin operations.
#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Sign in as a user; prints the session token (the password is read from
    /// GARRISON_PASSWORD or the first line of standard input).
    SignIn {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// The caller's role and organisation.
    Whoami,
    /// Create an organisation (platform admins).
    CreateOrganisation {
        /// Short name: lower-case letters, digits, hyphens.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Create a user (platform admins); the password is read like `sign-in`'s.
    CreateUser {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// platform_admin, api_owner or consumer_developer.
        #[arg(long)]
        role: String,
        /// The organisation's id (not for platform admins).
        #[arg(long)]
        organisation: Option<i64>,
    },
    /// Create a plan (platform admins).
    CreatePlan {
        /// Name.
        #[arg(long)]
        name: String,
        /// Requests per period.
        #[arg(long)]
        requests: u32,
        /// Period in seconds.
        #[arg(long, default_value_t = 1)]
        period_seconds: u32,
        /// Requests admitted back to back.
        #[arg(long)]
        burst: u32,
    },
    /// List the applications the caller may see.
    Applications,
    /// Create an application; prints its sandbox key, shown once.
    CreateApplication {
        /// Short name.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The organisation's id (platform admins only).
        #[arg(long)]
        organisation: Option<i64>,
    },
    /// Issue a key (shown once).
    CreateKey {
        /// The application's id.
        #[arg(long)]
        app: i64,
        /// sandbox or production.
        #[arg(long, default_value = "sandbox")]
        environment: String,
    },
    /// Issue a new key and revoke the old one.
    RotateKey {
        /// The application's id.
        #[arg(long)]
        app: i64,
        /// The key's id.
        #[arg(long)]
        key: i64,
    },
    /// Revoke a key.
    RevokeKey {
        /// The application's id.
        #[arg(long)]
        app: i64,
        /// The key's id.
        #[arg(long)]
        key: i64,
    },
    /// Bind a client certificate (PEM file) to an application.
    AddCertificate {
        /// The application's id.
        #[arg(long)]
        app: i64,
        /// The PEM file.
        #[arg(long)]
        pem: PathBuf,
    },
    /// Replace an application's IP allow-list.
    SetAllowList {
        /// The application's id.
        #[arg(long)]
        app: i64,
        /// Addresses or networks (none: any address).
        networks: Vec<String>,
    },
    /// The catalogue.
    Apis,
    /// Publish an API (API owners, for their organisation; platform admins name the owner).
    CreateApi {
        /// Short name.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        title: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// official or official_sensitive.
        #[arg(long, default_value = "official_sensitive")]
        classification: String,
        /// The owner organisation's id (platform admins only).
        #[arg(long)]
        owner: Option<i64>,
    },
    /// Add a version to an API, served by a route group of the configuration.
    AddVersion {
        /// The API's id.
        #[arg(long)]
        api: i64,
        /// The version's name (v1).
        #[arg(long)]
        version: String,
        /// The route group (an API or route group name of the configuration).
        #[arg(long)]
        group: String,
        /// alpha, beta, stable, deprecated or retired.
        #[arg(long, default_value = "beta")]
        status: String,
    },
    /// The subscriptions the caller may see.
    Subscriptions,
    /// Request a subscription.
    Subscribe {
        /// The application's id.
        #[arg(long)]
        app: i64,
        /// The API version's id.
        #[arg(long)]
        version: i64,
        /// The plan's id.
        #[arg(long)]
        plan: i64,
        /// The purpose (the context header's value).
        #[arg(long)]
        purpose: String,
    },
    /// Approve a subscription (the API's owners).
    Approve {
        /// The subscription's id.
        id: i64,
        /// Why, for the consumer.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject a subscription (the API's owners).
    Reject {
        /// The subscription's id.
        id: i64,
        /// Why, for the consumer.
        #[arg(long)]
        reason: String,
    },
    /// The latest admin events (platform admins).
    Events,
}

fn password() -> Result<String, String> {
    if let Ok(p) = std::env::var("GARRISON_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The method, path and body of a command.
fn request(command: &AdminCommand) -> Result<(&'static str, String, Option<Value>), String> {
    let p = |s: &str| format!("/admin/v1/{s}");
    Ok(match command {
        AdminCommand::SignIn { email } => (
            "POST",
            p("sessions"),
            Some(json!({"email": email, "password": password()?})),
        ),
        AdminCommand::Whoami => ("GET", p("me"), None),
        AdminCommand::CreateOrganisation { slug, name } => (
            "POST",
            p("organisations"),
            Some(json!({"slug": slug, "name": name})),
        ),
        AdminCommand::CreateUser {
            email,
            name,
            role,
            organisation,
        } => {
            let mut body =
                json!({"email": email, "name": name, "role": role, "password": password()?});
            if let Some(org) = organisation {
                body["organisation"] = json!(org);
            }
            ("POST", p("users"), Some(body))
        }
        AdminCommand::CreatePlan {
            name,
            requests,
            period_seconds,
            burst,
        } => (
            "POST",
            p("plans"),
            Some(
                json!({"name": name, "requests": requests, "periodSeconds": period_seconds, "burst": burst}),
            ),
        ),
        AdminCommand::Applications => ("GET", p("applications"), None),
        AdminCommand::CreateApplication {
            slug,
            name,
            organisation,
        } => {
            let mut body = json!({"slug": slug, "name": name});
            if let Some(org) = organisation {
                body["organisation"] = json!(org);
            }
            ("POST", p("applications"), Some(body))
        }
        AdminCommand::CreateKey { app, environment } => (
            "POST",
            p(&format!("applications/{app}/keys")),
            Some(json!({"environment": environment})),
        ),
        AdminCommand::RotateKey { app, key } => (
            "POST",
            p(&format!("applications/{app}/keys/{key}/rotate")),
            None,
        ),
        AdminCommand::RevokeKey { app, key } => {
            ("DELETE", p(&format!("applications/{app}/keys/{key}")), None)
        }
        AdminCommand::AddCertificate { app, pem } => {
            let text =
                std::fs::read_to_string(pem).map_err(|e| format!("{}: {e}", pem.display()))?;
            (
                "POST",
                p(&format!("applications/{app}/certificates")),
                Some(json!({"pem": text})),
            )
        }
        AdminCommand::SetAllowList { app, networks } => (
            "PUT",
            p(&format!("applications/{app}/allow-list")),
            Some(json!({"networks": networks})),
        ),
        AdminCommand::Apis => ("GET", p("apis"), None),
        AdminCommand::CreateApi {
            slug,
            title,
            description,
            classification,
            owner,
        } => {
            let mut body = json!({"slug": slug, "title": title, "description": description,
                "classification": classification});
            if let Some(owner) = owner {
                body["owner"] = json!(owner);
            }
            ("POST", p("apis"), Some(body))
        }
        AdminCommand::AddVersion {
            api,
            version,
            group,
            status,
        } => (
            "POST",
            p(&format!("apis/{api}/versions")),
            Some(json!({"version": version, "group": group, "status": status})),
        ),
        AdminCommand::Subscriptions => ("GET", p("subscriptions"), None),
        AdminCommand::Subscribe {
            app,
            version,
            plan,
            purpose,
        } => (
            "POST",
            p("subscriptions"),
            Some(
                json!({"application": app, "apiVersion": version, "plan": plan, "purpose": purpose}),
            ),
        ),
        AdminCommand::Approve { id, reason } => {
            let body = reason.as_ref().map(|r| json!({"reason": r}));
            ("POST", p(&format!("subscriptions/{id}/approve")), body)
        }
        AdminCommand::Reject { id, reason } => (
            "POST",
            p(&format!("subscriptions/{id}/reject")),
            Some(json!({"reason": reason})),
        ),
        AdminCommand::Events => ("GET", p("events"), None),
    })
}

/// Runs one admin command: prints the answer's JSON; exits 1 on a refusal.
pub(crate) fn admin(target: AdminTarget, command: AdminCommand) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(run(target, command)));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("garrison admin: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(target: AdminTarget, command: AdminCommand) -> Result<bool, String> {
    let token = match &target.token_file {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| format!("{}: {e}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let authority = target
        .url
        .strip_prefix("http://")
        .ok_or("--url: the admin listener speaks plain HTTP (http://host:port)")?
        .trim_end_matches('/')
        .to_owned();
    let (method, path, body) = request(&command)?;
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("cannot reach the admin listener at {authority}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(connection);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(&path)
        .header(http::header::HOST, &authority);
    if let Some(token) = &token {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let payload = match body {
        Some(value) => {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
            Bytes::from(value.to_string())
        }
        None => Bytes::new(),
    };
    let request = builder
        .body(Full::new(payload))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("the admin API did not answer: {e}"))?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !bytes.is_empty() {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            ),
            Err(_) => println!("{}", String::from_utf8_lossy(&bytes)),
        }
    } else {
        println!("{status}");
    }
    Ok(status.is_success())
}
