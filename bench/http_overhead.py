#!/usr/bin/env python3
"""What the HTTP API and an open dashboard cost `semaforo run`: two daemons side by side in
the same run, one with `HTTP_ADDR=off`, one serving on a loopback port to a client that
behaves like the dashboard (/api/status twice a second, each camera's picture once a second,
the event stream open). /proc/PID/stat and /proc/PID/status are sampled every 0.2 s for both
(CPU over the run after the first 3 s, as a share of one core; RSS mean and peak). Then, with
wrk (Debian's package) when present, the latency of /api/status under 50 concurrent
connections for 10 s. Prints one JSON line.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
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


def start(binary, workdir, env_extra, seconds):
    env = {"PATH": os.environ.get("PATH", ""), "LOG_TO_CONSOLE": "true"}
    env.update(env_extra)
    proc = subprocess.Popen([binary, "run", "--for", f"{seconds}s"], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = {}
    ready = threading.Event()

    def drain():
        for line in proc.stderr:
            m = re.search(r"HTTP API and dashboard on http://([0-9.]+):(\d+)/", line)
            if m:
                found["port"] = int(m.group(2))
                ready.set()
    threading.Thread(target=drain, daemon=True).start()
    return proc, found, ready


def get(port, path, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def dashboard(port, stop, cameras):
    """The dashboard's requests, without a browser."""
    def status():
        while not stop.is_set():
            get(port, "/api/status")
            stop.wait(0.5)

    def picture(name):
        while not stop.is_set():
            get(port, f"/api/cameras/{name}/snapshot.jpg")
            stop.wait(1.0)

    def events():
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /api/events/stream HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(0.5)
            while not stop.is_set():
                try:
                    s.recv(65536)
                except socket.timeout:
                    pass

    threads = [threading.Thread(target=status), threading.Thread(target=events)]
    threads += [threading.Thread(target=picture, args=(c,)) for c in cameras]
    for t in threads:
        t.daemon = True
        t.start()
    return threads


def wrk_latency(port):
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "-t2", "-c50", "-d10s", "--latency",
                          f"http://127.0.0.1:{port}/api/status"],
                         capture_output=True, text=True).stdout
    result = {"raw": out.strip().splitlines()[-12:]}
    for pct in ("50%", "90%", "99%"):
        m = re.search(rf"^\s*{re.escape(pct)}\s+(\S+)", out, re.M)
        if m:
            result[pct] = m.group(1)
    m = re.search(r"Requests/sec:\s+(\S+)", out)
    if m:
        result["requests_per_s"] = float(m.group(1))
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--env", action="append", default=[])
    args = p.parse_args()
    binary = os.path.abspath(args.bin)
    common = {}
    for kv in args.env:
        k, v = kv.split("=", 1)
        common[k] = v
    with tempfile.TemporaryDirectory() as off_dir, tempfile.TemporaryDirectory() as on_dir:
        total = args.seconds + 20  # the wrk run after the measurement
        off, _, _ = start(binary, off_dir, {**common, "HTTP_ADDR": "off"}, total)
        on, found, ready = start(binary, on_dir, {**common, "HTTP_ADDR": "127.0.0.1:0"}, total)
        if not ready.wait(30):
            print("the HTTP daemon did not listen", file=sys.stderr)
            return 1
        port = found["port"]
        cameras = []
        deadline = time.time() + 30
        while not cameras and time.time() < deadline:  # the loop's first tick names them
            status = json.loads(get(port, "/api/status").split(b"\r\n\r\n", 1)[1])
            cameras = [c["name"] for c in status["cameras"]]
            time.sleep(0.1)
        stop = threading.Event()
        dashboard(port, stop, cameras)
        t0 = time.perf_counter()
        samples = {"off": [], "on": []}
        first = {}
        while time.perf_counter() - t0 < args.seconds:
            now = time.perf_counter()
            for name, proc in (("off", off), ("on", on)):
                c, r = cpu_seconds(proc.pid), rss_mb(proc.pid)
                if now - t0 >= 3:
                    first.setdefault(name, (c, now))
                    samples[name].append((c, now, r))
            time.sleep(0.2)
        stop.set()
        latency = wrk_latency(port)
        report = {}
        for name in ("off", "on"):
            (c0, w0), (c1, w1, _) = first[name], samples[name][-1]
            rss = [s[2] for s in samples[name]]
            report[name] = {"cpu_percent": round((c1 - c0) / (w1 - w0) * 100, 2),
                            "rss_mean_mb": round(sum(rss) / len(rss), 1),
                            "rss_peak_mb": round(max(rss), 1)}
        report["added"] = {
            "cpu_points": round(report["on"]["cpu_percent"] - report["off"]["cpu_percent"], 2),
            "cpu_ratio": round(report["on"]["cpu_percent"] / report["off"]["cpu_percent"], 3),
            "rss_mean_mb": round(report["on"]["rss_mean_mb"] - report["off"]["rss_mean_mb"], 1),
            "rss_ratio": round(report["on"]["rss_mean_mb"] / report["off"]["rss_mean_mb"], 3),
        }
        report["status_latency_50_connections"] = latency
        report["seconds"] = args.seconds
        report["cameras"] = cameras
        for proc in (off, on):
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in (off, on)]
        report["exit"] = codes
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
