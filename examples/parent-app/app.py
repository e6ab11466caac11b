"""A parent app's server side, as small as it can be: it receives Governor's webhooks, verifies
each with the `standardwebhooks` library, shows a parent's notifications, and answers a child's
request for more time in one tap through the guardian API.

    export GOVERNOR_URL=http://127.0.0.1:8000
    export GOVERNOR_GUARDIAN_TOKEN=$(governor token --sub parent-app --scope guardian)
    export WEBHOOK_SECRET=whsec_...        # the `secret` PUT /v1/admin/webhooks/parent-app answered
    python examples/parent-app/app.py      # http://127.0.0.1:8100, deliveries to /webhooks

Register it (development: GOVERNOR_WEBHOOK_ALLOW_HOSTS=127.0.0.1 lets Governor send to plain http):

    curl -X PUT $B/v1/admin/webhooks/parent-app -H "Authorization: Bearer $ADM" -H "$H" \
         -d '{"url": "http://127.0.0.1:8100/webhooks", "events": ["time_request.created", "session.ended"]}'
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import httpx
from flask import Flask, abort, redirect, render_template_string, request
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

PAGE = """<!doctype html><meta charset="utf-8"><title>Parent app</title>
<h1>Notifications</h1>
{% for n in notes %}<div style="border:1px solid #ccc;margin:.5em 0;padding:.5em">
  <b>{{ n.title }}</b> <small>{{ n.at }}</small><br>{{ n.text }}
  {% if n.request and n.request.status == "pending" %}
  <form method="post" action="/requests/{{ n.request.id }}" style="display:inline">
    <input type="hidden" name="guardian" value="{{ n.guardian }}">
    <button name="choice" value="15">Approve {{ [15, n.request.minutes] | min }} min</button>
    <button name="choice" value="60">Approve {{ [60, n.request.minutes] | min }} min</button>
    <button name="choice" value="deny">Deny</button>
  </form>{% endif %}
  {% if n.answer %}<p>{{ n.answer }}</p>{% endif %}</div>
{% else %}<p>Nothing yet.</p>{% endfor %}"""

TITLES = {"time_request.created": "asks for more time", "time_request.decided": "request answered",
          "time_request.expired": "request expired", "session.ended": "chat ended",
          "guardian.linked": "linked", "guardian.unlinked": "unlinked", "controls.changed": "controls changed"}


def create_app(secret: str, governor_url: str, guardian_token: str) -> Flask:
    app = Flask(__name__)
    webhook = Webhook(secret)
    notes: OrderedDict[str, dict] = OrderedDict()  # by webhook-id: a delivery sent twice shows once
    lock = threading.Lock()

    @app.post("/webhooks")
    def receive():
        try:
            event = webhook.verify(request.get_data(), dict(request.headers))
        except WebhookVerificationError:
            abort(400)
        data = event["data"]
        text = {"time_request.created": lambda: f"{data['request']['minutes']} minutes"
                + (f": \u201c{data['request']['note']}\u201d" if data["request"].get("note") else ""),
                "session.ended": lambda: f"reason {data['reason']}, {data['duration_seconds'] // 60} min"}.get(
                    event["type"], lambda: "")()
        with lock:
            notes[request.headers["webhook-id"]] = {
                "title": f"{data['user_id']} {TITLES.get(event['type'], event['type'])}", "text": text,
                "at": event["timestamp"], "request": data.get("request"),
                "guardian": (data.get("guardian_ids") or [None])[0], "answer": None}
        return "", 204  # answer fast; anything slow belongs in a queue of the app's own

    @app.get("/")
    def home():
        with lock:
            shown = list(reversed(notes.values()))
        return render_template_string(PAGE, notes=shown)

    @app.post("/requests/<rid>")
    def answer(rid: str):
        choice, guardian = request.form["choice"], request.form["guardian"]
        with lock:
            note = next((n for n in notes.values() if n["request"] and n["request"]["id"] == rid), None)
        if note is None:
            abort(404)
        body = ({"status": "denied"} if choice == "deny" else
                {"status": "approved", "minutes": min(int(choice), note["request"]["minutes"])})
        r = httpx.patch(f"{governor_url}/v1/guardians/{guardian}/time-requests/{rid}", json=body,
                        headers={"Authorization": f"Bearer {guardian_token}"}, timeout=10)
        with lock:
            note["answer"] = (f"{body['status']}" + (f", {body['minutes']} min" if "minutes" in body else "")
                              if r.status_code == 200 else f"not answered: {r.json().get('detail', r.status_code)}")
            if r.status_code in (200, 409):
                note["request"] = {**note["request"], "status": r.json().get("status", "decided")}
        return redirect("/")

    return app


if __name__ == "__main__":
    create_app(os.environ["WEBHOOK_SECRET"], os.environ.get("GOVERNOR_URL", "http://127.0.0.1:8000"),
               os.environ["GOVERNOR_GUARDIAN_TOKEN"]).run(host="127.0.0.1", port=8100)
