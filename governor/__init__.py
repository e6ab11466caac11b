"""Governor: a minor-protection usage governor for generative-AI chat services."""
from __future__ import annotations

from typing import TYPE_CHECKING

from governor.clock import Clock, SystemClock, dev_clock
from governor.config import Settings, jwt_secret, load_settings

if TYPE_CHECKING:  # flask is imported when an app is built, not when `governor` is imported
    from flask import Flask

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """Build an isolated app. Nothing is read at import time; tests pass settings and a clock."""
    from flask import Flask

    from governor.api import admin, audit, complaints, dev, guardians, guards, ops, problems, sessions, users
    from governor.api import age as age_api
    from governor.api import webhooks as webhooks_api
    from governor.api.hot import HotRoutes
    from governor.api.instrument import instrument
    from governor.console import bp as console
    from governor.domain.policy import load_policy_file
    from governor.observability import setup_logging
    from governor.security import revocations, tokens
    from governor.security.limits import RateLimiter
    from governor.service.context import Services
    from governor.store.database import Database

    settings = settings or load_settings()
    if settings.env != "test":
        setup_logging(settings.log_level)
    secret = jwt_secret(settings)
    load_policy_file(settings.policy_path())  # a bad policy file stops start-up here, with one line
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    clock = clock or SystemClock()
    if settings.development:  # PUT /v1/dev/clock moves it, for every worker of this instance folder
        clock = dev_clock(settings.instance_dir, clock)
    svc = Services(Database(settings.database_url), clock, settings)
    app.extensions["governor"] = svc
    app.extensions["governor.auth"] = tokens.build(secret, settings, svc.clock,
                                                 lambda now: revocations.active(svc, now))
    app.extensions["governor.limits"] = RateLimiter(settings.rate_limits())
    for bp in (ops.bp, sessions.bp, users.bp, admin.bp, audit.bp, complaints.bp, guardians.bp, dev.bp, console):
        app.register_blueprint(bp)
    app.register_blueprint(webhooks_api.bp)  # section 9
    app.register_blueprint(age_api.bp)  # section 8
    problems.register(app)
    guards.register(app)
    instrument(app, lambda: _count_active(app.extensions["governor"]))
    app.wsgi_app = HotRoutes(app, app.wsgi_app)  # heartbeats and statuses without Flask's machinery
    return app


def _count_active(svc) -> int:
    from governor.store.repo import count_active_sessions

    with svc.db.read() as s:
        return count_active_sessions(s)
