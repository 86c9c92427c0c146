#!/usr/bin/env bash
# Secure file transfer throughput: a SIZE_MB file (default 1024) uploaded and downloaded
# through Garrison over mutual TLS — a tus creation-with-upload in one streamed request, then
# the recipient's download — against nginx as a plain TLS proxy with the same client
# certificate requirement, writing the same file to disk (WebDAV PUT) and serving it back.
# curl is the client for both. Reports MB/s, the server's CPU time per MB and its peak memory.
#
#   bench/transfer.sh                 # builds target/release/garrison if needed
#   SIZE_MB=256 bench/transfer.sh
#
# Garrison does more per byte than nginx here, on purpose: it encrypts every 1 MiB segment
# (AES-256-GCM), fsyncs each one before it counts it as stored (nginx never fsyncs), reads the
# whole file back at completion to verify it and compute its SHA-256, and decrypts and verifies
# on download. The figures say what that costs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
SIZE_MB=${SIZE_MB:-1024}
scratch="$root/bench/scratch/transfer"
bin=${GARRISON_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/garrison}
if [ ! -x "$bin" ]; then
    cargo build --release -p garrison
fi
rm -rf "$scratch"
mkdir -p "$scratch"
size=$((SIZE_MB << 20))
head -c "$size" /dev/urandom > "$scratch/file"
tick=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk "/$2:/ {print \$2}" "/proc/$1/status"; }
report() { # name pid t0 t1 c0 c1 rss0
    local mbs ms_per_mb
    mbs=$(awk -v s="$size" -v a="$3" -v b="$4" 'BEGIN {printf "%.0f", s / 1e6 / (b - a)}')
    ms_per_mb=$(awk -v s="$size" -v a="$5" -v b="$6" -v t="$tick" 'BEGIN {printf "%.2f", (b - a) / t * 1000 / (s / 1e6)}')
    printf '| %s | %s MB/s | %s ms | %s MiB | %s MiB |\n' "$1" "$mbs" "$ms_per_mb" \
        "$(( $7 / 1024 ))" "$(( $(rss_kb "$2" VmHWM) / 1024 ))"
}
now() { date +%s.%N; }
wait_for() { # file text
    for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
    echo "timed out waiting for '$2' in $1" >&2; exit 1
}

# --- Garrison: the `garrison up` demo (medical-assessor sends to dwp-pip-decisions) -------
(cd "$scratch" && exec "$bin" --workers 1 up --data-dir up --listen 127.0.0.1:19443 \
    --admin 127.0.0.1:19081 --upstream 127.0.0.1:19082 --citizens 127.0.0.1:19090 \
    --people 1000) > "$scratch/garrison.log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null || true; [ -n "${ngx:-}" ] && kill $ngx 2>/dev/null || true' EXIT
wait_for "$scratch/garrison.log" "Ctrl-C stops it"
up="$scratch/up"
as() { # organisation, curl args…
    local org=$1; shift
    curl -sS --fail --cacert "$up/pki/ca.pem" --cert "$up/demo/$org/client.pem" \
        --key "$up/demo/$org/client.key" -H "x-api-key: $(cat "$up/demo/$org/api-key")" "$@"
}
echo "| server | direction | throughput | CPU per MB | memory before | peak memory |" > "$scratch/table"
rss0=$(rss_kb $gw VmRSS)
t0=$(now); c0=$(cpu_ticks $gw)
as medical-assessor -X POST -T "$scratch/file" -H @"$up/demo/requests/transfer.headers" \
    -H "Upload-Length: $size" -D "$scratch/created" -o /dev/null \
    https://127.0.0.1:19443/files/v1/uploads
t1=$(now); c1=$(cpu_ticks $gw)
garrison_up=$(report "Garrison (mTLS, tus, encrypted)" $gw "$t0" "$t1" "$c0" "$c1" "$rss0")
id=$(tr -d '\r' < "$scratch/created" | awk -F/ 'tolower($0) ~ /^location:/ {print $NF}')
t0=$(now); c0=$(cpu_ticks $gw)
as dwp-pip-decisions -H 'context: PIP-DECISION' -o "$scratch/garrison-down" \
    "https://127.0.0.1:19443/files/v1/inboxes/pip-decisions/files/$id"
t1=$(now); c1=$(cpu_ticks $gw)
garrison_down=$(report "Garrison (mTLS, decrypted)" $gw "$t0" "$t1" "$c0" "$c1" "$rss0")
cmp "$scratch/file" "$scratch/garrison-down"
kill $gw; wait $gw 2>/dev/null || true

# --- nginx: a plain TLS server writing the body to disk, the same client certificates ------
mkdir -p "$scratch/nginx/root/files" "$scratch/nginx/tmp" "$scratch/nginx/logs"
cat > "$scratch/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $scratch/nginx/logs/error.log warn;
pid $scratch/nginx/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $scratch/nginx/tmp;
    proxy_temp_path $scratch/nginx/tmp;
    fastcgi_temp_path $scratch/nginx/tmp;
    uwsgi_temp_path $scratch/nginx/tmp;
    scgi_temp_path $scratch/nginx/tmp;
    server {
        listen 127.0.0.1:19444 ssl;
        ssl_certificate $up/pki/server.pem;
        ssl_certificate_key $up/pki/server.key;
        ssl_client_certificate $up/pki/ca.pem;
        ssl_verify_client on;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 0;
        root $scratch/nginx/root;
        location /files/ { dav_methods PUT; create_full_put_path on; }
    }
}
EOF
nginx -p "$scratch/nginx" -c "$scratch/nginx/nginx.conf" &
ngx=$!
for _ in $(seq 1 50); do curl -s -o /dev/null https://127.0.0.1:19444/ -k 2>/dev/null; [ $? -ne 7 ] && break; sleep 0.1; done
rss0=$(rss_kb $ngx VmRSS)
t0=$(now); c0=$(cpu_ticks $ngx)
as medical-assessor -T "$scratch/file" -o /dev/null https://127.0.0.1:19444/files/file
t1=$(now); c1=$(cpu_ticks $ngx)
nginx_up=$(report "nginx (TLS, to disk)" $ngx "$t0" "$t1" "$c0" "$c1" "$rss0")
t0=$(now); c0=$(cpu_ticks $ngx)
as medical-assessor -o "$scratch/nginx-down" https://127.0.0.1:19444/files/file
t1=$(now); c1=$(cpu_ticks $ngx)
nginx_down=$(report "nginx (TLS, from disk)" $ngx "$t0" "$t1" "$c0" "$c1" "$rss0")
cmp "$scratch/file" "$scratch/nginx-down"
kill $ngx; wait $ngx 2>/dev/null || true
ngx=""

{
    echo "Secure file transfer, $SIZE_MB MiB, one request each way, curl $(curl -V | awk 'NR == 1 {print $2}'), $(nginx -v 2>&1 | sed 's|.*/||'), $(nproc) CPUs"
    echo
    echo "| server | throughput | CPU per MB (server) | RSS before | peak RSS |"
    echo "|---|---|---|---|---|"
    echo "${garrison_up/|/| upload:}"
    echo "${nginx_up/|/| upload:}"
    echo "${garrison_down/|/| download:}"
    echo "${nginx_down/|/| download:}"
} | tee "$scratch/result.md"
rm -f "$scratch/file" "$scratch/garrison-down" "$scratch/nginx-down"
rm -rf "$scratch/up/transfers" "$scratch/nginx/root"
