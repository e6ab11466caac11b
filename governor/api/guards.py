"""The gate as Flask sees it, and protective headers: cheap enough for the heartbeat path (the
lean front, api/hot.py, uses the same two steps without Flask).

`@requires("scope", ...)` lets a request through governor/security/gate.admit (token, scope,
rate limit) and sets `g.principal`. A `guardian` token that names a `guardian_id` acts for that
guardian alone: a path naming another (`<gid>`) is answered 404, as for a guardian it cannot see.
"""
from __future__ import annotations

import functools

from flask import Flask, Response, current_app, g, request

from governor.errors import NotFound
from governor.security.gate import admit

GUARDIAN_PARAM = "gid"  # the path parameter that names a guardian, in every guardian route


def requires(*any_of: str):
    """Let the request through when its token carries one of these scopes; `g.principal` is set."""
    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            ext = current_app.extensions
            principal, scope = admit(ext["governor.auth"], ext["governor.limits"],
                                     request.headers.get("Authorization"), any_of)
            g.principal = principal
            gid = kwargs.get(GUARDIAN_PARAM)
            if scope == "guardian" and gid is not None and not principal.acts_for_guardian(gid):
                raise NotFound(f"no guardian {gid[:40]!r}")
            return view(*args, **kwargs)
        checked.scopes = any_of  # read by the lean front (api/hot.py)
        return checked
    return wrap


def protective_headers(path: str) -> list[tuple[str, str]]:
    """Headers every answer carries: never sniffed, and an answer about people never cached."""
    headers = [("X-Content-Type-Options", "nosniff")]
    if path.startswith("/v1/"):
        headers.append(("Cache-Control", "no-store"))
    return headers


def register(app: Flask) -> None:
    @app.after_request
    def _protective_headers(response: Response) -> Response:
        for name, value in protective_headers(request.path):
            response.headers[name] = value
        return response
