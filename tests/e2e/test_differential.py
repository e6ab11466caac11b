"""A differential test of the decisions (issue 19): a warm server answers a random history, and
every answer is compared with a fresh instance and with the full decision over facts read afresh.

- The warm server is `gunicorn app:app` (two workers, each with its status memory, its stored
  decisions and its fast paths) on a database of the test's own, SQLite or PostgreSQL, under a
  faked OS clock (libfaketime, tests/e2e/cluster.py).
- The fresh instance is built anew in this test's process for every comparison (another process
  on the same database, with no memory of any earlier request): its status, and `decide()` /
  `decide_heartbeat()` over the facts it reads, must equal the warm answer field by field.
- Alongside, tests/run_reference.py keeps what each tab is credited and checks the run after the
  fact (no run longer than its limit plus a heartbeat; nothing of an old run after a full break),
  which is what catches a rule that the warm and the fresh instance would get wrong alike.

The history: two children (a 12-year-old whose guardian asks for a rest reminder every 20
minutes, and a 16-year-old) with up to three tabs each; every minute the tabs that are not silent
heartbeat; tabs fall silent for spans around the grace plus the break (1,020 s), open, end and are
swept. It runs for GOVERNOR_TEST_DIFFERENTIAL_SECONDS (default 45) per database;
GOVERNOR_TEST_DIFFERENTIAL_SEED replays a history.
"""
from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from governor.api.schemas import decision_json
from governor.clock import FakeClock
from governor.domain.engine import decide, decide_heartbeat
from governor.service import sessions
from governor.service.context import Services
from governor.service.sessions import steps
from governor.store import users as user_store
from governor.store.database import Database
from tests.conftest import BACKENDS, DEFAULT_POLICY, settings_for
from tests.e2e.cluster import SECRET, SHANGHAI, ClockFile, Instance, faketime_lib
from tests.e2e.cluster import Database as PgDatabase
from tests.run_reference import GRACE, Reference, Tab

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("GOVERNOR_TEST_DIFFERENTIAL_SECONDS", "45"))
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
CHILDREN = {"kid": "2014-06-15", "teen": "2010-01-05"}
SILENCES = [300, 780, 840, 840, 899, 900, 960, 960, 1019, 1020, 1021, 1080, 1080, 1500]
DECISION = ("user_id", "allowed", "reason", "band", "used_today_seconds", "remaining_seconds", "ends_at",
            "retry_at", "warnings", "policy")


@pytest.fixture(params=BACKENDS)
def warm(request, tmp_path):
    """(the warm instance, its database URL, the clock file)."""
    faketime_lib()
    clock = ClockFile(tmp_path / "clock", T0)
    if request.param == "sqlite":
        url, db = f"sqlite:///{tmp_path / 'governor.db'}", None
    else:
        db = PgDatabase(request.getfixturevalue("pg_admin")).__enter__()
        url = db.url.render_as_string(hide_password=False)
    inst = Instance("warm", "gunicorn", url, DEFAULT_POLICY, clock, tmp_path)
    try:
        yield inst.start(), url, clock
    finally:
        inst.kill()
        if db is not None:
            db.__exit__(None, None, None)


class Fresh:
    """A new instance on the same database for each comparison."""

    def __init__(self, url: str):
        self.url = url

    def __call__(self, now: datetime) -> Services:
        return Services(Database(self.url), FakeClock(now), settings_for(self.url))

    def facts(self, now: datetime, uid: str, exclude: str | None = None):
        svc = self(now)
        try:
            with svc.db.hot_read() as tx:
                user = user_store.get(tx, uid)
                policy = svc.policy_at(user.policy_version if user else user_store.policy_version(tx))
                facts, use, _ = steps.gather(tx, policy, user, uid, now, svc.grace, exclude=exclude)
            return policy, facts, use
        finally:
            svc.db.dispose()

    def status(self, now: datetime, uid: str) -> dict:
        svc = self(now)
        try:
            return decision_json(sessions.status(svc, uid).decision)
        finally:
            svc.db.dispose()

    def sweep(self, now: datetime) -> None:
        svc = self(now)
        try:
            sessions.sweep(svc)
        finally:
            svc.db.dispose()


