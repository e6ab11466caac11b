"""PUT /v1/dev/clock: development mode only; every worker of one instance folder follows it."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from governor import create_app
from governor.store.tables import AuditEvent
from tests.api.conftest import assert_problem
from tests.conftest import settings_for, shanghai


@pytest.fixture
def dev_apps(db_url, clock, tmp_path):
    """Two apps on one database and one instance folder: two gunicorn workers, as `make run` has."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # development mode sets up JSON logs
    settings = settings_for(db_url).replace(env="development", instance_dir=str(tmp_path / "instance"))
    apps = [create_app(settings, clock=clock) for _ in range(2)]
    root.handlers[:], root.level = handlers, level
    yield apps
    for app in apps:
        app.extensions["governor"].db.dispose()


def test_the_clock_moves_for_every_worker_and_back(dev_apps, clock, token):
    one, two = (app.test_client() for app in dev_apps)
    adm, fe = token("admin", sub="integrator"), token("sessions")
    assert two.get("/v1/users/kid/status", headers=fe).json["reason"] == "ok"     # 07:00 in Shanghai
    r = one.put("/v1/dev/clock", json={"now": "2026-12-02T23:00:00+08:00"}, headers=adm)
    assert r.status_code == 200, r.json
    assert r.json == {"now": "2026-12-02T15:00:00+00:00", "offset_seconds": 16 * 3600.0}
    night = two.get("/v1/users/kid/status", headers=fe).json
    assert night["reason"] == "curfew" and night["retry_at"] == "2026-12-03T06:00:00+08:00"
    clock.advance(hours=8)  # the real time runs on, and the set time with it: 07:00 next day
    assert two.get("/v1/users/kid/status", headers=fe).json["reason"] == "ok"
    r = two.delete("/v1/dev/clock", headers=adm)  # back to the real (here: the fake) time, 15:00 in Shanghai
    assert r.status_code == 200 and r.json == {"now": "2026-12-02T07:00:00+00:00", "offset_seconds": 0.0}
    clock.advance(hours=7, minutes=30)  # 22:30: curfew on both workers, no offset left anywhere
    assert one.get("/v1/users/kid/status", headers=fe).json["reason"] == "curfew"
    assert two.get("/v1/users/kid/status", headers=fe).json["reason"] == "curfew"
    with dev_apps[0].extensions["governor"].db.read() as s:
        actions = list(s.execute(select(AuditEvent.action, AuditEvent.client)
                                 .where(AuditEvent.action.like("dev.%")).order_by(AuditEvent.id)))
    assert actions == [("dev.clock_set", "integrator"), ("dev.clock_reset", "integrator")]


def test_a_session_ends_at_curfew_when_the_clock_is_set_past_it(dev_apps, token):
    c = dev_apps[0].test_client()
    adm, fe = token("admin"), token("sessions")
    c.put("/v1/dev/clock", json={"now": "2026-12-02T21:58:00+08:00"}, headers=adm)
    start = c.post("/v1/sessions", json={"user_id": "kid"}, headers=fe).json
    assert start["ends_at"] == "2026-12-02T22:00:00+08:00"
    assert start["warnings"] == [{"type": "time_running_out", "seconds_left": 120, "cause": "allowed_hours"}]
    c.put("/v1/dev/clock", json={"now": "2026-12-02T22:00:30+08:00"}, headers=adm)
    beat = c.post(f"/v1/sessions/{start['session_id']}/heartbeat", headers=fe).json
    assert (beat["allowed"], beat["reason"]) == (False, "curfew")


def test_the_clock_needs_an_admin_token_and_a_time_with_an_offset(dev_apps, token):
    c = dev_apps[0].test_client()
    assert_problem(c.put("/v1/dev/clock", json={"now": "2026-12-02T23:00:00+08:00"}), 401, "unauthorized")
    assert_problem(c.put("/v1/dev/clock", json={"now": "2026-12-02T23:00:00+08:00"}, headers=token("sessions")),
                   403, "insufficient-scope")
    for bad in ({"now": "2026-12-02T23:00:00"}, {"now": "tomorrow"}, {}, {"now": "9999-01-01T00:00:00Z"}):
        assert_problem(c.put("/v1/dev/clock", json=bad, headers=token("admin")), 422, "validation-error")


def test_outside_development_there_is_no_such_endpoint(client, token):
    for method in ("put", "delete"):
        r = getattr(client, method)("/v1/dev/clock", json={"now": "2026-12-02T23:00:00+08:00"},
                                    headers=token("admin"))
        assert_problem(r, 404, "not-found")
    assert_problem(client.put("/v1/dev/clock"), 404, "not-found")  # before any token is asked for


def test_a_broken_offset_file_reads_as_no_offset(dev_apps, clock, token, tmp_path):
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "dev-clock-offset").write_text("not a number\n")
    r = dev_apps[0].test_client().get("/v1/users/kid/status", headers=token("sessions"))
    assert r.json["reason"] == "ok" and clock.now() == shanghai(2026, 12, 2, 7, 0)
