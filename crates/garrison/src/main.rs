//! The `garrison` command: wiring only. Each subcommand loads what it needs from the library
//! crates and runs it; no policy is decided here.

// A proxy allocates and frees many small buffers per request (headers, bodies, futures);
// mimalloc's per-thread free lists serve that pattern with less work than the system
// allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod audit;
mod citizen;
mod citizens_demo;
mod contract_test;
mod gateway;
mod mock;
mod population;
mod portal_demo;
mod tools;
mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin::{AdminCommand, AdminTarget, admin};
use crate::audit::{AuditCommand, audit};
use crate::citizen::{CitizenCommand, citizen};
use crate::gateway::{serve, up};
use crate::population::{PopulationCommand, population};
use crate::tools::{
    ConfigCommand, ContractCommand, KeyCommand, check, contract_diff, contract_lint, key,
};
use crate::transfer::{TransferCommand, transfer};

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
        /// The web portal's address (the API library's pages).
        #[arg(long, default_value = "127.0.0.1:8080")]
        portal: String,
        /// Demo upstream address (written into a new configuration).
        #[arg(long, default_value = "127.0.0.1:8082")]
        upstream: SocketAddr,
        /// Citizen service address (written into a new configuration).
        #[arg(long, default_value = "127.0.0.1:8090")]
        citizens: SocketAddr,
        /// People in the synthetic population, when it is first generated.
        #[arg(long, default_value_t = 100_000)]
        people: u64,
        /// Leave a new control-plane store empty instead of putting the demo library in it
        /// (the configuration's APIs, two organisations, two sign-ins, a plan).
        #[arg(long)]
        no_demo_library: bool,
    },
    /// Run the gateway from a configuration file (reloaded on change, SIGHUP or
    /// POST /admin/reload).
    Serve {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Also serve the web portal on this address (needs a `control_plane` section).
        #[arg(long)]
        portal: Option<String>,
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
    /// The control plane through the admin REST API: organisations, users, applications,
    /// keys, certificates, allow-lists, subscriptions (docs/portal.md).
    Admin {
        #[command(flatten)]
        target: AdminTarget,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Verify, search, report on, export and prune the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with the synthetic citizen population behind the citizen APIs.
    Population {
        #[command(subcommand)]
        command: PopulationCommand,
    },
    /// Run the granular citizen APIs over a population store.
    Citizen {
        #[command(subcommand)]
        command: CitizenCommand,
    },
    /// Manage the master keys of the file transfer services.
    Transfer {
        #[command(subcommand)]
        command: TransferCommand,
    },
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
        Command::Contract {
            command:
                ContractCommand::Diff {
                    old,
                    new,
                    format,
                    fail_on,
                },
        } => contract_diff(&old, &new, format, fail_on),
        Command::Contract {
            command:
                ContractCommand::Mock {
                    file,
                    listen,
                    admin,
                    base_path,
                },
        } => run(cli.workers, || mock::mock(file, listen, admin, base_path)),
        Command::Contract {
            command:
                ContractCommand::Test {
                    file,
                    base_url,
                    cases,
                    seed,
                    headers,
                    ca,
                    cert,
                    key,
                    timeout,
                },
        } => contract_test::run(contract_test::TestRun {
            file,
            base_url,
            cases_per_operation: cases,
            seed,
            headers,
            ca,
            cert,
            key,
            timeout: std::time::Duration::from_secs(timeout),
        }),
        Command::Key { command } => key(command),
        Command::Admin { target, command } => admin(target, command),
        Command::Transfer { command } => transfer(command),
        Command::Audit { command } => audit(command),
        Command::Population { command } => population(command),
        Command::Citizen { command } => run(cli.workers, || citizen(command)),
        Command::Serve { config, portal } => run(cli.workers, || serve(config, portal)),
        Command::Up {
            data_dir,
            listen,
            admin,
            portal,
            upstream,
            citizens,
            people,
            no_demo_library,
        } => run(cli.workers, || {
            up(gateway::UpOptions {
                data_dir,
                listen,
                admin,
                portal,
                upstream,
                citizens,
                people,
                demo_library: !no_demo_library,
            })
        }),
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
