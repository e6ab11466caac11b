"""Public keys from a JWKS file (RFC 7517), as an identity provider publishes them, re-read when
the file changes, so that a key added is accepted and a key removed refused within seconds.

Each key needs a `kid` and an `alg` of RS256 (RSA of 2048 bits or more), ES256 (P-256) or EdDSA
(Ed25519); that `alg` is the only algorithm its tokens may use. Public keys only: a key with
private parts, or of another kind, makes the whole file invalid, so a mistake is seen at once.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from governor.clock import Clock
from governor.config import ConfigError

log = logging.getLogger("governor.auth")
CHECK_EVERY = timedelta(seconds=1)
ALGORITHMS = ("RS256", "ES256", "EdDSA")
PRIVATE_PARTS = ("d", "p", "q", "dp", "dq", "qi", "k")
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class Key:
    kid: str
    algorithm: str
    key: Any  # a cryptography public key


def parse_jwks(text: str) -> dict[str, Key]:
    """The keys of a JWKS document by `kid`; ValueError with the reason when it is not acceptable."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError('not a JWKS document: expected {"keys": [...]}')
    keys: dict[str, Key] = {}
    for n, jwk in enumerate(doc["keys"]):
        if not isinstance(jwk, dict):
            raise ValueError(f"keys[{n}]: not an object")
        kid, alg = jwk.get("kid"), jwk.get("alg")
        where = f"keys[{n}] (kid {kid!r})"
        if not isinstance(kid, str) or not kid or len(kid) > 128:
            raise ValueError(f"{where}: needs a 'kid' of 1..128 characters")
        if kid in keys:
            raise ValueError(f"{where}: the kid is used twice")
        if alg not in ALGORITHMS:
            raise ValueError(f"{where}: 'alg' must be one of {', '.join(ALGORITHMS)}")
        if any(part in jwk for part in PRIVATE_PARTS):
            raise ValueError(f"{where}: holds private key material; publish public keys only")
        if jwk.get("use", "sig") != "sig":
            raise ValueError(f"{where}: 'use' must be 'sig'")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as e:
            raise ValueError(f"{where}: not a valid {alg} public key: {e}") from None
        _check_strength(key, alg, where)
        keys[kid] = Key(kid, alg, key)
    return keys


def _check_strength(key: Any, alg: str, where: str) -> None:
    if alg == "RS256" and not (isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS):
        raise ValueError(f"{where}: RS256 needs an RSA public key of at least {MIN_RSA_BITS} bits")
    if alg == "ES256" and not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        raise ValueError(f"{where}: ES256 needs a P-256 public key")
    if alg == "EdDSA" and not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError(f"{where}: EdDSA needs an Ed25519 public key")


class KeySet:
    """The keys of the file at `path`. `current()` looks at the file at most once a second (one
    stat) and re-reads it when its size, time or inode changed; a file that cannot be read or is
    invalid leaves the previous keys in place (a half-written file is not an outage) and is
    logged. The file must be valid when the app starts."""

    def __init__(self, path: str, clock: Clock):
        self.path, self._clock = path, clock
        self._lock = threading.Lock()
        self.generation = 0
        self._checked_at: datetime | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, Key] = {}
        try:
            self._stamp = self._file_stamp()
            self._reload()
        except (OSError, ValueError) as e:
            raise ConfigError(f"GOVERNOR_JWT_KEYS: {path}: {e}") from None

    def get(self, kid: str) -> Key | None:
        return self._keys.get(kid)

    def current(self) -> int:
        """The generation of the keys, after a look at the file when the last is a second old."""
        now = self._clock.now()
        checked = self._checked_at
        if checked is not None and timedelta(0) <= now - checked < CHECK_EVERY:
            return self.generation
        with self._lock:
            if checked is self._checked_at:
                self._checked_at = now
                try:
                    stamp = self._file_stamp()
                    if stamp != self._stamp:
                        self._stamp = stamp  # a bad file is reported once, not every second
                        self._reload()
                        log.info("reloaded %d keys from %s", len(self._keys), self.path)
                except (OSError, ValueError) as e:
                    if self._stamp is not None or isinstance(e, ValueError):
                        log.error("GOVERNOR_JWT_KEYS: %s: %s; keeping the previous keys", self.path, e)
                    if isinstance(e, OSError):
                        self._stamp = None
        return self.generation

    def _file_stamp(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _reload(self) -> None:
        with open(self.path, encoding="utf-8") as f:
            self._keys = parse_jwks(f.read())
        self.generation += 1


# -- for development: a key pair, and the algorithm of a private key -----------------------------

def generate(alg: str) -> tuple[Any, dict]:
    """A new private key for `alg` and its public JWK (without `kid`)."""
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    if alg == "RS256":
        key, codec = rsa.generate_private_key(public_exponent=65537, key_size=3072), RSAAlgorithm
    elif alg == "ES256":
        key, codec = ec.generate_private_key(ec.SECP256R1()), ECAlgorithm
    else:
        key, codec = ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm
    jwk = codec.to_jwk(key.public_key(), as_dict=True)
    return key, {**jwk, "alg": alg, "use": "sig"}


def algorithm_of(private_key: Any) -> str:
    """The one algorithm a private key signs with here."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise ValueError("use an RSA, P-256 or Ed25519 private key")
