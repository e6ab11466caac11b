"""Hot-path benchmark: heartbeat and status against a bare Flask app on the same gunicorn.

    make bench                      # SQLite
    .venv/bin/python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Starts gunicorn (2 sync workers, like `governor serve`) for Governor and for bench/bare.py, loads
each with wrk (Debian package `wrk`; installed when missing and possible), and prints a table of
requests per second and latency, with each path's ratio to the bare app. Targets: heartbeat >= 0.5
and status >= 0.7 of bare.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
TARGETS = {"heartbeat": 0.5, "status": 0.7}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: str, env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                             "--log-level", "warning", app], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{app} did not start")


def call(method: str, url: str, token: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wrk(url: str, method: str, token: str, seconds: int, connections: int,
        paths: list[str] | None = None) -> tuple[float, float, float]:
    """wrk against `url`, or round robin over `paths` on its host (many users, as in real traffic)."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    rotate = "" if not paths else (
        "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n")
    script.write(f'wrk.method = "{method}"\nwrk.headers["Authorization"] = "Bearer {token}"\n' + rotate +
                 'done = function(summary, latency, requests)\n'
                 '  io.write(string.format("RESULT %f %f %f\\n", summary.requests / (summary.duration / 1e6),'
                 ' latency:percentile(50) / 1000, latency:percentile(99) / 1000))\n'
                 '  io.write(string.format("ERRORS %d %d\\n", summary.errors.status, summary.errors.connect))\n'
                 'end\n')
    script.close()
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    errors = next(line for line in out.splitlines() if line.startswith("ERRORS")).split()[1:]
    if any(int(e) for e in errors):
        raise SystemExit(f"{url}: {errors} errors\n{out}")
    rps, p50, p99 = (float(x) for x in next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:])
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=100, help="children with a session open (default 100)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        subprocess.run("apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)",
                       shell=True, capture_output=True)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = tempfile.mkdtemp(prefix="governor-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    env = dict(os.environ, GOVERNOR_DATABASE_URL=url, GOVERNOR_JWT_SECRET=SECRET, GOVERNOR_SCHEDULER="0",
               GOVERNOR_LOG_LEVEL="warning")
    subprocess.run([str(BIN / "governor"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([str(BIN / "governor"), "token", "--sub", "bench", "--scope", "sessions age"], cwd=ROOT,
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    procs = []
    try:
        gov, gov_base = serve("app:app", env, args.workers)
        bare, bare_base = serve("bench.bare:app", env, args.workers)
        procs += [gov, bare]
        sessions = []
        for i in range(args.users):  # children aged 12, each with a session open
            call("PUT", gov_base + f"/v1/users/bench-{i}/age-verification", token,
                 {"status": "verified", "birth_date": "2014-03-01"})
            started = call("POST", gov_base + "/v1/sessions", token, {"user_id": f"bench-{i}"})
            if not started.get("allowed"):
                raise SystemExit(f"the bench children may not chat now (local time?): {started}")
            sessions.append(started["session_id"])
        rows = [("bare flask", *wrk(bare_base + "/healthz", "GET", token, args.seconds, args.connections))]
        rows.append(("status", *wrk(gov_base + "/", "GET", token, args.seconds, args.connections,
                                    [f"/v1/users/bench-{i}/status" for i in range(args.users)])))
        rows.append(("heartbeat", *wrk(gov_base + "/", "POST", token, args.seconds, args.connections,
                                       [f"/v1/sessions/{sid}/heartbeat" for sid in sessions])))
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    base_rps = rows[0][1]
    backend = url.split(":", 1)[0]
    print(f"\nGovernor hot paths, {backend}, gunicorn {args.workers} sync workers, {args.users} users, "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s\n")
    print(f"| {'path':<10} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'x bare':>6} | {'target':>6} |")
    print(f"|{'-' * 12}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 8}|")
    for name, rps, p50, p99 in rows:
        target = TARGETS.get(name)
        ratio = rps / base_rps
        mark = "" if target is None else (" ok" if ratio >= target else " LOW")
        print(f"| {name:<10} | {rps:>8.0f} | {p50:>7.2f} | {p99:>7.2f} | {ratio:>6.2f} | "
              f"{'' if target is None else f'{target:.1f}':>6} |{mark}")


if __name__ == "__main__":
    main()
