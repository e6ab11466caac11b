"""Operations endpoints, no token: liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    if current_app.extensions["governor"].db.ping():
        return {"status": "ready"}
    return {"status": "not ready", "database": "unreachable"}, 503, {"Retry-After": "2"}


@bp.get("/openapi.json")
def openapi():
    from governor.api.openapi import document

    if "governor.openapi" not in current_app.extensions:
        current_app.extensions["governor.openapi"] = document()
    return current_app.extensions["governor.openapi"]
