"""Development mode only (GOVERNOR_ENV=development; a 404 otherwise): set the server's clock,
so that integrators can see their curfew and break screens without waiting for the night."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g

from governor.api.schemas import Instant, Model, body, iso
from governor.audit import Entry, append_system_event
from governor.auth import requires
from governor.clock import OffsetClock

bp = Blueprint("dev", __name__, url_prefix="/v1/dev")


class ClockIn(Model):
    now: Instant


def _clock() -> OffsetClock:
    clock = current_app.extensions["governor"].clock
    if not isinstance(clock, OffsetClock):  # only development mode builds the app with one
        abort(404)
    return clock


@bp.before_request
def _development_only():
    _clock()  # before the token is looked at: outside development the endpoint does not exist


def _answer(clock: OffsetClock, action: str) -> dict:
    svc = current_app.extensions["governor"]
    now = clock.now()
    with svc.db.write() as s:  # audited like any change, on the system chain
        append_system_event(s, now, Entry(client=g.principal.sub, action=action,
                                          data={"now": iso(now), "offset_seconds": clock.offset.total_seconds()}))
    return {"now": iso(now), "offset_seconds": clock.offset.total_seconds()}


@bp.put("/clock")
@requires("admin")
def set_clock():
    clock = _clock()
    clock.set(body(ClockIn).now)
    return _answer(clock, "dev.clock_set")


@bp.delete("/clock")
@requires("admin")
def reset_clock():
    clock = _clock()
    clock.reset()
    return _answer(clock, "dev.clock_reset")
