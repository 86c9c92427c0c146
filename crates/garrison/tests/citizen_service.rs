//! `garrison citizen serve` as the gateway sees it: started from the command line over a
//! generated store, it answers `garrison contract test` for each of the citizen contracts
//! without a single non-conforming answer.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use garrison_citizen::{Population, Store};

const BIN: &str = env!("CARGO_BIN_EXE_garrison");

/// A running `garrison citizen serve`, killed when dropped.
struct Service {
    child: Child,
    url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(store: &Path) -> Service {
    let mut child = Command::new(BIN)
        .args([
            "--workers",
            "1",
            "citizen",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
        ])
        .arg(store)
        .env("GARRISON_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run garrison citizen serve");
    // The JSON log line announcing the listener carries the bound address.
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let address = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .find_map(|v| {
            (v["fields"]["message"] == "citizen service listening")
                .then(|| v["fields"]["address"].as_str().map(str::to_owned))
                .flatten()
        })
        .expect("the service announces its address");
    Service {
        child,
        url: format!("http://{address}"),
    }
}

fn contract(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../contracts/citizen-{name}.yaml"))
}

#[test]
fn the_citizen_service_passes_the_contract_test_of_every_citizen_contract() {
    let dir = garrison_testkit::temp_dir("citizen-service");
    let store = dir.join("population.db");
    Store::build(&store, Population::new(3), 2_000, |_| {}).expect("build the store");
    let service = start(&store);
    for name in ["match", "details", "address", "claims", "income"] {
        let output = Command::new(BIN)
            .args(["contract", "test"])
            .arg(contract(name))
            .args(["--base-url", &service.url, "-H", "garrison-consumer: test"])
            .output()
            .expect("run garrison contract test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "citizen-{name}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains(", 0 failing"), "citizen-{name}: {stdout}");
    }
    // Without the gateway's consumer header every answer is a 403, which each contract
    // documents: the test still passes, but nothing is served.
    let output = Command::new(BIN)
        .args(["contract", "test"])
        .arg(contract("match"))
        .args(["--base-url", &service.url])
        .output()
        .expect("run garrison contract test");
    assert!(output.status.success(), "{output:?}");
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}
