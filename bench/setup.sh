#!/usr/bin/env bash
# Installs what bench/run.sh needs besides the Rust toolchain: nginx (proxy under test and
# the shared upstream), HAProxy, wrk (for ad-hoc checks), and the tools the script uses.
# Idempotent: apt-get install does nothing for packages already installed.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light haproxy wrk openssl util-linux procps

# The Debian packages start system services on install; the benchmark runs its own
# instances on 127.0.0.1 high ports, so stop the system ones if they are running (they would
# otherwise share the cores being measured).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl stop nginx haproxy 2>/dev/null || true
fi
echo "bench/setup.sh: nginx $(nginx -v 2>&1 | sed 's|.*/||'), $(haproxy -v | head -n1 | cut -d' ' -f1-3), $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
