#!/usr/bin/env bash
# Garrison against nginx (and HAProxy, if installed) on this machine. See bench/README.md.
#
# The proxy under test runs alone on core $PROXY_CPU; the shared upstream (an nginx worker
# answering a small JSON body) and the load generator share core $LOAD_CPU. Every scenario
# runs against each proxy in turn, in the same run, so the ratios to nginx compare runs made
# seconds apart on the same machine. Only 127.0.0.1 is ever contacted; everything started
# here is stopped on exit.
#
# Settings (environment): DURATION (s, default 4), WARMUP (s, 1), CONNECTIONS (50),
# KEYS (1000), ROUNDS (5: each proxy runs each scenario once per round, pooled over rounds),
# PROXIES ("nginx garrison haproxy", haproxy only if installed), SCENARIOS ("plain keys tls
# handshake"; also "body validated enforced": a ~1 KB JSON POST with the key, through a plain
# route, through an API whose contract validates the request, and also its response; and
# "audited": the keys scenario through a Garrison route recording every request in the audit
# trail, fail closed — the response waits until its record is stored; AUDIT_DURABILITY (fsync,
# the default, or write) says when a record counts as stored, AUDIT_GROUP_COMMIT (e.g. 2ms) sets
# the audit section's group_commit; "tls-audited": the same over
# TLS 1.3 with a client certificate, the full scenario; "enforced-audited": the enforced
# scenario recording each request, as a personal-data API declared by its contract would),
# PROXY_CPU (0), LOAD_CPU (1), BENCH_WORK (bench/scratch), SKIP_BUILD (unset), GARRISON_BIN
# (default: the workspace's release build), RATE (unset: every connection sends as soon as it
# has its answer; a number: the generator offers that many requests per second in every run,
# so that scenarios and proxies are compared at the same load — what a request costs, without
# the effect of latency on throughput; keep it below what every scenario sustains),
# INTERLEAVE (unset; 1: each round runs every scenario, for comparing scenarios rather than
# proxies).
#
# Output: a Markdown table on standard output and in bench/results/latest.md; raw per-run
# figures in bench/results/latest-raw.tsv.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
WORK=${BENCH_WORK:-$BENCH/scratch}
RESULTS=$BENCH/results
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-50}
RATE=${RATE:-}
KEYS=${KEYS:-1000}
ROUNDS=${ROUNDS:-5}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SCENARIOS=${SCENARIOS:-plain keys tls handshake}
AUDIT_DURABILITY=${AUDIT_DURABILITY:-fsync}
AUDIT_GROUP_COMMIT=${AUDIT_GROUP_COMMIT:-}
# PERF=<dir>: record a `perf` profile (with DWARF call graphs) of the proxy during each measured
# run into <dir>/<scenario>-<proxy>-<round>.data. Sampling costs the proxy CPU, so the figures of
# such a run are not comparable with others: use it to see where time goes, not how much.
# PERF_STAT=<events> (with PERF=<dir>): count those events instead (`perf stat -e`), e.g.
# 'syscalls:sys_enter_*' for the system calls per request; PERF_FREQ: samples a second (999);
# PERF_EVENT: an event to record at every occurrence instead of sampling CPU time, e.g.
# 'syscalls:sys_enter_write' (where do the writes come from).
PERF=${PERF:-}
if [ -z "${PROXIES:-}" ]; then
    PROXIES="nginx garrison"
    if command -v haproxy >/dev/null 2>&1; then PROXIES="$PROXIES haproxy"; fi
fi

# Ports (127.0.0.1 only).
UPSTREAM_PORT=18080
declare -A PLAIN_PORT=([nginx]=18100 [garrison]=18200 [haproxy]=18300)
declare -A TLS_PORT=([nginx]=18143 [garrison]=18243 [haproxy]=18343)
GARRISON_ADMIN=127.0.0.1:18291

