//! `garrison transfer …`: master keys of the file transfer services.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum TransferCommand {
    /// Print a key-ring line holding a new random master key: put it first in a transfer
    /// service's `master_keys` file to make it the current key (keep the old lines until
    /// `rotate-key` has re-wrapped every file).
    KeyGenerate {
        /// The new key's id (letters, digits, '-', '_', '.').
        #[arg(long)]
        id: String,
    },
    /// Re-wrap every file's data key under the current (first) master key of each transfer
    /// service of a configuration. Files are not rewritten; afterwards the old keys can be
    /// removed from the key ring. Run it with the gateway stopped: it refuses a store that a
    /// running gateway holds.
    RotateKey {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Only this transfer service.
        #[arg(long)]
        transfer: Option<String>,
    },
}

pub(crate) fn transfer(command: TransferCommand) -> ExitCode {
    match command {
        TransferCommand::KeyGenerate { id } => {
            match garrison_transfer::MasterKeys::generate_line(&id)
                .map_err(|e| e.to_string())
                .and_then(|line| {
                    garrison_transfer::MasterKeys::parse(&line, "new key")
                        .map(|_| line)
                        .map_err(|e| e.to_string())
                }) {
                Ok(line) => {
                    print!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("garrison transfer key-generate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        TransferCommand::RotateKey { config, transfer } => {
            let config = match garrison_config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    for p in &e.problems {
                        eprintln!("{p}");
                    }
                    return ExitCode::FAILURE;
                }
            };
            let mut status = ExitCode::SUCCESS;
            let mut found = false;
            for t in &config.transfers {
                if transfer.as_deref().is_some_and(|name| name != t.name) {
                    continue;
                }
                found = true;
                let result = garrison_transfer::LocalStore::open(&t.store)
                    .map_err(|e| e.to_string())
                    .and_then(|store| {
                        garrison_transfer::Transfers::new(Arc::new(store), t.master_keys.clone())
                            .rotate()
                            .map_err(|e| e.to_string())
                    });
                match result {
                    Ok(n) => println!(
                        "{}: {n} data key(s) re-wrapped under master key {:?}",
                        t.name,
                        t.master_keys.current_id()
                    ),
                    Err(e) => {
                        eprintln!("{}: {e}", t.name);
                        status = ExitCode::FAILURE;
                    }
                }
            }
            if !found {
                eprintln!("no such transfer service in the configuration");
                return ExitCode::FAILURE;
            }
            status
        }
    }
}
