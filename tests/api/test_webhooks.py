"""Webhooks (DESIGN section 9) through HTTP on both databases: the admin routes, every event type
delivered to a real receiver on 127.0.0.1 and verified with the standardwebhooks library, SSRF
refusals at registration and at send time, and what a heartbeat writes."""
from __future__ import annotations

import json

import pytest
import time_machine
from sqlalchemy import func, select

from governor.service.webhooks import targets, worker
from governor.store.webhook_tables import WebhookDelivery, WebhookEvent
from tests.api.conftest import assert_problem
from tests.webhook_receiver import Receiver, admin, app, receiver  # noqa: F401 (fixtures)

ALL = ["time_request.created", "time_request.decided", "time_request.expired", "session.ended",
       "guardian.linked", "guardian.unlinked", "controls.changed"]


def register(client, admin, url, events=ALL, name="parent-app"):
    r = client.put(f"/v1/admin/webhooks/{name}", json={"url": url, "events": events}, headers=admin)
    assert r.status_code == 200, r.json
    return r.json


def count(svc, table) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_endpoints_are_created_read_changed_and_removed(client, admin, svc, receiver, token):
    created = register(client, admin, receiver.url, ["session.ended"])
    assert created["secret"].startswith("whsec_") and created["events"] == ["session.ended"]
    assert created["enabled"] is True and created["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}
    got = client.get("/v1/admin/webhooks/parent-app", headers=admin).json
    assert "secret" not in got and got["url"] == receiver.url
    changed = client.put("/v1/admin/webhooks/parent-app", headers=admin,
                         json={"url": receiver.url, "events": ALL, "enabled": False}).json
    assert "secret" not in changed and changed["enabled"] is False and changed["events"] == ALL
    assert [w["name"] for w in client.get("/v1/admin/webhooks", headers=admin).json["webhooks"]] == ["parent-app"]
    assert client.delete("/v1/admin/webhooks/parent-app", headers=admin).json == {"name": "parent-app",
                                                                                  "deleted": True}
    assert_problem(client.get("/v1/admin/webhooks/parent-app", headers=admin), 404)
    assert_problem(client.delete("/v1/admin/webhooks/parent-app", headers=admin), 404)
    assert client.get("/v1/admin/webhooks", headers=token("guardian")).status_code == 403
    actions = [e["action"] for e in client.get("/v1/audit/events?action=webhook.created",
                                               headers=token("audit")).json["events"]]
    assert actions == ["webhook.created"]


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x",  # not https
    "ftp://hooks.example.com/x",
    "https://127.0.0.2/x", "https://localhost/x", "https://[::1]/x",  # loopback
    "https://10.1.2.3/x", "https://192.168.0.10/x", "https://172.16.5.4/x", "https://[fd00::1]/x",  # private
    "https://169.254.169.254/latest/meta-data", "https://100.100.100.200/", "https://168.63.129.16/",  # metadata
    "https://[fe80::1]/x", "https://[::ffff:10.0.0.1]/x", "https://0.0.0.0/x", "https://224.0.0.1/x",
    "https://user:pw@hooks.example.com/x", "https://", "not a url",
])
def test_urls_that_may_not_be_sent_to_are_422(client, admin, url):
    r = client.put("/v1/admin/webhooks/bad", json={"url": url, "events": ["session.ended"]}, headers=admin)
    body = assert_problem(r, 422, "validation-error")
    assert body["errors"][0]["field"] == "url"
    assert_problem(client.get("/v1/admin/webhooks/bad", headers=admin), 404)


def test_unknown_event_types_and_bad_names_are_422(client, admin, receiver):
    r = client.put("/v1/admin/webhooks/x", json={"url": receiver.url, "events": ["session.started"]}, headers=admin)
    assert "session.started" in assert_problem(r, 422)["detail"]
    assert_problem(client.put("/v1/admin/webhooks/x", json={"url": receiver.url, "events": []}, headers=admin), 422)
    assert_problem(client.put("/v1/admin/webhooks/a%20b", json={"url": receiver.url, "events": ALL},
                              headers=admin), 422)


