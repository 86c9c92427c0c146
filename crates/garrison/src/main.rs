//! The `garrison` command: wiring only. Each subcommand loads what it needs from the library
//! crates and runs it; no policy is decided here.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use garrison_audit::{SearchFilter, SubjectKey, Timestamp, VerifyReport, VerifyingKey};
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
    /// Verify, search, report on, export and prune the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and every checkpoint signature. Exit status: 0 intact, 1 damaged
    /// or tampered (the first problem is printed), 2 the store or a key cannot be read.
    Verify {
        /// The audit directory.
        #[arg(long)]
        dir: PathBuf,
        /// The published checkpoint public key (hex); repeat for keys used before a rotation.
        /// Default: the one in --dir, with a warning.
        #[arg(long = "public-key", value_name = "FILE")]
        public_keys: Vec<PathBuf>,
    },
    /// Find records by time, consumer, API, purpose, decision or data subject.
    Search {
        /// The audit directory.
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        range: TimeRange,
        /// Only this consumer.
        #[arg(long)]
        consumer: Option<String>,
        /// Only this API.
        #[arg(long)]
        api: Option<String>,
        /// Only this stated purpose context.
        #[arg(long)]
        purpose: Option<String>,
        /// Only this decision.
        #[arg(long, value_enum)]
        decision: Option<DecisionArg>,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = SearchFormat::Table)]
        format: SearchFormat,
    },
    /// The subject-access report: every access to one person's data — who, when, why, which
    /// fields. The identifier is not printed.
    Report {
        /// The audit directory.
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// Copy the segments holding a time range, with the public key, into a new directory a
    /// third party can verify offline; the export is verified. Exit status as for verify.
    Export {
        /// The audit directory.
        #[arg(long)]
        dir: PathBuf,
        /// The new export directory (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        range: TimeRange,
        /// The checkpoint public key to verify with and ship. Default: the one in --dir, with
        /// a warning.
        #[arg(long = "public-key", value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
    /// Remove, oldest first, whole segments whose last entry is older than --before (never
    /// the newest); the rest stays verifiable from its first signed anchor.
    Retain {
        /// The audit directory.
        #[arg(long)]
        dir: PathBuf,
        /// The cutoff: RFC 3339 UTC or a date (YYYY-MM-DD, midnight UTC).
        #[arg(long, value_parser = parse_time)]
        before: Timestamp,
    },
}

#[derive(clap::Args)]
struct TimeRange {
    /// Records at or after this time: RFC 3339 UTC (2026-01-31T12:00:00Z) or a date.
    #[arg(long, value_parser = parse_time)]
    from: Option<Timestamp>,
    /// Records before this time (exclusive): RFC 3339 UTC or a date.
    #[arg(long, value_parser = parse_time)]
    until: Option<Timestamp>,
}

#[derive(clap::Args)]
struct SubjectArgs {
    /// The data subject's identifier (e.g. a NINO), hashed with every key of --subject-keys;
    /// `-` reads it from standard input, keeping it out of shell history and the process list.
    #[arg(long, value_name = "ID", requires = "subject_keys")]
    subject: Option<String>,
    /// The subject-keys file: `key-id hex-secret` a line, `#` comments (see docs/audit.md).
    #[arg(long = "subject-keys", value_name = "FILE", requires = "subject")]
    subject_keys: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DecisionArg {
    /// Requests let through.
    Allowed,
    /// Requests refused.
    Refused,
}

#[derive(Clone, Copy, ValueEnum)]
enum SearchFormat {
    /// Aligned columns.
    Table,
    /// One JSON object a line: {"seq":…,"record":{…}}.
    Jsonl,
    /// CSV with a header row (RFC 4180).
    Csv,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|e| e.to_string())
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
        Command::Audit { command } => audit(command),
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

/// Exit status of the audit commands when the store or a key cannot be read.
const AUDIT_CANNOT_READ: u8 = 2;

fn audit(command: AuditCommand) -> ExitCode {
    match run_audit(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("garrison: {e}");
            ExitCode::from(AUDIT_CANNOT_READ)
        }
    }
}

fn run_audit(command: AuditCommand) -> Result<ExitCode, String> {
    let mut out = std::io::stdout().lock();
    match command {
        AuditCommand::Verify { dir, public_keys } => {
            let keys = public_keys_or_default(&dir, &public_keys)?;
            let report =
                garrison_audit::verify_with_keys(&dir, &keys).map_err(|e| e.to_string())?;
            Ok(print_verify(&mut out, &report))
        }
        AuditCommand::Search {
            dir,
            range,
            consumer,
            api,
            purpose,
            decision,
            subject,
            format,
        } => {
            let mut filter = SearchFilter {
                from: range.from,
                until: range.until,
                consumer,
                api,
                purpose_context: purpose,
                decision: decision.map(|d| match d {
                    DecisionArg::Allowed => garrison_audit::DecisionFilter::Allowed,
                    DecisionArg::Refused => garrison_audit::DecisionFilter::Refused,
                }),
                ..SearchFilter::default()
            };
            if let Some((identifier, keys)) = subject_and_keys(&subject)? {
                filter = filter.subject(&identifier, &keys);
            }
            let found = garrison_audit::search(&dir, &filter).map_err(|e| e.to_string())?;
            // A closed pipe (`| head`) is the reader's choice, not a failure to report.
            let _ = match format {
                SearchFormat::Table => garrison_audit::write_table(&mut out, &found),
                SearchFormat::Jsonl => garrison_audit::write_json_lines(&mut out, &found),
                SearchFormat::Csv => garrison_audit::write_csv(&mut out, &found),
            };
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Report { dir, subject } => {
            let (identifier, keys) =
                subject_and_keys(&subject)?.ok_or("--subject and --subject-keys are required")?;
            let report = garrison_audit::subject_access_report(&dir, &identifier, &keys)
                .map_err(|e| e.to_string())?;
            let _ = report.write_text(&mut out);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export {
            dir,
            out: export_dir,
            range,
            public_key,
        } => {
            let keys = public_keys_or_default(&dir, public_key.as_slice())?;
            let key = keys.first().ok_or("no public key")?;
            let report =
                garrison_audit::export_range(&dir, &export_dir, range.from, range.until, key)
                    .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "exported to {}", export_dir.display());
            Ok(print_verify(&mut out, &report))
        }
        AuditCommand::Retain { dir, before } => {
            let removed =
                garrison_audit::remove_segments_before(&dir, before).map_err(|e| e.to_string())?;
            for path in &removed {
                let _ = writeln!(out, "removed {}", path.display());
            }
            let _ = writeln!(
                out,
                "{} segment{} removed (last entry before {before})",
                removed.len(),
                if removed.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_verify(out: &mut impl Write, report: &VerifyReport) -> ExitCode {
    let _ = out.write_all(report.summary().as_bytes());
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The public keys in `files`, or the one published inside `dir` (with a warning).
fn public_keys_or_default(dir: &Path, files: &[PathBuf]) -> Result<Vec<VerifyingKey>, String> {
    if files.is_empty() {
        let path = dir.join(garrison_audit::PUBLIC_KEY_FILE);
        eprintln!(
            "garrison: warning: verifying with {}, the public key stored beside the log; in production verify against the published key kept elsewhere (--public-key)",
            path.display()
        );
        return garrison_audit::read_public_key(&path)
            .map(|k| vec![k])
            .map_err(|e| e.to_string());
    }
    files
        .iter()
        .map(|f| garrison_audit::read_public_key(f).map_err(|e| e.to_string()))
        .collect()
}

/// The identifier (from the command line, or standard input for `-`) and the subject keys.
/// Never prints the identifier.
fn subject_and_keys(args: &SubjectArgs) -> Result<Option<(String, Vec<SubjectKey>)>, String> {
    let (Some(subject), Some(file)) = (&args.subject, &args.subject_keys) else {
        return Ok(None);
    };
    let loaded = garrison_audit::read_subject_keys(file).map_err(|e| e.to_string())?;
    if let Some(warning) = &loaded.permissions_warning {
        eprintln!("garrison: warning: {warning}");
    }
    let identifier = if subject == "-" {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("reading the subject from standard input: {e}"))?;
        line.trim().to_owned()
    } else {
        subject.clone()
    };
    if identifier.is_empty() {
        return Err("the subject identifier is empty".to_owned());
    }
    Ok(Some((identifier, loaded.keys)))
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
