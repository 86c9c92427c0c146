//! A real third-party tus client — tuspy, the Python one — uploads through the gateway over
//! mutual TLS, is killed mid-upload, and a second run resumes where the first stopped; the
//! recipient then downloads the file intact.
//!
//! The client lives in a virtual environment that `scripts/test.sh` creates
//! (`$CARGO_TARGET_DIR/tus-venv`, or `GARRISON_TUS_PYTHON` names its interpreter). Without it
//! the test says so and passes — except under CI (`CI=true`), where it fails.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Harness, TRANSFER_BASE};
use sha2::{Digest, Sha256};

fn python() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("GARRISON_TUS_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let candidate = target.join("tus-venv/bin/python");
    candidate.exists().then_some(candidate)
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tus_client.py")
}

/// The offset recorded in the store for the one upload there, if any.
fn stored_offset(h: &Harness) -> Option<u64> {
    let files = h.dir.join("transfers/files");
    let entry = std::fs::read_dir(files).ok()?.flatten().next()?;
    let record = std::fs::read(entry.path().join("record.json")).ok()?;
    let record: serde_json::Value = serde_json::from_slice(&record).ok()?;
    record["offset"].as_u64()
}

#[tokio::test]
async fn tuspy_uploads_over_mtls_is_killed_mid_upload_and_resumes() {
    let Some(python) = python() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tuspy is missing under CI: scripts/test.sh creates target/tus-venv"
        );
        eprintln!("SKIPPED: no tuspy virtual environment (run scripts/test.sh to create it)");
        return;
    };
    let h = Harness::start(common::transfer_setup("1h", "1h")).await;
    let alice = h.consumer("alice");
    let ca = h.dir.join("tus-ca.pem");
    let cert = h.dir.join("alice.pem");
    let key = h.dir.join("alice.key");
    std::fs::write(&ca, &h.pki.ca.cert().cert_pem).expect("ca");
    std::fs::write(&cert, &alice.cert.cert_pem).expect("cert");
    std::fs::write(&key, &alice.cert.key_pem).expect("key");
    let data: Vec<u8> = (0..(4 << 20) + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = h.dir.join("assessment.pdf");
    std::fs::write(&file, &data).expect("file");
    let settings = |slow: bool| {
        serde_json::json!({
            "url": format!("https://localhost:{}{TRANSFER_BASE}/uploads", h.addr.port()),
            "api_key": alice.key,
            "ca": ca,
            "cert": cert,
            "key": key,
            "file": file,
            "storage": h.dir.join("tus-urls.json"),
            "chunk_size": 256 * 1024,
            "recipient": "bob-inbox",
            "document_type": "medical-assessment",
            "slow": slow,
        })
        .to_string()
    };

    // First run: slow, killed once part of the file is stored.
    let mut first = Command::new(&python)
        .arg(script())
        .arg(settings(true))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tuspy");
    let mut at_kill = None;
    for _ in 0..400 {
        if let Some(offset) = stored_offset(&h).filter(|&o| o >= 512 * 1024) {
            at_kill = Some(offset);
            break;
        }
        if let Ok(Some(status)) = first.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut e) = first.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("tuspy ended early ({status}): {err}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    first.kill().expect("kill tuspy");
    let _ = first.wait();
    let at_kill = at_kill.expect("part of the upload was stored before the kill");
    assert!(at_kill < data.len() as u64, "killed mid-upload");

    // Second run: the same client resumes from the stored URL and the gateway's offset.
    let output = tokio::task::spawn_blocking({
        let python = python.clone();
        let settings = settings(false);
        move || {
            Command::new(&python)
                .arg(script())
                .arg(settings)
                .output()
                .expect("run tuspy")
        }
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().expect("a line"))
        .unwrap_or_else(|e| panic!("tuspy printed {stdout:?}: {e}"));
    let start = result["start"]
        .as_u64()
        .expect("the second run resumed an upload");
    assert!(
        start >= at_kill,
        "resumed from {start}, at least what was stored at the kill ({at_kill})"
    );
    assert!(start < data.len() as u64);
    assert_eq!(result["end"].as_u64(), Some(data.len() as u64));
    let url = result["url"].as_str().expect("url");
    let id = url.rsplit('/').next().expect("id");

    // The recipient downloads it intact.
    let download = h
        .get_as(
            "bob",
            &format!("{TRANSFER_BASE}/inboxes/bob-inbox/files/{id}"),
        )
        .await;
    assert_eq!(download.status(), 200);
    assert_eq!(Sha256::digest(download.body()), Sha256::digest(&data));
}