def _drain(svc, clock):
    """Run the worker as the scheduler would, the clock standing still."""
    return worker.deliver_webhooks(svc)


def test_every_event_type_arrives_signed(client, admin, svc, clock, receiver, token, api):
    secret = register(client, admin, receiver.url)["secret"]
    age, guardian = token("age"), token("guardian", sub="parent-app")
    api.verify("kid", "2014-03-01")
    assert client.put("/v1/users/kid/guardians/mum", headers=age).status_code == 200
    assert client.put("/v1/guardians/mum/children/kid/controls", headers=guardian,
                      json={"daily_limit_minutes": 45, "quiet_hours": None, "rest_reminder_minutes": None}
                      ).status_code == 200
    tr = client.post("/v1/users/kid/time-requests", json={"minutes": 15, "note": "essay"}, headers=api.fe).json
    assert client.patch(f"/v1/guardians/mum/time-requests/{tr['id']}", json={"status": "approved", "minutes": 10},
                        headers=guardian).status_code == 200
    api.end(api.started("kid"))  # the client's own end: no event
    api.started("kid")
    clock.advance(minutes=10)
    assert client.post("/v1/users/kid/time-requests", json={"minutes": 5}, headers=api.fe).status_code == 201
    clock.advance(hours=18)  # past the grace and past the child's local day
    from governor import jobs
    jobs.sweep(svc)  # closes the session (timeout), expires the request
    assert client.delete("/v1/users/kid/guardians/mum", headers=age).status_code == 200
    assert _drain(svc, clock) == 8  # two requests: one decided, one expired
    with time_machine.travel(clock.now(), tick=False):
        bodies = receiver.verified(secret)
    by_type = {b["type"]: b for b in sorted(bodies, key=lambda b: b["timestamp"])}
    assert sorted(by_type) == sorted(ALL) and len(bodies) == 8
    for b in bodies:
        assert b["data"]["user_id"] == "kid" and b["data"]["guardian_ids"] == ["mum"]
    assert by_type["guardian.linked"]["data"]["guardian_id"] == "mum"
    assert by_type["controls.changed"]["data"]["controls"]["daily_limit_minutes"] == 45
    assert [b["data"]["request"]["note"] for b in bodies if b["type"] == "time_request.created"] in (
        ["essay", None], [None, "essay"])
    decided = by_type["time_request.decided"]["data"]
    assert decided["request"]["status"] == "approved" and decided["request"]["decided_minutes"] == 10
    assert decided["guardian_id"] == "mum"
    assert by_type["time_request.expired"]["data"]["request"]["status"] == "expired"
    ended = by_type["session.ended"]["data"]
    assert ended["reason"] == "timeout" and ended["duration_seconds"] == 120
    headers = [h for h, _ in receiver.received]
    assert len({h["webhook-id"] for h in headers}) == 8 and all(h["webhook-id"].startswith("msg_") for h in headers)
    page = client.get("/v1/admin/webhooks/parent-app/deliveries", headers=admin).json
    assert [d["status"] for d in page["deliveries"]] == ["delivered"] * 8
    assert page["deliveries"][0]["type"] == "guardian.unlinked"  # newest first
    assert {d["id"] for d in page["deliveries"]} == {h["webhook-id"] for h in headers}
    assert all(d["attempts"][0]["status_code"] == 204 for d in page["deliveries"])


