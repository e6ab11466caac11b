"""Operations endpoints, and real answers checked against the OpenAPI document's models."""
from __future__ import annotations

import logging

from governor.api import models as oa


def test_openapi_documents_every_route(app, client):
    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {(m, r.rule.replace("<uid>", "{user_id}").replace("<session_id>", "{session_id}")
               .replace("<cid>", "{complaint_id}").replace("<gid>", "{guardian_id}")
               .replace("<rid>", "{request_id}").replace("<grant>", "{grant_id}")
               .replace("<name>", "{name}").replace("<did>", "{delivery_id}")
               .replace("<source>", "{source}"))
              for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}
              if not r.rule.startswith("/admin")}  # the console's HTML pages are not the API
    assert documented == served


def test_answers_match_their_documented_models(client, clock, token):
    fe, adm, aud = token("sessions"), token("admin"), token("audit")
    r = client.put("/v1/users/kid/age-verification", headers=token("age"),
                   json={"status": "verified", "birth_date": "2014-03-01", "expires_at": "2030-01-01T00:00:00Z"})
    oa.VerifiedOut.model_validate(r.json)
    r = client.post("/v1/sessions", json={"user_id": "kid"}, headers=fe)
    oa.StartedOut.model_validate(r.json)
    sid = r.json["session_id"]
    clock.advance(minutes=26)
    oa.HeartbeatOut.model_validate(client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe).json)
    oa.StatusOut.model_validate(client.get("/v1/users/kid/status", headers=fe).json)
    oa.EndedOut.model_validate(client.post(f"/v1/sessions/{sid}/end", headers=fe).json)
    oa.UsageOut.model_validate(client.get("/v1/users/kid/usage", headers=aud).json)
    oa.GrantOut.model_validate(client.post("/v1/admin/users/kid/grants", json={"extra_minutes": 5}, headers=adm).json)
    oa.LockOut.model_validate(client.put("/v1/admin/users/kid/lock", json={}, headers=adm).json)
    oa.SettingsOut.model_validate(client.put("/v1/admin/users/kid/settings", json={"daily_limit_minutes": 30},
                                             headers=adm).json)
    c = client.post("/v1/complaints", json={"user_id": "kid", "category": "other", "text": "t"}, headers=fe).json
    oa.ComplaintOut.model_validate(c)
    oa.ComplaintsPage.model_validate(client.get("/v1/admin/complaints", headers=adm).json)
    oa.EventsPage.model_validate(client.get("/v1/audit/events", headers=aud).json)
    oa.VerifyOut.model_validate(client.get("/v1/audit/verify", headers=aud).json)
    oa.PolicyVersionsOut.model_validate(client.get("/v1/admin/policy/versions", headers=adm).json)
    oa.ErasedOut.model_validate(client.delete("/v1/admin/users/kid", headers=adm).json)
    problem = client.post("/v1/sessions/s_none/heartbeat", headers=fe)
    oa.ProblemOut.model_validate(problem.json)


def test_health_readiness_and_metrics(client, token):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.post("/v1/sessions", json={"user_id": "kid"}, headers=token("sessions"))
    text = client.get("/metrics").data.decode()
    assert 'governor_http_request_duration_seconds_count{endpoint="/v1/sessions",method="POST",status="201"}' in text
    assert "governor_active_sessions 1.0" in text
    assert 'governor_decisions_total{band="unverified",kind="start",reason="ok"}' in text
    assert 'governor_audit_appends_total{action="session.started"}' in text


def test_readyz_says_not_ready_when_the_database_is_gone(tmp_path):
    from governor import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.headers["Retry-After"]


def test_requests_carry_an_id_and_logs_hold_no_token(client, token, caplog):
    headers = token("sessions")
    with caplog.at_level(logging.INFO, logger="governor.http"):
        r = client.get("/v1/users/kid/status", headers={**headers, "X-Request-Id": "req-123"})
    assert r.headers["X-Request-Id"] == "req-123"
    line = [rec for rec in caplog.records if rec.name == "governor.http"][-1]
    assert line.fields["request_id"] == "req-123" and line.fields["route"] == "/v1/users/<uid>/status"
    raw = headers["Authorization"].split()[1]
    assert all(raw not in rec.getMessage() and raw not in str(getattr(rec, "fields", "")) for rec in caplog.records)
    assert "kid" not in str(line.fields)  # the route pattern, not the path with the user id


def test_the_metrics_module_imports_no_web_framework():
    """governor/observability.py is shared by the web side, the scheduler and the CLI; Flask's
    instrumentation lives in governor/api/instrument.py. And the command line imports neither
    until a command runs: `governor serve` must set PROMETHEUS_MULTIPROC_DIR before anything
    imports prometheus_client, or its workers' metrics are not added up."""
    import subprocess
    import sys

    def imported(modules: str) -> str:
        code = (f"import sys, {modules}; "
                "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'werkzeug', 'prometheus_client'}))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert imported("governor.observability, governor.jobs") == "['prometheus_client']\n"
    assert imported("governor.cli") == "[]\n"
