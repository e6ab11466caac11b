"""Webhook retries under a controlled clock, through HTTP on both databases: the whole schedule
(5 s ... 24 h, with jitter), Retry-After, a 410, a retry by hand, a secret's rotation with both
signatures for 24 hours, the JSON line of a failed attempt, and retention."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from governor.service.webhooks import worker
from governor.store.webhook_tables import WebhookDelivery
from tests.api.conftest import assert_problem
from tests.webhook_receiver import Receiver, admin, app, receiver  # noqa: F401 (fixtures)

SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


@pytest.fixture
def endpoint(client, admin, receiver, token):
    """An endpoint for guardian.linked, and one such event waiting for it."""
    r = client.put("/v1/admin/webhooks/parent-app", json={"url": receiver.url, "events": ["guardian.linked"]},
                   headers=admin)
    assert r.status_code == 200
    assert client.put("/v1/users/kid/guardians/mum", headers=token("age")).status_code == 200
    return r.json["secret"]


def deliveries(client, admin) -> list[dict]:
    return client.get("/v1/admin/webhooks/parent-app/deliveries", headers=admin).json["deliveries"]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_whole_schedule_then_failed(client, admin, svc, clock, receiver, endpoint, monkeypatch):
    monkeypatch.setattr(worker, "jitter", lambda: 1.0)
    receiver.answer(*[500] * 10)
    assert worker.deliver_webhooks(svc) == 1
    for attempt, delay in enumerate(SCHEDULE, start=1):
        d = deliveries(client, admin)[0]
        assert d["status"] == "pending" and len(d["attempts"]) == attempt
        assert at(d["next_attempt_at"]) - at(d["attempts"][-1]["at"]) == timedelta(seconds=delay)
        clock.advance(seconds=delay - 1)
        assert worker.deliver_webhooks(svc) == 0  # not before its time
        clock.advance(seconds=1)
        assert worker.deliver_webhooks(svc) == 1
    d = deliveries(client, admin)[0]
    assert d["status"] == "failed" and d["next_attempt_at"] is None and len(d["attempts"]) == 10
    assert {a["status_code"] for a in d["attempts"]} == {500} and d["attempts"][0]["error"] == "HTTP 500"
    assert len(receiver.received) == 10 and len({h["webhook-id"] for h, _ in receiver.received}) == 1
    clock.advance(days=3)
    assert worker.deliver_webhooks(svc) == 0


def test_jitter_stays_within_a_tenth(client, admin, svc, clock, receiver, endpoint):
    receiver.answer(503)
    worker.deliver_webhooks(svc)
    with svc.db.read() as s:  # to the microsecond (the API answers whole seconds)
        due = s.execute(select(WebhookDelivery.next_attempt_at)).scalar_one()
    assert 4.5 <= (due - clock.now()).total_seconds() <= 5.5
    assert all(0.9 <= worker.jitter() <= 1.1 for _ in range(200))


def test_retry_after_is_honoured(client, admin, svc, clock, receiver, endpoint, monkeypatch):
    monkeypatch.setattr(worker, "jitter", lambda: 1.0)
    receiver.answer(503, retry_after="600")
    worker.deliver_webhooks(svc)
    d = deliveries(client, admin)[0]
    assert at(d["next_attempt_at"]) - at(d["attempts"][0]["at"]) == timedelta(seconds=600)
    clock.advance(seconds=599)
    assert worker.deliver_webhooks(svc) == 0
    clock.advance(seconds=1)
    assert worker.deliver_webhooks(svc) == 1 and deliveries(client, admin)[0]["status"] == "delivered"


def test_a_410_fails_it_and_disables_the_endpoint(client, admin, svc, clock, receiver, endpoint, token):
    receiver.answer(410)
    worker.deliver_webhooks(svc)
    d = deliveries(client, admin)[0]
    assert d["status"] == "failed" and d["attempts"][0]["status_code"] == 410
    ep = client.get("/v1/admin/webhooks/parent-app", headers=admin).json
    assert ep["enabled"] is False and ep["disabled_reason"].startswith("410 Gone")
    client.put("/v1/users/kid2/guardians/mum", headers=token("age"))  # a disabled endpoint gets nothing new
    assert len(deliveries(client, admin)) == 1
    assert_problem(client.post(f"/v1/admin/webhooks/parent-app/deliveries/{d['id']}/retry", headers=admin),
                   409, "endpoint-disabled")
    events = client.get("/v1/audit/events?action=webhook.disabled", headers=token("audit")).json["events"]
    assert len(events) == 1 and events[0]["client"] == "governor-webhooks"
    enabled = client.put("/v1/admin/webhooks/parent-app", headers=admin,
                         json={"url": ep["url"], "events": ep["events"], "enabled": True}).json
    assert enabled["enabled"] is True and enabled["disabled_reason"] is None


def test_a_failed_delivery_is_sent_again_by_hand_once(client, admin, svc, clock, receiver, endpoint):
    receiver.answer(410)
    worker.deliver_webhooks(svc)
    d = deliveries(client, admin)[0]
    assert_problem(client.post(f"/v1/admin/webhooks/parent-app/deliveries/{d['id']}/retry", headers=admin), 409)
    client.put("/v1/admin/webhooks/parent-app", headers=admin,
               json={"url": receiver.url, "events": ["guardian.linked"], "enabled": True})
    r = client.post(f"/v1/admin/webhooks/parent-app/deliveries/{d['id']}/retry", headers=admin)
    assert r.status_code == 200 and r.json["status"] == "pending" and r.json["id"] == d["id"]
    receiver.answer(500)
    assert worker.deliver_webhooks(svc) == 1
    assert deliveries(client, admin)[0]["status"] == "failed"  # one attempt, not the schedule again
    client.post(f"/v1/admin/webhooks/parent-app/deliveries/{d['id']}/retry", headers=admin)
    worker.deliver_webhooks(svc)
    d = deliveries(client, admin)[0]
    assert d["status"] == "delivered" and [a["status_code"] for a in d["attempts"]] == [410, 500, 204]
    assert_problem(client.post(f"/v1/admin/webhooks/parent-app/deliveries/{d['id']}/retry", headers=admin),
                   409, "delivery-not-failed")


def test_rotation_signs_with_both_secrets_for_a_day(client, admin, svc, clock, receiver, endpoint, token):
    old = endpoint
    rotated = client.post("/v1/admin/webhooks/parent-app/rotate-secret", headers=admin).json
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    assert at(rotated["previous_secret_expires_at"]) == clock.now() + timedelta(hours=24)
    assert "secret" not in client.get("/v1/admin/webhooks/parent-app", headers=admin).json
    worker.deliver_webhooks(svc)
    headers, raw = receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    with time_machine.travel(clock.now(), tick=False):
        for secret in (old, new):  # a receiver with either secret verifies it
            assert Webhook(secret).verify(raw, headers)["type"] == "guardian.linked"
    clock.advance(hours=24, seconds=1)
    client.put("/v1/users/kid3/guardians/mum", headers=token("age"))
    worker.deliver_webhooks(svc)
    headers, raw = receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    with time_machine.travel(clock.now(), tick=False):
        assert Webhook(new).verify(raw, headers)["data"]["user_id"] == "kid3"
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(raw, headers)
    assert client.get("/v1/admin/webhooks/parent-app", headers=admin).json["previous_secret_expires_at"] is None


def test_a_failed_attempt_is_one_json_line_without_secret_or_body(client, admin, svc, receiver, endpoint, caplog):
    receiver.answer(500)
    with caplog.at_level(logging.WARNING, logger="governor.webhooks"):
        worker.deliver_webhooks(svc)
    [rec] = [r for r in caplog.records if r.name == "governor.webhooks"]
    fields = rec.fields
    assert fields["endpoint"] == "parent-app" and fields["status"] == 500 and fields["attempt"] == 1
    line = json.dumps(fields)
    assert endpoint not in line and "whsec_" not in line and "kid" not in line and "mum" not in line


def test_retention_removes_finished_deliveries(client, admin, svc, clock, receiver, endpoint, token):
    worker.deliver_webhooks(svc)
    clock.advance(days=29)
    client.put("/v1/users/kid2/guardians/mum", headers=token("age"))  # pending: kept whatever its age
    assert worker.prune(svc) == 0
    clock.advance(days=1, seconds=1)
    assert worker.prune(svc) == 1
    [left] = deliveries(client, admin)
    assert left["status"] == "pending"
