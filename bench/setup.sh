#!/usr/bin/env bash
# Installs what bench/run.sh needs besides the Rust toolchain, from Debian's packages: nginx
# (the proxy under test and the shared upstream), HAProxy, and wrk (for ad-hoc checks).
# Idempotent: apt-get install leaves packages that are already installed as they are.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light haproxy wrk

# The tools run.sh calls besides those; on Debian they are normally present already.
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# The packages may start system services on install; the benchmark runs its own instances
# on 127.0.0.1 high ports, so stop the system ones if they run (they would share the cores).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl stop nginx haproxy 2>/dev/null || true
fi
# (awk rather than head: with pipefail, head closing the pipe early can fail the command.)
echo "bench/setup.sh: nginx $(nginx -v 2>&1 | sed 's|.*/||'), $(haproxy -v | awk 'NR == 1 {print $1, $3}'), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
