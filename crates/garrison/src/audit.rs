//! `garrison audit …`: verify, search, report, export and retain, over the audit library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use garrison_audit::{SearchFilter, SubjectKey, Timestamp, VerifyReport, VerifyingKey};

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
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
pub(crate) struct TimeRange {
    /// Records at or after this time: RFC 3339 UTC (2026-01-31T12:00:00Z) or a date.
    #[arg(long, value_parser = parse_time)]
    from: Option<Timestamp>,
    /// Records before this time (exclusive): RFC 3339 UTC or a date.
    #[arg(long, value_parser = parse_time)]
    until: Option<Timestamp>,
}

#[derive(clap::Args)]
pub(crate) struct SubjectArgs {
    /// The data subject's identifier (e.g. a NINO), hashed with every key of --subject-keys;
    /// `-` reads it from standard input, keeping it out of shell history and the process list.
    #[arg(long, value_name = "ID", requires = "subject_keys")]
    subject: Option<String>,
    /// The subject-keys file: `key-id hex-secret` a line, `#` comments (see docs/audit.md).
    #[arg(long = "subject-keys", value_name = "FILE", requires = "subject")]
    subject_keys: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DecisionArg {
    /// Requests let through.
    Allowed,
    /// Requests refused.
    Refused,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SearchFormat {
    /// Aligned columns.
    Table,
    /// One JSON object a line: {"seq":…,"record":{…}}.
    Jsonl,
    /// CSV with a header row (RFC 4180).
    Csv,
}

pub(crate) fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|e| e.to_string())
}

/// Exit status of the audit commands when the store or a key cannot be read.
pub(crate) const AUDIT_CANNOT_READ: u8 = 2;

pub(crate) fn audit(command: AuditCommand) -> ExitCode {
    match run_audit(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("garrison: {e}");
            ExitCode::from(AUDIT_CANNOT_READ)
        }
    }
}

pub(crate) fn run_audit(command: AuditCommand) -> Result<ExitCode, String> {
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

pub(crate) fn print_verify(out: &mut impl Write, report: &VerifyReport) -> ExitCode {
    let _ = out.write_all(report.summary().as_bytes());
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The public keys in `files`, or the one published inside `dir` (with a warning).
pub(crate) fn public_keys_or_default(
    dir: &Path,
    files: &[PathBuf],
) -> Result<Vec<VerifyingKey>, String> {
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
pub(crate) fn subject_and_keys(
    args: &SubjectArgs,
) -> Result<Option<(String, Vec<SubjectKey>)>, String> {
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