def test_the_age_events_arrive_signed(client, admin, svc, clock, receiver, token, api):
    """age.band_changed (a verification, a signal) and consent.changed (a guardian's consent),
    with section 8's bands: a child under 13 needs a parent's consent."""
    from tests.api.test_age_signals import US_CONSENT_BANDS, policy, put, signal

    policy(client, token, bands=US_CONSENT_BANDS)
    secret = register(client, admin, receiver.url, ["age.band_changed", "consent.changed"])["secret"]
    assert client.put("/v1/users/kid/guardians/mum", headers=token("age")).status_code == 200
    assert put(client, token, "kid", signal(0, 12, "guardian_declared", parental_consent="pending")).status_code == 200
    clock.advance(seconds=1)  # the latest said counts
    assert client.put("/v1/guardians/mum/children/kid/consent", json={"granted": True},
                      headers=token("guardian")).status_code == 200
    api.verify("teen", "2012-03-01")  # 14 on the clock's day
    assert api.status("kid")["allowed"] is True and _drain(svc, clock) == 4
    with time_machine.travel(clock.now(), tick=False):
        bodies = [(b["type"], b["data"]) for b in receiver.verified(secret)]
    said = {(t, d["user_id"], d.get("band"), d.get("previous"), d.get("parental_consent"), tuple(d.get("basis", ())))
            for t, d in bodies}  # a batch is sent at once: any order
    assert len(bodies) == 4 and said == {
        ("consent.changed", "kid", "under_13", None, "pending", ()),
        ("age.band_changed", "kid", "under_13", "unverified", None, ("os_age_signal",)),
        ("consent.changed", "kid", "under_13", "pending", "granted", ()),
        ("age.band_changed", "teen", "age_13_15", "unverified", None, ("verification",))}
    assert all(d["guardian_ids"] == (["mum"] if d["user_id"] == "kid" else []) for _, d in bodies)


def test_only_subscribed_types_are_written(client, admin, svc, receiver, token):
    register(client, admin, receiver.url, ["guardian.unlinked"])
    assert client.put("/v1/users/kid/guardians/mum", headers=token("age")).status_code == 200
    assert count(svc, WebhookEvent) == 0
    client.delete("/v1/users/kid/guardians/mum", headers=token("age"))
    assert count(svc, WebhookEvent) == 1


def test_heartbeats_that_end_nothing_write_nothing(client, admin, svc, clock, receiver, api):
    register(client, admin, receiver.url)
    api.verify("kid", "2014-03-01")
    sid = api.started("kid")
    beats = 0
    while True:  # a heartbeat a minute until one ends the session (the continuous-use limit)
        clock.advance(seconds=60)
        beats += 1
        if not api.beat(sid).json["allowed"]:
            break
        assert count(svc, WebhookEvent) == 0 and count(svc, WebhookDelivery) == 0
    assert beats == 30 and count(svc, WebhookDelivery) == 1
    _drain(svc, clock)
    assert receiver.bodies()[0]["data"]["reason"] == "cooldown"


def test_a_name_that_resolves_to_a_private_address_at_send_time_is_not_sent(client, admin, svc, clock, token,
                                                                             monkeypatch):
    answers = {"hooks.example.com": ["93.184.215.14"]}
    monkeypatch.setattr(targets, "system_resolver", lambda host, port: answers[host])
    register(client, admin, "https://hooks.example.com/in", ["guardian.linked"])
    answers["hooks.example.com"] = ["93.184.215.14", "10.0.0.7"]  # the DNS answer moved
    client.put("/v1/users/kid/guardians/mum", headers=token("age"))
    assert _drain(svc, clock) == 1
    d = client.get("/v1/admin/webhooks/parent-app/deliveries", headers=admin).json["deliveries"][0]
    assert d["status"] == "pending" and d["attempts"][0]["status_code"] is None
    assert "10.0.0.7 is a private address" in d["attempts"][0]["error"]


def test_an_unknown_delivery_and_a_bad_status_filter(client, admin, receiver):
    register(client, admin, receiver.url)
    assert_problem(client.post("/v1/admin/webhooks/parent-app/deliveries/msg_nope/retry", headers=admin), 404)
    assert_problem(client.get("/v1/admin/webhooks/parent-app/deliveries?status=lost", headers=admin), 422)
    assert_problem(client.get("/v1/admin/webhooks/nope/deliveries", headers=admin), 404)


def test_metrics_show_the_outbox(client, admin, svc, clock, receiver, token):
    register(client, admin, receiver.url)
    client.put("/v1/users/kid/guardians/mum", headers=token("age"))
    clock.advance(seconds=90)
    text = client.get("/metrics").get_data(as_text=True)
    assert "governor_webhook_outbox_depth 1.0" in text
    assert "governor_webhook_outbox_oldest_age_seconds 90.0" in text
    _drain(svc, clock)
    text = client.get("/metrics").get_data(as_text=True)
    assert "governor_webhook_outbox_depth 0.0" in text
    assert 'governor_webhook_deliveries_total{result="delivered"}' in text
    assert 'governor_webhook_attempts_total{outcome="success"}' in text