# GARRISON_BIN: another build of Garrison to measure (an A/B against an older commit).
GARRISON=${GARRISON_BIN:-$ROOT/target/release/garrison}
LOADGEN=$ROOT/target/release/garrison-loadgen
CLK_TCK=$(getconf CLK_TCK)

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in nginx taskset openssl getconf awk pgrep; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: run bench/setup.sh"
done
case " $PROXIES " in
*" haproxy "*) command -v haproxy >/dev/null 2>&1 || die "haproxy is missing: run bench/setup.sh" ;;
esac
[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || die "two cores are needed (proxy on one, load on the other)"

# --- build ----------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
    log "building garrison and garrison-loadgen (release)"
    (cd "$ROOT" && cargo build --release --quiet -p garrison -p garrison-loadgen)
fi
[ -x "$GARRISON" ] && [ -x "$LOADGEN" ] || die "release binaries missing (unset SKIP_BUILD)"

mkdir -p "$WORK" "$RESULTS"
cd "$WORK"

# --- processes: started here, stopped on exit ------------------------------------------------
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port pid
    local i
    for i in $(seq 100); do
        kill -0 "$2" 2>/dev/null || die "the process for 127.0.0.1:$1 exited (see the logs in $WORK)"
        if listening "$1"; then return 0; fi
        sleep 0.1
    done
    die "nothing listens on 127.0.0.1:$1 (see the logs in $WORK)"
}
# A port already taken (a leftover from another run) would be measured instead of ours.
for port in "$UPSTREAM_PORT" "${GARRISON_ADMIN#*:}" "${PLAIN_PORT[@]}" "${TLS_PORT[@]}"; do
    if listening "$port"; then die "127.0.0.1:$port is already in use: stop whatever listens there"; fi
done

# --- TLS material: a CA, a server and a client certificate (ECDSA P-256) -------------------
make_pki() {
    mkdir -p pki
    cat > pki/openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:bench-client
authorityKeyIdentifier = keyid
EOF
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out pki/ca.key 2>/dev/null
    openssl req -x509 -new -key pki/ca.key -config pki/openssl.cnf -extensions ca \
        -subj "/CN=Garrison bench CA" -days 3650 -out pki/ca.pem
    local n
    for n in server client; do
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "pki/$n.key" 2>/dev/null
        openssl req -new -key "pki/$n.key" -config pki/openssl.cnf -subj "/CN=bench-$n" \
            -out "pki/$n.csr" 2>/dev/null
        openssl x509 -req -in "pki/$n.csr" -CA pki/ca.pem -CAkey pki/ca.key \
            -set_serial "0x$(openssl rand -hex 8)" -days 825 -extfile pki/openssl.cnf \
            -extensions "$n" -out "pki/$n.pem" 2>/dev/null
    done
    cat pki/server.pem pki/server.key > pki/server-with-key.pem
}
if [ ! -s pki/server-with-key.pem ]; then
    log "creating the test PKI in $WORK/pki"
    make_pki
fi

# --- API keys: $KEYS Garrison keys (grn_live_…), kept with their digests ---------------------
if [ ! -s keys.tsv ] || [ "$(wc -l < keys.tsv)" -ne "$KEYS" ]; then
    log "issuing $KEYS API keys with 'garrison key generate'"
    : > keys.tsv
    for _ in $(seq "$KEYS"); do
        "$GARRISON" key generate | awk '/^key:/ {k=$2} /^digest:/ {d=$2} END {print k "\t" d}' >> keys.tsv
    done
fi
cut -f1 keys.tsv > keys.txt
awk -F'\t' '{printf "%s c%04d;\n", $1, NR}' keys.tsv > keys-nginx.map
awk -F'\t' '{printf "%s c%04d\n", $1, NR}' keys.tsv > keys-haproxy.map

# --- the shared upstream: one nginx worker on the load core -------------------------------
mkdir -p upstream/tmp
cat > upstream/nginx.conf <<EOF
worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        location / {
            default_type application/json;
            return 200 '{"ok":true,"service":"bench-upstream"}\n';
        }
    }
}
EOF

