//! The `garrison` command: wiring only. Each subcommand loads what it needs from the library
//! crates and runs it; no policy is decided here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use garrison_core::{ApiKey, Environment};
use garrison_gateway::Gateway;

// A proxy allocates and frees many small buffers per request (headers, bodies, futures);
// mimalloc's per-thread free lists serve that pattern with less work than the system
// allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "garrison",
    version,
    about = "A contract-first API gateway for sharing sensitive data"
)]
struct Cli {
    /// Worker threads for the gateway (default: the CPUs this process may run on). With 1, a
    /// single-threaded event loop is used, as nginx does with one worker.
    #[arg(long, global = true, env = "GARRISON_WORKERS")]
    workers: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded default: a development PKI, demo consumers, a demo upstream and the
    /// gateway with mutual TLS, all under --data-dir.
    Up {
        /// Where state lives.
        #[arg(long, default_value = ".garrison")]
        data_dir: PathBuf,
        /// Gateway address (written into a new configuration).
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
        /// Admin address (written into a new configuration).
        #[arg(long, default_value = "127.0.0.1:8081")]
        admin: String,
        /// Demo upstream address (written into a new configuration).
        #[arg(long, default_value = "127.0.0.1:8082")]
        upstream: SocketAddr,
    },
    /// Run the gateway from a configuration file (reloaded on change, SIGHUP or
    /// POST /admin/reload).
    Serve {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Work with OpenAPI contracts.
    Contract {
        #[command(subcommand)]
        command: ContractCommand,
    },
    /// Work with API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file and report every problem with file, line and field.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ContractCommand {
    /// Check contracts against the built-in rules (UK government API standards, OWASP). Exit
    /// status: 0 no error-severity finding, 1 at least one, 2 a contract that cannot load.
    Lint {
        /// The contracts (OpenAPI 3.0 / 3.1, YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LintFormat::Human)]
        format: LintFormat,
        /// Change a rule's severity: RULE=error|warning|info|off (repeatable).
        #[arg(long = "rule-severity", value_name = "RULE=SEVERITY")]
        rule_severity: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    /// `file: pointer: [severity rule-id] message`, one finding a line.
    Human,
    /// One JSON document.
    Json,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue a new API key; prints the key (give it to the consumer, once) and the digest to
    /// put in the configuration.
    Generate {
        /// Issue a sandbox key (grn_test_…) instead of a live one.
        #[arg(long)]
        test: bool,
    },
    /// Print the digest of an existing key (read from standard input), e.g. to import keys
    /// from another gateway by digest.
    Digest,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check { file },
        } => check(&file),
        Command::Contract {
            command:
                ContractCommand::Lint {
                    files,
                    format,
                    rule_severity,
                },
        } => contract_lint(&files, format, &rule_severity),
        Command::Key { command } => key(command),
        Command::Serve { config } => run(cli.workers, || serve(config)),
        Command::Up {
            data_dir,
            listen,
            admin,
            upstream,
        } => run(cli.workers, || up(data_dir, listen, admin, upstream)),
    }
}

fn run<F, Fut>(workers: Option<usize>, main: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    init_logging();
    let workers = workers
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1);
    // One core: a single-threaded scheduler wakes tasks without cross-thread synchronisation,
    // which is cheaper per request than a multi-threaded scheduler with one worker.
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("garrison: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("garrison: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GARRISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .init();
}

fn check(file: &Path) -> ExitCode {
    match garrison_config::load(file) {
        Ok(config) => {
            println!(
                "{}: ok ({} listeners, {} upstreams, {} routes, {} plans, {} consumers, {} subscriptions)",
                file.display(),
                config.listeners.len(),
                config.upstreams.len(),
                config.routes.len(),
                config.plans.len(),
                config.consumers.len(),
                config.subscriptions.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "{}: {} problem{} found",
                file.display(),
                e.problems.len(),
                if e.problems.len() == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
    }
}

fn contract_lint(files: &[PathBuf], format: LintFormat, severities: &[String]) -> ExitCode {
    let mut rules = garrison_contract::RuleSet::default();
    for spec in severities {
        if let Err(e) = rules.set(spec) {
            eprintln!("garrison: --rule-severity {e}");
            return ExitCode::from(2);
        }
    }
    let report = garrison_contract::lint_files(files, &rules);
    let text = match format {
        LintFormat::Human => report.to_text(),
        LintFormat::Json => format!("{:#}\n", report.to_json()),
    };
    // A closed pipe (`| head`) is the reader's choice, not a failure to report.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    ExitCode::from(report.exit_code())
}

fn key(command: KeyCommand) -> ExitCode {
    match command {
        KeyCommand::Generate { test } => {
            let env = if test {
                Environment::Test
            } else {
                Environment::Live
            };
            match ApiKey::generate(env) {
                Ok(key) => {
                    println!("key:    {}", key.expose());
                    println!("digest: {}", key.digest());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("garrison: random number generator: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        KeyCommand::Digest => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
                eprintln!("garrison: give the key on standard input");
                return ExitCode::FAILURE;
            }
            println!("{}", ApiKey::from_plaintext(line.trim()).digest());
            ExitCode::SUCCESS
        }
    }
}

async fn start(config_file: &Path) -> Result<Gateway, String> {
    let config = garrison_config::load(config_file).map_err(|e| e.to_string())?;
    let gateway = Gateway::start(config).await.map_err(|e| e.to_string())?;
    Ok(gateway)
}

/// Runs `gateway` with its reload triggers until Ctrl-C or SIGTERM, then drains it.
async fn run_until_stopped(gateway: Gateway) -> Result<(), String> {
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

async fn wait_for_stop() {
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

async fn serve(config: PathBuf) -> Result<(), String> {
    let gateway = start(&config).await?;
    run_until_stopped(gateway).await
}

async fn up(
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

fn print_welcome(demo: &garrison_demo::DemoState, gateway: &Gateway) {
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
    out.push_str(&format!(
        "  # metrics, health, reload\n  curl http://{admin}/metrics\n  curl http://{admin}/readyz\n  curl -X POST -H \"Authorization: Bearer $(cat {})\" http://{admin}/admin/reload\n\nCtrl-C stops it.\n",
        demo.admin_token_file.display(),
        admin = gateway.admin_addr()
    ));
    println!("{out}");
}
