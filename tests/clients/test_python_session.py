"""GovernorClient.session: the heartbeat loop against the real app, its timer driven by the test."""
from __future__ import annotations

import threading

import httpx
import pytest
from governor_client import GovernorUnavailable, Warning

from tests.clients.conftest import client_on
from tests.conftest import shanghai


class ManualTimer:
    """The session's `wait`: records each wait and returns only when the test calls `step()`,
    which lets one heartbeat happen and returns once the loop waits again (or has finished)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.waits: list[float] = []
        self.released = 0

    def __call__(self, stop: threading.Event, seconds: float) -> bool:
        with self.cond:
            self.waits.append(seconds)
            self.cond.notify_all()
            while self.released < len(self.waits) and not stop.is_set():
                self.cond.wait(0.05)
        return stop.is_set()

    def step(self, session) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.waits) > self.released, timeout=10), "the loop never waited"
            self.released += 1
            self.cond.notify_all()
            for _ in range(500):  # the loop's end notifies nobody: look every 20 ms, 10 s at most
                if self.cond.wait_for(lambda: len(self.waits) > self.released or not session._thread.is_alive(),
                                      timeout=0.02):
                    return
            raise AssertionError("the heartbeat did not finish")


class Switch(httpx.BaseTransport):
    """The app's transport, with the network cut while `down` is set."""

    def __init__(self, app):
        self.inner, self.down = httpx.WSGITransport(app=app), False

    def handle_request(self, request):
        if self.down:
            raise httpx.ConnectError("network down (test)")
        return self.inner.handle_request(request)


@pytest.fixture
def net(app):
    return Switch(app)


@pytest.fixture
def gov(net, bearer):
    with client_on(net, bearer()) as c:
        yield c


def test_heartbeats_at_the_server_interval_then_ends_on_exit(gov, clock):
    timer, seen = ManualTimer(), []
    with gov.session("u-1", wait=timer, on_decision=seen.append) as s:
        assert s.decision.allowed and s.session_id and not s.ended
        for _ in range(3):
            clock.advance(minutes=1)
            timer.step(s)
        assert s.decision.used_today_seconds == 180 and s.decision.session_id == s.session_id
        assert [d.remaining_seconds for d in seen] == [2400, 2340, 2280, 2220]
    assert timer.waits[:3] == [60, 60, 60]
    assert s.ended and s.decision.end_reason == "client" and s.decision.duration_seconds == 180
    assert gov.status("u-1").active_sessions == 0


def test_each_new_warning_once_then_the_forced_end(gov, clock):
    timer, warnings, ends = ManualTimer(), [], []
    with gov.session("u-1", interval=120, on_warning=warnings.append, on_end=ends.append, wait=timer) as s:
        for _ in range(13):  # 26 min: break_soon (4 min left), and again at 28 min (2 min left)
            clock.advance(minutes=2)
            timer.step(s)
        assert warnings == [Warning("break_soon", 240)] and timer.waits[-1] == 120
        clock.advance(minutes=2)
        timer.step(s)
        assert warnings == [Warning("break_soon", 240)] and timer.waits[-1] == 120  # 2 min left: not new
        clock.advance(minutes=2)
        timer.step(s)  # 30 min: the break
        assert s.ended and not s._thread.is_alive()
        assert [(d.allowed, d.reason, d.retry_at) for d in ends] == [(False, "cooldown", shanghai(2026, 12, 2, 7, 45))]
    assert len(ends) == 1


def test_a_warning_shortens_the_wait_to_the_end(gov, clock):
    timer = ManualTimer()
    with gov.session("u-1", interval=600, wait=timer) as s:
        for minute in range(1, 27):  # the test beats every minute whatever the wait, to keep usage exact
            clock.set(shanghai(2026, 12, 2, 7, minute))
            timer.step(s)
    # 10 minutes, until break_soon says the session ends in 5, then 4: the loop beats at the end
    assert timer.waits == [600] * 25 + [300, 240]


def test_a_refused_start_starts_no_loop(gov, clock):
    clock.set(shanghai(2026, 12, 2, 23, 0))
    ends = []
    with gov.session("u-1", on_end=ends.append, wait=ManualTimer()) as s:
        assert (s.decision.allowed, s.decision.reason, s.session_id, s.ended) == (False, "curfew", None, True)
        assert s._thread is None
    assert ends == []


def test_fail_closed_when_governor_cannot_be_reached(gov, net, clock):
    timer, ends = ManualTimer(), []
    with gov.session("u-1", on_end=ends.append, wait=timer) as s:
        clock.advance(minutes=1)
        timer.step(s)
        net.down = True
        clock.advance(minutes=1)
        timer.step(s)
        assert s.ended and not s._thread.is_alive()
        assert [(d.allowed, d.reason, d.user_id) for d in ends] == [(False, "unavailable", "u-1")]
    net.down = False
    clock.advance(minutes=3)  # the end could not be sent: the sweeper closes it after the grace
    assert gov.status("u-1").active_sessions == 1


def test_fail_open_keeps_the_session_and_recovers(gov, net, clock):
    timer, ends = ManualTimer(), []
    with gov.session("u-1", on_end=ends.append, fail_open=True, wait=timer) as s:
        net.down = True
        clock.advance(minutes=1)
        timer.step(s)
        assert not s.ended and ends == []
        net.down = False
        clock.advance(minutes=1)
        timer.step(s)
        assert s.decision.allowed and s.decision.used_today_seconds == 120
    assert s.decision.end_reason == "client"


def test_fail_open_at_start_chats_and_starts_once_governor_is_back(gov, net, clock):
    timer = ManualTimer()
    net.down = True
    with pytest.raises(GovernorUnavailable):
        gov.session("u-1", wait=timer).__enter__()  # fail-closed: the chat does not begin
    with gov.session("u-1", fail_open=True, wait=timer) as s:
        assert s.session_id is None and s.decision is None and not s.ended
        net.down = False
        timer.step(s)
        assert s.session_id and s.decision.allowed


def test_a_session_ended_elsewhere_ends_the_loop(gov, clock):
    timer, ends = ManualTimer(), []
    with gov.session("u-1", on_end=ends.append, wait=timer) as s:
        gov.end(s.session_id)
        timer.step(s)
        assert s.ended and [(d.allowed, d.reason) for d in ends] == [(False, "client")]


def test_a_rest_reminder_is_shown_once_and_the_chat_goes_on(gov, client, token, clock):
    policy = client.get("/v1/admin/policy", headers=token("admin")).get_json()
    policy.pop("version")
    policy["bands"]["unverified"]["rest_reminder_minutes"] = 10
    assert client.put("/v1/admin/policy", json=policy, headers=token("admin")).status_code == 200
    timer, warnings, ends = ManualTimer(), [], []
    with gov.session("u-1", on_warning=warnings.append, on_end=ends.append, wait=timer) as s:
        for _ in range(12):
            clock.advance(minutes=1)
            timer.step(s)
        assert [w.type for w in warnings] == ["rest_reminder"] and not s.ended and ends == []
        assert s.decision.allowed
