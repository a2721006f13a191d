#!/usr/bin/env bash
# wakeups.sh: one fixed-rate (or max-throughput) fortio run through a gateway,
# with the gateway's CPU and its kernel events per request: context switches,
# futex calls (thread wake-ups and sleeps), epoll waits, read/write/recvfrom
# calls and nanosleeps (the Go runtime's sysmon). Counts per request do not
# depend on how busy the machine is, so two builds can be compared on a noisy
# box where latency cannot (docs/performance.md, "Wake-ups per request").
#
#   test/load/scripts/wakeups.sh BIN CONFIG URL [QPS] [SECONDS] [-- fortio args...]
#
# BIN is started on CONFIG (its readiness must answer on READY, default
# http://127.0.0.1:19021/healthz/ready); fortio (FORTIO, default
# .cache/bin/fortio, as `make load` installs it) sends 32 connections to URL at
# QPS (0: max throughput) for SECONDS after a 2 s warm-up. Environment for the
# gateway: GW_ENV="GOGC=200 ...". Needs perf (Debian: linux-perf) for the event
# counts; without it only latency and CPU are printed.
set -euo pipefail
bin=$1 cfg=$2 url=$3 qps=${4:-3000} dur=${5:-10}
shift $(( $# < 5 ? $# : 5 ))
[ "${1:-}" = "--" ] && shift
fortio=${FORTIO:-.cache/bin/fortio}
ready=${READY:-http://127.0.0.1:19021/healthz/ready}
out=$(mktemp -d)
trap 'kill $gw 2>/dev/null || true; rm -rf "$out"' EXIT
env ${GW_ENV:-} "$bin" -f "$cfg" 2>"$out/gw.log" &
gw=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$ready" && break; sleep 0.1; done
"$fortio" load -c 32 -t 2s -qps "$qps" -uniform -r 0.0001 "$@" "$url" >/dev/null 2>&1
cpu() { awk '{print $14+$15}' "/proc/$gw/stat"; }
t0=$(cpu)
events=context-switches,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_recvfrom,syscalls:sys_enter_nanosleep
perf_pid=
if command -v perf >/dev/null 2>&1; then
  perf stat -x, -e "$events" -p "$gw" -o "$out/perf.txt" -- sleep $((dur + 1)) &
  perf_pid=$!
fi
"$fortio" load -c 32 -t "${dur}s" -qps "$qps" -uniform -r 0.0001 -json "$out/fortio.json" "$@" "$url" >/dev/null 2>&1
t1=$(cpu)
[ -n "$perf_pid" ] && wait "$perf_pid"
python3 - "$out" "$t0" "$t1" "$qps" <<'PY'
import json, os, sys
out, t0, t1, qps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
d = json.load(open(os.path.join(out, "fortio.json")))
h = d["DurationHistogram"]
p = {x["Percentile"]: x["Value"] for x in h["Percentiles"]}
n = h["Count"]
line = f"qps {qps}: {d['ActualQPS']:.0f} rps, p50 {p[50]*1e3:.3f} ms, p99 {p[99]*1e3:.3f} ms, p99.9 {p[99.9]*1e3:.2f} ms, gateway CPU {(t1-t0)/100/n*1e6:.0f} us/request"
ev = []
path = os.path.join(out, "perf.txt")
if os.path.exists(path):
    for l in open(path):
        f = l.strip().split(",")
        if len(f) > 3 and f[0].replace(".", "").isdigit():
            ev.append(f"{f[2].split(':')[-1].replace('sys_enter_', '')} {float(f[0])/n:.2f}")
if ev:
    line += "\nper request: " + ", ".join(ev)
print(line)
PY
