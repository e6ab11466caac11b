"""Bearer tokens: verification of every claim, scopes per endpoint, and minting for the CLI.

HS256 with GOVERNOR_JWT_SECRET. The algorithm list comes from the key, never from the token,
so a token signed with `none` or another algorithm is refused.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import jwt
from flask import current_app, g, request

from governor.errors import Forbidden, Unauthorized

SCOPES = ("sessions", "age", "admin", "audit")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "scope"]


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str]


class Authenticator:
    def __init__(self, secret: str, issuer: str, audience: str, leeway: int):
        self.secret, self.issuer, self.audience, self.leeway = secret, issuer, audience, leeway
        self.algorithms = ["HS256"]

    def verify(self, header: str | None) -> Principal:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # the scheme is case-insensitive (RFC 9110)
            raise Unauthorized("send 'Authorization: Bearer <token>'")
        try:
            claims = jwt.decode(token.strip(), self.secret, algorithms=self.algorithms,
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": REQUIRED_CLAIMS})
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"invalid token: {e}") from None
        sub, scope = claims.get("sub"), claims.get("scope")
        if not isinstance(sub, str) or not sub or len(sub) > 128 or not sub.isprintable() \
                or not isinstance(scope, str):
            raise Unauthorized("invalid token: 'sub' and 'scope' must be non-empty text")
        return Principal(sub, frozenset(scope.split()))

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
