#!/usr/bin/env bash
# allocs.sh: the gateway's exact heap allocation per request (bytes, objects)
# and GC cycles during one fixed-rate fortio run: deltas of runtime.MemStats'
# TotalAlloc, Mallocs and NumGC, read from the admin API's heap profile
# (/debug/pprof/heap?debug=1) before and after the run. Unlike a sampled
# allocs profile it has no sampling error, and unlike -benchmem it counts
# only the gateway (docs/performance.md, "What each change bought").
#
#   test/load/scripts/allocs.sh BIN CONFIG URL [QPS] [SECONDS] [-- fortio args...]
#
# BIN is started on CONFIG (readiness on READY, default
# http://127.0.0.1:19021/healthz/ready; admin API on ADMIN, default
# http://127.0.0.1:19000, as in plain.yaml); after a 2 s warm-up at max
# throughput, fortio (FORTIO, default .cache/bin/fortio) sends 32 connections
# to URL at QPS (default 3000) for SECONDS (default 5).
set -euo pipefail
bin=$1 cfg=$2 url=$3 qps=${4:-3000} dur=${5:-5}
shift $(( $# < 5 ? $# : 5 ))
[ "${1:-}" = "--" ] && shift
fortio=${FORTIO:-.cache/bin/fortio}
ready=${READY:-http://127.0.0.1:19021/healthz/ready}
admin=${ADMIN:-http://127.0.0.1:19000}
"$bin" -f "$cfg" 2>/dev/null &
gw=$!
trap 'kill $gw 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "$ready" && break; sleep 0.1; done
"$fortio" load -c 32 -t 2s -qps 0 "$@" "$url" >/dev/null 2>&1
stats() { curl -s "$admin/debug/pprof/heap?debug=1" | awk '/^# (TotalAlloc|Mallocs|NumGC) = /{printf "%s ", $4}'; }
before=$(stats)
n=$("$fortio" load -c 32 -t "${dur}s" -qps "$qps" -uniform "$@" "$url" 2>&1 | awk '/^All done/{print $3}')
after=$(stats)
python3 - "$before" "$after" "$n" "$qps" <<'PY'
import sys
b, a, n, qps = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3]), sys.argv[4]
d = [int(y) - int(x) for x, y in zip(b, a)]
print(f"qps {qps}: {n} requests, {d[0]/n:.0f} B and {d[1]/n:.1f} objects allocated per request, {d[2]} GC cycles")
PY