# --- nginx as the proxy under test ---------------------------------------------------------
mkdir -p nginx/tmp
# What Garrison does for every request, as far as nginx can: X-Forwarded-*, a request id to
# the upstream and back to the caller, keep-alive to the upstream.
cat > nginx/proxy-headers.conf <<'EOF'
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $proxy_host;
proxy_set_header X-Forwarded-For $remote_addr;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-Host $host;
proxy_set_header X-Request-ID $request_id;
add_header X-Request-ID $request_id always;
EOF
cat > nginx/locations.conf <<'EOF'
location = /plain {
    include proxy-headers.conf;
    proxy_pass http://bench_upstream;
}
location ~ ^/(key|match|v/match|e/match)$ {
    if ($consumer = "") {
        return 401;
    }
    limit_req zone=per_key burst=1000 nodelay;
    include proxy-headers.conf;
    proxy_set_header X-Api-Key "";
    proxy_set_header Garrison-Consumer $consumer;
    proxy_pass http://bench_upstream;
}
EOF
cat > nginx/nginx.conf <<EOF
worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;

    # The consumer of each of the $KEYS keys, and a per-consumer limit that never triggers.
    map_hash_bucket_size 256;
    map_hash_max_size 16384;
    map \$http_x_api_key \$consumer {
        default "";
        include $WORK/keys-nginx.map;
    }
    limit_req_zone \$consumer zone=per_key:10m rate=100000r/s;
    limit_req_status 429;

    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:${PLAIN_PORT[nginx]};
        include locations.conf;
    }
    server {
        listen 127.0.0.1:${TLS_PORT[nginx]} ssl;
        ssl_protocols TLSv1.3;
        # The same cipher preference as Garrison: the server decides, AES-128-GCM first.
        ssl_prefer_server_ciphers on;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
        ssl_certificate $WORK/pki/server.pem;
        ssl_certificate_key $WORK/pki/server.key;
        ssl_client_certificate $WORK/pki/ca.pem;
        ssl_verify_client on;
        include locations.conf;
    }
}
EOF

