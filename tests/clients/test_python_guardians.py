"""governor_client's guardian and time-request calls (DESIGN section 7) against the real app: the
parent app (scope guardian) reads children and week summaries, sets and patches controls, grants
time and decides requests; the child's frontend (scope sessions) asks for time and follows the
answer. The child is 12 (age_8_15: 60 minutes a day, guardians may grant 60 more); it is
Wednesday 2026-12-02, 07:00 in Shanghai."""
from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
from governor_client import (
    Age,
    Child,
    Controls,
    Day,
    GovernorError,
    GovernorUnavailable,
    Grant,
    TimeRequest,
    TimeRequestCounts,
)

from tests.clients.conftest import FakeTime, answering, client_on, on
from tests.conftest import shanghai

KID = "kid-12"


@pytest.fixture
def parent_app(app, bearer):
    with client_on(httpx.WSGITransport(app=app), bearer("guardian")) as c:
        yield c


@pytest.fixture
def linked(client, token):
    """Verify the child's age and link the guardian `mum` (what a verifier does, scope age)."""
    def link(gid: str = "mum", uid: str = KID) -> None:
        r = client.put(f"/v1/users/{uid}/age-verification", headers=token("age"),
                       json={"status": "verified", "birth_date": "2014-06-01", "method": "id_document",
                             "provider": "kyc", "assurance": "high"})
        assert r.status_code == 200, r.json
        assert client.put(f"/v1/users/{uid}/guardians/{gid}", headers=token("age")).status_code == 200
    return link


def problem(call, *args, **kw) -> GovernorError:
    with pytest.raises(GovernorError) as e:
        call(*args, **kw)
    return e.value


def test_children_are_typed_with_their_decision_and_this_guardians_controls(parent_app, linked):
    assert parent_app.children("mum") == []
    linked()
    [child] = parent_app.children("mum")
    assert isinstance(child, Child) and child.user_id == KID
    assert (child.decision.allowed, child.decision.band, child.decision.remaining_seconds) == (True, "age_8_15", 3600)
    assert child.decision.ends_at == shanghai(2026, 12, 2, 7, 30)
    assert child.controls == Controls(None, None, None)


def test_a_childs_age_carries_the_parental_consent_in_force(parent_app, linked, client, token, clock):
    linked()
    assert parent_app.children("mum")[0].age == Age("age_8_15", 12, 12, ("verification",), None)
    adm = token("admin")
    bands = {"under_13": {"min_age": 0, "requires_parental_consent": True}, "age_13_15": {"min_age": 13},
             "age_16_17": {}, "adult": {}, "unverified": {}}
    doc = client.get("/v1/admin/policy", headers=adm).json
    assert client.put("/v1/admin/policy", json={**doc, "bands": bands}, headers=adm).status_code == 200
    [child] = parent_app.children("mum")
    assert child.age == Age("under_13", 12, 12, ("verification",), None)
    assert (child.decision.allowed, child.decision.reason) == (False, "consent_required")
    clock.advance(seconds=1)
    parent_app.set_parental_consent("mum", KID, True)
    [child] = parent_app.children("mum")
    assert child.age.parental_consent == "granted" and child.decision.allowed is True
    older = {"user_id": KID, "decision": child.decision.raw, "controls": {}}  # a server without `age`
    assert Child.from_json(older).age is None


def test_put_sets_all_three_and_patch_changes_only_those_named(parent_app, linked, gov):
    """PATCH merges (issue 18 item 7): it fails against a server whose PATCH is missing (405) or replaces."""
    linked()
    assert parent_app.controls("mum", KID) == Controls()
    put = parent_app.set_controls("mum", KID, daily_limit_minutes=30, quiet_hours=["21:00-07:00"],
                                  rest_reminder_minutes=None)
    assert put == Controls(30, ("21:00-07:00",), None)
    assert gov.status(KID).remaining_seconds == 30 * 60
    patched = parent_app.update_controls("mum", KID, rest_reminder_minutes=10)
    assert patched == Controls(30, ("21:00-07:00",), 10)  # the two not named stay
    assert parent_app.update_controls("mum", KID, quiet_hours=None) == Controls(30, None, 10)
    assert parent_app.update_controls("mum", KID, quiet_hours=("20:30-07:00",), daily_limit_minutes=20) == \
        Controls(20, ("20:30-07:00",), 10)
    assert parent_app.controls("mum", KID) == Controls(20, ("20:30-07:00",), 10)
    assert parent_app.children("mum")[0].controls == Controls(20, ("20:30-07:00",), 10)
    assert gov.status(KID).remaining_seconds == 20 * 60
    assert problem(parent_app.update_controls, "mum", KID, quiet_hours=["25:00-26:00"]).status == 422
    assert parent_app.controls("mum", KID) == Controls(20, ("20:30-07:00",), 10)


