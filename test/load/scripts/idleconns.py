#!/usr/bin/env python3
"""idleconns.py: the gateway's memory per idle keep-alive client connection.

Starts BIN on CONFIG, waits for readiness (READY, default
http://127.0.0.1:19021/healthz/ready), reads RssAnon and VmRSS from
/proc/PID/status, opens N connections to HOST:PORT (a plain HTTP route),
sends one GET on each, reads every answer's head, keeps the connections
open, waits 3 s and reads the memory again (docs/performance.md, "Memory,
session 10"). Raise the open-files limit first for large N (ulimit -n).

    test/load/scripts/idleconns.py BIN CONFIG HOST:PORT [N]
"""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def mem(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon"):
                out[key] = int(line.split()[1])
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary, config, target = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    ready = os.environ.get("READY", "http://127.0.0.1:19021/healthz/ready")
    host, port = target.rsplit(":", 1)
    gw = subprocess.Popen([binary, "-f", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(ready, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        before = mem(gw.pid)
        conns = []
        for _ in range(n):
            s = socket.create_connection((host, int(port)))
            s.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
            conns.append(s)
        for s in conns:
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    sys.exit("a connection closed before its answer")
                got += chunk
        time.sleep(3)
        after = mem(gw.pid)
        anon = after["RssAnon"] - before["RssAnon"]
        print(f"{os.path.basename(binary)}: {n} idle keep-alive connections: RssAnon +{anon} KiB "
              f"({anon / n:.1f} KiB each), VmRSS +{after['VmRSS'] - before['VmRSS']} KiB")
    finally:
        gw.send_signal(signal.SIGTERM)
        gw.wait()


if __name__ == "__main__":
    main()
