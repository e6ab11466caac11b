"""Bearer tokens: verification of every claim, scopes per endpoint, and minting for the CLI.

HS256 with GOVERNOR_JWT_SECRET. The algorithm list comes from the key, never from the token,
so a token signed with `none` or another algorithm is refused.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime

import jwt
from flask import current_app, g, request

from governor.errors import Forbidden, Unauthorized

SCOPES = ("sessions", "age", "guardian", "admin", "audit")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "scope"]


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str]


class Authenticator:
    CACHE_SIZE = 4096

    def __init__(self, secret: str, issuer: str, audience: str, leeway: int, max_ttl: int = 30 * 24 * 3600):
        self.secret, self.issuer, self.audience, self.leeway = secret, issuer, audience, leeway
        self.max_ttl = max_ttl
        self.algorithms = ["HS256"]
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, exp)

    def verify(self, header: str | None) -> Principal:
        """The token's principal. A frontend sends the same token with every heartbeat, so a
        verified token is remembered (by its exact text) until its `exp`, which is checked
        against the OS clock on every use, as PyJWT does."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # the scheme is case-insensitive (RFC 9110)
            raise Unauthorized("send 'Authorization: Bearer <token>'")
        token = token.strip()
        known = self._verified.get(token)
        if known is not None and time.time() < known[1] + self.leeway:
            return known[0]
        principal, exp = self._decode(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, exp)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(token, self.secret, algorithms=self.algorithms,
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": REQUIRED_CLAIMS})
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"invalid token: {e}") from None
        sub, scope = claims.get("sub"), claims.get("scope")
        if not isinstance(sub, str) or not sub or len(sub) > 128 or not sub.isprintable() \
                or not isinstance(scope, str):
            raise Unauthorized("invalid token: 'sub' and 'scope' must be non-empty text")
        if claims["exp"] - claims["iat"] > self.max_ttl:
            raise Unauthorized(f"invalid token: it lives longer than {self.max_ttl} seconds")
        return Principal(sub, frozenset(scope.split())), float(claims["exp"])

    def mint(self, sub: str, scopes: list[str], ttl: int, now: datetime) -> str:
        iat = int(now.timestamp())
        return jwt.encode({"iss": self.issuer, "aud": self.audience, "sub": sub, "scope": " ".join(scopes),
                           "iat": iat, "exp": iat + ttl}, self.secret, algorithm="HS256")


def requires(*any_of: str):
    """Let the request through when its token carries one of these scopes; `g.principal` is set."""
    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            principal = current_app.extensions["governor.auth"].verify(request.headers.get("Authorization"))
            if not principal.scopes.intersection(any_of):
                raise Forbidden(f"this needs the scope {' or '.join(repr(s) for s in any_of)}")
            g.principal = principal
            return view(*args, **kwargs)
        return checked
    return wrap
