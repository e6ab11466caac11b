"""Signed checkpoints of the audit chains, in the manner of Certificate Transparency's signed tree
heads: the hash chains show an edit only to someone who trusts the heads, and whoever can write
the database can rewrite the heads too. So every chain's head (seq and hash) is signed with an
Ed25519 key that the database never holds and appended to files outside it, which an operator
ships elsewhere. Later, `governor audit verify --checkpoints DIR` checks that each chain still
passes through every head it was once signed at: an edit with recomputed hashes and heads is
caught, because the edited chain no longer reaches the signed hash.

A file per UTC day, `YYYY-MM-DD.jsonl`, one checkpoint a line, only ever appended:
{"v": 1, "at": "...Z", "key": "<fingerprint>", "heads": {"<chain>": [seq, "<hash>"], ...},
 "signature": "<base64 Ed25519 over the canonical JSON of the other four fields>"}
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from governor.config import ConfigError
from governor.domain.audit_chain import recorded_markers, timestamp
from governor.service.audit.verify import snapshot
from governor.service.context import Services
from governor.store import audit_log
from governor.store import checkpoints as store

VERSION = 1


# -- keys -------------------------------------------------------------------------------------

def load_signing_key(path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"GOVERNOR_AUDIT_SIGNING_KEY: {path}: cannot read an unencrypted PEM key: {e}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"GOVERNOR_AUDIT_SIGNING_KEY: {path}: not an Ed25519 private key")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a private key's file gives its public half)."""
    try:
        data = Path(path).read_bytes()
        key = (serialization.load_pem_private_key(data, password=None).public_key() if b"PRIVATE" in data
               else serialization.load_pem_public_key(data))
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"{path}: cannot read a PEM key: {e}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(path: Path) -> Path:
    """A new signing key at `path` (owner-only; never overwritten) and its public key at `path`.pub."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = path.with_name(path.name + ".pub")
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return public


# -- writing ----------------------------------------------------------------------------------

def _statement(doc: dict) -> bytes:
    body = {k: doc[k] for k in ("v", "at", "key", "heads")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(heads: dict[str, tuple[int, str]], at: datetime, key: Ed25519PrivateKey) -> dict:
    doc = {"v": VERSION, "at": timestamp(at), "key": fingerprint(key.public_key()),
           "heads": {chain: [seq, h] for chain, (seq, h) in sorted(heads.items())}}
    doc["signature"] = base64.b64encode(key.sign(_statement(doc))).decode()
    return doc


def append(directory: Path, doc: dict) -> Path:
    """Append one checkpoint line to the day's file, in one write, flushed to disk."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{doc['at'][:10]}.jsonl"
    line = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def checkpoint(svc: Services, key_path: str, directory: str) -> tuple[Path, int]:
    """Sign every chain's head (one snapshot) with the key in `key_path` and append the
    checkpoint to a file in `directory`: the file and the number of chains."""
    key = load_signing_key(key_path)
    with snapshot(svc) as s:
        heads = audit_log.known_heads(s)
    return append(Path(directory), sign(heads, svc.clock.now(), key)), len(heads)


# -- verifying --------------------------------------------------------------------------------

@dataclass
class Claims:
    """What the checkpoint files say: per chain the highest signed (seq, hash, at), which implies
    every lower one (a hash chain that reaches it fixes everything before it)."""

    files: int = 0
    checkpoints: int = 0
    heads: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, doc: dict) -> None:
        for chain, (seq, h) in doc["heads"].items():
            seen = self.heads.get(chain)
            if seen is not None and seen[0] == seq and seen[1] != h:
                self.problems.append(f"chain {chain}: checkpoints of {seen[2]} and {doc['at']} disagree at seq {seq}")
            if seen is None or seq > seen[0]:
                self.heads[chain] = (seq, h, doc["at"])


def read(directory: Path, keys: list[Ed25519PublicKey]) -> Claims:
    """Every checkpoint in `directory`, each signature checked with `keys`. A line that is not a
    checkpoint, or is not signed by one of the keys, is a problem (never silently skipped)."""
    by_print = {fingerprint(k): k for k in keys}
    claims = Claims()
    files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
    for path in files:
        claims.files += 1
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                problem = _check_line(line, by_print)
                if isinstance(problem, str):
                    claims.problems.append(f"{path.name} line {n}: {problem}")
                else:
                    claims.checkpoints += 1
                    claims.add(problem)
    if claims.checkpoints == 0 and not claims.problems:
        claims.problems.append(f"no checkpoint found in {directory}")
    return claims


def _check_line(line: bytes, keys: dict[str, Ed25519PublicKey]) -> dict | str:
    try:
        doc = json.loads(line)
        heads = doc["heads"]
        ok_heads = isinstance(heads, dict) and all(
            isinstance(v, list) and len(v) == 2 and type(v[0]) is int and isinstance(v[1], str)
            for v in heads.values())
        if doc.get("v") != VERSION or not isinstance(doc.get("at"), str) or not ok_heads:
            return "not a checkpoint"
        key = keys.get(doc.get("key"))
        if key is None:
            return f"signed by an unknown key {str(doc.get('key'))[:20]!r}"
        key.verify(base64.b64decode(doc["signature"], validate=True), _statement(doc))
    except InvalidSignature:
        return "the signature does not match (the checkpoint was altered)"
    except (ValueError, KeyError, TypeError):
        return "not a checkpoint"
    return doc


def verify_checkpoints(svc: Services, directory: str, keys: list[Ed25519PublicKey]) -> tuple[Claims, list[str]]:
    """The checkpoints in `directory` and every way the database departs from them."""
    claims = read(Path(directory), keys)
    with snapshot(svc) as s:
        return claims, check(s, claims)


def check(s: Session, claims: Claims) -> list[str]:
    """Problems where the database no longer passes through a signed head: the event at that
    seq has another hash, or is gone (unless retention removed it: the chain's marker, as the
    system chain's `audit.pruned` events record it, is at or past it, with the same hash when
    exactly at it)."""
    problems = list(claims.problems)
    pruned = recorded_markers(audit_log.pruned_events(s))
    items = sorted(claims.heads.items())
    found = store.hashes_at(s, [(chain, seq) for chain, (seq, _, _) in items])
    for chain, (seq, h, at) in items:
        actual = found.get((chain, seq))
        if actual is None:
            p_seq, p_hash, _ = pruned.get(chain, (0, "", 0))
            if p_seq > seq or (p_seq == seq and p_hash == h):
                continue
            problems.append(f"chain {chain}: event {seq}, signed in the checkpoint of {at}, is missing")
        elif actual != h:
            problems.append(f"chain {chain}: event {seq} differs from the checkpoint of {at} "
                            "(history was rewritten)")
    return problems
