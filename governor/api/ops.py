"""Operations endpoints, no token: liveness, readiness, and the API's documentation (the OpenAPI
document, and the same rendered as a page)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    if current_app.extensions["governor"].db.ping():
        return {"status": "ready"}
    return {"status": "not ready", "database": "unreachable"}, 503, {"Retry-After": "2"}


def _document() -> dict:
    from governor.api.openapi import document

    if "governor.openapi" not in current_app.extensions:
        current_app.extensions["governor.openapi"] = document()
    return current_app.extensions["governor.openapi"]


@bp.get("/openapi.json")
def openapi():
    return _document()


@bp.get("/docs")
def docs():
    """Rendered on the server from the same document: no script, nothing loaded from elsewhere."""
    from governor.api.apidoc import page

    if "governor.apidoc" not in current_app.extensions:
        current_app.extensions["governor.apidoc"] = page(_document())
    text, csp = current_app.extensions["governor.apidoc"]
    return Response(text, mimetype="text/html", headers={"Content-Security-Policy": csp,
                                                          "X-Frame-Options": "DENY"})
