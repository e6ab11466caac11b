"""The continuous-use run, checked after the fact on random multi-tab histories (issue 19).

Each history drives up to three tabs of one 16-year-old (cn-minor-mode: 30 minutes at a stretch,
then 15 of rest) through the services under a fake clock: starts, heartbeats after silences
around the grace plus the break, ends, sweeps. Alongside, a small reference keeps what each
session is credited (DESIGN section 3: a heartbeat books the gap up to the grace, never past the
session's `ends_at`; the sweeper the grace; the client's end the whole gap) and checks:

- no run of the booked intervals (use separated by gaps shorter than the break) is longer than
  `continuous_limit_minutes` plus one heartbeat interval;
- an answer given after a gap of at least the break (counting what the open tabs will still be
  credited) never speaks of the old run: no cooldown, no rest reminder, and the session may run
  its full stretch (or what is left of the day).

Ends come only from tabs that heartbeat within their grace: a client's end after a longer silence
is credited the whole gap (docs/decisions.md), which no earlier decision can know of; with the
scheduler running, the sweeper closes such a session first.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.domain.decision import Verification
from governor.errors import SessionEnded
from governor.service import sessions, users
from tests.conftest import SHANGHAI, shanghai
from tests.integration.test_fastpath import _dispose, _service
from tests.run_reference import GRACE, Reference, Tab

# Silences: the usual minute, a few longer, and the edges of grace + break (1,020 s).
gaps = st.one_of(st.sampled_from([60] * 8 + [30, 120, 121, 780, 840, 899, 900, 960, 1019, 1020, 1021, 1080]),
                 st.integers(1, 1800))
steps = st.lists(st.tuples(gaps, st.sampled_from(["start", "beat", "beat", "beat", "end", "sweep"]),
                           st.integers(0, 1)), min_size=10, max_size=80)


def check_fresh(ref: Reference, d, now: datetime) -> None:
    day_ends = datetime.combine(now.astimezone(SHANGHAI).date(), time(22), tzinfo=SHANGHAI)
    ref.check_fresh(now, d.allowed, d.reason.value, [w.type for w in d.warnings], d.ends_at, d.remaining, day_ends)


def play(svc, clock, uid: str, history) -> Reference:
    ref = Reference(limit=timedelta(minutes=30), rest=timedelta(minutes=15))
    for gap, action, i in history:
        clock.advance(seconds=gap)
        now = clock.now()
        if action == "start" and i not in ref.tabs:
            rested = ref.rested(now)
            started = sessions.start(svc, uid, "fe")
            if rested:
                check_fresh(ref, started.decision, now)
            if started.session_id:
                ref.tabs[i] = Tab(started.session_id, now, started.decision.ends_at)
        elif action == "beat" and i in ref.tabs:
            ends_before = ref.tabs[i].ends_at
            tab = ref.heartbeat(i, now)
            reached = ref.booked[-1][1]  # where this heartbeat's credit ends
            rested = ref.rested(now, but=i)
            try:
                d = sessions.heartbeat(svc, tab.sid, "fe")
            except SessionEnded:
                raise AssertionError("a session the reference holds open had ended") from None
            if rested and ends_before is not None and now >= ends_before and reached == ends_before:
                # it ran into its end, which stands (DESIGN 3); no break stands in the next start's way
                assert not d.allowed and (d.reason.value != "cooldown" or d.retry_at == now), d
            elif rested:
                check_fresh(ref, d, now)
            if d.allowed:
                tab.last_seen, tab.ends_at = now, d.ends_at
            else:
                del ref.tabs[i]
        elif action == "end" and i in ref.tabs and now - ref.tabs[i].last_seen <= GRACE:
            tab = ref.tabs.pop(i)
            ref.credit(tab, now)
            sessions.end(svc, tab.sid, "fe")
        elif action == "sweep":
            sessions.sweep(svc)
            ref.sweep(now)
    return ref


@pytest.fixture
def teen_service(sqlite_template, tmp_path):
    svc, clock = _service(sqlite_template, tmp_path, "runs", shanghai(2026, 12, 2, 8, 0))
    yield svc, clock, iter(range(10_000))
    _dispose(svc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_no_run_outgrows_its_limit_and_a_break_always_ends_it(teen_service, history):
    svc, clock, n = teen_service
    i = next(n)
    uid = f"teen-{i}"  # a new 16-year-old, and a fresh morning, for each history
    morning = shanghai(2026, 12, 2, 8, 0) + timedelta(days=3 * i)
    clock.set(morning)
    born = morning.date().replace(year=morning.year - 16) - timedelta(days=100)
    users.set_verification(svc, uid, Verification("verified", born), "t")
    play(svc, clock, uid, history).check_runs()
