#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and integration tests,
# the validation of every shipped configuration, the portal's end-to-end tests in a real
# headless Chromium (scripts/e2e.sh installs Debian's chromium and playwright-core from npm
# when they are missing), and the file transfer tests with a real tus client (a Python venv).
# Needs a Rust toolchain, Python 3 (with venv), Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tus client (tuspy) for the file transfer tests"
# A real third-party tus client uploads through the gateway in
# crates/garrison-gateway/tests/tus_client.rs; it lives in a virtual environment beside the
# build, created once.
mkdir -p "${CARGO_TARGET_DIR:-target}"
venv="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/tus-venv"
if ! "$venv/bin/python" -c "import tusclient" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "tuspy==1.1.0"
fi
export GARRISON_TUS_PYTHON="$venv/bin/python"

echo "== cargo test"
cargo test --workspace --locked

echo "== 1 GiB through a file transfer service with bounded memory (on its own, ~2 min)"
# (--workspace: the same features as the run above, so nothing is rebuilt.)
cargo test --workspace --locked --test transfer_large -- --ignored

echo "== end-to-end tests of the portal (headless Chromium)"
./scripts/e2e.sh
