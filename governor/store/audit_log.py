"""The audit log's statements: appending (outside the hot paths, which use store/events.py),
chain heads and retention markers, the verification walk, listings and exports, the daily
report's scan, retention. The hashing is governor/domain/audit_chain.py's; the use cases are
governor/service/audit's."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from governor.domain.audit_chain import ERASED, PRUNED, SYSTEM_CHAIN, Event, Head, erased_head
from governor.store.tables import AuditChain, AuditEvent, UsageDay, User

_COLUMNS = ("chain", "seq", "at", "client", "action", "reason", "policy_name", "policy_version", "data",
            "prev_hash", "hash")
_INSERT = insert(AuditEvent.__table__)
_EVENT = select(*(AuditEvent.__table__.c[name] for name in _COLUMNS), AuditEvent.id)


def _event(row) -> Event:
    return Event(*row)


# -- appending --------------------------------------------------------------------------------

def add(s: Session, event: Event) -> None:
    """Store a sealed event."""
    s.execute(_INSERT, {name: getattr(event, name) for name in _COLUMNS})


def user_chain(s: Session, pk: int) -> tuple[str, int, str]:
    """(pseudonym, head seq, head hash) of the user's chain, from their row, which the caller has
    locked (and usually loaded: then no statement)."""
    row = s.get(User, pk)
    return row.pseudonym, row.audit_seq, row.audit_head


def advance_user_chain(s: Session, pk: int, event: Event) -> None:
    """Store the user's next event and move their chain's head to it. Any change of a user may
    change what a decision depends on, so their facts version moves on too (a running session's
    stored decision is not used again)."""
    add(s, event)
    row = s.get(User, pk)
    row.audit_seq, row.audit_head = event.seq, event.hash
    row.facts_version = (row.facts_version or 0) + 1


def lock_system_chain(s: Session) -> Head:
    """The system chain's head (the first migration creates its row), locked until the
    transaction ends: system changes such as policy activations are serialised by it."""
    row = s.execute(select(AuditChain.head_seq, AuditChain.head_hash)
                    .where(AuditChain.chain == SYSTEM_CHAIN).with_for_update()).one()
    return row.head_seq, row.head_hash


def advance_system_chain(s: Session, event: Event) -> None:
    add(s, event)
    s.execute(update(AuditChain).where(AuditChain.chain == SYSTEM_CHAIN)
              .values(head_seq=event.seq, head_hash=event.hash))


# -- heads and markers ------------------------------------------------------------------------

def known_heads(s: Session) -> dict[str, Head]:
    """Where each chain must reach: users' heads, the system head, and the heads that erasures
    recorded for the chains of erased users."""
    heads = {p: (seq, h) for p, seq, h in s.execute(select(User.pseudonym, User.audit_seq, User.audit_head))}
    for chain, seq, h in s.execute(select(AuditChain.chain, AuditChain.head_seq, AuditChain.head_hash)
                                   .where(AuditChain.chain == SYSTEM_CHAIN)):
        heads[chain] = (seq, h)
    for (data,) in s.execute(select(AuditEvent.data).where(AuditEvent.chain == SYSTEM_CHAIN,
                                                          AuditEvent.action == ERASED)):
        erased = erased_head(data)
        if erased is not None:
            heads[erased[0]] = erased[1]
    return {c: v for c, v in heads.items() if v[0] > 0}


def markers(s: Session) -> dict[str, Head]:
    """Every chain's retention marker (the last removed seq and hash; (0, GENESIS) when none)."""
    return {c: (seq, h) for c, seq, h in s.execute(
        select(AuditChain.chain, AuditChain.pruned_seq, AuditChain.pruned_hash))}


def pruned_events(s: Session, through_seq: int | None = None) -> list[tuple[int, str]]:
    """(seq, data) of the system chain's `audit.pruned` events, in order (up to `through_seq`)."""
    q = select(AuditEvent.seq, AuditEvent.data).where(AuditEvent.chain == SYSTEM_CHAIN, AuditEvent.action == PRUNED)
    if through_seq is not None:
        q = q.where(AuditEvent.seq <= through_seq)
    return [(seq, data) for seq, data in s.execute(q.order_by(AuditEvent.seq))]


