"""The admin console at /admin: server-rendered pages (Jinja, no JavaScript, charts drawn as SVG
on the server) over the same service layer as the API, so every change is audited the same way.

Signing in: an admin pastes a token with the `admin` scope; it passes the API's gate
(security/gate.admit: verified, the scope, and counted against the admin scope's rate limit, as
every page after it is) and is kept in an HttpOnly, SameSite=Strict cookie scoped to /admin.
Forms carry a CSRF token derived from that cookie (HMAC keyed by the admin token), so a page on
another site can neither read nor forge it; the sign-in form carries a nonce from a cookie of its
own. Signing out revokes the token by its `jti` (the cookie held a bearer token, which must not
outlive the sign-in); a token without a `jti` cannot be revoked alone.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from governor.errors import Forbidden, Unauthorized
from governor.security import revocations
from governor.security.gate import admit
from governor.security.tokens import Principal

bp = Blueprint("console", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
               static_url_path="/static")
COOKIE = "governor_admin"
LOGIN_COOKIE = "governor_login"
MAX_TOKEN_CHARS = 8192


def _svc():
    return current_app.extensions["governor"]


def _csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"governor-console-csrf", hashlib.sha256).hexdigest()


def _admin(token: str | None) -> Principal | None:
    """The principal of an admin token, or None (a missing, invalid, expired, revoked or non-admin
    token). Counted against the admin scope's rate limit: past it, a 429."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        principal, _ = admit(current_app.extensions["governor.auth"], current_app.extensions["governor.limits"],
                             "Bearer " + token, ("admin",))
    except (Unauthorized, Forbidden):
        return None
    return principal


def signed_in(view):
    """Only for a signed-in admin; a POST must carry the form's CSRF token."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        token = request.cookies.get(COOKIE)
        principal = _admin(token)
        if principal is None:
            return redirect(url_for("console.login"))
        g.principal, g.csrf = principal, _csrf_for(token)
        if request.method == "POST" and not hmac.compare_digest(request.form.get("csrf", ""), g.csrf):
            raise Forbidden("the form is stale or came from another site: reload the page and try again")
        return view(*args, **kwargs)
    return checked


@bp.after_request
def _headers(response):
    """No scripts at all, nothing framed, nothing cached: the pages hold personal data."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.get("/login")
def login():
    nonce = secrets.token_urlsafe(24)
    response = current_app.make_response(render_template("console/login.html", nonce=nonce, error=None))
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", secure=request.is_secure,
                        path="/admin")
    return response


@bp.post("/login")
def login_submit():
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(request.form.get("nonce", ""), nonce):
        return _login_again("The sign-in form expired or came from another site; try again.", 403)
    token = request.form.get("token", "").strip()
    if _admin(token) is None:
        return _login_again("That token is not a valid admin token (scope 'admin', not expired).", 401)
    response = redirect(url_for("console.home"))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure, path="/admin")
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


def _login_again(error: str, status: int):
    nonce = secrets.token_urlsafe(24)
    response = current_app.make_response((render_template("console/login.html", nonce=nonce, error=error),
                                          status))
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", secure=request.is_secure,
                        path="/admin")
    return response


@bp.post("/logout")
@signed_in
def logout():
    principal = g.principal
    if principal.jti is not None:  # for as long as any token may live (security/revocations.latest_expiry)
        revocations.revoke(_svc(), principal.jti, None, principal.sub)
        current_app.extensions["governor.auth"].revocations.expire()  # refused here at once
    response = redirect(url_for("console.login"))
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="Strict")
    return response


from governor.console import views, webhooks  # noqa: E402,F401  (the pages register on bp; webhooks: section 9's)
