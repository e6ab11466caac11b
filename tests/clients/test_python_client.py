"""governor_client.GovernorClient: the four calls of the session loop against the real app, and its retries."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from governor_client import Decision, GovernorClient, GovernorError, GovernorUnavailable, Warning

from tests.clients.conftest import FakeTime, answering, on
from tests.conftest import shanghai
from tests.e2e.conftest import free_port


def test_status_is_a_typed_decision_with_aware_times(gov):
    d = gov.status("u-1")
    assert isinstance(d, Decision)
    assert (d.allowed, d.reason, d.band, d.remaining_seconds) == (True, "ok", "unverified", 40 * 60)
    assert d.ends_at == shanghai(2026, 12, 2, 7, 30)  # the continuous-use allowance
    assert d.ends_at.utcoffset() is not None
    assert d.active_sessions == 0 and d.policy == {"name": "cn-minor-mode", "version": 1}


def test_start_heartbeat_end(gov, clock):
    started = gov.start("u-1")
    assert started.allowed and started.session_id and started.heartbeat_interval_seconds == 60
    for _ in range(26):  # a heartbeat a minute (a longer gap counts only up to the grace)
        clock.advance(minutes=1)
        beat = gov.heartbeat(started.session_id)
    assert beat.allowed and beat.session_id == started.session_id and beat.used_today_seconds == 26 * 60
    assert beat.warnings == (Warning("break_soon", 4 * 60),)
    clock.advance(minutes=1)
    ended = gov.end(started.session_id)
    assert (ended.duration_seconds, ended.end_reason, ended.used_today_seconds) == (27 * 60, "client", 27 * 60)
    assert gov.end(started.session_id).duration_seconds == 27 * 60  # idempotent


def test_a_warning_says_what_runs_out(gov, clock):
    clock.set(shanghai(2026, 12, 2, 21, 57))
    assert gov.status("u-1").warnings == (Warning("time_running_out", 3 * 60, cause="allowed_hours"),)


def test_a_refusal_is_a_decision_not_an_exception(gov, clock):
    clock.set(shanghai(2026, 12, 2, 22, 30))
    for d in (gov.status("u-1"), gov.start("u-1")):
        assert (d.allowed, d.reason, d.session_id) == (False, "curfew", None)
        assert d.retry_at == shanghai(2026, 12, 3, 6, 0) and d.retry_at.tzinfo is not None


def test_a_forced_end_comes_as_a_decision(gov, clock):
    sid = gov.start("u-1").session_id
    for _ in range(30):
        clock.advance(minutes=1)
        d = gov.heartbeat(sid)
    assert (d.allowed, d.reason, d.retry_at) == (False, "cooldown", shanghai(2026, 12, 2, 7, 45))


def test_problems_raise_governor_error(gov, app, bearer, clock):
    with pytest.raises(GovernorError) as e:
        gov.heartbeat("no-such-session")
    assert (e.value.status, e.value.type) == (404, "urn:governor:problem:session-not-found")
    sid = gov.start("u-1").session_id
    gov.end(sid)
    with pytest.raises(GovernorError) as e:
        gov.heartbeat(sid)
    assert (e.value.status, e.value.type, e.value.problem["end_reason"]) == (
        409, "urn:governor:problem:session-ended", "client")
    with pytest.raises(GovernorError) as e:
        gov.start("not a valid id!")
    assert e.value.status == 422 and "user_id" in e.value.detail
    with GovernorClient("http://t", bearer("audit"), transport=httpx.WSGITransport(app=app)) as wrong_scope:
        with pytest.raises(GovernorError) as e:  # a 403 problem, not a refused decision
            wrong_scope.start("u-1")
    assert (e.value.status, e.value.type) == (403, "urn:governor:problem:insufficient-scope")
    assert not isinstance(e.value, GovernorUnavailable)


def test_unreachable_raises_governor_unavailable_after_bounded_backoff():
    t = FakeTime()
    with on(None, t) as c, pytest.raises(GovernorUnavailable):
        c._http = httpx.Client(base_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
        c.status("u-1")
    assert t.slept == [0.25, 0.5, 1, 2, 4, 4] and sum(t.slept) <= 15


def test_repeated_503_honours_retry_after_within_the_budget():
    t = FakeTime()
    transport, calls = answering(httpx.Response(503, headers={"Retry-After": "4"}, json={"type": "x"}))
    with on(transport, t) as c, pytest.raises(GovernorUnavailable) as e:
        c.heartbeat("s-1")
    assert t.slept == [4, 4, 4] and len(calls) == 4 and e.value.status == 503


def test_a_503_then_an_answer_is_the_answer():
    t = FakeTime()
    ok = {"user_id": "u-1", "allowed": True, "reason": "ok", "warnings": [], "ends_at": "2026-12-02T07:30:00Z"}
    transport, calls = answering(httpx.Response(503), httpx.Response(200, json=ok))
    with on(transport, t) as c:
        d = c.status("u-1")
    assert d.allowed and d.ends_at.utcoffset() == timedelta(0) and t.slept == [0.25]
    assert calls[0].headers["Authorization"] == "Bearer tok"


def test_a_start_that_may_have_been_carried_out_is_not_repeated():
    t = FakeTime()
    transport, calls = answering(httpx.ReadTimeout("slow"))
    with on(transport, t) as c, pytest.raises(GovernorUnavailable):
        c.start("u-1")
    assert len(calls) == 1 and t.slept == []
    transport, calls = answering(httpx.ConnectError("refused"), httpx.Response(502))
    with on(transport, t) as c, pytest.raises(GovernorUnavailable) as e:
        c.start("u-1")  # no connection: repeated; a proxy's 502: perhaps carried out, not repeated
    assert len(calls) == 2 and e.value.status == 502


def test_the_retry_budget_is_configurable():
    t = FakeTime()
    transport, calls = answering(httpx.Response(503))
    with on(transport, t, retry_within=1) as c, pytest.raises(GovernorUnavailable):
        c.status("u-1")
    assert t.slept == [0.25, 0.5]


def test_a_rate_limit_is_waited_out_then_a_governor_error():
    t = FakeTime()
    limited = httpx.Response(429, headers={"Retry-After": "2"},
                             json={"type": "urn:governor:problem:too-many-requests", "detail": "slow down"})
    ok = {"user_id": "u-1", "allowed": True, "reason": "ok", "session_id": "s-1", "warnings": []}
    transport, calls = answering(limited, httpx.Response(201, json=ok))
    with on(transport, t) as c:
        assert c.start("u-1").session_id == "s-1"  # a 429 was not carried out: a start may repeat
    assert t.slept == [2]
    transport, calls = answering(limited)
    with on(transport, t, retry_within=5) as c, pytest.raises(GovernorError) as e:
        c.heartbeat("s-1")
    assert not isinstance(e.value, GovernorUnavailable)
    assert (e.value.status, e.value.type, len(calls)) == (429, "urn:governor:problem:too-many-requests", 3)


def test_over_real_http(live, bearer, clock):
    with GovernorClient(live.url, bearer()) as c:
        started = c.start("u-1")
        clock.advance(minutes=1)
        assert c.heartbeat(started.session_id).used_today_seconds == 60
        assert c.end(started.session_id).duration_seconds == 60
        assert c.status("u-1").active_sessions == 0
