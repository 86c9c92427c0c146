//! The small command-line tools: `config check`, `contract lint|diff`, `key generate|digest`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use garrison_core::{ApiKey, Environment};

#[derive(Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate a configuration file and report every problem with file, line and field.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum ContractCommand {
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
    /// Find breaking changes between two versions of a contract. Exit status: 0 no breaking
    /// change (or none at --fail-on's level), 1 at least one, 2 a contract that cannot load.
    Diff {
        /// The old contract.
        old: PathBuf,
        /// The new contract.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
        format: DiffFormat,
        /// The lowest level that makes the exit status 1.
        #[arg(long = "fail-on", value_enum, default_value_t = FailOn::Breaking)]
        fail_on: FailOn,
    },
    /// Serve a contract as a validating mock: requests are checked against it, responses come
    /// from its examples or are generated from its schemas (`Prefer: code=…, example=…,
    /// dynamic=true` picks one).
    Mock {
        /// The contract.
        file: PathBuf,
        /// Address to listen on (plain HTTP).
        #[arg(long, default_value = "127.0.0.1:4010")]
        listen: String,
        /// Admin address (health, metrics).
        #[arg(long, default_value = "127.0.0.1:0")]
        admin: String,
        /// Prefix of every path (default: none, the paths as the contract writes them).
        #[arg(long, default_value = "")]
        base_path: String,
    },
    /// Property-based contract testing of a running backend: requests generated from the
    /// contract (valid ones, and ones breaking one rule each) are sent to --base-url and every
    /// answer is checked against the contract; each failure is printed with a curl command
    /// that reproduces it. Exit status: 0 all conform, 1 a failure, 2 the test cannot run.
    Test {
        /// The contract.
        file: PathBuf,
        /// Where the API is served, including any base path (http:// or https://).
        #[arg(long)]
        base_url: String,
        /// Valid requests per operation (invalid ones are added for each rule they break).
        #[arg(long, default_value_t = 10)]
        cases: usize,
        /// Seed of the generator: the same seed sends the same requests.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A header added to every request, such as credentials: "name: value" (repeatable).
        #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// CA certificate (PEM) that issued the server's certificate, for https://.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Client certificate (PEM), for mutual TLS.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The client certificate's private key (PEM).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// Time allowed for each answer, in seconds.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DiffFormat {
    /// `[level check-id] old|new:pointer: message`, grouped by level.
    Human,
    /// A Markdown changelog.
    Markdown,
    /// One JSON document.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FailOn {
    /// Exit 1 on a breaking change.
    Breaking,
    /// Exit 1 on a breaking change or a warning.
    Warning,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LintFormat {
    /// `file: pointer: [severity rule-id] message`, one finding a line.
    Human,
    /// One JSON document.
    Json,
}

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
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

pub(crate) fn check(file: &Path) -> ExitCode {
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

pub(crate) fn contract_lint(
    files: &[PathBuf],
    format: LintFormat,
    severities: &[String],
) -> ExitCode {
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

pub(crate) fn contract_diff(
    old: &Path,
    new: &Path,
    format: DiffFormat,
    fail_on: FailOn,
) -> ExitCode {
    let report = match garrison_contract::diff_files(old, new) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match format {
        DiffFormat::Human => report.to_text(),
        DiffFormat::Markdown => report.to_markdown(),
        DiffFormat::Json => format!("{:#}\n", report.to_json()),
    };
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    let fail_on = match fail_on {
        FailOn::Breaking => garrison_contract::Level::Breaking,
        FailOn::Warning => garrison_contract::Level::Warning,
    };
    ExitCode::from(report.exit_code(fail_on))
}

pub(crate) fn key(command: KeyCommand) -> ExitCode {
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
