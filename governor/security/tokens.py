"""Bearer tokens: verification of every claim, scopes, and minting for the CLI.

Two kinds of key (DESIGN section 4). A token with a `kid` header is checked with that key of the
JWKS file named by GOVERNOR_JWT_KEYS (RS256, ES256 or EdDSA public keys, as an identity provider
publishes them); a token without one with HS256 and GOVERNOR_JWT_SECRET. The algorithm always
comes from the key, never from the token, and no other header (`jku`, `x5u`, `jwk`, ...) is
read. Every refusal is the same 401 for the client; the reason goes to the log (once), never the
token. Lifetimes are checked on the operating system's clock, as PyJWT does.
"""
from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime

import jwt

from governor.clock import Clock, SystemClock
from governor.errors import Unauthorized
from governor.security.keys import KeySet
from governor.security.revocations import Revocations, os_clock

SCOPES = ("sessions", "age", "guardian", "admin", "audit")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "scope"]
MAX_TOKEN_CHARS = 8192  # far above any real token; a bigger one is refused before it is parsed
MAX_JTI_CHARS = 256
NOT_VALID = "the token is not valid"

log = logging.getLogger("governor.auth")


@dataclass(frozen=True)
class Principal:
    """Who calls. `guardian_id`, when the token names one, is the one guardian a `guardian`
    token acts for."""
    sub: str
    scopes: frozenset[str]
    jti: str | None = None
    guardian_id: str | None = None

    def acts_for_guardian(self, guardian_id: str) -> bool:
        """A token without a `guardian_id` claim acts for any guardian (the parent app's backend);
        one with it, for that guardian alone."""
        return self.guardian_id is None or self.guardian_id == guardian_id


class Refused(Exception):
    """Why a token is not valid: for the log only."""


class Authenticator:
    CACHE_SIZE = 4096

    def __init__(self, secret: str | None, issuer: str, audience: str, leeway: int, max_ttl: int = 30 * 24 * 3600,
                 *, keys: KeySet | None = None, revocations: Container[str] | None = None):
        self.secret, self.issuer, self.audience, self.leeway = secret, issuer, audience, leeway
        self.max_ttl = max_ttl
        self.keys = keys
        self.revocations = revocations
        # token -> (principal, exp, key set generation): a reloaded key file voids every entry
        self._verified: dict[str, tuple[Principal, float, int]] = {}

    def verify(self, header: str | None) -> Principal:
        """The token's principal, or Unauthorized. A frontend sends the same token with every
        heartbeat, so a verified token is remembered (by its exact text) until its `exp`, which
        is checked against the OS clock on every use, as PyJWT does; so are the key it was signed
        with (a removed key voids it) and its `jti` (a revoked one is refused)."""
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
        sub, scope, jti, gid = claims.get("sub"), claims.get("scope"), claims.get("jti"), claims.get("guardian_id")
        if not _short_text(sub, 128):
            raise Refused("sub must be non-empty printable text of at most 128 characters")
        if not isinstance(scope, str):
            raise Refused("scope must be text")
        if jti is not None and not _short_text(jti, MAX_JTI_CHARS):
            raise Refused(f"jti must be printable text of at most {MAX_JTI_CHARS} characters")
        if gid is not None and not _short_text(gid, 128):
            raise Refused("guardian_id must be non-empty printable text of at most 128 characters")
        for name in ("exp", "iat", "nbf"):  # PyJWT accepts numeric strings; arithmetic below would not
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
                raise Refused(f"{name} must be a number")
        if claims["exp"] - claims["iat"] > self.max_ttl:
            raise Refused(f"lives longer than {self.max_ttl} seconds")
        return Principal(sub, frozenset(scope.split()), jti, gid), float(claims["exp"])

    def mint(self, sub: str, scopes: list[str], ttl: int, now: datetime, *, key=None, kid: str | None = None,
             algorithm: str = "HS256", guardian_id: str | None = None) -> str:
        """A token with a random `jti` (so it can be revoked); HS256 with the secret unless a
        private `key` and its `kid` are given; a `guardian_id` claim when one is named."""
        iat = int(now.timestamp())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": sub, "scope": " ".join(scopes),
                  "iat": iat, "exp": iat + ttl, "jti": secrets.token_urlsafe(16)}
        if guardian_id is not None:
            claims["guardian_id"] = guardian_id
        if key is None:
            return jwt.encode(claims, self.secret, algorithm="HS256")
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def _short_text(value: object, most: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= most and value.isprintable()


def build(secret: str | None, settings, clock: Clock | None = None,
          revoked: Callable[[datetime], frozenset[str]] | None = None) -> Authenticator:
    """The app's authenticator from the settings. Its key file and revoked set are looked at on
    the operating system's clock (the development clock's base, when `clock` is that clock)."""
    clock = os_clock(clock or SystemClock())
    keys = KeySet(settings.jwt_keys, clock) if settings.jwt_keys else None
    revocations = Revocations(revoked, clock) if revoked is not None else None
    return Authenticator(secret, settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_seconds,
                         settings.jwt_max_ttl_seconds, keys=keys, revocations=revocations)