# --- the contract of the body scenarios, and a ~1 KB request body that conforms to it --------
mkdir -p garrison
cat > garrison/match.yaml <<'EOF'
openapi: 3.1.0
info: {title: Bench match, version: 1.0.0}
paths:
  /match:
    post:
      operationId: match
      parameters:
        - {name: correlation-id, in: header, required: true, schema: {type: string, format: uuid}}
        - {name: mode, in: query, schema: {type: string, enum: [strict, fuzzy]}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [lastName, dateOfBirth, addresses]
              additionalProperties: false
              properties:
                lastName: {type: string, minLength: 1, maxLength: 35}
                firstName: {type: string, maxLength: 35}
                dateOfBirth: {type: string, format: date}
                email: {type: string, format: email}
                ninoFragment: {type: string, pattern: '^[0-9]{4}$'}
                addresses:
                  type: array
                  maxItems: 20
                  items:
                    type: object
                    required: [line1, postcode]
                    additionalProperties: false
                    properties:
                      line1: {type: string, maxLength: 100}
                      line2: {type: string, maxLength: 100}
                      town: {type: string, maxLength: 50}
                      postcode: {type: string, pattern: '^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$'}
                      from: {type: string, format: date}
      responses:
        '200':
          description: Matched.
          content:
            application/json:
              schema:
                type: object
                required: [ok, service]
                properties:
                  ok: {type: boolean}
                  service: {type: string}
        '400': {description: Invalid.}
EOF
{
    printf '{"lastName": "Smith", "firstName": "Jo", "dateOfBirth": "1980-04-23", "email": "jo.smith@example.org", "ninoFragment": "3456", "addresses": ['
    for i in 1 2 3 4 5 6; do
        [ "$i" -gt 1 ] && printf ', '
        printf '{"line1": "%d High Street", "line2": "Flat %d", "town": "Leeds", "postcode": "LS1 %dAB", "from": "201%d-01-3%d"}' "$i" "$i" "$i" "$i" "$((i % 2))"
    done
    printf ']}\n'
} > match.json

# --- Garrison --------------------------------------------------------------------------------
rm -rf garrison/audit   # a fresh audit store per run (the audited scenario)
{
    cat <<EOF
# Written by bench/run.sh.
admin:
  listen: $GARRISON_ADMIN
gateway:
  access_log: false
listeners:
  - name: plain
    address: 127.0.0.1:${PLAIN_PORT[garrison]}
  - name: mtls
    address: 127.0.0.1:${TLS_PORT[garrison]}
    tls:
      certificate: $WORK/pki/server.pem
      key: $WORK/pki/server.key
      client_certificates: required
      client_ca: $WORK/pki/ca.pem
      min_version: "1.3"
upstreams:
  - name: bench-upstream
    targets: [127.0.0.1:$UPSTREAM_PORT]
routes:
  - name: plain
    methods: [GET]
    path: /plain
    upstream: bench-upstream
    auth: public
  - name: key
    group: bench
    methods: [GET]
    path: /key
    upstream: bench-upstream
    auth: api_key
  - name: audited
    group: bench
    methods: [GET]
    path: /audited
    upstream: bench-upstream
    auth: api_key
    audit: true
  - name: match
    group: bench
    methods: [POST]
    path: /match
    upstream: bench-upstream
apis:
  # The same operation, declared by its contract: requests (and, under /e, responses) checked.
  - name: bench-validated
    contract: $WORK/garrison/match.yaml
    base_path: /v
    upstream: bench-upstream
  - name: bench-enforced
    contract: $WORK/garrison/match.yaml
    base_path: /e
    upstream: bench-upstream
    validation:
      responses: enforce
  - name: bench-enforced-audited
    contract: $WORK/garrison/match.yaml
    base_path: /ea
    upstream: bench-upstream
    validation:
      responses: enforce
    audit: true
audit:
  dir: $WORK/garrison/audit
$([ "$AUDIT_DURABILITY" = fsync ] || echo "  durability: $AUDIT_DURABILITY")
$([ -z "$AUDIT_GROUP_COMMIT" ] || echo "  group_commit: $AUDIT_GROUP_COMMIT")
plans:
  - name: never-reached
    rate: 100000/s
    burst: 1000
consumers:
EOF
    awk -F'\t' '{printf "  - name: c%04d\n    keys:\n      - id: k1\n        digest: \"%s\"\n", NR, $2}' keys.tsv
    echo "subscriptions:"
    awk -F'\t' '{split("bench bench-validated bench-enforced bench-enforced-audited", group, " "); for (g = 1; g <= 4; g++) printf "  - consumer: c%04d\n    group: %s\n    plan: never-reached\n", NR, group[g]}' keys.tsv
} > garrison/garrison.yaml
"$GARRISON" config check garrison/garrison.yaml >/dev/null

# --- HAProxy ---------------------------------------------------------------------------------
mkdir -p haproxy
cat > haproxy/haproxy.cfg <<EOF
global
    nbthread 1
    maxconn 4096
    ssl-default-bind-options ssl-min-ver TLSv1.3
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 30s
    timeout http-keep-alive 60s
    option http-keep-alive
    http-reuse always
    unique-id-format %[uuid()]

backend per_key
    stick-table type string len 32 size 16k expire 10s store http_req_rate(1s)

backend bench_upstream
    server upstream 127.0.0.1:$UPSTREAM_PORT

frontend bench
    bind 127.0.0.1:${PLAIN_PORT[haproxy]}
    bind 127.0.0.1:${TLS_PORT[haproxy]} ssl crt $WORK/pki/server-with-key.pem ca-file $WORK/pki/ca.pem verify required alpn http/1.1
    acl key_route path /key /match /v/match /e/match
    http-request set-var(txn.consumer) req.hdr(x-api-key),map($WORK/keys-haproxy.map) if key_route
    http-request deny deny_status 401 if key_route !{ var(txn.consumer) -m found }
    http-request track-sc0 var(txn.consumer) table per_key if key_route
    http-request deny deny_status 429 if key_route { sc_http_req_rate(0) gt 100000 }
    http-request del-header x-api-key if key_route
    http-request set-header Garrison-Consumer %[var(txn.consumer)] if key_route
    option forwardfor
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Request-ID %[unique-id]
    http-response set-header X-Request-ID %[unique-id]
    default_backend bench_upstream
EOF

# --- start everything --------------------------------------------------------------------------
declare -A PID
log "starting the upstream on core $LOAD_CPU"
taskset -c "$LOAD_CPU" nginx -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" -e "$WORK/upstream/error.log" &
PIDS+=($!)
wait_port "$UPSTREAM_PORT" "$!"

for proxy in $PROXIES; do
    log "starting $proxy on core $PROXY_CPU"
    case $proxy in
    nginx)
        taskset -c "$PROXY_CPU" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
        ;;
    garrison)
        # One worker: Garrison then runs a single-threaded event loop, like one nginx worker.
        # (Pinned to one core it would pick one by itself; --workers says so explicitly.)
        GARRISON_LOG=warn taskset -c "$PROXY_CPU" "$GARRISON" serve --workers 1 \
            --config "$WORK/garrison/garrison.yaml" 2> "$WORK/garrison/garrison.log" &
        ;;
    haproxy)
        taskset -c "$PROXY_CPU" haproxy -f "$WORK/haproxy/haproxy.cfg" -db 2> "$WORK/haproxy/haproxy.log" &
        ;;
    *) die "unknown proxy $proxy" ;;
    esac
    PID[$proxy]=$!
    PIDS+=($!)
    wait_port "${PLAIN_PORT[$proxy]}" "${PID[$proxy]}"
    wait_port "${TLS_PORT[$proxy]}" "${PID[$proxy]}"
