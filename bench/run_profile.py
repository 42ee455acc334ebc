#!/usr/bin/env python3
"""Profiles `semaforo run` from outside: time from start to the first decision, peak RSS and
CPU use over the run.

Starts the binary (given with --bin) in a fresh temporary directory with the environment
given by --env KEY=VALUE options, as an orchestrator listening on a loopback port receives its
messages: the time from spawning the process to the first `decision` message is "time to first
decision" (it includes the controller's start-up all-red, 2 s by design). /proc/PID/status
and /proc/PID/stat are sampled every 0.2 s for VmRSS (peak reported) and CPU time (user +
system, all threads). Prints one JSON line.
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--env", action="append", default=[])
    args = p.parse_args()
    binary = os.path.abspath(args.bin)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    env = {"PATH": os.environ.get("PATH", ""), "ORCHESTRATOR_HOST": "127.0.0.1",
           "ORCHESTRATOR_PORT": str(port), "LOG_TO_CONSOLE": "false"}
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    first = {}

    def reader(start):
        conn, _ = listener.accept()
        buf = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 4:
                n = struct.unpack(">I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                msg = json.loads(buf[4:4 + n])
                buf = buf[4 + n:]
                if msg.get("type") == "decision" and "t" not in first:
                    first["t"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        proc = subprocess.Popen([binary, "run", "--for", f"{args.seconds}s"], cwd=d, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = threading.Thread(target=reader, args=(start,), daemon=True)
        t.start()
        peak, samples = 0.0, []
        cpu_start, wall_start = None, None
        while proc.poll() is None:
            try:
                peak = max(peak, rss_mb(proc.pid))
                c = cpu_seconds(proc.pid)
                now = time.perf_counter()
                if cpu_start is None and now - start > 3:
                    cpu_start, wall_start = c, now  # after start-up
                cpu_end, wall_end = c, now
            except (FileNotFoundError, ProcessLookupError, IndexError):
                break
            time.sleep(0.2)
        code = proc.wait()
        t.join(timeout=5)
    cpu = (cpu_end - cpu_start) / (wall_end - wall_start) * 100 if cpu_start is not None else None
    print(json.dumps({"exit": code, "first_decision_s": first.get("t"), "peak_rss_mb": round(peak, 1),
                      "cpu_percent": None if cpu is None else round(cpu, 1), "seconds": args.seconds,
                      "env": args.env}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
