//! How many records per second the writer sustains on this machine, with every record
//! acknowledged only after fsync, and how long a subject search over them takes. Not a test:
//! run it in release and read the figures.
//!
//! ```sh
//! cargo run --release -p garrison-audit --example writer_throughput -- [records] [concurrency]
//! ```

use std::time::Instant;

use garrison_audit::{
    AuditLog, AuditLogOptions, AuditRecord, Decision, PurposeHeader, SearchFilter, SubjectKey,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(256);
    let dir = std::env::temp_dir().join(format!("garrison-audit-bench-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let key = SubjectKey::generate("bench")?;
    let elapsed = rt.block_on(async {
        let log = AuditLog::open(&dir, AuditLogOptions::default()).await?;
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
                    r.subject = Some(key.hash(&format!("AB{i:06}C")));
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
    println!(
        "{total} records, {concurrency} concurrent appenders: {:.0} records/s durable, {:.0} bytes/record",
        total as f64 / elapsed.as_secs_f64(),
        bytes as f64 / total as f64
    );
    let start = Instant::now();
    let filter = SearchFilter::default().subject("AB000007C", std::slice::from_ref(&key));
    let found = garrison_audit::search(&dir, &filter)?;
    println!(
        "subject search over {total} records: {:.2} s ({} found)",
        start.elapsed().as_secs_f64(),
        found.len()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
