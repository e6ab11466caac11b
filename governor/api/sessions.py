"""Sessions: admission, heartbeat, end (scope `sessions`)."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g

from governor.api.guards import requires
from governor.api.schemas import StartSession, body, decision_json, no_body
from governor.errors import SessionNotFound
from governor.observability import count_decision
from governor.service import sessions

bp = Blueprint("sessions", __name__, url_prefix="/v1/sessions")
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")  # what repo.new_session_id makes, and the column holds


def _svc():
    return current_app.extensions["governor"]


@bp.post("")
@requires("sessions")
def start():
    req = body(StartSession)
    started = sessions.start(_svc(), req.user_id, g.principal.sub, req.purpose)
    count_decision("start", started.decision)
    out = decision_json(started.decision)
    if started.session_id is None:
        return out, 403
    out.update(session_id=started.session_id,
               heartbeat_interval_seconds=_svc().settings.heartbeat_interval_seconds)
    return out, 201


@bp.post("/<session_id>/heartbeat")
@requires("sessions")
def heartbeat(session_id: str):
    session_id = session_id_arg(session_id)
    no_body()
    return heartbeat_answer(_svc(), session_id, g.principal.sub)


def heartbeat_answer(svc, session_id: str, client: str) -> dict:
    """A heartbeat and its answer, the decision and the session (the view's, and api/hot.py's for
    a heartbeat without a body)."""
    decision = sessions.heartbeat(svc, session_id, client)
    count_decision("heartbeat", decision)
    out = decision_json(decision)
    out["session_id"] = session_id
    return out


@bp.post("/<session_id>/end")
@requires("sessions")
def end(session_id: str):
    session_id = session_id_arg(session_id)
    no_body()
    ended = sessions.end(_svc(), session_id, g.principal.sub)
    out = decision_json(ended.decision)
    out.update(session_id=ended.session_id, duration_seconds=ended.duration_seconds, end_reason=ended.end_reason)
    return out


def session_id_arg(value: str) -> str:
    """Anything that cannot be a session id is unknown, without asking the database (PostgreSQL
    refuses a NUL byte in text with an error, not with no rows)."""
    if not SESSION_ID.fullmatch(value):
        raise SessionNotFound(f"no session {value[:40]!r}")
    return value
