"""The fast path stays exact with section 7: guardians' controls and grants changing between
heartbeats, and a learning session (uncounted minutes) next to an ordinary one. Every fast
answer is checked against the full decision (the `checked` fixture of test_fastpath.py)."""
from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.domain.decision import Verification
from governor.errors import InvalidRequest
from governor.service import admin, guardians, sessions, users
from tests.conftest import shanghai
from tests.integration.test_fastpath import KID, _service, beat_or_end, checked  # noqa: F401 (fixture)

_BEAT = st.tuples(st.just("beat"), st.integers(0, 1), st.integers(0, 200))
STEPS = st.lists(st.one_of(
    _BEAT, _BEAT, _BEAT, _BEAT, _BEAT, _BEAT,
    st.tuples(st.just("start"), st.integers(0, 1), st.integers(0, 600)),
    st.tuples(st.just("end"), st.integers(0, 1), st.integers(0, 120)),
    st.tuples(st.just("controls"), st.integers(0, 7), st.integers(0, 60)),
    st.tuples(st.just("grant"), st.integers(5, 30), st.integers(0, 60)),
), min_size=20, max_size=80)
CONTROLS = [(None, None, None), (30, None, None), (None, ["07:40-08:10"], None), (None, None, 7),
            (45, ["13:20-13:30", "21:30-06:30"], 11), (None, ["09:05-09:25"], None), (10, None, 3),
            (None, ["06:00-06:30", "23:00-23:30"], 5)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, hour=st.sampled_from([6, 7, 9, 13, 21]))
def test_fast_answers_equal_full_decisions_with_guardians_and_purposes(sqlite_template, tmp_path_factory,
                                                                       checked, steps, hour):  # noqa: F811
    svc, clock = _service(sqlite_template, tmp_path_factory.mktemp("fpg"), "db", shanghai(2026, 12, 2, hour, 0))
    policy, _ = admin.active_policy(svc)
    doc = {**policy.document}
    doc["bands"] = {**doc["bands"], "age_8_15": {**doc["bands"]["age_8_15"], "uncounted_minutes": {"learning": 20}}}
    admin.activate_policy(svc, doc, "admin")
    users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    guardians.link(svc, KID, "mum", "t")
    purposes = (None, "learning")  # tab 1 is homework help
    tabs: list[str | None] = [sessions.start(svc, KID, "t").session_id, None]
    try:
        for kind, arg, seconds in steps:
            clock.advance(seconds=seconds)
            if kind == "start":
                tabs[arg] = sessions.start(svc, KID, "t", purposes[arg]).session_id
            elif kind in ("beat", "end"):
                beat_or_end(svc, tabs, arg, kind)
            elif kind == "controls":
                guardians.set_controls(svc, "mum", KID, *CONTROLS[arg], "app")
            elif kind == "grant":
                try:
                    guardians.grant(svc, "mum", KID, arg, None, "app")
                except InvalidRequest:  # past the cap
                    pass
    finally:
        svc.db.dispose()
