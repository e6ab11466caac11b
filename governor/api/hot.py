"""A lean front for the two hot routes: a heartbeat without a body and a status without a query.

Every chat session sends a heartbeat a minute; Flask's per-request machinery (request context,
URL map, hooks, Response object) costs more than the heartbeat's own work once its decision is
stored (docs/performance.md). This WSGI callable, in front of the Flask app, answers exactly those
two requests itself, with the same token check, scope, rate limit, service call, JSON body,
headers, request id, metrics and access log as the Flask views. Anything else, and any request
that fails in any way (a token refused, a session ended, a database away, a bug), goes to the
Flask app, which answers it from scratch: nothing here commits before it succeeds, so running a
failed request again through Flask is safe. tests/api/test_hot_routes.py holds the two paths to
the same answers.
"""
from __future__ import annotations

import json
import re
import time

from governor.api.sessions import SESSION_ID, heartbeat_json
from governor.api.users import status_json
from governor.observability import finished, request_id
from governor.service import sessions

_HEARTBEAT = re.compile(r"/v1/sessions/(" + SESSION_ID.pattern + r")/heartbeat")
_STATUS = re.compile(r"/v1/users/([A-Za-z0-9._:@-]{1,128})/status")
_ROUTES = {"heartbeat": "/v1/sessions/<session_id>/heartbeat", "status": "/v1/users/<uid>/status"}


class HotRoutes:
    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.svc = app.extensions["governor"]
        self.auth = app.extensions["governor.auth"]
        self.limits = app.extensions["governor.limits"]
        j = app.json  # the same JSON as app.json.dumps, its encoder built once
        self.encode = json.JSONEncoder(default=j.default, ensure_ascii=j.ensure_ascii, sort_keys=j.sort_keys).encode

    def __call__(self, environ, start_response):
        kind, key = self._route(environ)
        if kind is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            principal = self.auth.verify(environ.get("HTTP_AUTHORIZATION"))
            if "sessions" not in principal.scopes:
                return self.wsgi_app(environ, start_response)
            self.limits.hit("sessions", principal.sub)
            if kind == "heartbeat":
                out = heartbeat_json(sessions.heartbeat(self.svc, key, principal.sub), key)
            else:
                out = status_json(sessions.status(self.svc, key), self.svc.clock.now())
        except Exception:  # refused, failed or a bug: Flask answers it (and logs a bug) from scratch
            return self.wsgi_app(environ, start_response)
        body = (self.encode(out) + "\n").encode()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                  ("X-Request-Id", rid), ("X-Content-Type-Options", "nosniff"),
                                  ("Cache-Control", "no-store")])
        finished(rid, environ["REQUEST_METHOD"], _ROUTES[kind], 200, time.perf_counter() - started, principal.sub)
        return [body]

    @staticmethod
    def _route(environ) -> tuple[str | None, str | None]:
        """("heartbeat", session id) or ("status", user id) for the requests answered here."""
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        if method == "POST" and not environ.get("HTTP_TRANSFER_ENCODING") \
                and environ.get("CONTENT_LENGTH") in (None, "", "0"):
            m = _HEARTBEAT.fullmatch(path)
            return ("heartbeat", m[1]) if m else (None, None)
        if method == "GET" and not environ.get("QUERY_STRING"):
            m = _STATUS.fullmatch(path)
            return ("status", m[1]) if m else (None, None)
        return None, None