done

# --- measuring -----------------------------------------------------------------------------------
# CPU time (clock ticks, user + system) of a process and its children (nginx's workers).
proc_ticks() {
    local pid total=0 p
    for p in $1 $(pgrep -P "$1" || true); do
        if [ -r "/proc/$p/stat" ]; then
            # Fields after "pid (comm) ": utime and stime are the 12th and 13th.
            total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
        fi
    done
    echo "$total"
}
# Busy and total ticks of one core, from /proc/stat.
core_ticks() {
    awk -v c="cpu$1" '$1 == c {busy = $2 + $3 + $4 + $7 + $8 + $9; total = busy + $5 + $6; print busy, total}' /proc/stat
}

url_of() { # proxy scenario
    case $2 in
    plain) echo "http://127.0.0.1:${PLAIN_PORT[$1]}/plain" ;;
    keys) echo "http://127.0.0.1:${PLAIN_PORT[$1]}/key" ;;
    # nginx and HAProxy keep no audit trail: they proxy the same request as in `keys`.
    audited)
        if [ "$1" = garrison ]; then
            echo "http://127.0.0.1:${PLAIN_PORT[$1]}/audited"
        else
            echo "http://127.0.0.1:${PLAIN_PORT[$1]}/key"
        fi
        ;;
    body) echo "http://127.0.0.1:${PLAIN_PORT[$1]}/match?mode=strict" ;;
    # nginx and HAProxy cannot check a contract: they proxy the same request as in `body`.
    validated | enforced | enforced-audited)
        if [ "$1" = garrison ]; then
            local base
            case $2 in validated) base=v ;; enforced) base=e ;; *) base=ea ;; esac
            echo "http://127.0.0.1:${PLAIN_PORT[$1]}/$base/match?mode=strict"
        else
            echo "http://127.0.0.1:${PLAIN_PORT[$1]}/match?mode=strict"
        fi
        ;;
    tls | handshake) echo "https://127.0.0.1:${TLS_PORT[$1]}/key" ;;
    tls-audited)
        if [ "$1" = garrison ]; then
            echo "https://127.0.0.1:${TLS_PORT[$1]}/audited"
        else
            echo "https://127.0.0.1:${TLS_PORT[$1]}/key"
        fi
        ;;
    esac
}
loadgen_args() { # scenario
    case $1 in
    plain) ;;
    keys | audited) echo "--keys $WORK/keys.txt" ;;
    body | validated | enforced | enforced-audited) echo "--keys $WORK/keys.txt --body $WORK/match.json -H correlation-id:1b4e28ba-2fa1-11d2-883f-0016d3cca427" ;;
    tls | tls-audited) echo "--keys $WORK/keys.txt --ca $WORK/pki/ca.pem --cert $WORK/pki/client.pem --key $WORK/pki/client.key" ;;
    # The server certificate is pinned rather than chain-verified here: one ECDSA verification
    # less per handshake on the load core, which must keep up with the proxy's handshakes.
    handshake) echo "--keys $WORK/keys.txt --pin $WORK/pki/server.pem --cert $WORK/pki/client.pem --key $WORK/pki/client.key --handshake-per-request" ;;
    esac
    if [ -n "$RATE" ] && [ "$1" != handshake ]; then echo "--rate $RATE"; fi
}
field() { # name line
    echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'
}

