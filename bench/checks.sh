#!/usr/bin/env bash
# Throughput of every check and of three granular citizen APIs through the gateway, on a
# synthetic population (bench/README.md, "Checks and granular citizen APIs").
#
# Starts `garrison --workers 1 up` in $WORK with $PEOPLE people (the population is generated
# once and kept), raises the demo plans and turns the access log off, pins the whole process
# (gateway, citizen service, audit writer) to core 0 and garrison-loadgen to core 1, and runs
# $DURATION s per endpoint with 16 mTLS keep-alive connections. Loopback only; stops itself.
#
# Settings (environment): PEOPLE (10000000), WORK (bench/scratch/checks), DURATION (6).
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
PEOPLE=${PEOPLE:-10000000}
WORK=${WORK:-$BENCH/scratch/checks}
DURATION=${DURATION:-6}
GARRISON=$ROOT/target/release/garrison
LOAD=$ROOT/target/release/garrison-loadgen
[ -x "$GARRISON" ] && [ -x "$LOAD" ] || (cd "$ROOT" && cargo build --release --quiet -p garrison -p garrison-loadgen)

mkdir -p "$WORK"
cd "$WORK"
"$GARRISON" --workers 1 up --people "$PEOPLE" --listen 127.0.0.1:38443 --admin 127.0.0.1:38081 \
    --upstream 127.0.0.1:38082 --citizens 127.0.0.1:38090 > up.log 2>&1 &
PID=$!
trap 'kill -INT $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    curl -sf http://127.0.0.1:38081/readyz > /dev/null && break
    kill -0 $PID 2>/dev/null || { cat up.log >&2; exit 1; }
    sleep 1
done
cd .garrison
python3 - <<'PY'
p = 'garrison.yaml'
s = open(p).read()
s = s.replace("  - name: gold\n    rate: 100/s\n    burst: 200", "  - name: gold\n    rate: 1000000/s\n    burst: 100000")
s = s.replace("  - name: standard\n    rate: 3/s\n    burst: 6", "  - name: standard\n    rate: 1000000/s\n    burst: 100000")
s = s.replace("access_log: true", "access_log: false")
open(p, 'w').write(s)
PY
curl -sf -X POST -H "Authorization: Bearer $(cat demo/admin-token)" http://127.0.0.1:38081/admin/reload > /dev/null
for task in /proc/$PID/task/*; do taskset -pc 0 "$(basename "$task")" > /dev/null; done
TICKS=$(getconf CLK_TCK)

run() { # organisation path [body]
    local org=$1 path=$2 body=${3:-} headers=() args t0 t1 out
    while IFS= read -r line; do
        case "$line" in content-type*) ;; *) headers+=(-H "${line/: /:}") ;; esac
    done < "demo/requests/$org.headers"
    args=(--keys "demo/$org/api-key" --ca pki/ca.pem --cert "demo/$org/client.pem"
        --key "demo/$org/client.key" -c 16 -d "$DURATION" "${headers[@]}")
    [ -n "$body" ] && args+=(--body "$body")
    t0=$(awk '{print $14 + $15}' /proc/$PID/stat)
    out=$(taskset -c 1 "$LOAD" "https://127.0.0.1:38443$path" "${args[@]}")
    t1=$(awk '{print $14 + $15}' /proc/$PID/stat)
    echo "$path $out core0_busy=$(( (t1 - t0) * 100 / (TICKS * DURATION) ))%"
}

run dfe-free-school-meals /checks/v1/free-school-meals demo/requests/free-school-meals.json
run nhs-prescriptions /checks/v1/prescription-exemption demo/requests/prescription-exemption.json
run dvla-licensing /checks/v1/identity demo/requests/identity.json
run dfe-free-school-meals /checks/v1/passport-benefits demo/requests/passport-benefits.json
run contact-centre /checks/v1/income-band demo/requests/income-band.json
run contact-centre /checks/v1/caller-identification demo/requests/caller-identification.json
python3 -c "
import json
d = json.load(open('demo/requests/identity.json'))
json.dump({'data': {'type': 'Match', 'attributes': {k: d[k] for k in ('lastName', 'dateOfBirth', 'firstName')}}}, open('match.json', 'w'))"
run medical-assessor /capi/v2/citizens/match match.json
ID=$(curl -s --cacert pki/ca.pem --cert demo/medical-assessor/client.pem --key demo/medical-assessor/client.key \
    -H "x-api-key: $(cat demo/medical-assessor/api-key)" -H @demo/requests/medical-assessor.headers \
    --data @match.json https://127.0.0.1:38443/capi/v2/citizens/match |
    python3 -c "import json, sys; print(json.load(sys.stdin)['data']['id'])")
run medical-assessor "/capi/v2/citizens/$ID"
run medical-assessor "/capi/v2/citizens/$ID/claims?effectiveFromDate=2026-01-01"
