#!/usr/bin/env bash
# The cost of metrics and JSON logs on Benchmarks/run.sh's keep-alive figure (P4: keep-alive GET /v1/me over mutual
# TLS, 16 connections, server on CPU 1, load generator on CPU 0), each configuration against the others in the same
# run, three rounds, one device:
#   text-warning       what run.sh measures (text logs at warning: no line per request)
#   metrics            the same with --metrics-port
#   text-info          a text log line per request
#   json-info          a JSON log line per request (--log-format json)
#   json-info+metrics  both
# Usage: Benchmarks/logging-metrics-cost.sh (builds release binaries in .build-release first).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product latchkey --scratch-path .build-release >&2
swift build -c release --product latchkey-bench --scratch-path .build-release >&2
B=$PWD/.build-release/release
W=$(mktemp -d)
$B/latchkey ca init --data-dir $W/data > /dev/null
serve() {
  taskset -c 1 $B/latchkey serve --data-dir $W/data --demo --enroll-port 0 --api-port 0 --bcrypt-cost 10 "$@" > $W/out.txt 2> $W/err.txt &
  SERVER=$!
  for _ in $(seq 100); do grep -q 'ready' $W/out.txt 2>/dev/null && break; sleep 0.1; done
  API=$(python3 -c "
import json,sys
for l in open('$W/out.txt'):
    m = json.loads(l)['message'] if l.startswith('{') else l.split('latchkey: ',1)[1]
    if m.startswith('api '): print(m.split()[1])")
  ENROLL=$(python3 -c "
import json,sys
for l in open('$W/out.txt'):
    m = json.loads(l)['message'] if l.startswith('{') else l.split('latchkey: ',1)[1]
    if m.startswith('enrollment '): print(m.split()[1])")
}
stop() { kill $SERVER; wait $SERVER 2>/dev/null || true; }
serve --log-level warning
PW=$(grep password= $W/data/demo-credentials.txt | cut -d= -f2)
SEEN=$(wc -l < $W/data/outbox.jsonl 2>/dev/null || echo 0)
{ echo "$PW"; while [ "$(wc -l < $W/data/outbox.jsonl 2>/dev/null || echo 0)" -le "$SEEN" ]; do sleep 0.2; done; tail -1 $W/data/outbox.jsonl | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])'; } |
  $B/latchkey client enroll --config $W/data/client-config.json --username alice --password-stdin --device-dir $W/phone > /dev/null
stop
declare -A results
configs=("text-warning|--log-level warning" "metrics|--log-level warning --metrics-port 0" "text-info|--log-level info" "json-info|--log-level info --log-format json" "json-info+metrics|--log-level info --log-format json --metrics-port 0")
for round in 1 2 3; do
  for entry in "${configs[@]}"; do
    name=${entry%%|*}; args=${entry#*|}
    serve $args
    rate=$(taskset -c 0 $B/latchkey-bench load --url $API --mode keepalive --workload static --connections 16 --seconds 5 --warmup 1 --path /v1/me --cert $W/phone/device.pem --key $W/phone/device.key --json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["per_second"]))')
    stop
    results[$name]="${results[$name]:-} $rate"
    echo "round $round $name $rate" >&2
  done
done
for entry in "${configs[@]}"; do name=${entry%%|*}; echo "$name:${results[$name]}"; done
rm -rf $W
