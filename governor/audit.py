"""The tamper-evident audit log (DESIGN section 5): canonical encoding, hash chains, appends.

Each event's hash is SHA-256 over the previous hash and a canonical JSON encoding of the event
(sorted keys, no spaces, UTC timestamps to the microsecond). One chain per user, named by the
user's random pseudonym, plus the `system` chain, so concurrent users never share a chain head.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.store.tables import AuditChain, AuditEvent, User

SYSTEM_CHAIN = "system"


@dataclass(frozen=True)
class Entry:
    """What happened, before it is chained."""

    client: str
    action: str
    reason: str | None = None
    policy_name: str | None = None
    policy_version: int | None = None
    data: dict[str, Any] | None = None


def timestamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(chain: str, seq: int, at: datetime, client: str, action: str, reason: str | None,
              policy_name: str | None, policy_version: int | None, data: str) -> bytes:
    body = {"chain": chain, "seq": seq, "at": timestamp(at), "client": client, "action": action,
            "reason": reason, "policy": {"name": policy_name, "version": policy_version},
            "data": json.loads(data)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + encoded).hexdigest()


def event_hash(e: AuditEvent) -> str:
    return chain_hash(e.prev_hash, canonical(e.chain, e.seq, e.at, e.client, e.action, e.reason,
                                             e.policy_name, e.policy_version, e.data))


def _append(s: Session, chain: str, seq: int, prev: str, at: datetime, entry: Entry) -> AuditEvent:
    data = json.dumps(entry.data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    event = AuditEvent(chain=chain, seq=seq, at=at, client=entry.client, action=entry.action,
                       reason=entry.reason, policy_name=entry.policy_name,
                       policy_version=entry.policy_version, data=data, prev_hash=prev)
    event.hash = event_hash(event)
    s.add(event)
    return event


def append_user_event(s: Session, user: User, at: datetime, entry: Entry) -> AuditEvent:
    """Append to the user's chain. The caller holds the user's row lock (repo.lock_user)."""
    event = _append(s, user.pseudonym, user.audit_seq + 1, user.audit_head, at, entry)
    user.audit_seq, user.audit_head = event.seq, event.hash
    return event


def lock_system_chain(s: Session) -> AuditChain:
    """The system chain's head row (the first migration creates it), locked until the
    transaction ends: system changes such as policy activations are serialised by it."""
    return s.execute(select(AuditChain).where(AuditChain.chain == SYSTEM_CHAIN).with_for_update()).scalar_one()


def append_system_event(s: Session, at: datetime, entry: Entry) -> AuditEvent:
    """Append to the system chain, holding its head row's lock until the transaction ends."""
    head = lock_system_chain(s)
    event = _append(s, SYSTEM_CHAIN, head.head_seq + 1, head.head_hash, at, entry)
    head.head_seq, head.head_hash = event.seq, event.hash
    return event