def same(warm: dict, fresh: dict, what: str) -> None:
    got = {k: warm.get(k) for k in DECISION}
    assert got == fresh, f"{what}\nwarm  {got}\nfresh {fresh}"


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class History:
    def __init__(self, inst: Instance, url: str, clock: ClockFile, rng: random.Random):
        self.inst, self.clock, self.rng, self.fresh = inst, clock, rng, Fresh(url)
        self.now = T0
        iat = int(T0.timestamp()) - 3600
        self.tokens = {scope: _token(scope, iat) for scope in ("sessions", "age", "guardian")}
        self.refs = {uid: Reference(limit=timedelta(minutes=30), rest=timedelta(minutes=15)) for uid in CHILDREN}
        self.silent: dict[tuple[str, int], datetime] = {}
        self.answers = 0

    def call(self, method: str, path: str, scope: str = "sessions", body=None):
        r = self.inst.call(method, path, self.tokens[scope], body)
        assert r.status in (200, 201, 403), (method, path, r.status, r.body)
        self.answers += 1
        return r

    def setup(self) -> None:
        for uid, birth in CHILDREN.items():
            self.call("PUT", f"/v1/users/{uid}/age-verification", "age", {"status": "verified", "birth_date": birth})
        self.call("PUT", "/v1/users/kid/guardians/g-1", "age")
        self.call("PUT", "/v1/guardians/g-1/children/kid/controls", "guardian",
                  {"daily_limit_minutes": None, "quiet_hours": None, "rest_reminder_minutes": 20})

    def tick(self) -> None:
        r = self.rng.random()
        step = 60 if r < 0.85 else 30 if r < 0.95 else self.rng.choice(SILENCES)
        self.now += timedelta(seconds=step)
        self.clock.set(self.now)
        for uid, ref in self.refs.items():
            for i in range(3):
                self.act(uid, ref, i)
            self.status(uid)
        if self.rng.random() < 0.01:
            self.fresh.sweep(self.now)
            for ref in self.refs.values():
                ref.sweep(self.now)

    def act(self, uid: str, ref: Reference, i: int) -> None:
        tab, rng = ref.tabs.get(i), self.rng
        if tab is None:
            if rng.random() < 0.08:
                self.start(uid, ref, i)
        elif self.silent.get((uid, i), self.now) > self.now:
            return
        elif rng.random() < 0.03 and self.now - tab.last_seen <= GRACE:
            self.end(uid, ref, i)
        elif rng.random() < 0.08:
            self.silent[(uid, i)] = self.now + timedelta(seconds=rng.choice(SILENCES + [rng.randint(1, 1800)]))
        else:
            self.beat(uid, ref, i)

    def start(self, uid: str, ref: Reference, i: int) -> None:
        rested = ref.rested(self.now)
        r = self.call("POST", "/v1/sessions", body={"user_id": uid})
        policy, facts, use = self.fresh.facts(self.now, uid, exclude=r.body.get("session_id"))
        same(r.body, decision_json(decide(policy, facts, use, self.now)), f"start {uid} at {self.now}")
        if rested:
            check_fresh(ref, r.body, self.now, f"start {uid}/{i}")
        if r.status == 201:
            ref.tabs[i] = Tab(r.body["session_id"], self.now, at(r.body["ends_at"]))

    def beat(self, uid: str, ref: Reference, i: int) -> None:
        ends_before = ref.tabs[i].ends_at
        tab = ref.heartbeat(i, self.now)
        tab_reached = ref.booked[-1][1] if ref.booked else None  # where this heartbeat's credit ends
        rested = ref.rested(self.now, but=i)
        r = self.call("POST", f"/v1/sessions/{tab.sid}/heartbeat")
        assert r.status == 200, (r.status, r.body)
        policy, facts, use = self.fresh.facts(self.now, uid, exclude=tab.sid)
        full = decide_heartbeat(policy, facts, use, self.now, ends_before, credited_until=tab_reached)
        same(r.body, decision_json(full), f"heartbeat {uid}/{i} at {self.now}")
        if rested and ran_into(ends_before, tab_reached, self.now):  # DESIGN 3: its end stands
            assert not r.body["allowed"], r.body  # and no break stands in the way of the next start
            assert r.body["reason"] != "cooldown" or at(r.body["retry_at"]) == self.now, r.body
        elif rested:
            check_fresh(ref, r.body, self.now, f"heartbeat {uid}/{i}")
        if r.body["allowed"]:
            tab.last_seen, tab.ends_at = self.now, at(r.body["ends_at"])
        else:
            del ref.tabs[i]

    def end(self, uid: str, ref: Reference, i: int) -> None:
        tab = ref.tabs.pop(i)
        ref.credit(tab, self.now)
        r = self.call("POST", f"/v1/sessions/{tab.sid}/end")
        policy, facts, use = self.fresh.facts(self.now, uid)
        same(r.body, decision_json(decide(policy, facts, use, self.now)), f"end {uid}/{i} at {self.now}")

    def status(self, uid: str) -> None:
        r = self.call("GET", f"/v1/users/{uid}/status")
        policy, facts, use = self.fresh.facts(self.now, uid)
        same(r.body, decision_json(decide(policy, facts, use, self.now)), f"status {uid} at {self.now} (full)")
        same(r.body, self.fresh.status(self.now, uid), f"status {uid} at {self.now} (a fresh instance)")


