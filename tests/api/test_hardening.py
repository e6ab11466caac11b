"""No input gets a 500, a leak or a way in: the inputs that once broke the service, the abuse
limits (body size, JSON depth, request rate) and the protective headers, all through HTTP."""
from __future__ import annotations

import csv
import io
import logging
import time
import tomllib
from pathlib import Path

import jwt
import pytest

from governor import create_app
from governor.api import models as oa
from governor.api.schemas import MAX_JSON_DEPTH
from governor.config import PROJECT_DIR
from governor.errors import TooManyRequests
from governor.security import limits
from governor.service.audit import csv_cell
from tests.api.conftest import assert_problem
from tests.conftest import SECRET, settings_for

DEEP = b"[" * 2000 + b"]" * 2000


def test_a_token_whose_exp_or_iat_is_a_string_is_a_401(client):
    now = int(time.time())
    for claims in ({"exp": str(now + 600), "iat": now}, {"exp": now + 600, "iat": str(now)}):
        token = jwt.encode({"iss": "governor", "aud": "governor", "sub": "fe", "scope": "sessions", **claims},
                           SECRET, algorithm="HS256")
        r = client.get("/v1/users/kid/status", headers={"Authorization": f"Bearer {token}"})
        assert_problem(r, 401, "unauthorized")


@pytest.mark.parametrize("scope,method,path", [
    ("sessions", "post", "/v1/sessions"),
    ("sessions", "post", "/v1/sessions/s_x/heartbeat"),
    ("sessions", "post", "/v1/sessions/s_x/end"),
    ("admin", "put", "/v1/admin/policy"),
    ("admin", "put", "/v1/admin/users/kid/lock"),
    ("age", "put", "/v1/users/kid/age-verification"),
    ("sessions", "post", "/v1/complaints"),
])
def test_json_nested_too_deeply_is_a_422_wherever_a_body_is_read(client, token, scope, method, path):
    r = getattr(client, method)(path, data=DEEP, headers={**token(scope), "Content-Type": "application/json"})
    assert "nested" in assert_problem(r, 422, "validation-error")["detail"]


@pytest.mark.parametrize("scope,method,path", [
    ("sessions", "post", "/v1/sessions/s_x/heartbeat"),
    ("admin", "put", "/v1/admin/users/kid/lock"),
    ("admin", "delete", "/v1/admin/users/kid/lock"),
])
def test_an_optional_body_is_nothing_or_json_and_whitespace_is_neither(client, token, scope, method, path):
    assert_problem(getattr(client, method)(path, data=b"\n", headers=token(scope)), 400, "malformed-request")
    assert getattr(client, method)(path, data=b"", headers=token(scope)).status_code in (200, 404)


def test_brackets_inside_strings_do_not_count_as_nesting(client, token):
    text = "[" * (MAX_JSON_DEPTH * 3)
    r = client.post("/v1/complaints", json={"user_id": "kid", "category": "other", "text": text},
                    headers=token("sessions"))
    assert r.status_code == 201 and r.json["text"] == text


@pytest.mark.parametrize("query", ["since=2026-12-02T07:00:00", "until=2026-12-02T07:00:00",
                                   "since=20261202T070000%2B0800", "since=2026-12-02T07:00Z", "since=",
                                   "user_id=", "action=", "format=xml", "limit=5&limit=6", "sine=2026-12-02T07:00:00Z"])
def test_audit_listing_refuses_naive_malformed_unknown_or_repeated_parameters(client, token, query):
    assert_problem(client.get(f"/v1/audit/events?{query}", headers=token("audit")), 422, "validation-error")


def test_an_instant_with_its_offset_is_taken(client, token):
    r = client.get("/v1/audit/events?since=2026-12-01T00:00:00Z&until=2026-12-03T00:00:00%2B08:00",
                   headers=token("audit"))
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/v1/users/kid/usage?from=2026-W48-1", "/v1/users/kid/usage?to=",
                                  "/v1/users/kid/usage?days=3"])
