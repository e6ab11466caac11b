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

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from governor.observability import AUDIT_APPENDS
from governor.store import events
from governor.store.tables import GENESIS, AuditChain, AuditEvent, User

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


def _sealed(chain: str, seq: int, prev: str, at: datetime, entry: Entry) -> AuditEvent:
    """The next event of a chain, hashed (not yet stored)."""
    data = json.dumps(entry.data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    event = AuditEvent(chain=chain, seq=seq, at=at, client=entry.client, action=entry.action,
                       reason=entry.reason, policy_name=entry.policy_name,
                       policy_version=entry.policy_version, data=data, prev_hash=prev)
    event.hash = event_hash(event)
    AUDIT_APPENDS.labels(entry.action).inc()
    return event


def _append(s: Session, chain: str, seq: int, prev: str, at: datetime, entry: Entry) -> AuditEvent:
    event = _sealed(chain, seq, prev, at, entry)
    s.add(event)
    return event


def append_to_user_chain(tx, user, at: datetime, entry: Entry) -> None:
    """Append to the user's chain on a hot-path transaction (store/sql.py); the caller holds the
    user's row lock and writes the new head back with the row (store/users.save)."""
    event = _sealed(user.pseudonym, user.audit_seq + 1, user.audit_head, at, entry)
    events.insert(tx, event)
    user.audit_seq, user.audit_head = event.seq, event.hash


def append_user_event(s: Session, user: User, at: datetime, entry: Entry) -> AuditEvent:
    """Append to the user's chain. The caller holds the user's row lock (repo.lock_user).

    Every change of a user outside the session use cases comes through here (every state change
    is audited), and any of them may change what a decision depends on: so the user's facts
    version is bumped, and a running session's stored decision is not used again."""
    event = _append(s, user.pseudonym, user.audit_seq + 1, user.audit_head, at, entry)
    user.audit_seq, user.audit_head = event.seq, event.hash
    user.facts_version = (user.facts_version or 0) + 1
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


# -- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BadEvent:
    id: int | None  # None when the problem is an event that is missing at a chain's end
    chain: str
    seq: int
    problem: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    events_checked: int
    first_bad_event: BadEvent | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events_checked": self.events_checked}
        if self.first_bad_event is not None:
            out["first_bad_event"] = self.first_bad_event.__dict__
        return out


def known_heads(s: Session) -> dict[str, tuple[int, str]]:
    """Where each chain must reach: users' heads, the system head, and the heads that erasures
    recorded for the chains of erased users."""
    heads = {p: (seq, h) for p, seq, h in s.execute(select(User.pseudonym, User.audit_seq, User.audit_head))}
    for chain, seq, h in s.execute(select(AuditChain.chain, AuditChain.head_seq, AuditChain.head_hash)
                                   .where(AuditChain.chain == SYSTEM_CHAIN)):
        heads[chain] = (seq, h)
    for (data,) in s.execute(select(AuditEvent.data).where(AuditEvent.chain == SYSTEM_CHAIN,
                                                          AuditEvent.action == "user.erased")):
        d = json.loads(data)
        if isinstance(d.get("chain"), str) and isinstance(d.get("head_seq"), int):
            heads[d["chain"]] = (d["head_seq"], d.get("head_hash", ""))
    return {c: v for c, v in heads.items() if v[0] > 0}


def verify(s: Session, batch: int = 2000) -> Verification:
    """Walk every chain in order, in batches (constant memory), checking each event's hash, its
    link to the previous one, gapless sequence numbers from the retention checkpoint on, and that
    each chain reaches its recorded head. Any edit, insertion, deletion or reordering shows."""
    heads = known_heads(s)
    checkpoints = {c: (seq, h) for c, seq, h in s.execute(
        select(AuditChain.chain, AuditChain.pruned_seq, AuditChain.pruned_hash))}
    bad: list[BadEvent] = []
    checked = 0
    chain, expect_seq, expect_prev, broken = None, 0, GENESIS, False
    seen: set[str] = set()

    def close(name: str | None, last_seq: int, last_hash: str) -> None:
        head = heads.get(name)
        if name is None or broken or head is None:
            return
        if last_seq < head[0]:
            bad.append(BadEvent(None, name, last_seq + 1, "events are missing at the end of the chain"))
        elif last_seq == head[0] and last_hash != head[1]:
            bad.append(BadEvent(last_id, name, last_seq, "the last event does not match the chain's head (edited)"))

    last_key: tuple[str, int] | None = None
    last_hash, last_id = GENESIS, None
    while True:
        q = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq).limit(batch)
        if last_key is not None:
            q = q.where(tuple_(AuditEvent.chain, AuditEvent.seq) > tuple_(*last_key))
        rows = list(s.execute(q).scalars())
        if not rows:
            break
        for e in rows:
            checked += 1
            if e.chain != chain:
                close(chain, expect_seq - 1, last_hash)
                chain, broken = e.chain, False
                seen.add(chain)
                start_seq, start_hash = checkpoints.get(chain, (0, GENESIS))
                expect_seq, expect_prev = start_seq + 1, start_hash
            last_key = (e.chain, e.seq)
            if broken:
                continue
            problem = None
            if e.seq != expect_seq:
                problem = f"sequence broken: expected seq {expect_seq}, found {e.seq} (deleted, inserted or reordered)"
            elif e.prev_hash != expect_prev:
                problem = "does not link to the previous event (deleted, inserted or reordered)"
            elif event_hash(e) != e.hash:
                problem = "content does not match its hash (edited)"
            elif e.chain in heads and e.seq > heads[e.chain][0]:
                problem = "follows the chain's recorded head (inserted)"
            if problem:
                bad.append(BadEvent(e.id, e.chain, e.seq, problem))
                broken = True
                continue
            expect_seq, expect_prev, last_hash, last_id = e.seq + 1, e.hash, e.hash, e.id
        s.expunge_all()
    close(chain, expect_seq - 1, last_hash)
    for name, (seq, h) in heads.items():
        if name not in seen and checkpoints.get(name, (0, GENESIS)) != (seq, h):
            bad.append(BadEvent(None, name, 1, "every event of the chain is missing"))
    first = min(bad, key=lambda b: (b.id is None, b.id or 0)) if bad else None
    return Verification(ok=not bad, events_checked=checked, first_bad_event=first)


# -- retention --------------------------------------------------------------------------------

def prune_chain(s: Session, chain: str, cutoff: datetime) -> int:
    """Remove the chain's events before `cutoff`, as a prefix only, and keep the last removed
    hash as the chain's checkpoint so that verification still holds. The caller holds the
    chain's lock (the user's row, or the system head)."""
    first_kept = s.execute(select(func.min(AuditEvent.seq)).where(
        AuditEvent.chain == chain, AuditEvent.at >= cutoff)).scalar()
    q = select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == chain)
    if first_kept is not None:
        q = q.where(AuditEvent.seq < first_kept)
    last = s.execute(q.order_by(AuditEvent.seq.desc()).limit(1)).first()
    if last is None:
        return 0
    removed = s.execute(delete(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq <= last.seq)).rowcount
    checkpoint = s.execute(select(AuditChain).where(AuditChain.chain == chain).with_for_update()).scalar()
    if checkpoint is None:
        checkpoint = AuditChain(chain=chain, head_seq=0, head_hash=GENESIS)
        s.add(checkpoint)
    checkpoint.pruned_seq, checkpoint.pruned_hash = last.seq, last.hash
    return removed
