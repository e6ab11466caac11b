"""Bearer tokens: verification of every claim, scopes per endpoint, revocation, and minting for the CLI.

Two kinds of key (DESIGN section 4). A token with a `kid` header is checked with that key of the
JWKS file named by GOVERNOR_JWT_KEYS (RS256, ES256 or EdDSA public keys, as an identity provider
publishes them); a token without one with HS256 and GOVERNOR_JWT_SECRET. The algorithm always
comes from the key, never from the token, and no other header (`jku`, `x5u`, `jwk`, ...) is
read. Every refusal is the same 401 for the client; the reason goes to the log, never the token.
"""
from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from flask import current_app, g, request

from governor.clock import Clock, SystemClock
from governor.errors import Forbidden, Unauthorized
from governor.jwks import KeySet

SCOPES = ("sessions", "age", "guardian", "admin", "audit")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "scope"]
MAX_TOKEN_CHARS = 8192  # far above any real token; a bigger one is refused before it is parsed
MAX_JTI_CHARS = 256
NOT_VALID = "the token is not valid"
REVOCATIONS_FRESH = timedelta(seconds=2)

log = logging.getLogger("governor.auth")


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str]
    jti: str | None = None


class Refused(Exception):
    """Why a token is not valid: for the log only."""


class Revocations:
    """The revoked token ids, read from the database at most every REVOCATIONS_FRESH, so every
    instance honours a revocation within seconds at the cost of one query per process per
    interval (never one per request). `load(now)` returns the ids revoked at `now`."""

    def __init__(self, load: Callable[[datetime], frozenset[str]], clock: Clock):
        self._load, self._clock = load, clock
        self._ids: frozenset[str] = frozenset()
        self._read_at: datetime | None = None
        self._lock = threading.Lock()

    def __contains__(self, jti: str) -> bool:
        now = self._clock.now()
        read_at = self._read_at
        # A clock stepped backwards makes the set stale too, so a negative age also re-reads.
        if read_at is None or not timedelta(0) <= now - read_at < REVOCATIONS_FRESH:
            with self._lock:  # one thread reads; the others wait for its answer
                if read_at is self._read_at:
                    self._ids, self._read_at = self._load(now), now
        return jti in self._ids

    def expire(self) -> None:
        """Read again at the next check (this instance has just revoked one)."""
        self._read_at = None


class Authenticator:
    CACHE_SIZE = 4096

    def __init__(self, secret: str | None, issuer: str, audience: str, leeway: int, max_ttl: int = 30 * 24 * 3600,
                 *, keys: KeySet | None = None, revocations: Revocations | None = None):
        self.secret, self.issuer, self.audience, self.leeway = secret, issuer, audience, leeway
        self.max_ttl = max_ttl
        self.keys = keys
        self.revocations = revocations
        # token -> (principal, exp, key set generation): a reloaded key file voids every entry
        self._verified: dict[str, tuple[Principal, float, int]] = {}

    def verify(self, header: str | None) -> Principal:
        """The token's principal. A frontend sends the same token with every heartbeat, so a
        verified token is remembered (by its exact text) until its `exp`, which is checked
        against the OS clock on every use, as PyJWT does; so are the key it was signed with
        (a removed key voids it) and its `jti` (a revoked one is refused)."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # the scheme is case-insensitive (RFC 9110)
            raise Unauthorized("send 'Authorization: Bearer <token>'")
        token = token.strip()
        generation = self.keys.current() if self.keys is not None else 0
        known = self._verified.get(token)
        if known is not None and known[2] == generation and time.time() < known[1] + self.leeway:
            principal = known[0]
        else:
            try:
                principal, exp = self._decode(token)
            except Refused as e:
                log.info("token refused: %s", e)
                raise Unauthorized(NOT_VALID) from None
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = (principal, exp, generation)
        if principal.jti is not None and self.revocations is not None and principal.jti in self.revocations:
            log.info("token refused: jti %r is revoked (sub %r)", principal.jti, principal.sub)
            raise Unauthorized(NOT_VALID)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        if len(token) > MAX_TOKEN_CHARS:
            raise Refused(f"longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
            key, algorithm = self._key_for(header.get("kid"))
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={"require": REQUIRED_CLAIMS})
        except jwt.InvalidTokenError as e:
            raise Refused(f"{type(e).__name__}: {e}") from None
        return self._principal(claims)

    def _key_for(self, kid: object):
        """The key and its one algorithm: by `kid` from the key set, else the HS256 secret."""
        if kid is None:
            if self.secret is None:
                raise Refused("no kid, and HS256 is not configured")
            return self.secret, "HS256"
        if not isinstance(kid, str):
            raise Refused("kid is not text")
        found = self.keys.get(kid) if self.keys is not None else None
        if found is None:
            raise Refused(f"unknown kid {kid[:64]!r}")
        return found.key, found.algorithm

    def _principal(self, claims: dict) -> tuple[Principal, float]:
        sub, scope, jti = claims.get("sub"), claims.get("scope"), claims.get("jti")
        if not isinstance(sub, str) or not sub or len(sub) > 128 or not sub.isprintable():
            raise Refused("sub must be non-empty printable text of at most 128 characters")
        if not isinstance(scope, str):
            raise Refused("scope must be text")
        if jti is not None and not (isinstance(jti, str) and 0 < len(jti) <= MAX_JTI_CHARS and jti.isprintable()):
            raise Refused(f"jti must be printable text of at most {MAX_JTI_CHARS} characters")
        for name in ("exp", "iat", "nbf"):  # PyJWT accepts numeric strings; arithmetic below would not
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
                raise Refused(f"{name} must be a number")
        if claims["exp"] - claims["iat"] > self.max_ttl:
            raise Refused(f"lives longer than {self.max_ttl} seconds")
        return Principal(sub, frozenset(scope.split()), jti), float(claims["exp"])

    def mint(self, sub: str, scopes: list[str], ttl: int, now: datetime, *, key=None, kid: str | None = None,
             algorithm: str = "HS256") -> str:
        """A token with a random `jti` (so it can be revoked); HS256 with the secret unless a
        private `key` and its `kid` are given."""
        iat = int(now.timestamp())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": sub, "scope": " ".join(scopes),
                  "iat": iat, "exp": iat + ttl, "jti": secrets.token_urlsafe(16)}
        if key is None:
            return jwt.encode(claims, self.secret, algorithm="HS256")
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def build(secret: str | None, settings, clock: Clock | None = None,
          revoked: Callable[[datetime], frozenset[str]] | None = None) -> Authenticator:
    """The app's authenticator from the settings."""
    keys = KeySet(settings.jwt_keys, clock or SystemClock()) if settings.jwt_keys else None
    revocations = Revocations(revoked, clock or SystemClock()) if revoked is not None else None
    return Authenticator(secret, settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_seconds,
                         settings.jwt_max_ttl_seconds, keys=keys, revocations=revocations)


def requires(*any_of: str):
    """Let the request through when its token carries one of these scopes; `g.principal` is set."""
    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            principal = current_app.extensions["governor.auth"].verify(request.headers.get("Authorization"))
            scope = next((s for s in any_of if s in principal.scopes), None)
            if scope is None:
                raise Forbidden(f"this needs the scope {' or '.join(repr(s) for s in any_of)}")
            current_app.extensions["governor.limits"].hit(scope, principal.sub)
            g.principal = principal
            return view(*args, **kwargs)
        return checked
    return wrap
