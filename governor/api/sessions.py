"""Sessions: admission, heartbeat, end (scope `sessions`)."""
from __future__ import annotations

from flask import Blueprint, current_app, g

from governor.api.schemas import StartSession, body, decision_json, no_body
from governor.auth import requires
from governor.service import sessions

bp = Blueprint("sessions", __name__, url_prefix="/v1/sessions")


def _svc():
    return current_app.extensions["governor"]


@bp.post("")
@requires("sessions")
def start():
    req = body(StartSession)
    started = sessions.start(_svc(), req.user_id, g.principal.sub)
    out = decision_json(started.decision)
    if started.session_id is None:
        return out, 403
    out.update(session_id=started.session_id,
               heartbeat_interval_seconds=_svc().settings.heartbeat_interval_seconds)
    return out, 201


@bp.post("/<session_id>/heartbeat")
@requires("sessions")
def heartbeat(session_id: str):
    no_body()
    out = decision_json(sessions.heartbeat(_svc(), session_id, g.principal.sub))
    out["session_id"] = session_id
    return out


@bp.post("/<session_id>/end")
@requires("sessions")
def end(session_id: str):
    no_body()
    ended = sessions.end(_svc(), session_id, g.principal.sub)
    out = decision_json(ended.decision)
    out.update(session_id=ended.session_id, duration_seconds=ended.duration_seconds, end_reason=ended.end_reason)
    return out
