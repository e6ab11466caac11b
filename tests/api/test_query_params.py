"""Every query parameter of the API, from the OpenAPI document, with generated values: no answer
is ever a 500. Values come from each parameter's own shape (dates and weeks from year 1 to 9999,
instants with any offset, integers far out of range, enums and cursors) and from arbitrary text,
with parameters left out, repeated or unknown. On SQLite and PostgreSQL (issue 18.5)."""
from __future__ import annotations

import base64
import json
import string
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import PROBLEM
from tests.api.test_guardians import KID, Family

PATH_VALUES = {"user_id": KID, "guardian_id": "mum", "name": "hooks-1"}
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
EDGE_YEARS = (1, 2, 1899, 1900, 1969, 1970, 2199, 2200, 2201, 9998, 9999)  # the calendar's edges and ours
YEARS = st.sampled_from(EDGE_YEARS) | st.integers(0, 9999)
WIDE_DATES = st.builds(lambda y, d: date(y, 1, 1) + timedelta(days=d), st.sampled_from(EDGE_YEARS),
                       st.integers(0, 364)) | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


def _instants() -> st.SearchStrategy[str]:
    offsets = st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
    moments = st.builds(lambda d, secs, tz: datetime.combine(d, datetime.min.time(), tz) + timedelta(seconds=secs),
                        WIDE_DATES.filter(lambda d: date(1, 1, 2) <= d <= date(9999, 12, 30)),
                        st.integers(0, 86399), offsets)
    return moments.map(lambda t: t.isoformat()) | moments.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _cursors() -> st.SearchStrategy[str]:
    raw = st.binary(max_size=24) | st.integers(-(2**70), 2**70).map(lambda n: str(n).encode())
    return raw.map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")) | TEXT


def values_for(name: str, schema: dict) -> st.SearchStrategy[str]:
    """Values shaped like the parameter, or nearly so, and arbitrary text."""
    shaped: list[st.SearchStrategy[str]] = [TEXT]
    if "enum" in schema:
        shaped.append(st.sampled_from(schema["enum"]))
    if schema.get("type") == "integer":
        shaped.append(st.integers(-(2**70), 2**70).map(str))
        shaped.append(st.integers(schema.get("minimum", 0) - 2, schema.get("maximum", 1000) + 2).map(str))
    if schema.get("format") == "date":
        shaped.append(WIDE_DATES.map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"))
    if schema.get("format") == "date-time":
        shaped.append(_instants())
    if name == "week":
        weeks = st.sampled_from((0, 1, 2, 52, 53, 54)) | st.integers(0, 99)
        shaped.append(st.builds(lambda y, w: f"{y:04d}-W{w:02d}", st.sampled_from(EDGE_YEARS), weeks))
        shaped.append(st.builds(lambda y, w: f"{y:04d}-W{w:02d}", YEARS, weeks))
    if name == "cursor":
        shaped.append(_cursors())
    if name in ("user_id", "action", "purpose"):
        shaped.append(st.text(string.ascii_letters + string.digits + "._:@-", min_size=1, max_size=130))
    return st.one_of(*shaped)


def operations(client) -> list[tuple[str, str, list[tuple[str, dict]]]]:
    """(path, scope, [(parameter, schema)]) of every operation with query parameters."""
    doc = client.get("/openapi.json").json
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            params = [(p["name"], p.get("schema", {})) for p in op.get("parameters", []) if p.get("in") == "query"]
            if params:
                assert method == "get", (method, path)  # only reads take query parameters
                scope = next(iter(op["security"][0].values()))[0]
                out.append((path.format(**PATH_VALUES), scope, params))
    return out


@st.composite
def requests(draw, ops):
    path, scope, params = draw(st.sampled_from(ops))
    chosen = draw(st.lists(st.sampled_from(params), unique_by=lambda p: p[0], max_size=len(params)))
    query = [(name, draw(values_for(name, schema))) for name, schema in chosen]
    if query and draw(st.integers(0, 9)) == 0:
        query.append((query[0][0], draw(values_for(*chosen[0]))))  # a parameter given twice
    if draw(st.integers(0, 9)) == 0:
        query.append((draw(st.text(string.ascii_lowercase, min_size=1, max_size=8)), draw(TEXT)))  # maybe unknown
    return path, scope, query


def test_the_document_names_every_parameter_the_views_read(client):
    """The generator is only as good as the document: each parameter read anywhere is in it."""
    names = {name for _, _, params in operations(client) for name, _ in params}
    assert names >= {"purpose", "from", "to", "status", "cursor", "limit", "date", "user_id", "action", "since",
                     "until", "format", "week"}


@pytest.fixture
def family(api, client, token, clock) -> Family:
    fam = Family(api, client, token, clock)
    fam.link("mum")
    fam.api.started(KID)
    fam.ask(10)
    r = client.post("/v1/complaints", json={"user_id": KID, "category": "other", "text": "x"}, headers=api.fe)
    assert r.status_code == 201, r.json
    return fam


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "0000-W01", "9999-W53"])
def test_the_weeks_that_answered_500(family, client, week):
    r = client.get(f"/v1/guardians/mum/children/{KID}/summary?week={week}", headers=family.app)
    assert r.status_code == 422 and r.content_type == PROBLEM


