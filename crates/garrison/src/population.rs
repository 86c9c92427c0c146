//! `garrison population generate`: build the synthetic citizen population into its store.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Subcommand;
use garrison_citizen::{DEFAULT_SEED, Population, Store};

#[derive(Subcommand)]
pub(crate) enum PopulationCommand {
    /// Generate a synthetic population (people, addresses, households, benefit claims with
    /// awards, earnings) into an SQLite store. The same seed always gives the same people;
    /// an existing store at --store is replaced once the new one is complete.
    Generate {
        /// How many people.
        #[arg(long, default_value_t = 100_000)]
        people: u64,
        /// Seed of the generator: the same seed gives the same people. The default is a date,
        /// 5 July 1948, when the NHS and National Insurance began.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// The store file to write.
        #[arg(long, default_value = ".garrison/population.db")]
        store: PathBuf,
    },
}

pub(crate) fn population(command: PopulationCommand) -> ExitCode {
    match command {
        PopulationCommand::Generate {
            people,
            seed,
            store,
        } => generate(people, seed, store),
    }
}

fn generate(people: u64, seed: u64, store: PathBuf) -> ExitCode {
    let started = Instant::now();
    let mut bar = ProgressBar::new(people);
    let result = Store::build(&store, Population::new(seed), people, |done| {
        bar.update(done)
    });
    bar.finish();
    match result {
        Ok(summary) => {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{} people (seed {seed}) in {secs:.1} s, {:.0} people/s: {} ({}; {} addresses, \
                 {} claims, {} awards, {} earnings rows)",
                summary.people,
                summary.people as f64 / secs.max(1e-9),
                store.display(),
                human_bytes(summary.file_bytes),
                summary.addresses,
                summary.claims,
                summary.awards,
                summary.earnings,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("garrison: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A one-line progress bar on stderr, redrawn at most five times a second; on a terminal only,
/// so logs and pipes are not filled with carriage returns.
struct ProgressBar {
    total: u64,
    started: Instant,
    drawn: Option<Instant>,
    enabled: bool,
}

impl ProgressBar {
    const WIDTH: usize = 30;
    const EVERY: Duration = Duration::from_millis(200);

    fn new(total: u64) -> Self {
        ProgressBar {
            total,
            started: Instant::now(),
            drawn: None,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, done: u64) {
        if !self.enabled || self.drawn.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        self.drawn = Some(Instant::now());
        let fraction = if self.total == 0 {
            1.0
        } else {
            done as f64 / self.total as f64
        };
        let filled = ((fraction * Self::WIDTH as f64) as usize).min(Self::WIDTH);
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:>3.0}% {done}/{} people, {rate:.0}/s ",
            "#".repeat(filled),
            " ".repeat(Self::WIDTH - filled),
            fraction * 100.0,
            self.total,
        );
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.enabled && self.drawn.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= 1024.0 * MIB {
        format!("{:.2} GiB", bytes as f64 / (1024.0 * MIB))
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB)
    }
}
