"""Helpers for the API tests: one small client per test that knows the endpoints and carries a
token per scope, plus checks shared by several files."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from governor.store.tables import AuditEvent, User

PROBLEM = "application/problem+json"
PROBLEM_BASE = "urn:governor:problem:"


class Api:
    """The endpoints as a frontend, a verifier and an auditor call them (each with its own sub)."""

    def __init__(self, client, token):
        self.client = client
        self.fe = token("sessions", sub="frontend-1")
        self.age = token("age", sub="verifier-1")
        self.audit = token("audit", sub="auditor-1")

    def verify(self, uid: str, birth_date: str | None, status: str = "verified", **extra):
        body = {"status": status, **({"birth_date": birth_date} if birth_date else {}), **extra}
        r = self.client.put(f"/v1/users/{uid}/age-verification", json=body, headers=self.age)
        assert r.status_code == 200, r.json
        return r

    def start(self, uid: str):
        return self.client.post("/v1/sessions", json={"user_id": uid}, headers=self.fe)

    def started(self, uid: str) -> str:
        r = self.start(uid)
        assert r.status_code == 201, r.json
        return r.json["session_id"]

    def beat(self, sid: str):
        return self.client.post(f"/v1/sessions/{sid}/heartbeat", headers=self.fe)

    def end(self, sid: str):
        return self.client.post(f"/v1/sessions/{sid}/end", headers=self.fe)

    def status(self, uid: str):
        r = self.client.get(f"/v1/users/{uid}/status", headers=self.fe)
        assert r.status_code == 200, r.json
        return r.json

    def usage(self, uid: str, first: str, last: str) -> list[dict]:
        r = self.client.get(f"/v1/users/{uid}/usage?from={first}&to={last}", headers=self.audit)
        assert r.status_code == 200, r.json
        assert r.json["user_id"] == uid
        return r.json["days"]


@pytest.fixture
def api(client, token) -> Api:
    return Api(client, token)


def assert_problem(r, status: int, type_: str | None = None) -> dict:
    """An RFC 9457 answer: the status, the media type, a stable `type`, and no stack trace."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.mimetype == PROBLEM
    body = json.loads(r.get_data(as_text=True))
    assert body["type"].startswith(PROBLEM_BASE)
    if type_ is not None:
        assert body["type"] == PROBLEM_BASE + type_
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text and ".py" not in text
    return body


def users_and_events(svc) -> tuple[int, int]:
    """How many users and user-chain audit events the database holds."""
    with svc.db.read() as s:
        users = s.execute(select(func.count()).select_from(User)).scalar_one()
        events = s.execute(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.chain != "system")).scalar_one()
    return users, events
