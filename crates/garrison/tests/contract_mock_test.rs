//! `garrison contract mock` and `garrison contract test` as a team uses them: a contract served
//! as a mock passes its own contract test; a backend that drifts from the contract fails it,
//! with a curl command reproducing each failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

fn citizen_match() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/citizen-match.yaml")
}

/// A running `garrison contract mock`, killed when dropped.
struct Mock {
    child: Child,
    url: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mock(contract: &Path) -> Mock {
    let mut child = Command::new(BIN)
        .args(["contract", "mock", "--listen", "127.0.0.1:0"])
        .arg(contract)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run garrison contract mock");
    // Log lines come first; the banner says where the mock listens.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines
        .find_map(|l| l.ok().filter(|l| l.starts_with("Mocking")))
        .expect("the mock prints where it listens");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();
    Mock { child, url }
}

fn contract_test(contract: &Path, base_url: &str) -> Output {
    Command::new(BIN)
        .args([
            "contract",
            "test",
            "--cases",
            "5",
            "--seed",
            "7",
            "--base-url",
            base_url,
        ])
        .arg(contract)
        .output()
        .expect("run garrison contract test")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_mock_serves_the_contract_and_passes_its_own_contract_test() {
    let mock = start_mock(&citizen_match());
    let out = contract_test(&citizen_match(), &mock.url);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("to 1 operation:"), "{text}");
    assert!(text.contains(", 0 failing"), "{text}");
    // The invalid half of the cases was refused by the mock's validation, as it should be.
    assert!(!text.contains("FAIL"), "{text}");
}

/// A backend that has drifted: it answers `200 {}` to everything.
fn drifting_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Read the head and the body the head announces, then answer.
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            let mut wanted = None;
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if wanted.is_none()
                    && let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n")
                {
                    let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    wanted = Some(end + 4 + length);
                }
                if wanted.is_some_and(|w| seen.len() >= w) {
                    break;
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
            );
        }
    });
    addr
}

#[test]
fn a_drifting_backend_fails_with_a_reproduction_for_each_failure() {
    let addr = drifting_backend();
    let base = format!("http://{addr}");
    let out = contract_test(&citizen_match(), &base);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL POST /capi/v2/citizens/match (matchCitizen)"),
        "{text}"
    );
    // Valid requests: the answer lacks what the contract requires.
    assert!(text.contains("response /body/data: "), "{text}");
    // Invalid requests: accepted when they should have been refused.
    assert!(
        text.contains("an invalid request was accepted with 200"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "reproduce: curl -X POST '{base}/capi/v2/citizens/match"
        )),
        "{text}"
    );
    assert!(text.contains(": 0 conforming,"), "{text}");
}

#[test]
fn a_test_that_cannot_run_exits_2_and_says_why() {
    let out = Command::new(BIN)
        .args(["contract", "test", "--base-url", "ftp://example"])
        .arg(citizen_match())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected an http:// or https:// URL"));
    let out = Command::new(BIN)
        .args(["contract", "test", "--base-url", "https://127.0.0.1:1"])
        .arg(citizen_match())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca"));
}