def test_erasing_a_user_removes_their_undelivered_events(client, admin, svc, receiver, token):
    register(client, admin, receiver.url)
    client.put("/v1/users/kid/guardians/mum", headers=token("age"))
    assert count(svc, WebhookEvent) == 1
    assert client.delete("/v1/admin/users/kid", headers=admin).status_code == 200
    assert count(svc, WebhookEvent) == 0 and count(svc, WebhookDelivery) == 0
    with svc.db.read() as s:
        assert not any("kid" in json.dumps(b) for b in s.execute(select(WebhookEvent.body)).scalars())


def test_erasing_a_guardian_scrubs_their_id_from_kept_bodies(client, admin, svc, clock, receiver, token, api):
    """Delivered and pending bodies lose the erased guardian's id (a `guardian_id` naming them
    becomes null); only the notices of the erasure itself still name them."""
    secret = register(client, admin, receiver.url)["secret"]
    age, guardian = token("age"), token("guardian", sub="parent-app")
    api.verify("kid", "2014-03-01")
    for child, gid in (("kid", "mum_1"), ("kid", "dad"), ("kid2", "mum_1"), ("kid3", "mumX1")):
        assert client.put(f"/v1/users/{child}/guardians/{gid}", headers=age).status_code == 200
    tr = client.post("/v1/users/kid/time-requests", json={"minutes": 15}, headers=api.fe).json
    assert client.patch(f"/v1/guardians/mum_1/time-requests/{tr['id']}", json={"status": "denied"},
                        headers=guardian).status_code == 200
    assert _drain(svc, clock) == 6  # delivered: four links, the request and its decision
    assert client.patch("/v1/guardians/mum_1/children/kid/controls", json={"daily_limit_minutes": 30},
                        headers=guardian).status_code == 200  # pending when the guardian is erased
    r = client.delete("/v1/admin/guardians/mum_1", headers=admin)
    assert r.status_code == 200 and r.json["links_removed"] == 2
    with svc.db.read() as s:
        bodies = [json.loads(b) for b in s.execute(select(WebhookEvent.body)).scalars()]
    naming = [b for b in bodies if "mum_1" in json.dumps(b)]
    assert sorted(b["data"]["user_id"] for b in naming) == ["kid", "kid2"]
    assert all(b["type"] == "guardian.unlinked" and b["data"]["erasure"] is True for b in naming)
    by_type = {(b["type"], b["data"]["user_id"]): b["data"] for b in bodies}
    assert by_type[("time_request.decided", "kid")]["guardian_id"] is None
    assert by_type[("time_request.decided", "kid")]["guardian_ids"] == ["dad"]
    assert by_type[("guardian.linked", "kid3")]["guardian_id"] == "mumX1"  # a like id is left alone
    assert _drain(svc, clock) == 3  # the pending controls change, scrubbed, and the two notices
    with time_machine.travel(clock.now(), tick=False):
        sent = receiver.verified(secret)[-3:]
    controls = next(b["data"] for b in sent if b["type"] == "controls.changed")
    assert controls["guardian_id"] is None and controls["guardian_ids"] == ["dad"]
    assert controls["controls"]["daily_limit_minutes"] == 30


def test_the_console_lists_endpoints_and_recent_deliveries(client, admin, svc, clock, receiver, token):
    from tests.api.test_console import sign_in

    register(client, admin, receiver.url)
    client.put("/v1/users/kid/guardians/mum", headers=token("age"))
    receiver.answer(500)
    _drain(svc, clock)
    assert client.get("/admin/webhooks").status_code == 302  # not signed in
    sign_in(client, admin["Authorization"].removeprefix("Bearer "))
    r = client.get("/admin/webhooks")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-name="parent-app"' in page and receiver.url in page
    assert 'data-testid="webhook-delivery" data-status="pending"' in page and "HTTP 500" in page
    assert "whsec_" not in page
