#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and integration tests,
# the validation of every shipped configuration, and the portal's end-to-end tests in a real
# headless Chromium (scripts/e2e.sh installs Debian's chromium and playwright-core from npm
# when they are missing). Needs a Rust toolchain, Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== end-to-end tests of the portal (headless Chromium)"
./scripts/e2e.sh
