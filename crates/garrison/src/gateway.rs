//! Running the gateway: `serve` from a configuration file, and `up`, the embedded default.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use garrison_gateway::{Gateway, GatewayOptions};
use garrison_portal::{Portal, PortalExtension, PortalSettings};
use garrison_store::{SqliteStore, Store};

pub(crate) async fn start(config_file: &Path) -> Result<Gateway, String> {
    start_with_portal(config_file, None, true).await
}

/// Starts the gateway and, with `portal`, the web portal on that address. The portal needs
/// a `control_plane` section: without one, `strict` refuses to start, otherwise (a data
/// directory of `garrison up` written before the control plane existed) the portal is left
/// out with a warning.
pub(crate) async fn start_with_portal(
    config_file: &Path,
    portal: Option<&str>,
    strict: bool,
) -> Result<Gateway, String> {
    Ok(start_all(config_file, portal, strict).await?.gateway)
}

/// What [`start_all`] started.
pub(crate) struct Started {
    pub(crate) gateway: Gateway,
    /// The portal, when the configuration has a control plane.
    pub(crate) portal: Option<Arc<Portal>>,
    /// The sandbox route groups (`apis:` entries with `mock: true`) and their base paths.
    pub(crate) sandboxes: HashMap<String, String>,
}

/// [`start_with_portal`], keeping the portal: its usage sampler reads the gateway's counters
/// every [`garrison_portal::SAMPLE_EVERY`].
pub(crate) async fn start_all(
    config_file: &Path,
    portal: Option<&str>,
    strict: bool,
) -> Result<Started, String> {
    let config = garrison_config::load(config_file).map_err(|e| e.to_string())?;
    let mut portal = portal;
    if portal.is_some() && config.control_plane.is_none() {
        let why = format!(
            "{}: the web portal needs a control_plane section (docs/portal.md)",
            config_file.display()
        );
        if strict {
            return Err(why);
        }
        tracing::warn!("{why}; the portal is not served");
        portal = None;
    }
    let groups: HashMap<String, String> = config
        .routes
        .iter()
        .map(|r| (r.name.clone(), r.group.clone()))
        .collect();
    let sandboxes: HashMap<String, String> = config
        .apis
        .iter()
        .filter(|api| api.mock)
        .map(|api| (api.name.clone(), api.base_path.clone()))
        .collect();
    let mut handle = None;
    let options = match &config.control_plane {
        None => GatewayOptions::default(),
        Some(settings) => {
            let path = settings.store.clone();
            let store: Arc<dyn Store> = Arc::new(
                tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("{}: {e}", settings.store.display()))?,
            );
            let web = Portal::new(
                store.clone(),
                PortalSettings {
                    session_ttl: settings.session_ttl,
                    max_allow_prefix_v4: settings.allow_list_max_prefix_ipv4,
                    max_allow_prefix_v6: settings.allow_list_max_prefix_ipv6,
                    self_sign_up: settings.self_sign_up,
                    ..PortalSettings::default()
                },
            );
            // The documentation pages render each API's contract, by route group.
            web.set_contracts(
                config
                    .apis
                    .iter()
                    .map(|api| (api.name.clone(), Arc::new(api.contract.document.clone())))
                    .collect(),
            );
            if let Some(address) = portal {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .map_err(|e| format!("cannot listen on {address} (portal): {e}"))?;
                tracing::info!(portal = %address, "web portal listening");
                tokio::spawn(garrison_portal::web::serve(web.clone(), listener));
            }
            handle = Some(web.clone());
            GatewayOptions {
                store: Some(store),
                admin_extension: Some(Arc::new(PortalExtension(web))),
            }
        }
    };
    let gateway = Gateway::start_with(config, options)
        .await
        .map_err(|e| e.to_string())?;
    // Usage is sampled for the web portal's pages only (the admin API has none).
    if let (Some(web), Some(_)) = (&handle, portal) {
        web.set_metrics(gateway.metrics_reader(), groups);
        tokio::spawn(garrison_portal::sample_every(
            web.clone(),
            garrison_portal::SAMPLE_EVERY,
        ));
    }
    // The control plane's changes go to the same hash-chained trail as the accesses.
    if let (Some(web), Some(log)) = (&handle, gateway.audit_log()) {
        web.set_audit_log(log);
    }
    Ok(Started {
        gateway,
        portal: handle,
        sandboxes,
    })
}

