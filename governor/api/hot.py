"""A lean front for the two hot routes: a heartbeat without a body and a status without a query.

Every chat session sends a heartbeat a minute; Flask's per-request machinery (request context,
URL map, hooks, Response object) costs more than the heartbeat's own work once its decision is
stored (docs/performance.md). This WSGI callable, in front of the Flask app, answers those two
requests itself through the Flask side's own steps, not copies of them: the view's rule and
scopes (read from the app), its id check, the gate (security/gate.admit: token, scope, rate
limit), its answer function (api/sessions.heartbeat_answer, api/users.status_answer), the same
protective headers, request id, metrics and access log.

Anything it does not answer with a 200 goes to Flask as an outcome, not as a request to run again:
the error (a problem, the database away, or a bug) travels in the WSGI environ and Flask raises it
before the view would run, so Flask's error handlers answer it (a bug is logged with its trace and
answered as a 500 problem) and Flask's hooks add the headers, metrics and log line. Each request
so verifies its token once (a refusal is logged once), counts once against its client's limit and
tries the database once. tests/api/test_hot_routes.py holds the two fronts to the same answers,
byte for byte, on random requests.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, g, request

from governor.api.guards import protective_headers
from governor.api.schemas import user_id
from governor.api.sessions import heartbeat_answer, session_id_arg
from governor.api.users import status_answer
from governor.observability import finished, request_id
from governor.security.gate import admit

OUTCOME = "governor.hot.outcome"  # environ key: (the principal or None, the error Flask is to answer)


@dataclass(frozen=True)
class Route:
    rule: str  # Flask's rule: the metrics' and the access log's label
    path: re.Pattern  # the rule as Flask matches it: its one parameter is any text without a slash
    scopes: tuple[str, ...]  # the view's @requires
    check: Callable[[str], str]  # the view's check of the path parameter
    answer: Callable[..., dict]  # (svc, the parameter, the client) -> the view's JSON
    headers: tuple[tuple[str, str], ...]  # the protective headers of the rule's path


def _route(app: Flask, endpoint: str, check, answer) -> Route:
    rule = next(app.url_map.iter_rules(endpoint)).rule
    before, param, after = re.split(r"<(\w+)>", rule)  # one parameter, of the default converter
    path = re.compile(re.escape(before) + "([^/]+)" + re.escape(after))
    return Route(rule, path, app.view_functions[endpoint].scopes, check, answer, tuple(protective_headers(rule)))


class HotRoutes:
    def __init__(self, app: Flask, wsgi_app):
        self.wsgi_app = wsgi_app
        self.svc = app.extensions["governor"]
        self.auth = app.extensions["governor.auth"]
        self.limits = app.extensions["governor.limits"]
        self.heartbeat = _route(app, "sessions.heartbeat", session_id_arg, heartbeat_answer)
        self.status = _route(app, "users.status", user_id, lambda svc, uid, client: status_answer(svc, uid))
        self.mimetype = app.json.mimetype
        # Flask's JSON answer (app.json.response outside debug mode): compact, its encoder built once
        j = app.json
        self.encode = json.JSONEncoder(default=j.default, ensure_ascii=j.ensure_ascii, sort_keys=j.sort_keys,
                                       separators=(",", ":")).encode
        app.before_request(_raise_handed_over)  # after the request id and timer hooks (registered earlier)

    def __call__(self, environ, start_response):
        route, key = self._match(environ)
        if route is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        principal = None
        try:
            principal, _ = admit(self.auth, self.limits, environ.get("HTTP_AUTHORIZATION"), route.scopes)
            body = (self.encode(route.answer(self.svc, route.check(key), principal.sub)) + "\n").encode()
        except Exception as e:  # whatever it is, Flask's error handlers answer it; nothing runs twice
            environ[OUTCOME] = (principal, e)
            return self.wsgi_app(environ, start_response)
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("200 OK", [("Content-Type", self.mimetype), ("Content-Length", str(len(body))),
                                  ("X-Request-Id", rid), *route.headers])
        finished(rid, environ["REQUEST_METHOD"], route.rule, 200, time.perf_counter() - started, principal.sub)
        return [body]

    def _match(self, environ) -> tuple[Route | None, str | None]:
        """The route and its path parameter, for the requests answered here: a POST heartbeat
        without a body, a GET status without a query, on a path Flask would route to them."""
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        if method == "POST" and not environ.get("HTTP_TRANSFER_ENCODING") \
                and environ.get("CONTENT_LENGTH") in (None, "", "0"):
            route = self.heartbeat
        elif method == "GET" and not environ.get("QUERY_STRING"):
            route = self.status
        else:
            return None, None
        m = route.path.fullmatch(path) if path.isascii() else None  # Werkzeug decodes other paths as UTF-8
        return (route, m[1]) if m else (None, None)


def _raise_handed_over() -> None:
    """Flask's side of a hand-over: the lean front's outcome raised where the view would run, as
    the view would have raised it (with the caller known once the gate let it in)."""
    outcome = request.environ.get(OUTCOME)
    if outcome is not None:
        principal, error = outcome
        if principal is not None:
            g.principal = principal
        raise error