RAW=$RESULTS/latest-raw.tsv
printf 'scenario\tproxy\tround\trequests\tok\tnon2xx\terrors\telapsed_s\tp50_us\tp99_us\tproxy_ticks\tcore%s_busy\tcore%s_total\tcore%s_busy\tcore%s_total\tclk_tck\n' \
    "$PROXY_CPU" "$PROXY_CPU" "$LOAD_CPU" "$LOAD_CPU" > "$RAW.tmp"

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

# One measured run: a warm-up (not counted), then CPU counters around the measured part.
measure() { # scenario proxy round
    local scenario=$1 proxy=$2 round=$3 url args warm out t0 t1 p0b p0t p1b p1t l0b l0t l1b l1t
    url=$(url_of "$proxy" "$scenario")
    args=$(loadgen_args "$scenario")
    # shellcheck disable=SC2086
    warm=$(taskset -c "$LOAD_CPU" "$LOADGEN" "$url" -c "$CONNECTIONS" -d "$WARMUP" $args 2>/dev/null) ||
        die "$proxy/$scenario: the warm-up failed: $warm"
    if [ "$(field non2xx "$warm")" != 0 ] || [ "$(field errors "$warm")" != 0 ]; then
        log "$proxy/$scenario: warm-up saw failures: $warm"
    fi
    t0=$(proc_ticks "${PID[$proxy]}")
    read -r p0b p0t < <(core_ticks "$PROXY_CPU")
    read -r l0b l0t < <(core_ticks "$LOAD_CPU")
    local perf_pid=
    if [ -n "$PERF" ]; then
        mkdir -p "$PERF"
        if [ -n "${PERF_STAT:-}" ]; then
            perf stat -e "$PERF_STAT" -p "${PID[$proxy]}" -o "$PERF/$scenario-$proxy-$round.stat" &
        else
            local sample=(-F "${PERF_FREQ:-999}")
            if [ -n "${PERF_EVENT:-}" ]; then sample=(-e "$PERF_EVENT" -c 1); fi
            perf record -q "${sample[@]}" --call-graph dwarf,16384 -p "${PID[$proxy]}" \
                -o "$PERF/$scenario-$proxy-$round.data" 2> /dev/null &
        fi
        perf_pid=$!
    fi
    # shellcheck disable=SC2086
    out=$(taskset -c "$LOAD_CPU" "$LOADGEN" "$url" -c "$CONNECTIONS" -d "$DURATION" $args) ||
        die "$proxy/$scenario: the run failed: $out"
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" && wait "$perf_pid" || true
    fi
    t1=$(proc_ticks "${PID[$proxy]}")
    read -r p1b p1t < <(core_ticks "$PROXY_CPU")
    read -r l1b l1t < <(core_ticks "$LOAD_CPU")
    log "$scenario round $round $proxy: $out cpu_ticks=$((t1 - t0))"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$scenario" "$proxy" "$round" \
        "$(field requests "$out")" "$(field ok "$out")" "$(field non2xx "$out")" "$(field errors "$out")" \
        "$(field elapsed_s "$out")" "$(field p50_us "$out")" "$(field p99_us "$out")" \
        "$((t1 - t0))" "$((p1b - p0b))" "$((p1t - p0t))" "$((l1b - l0b))" "$((l1t - l0t))" "$CLK_TCK" >> "$RAW.tmp"
}

# Each scenario: $ROUNDS rounds of one run per proxy, the order rotating every round so that
# no proxy always goes first; a slow minute on the VM then hits every proxy alike. With
# INTERLEAVE=1 every round runs every scenario instead (round after round), for comparing
# scenarios with each other — Garrison audited against not audited — rather than proxies.
read -r -a PROXY_LIST <<< "$PROXIES"
one_round() { # scenario round
    local i
    for i in "${!PROXY_LIST[@]}"; do
        measure "$1" "${PROXY_LIST[$(((i + $2 - 1) % ${#PROXY_LIST[@]}))]}" "$2"
    done
}
if [ -n "${INTERLEAVE:-}" ]; then
    for round in $(seq "$ROUNDS"); do
        for scenario in $SCENARIOS; do one_round "$scenario" "$round"; done
    done
