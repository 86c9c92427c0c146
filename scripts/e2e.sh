#!/usr/bin/env bash
# End-to-end tests of the web portal in a real headless Chromium driven by Playwright:
# installs what they need (Debian's chromium, playwright-core from npm), builds garrison,
# runs `garrison up` on free loopback ports in a temporary directory, and runs e2e/*.test.mjs
# with node's test runner. Screenshots are kept in e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
  echo "== installing chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null; then
  echo "node is required (Debian package nodejs)" >&2
  exit 1
fi

echo "== npm install (playwright-core)"
(cd e2e && npm install --no-audit --no-fund --silent)

echo "== cargo build -p garrison"
cargo build -p garrison --locked
export GARRISON_BIN="${CARGO_TARGET_DIR:-target}/debug/garrison"

echo "== e2e tests"
mkdir -p e2e/artifacts
node --test e2e/
