#!/usr/bin/env bash
# mcpsession.sh: the gateway's CPU per request for MCP requests in stateful
# sessions (docs/performance.md, "What each change bought"): one
# `load mcp-session-load` run (each of -c connections opens its own
# session, then sends requests with increasing ids) through a gateway, with
# the gateway's CPU (utime+stime from /proc/PID/stat) divided by the
# requests answered.
#
#   test/load/scripts/mcpsession.sh BIN CONFIG URL [QPS] [SECONDS] [METHOD] [PARAMS] [CONNS]
#
# BIN is started on CONFIG (readiness on READY, default
# http://127.0.0.1:19021/healthz/ready); URL is its stateful MCP route. QPS 0
# (default 300) is max throughput. METHOD and PARAMS default to the
# harness's tools/call of the everything-server's test_simple_text; e.g.
# prompts/get '{"name":"test_simple_prompt"}'. CONNS defaults to 4. A 3 s
# untimed run warms the gateway first.
set -euo pipefail
bin=$1 cfg=$2 url=$3 qps=${4:-300} dur=${5:-10} method=${6:-tools/call}
params=${7:-'{"name":"test_simple_text","arguments":{}}'} conns=${8:-4}
ready=${READY:-http://127.0.0.1:19021/healthz/ready}
out=$(mktemp -d)
trap 'kill $gw 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/load" ./test/load
"$bin" -f "$cfg" 2>"$out/gw.log" &
gw=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$ready" && break; sleep 0.1; done
run() { "$out/load" mcp-session-load -c "$conns" -qps "$qps" -t "$1" -method "$method" -params "$params" -json "$out/s.json" "$url"; }
run 3s
cpu() { awk '{print $14+$15}' "/proc/$gw/stat"; }
t0=$(cpu)
run "${dur}s"
t1=$(cpu)
python3 - "$out/s.json" "$t0" "$t1" "$qps" "$method" "$(getconf CLK_TCK)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t0, t1, qps, method, hz = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
n = s["Count"]
print(f"{method} at qps {qps}: {n} answered ({s['ActualQPS']:.0f}/s, {s['Errors']} errors), "
      f"p50 {s['Total']['P50']*1000:.3f} ms, p99 {s['Total']['P99']*1000:.3f} ms, "
      f"gateway CPU {(t1 - t0) / hz / max(n, 1) * 1e6:.0f} us/request")
PY