else
    for scenario in $SCENARIOS; do
        for round in $(seq "$ROUNDS"); do one_round "$scenario" "$round"; done
    done
fi
mv "$RAW.tmp" "$RAW"

# --- the table ---------------------------------------------------------------------------------
version_of() {
    case $1 in
    nginx) nginx -v 2>&1 | sed 's|.*nginx/|nginx |' ;;
    garrison) echo "garrison $("$GARRISON" --version | awk '{print $2}') ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD -- crates 2>/dev/null || echo '+changes'))" ;;
    haproxy) haproxy -v | awk 'NR == 1 {print "HAProxy " $3}' ;;
    esac
}
VERSIONS=$(for p in $PROXIES; do version_of "$p"; done | paste -sd ',' | sed 's/,/, /g')
OPENSSL=$(openssl version | awk '{print $1 " " $2}')
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)

table() {
    awk -F'\t' -v proxies="$PROXIES" -v scenarios="$SCENARIOS" '
    NR == 1 { next }
    {
        k = $1 SUBSEP $2
        req[k] += $4; bad[k] += $6 + $7; el[k] += $8; tick[k] += $11; hz = $16
        lb[k] += $14; lt[k] += $15
        n[k]++; p50[k, n[k]] = $9; p99[k, n[k]] = $10
        # Per round, for the spread of the ratios.
        rr[k, $3] = $4 / $8; rc[k, $3] = ($4 > 0) ? $11 / $4 : 0; rounds[$3] = 1
    }
    function median(a, k, m,    i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = a[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    # The ratio pooled over every round, and its range over the rounds taken one by one.
    function ratio(a, k, base, pooled,    r, lo, hi, x, c) {
        lo = ""; c = 0
        for (r in rounds) {
            if (!((k, r) in a) || !((base, r) in a) || a[base, r] == 0) continue
            x = a[k, r] / a[base, r]; c++
            if (lo == "" || x < lo) lo = x
            if (hi == "" || x > hi) hi = x
        }
        return (c > 1) ? sprintf("%.2f (%.2f–%.2f)", pooled, lo, hi) : sprintf("%.2f", pooled)
    }
    END {
        name["plain"] = "1. plain proxying (HTTP/1.1, keep-alive)"
        name["keys"] = "2. API key (1,000) + rate limit"
        name["tls"] = "3. as 2, over TLS 1.3 + client cert"
        name["handshake"] = "4. as 3, full mTLS handshake per request"
        name["body"] = "5. as 2, POST of a 1 KB JSON body"
        name["validated"] = "6. as 5, Garrison validating the request against the contract"
        name["enforced"] = "7. as 6, and the response too (enforce)"
        name["audited"] = "8. as 2, Garrison recording each request in the audit trail"
        name["tls-audited"] = "9. as 3, Garrison recording each request in the audit trail"
        name["enforced-audited"] = "10. as 7, Garrison recording each request in the audit trail"
        np = split(proxies, P, " "); ns = split(scenarios, S, " ")
        print "| Scenario | Proxy | req/s | p50 ms | p99 ms | CPU µs/req | req/s ÷ nginx | CPU/req ÷ nginx | proxy busy | load core busy | failed |"
        print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (s = 1; s <= ns; s++) {
            base = S[s] SUBSEP "nginx"
            brps = (el[base] > 0) ? req[base] / el[base] : 0
            bcpu = (req[base] > 0) ? tick[base] / hz * 1e6 / req[base] : 0
            for (p = 1; p <= np; p++) {
                k = S[s] SUBSEP P[p]
                if (!(k in n) || req[k] == 0) continue
                rps = req[k] / el[k]
                cpu = tick[k] / hz * 1e6 / req[k]
                r1 = (brps > 0) ? ratio(rr, k, base, rps / brps) : "–"
                r2 = (bcpu > 0) ? ratio(rc, k, base, cpu / bcpu) : "–"
                if (k == base) { r1 = "1.00"; r2 = "1.00" }
                if (P[p] == "garrison" && brps > 0 && bcpu > 0) {
                    goal = (S[s] == "handshake") ? (rps / brps >= 2 ? " ✅" : " ❌") : ""
                    r1 = "**" r1 "**" goal
                    r2 = "**" r2 "**" ((cpu / bcpu <= 1) ? " ✅" : " ❌")
                }
                busy = (el[k] > 0) ? sprintf("%.0f%%", 100 * tick[k] / hz / el[k]) : "–"
                lbusy = (lt[k] > 0) ? sprintf("%.0f%%", 100 * lb[k] / lt[k]) : "–"
                printf "| %s | %s | %.0f | %.2f | %.2f | %.1f | %s | %s | %s | %s | %d |\n", \
                    (p == 1 ? name[S[s]] : ""), P[p], rps, median(p50, k, n[k]) / 1000, \
                    median(p99, k, n[k]) / 1000, cpu, r1, r2, busy, lbusy, bad[k]
            }
        }
    }' "$RAW"
}

# Garrison against itself: the cost of contract validation (scenarios 6 and 7 over 5) and of
# the audit trail (8 over 2), from runs of the same binary in the same run.
self_cost() {
    awk -F'\t' '
    NR == 1 { next }
    $2 == "garrison" {
        req[$1] += $4; tick[$1] += $11; el[$1] += $8
        if ($4 > 0) { rc[$1, $3] = $11 / $4; rounds[$3] = 1 }
    }
    END {
        base["validated"] = "body"; base["enforced"] = "body"; base["audited"] = "keys"
        base["tls-audited"] = "tls"; base["enforced-audited"] = "enforced"
        what["body"] = "validation off"; what["keys"] = "not audited"; what["tls"] = "not audited"
        what["enforced"] = "not audited"
        for (s in base) {
            b = base[s]
            if (!(s in req) || !(b in req) || req[s] == 0 || req[b] == 0) continue
            # The range of the ratio over the rounds taken one by one: the noise.
            lo = ""; hi = ""; c = 0
            for (r in rounds) {
                if (!((s, r) in rc) || !((b, r) in rc) || rc[b, r] == 0) continue
                x = rc[s, r] / rc[b, r]; c++
                if (lo == "" || x < lo) lo = x
                if (hi == "" || x > hi) hi = x
            }
            range = (c > 1) ? sprintf(" (rounds: %.2f–%.2f)", lo, hi) : ""
            printf "Garrison, %s ÷ %s (%s): CPU/request %.2f%s, req/s %.2f.\n", s, b, what[b], \
                (tick[s] / req[s]) / (tick[b] / req[b]), range, (req[s] / el[s]) / (req[b] / el[b])
        }
    }' "$RAW"
}

{
    echo "### Latest run: $STARTED"
    echo
    echo "$VERSIONS; $OPENSSL; rustls (ring) in Garrison and the load generator."
    echo "Machine: $(getconf _NPROCESSORS_ONLN) cores ($CPU_MODEL), Linux $(uname -r)."
    echo "Proxy on core $PROXY_CPU; upstream (nginx, 1 worker) and load generator on core $LOAD_CPU."
    echo "$CONNECTIONS connections, ${WARMUP} s warm-up then ${DURATION} s measured per run, $ROUNDS round(s); $KEYS API keys."
    if [ -n "$RATE" ]; then echo "Offered load: $RATE requests/s in every run (scenario 4 excepted)."; fi
    echo "Load average before the run: $LOADAVG."
    echo
    table
    echo
    self_cost
    echo
    echo "Ratios are to nginx in the same run, pooled over the rounds; in brackets, the lowest and"
    echo "highest ratio of a single round (the runs of one round are seconds apart). ✅/❌: Garrison's"
    echo "goals — CPU per request at or below nginx's in every scenario, and at least twice nginx's"
    echo "full-handshake rate. \"proxy busy\" is the proxy's CPU time over the run's wall time (100% ="
    echo "it saturated its core); \"load core busy\" is the whole load core (generator + upstream +"
    echo "anything else) from /proc/stat. \"failed\" counts errors and non-2xx responses. These figures"
    echo "come from a shared, noisy 2-core VM: compare the ratios, not the absolute numbers."
} > "$RESULTS/latest.md.tmp"
mv "$RESULTS/latest.md.tmp" "$RESULTS/latest.md"
cat "$RESULTS/latest.md"
