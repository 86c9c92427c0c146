//! `garrison contract mock FILE`: one contract served as a validating mock, on its own.
//!
//! Nothing special-cased: it writes a configuration with one mocked, public API and runs the
//! gateway on it, so the standalone mock behaves exactly as a sandbox environment does.

use std::path::{Path, PathBuf};

use crate::gateway::{run_until_stopped, start};

/// The configuration of a standalone mock of `contract` on `listen` (plain HTTP).
fn config_text(contract: &Path, listen: &str, admin: &str, base_path: &str) -> String {
    // JSON strings are YAML strings: any path or address is quoted safely.
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "# Written by `garrison contract mock`: one contract served from its examples and schemas.\n\
         admin:\n  listen: {admin}\n\
         listeners:\n  - name: mock\n    address: {listen}\n\
         apis:\n  - name: mock\n    contract: {contract}\n    base_path: {base_path}\n    mock: true\n    auth: public\n",
        admin = quote(admin),
        listen = quote(listen),
        contract = quote(&contract.display().to_string()),
        base_path = quote(base_path),
    )
}

/// Serves `contract` as a mock until Ctrl-C or SIGTERM.
pub(crate) async fn mock(
    contract: PathBuf,
    listen: String,
    admin: String,
    base_path: String,
) -> Result<(), String> {
    let contract =
        std::path::absolute(&contract).map_err(|e| format!("{}: {e}", contract.display()))?;
    let dir = std::env::temp_dir().join(format!("garrison-mock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join("mock.yaml");
    std::fs::write(&config, config_text(&contract, &listen, &admin, &base_path))
        .map_err(|e| format!("{}: {e}", config.display()))?;
    let result = async {
        let gateway = start(&config).await?;
        let address = gateway
            .listen_addrs()
            .first()
            .map(|a| a.to_string())
            .unwrap_or_default();
        println!(
            "Mocking {} on http://{address}{base_path}\n  requests are validated against the contract; pick a response with\n  Prefer: code=404, example=<name>, dynamic=true",
            contract.display()
        );
        run_until_stopped(gateway).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
