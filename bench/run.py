"""Hot-path benchmark: heartbeat and status against a bare Flask app on the same gunicorn.

    make bench                      # SQLite and PostgreSQL, empty and with history
    .venv/bin/python bench/run.py --database sqlite --seconds 5

Starts gunicorn (2 sync workers, like `governor serve`) for Governor and for bench/bare.py, loads
each with wrk (Debian package `wrk`; installed when missing and possible), and prints a table of
requests per second and latency, with each path's ratio to the bare app, and the workers' resident
memory after the run. Targets (issue 7): heartbeat >= 0.5 and status >= 0.7 of bare on SQLite,
both >= 0.4 on PostgreSQL, p99 under 20 ms, no errors, under 150 MB per worker; with --history
(1,000,000 audit events, 100,000 users) each path within 1.2x of its empty-database figure.
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
TARGETS = {"sqlite": {"heartbeat": 0.5, "status": 0.7, "status idle": 0.7},
           "postgresql": {"heartbeat": 0.4, "status": 0.4, "status idle": 0.4}}


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


def worker_rss_mb(proc: subprocess.Popen) -> float:
    """The largest resident set of the gunicorn master's workers, in MB."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    rss = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss.append(int(line.split()[1]) / 1024)
    return max(rss, default=0.0)


def measure(gov_base: str, bare_base: str, token: str, sessions: list[str], args) -> list[tuple]:
    """The bare app is measured before and after Governor's paths, and the floor is the mean of
    the two: on a shared machine one run of it moves by 10 % from one minute to the next."""
    users = len(sessions)
    before = wrk(bare_base + "/healthz", "GET", token, args.seconds, args.connections)
    rows = [("status", *wrk(gov_base + "/", "GET", token, args.seconds, args.connections,
                            [f"/v1/users/bench-{i}/status" for i in range(users)]))]
    rows.append(("status idle", *wrk(gov_base + "/", "GET", token, args.seconds, args.connections,
                                     [f"/v1/users/idle-{i}/status" for i in range(users)])))
    rows.append(("heartbeat", *wrk(gov_base + "/", "POST", token, args.seconds, args.connections,
                                   [f"/v1/sessions/{sid}/heartbeat" for sid in sessions])))
    after = wrk(bare_base + "/healthz", "GET", token, args.seconds, args.connections)
    print(f"bare flask before and after: {before[0]:.0f} and {after[0]:.0f} req/s", file=sys.stderr)
    return [("bare flask", *((a + b) / 2 for a, b in zip(before, after, strict=True)))] + rows


def run_backend(url: str, args) -> list[tuple[str, list[tuple], float]]:
    """Empty database, then (with --history) the same after loading history; each with its
    own bare-Flask run, so that every ratio compares two measurements of the same moment."""
    env = dict(os.environ, GOVERNOR_DATABASE_URL=url, GOVERNOR_JWT_SECRET=SECRET, GOVERNOR_SCHEDULER="0",
               GOVERNOR_LOG_LEVEL="warning")
    subprocess.run([str(BIN / "governor"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([str(BIN / "governor"), "token", "--sub", "bench", "--scope", "sessions age"], cwd=ROOT,
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    procs = []
    results = []
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
            call("PUT", gov_base + f"/v1/users/idle-{i}/age-verification", token,  # and one without
                 {"status": "verified", "birth_date": "2014-03-01"})
        results.append(("empty", measure(gov_base, bare_base, token, sessions, args), worker_rss_mb(gov)))
        if args.history:
            sys.path.insert(0, str(ROOT))
            from bench.history import load

            t0 = time.monotonic()
            load(url)
            print(f"history loaded in {time.monotonic() - t0:.0f} s", file=sys.stderr)
            results.append(("history", measure(gov_base, bare_base, token, sessions, args), worker_rss_mb(gov)))
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=20)
    return results


def print_table(backend: str, results, args) -> None:
    print(f"\nGovernor hot paths, {backend}, gunicorn {args.workers} sync workers, {args.users} children with a "
          f"session open, wrk -t2 -c{args.connections} -d{args.seconds}s; bare flask: the mean of a run before "
          f"and a run after\n")
    print("| database | path | req/s | p50 ms | p99 ms | x bare | target | worker RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    empty = {}
    for label, rows, rss in results:
        base_rps = rows[0][1]
        for name, rps, p50, p99 in rows:
            ratio = rps / base_rps
            target = TARGETS[backend].get(name)
            mark = "" if target is None else (" ok" if ratio >= target and p99 < 20 else " LOW")
            if label == "empty":
                empty[name] = ratio
            elif name in empty:
                mark += f" ({ratio / empty[name]:.2f} of empty)"
            print(f"| {label} | {name} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {ratio:.2f} | "
                  f"{'' if target is None else target} |{mark} | {rss:.0f} |")


def pg_database(admin_url: str):
    """A throw-away database on the PostgreSQL server, or None when none is reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    try:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"governor_bench_{os.getpid()}"
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as e:
        print(f"PostgreSQL not reachable ({e.orig}); SQLite only", file=sys.stderr)
        return None, None

    def drop():
        with engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=200, help="children with a session open (default 200)")
    parser.add_argument("--history", action="store_true",
                        help="run again after loading 1,000,000 audit events and 100,000 users")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        subprocess.run("apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)",
                       shell=True, capture_output=True)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if args.database in ("sqlite", "both"):
        tmp = tempfile.mkdtemp(prefix="governor-bench-")
        try:
            print_table("sqlite", run_backend(f"sqlite:///{tmp}/bench.db", args), args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.database in ("postgresql", "both"):
        url, drop = pg_database(args.pg_admin_url)
        if url is not None:
            try:
                print_table("postgresql", run_backend(url, args), args)
            finally:
                drop()


if __name__ == "__main__":
    main()
