#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and integration tests,
# and the validation of every shipped configuration. Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
