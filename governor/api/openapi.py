"""The OpenAPI 3.1 document, generated once per process from the operations described in
`governor.api.spec` (one module per area), the request models the views validate with, the answer
models in `governor.api.models`, and the same patterns and bounds the views check parameters with.
Schemathesis (tests/api/test_contract.py) holds the running app to it: every status, media type
and body an operation can answer is listed here. /docs and docs/api.md render the same document
(`governor.api.apidoc`)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from governor.api import models as m
from governor.api.complaints import COMPLAINT_ID, MAX_PAGE
from governor.api.guardians import REQUEST_ID
from governor.api.schemas import USER_ID
from governor.api.sessions import SESSION_ID
from governor.api.spec import admin, age, guardians, ops, records, sessions, webhooks
from governor.api.spec.op import JSON, LIMIT_MAX, PROBLEM, Op

assert LIMIT_MAX == MAX_PAGE  # noqa: S101  (the documented page size is the one the views allow)

AREAS = (sessions, age, admin, records, guardians, webhooks, ops)  # a new area: its module here
OPS: list[Op] = [op for area in AREAS for op in area.OPS]
TAGS = {"sessions": "A chat frontend's session loop (scope `sessions`)",
        "users": "One user's status, verification and use",
        "admin": "Administration (scope `admin`); every change audited under the token's `sub`",
        "complaints": "Complaints from users, filed by the frontend",
        "audit": "The tamper-evident audit log (scope `audit`)",
        "dev": "Development mode only",
        "guardians": "Guardians: links, the parent app (scope `guardian`) and time requests",
        "webhooks": "Signed webhooks to the parent app (scope `admin`), section 9",
        "ops": "Operations, no token"}
PATH_PARAMS = {
    "user_id": {"type": "string", "pattern": USER_ID.pattern},
    "session_id": {"type": "string", "pattern": f"^{SESSION_ID.pattern}$"},
    "complaint_id": {"type": "string", "pattern": f"^{COMPLAINT_ID.pattern}$"},
    "grant_id": {"type": "string", "pattern": r"^[0-9]{1,18}$"},
    "guardian_id": {"type": "string", "pattern": USER_ID.pattern},
    "request_id": {"type": "string", "pattern": f"^{REQUEST_ID.pattern}$"},
}
PATH_TEXT = {"user_id": "the user's opaque id: 1-128 of A-Z a-z 0-9 . _ : @ -, case-sensitive",
             "session_id": "the `session_id` a start answered", "complaint_id": "the complaint's `id`",
             "grant_id": "the grant's `id` (`GET /v1/admin/users/{user_id}`)",
             "guardian_id": "the guardian's opaque id (the rules of a user id)",
             "request_id": "the time request's `id`"}
PATH_PARAMS.update(webhooks.PATH_PARAMS)
PATH_TEXT.update(webhooks.PATH_TEXT)
PATH_PARAMS.update(age.PATH_PARAMS)
PATH_TEXT.update(age.PATH_TEXT)
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
STATUS_TEXT = {200: "OK", 201: "Created", 400: "The body is not JSON", 401: "No valid bearer token",
               403: "The token's scopes do not allow this", 404: "Not found",
               408: "The body stopped arriving (the server's read timeout)", 409: "Conflict",
               413: "The body is larger than the service takes", 422: "The request is not valid",
               429: "Too many requests from this client; see Retry-After",
               503: "The database cannot be reached; see Retry-After"}
INFO = ("Governor keeps minors from excessive reliance on generative-AI chat: a chat frontend asks it "
        "before every session whether a user may chat now, keeps the session alive with a heartbeat a "
        "minute, and ends it. Every endpoint but the ops endpoints needs `Authorization: Bearer <JWT>` "
        "with one of the scopes named. A refusal to chat is a decision (`allowed: false`), never an "
        "error. Errors are RFC 9457 problems (`application/problem+json`) with a stable `type` "
        "(`urn:governor:problem:...`). Instants are RFC 3339 with an offset.")


def _responses(op: Op) -> dict[int, Any]:
    """The statuses every operation of its kind can answer, added to its own."""
    out: dict[int, Any] = {}
    params = [p.strip("{}") for p in op.path.split("/") if p.startswith("{")]
    if op.scopes:
        out.update({401: m.ProblemOut, 403: m.ProblemOut, 429: m.ProblemOut, 503: m.ProblemOut})
    if params:  # a value that cannot be a route's segment (a `/`, an empty one) matches no route
        out[404] = m.ProblemOut
    if "user_id" in params or "guardian_id" in params or op.query:
        out[422] = m.ProblemOut
    if op.body is not None:
        out.update({400: m.ProblemOut, 408: m.ProblemOut, 413: m.ProblemOut, 422: m.ProblemOut})
    return {**out, **op.responses}


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def schema(model: type[BaseModel] | dict) -> dict[str, Any]:
        if isinstance(model, dict):
            return model
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas[model.__name__] = doc
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def content(spec: Any, example: Any) -> dict[str, Any]:
        if not isinstance(spec, dict) or not all("/" in k for k in spec):
            spec = {PROBLEM if spec is m.ProblemOut else JSON: spec}
        out = {kind: {"schema": schema(model)} for kind, model in spec.items()}
        if example is not None:
            out[next(iter(out))]["example"] = example
        return out

    paths: dict[str, Any] = {}
    for op in OPS:
        doc: dict[str, Any] = {"operationId": op.operation_id, "tags": [op.tag], "summary": op.summary,
                               "description": op.description, "responses": {}}
        params = [{"name": p.strip("{}"), "in": "path", "required": True, "description": PATH_TEXT[p.strip("{}")],
                   "schema": PATH_PARAMS[p.strip("{}")]} for p in op.path.split("/") if p.startswith("{")]
        params += [{"name": name, "in": "query", "required": False, **_described(s)} for name, s in op.query.items()]
        if params:
            doc["parameters"] = params
        if op.scopes:
            doc["security"] = [{"bearer": [s]} for s in op.scopes]
        if op.body is not None:
            body = {"schema": schema(op.body)}
            if op.example is not None:
                body["example"] = op.example
            doc["requestBody"] = {"required": op.body_required, "content": {JSON: body}}
        success = min(s for s in op.responses if s < 300)
        for status, spec in sorted(_responses(op).items()):
            answer: dict[str, Any] = {"description": op.errors.get(status) or STATUS_TEXT.get(status, str(status))}
            if spec is not None:
                answer["content"] = content(spec, op.answer if status == success else None)
            if status in (429, 503):
                answer["headers"] = RETRY_AFTER
            doc["responses"][str(status)] = answer
        paths.setdefault(op.path, {})[op.method] = doc
    return {"openapi": "3.1.0",
            "info": {"title": "Governor", "version": "1", "description": INFO},
            "tags": [{"name": t, "description": TAGS.get(t, t)}
                     for t in sorted({op.tag for op in OPS}, key=lambda t: (list(TAGS) + [t]).index(t))],
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                          "bearerFormat": "JWT"}}}}


def _described(s: dict) -> dict[str, Any]:
    """A query parameter: its description beside its schema too, where OpenAPI readers look for it."""
    return {**({"description": s["description"]} if "description" in s else {}), "schema": s}
