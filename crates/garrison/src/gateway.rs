//! Running the gateway: `serve` from a configuration file, and `up`, the embedded default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use garrison_gateway::Gateway;

pub(crate) async fn start(config_file: &Path) -> Result<Gateway, String> {
    let config = garrison_config::load(config_file).map_err(|e| e.to_string())?;
    let gateway = Gateway::start(config).await.map_err(|e| e.to_string())?;
    Ok(gateway)
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

pub(crate) async fn serve(config: PathBuf) -> Result<(), String> {
    let gateway = start(&config).await?;
    run_until_stopped(gateway).await
}

pub(crate) async fn up(
    data_dir: PathBuf,
    listen: String,
    admin: String,
    upstream: SocketAddr,
) -> Result<(), String> {
    let demo = garrison_demo::prepare(&data_dir, &listen, &admin, &upstream.to_string())
        .map_err(|e| e.to_string())?;
    garrison_demo::upstream::spawn(upstream)
        .await
        .map_err(|e| format!("demo upstream on {upstream}: {e}"))?;
    let gateway = start(&demo.config_file).await?;
    print_welcome(&demo, &gateway);
    run_until_stopped(gateway).await
}

pub(crate) fn print_welcome(demo: &garrison_demo::DemoState, gateway: &Gateway) {
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
        "\nGarrison is up.\n  gateway  https://{gw}  (mutual TLS required)\n  admin    http://{}\n  config   {}{}\n\nTry it (copy and paste):\n\n",
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
    out.push_str(&format!(
        "  # metrics, health, reload\n  curl http://{admin}/metrics\n  curl http://{admin}/readyz\n  curl -X POST -H \"Authorization: Bearer $(cat {})\" http://{admin}/admin/reload\n\nCtrl-C stops it.\n",
        demo.admin_token_file.display(),
        admin = gateway.admin_addr()
    ));
    println!("{out}");
}
