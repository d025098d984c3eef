#!/usr/bin/env python3
"""Bytes a `prom serve` writes per published event, from its /proc/PID/io.

Starts prom serve on a fresh SQLite database in a temporary directory, publishes BATCHES
requests of 1000 events each (to 1000 keys, as bench/append_bench's batches), gives the
key indexer 1.5 s for its last step, and prints the rate and the bytes written per event:
`wchar` (what the process handed to write(): the WAL appends, checkpoint copies and the keys
file) and `write_bytes` (what it sent towards the disk). Unlike a rate, the bytes per event
do not move with the machine's load, so two builds can be compared in one run each.

  bench/publish/bytes_written.py [--prom PATH] [BATCHES=200]
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_io(pid):
    out = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            out[k] = int(v)
    return out


def wait_ready(port, server):
    for _ in range(100):
        if server.poll() is not None:
            sys.exit(f"prom serve exited with {server.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("prom serve did not answer within 10 s")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("batches", nargs="?", type=int, default=200)
    p.add_argument("--prom", default=os.environ.get(
        "PROM_BIN", os.path.join(ROOT, "build/release/src/cli/prom")))
    a = p.parse_args()
    if a.batches < 1:
        p.error("BATCHES must be at least 1")
    if not os.access(a.prom, os.X_OK):
        p.error(f"{a.prom} is not executable: scripts/build.sh release --target prom")
    bodies = []
    for b in range(a.batches):
        events = [{"topic": "t", "key": f"k{i % 1000}",
                   "payload": {"i": b * 1000 + i, "host": "alpha", "cpu_pct": 12.5}}
                  for i in range(1000)]
        bodies.append(json.dumps({"events": events}))
    work = tempfile.mkdtemp(prefix="prom-bytes-")
    port = free_port()
    server = subprocess.Popen(
        [a.prom, "serve", "--db", f"sqlite:{work}/p.db", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server)
        c = http.client.HTTPConnection("127.0.0.1", port)
        before = proc_io(server.pid)
        t0 = time.monotonic()
        for body in bodies:
            c.request("POST", "/publish", body, {"content-type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                sys.exit(f"POST /publish answered {r.status}")
        elapsed = time.monotonic() - t0
        time.sleep(1.5)  # the key indexer's last step
        after = proc_io(server.pid)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    n = a.batches * 1000
    print(f"{os.path.basename(a.prom)}: {n / elapsed:.0f} events/s, "
          f"wchar {(after['wchar'] - before['wchar']) / n:.0f} B/event, "
          f"write_bytes {(after['write_bytes'] - before['write_bytes']) / n:.0f} B/event")


if __name__ == "__main__":
    main()
