//! How many records per second the writer sustains on this machine (every record acknowledged
//! after fsync, or after its write with `write`), and how long searches over them take: by
//! subject with the segments' indexes, by subject scanning every segment (indexes removed), and
//! by a one-second time range. The records are about `records / 10` people, so a person has
//! about ten. Not a test: run it in release and read the figures.
//!
//! ```sh
//! cargo run --release -p garrison-audit --example writer_throughput -- \
//!     [records] [concurrency] [fsync|write] [directory]
//! ```

use std::time::Instant;

use garrison_audit::{
    AuditLog, AuditLogOptions, AuditRecord, Decision, Durability, PurposeHeader, SearchFilter,
    SubjectKey,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(256);
    let durability = match args.next().as_deref() {
        None | Some("fsync") => Durability::Fsync,
        Some("write") => Durability::Write {
            sync_interval: std::time::Duration::from_millis(100),
        },
        Some(other) => {
            return Err(format!("durability: expected fsync or write, not {other}").into());
        }
    };
    let parent = args
        .next()
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let dir = parent.join(format!("garrison-audit-bench-{}", std::process::id()));
    let people = (total / 10).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let key = SubjectKey::generate("bench")?;
    let elapsed = rt.block_on(async {
        let options = AuditLogOptions {
            durability,
            ..Default::default()
        };
        let log = AuditLog::open(&dir, options).await?;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..concurrency {
            let (log, key) = (log.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                for i in (t..total).step_by(concurrency) {
                    let mut r = AuditRecord::new(
                        format!("req-{i}"),
                        "citizen",
                        "getPerson",
                        Decision::Allowed,
                    );
                    r.consumer = Some("dvla".to_owned());
                    r.purpose
                        .insert(PurposeHeader::Context, "licence-application".to_owned());
                    r.disclosed_fields = vec!["/name".to_owned(), "/dateOfBirth".to_owned()];
                    r.subject = Some(key.hash(&person(i.wrapping_mul(7919) % people)));
                    log.append(r).await?;
                }
                Ok::<(), garrison_audit::AuditError>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let elapsed = start.elapsed();
        log.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(elapsed)
    })?;
    let bytes: u64 = garrison_audit::list_segments(&dir)?
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    let segments = garrison_audit::list_segments(&dir)?;
    println!(
        "{total} records ({durability:?}), {concurrency} concurrent appenders: {:.0} records/s \
         stored, {:.0} bytes/record, {} segments, {:.2} GB",
        total as f64 / elapsed.as_secs_f64(),
        bytes as f64 / total as f64,
        segments.len(),
        bytes as f64 / 1e9
    );
    let keys = std::slice::from_ref(&key);
    let timed = |what: &str, filter: &SearchFilter| -> Result<(), garrison_audit::AuditError> {
        let start = Instant::now();
        let found = garrison_audit::search(&dir, filter)?;
        println!(
            "{what} over {total} records: {:.3} s ({} found)",
            start.elapsed().as_secs_f64(),
            found.len()
        );
        Ok(())
    };
    timed(
        "subject search, indexed",
        &SearchFilter::default().subject(&person(7), keys),
    )?;
    timed(
        "subject search, indexed",
        &SearchFilter::default().subject(&person(people / 2), keys),
    )?;
    // One second in the middle of the run.
    if let Some(seg) = segments.get(segments.len() / 2) {
        let first = std::fs::read_to_string(&seg.path)?;
        if let Some(line) = first.lines().nth(1) {
            let entry: garrison_audit::StoredEntry = serde_json::from_str(line)?;
            let from = entry.time();
            let until = garrison_audit::Timestamp::from_unix_micros(from.unix_micros() + 1_000_000);
            timed(
                "one-second time range, indexed",
                &SearchFilter {
                    from: Some(from),
                    until: Some(until),
                    ..Default::default()
                },
            )?;
        }
    }
    for seg in &segments {
        let _ = std::fs::remove_file(seg.path.with_extension("index"));
    }
    timed(
        "subject search, full scan",
        &SearchFilter::default().subject(&person(7), keys),
    )?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The NI-number-shaped identifier of person `n` (synthetic: the `AB` prefix).
fn person(n: usize) -> String {
    format!("AB{n:06}C")
}
