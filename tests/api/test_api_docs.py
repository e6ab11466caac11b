"""The API documents itself completely: every operation of the OpenAPI document has a description,
its errors and examples, the examples are real (they validate against the models the server uses),
every schema says what it is, /docs serves every operation as a page without any script or outside
resource, and docs/api.md is what the document renders to."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from governor.api.apidoc import markdown
from governor.api.openapi import OPS, document

DOC = document()
OPERATIONS = [(path, method, op) for path, item in DOC["paths"].items() for method, op in item.items()]
API_MD = Path(__file__).parents[2] / "docs" / "api.md"


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_is_described_with_an_example(path, method, op):
    assert len(op["summary"]) > 3 and len(op["description"]) >= 60, (method, path)
    success = min(s for s in op["responses"] if s < "300")
    assert any("example" in c for c in op["responses"][success]["content"].values()), (method, path, success)
    if "requestBody" in op and path not in ("/v1/sessions/{session_id}/heartbeat", "/v1/sessions/{session_id}/end"):
        assert "example" in op["requestBody"]["content"]["application/json"], (method, path)
    for p in op.get("parameters", []):
        assert p.get("description"), (method, path, p["name"])
    for status, answer in op["responses"].items():
        assert answer["description"], (method, path, status)


def _model(spec) -> type[BaseModel] | None:
    found = spec if isinstance(spec, type) else next(iter(spec.values()), None)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


@pytest.mark.parametrize("op", OPS, ids=[op.operation_id for op in OPS])
def test_the_examples_validate_against_the_servers_models(op):
    if op.example is not None and isinstance(op.body, type):
        op.body.model_validate_json(json.dumps(op.example))  # strict, as a request is
    model = _model(op.responses[min(s for s in op.responses if s < 300)])
    if model is not None:
        model.model_validate(op.answer)


def test_every_schema_and_its_fields_are_described():
    for name, schema in DOC["components"]["schemas"].items():
        assert schema.get("description"), name
    decision = DOC["components"]["schemas"]["DecisionOut"]["properties"]
    assert "latest `retry_at`" in decision["reason"]["description"]
    assert all(p.get("description") for f, p in decision.items() if f not in ("user_id", "policy", "warnings"))


def test_quiet_hours_are_typed_as_windows_with_a_pattern():
    schemas = DOC["components"]["schemas"]
    for name in ("ControlsOut", "ControlsIn", "ControlsPatch"):
        if name not in schemas:
            continue
        window = schemas[name]["properties"]["quiet_hours"]["anyOf"][0]["items"]
        assert window["pattern"] == r"^\d\d:\d\d-\d\d:\d\d$" and "midnight" in window["description"], name
        assert re.fullmatch(window["pattern"], "21:00-07:00") and not re.fullmatch(window["pattern"], "9-17")


def test_docs_serves_every_operation_as_a_page_without_script(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    for path, method, op in OPERATIONS:
        section = re.search(rf'<section class="op" id="{op["operationId"]}" data-method="{method.upper()}" '
                            rf'data-path="{re.escape(path)}">(.*?)</section>', page, re.DOTALL)
        assert section, (method, path)
        assert op["summary"].replace("'", "&#39;") in section.group(1), (method, path)
    for name in DOC["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert not re.search(r'<(script|link|img|iframe|object)\b|\b(src|href|action)="(https?:)?//', page)  # all here
    csp = r.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'") and "script-src" not in csp
    assert "<code>allowed: false</code>" in page  # the descriptions' `code` is rendered


def test_a_description_cannot_inject_markup():
    from governor.api.apidoc import page

    doc = json.loads(json.dumps(DOC))
    doc["paths"]["/healthz"]["get"]["description"] = "<img src=x> and `<b>`"
    text, _ = page(doc)
    assert "<img src=x>" not in text and "&lt;img src=x&gt;" in text and "<code>&lt;b&gt;</code>" in text


def test_docs_api_md_is_the_rendered_document():
    assert API_MD.read_text() == markdown(DOC), \
        "docs/api.md is stale: run `python -m governor.api.apidoc > docs/api.md`"
    for path, method, _ in OPERATIONS:
        assert f"`{method.upper()} {path}`" in API_MD.read_text()