/// Turns the portal's try-it console on for `garrison up`: it calls the gateway's first
/// listener (on loopback when it listens on every address) over mutual TLS, trusting the
/// demo CA and presenting a client certificate the demo CA issues now, kept in memory only.
fn console_settings(
    demo: &garrison_demo::DemoState,
    started: &Started,
) -> Result<garrison_portal::web::ConsoleSettings, String> {
    let mut gateway = *started
        .gateway
        .listen_addrs()
        .first()
        .ok_or("the gateway has no listener")?;
    if gateway.ip().is_unspecified() {
        gateway.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let ca = std::fs::read_to_string(&demo.ca_file)
        .map_err(|e| format!("{}: {e}", demo.ca_file.display()))?;
    let (cert, key) = garrison_demo::console_certificate(demo).map_err(|e| e.to_string())?;
    garrison_portal::web::ConsoleSettings::new(
        gateway,
        "localhost",
        &ca,
        &cert,
        &key,
        started.sandboxes.clone(),
        Duration::from_secs(10),
    )
}

/// Runs `gateway` with its reload triggers until Ctrl-C or SIGTERM, then drains it.
pub(crate) async fn run_until_stopped(gateway: Gateway) -> Result<(), String> {
    let reloader = gateway.reloader();
    let _watcher = garrison_gateway::watch_config(reloader.clone())
        .map_err(|e| format!("cannot watch the configuration file: {e}"))?;
    #[cfg(unix)]
    garrison_gateway::reload_on_sighup(reloader).map_err(|e| format!("SIGHUP: {e}"))?;
    wait_for_stop().await;
    tracing::info!("stopping: draining in-flight requests");
    gateway.shutdown(Duration::from_secs(10)).await;
    Ok(())
}

pub(crate) async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub(crate) async fn serve(config: PathBuf, portal: Option<String>) -> Result<(), String> {
    let gateway = start_with_portal(&config, portal.as_deref(), true).await?;
    run_until_stopped(gateway).await
}

/// What `garrison up` was asked for.
pub(crate) struct UpOptions {
    pub(crate) data_dir: PathBuf,
    pub(crate) listen: String,
    pub(crate) admin: String,
    pub(crate) portal: String,
    pub(crate) upstream: SocketAddr,
    pub(crate) citizens: SocketAddr,
    pub(crate) people: u64,
    /// Put the demo library in a new, empty control-plane store.
    pub(crate) demo_library: bool,
}

pub(crate) async fn up(options: UpOptions) -> Result<(), String> {
    let demo = garrison_demo::prepare(
        &options.data_dir,
        &options.listen,
        &options.admin,
        &options.upstream.to_string(),
        &options.citizens.to_string(),
    )
    .map_err(|e| e.to_string())?;
    let population = demo.population_file.clone();
    let people = options.people;
    let requests = demo.requests_dir.clone();
    tokio::task::spawn_blocking(move || {
        crate::citizens_demo::ensure_population(&population, people)?;
        crate::citizens_demo::write_examples(&population, &requests)
    })
    .await
    .map_err(|e| e.to_string())??;
    crate::citizens_demo::spawn_service(&demo.population_file, options.citizens).await?;
    garrison_demo::upstream::spawn(options.upstream)
        .await
        .map_err(|e| format!("demo upstream on {}: {e}", options.upstream))?;
    let portal_users = if options.demo_library {
        seed_library(&demo).await?
    } else {
        None
    };
    let started = start_all(&demo.config_file, Some(&options.portal), false).await?;
    if let Some(web) = &started.portal {
        match console_settings(&demo, &started) {
            Ok(settings) => web.set_console(settings),
            Err(e) => tracing::warn!(error = %e, "the portal's try-it console is off"),
        }
    }
    print_welcome(&demo, &started.gateway, &options.portal);
    if let Some(file) = portal_users {
        println!(
            "  The portal's catalogue holds every API above; demo sign-ins (an API owner and a\n  consumer developer) are in {}\n",
            file.display()
        );
    }
    run_until_stopped(started.gateway).await
}

pub(crate) fn print_welcome(demo: &garrison_demo::DemoState, gateway: &Gateway, portal: &str) {
    let gw = gateway
        .listen_addrs()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let host = if gw.starts_with("127.0.0.1") {
        gw.clone()
    } else {
        format!(
            "localhost:{}",
            gateway
                .listen_addrs()
                .first()
                .map(|a| a.port())
                .unwrap_or(8443)
        )
    };
    let ca = demo.ca_file.display();
    let mut out = String::new();
    out.push_str(&format!(
        "\nGarrison is up.\n  gateway  https://{gw}  (mutual TLS required)\n  admin    http://{}\n  portal   http://{portal}\n  config   {}{}\n\nTry it (copy and paste):\n\n",
        gateway.admin_addr(),
        demo.config_file.display(),
        if demo.created { "  (new: keys issued into demo/)" } else { "" }
    ));
    if let Some(first) = demo.consumers.first() {
        let curl = |c: &garrison_demo::DemoConsumer| {
            format!(
                "curl --cacert {ca} --cert {} --key {} -H \"x-api-key: $(cat {})\"",
                c.cert_file.display(),
                c.cert_key_file.display(),
                c.key_file.display()
            )
        };
        out.push_str(&format!(
            "  # an authorised call as {name}\n  {} https://{host}/demo/v1/echo\n\n",
            curl(first),
            name = first.name
        ));
        out.push_str(&format!(
            "  # no API key: 401 MISSING_CREDENTIALS\n  curl --cacert {ca} --cert {} --key {} https://{host}/demo/v1/echo\n\n",
            first.cert_file.display(),
            first.cert_key_file.display()
        ));
        if let Some(second) = demo.consumers.get(1) {
            out.push_str(&format!(
                "  # {}'s key with {}'s certificate: 403 RESOURCE_FORBIDDEN\n  curl --cacert {ca} --cert {} --key {} -H \"x-api-key: $(cat {})\" https://{host}/demo/v1/echo\n\n",
                second.name,
                first.name,
                first.cert_file.display(),
                first.cert_key_file.display(),
                second.key_file.display()
            ));
        }
        out.push_str(&format!(
            "  # over the standard plan (3/s, burst 6): 429 MESSAGE_THROTTLED_OUT with Retry-After\n  for i in $(seq 10); do {} -s -o /dev/null -w '%{{http_code}}\\n' https://{host}/demo/v1/echo; done\n\n",
            curl(first)
        ));
    }
    if let Some(first) = demo.consumers.first() {
        let requests = &demo.requests_dir;
        let call = format!(
            "curl --cacert {ca} --cert {} --key {} -H \"x-api-key: $(cat {})\" -H @{}",
            first.cert_file.display(),
            first.cert_key_file.display(),
            first.key_file.display(),
            requests.join("purpose.headers").display()
        );
        let url = format!("https://{host}/sandbox/capi/v2/citizens/match");
        out.push_str(&format!(
            "  # the citizen match sandbox, served from its contract: a conforming request\n  {call} --data @{} {url}\n\n",
            requests.join("match.json").display()
        ));
        out.push_str(&format!(
            "  # a request that breaks the contract: 400 REQUEST_INVALID listing every violation\n  {call} --data @{} {url}\n\n",
            requests.join("match-invalid.json").display()
        ));
        out.push_str(&format!(
            "  # ask the sandbox for another documented answer\n  {call} -H 'Prefer: code=422' --data @{} {url}\n\n",
            requests.join("match.json").display()
        ));
    }
    // The checks, each called by the organisation entitled to it.
    let requests = &demo.requests_dir;
    let org = |name: &str| demo.consumers.iter().find(|c| c.name == name);
    for (consumer, path, body, what) in [
        (
            "dfe-free-school-meals",
            "free-school-meals",
            "free-school-meals.json",
            "free school meals: a parent on Pension Credit → {\"status\":\"eligible\"}",
        ),
        (
            "dfe-free-school-meals",
            "free-school-meals",
            "nobody.json",
            "free school meals: nobody with these details → {\"status\":\"parentNotFound\"}",
        ),
        (
            "nhs-prescriptions",
            "prescription-exemption",
            "prescription-exemption.json",
            "prescription exemption on a date → {\"exempt\":true,\"basis\":\"pensions_credit\",…}",
        ),
        (
            "dvla-licensing",
            "identity",
            "identity.json",
            "identity validation for a licensing agency → {\"result\":\"fullMatch\"}",
        ),
        (
            "dfe-free-school-meals",
            "passport-benefits",
            "passport-benefits.json",
            "passport benefits in payment on a date → {\"benefits\":[\"pensions_credit\"],…}",
        ),
        (
            "contact-centre",
            "income-band",
            "income-band.json",
            "income band over twelve months, never the amounts → {\"band\":\"…\"}",
        ),
        (
            "contact-centre",
            "caller-identification",
            "caller-identification.json",
            "caller identification for a contact centre → {\"verified\":true,\"confidence\":\"high\"}",
        ),
    ] {
        let Some(c) = org(consumer) else { continue };
        out.push_str(&format!(
            "  # {what}\n  curl --cacert {ca} --cert {} --key {} -H \"x-api-key: $(cat {})\" -H @{} --data @{} https://{host}/checks/v1/{path}\n\n",
            c.cert_file.display(),
            c.cert_key_file.display(),
            c.key_file.display(),
            requests.join(format!("{consumer}.headers")).display(),
            requests.join(body).display(),
        ));
    }
    // Secure file transfer: the medical assessor sends a report to DWP's PIP inbox with a tus
    // creation-with-upload, and DWP lists, downloads and acknowledges it.
    if let (Some(sender), Some(recipient)) = (org("medical-assessor"), org("dwp-pip-decisions")) {
        let as_org = |c: &garrison_demo::DemoConsumer| {
            format!(
                "curl --cacert {ca} --cert {} --key {} -H \"x-api-key: $(cat {})\"",
                c.cert_file.display(),
                c.cert_key_file.display(),
                c.key_file.display()
            )
        };
        let document = requests.join("assessment.txt");
        out.push_str(&format!(
            "  # secure file transfer: the medical assessor uploads a report to DWP's inbox (tus 1.0.0;\n  # any tus client works, see README) → 201 and its Location\n  {} -H @{} -H \"Upload-Length: $(wc -c < {})\" --data-binary @{} -i https://{host}/files/v1/uploads\n\n",
            as_org(sender),
            requests.join("transfer.headers").display(),
            document.display(),
            document.display(),
        ));
        let inbox = format!("https://{host}/files/v1/inboxes/pip-decisions/files");
        out.push_str(&format!(
            "  # DWP lists its inbox, downloads a file (decrypted, verified; Range works) and acknowledges it\n  {call} -H 'context: PIP-DECISION' {inbox}\n  {call} -H 'context: PIP-DECISION' {inbox}/<id>\n  {call} -H 'context: PIP-DECISION' -X POST {inbox}/<id>/acknowledgement\n\n",
            call = as_org(recipient),
        ));
    }
    out.push_str(&format!(
        "  # who looked at whose data, and why (the audit trail; Ctrl-C first, or in another shell)\n  garrison audit search --dir {}\n\n",
        demo.config_file.with_file_name("audit").display()
    ));
    out.push_str(&format!(
        "  # metrics, health, reload\n  curl http://{admin}/metrics\n  curl http://{admin}/readyz\n  curl -X POST -H \"Authorization: Bearer $(cat {})\" http://{admin}/admin/reload\n\nCtrl-C stops it.\n",
        demo.admin_token_file.display(),
        admin = gateway.admin_addr()
    ));
    println!("{out}");
}

/// Puts the demo library in a new control-plane store (see `portal_demo`); returns the file of
/// demo sign-ins when it did.
async fn seed_library(demo: &garrison_demo::DemoState) -> Result<Option<PathBuf>, String> {
    let config = garrison_config::load(&demo.config_file).map_err(|e| e.to_string())?;
    let Some(settings) = config.control_plane.clone() else {
        return Ok(None);
    };
    let demo_dir = demo
        .admin_token_file
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        let store = SqliteStore::open(&settings.store)
            .map_err(|e| format!("{}: {e}", settings.store.display()))?;
        crate::portal_demo::seed(&store, &config, &demo_dir)
    })
    .await
    .map_err(|e| e.to_string())?
}
