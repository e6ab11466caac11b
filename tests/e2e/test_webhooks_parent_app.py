"""examples/parent-app end to end: Governor and the parent app each on a real socket of
127.0.0.1; a child's request for more time reaches the app as a verified webhook, and one tap
approves it through the guardian API."""
from __future__ import annotations

import importlib.util
import threading

import pytest
import time_machine
from werkzeug.serving import make_server

from governor import create_app
from governor.service.webhooks import worker
from tests.conftest import PROJECT_DIR, settings_for


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def governor(db_url, clock):
    app = create_app(settings_for(db_url, webhook_allow_hosts="127.0.0.1"), clock=clock)
    server, url = _serve(app)
    yield app, url
    server.shutdown()
    app.extensions["governor"].db.dispose()


def test_a_request_for_time_is_approved_in_one_tap(governor, clock, token):
    app, governor_url = governor
    spec = importlib.util.spec_from_file_location("parent_app", PROJECT_DIR / "examples" / "parent-app" / "app.py")
    parent_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(parent_app)
    client = app.test_client()
    admin, fe = token("admin"), token("sessions")
    client.put("/v1/users/kid/age-verification", headers=token("age"),
               json={"status": "verified", "birth_date": "2014-03-01"})
    client.put("/v1/users/kid/guardians/mum", headers=token("age"))
    server, parent_url = _serve(lambda environ, start: [])  # its address first: the secret comes with the endpoint
    try:
        secret = client.put("/v1/admin/webhooks/parent-app", headers=admin,
                            json={"url": parent_url + "/webhooks", "events": ["time_request.created"]}).json["secret"]
        server.app = parent = parent_app.create_app(secret, governor_url, token("guardian")["Authorization"][7:])
        tr = client.post("/v1/users/kid/time-requests", json={"minutes": 30, "note": "essay"}, headers=fe).json
        with time_machine.travel(clock.now(), tick=False):  # the app checks the signature's time
            assert worker.deliver_webhooks(app.extensions["governor"]) == 1
        page = parent.test_client().get("/").get_data(as_text=True)
        assert "kid asks for more time" in page and "30 minutes" in page and "Approve 15 min" in page
        r = parent.test_client().post(f"/requests/{tr['id']}", data={"choice": "15", "guardian": "mum"})
        assert r.status_code == 302
        got = client.get(f"/v1/time-requests/{tr['id']}", headers=fe).json
        assert got["status"] == "approved" and got["decided_minutes"] == 15
        bad = parent.test_client().post("/webhooks", data=b'{"type":"x"}', headers={
            "webhook-id": "msg_x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"})
        assert bad.status_code == 400  # unsigned deliveries are refused
    finally:
        server.shutdown()