def walk(s: Session, batch: int) -> Iterator[Event]:
    """Every event, ordered by (chain, seq), read in batches (constant memory)."""
    last: tuple[str, int] | None = None
    while True:
        q = _EVENT.order_by(AuditEvent.chain, AuditEvent.seq).limit(batch)
        if last is not None:
            q = q.where(tuple_(AuditEvent.chain, AuditEvent.seq) > tuple_(*last))
        rows = s.execute(q).all()
        yield from (_event(row) for row in rows)
        if len(rows) < batch:
            return
        last = (rows[-1].chain, rows[-1].seq)


# -- listings and reports ---------------------------------------------------------------------

def events(s: Session, after_id: int, limit: int, user_id: str | None = None, action: str | None = None,
           since: datetime | None = None, until: datetime | None = None) -> list:
    """Events after `after_id`, oldest first, each row with the `user_id` of its chain (None once
    erased); none when `user_id` names no user."""
    q = (select(*AuditEvent.__table__.c, User.user_id).outerjoin(User, User.pseudonym == AuditEvent.chain)
         .where(AuditEvent.id > after_id).order_by(AuditEvent.id))
    if user_id is not None:
        pseudonym = s.execute(select(User.pseudonym).where(User.user_id == user_id)).scalar()
        if pseudonym is None:
            return []
        q = q.where(AuditEvent.chain == pseudonym)
    if action:
        q = q.where(AuditEvent.action == action)
    if since:
        q = q.where(AuditEvent.at >= since)
    if until:
        q = q.where(AuditEvent.at < until)
    return s.execute(q.limit(limit)).all()


def events_between(s: Session, start: datetime, end: datetime, actions: Iterable[str], after_id: int,
                   limit: int) -> list:
    """(id, chain, action, reason, data) of the events of these actions in [start, end)."""
    return s.execute(select(AuditEvent.id, AuditEvent.chain, AuditEvent.action, AuditEvent.reason, AuditEvent.data)
                     .where(AuditEvent.at >= start, AuditEvent.at < end, AuditEvent.id > after_id,
                            AuditEvent.action.in_(list(actions)))
                     .order_by(AuditEvent.id).limit(limit)).all()


def count_chain(s: Session, chain: str) -> int:
    return s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain == chain)).scalar()


# -- retention --------------------------------------------------------------------------------

def chains_with_events_before(s: Session, cutoff: datetime) -> list[str]:
    return list(s.execute(select(AuditEvent.chain).where(AuditEvent.at < cutoff).distinct()).scalars())


def lock_chain_owners(s: Session, chains: list[str]) -> None:
    """Lock the rows of the users whose chains these are (those who still exist), in one order."""
    if chains:
        s.execute(select(User.pk).where(User.pseudonym.in_(chains)).order_by(User.pk).with_for_update()).all()


def prune_chain(s: Session, chain: str, cutoff: datetime) -> tuple[int, Head | None]:
    """Remove the chain's events before `cutoff`, as a prefix only, and keep the last removed seq
    and hash as the chain's marker: (events removed, the new marker or None). The caller holds
    the chain's lock (the user's row, or the system head)."""
    first_kept = s.execute(select(func.min(AuditEvent.seq)).where(
        AuditEvent.chain == chain, AuditEvent.at >= cutoff)).scalar()
    q = select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == chain)
    if first_kept is not None:
        q = q.where(AuditEvent.seq < first_kept)
    last = s.execute(q.order_by(AuditEvent.seq.desc()).limit(1)).first()
    if last is None:
        return 0, None
    removed = s.execute(delete(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq <= last.seq)).rowcount
    if s.execute(update(AuditChain).where(AuditChain.chain == chain)
                 .values(pruned_seq=last.seq, pruned_hash=last.hash)).rowcount == 0:
        s.execute(insert(AuditChain).values(chain=chain, pruned_seq=last.seq, pruned_hash=last.hash))
    return removed, (last.seq, last.hash)


def delete_usage_before(s: Session, day: date) -> int:
    return s.execute(delete(UsageDay).where(UsageDay.day < day)).rowcount