def check(r, what) -> None:
    assert r.status_code in (200, 400, 404, 422), (what, r.status_code, r.get_data(as_text=True)[:300])
    if r.status_code != 200:
        assert r.content_type == PROBLEM and json.loads(r.get_data())["status"] == r.status_code


# Every (operation, parameter) pair of the document, so that each gets its own examples; the first
# test below fails when the document gains a parameter this list does not name.
PARAMETERS = [
    ("/v1/users/{user_id}/status", "purpose"), ("/v1/users/{user_id}/usage", "from"),
    ("/v1/users/{user_id}/usage", "to"), ("/v1/admin/complaints", "status"), ("/v1/admin/complaints", "cursor"),
    ("/v1/admin/complaints", "limit"), ("/v1/admin/reports/daily", "date"), ("/v1/audit/events", "user_id"),
    ("/v1/audit/events", "action"), ("/v1/audit/events", "since"), ("/v1/audit/events", "until"),
    ("/v1/audit/events", "cursor"), ("/v1/audit/events", "limit"), ("/v1/audit/events", "format"),
    ("/v1/guardians/{guardian_id}/children/{user_id}/summary", "week"),
    ("/v1/guardians/{guardian_id}/time-requests", "status"), ("/v1/admin/webhooks/{name}/deliveries", "status"),
    ("/v1/admin/webhooks/{name}/deliveries", "cursor"), ("/v1/admin/webhooks/{name}/deliveries", "limit"),
]


def test_every_parameter_of_the_document_is_tried_on_its_own(client):
    doc = client.get("/openapi.json").json
    documented = {(path, p["name"]) for path, ops in doc["paths"].items() for op in ops.values()
                  for p in op.get("parameters", []) if p.get("in") == "query"}
    assert documented == set(PARAMETERS)


@pytest.mark.parametrize("path,name", PARAMETERS, ids=[f"{p.rsplit('/', 1)[-1]}-{n}" for p, n in PARAMETERS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_value_of_a_parameter_answers_500(family, client, token, path, name, data):
    ops = {p: (scope, dict(params)) for p, scope, params in operations_of(client)}
    scope, params = ops[path.format(**PATH_VALUES)]
    value = data.draw(values_for(name, params[name]), label=name)
    check(client.get(path.format(**PATH_VALUES), query_string={name: value}, headers=token(scope)), (path, value))


EDGES = {"date": ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-02", "2026-02-29", "0000-01-01"],
         "date-time": ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
                       "9999-12-31T23:59:59Z", "2026-12-02T07:00:00+24:00", "1969-12-31T23:59:59Z"],
         "week": [f"{y:04d}-W{w:02d}" for y in EDGE_YEARS for w in (0, 1, 52, 53)],
         "integer": ["0", "-1", "501", "9" * 30, "1e3", "０"]}


@pytest.mark.parametrize("path,name", PARAMETERS, ids=[f"{p.rsplit('/', 1)[-1]}-{n}" for p, n in PARAMETERS])
def test_the_calendars_edges_in_every_parameter(family, client, token, path, name):
    """Generated values rarely land on the exact edge of the calendar, where the week of 0001-W01
    and 9999-W52 used to overflow: every edge, in every parameter of its kind."""
    scope, params = {p: (sc, dict(ps)) for p, sc, ps in operations_of(client)}[path.format(**PATH_VALUES)]
    schema = params[name]
    kind = "week" if name == "week" else schema.get("format") or schema.get("type")
    for value in EDGES.get(kind, ["", "\x00", "%", "ü" * 200]):
        check(client.get(path.format(**PATH_VALUES), query_string={name: value}, headers=token(scope)),
              (path, value))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_mix_of_parameters_answers_500(family, client, token, data):
    """Several parameters at once, some repeated or unknown."""
    path, scope, query = data.draw(requests(operations_of(client)))
    check(client.get(path, query_string=query, headers=token(scope, sub="frontend-1")), (path, query))


_OPS: dict[int, list] = {}


def operations_of(client) -> list:
    """`operations`, read once per app."""
    key = id(client.application)
    if key not in _OPS:
        _OPS.clear()
        _OPS[key] = operations(client)
    return _OPS[key]