def ran_into(ends_at: datetime | None, reached: datetime | None, now: datetime) -> bool:
    """A heartbeat at or after the session's end that was credited up to that end: the session
    ran into it (rather than falling silent before it)."""
    return ends_at is not None and now >= ends_at and reached == ends_at


def check_fresh(ref: Reference, body: dict, now: datetime, what: str) -> None:
    day_ends = now.astimezone(SHANGHAI).replace(hour=22, minute=0, second=0)
    remaining = body["remaining_seconds"]
    last = [(str(a.time()), str(b.time())) for a, b in sorted(ref.booked)[-8:]]
    with _context(f"{what}: {body}\nthe last booked {last}\nopen {ref.tabs}"):
        ref.check_fresh(now, body["allowed"], body["reason"], [w["type"] for w in body["warnings"]],
                        at(body["ends_at"]), None if remaining is None else timedelta(seconds=remaining), day_ends)


@contextmanager
def _context(text: str):
    try:
        yield
    except AssertionError as e:
        raise AssertionError(f"{e}\n{text}") from None


def _token(scope: str, iat: int) -> str:
    claims = {"iss": "governor", "aud": "governor", "sub": "differential", "scope": scope, "iat": iat,
              "exp": iat + 3 * 86400}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_warm_answers_equal_a_fresh_instance_and_the_full_decision(warm):
    inst, url, clock = warm
    seed = int(os.environ.get("GOVERNOR_TEST_DIFFERENTIAL_SEED", time.time_ns() % 1_000_000))
    history = History(inst, url, clock, random.Random(seed))
    history.setup()
    deadline = time.monotonic() + SECONDS
    try:
        while time.monotonic() < deadline and history.now < T0.replace(hour=21, minute=30):
            history.tick()
        for ref in history.refs.values():
            ref.check_runs()
    except AssertionError as e:
        raise AssertionError(f"seed {seed} (GOVERNOR_TEST_DIFFERENTIAL_SEED), after {history.answers} answers, "
                             f"at {history.now.astimezone(timezone.utc)}: {e}") from None
    assert history.answers > 200, history.answers