def test_controls_problems_are_governor_errors(parent_app, linked):
    linked()
    looser = problem(parent_app.set_controls, "mum", KID, daily_limit_minutes=90, quiet_hours=None,
                     rest_reminder_minutes=None)
    assert looser.status == 422 and looser.problem["band_daily_limit_minutes"] == 60
    stranger = problem(parent_app.controls, "stranger", KID)
    assert (stranger.status, stranger.type) == (404, "urn:governor:problem:not-found")
    assert problem(parent_app.children, "not a guardian id").status == 422
    assert parent_app.controls("mum", KID) == Controls()


def test_week_summary(parent_app, linked, gov, clock):
    linked()
    sid = gov.start(KID).session_id
    for _ in range(10):
        clock.advance(minutes=1)
        gov.heartbeat(sid)
    gov.end(sid)
    week = parent_app.week_summary("mum", KID)
    assert (week.user_id, week.week, week.band) == (KID, "2026-W49", "age_8_15")
    assert [d.date for d in week.days] == [date(2026, 11, 30 + i) if i < 1 else date(2026, 12, i) for i in range(7)]
    assert week.days[2] == Day(date(2026, 12, 2), 600, 0, 1)
    assert (week.total_seconds, week.daily_average_seconds) == (600, 600 // 7)
    assert week.time_requests == TimeRequestCounts(0, 0, 0, 0) and week.refusals == {}
    last = parent_app.week_summary("mum", KID, week="2026-W48")
    assert last.week == "2026-W48" and last.days[0].date == date(2026, 11, 23) and last.total_seconds == 0
    assert problem(parent_app.week_summary, "stranger", KID).status == 404


def test_a_guardian_grant_within_the_cap(parent_app, linked):
    linked()
    added = parent_app.guardian_grant("mum", KID, 15, reason="homework")
    assert added.grant == Grant(date(2026, 12, 2), 15, "homework", "guardian")
    assert added.decision.allowed and added.decision.remaining_seconds == 75 * 60
    over = problem(parent_app.guardian_grant, "mum", KID, 50)  # 15 + 50 > the band's 60
    assert over.status == 422 and "60" in over.detail
    assert parent_app.children("mum")[0].decision.remaining_seconds == 75 * 60


def test_ask_for_time_then_approved_for_fewer_minutes(parent_app, linked, gov, clock):
    none = problem(gov.ask_for_time, KID, 20)
    assert (none.status, none.type) == (409, "urn:governor:problem:no-guardian")
    linked()
    asked = gov.ask_for_time(KID, 20, note="finishing my essay")
    assert isinstance(asked, TimeRequest) and asked.id.startswith("tr_")
    assert (asked.user_id, asked.minutes, asked.note, asked.status, asked.decided_minutes) == (
        KID, 20, "finishing my essay", "pending", None)
    assert asked.date == date(2026, 12, 2) and asked.created_at == shanghai(2026, 12, 2, 7, 0)
    assert asked.expires_at == shanghai(2026, 12, 3, 0, 0) and asked.decided_at is None
    again = problem(gov.ask_for_time, KID, 5)
    assert (again.status, again.type) == (409, "urn:governor:problem:request-pending")
    assert gov.time_request(asked.id) == asked
    assert parent_app.time_requests("mum") == [asked]
    assert parent_app.time_requests("mum", status="approved") == []
    assert parent_app.time_requests("someone-else") == []
    assert problem(parent_app.decide_time_request, "mum", asked.id, "approved", minutes=30).status == 422
    clock.advance(minutes=5)
    decided = parent_app.decide_time_request("mum", asked.id, "approved", minutes=10)
    assert (decided.status, decided.decided_minutes, decided.decided_at) == (
        "approved", 10, shanghai(2026, 12, 2, 7, 5))
    assert gov.time_request(asked.id).status == "approved"
    assert gov.status(KID).remaining_seconds == 70 * 60
    late = problem(parent_app.decide_time_request, "mum", asked.id, "denied")
    assert (late.status, late.type) == (409, "urn:governor:problem:request-decided")
    assert parent_app.week_summary("mum", KID).time_requests == TimeRequestCounts(approved=1)


def test_a_denied_request_and_an_expired_one(parent_app, linked, gov, clock):
    linked()
    first = gov.ask_for_time(KID, 30)
    denied = parent_app.decide_time_request("mum", first.id, "denied")
    assert (denied.status, denied.decided_minutes) == ("denied", None)
    assert gov.status(KID).remaining_seconds == 60 * 60
    second = gov.ask_for_time(KID, 10)
    clock.set(shanghai(2026, 12, 3, 0, 1))  # the day it was asked on is over
    assert gov.time_request(second.id).status == "expired"
    assert [r.status for r in parent_app.time_requests("mum")] == ["expired", "denied"]  # newest first
    assert [r.id for r in parent_app.time_requests("mum", status="expired")] == [second.id]
    assert problem(parent_app.decide_time_request, "mum", second.id, "approved").status == 409
    assert problem(gov.time_request, "tr_unknown").status == 404


# -- on the wire: what is sent, and what is not repeated ----------------------------------------

def test_a_patch_names_only_the_fields_given_and_none_unsets_one():
    ok = {"daily_limit_minutes": None, "quiet_hours": None, "rest_reminder_minutes": None}
    transport, calls = answering(httpx.Response(200, json=ok))
    with on(transport, FakeTime()) as c:
        c.update_controls("mum", KID, rest_reminder_minutes=10)
        c.update_controls("mum", KID, quiet_hours=None, daily_limit_minutes=20)
        c.update_controls("mum", KID, quiet_hours=("21:00-07:00",))
        c.set_controls("mum", KID, daily_limit_minutes=None, quiet_hours=None, rest_reminder_minutes=5)
    assert [(r.method, json.loads(r.content)) for r in calls] == [
        ("PATCH", {"rest_reminder_minutes": 10}),
        ("PATCH", {"daily_limit_minutes": 20, "quiet_hours": None}),
        ("PATCH", {"quiet_hours": ["21:00-07:00"]}),
        ("PUT", {"daily_limit_minutes": None, "quiet_hours": None, "rest_reminder_minutes": 5})]
    assert {r.url.path for r in calls} == {"/v1/guardians/mum/children/kid-12/controls"}


def test_a_grant_an_ask_and_a_decision_that_may_have_been_carried_out_are_not_repeated():
    for call in (lambda c: c.guardian_grant("mum", KID, 10), lambda c: c.ask_for_time(KID, 10),
                 lambda c: c.decide_time_request("mum", "tr_1", "approved")):
        t = FakeTime()
        transport, calls = answering(httpx.ReadTimeout("slow"))
        with on(transport, t) as c, pytest.raises(GovernorUnavailable):
            call(c)
        assert len(calls) == 1 and t.slept == []
        transport, calls = answering(httpx.Response(502))  # a proxy's 502: perhaps carried out
        with on(transport, t) as c, pytest.raises(GovernorUnavailable):
            call(c)
        assert len(calls) == 1


def test_reads_and_controls_are_retried_like_the_session_calls():
    t = FakeTime()
    ok = {"daily_limit_minutes": 30, "quiet_hours": ["21:00-07:00"], "rest_reminder_minutes": None}
    transport, calls = answering(httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(200, json=ok))
    with on(transport, t) as c:
        assert c.update_controls("mum", KID, daily_limit_minutes=30) == Controls(30, ("21:00-07:00",), None)
    assert len(calls) == 3 and t.slept == [0.25, 0.5]
    transport, calls = answering(httpx.Response(200, text="<html>proxy</html>"))
    with on(transport, t) as c, pytest.raises(GovernorError) as e:
        c.children("mum")
    assert e.value.status == 200 and e.value.type == "about:blank"
