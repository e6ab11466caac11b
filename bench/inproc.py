"""In-process cost of the hot paths, per request, next to a bare Flask app (no network, no gunicorn).

    .venv/bin/python bench/inproc.py [--database-url URL] [--profile heartbeat|status]

CPU time per request (time.process_time) is steadier than wall time on a shared machine; this is
the tool for finding where time goes (with --profile, a cProfile of that path), not the goal
itself: `make bench` measures the goals.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import tempfile
import time
from datetime import datetime, timedelta, timezone

from werkzeug.test import EnvironBuilder

from bench.bare import app as bare_app
from governor import create_app
from governor.clock import FakeClock
from governor.config import PROJECT_DIR, Settings
from governor.store.migrate import upgrade

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def call(app, method: str, path: str, token: str | None = None, body: dict | None = None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    env = EnvironBuilder(method=method, path=path, headers=headers,
                         data=json.dumps(body) if body is not None else None,
                         content_type="application/json" if body is not None else None).get_environ()
    out = {}

    def start_response(status, hdrs, exc_info=None):
        out["status"] = status

    data = b"".join(app(env, start_response))
    return out["status"], data


def timed(app, requests: list[tuple], rounds: int) -> float:
    """Mean CPU microseconds per request."""
    envs = []
    for method, path, token in requests:
        headers = {"Authorization": "Bearer " + token} if token else {}
        envs.append(EnvironBuilder(method=method, path=path, headers=headers).get_environ())
    t0 = time.process_time()
    n = 0
    for _ in range(rounds):
        for env in envs:
            body = app(dict(env), lambda s, h, e=None: None)
            b"".join(body)
            n += 1
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database-url")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--profile", choices=["heartbeat", "status"])
    a = p.parse_args()
    url = a.database_url or f"sqlite:///{tempfile.mkdtemp()}/inproc.db"
    upgrade(url)
    clock = FakeClock(datetime(2026, 12, 2, 9, 0, tzinfo=timezone(timedelta(hours=8))))
    app = create_app(Settings(database_url=url, jwt_secret=SECRET, scheduler=False, env="test",
                              policy=str(PROJECT_DIR / "config/policies/cn-minor-mode.toml")), clock=clock)
    from governor.service import policies
    policies.sync_file(app.extensions["governor"], PROJECT_DIR / "config/policies/cn-minor-mode.toml")
    auth = app.extensions["governor.auth"]
    token = auth.mint("bench", ["sessions", "age"], 3600, datetime.now(timezone.utc))
    sids = []
    for i in range(a.users):
        call(app, "PUT", f"/v1/users/b-{i}/age-verification", token, {"status": "verified", "birth_date": "2014-03-01"})
        st, data = call(app, "POST", "/v1/sessions", token, {"user_id": f"b-{i}"})
        sids.append(json.loads(data)["session_id"])
    hb = [("POST", f"/v1/sessions/{s}/heartbeat", token) for s in sids]
    status = [("GET", f"/v1/users/b-{i}/status", token) for i in range(a.users)]
    bare = [("GET", "/healthz", None)] * a.users
    if a.profile:
        prof = cProfile.Profile()
        prof.enable()
        timed(app, hb if a.profile == "heartbeat" else status, a.rounds)
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
        return
    rows = [("bare flask", timed(bare_app, bare, a.rounds))]
    clock.advance(seconds=1)
    rows.append(("status", timed(app, status, a.rounds)))
    rows.append(("heartbeat", timed(app, hb, a.rounds)))
    print("| path | CPU us/request | x bare |\n|---|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.0f} | {us / rows[0][1]:.1f} |")


if __name__ == "__main__":
    main()