def test_usage_refuses_dates_that_are_not_yyyy_mm_dd(client, token, path):
    assert_problem(client.get(path, headers=token("audit")), 422)


def test_a_body_over_the_cap_is_a_413_with_or_without_a_length(client, token):
    big = b'{"user_id": "' + b"a" * (70 * 1024) + b'"}'
    r = client.post("/v1/sessions", data=big, headers={**token("sessions"), "Content-Type": "application/json"})
    assert_problem(r, 413)
    # chunked: no Content-Length, a server that says the stream ends (as gunicorn does)
    r = client.post("/v1/sessions", input_stream=io.BytesIO(big), headers={**token("sessions"),
                    "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    assert_problem(r, 413)


def test_a_client_past_its_rate_limit_gets_429_with_retry_after(db_url, clock, token):
    app = create_app(settings_for(db_url, rate_limit_sessions_per_minute=3), clock=clock)
    client = app.test_client()
    try:
        fe = token("sessions", sub="frontend-1")
        assert [client.get("/v1/users/kid/status", headers=fe).status_code for _ in range(3)] == [200] * 3
        r = client.get("/v1/users/kid/status", headers=fe)
        assert_problem(r, 429, "too-many-requests")
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert client.post("/v1/sessions", json={"user_id": "kid"}, headers=fe).status_code == 429  # same scope
        # another client, and another scope of the same client, have their own allowance
        assert client.get("/v1/users/kid/status", headers=token("sessions", sub="frontend-2")).status_code == 200
        assert client.get("/v1/users/kid/usage", headers=token("audit", sub="frontend-1")).status_code == 200
    finally:
        app.extensions["governor"].db.dispose()


def test_the_rate_window_starts_afresh_each_minute():
    now = [100.0]
    limiter = limits.RateLimiter({"sessions": 2, "audit": 0}, now=lambda: now[0])
    limiter.hit("sessions", "a")
    limiter.hit("sessions", "a")
    now[0] += 45
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit("sessions", "a")
    assert refused.value.retry_after == 15
    now[0] += 15
    limiter.hit("sessions", "a")
    for _ in range(1000):  # 0 = no limit
        limiter.hit("audit", "a")


def test_protective_headers(client, token):
    for path in ("/healthz", "/openapi.json", "/metrics", "/nowhere"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"
    for r in (client.get("/v1/users/kid/status", headers=token("sessions")),
              client.get("/v1/users/kid/status"),
              client.post("/v1/sessions/s_none/heartbeat", headers=token("sessions"))):
        assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"


def test_csv_export_neutralises_formula_cells(client, token):
    evil = '=HYPERLINK("http://evil.example/","click")'
    assert client.post("/v1/sessions", json={"user_id": "@kid"}, headers=token("sessions", sub=evil)).status_code
    for sub in ("+1", "-1"):
        client.post("/v1/sessions", json={"user_id": "kid"}, headers=token("sessions", sub=sub))
    r = client.get("/v1/audit/events?format=csv", headers=token("audit"))
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    clients = {row["client"] for row in rows}
    assert {"'" + evil, "'+1", "'-1"} <= clients
    assert "'@kid" in {row["user_id"] for row in rows}
    assert not any(cell[:1] in "=+-@\t\r" for row in rows for cell in row.values() if cell)
    # a tab or a carriage return cannot begin a `sub` or a user id today; the rule covers them anyway
    assert [csv_cell(v) for v in ("\tx", "\rx", "a=b", 7, None)] == ["'\tx", "'\rx", "a=b", 7, ""]


def test_logs_hold_no_token_secret_or_birth_date(client, token, caplog):
    fe, age = token("sessions"), token("age")
    forged = jwt.encode({"sub": "x"}, "another-secret-0123456789abcdef0123456789", algorithm="HS256")
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement, with its parameters if shown
    with caplog.at_level(logging.DEBUG):
        client.put("/v1/users/kid/age-verification", headers=age,
                   json={"status": "verified", "birth_date": "2013-07-19"})
        client.put("/v1/users/kid/age-verification", headers=age, json={"status": "verified",
                                                                         "birth_date": "1899-07-19"})
        client.post("/v1/sessions", json={"user_id": "kid"}, headers=fe)
        client.get("/v1/users/kid/status", headers={"Authorization": f"Bearer {forged}"})
        client.get("/v1/users/kid/status", headers={"Authorization": "Bearer " + fe["Authorization"][7:] + "x"})
    text = "\n".join(caplog.text.splitlines() + [str(getattr(r, "fields", "")) for r in caplog.records])
    assert "governor.http" in {r.name for r in caplog.records} and "INSERT INTO" in text  # logged, but
    for secret in (SECRET, fe["Authorization"][7:], age["Authorization"][7:], forged, "2013-07-19", "1899-07-19"):
        assert secret not in text


# -- the document itself ------------------------------------------------------------------------

def test_the_document_is_complete_for_client_generators(client):
    doc = client.get("/openapi.json").json
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    ids = [op["operationId"] for _, _, op in ops]
    assert len(ids) == len(set(ids)) and all(op["tags"] for _, _, op in ops)
    for path, method, op in ops:
        if path.startswith("/v1/"):
            assert {"401", "403", "429", "503"} <= op["responses"].keys(), (method, path)
            assert op["responses"]["429"]["headers"]["Retry-After"]
        if "requestBody" in op:
            assert {"400", "413", "422"} <= op["responses"].keys(), (method, path)
        if "{user_id}" in path:
            assert "422" in op["responses"]

    def query(path, method="get"):
        return {p["name"] for p in doc["paths"][path][method].get("parameters", []) if p["in"] == "query"}
    assert query("/v1/users/{user_id}/usage") == {"from", "to"}
    assert query("/v1/audit/events") == {"user_id", "action", "since", "until", "cursor", "limit", "format"}
    assert query("/v1/admin/complaints") == {"status", "cursor", "limit"}
    assert query("/v1/admin/reports/daily") == {"date"}
    events = doc["paths"]["/v1/audit/events"]["get"]["responses"]["200"]["content"]
    assert set(events) == {"application/json", "application/x-ndjson", "text/csv"}
    policy = doc["paths"]["/v1/admin/policy"]
    put_schema = policy["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert put_schema == {"$ref": "#/components/schemas/PolicyIn"}
    assert policy["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PolicyOut")
    report = doc["paths"]["/v1/admin/reports/daily"]["get"]["responses"]["200"]["content"]["application/json"]
    assert report["schema"]["$ref"].endswith("ReportOut")


def test_policy_and_report_answers_fit_their_models(client, token):
    adm = token("admin")
    policy = client.get("/v1/admin/policy", headers=adm).json
    oa.PolicyOut.model_validate(policy)
    oa.PolicyIn.model_validate(policy)  # a GET answer can be put back as it is
    assert client.put("/v1/admin/policy", json=policy, headers=adm).status_code == 200
    oa.ReportOut.model_validate(client.get("/v1/admin/reports/daily", headers=adm).json)


def test_the_policy_schema_takes_every_shipped_policy_and_every_rule():
    from governor.domain.policy import _RULE_KEYS

    assert set(oa.BandRulesDoc.model_fields) == _RULE_KEYS
    for path in Path(PROJECT_DIR / "config" / "policies").glob("*.toml"):
        with path.open("rb") as f:
            doc = tomllib.load(f)
        doc["holidays"] = [str(d) for d in doc.get("holidays", [])]
        oa.PolicyIn.model_validate(doc)


def test_the_session_ended_problem_fits_its_model(client, token):
    fe = token("sessions")
    sid = client.post("/v1/sessions", json={"user_id": "kid"}, headers=fe).json["session_id"]
    client.post(f"/v1/sessions/{sid}/end", headers=fe)
    r = client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    assert r.status_code == 409 and oa.SessionEndedOut.model_validate(r.json).end_reason == "client"
