"""Audit events written by the session and verification endpoints (DESIGN section 5)."""
import json

from sqlalchemy import select

from governor.domain.audit_chain import event_hash
from governor.service.sessions import sweep
from governor.store.tables import AuditEvent, User
from tests.conftest import shanghai

UID = "kid-7f3a@school.example"
BIRTH = "2014-06-15"
POLICY = ("cn-minor-mode", 1)


def user_events(svc, uid: str = UID) -> list[AuditEvent]:
    with svc.db.read() as s:
        pseudonym = s.execute(select(User.pseudonym).where(User.user_id == uid)).scalar_one()
        return list(s.execute(select(AuditEvent).where(AuditEvent.chain == pseudonym)
                              .order_by(AuditEvent.seq)).scalars())


def all_events(svc) -> list[AuditEvent]:
    with svc.db.read() as s:
        return list(s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def summary(e: AuditEvent) -> tuple:
    return e.action, e.reason, e.client, (e.policy_name, e.policy_version)


def test_a_day_of_events(api, clock, svc):
    clock.set(shanghai(2026, 12, 2, 6, 50))
    api.verify(UID, BIRTH, method="id_document", provider="acme-kyc", assurance="high")
    clock.set(shanghai(2026, 12, 2, 7, 0))
    sid = api.started(UID)
    for minute in range(1, 30):
        clock.set(shanghai(2026, 12, 2, 7, minute))
        api.beat(sid)
    api.status(UID)
    api.usage(UID, "2026-12-02", "2026-12-02")
    assert [e.action for e in user_events(svc)] == ["verification.changed", "session.started"]

    clock.set(shanghai(2026, 12, 2, 7, 30))
    assert api.beat(sid).json["reason"] == "cooldown"     # the forced break ends the session
    clock.set(shanghai(2026, 12, 2, 7, 40))
    assert api.start(UID).status_code == 403
    clock.set(shanghai(2026, 12, 2, 7, 45))
    second = api.started(UID)
    clock.set(shanghai(2026, 12, 2, 7, 46))
    api.end(second)
    api.end(second)                                       # idempotent: no second event
    third = api.started(UID)
    clock.set(shanghai(2026, 12, 2, 7, 50))
    assert sweep(svc) == 1

    events = user_events(svc)
    assert [summary(e) for e in events] == [
        ("verification.changed", "verified", "verifier-1", POLICY),
        ("session.started", "ok", "frontend-1", POLICY),
        ("session.ended", "cooldown", "frontend-1", POLICY),
        ("session.refused", "cooldown", "frontend-1", POLICY),
        ("session.started", "ok", "frontend-1", POLICY),
        ("session.ended", "client", "frontend-1", POLICY),
        ("session.started", "ok", "frontend-1", POLICY),
        ("session.ended", "timeout", "governor-sweeper", POLICY),
    ]
    data = [json.loads(e.data) for e in events]
    assert data[0] == {"status": "verified", "method": "id_document", "provider": "acme-kyc", "assurance": "high",
                       "expires_at": None, "band": "age_8_15"}
    assert data[1] == {"session_id": sid, "ends_at": "2026-12-02T07:30:00+08:00", "band": "age_8_15"}
    assert data[2] == {"session_id": sid, "ended_at": "2026-12-01T23:30:00+00:00", "duration_seconds": 1800,
                       "band": "age_8_15"}
    assert data[3] == {"retry_at": "2026-12-02T07:45:00+08:00", "band": "age_8_15"}
    assert (data[5]["session_id"], data[5]["duration_seconds"]) == (second, 60)
    assert data[7] == {"session_id": third, "ended_at": "2026-12-01T23:48:00+00:00", "duration_seconds": 120,
                       "band": "age_8_15"}  # silent since 07:46: closed at 07:50, counted to 07:48
    assert [e.at for e in events][1] == shanghai(2026, 12, 2, 7, 0)
    assert [e.at for e in events][-1] == shanghai(2026, 12, 2, 7, 50)


def test_the_chain_is_the_users_pseudonym_and_links_up(api, clock, svc):
    api.verify(UID, BIRTH)
    sid = api.started(UID)
    clock.advance(seconds=60)
    api.end(sid)
    events = user_events(svc)
    with svc.db.read() as s:
        pseudonym = s.execute(select(User.pseudonym).where(User.user_id == UID)).scalar_one()
    assert pseudonym != UID and UID not in pseudonym
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == "0" * 64
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert all(e.hash == event_hash(e) for e in events)


def test_events_hold_neither_the_user_id_nor_the_birth_date(api, clock, svc):
    api.verify(UID, BIRTH)
    api.verify(UID, "2013-01-31", status="self_declared")
    sid = api.started(UID)
    clock.advance(seconds=90)
    api.beat(sid)
    api.end(sid)
    clock.set(shanghai(2026, 12, 2, 23, 0))
    assert api.start(UID).status_code == 403
    events = all_events(svc)
    assert len(events) >= 6
    for e in events:
        # Random values (hashes, the pseudonym, session ids) may hold "2014" by chance: blank them.
        fields = {c.name: str(getattr(e, c.name)) for c in AuditEvent.__table__.columns
                  if c.name not in ("hash", "prev_hash", "chain")}
        data = json.loads(fields["data"])
        data.pop("session_id", None)
        text = json.dumps({**fields, "data": data})
        for secret in (UID, "kid-7f3a", "school.example", BIRTH, "2014", "20140615", "2013-01-31"):
            assert secret not in text, (e.action, text)


def test_a_heartbeat_that_changes_nothing_writes_no_event(api, clock, svc):
    sid = api.started(UID)
    before = len(all_events(svc))
    for _ in range(10):
        clock.advance(seconds=60)
        assert api.beat(sid).json["allowed"] is True
    api.status(UID)
    api.usage(UID, "2026-12-01", "2026-12-02")
    assert len(all_events(svc)) == before


def test_refusals_of_other_clients_record_their_sub(api, clock, svc, token):
    clock.set(shanghai(2026, 12, 2, 5, 0))
    r = api.client.post("/v1/sessions", json={"user_id": UID}, headers=token("sessions", sub="web-frontend"))
    assert r.status_code == 403
    r = api.client.put(f"/v1/users/{UID}/age-verification", json={"status": "verified", "birth_date": BIRTH},
                       headers=token("admin", sub="admin-console"))
    assert r.status_code == 200
    assert [summary(e) for e in user_events(svc)] == [
        ("session.refused", "curfew", "web-frontend", POLICY),
        ("verification.changed", "verified", "admin-console", POLICY),
    ]
    assert json.loads(user_events(svc)[0].data) == {"retry_at": "2026-12-02T06:00:00+08:00", "band": "unverified"}


def test_rejected_requests_write_no_event(api, client, svc, token):
    client.post("/v1/sessions", json={"user_id": UID, "x": 1}, headers=api.fe)
    client.post("/v1/sessions", json={"user_id": UID}, headers=token("age"))
    client.put(f"/v1/users/{UID}/age-verification", json={"status": "verified", "birth_date": "2030-01-01"},
               headers=api.age)
    assert [e.chain for e in all_events(svc)] == ["system"]  # the policy's activation only
