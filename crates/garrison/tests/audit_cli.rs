//! `garrison audit …` on a real audit store written with the library: verify (intact, then
//! tampered), search, the subject-access report, export and retention — and the subject's
//! identifier never appearing in anything the commands print.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use garrison_audit::{
    AuditLog, AuditLogOptions, AuditRecord, Decision, PurposeHeader, SubjectKey, Timestamp,
};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

/// The two people the records are about, written as a user would type them.
const ALICE: &str = "AB 12 34 56 C";
const BOB: &str = "CD654321A";
/// Every spelling of the identifiers that must never be printed.
const IDENTIFIERS: [&str; 4] = [ALICE, "AB123456C", BOB, "cd654321a"];

const OLD_KEY: (&str, &str) = (
    "2025-07",
    "0707070707070707070707070707070707070707070707070707070707070707",
);
const NEW_KEY: (&str, &str) = (
    "2026-01",
    "0808080808080808080808080808080808080808080808080808080808080808",
);

struct Store {
    dir: PathBuf,
    keys_file: PathBuf,
}

/// One access: (request, consumer, subject, refused, day of January 2026).
type Access = (&'static str, &'static str, Option<&'static str>, bool, u32);

const ACCESSES: [Access; 6] = [
    ("req-1", "dvla", Some(ALICE), false, 1),
    ("req-2", "hmrc", Some(BOB), false, 2),
    ("req-3", "dvla", Some(BOB), true, 3),
    ("req-4", "hmrc", Some(ALICE), false, 4),
    ("req-5", "dvla", None, false, 5),
    ("req-6", "dwp", Some(BOB), false, 6),
];

/// Writes the six accesses with the library: small segments (several files), a checkpoint
/// every two records, and a subject-key rotation after the second record (so a subject search
/// must hash under both keys). The subject-keys file lists both keys, mode 0600.
async fn store(name: &str) -> Store {
    let base = garrison_testkit::temp_dir(name);
    let dir = base.join("audit");
    let options = AuditLogOptions {
        checkpoint_interval: 2,
        // Checkpoints by count only, so the layout is the same however slow the machine.
        checkpoint_max_age: std::time::Duration::from_secs(3600),
        segment_max_bytes: 1500,
        ..AuditLogOptions::default()
    };
    let log = AuditLog::open(&dir, options).await.expect("open audit log");
    let old = SubjectKey::from_hex(OLD_KEY.0, OLD_KEY.1).expect("old key");
    let new = SubjectKey::from_hex(NEW_KEY.0, NEW_KEY.1).expect("new key");
    for (i, (request, consumer, subject, refused, day)) in ACCESSES.into_iter().enumerate() {
        let decision = if refused {
            Decision::Refused {
                reason: "RESOURCE_FORBIDDEN".to_owned(),
            }
        } else {
            Decision::Allowed
        };
        let mut r = AuditRecord::new(request, "citizen", "getPerson", decision);
        r.time = Timestamp::parse(&format!("2026-01-{day:02}T10:00:00Z")).expect("time");
        r.consumer = Some(consumer.to_owned());
        r.application = Some(format!("{consumer}-app"));
        r.source_addr = Some("192.0.2.10".parse().expect("addr"));
        r.purpose.insert(
            PurposeHeader::Context,
            if consumer == "hmrc" {
                "tax-check"
            } else {
                "licence-application"
            }
            .to_owned(),
        );
        r.purpose
            .insert(PurposeHeader::PolicyId, "road-traffic-act-1988".to_owned());
        r.upstream_status = (!refused).then_some(200);
        if !refused {
            r.disclosed_fields = vec!["/name/family".to_owned(), "/dateOfBirth".to_owned()];
        }
        let key = if i < 2 { &old } else { &new };
        r.subject = subject.map(|id| key.hash(id));
        log.append(r).await.expect("append");
    }
    log.close().await.expect("close");

    let keys_file = base.join("subject-keys");
    std::fs::write(
        &keys_file,
        format!(
            "# subject keys: current first, then retired\n{} {}\n\n{} {}\n",
            NEW_KEY.0, NEW_KEY.1, OLD_KEY.0, OLD_KEY.1
        ),
    )
    .expect("write keys");
    set_mode(&keys_file, 0o600);
    Store { dir, keys_file }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

fn garrison(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run garrison")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and checks that nothing printed holds an identifier.
fn audit(args: &[&str]) -> Output {
    let out = garrison(args);
    assert_no_identifier(&out);
    out
}

/// `garrison audit verify --dir DIR --public-key KEY`.
fn verify_with_key(dir: &str, key: &str) -> Output {
    audit(&["audit", "verify", "--dir", dir, "--public-key", key])
}

fn assert_no_identifier(out: &Output) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    for id in IDENTIFIERS {
        for (name, stream) in [("stdout", &stdout), ("stderr", &stderr)] {
            assert!(
                !stream.to_uppercase().contains(&id.to_uppercase()),
                "{name} holds the identifier {id:?}:\n{stream}"
            );
        }
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The request ids in JSON-lines output, checking each line parses.
fn request_ids(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert!(v["seq"].is_u64(), "{line}");
            v["record"]["request_id"]
                .as_str()
                .expect("request_id")
                .to_owned()
        })
        .collect()
}

fn search(store: &Store, args: &[&str]) -> Vec<String> {
    search_dir(&store.dir, args)
}

#[tokio::test]
async fn verify_reports_an_intact_store_then_names_the_tampered_line() {
    let store = store("audit-verify").await;
    let dir = s(&store.dir);
    let segments = garrison_audit::list_segments(&store.dir).expect("segments");
    assert!(segments.len() > 1, "the test wants several segments");

    // Default key: the one beside the log, with a warning.
    let out = audit(&["audit", "verify", "--dir", dir]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with(&format!(
            "intact: 6 records, {cps} checkpoints (seq 1 to {last}) in {n} segments\n",
            cps = count_checkpoints(&store.dir),
            last = 6 + count_checkpoints(&store.dir),
            n = segments.len()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("(every entry is signed)"), "{stdout}");
    assert!(
        text(&out.stderr).contains("verify against the published key kept elsewhere"),
        "{}",
        text(&out.stderr)
    );

    // The published key given explicitly: no warning.
    let published = store.dir.parent().expect("base").join("published.pub");
    std::fs::copy(store.dir.join(garrison_audit::PUBLIC_KEY_FILE), &published).expect("copy");
    let out = verify_with_key(dir, s(&published));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");

    // Someone else's key: the first checkpoint's signature does not verify.
    let other = store_with_one_record("audit-verify-other").await;
    let other_key = other.join(garrison_audit::PUBLIC_KEY_FILE);
    let out = verify_with_key(dir, s(&other_key));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let first = segments[0].path.display().to_string();
    assert!(
        text(&out.stdout).starts_with(&format!(
            "{first} line 1 (seq 1): checkpoint signature invalid\n"
        )),
        "{}",
        text(&out.stdout)
    );

    // Edit one record (line 2 of the first segment: seq 2, the first record).
    let content = std::fs::read_to_string(&segments[0].path).expect("read segment");
    let mut lines: Vec<String> = content.lines().map(str::to_owned).collect();
    assert!(
        lines[1].contains("\"request_id\":\"req-1\""),
        "{}",
        lines[1]
    );
    lines[1] = lines[1].replace("\"consumer\":\"dvla\"", "\"consumer\":\"dvlx\"");
    std::fs::write(&segments[0].path, lines.join("\n") + "\n").expect("tamper");
    let out = verify_with_key(dir, s(&published));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "{first} line 2 (seq 2): hash mismatch (entry edited)\n"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("NOT INTACT"), "{stdout}");
    assert!(stdout.contains("before it, 1 entry verified"), "{stdout}");

    // Cannot read: exit 2.
    let missing = store.dir.join("absent");
    let out = audit(&["audit", "verify", "--dir", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("absent"),
        "{}",
        text(&out.stderr)
    );
    let out = verify_with_key(s(&missing), s(&published));
    assert_eq!(out.status.code(), Some(2));
}

fn count_checkpoints(dir: &Path) -> usize {
    garrison_audit::list_segments(dir)
        .expect("segments")
        .iter()
        .map(|seg| {
            std::fs::read_to_string(&seg.path)
                .expect("read")
                .lines()
                .filter(|l| l.contains("\"checkpoint\":"))
                .count()
        })
        .sum()
}

async fn store_with_one_record(name: &str) -> PathBuf {
    let dir = garrison_testkit::temp_dir(name);
    let log = AuditLog::open(&dir, AuditLogOptions::default())
        .await
        .expect("open");
    let r = AuditRecord::new("x", "citizen", "getPerson", Decision::Allowed);
    log.append(r).await.expect("append");
    log.close().await.expect("close");
    dir
}

#[tokio::test]
async fn search_finds_exactly_the_matching_records_in_each_format() {
    let store = store("audit-search").await;
    let keys = s(&store.keys_file);

    assert_eq!(search(&store, &["--consumer", "hmrc"]), ["req-2", "req-4"]);
    assert_eq!(
        search(&store, &["--consumer", "nobody"]),
        Vec::<String>::new()
    );
    // By subject: hashed under both keys, so records from before the rotation are found.
    assert_eq!(
        search(&store, &["--subject", ALICE, "--subject-keys", keys]),
        ["req-1", "req-4"]
    );
    assert_eq!(
        search(
            &store,
            &["--subject", "cd 654 321 a", "--subject-keys", keys]
        ),
        ["req-2", "req-3", "req-6"]
    );
    assert_eq!(
        search(
            &store,
            &[
                "--subject",
                BOB,
                "--subject-keys",
                keys,
                "--decision",
                "refused"
            ]
        ),
        ["req-3"]
    );
    assert_eq!(
        search(
            &store,
            &["--from", "2026-01-02", "--until", "2026-01-04T10:00:00Z"]
        ),
        ["req-2", "req-3"]
    );
    assert_eq!(
        search(&store, &["--purpose", "tax-check", "--api", "citizen"]),
        ["req-2", "req-4"]
    );
    assert_eq!(
        search(&store, &["--decision", "allowed", "--consumer", "dvla"]),
        ["req-1", "req-5"]
    );

    let dir = s(&store.dir);
    let out = audit(&["audit", "search", "--dir", dir, "--consumer", "dvla"]);
    assert_eq!(out.status.code(), Some(0));
    let table = text(&out.stdout);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(rows[0].starts_with("seq  time"), "{table}");
    assert!(
        rows[1].contains("req-1") && rows[3].contains("req-5"),
        "{table}"
    );
    assert!(rows[2].contains("refused:RESOURCE_FORBIDDEN"), "{table}");

    let out = audit(&[
        "audit",
        "search",
        "--dir",
        dir,
        "--format",
        "csv",
        "--consumer",
        "hmrc",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].starts_with("seq,time,request_id,consumer"), "{csv}");
    assert!(rows[1].contains(",req-2,hmrc,hmrc-app,"), "{csv}");

    // Usage errors: --subject needs keys; a bad time is named.
    let out = audit(&["audit", "search", "--dir", dir, "--subject", ALICE]);
    assert_eq!(out.status.code(), Some(2));
    let out = audit(&["audit", "search", "--dir", dir, "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("RFC 3339"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn the_subject_access_report_lists_every_access_without_the_identifier() {
    let store = store("audit-report").await;
    let (dir, keys) = (s(&store.dir), s(&store.keys_file));

    let out = audit(&[
        "audit",
        "report",
        "--dir",
        dir,
        "--subject",
        ALICE,
        "--subject-keys",
        keys,
    ]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "no warning for a 0600 keys file");
    assert!(
        report.starts_with("Accesses to this person's data: 2\n"),
        "{report}"
    );
    assert!(report.contains("who:    dvla / dvla-app"), "{report}");
    assert!(report.contains("who:    hmrc / hmrc-app"), "{report}");
    assert!(report.contains("why:    context=tax-check"), "{report}");
    assert!(
        report.contains("fields: /name/family, /dateOfBirth"),
        "{report}"
    );
    assert!(
        report.contains("request req-1") && report.contains("request req-4"),
        "{report}"
    );
    assert!(
        !report.contains("req-2") && !report.contains("req-5"),
        "{report}"
    );

    // The identifier from standard input (kept out of the process list and shell history).
    let mut child = Command::new(BIN)
        .args([
            "audit",
            "report",
            "--dir",
            dir,
            "--subject",
            "-",
            "--subject-keys",
            keys,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{BOB}\n").as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_no_identifier(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).starts_with("Accesses to this person's data: 3\n"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("result: refused:RESOURCE_FORBIDDEN"));

    // Someone nobody asked about.
    let out = audit(&[
        "audit",
        "report",
        "--dir",
        dir,
        "--subject",
        "ZZ999999Z",
        "--subject-keys",
        keys,
    ]);
    assert_eq!(text(&out.stdout), "Accesses to this person's data: 0\n");

    // A keys file others may read: the command warns, and still answers.
    set_mode(&store.keys_file, 0o644);
    let out = audit(&[
        "audit",
        "report",
        "--dir",
        dir,
        "--subject",
        ALICE,
        "--subject-keys",
        keys,
    ]);
    assert_eq!(out.status.code(), Some(0));
    #[cfg(unix)]
    assert!(
        text(&out.stderr).contains("mode 0644") && text(&out.stderr).contains("chmod 600"),
        "{}",
        text(&out.stderr)
    );

    // A broken keys file: named with its line, exit 2, no secret printed.
    std::fs::write(
        &store.keys_file,
        format!("{} {}\nbad\n", NEW_KEY.0, NEW_KEY.1),
    )
    .expect("w");
    let out = audit(&[
        "audit",
        "report",
        "--dir",
        dir,
        "--subject",
        ALICE,
        "--subject-keys",
        keys,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 2: expected `key-id hex-secret`"),
        "{stderr}"
    );
    assert!(!stderr.contains(NEW_KEY.1), "{stderr}");

    // The store itself holds no identifier either.
    for seg in garrison_audit::list_segments(&store.dir).expect("segments") {
        let content = std::fs::read_to_string(&seg.path)
            .expect("read")
            .to_uppercase();
        for id in IDENTIFIERS {
            assert!(
                !content.contains(&id.to_uppercase()),
                "{id} in {}",
                seg.path.display()
            );
        }
    }
}

#[tokio::test]
async fn export_verifies_offline_and_retention_keeps_the_rest_verifiable() {
    let store = store("audit-export").await;
    let dir = s(&store.dir);
    let published = store.dir.join(garrison_audit::PUBLIC_KEY_FILE);
    let export = store.dir.parent().expect("base").join("export");

    let out = audit(&[
        "audit",
        "export",
        "--dir",
        dir,
        "--out",
        s(&export),
        "--from",
        "2026-01-02",
        "--until",
        "2026-01-04",
        "--public-key",
        s(&published),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with(&format!("exported to {}\nintact: ", export.display())),
        "{stdout}"
    );
    // The third party's check: the export alone, with the published key.
    let out = verify_with_key(s(&export), s(&published));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let exported = search_dir(&export, &[]);
    assert!(exported.contains(&"req-2".to_owned()) && exported.contains(&"req-3".to_owned()));
    // Exporting into a non-empty directory is refused.
    let out = audit(&["audit", "export", "--dir", dir, "--out", s(&export)]);
    assert_eq!(out.status.code(), Some(2));

    // Retention: everything but the newest segment is older than 2100.
    let before = garrison_audit::list_segments(&store.dir)
        .expect("segments")
        .len();
    let out = audit(&["audit", "retain", "--dir", dir, "--before", "2100-01-01"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.ends_with(&format!(
            "{} segment{} removed (last entry before 2100-01-01T00:00:00.000000Z)\n",
            before - 1,
            if before == 2 { "" } else { "s" }
        )),
        "{stdout}"
    );
    assert_eq!(
        garrison_audit::list_segments(&store.dir)
            .expect("segments")
            .len(),
        1
    );
    let out = verify_with_key(dir, s(&published));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("older segments were removed"), "{stdout}");
}

fn search_dir(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["audit", "search", "--dir", s(dir), "--format", "jsonl"];
    all.extend_from_slice(args);
    let out = audit(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    request_ids(&text(&out.stdout))
}
