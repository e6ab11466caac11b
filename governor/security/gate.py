"""The one check in front of every endpoint, shared by Flask's @requires (api/guards.py), the lean
front (api/hot.py) and the console: so a request is verified, refused, logged and counted the
same way, and once, whichever of them answers it."""
from __future__ import annotations

from governor.errors import Forbidden
from governor.security.limits import RateLimiter
from governor.security.tokens import Authenticator, Principal


def admit(auth: Authenticator, limits: RateLimiter, header: str | None, any_of: tuple[str, ...]
          ) -> tuple[Principal, str]:
    """The caller's principal and the first of `any_of` its token carries: the token verified
    (401, its refusal logged once), a scope carried (403), one request counted against that
    scope's limit for this client (429)."""
    principal = auth.verify(header)
    for scope in any_of:
        if scope in principal.scopes:
            limits.hit(scope, principal.sub)
            return principal, scope
    raise Forbidden(f"this needs the scope {' or '.join(repr(s) for s in any_of)}")
