"""Recording: every state change appends its event inside the caller's transaction, under the
lock of the chain it goes to (the user's row, or the system chain's head row)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from governor.domain.audit_chain import SYSTEM_CHAIN, Entry, Event, seal
from governor.observability import AUDIT_APPENDS
from governor.store import audit_log, events
from governor.store.sql import Tx


def append_to_user_chain(tx: Tx, user: Any, at: datetime, entry: Entry) -> None:
    """Append to the user's chain on a hot-path transaction (store/sql.py); the caller holds the
    user's row lock and writes the new head back with the row (store/users.save)."""
    event = seal(user.pseudonym, user.audit_seq + 1, user.audit_head, at, entry)
    events.insert(tx, event)
    user.audit_seq, user.audit_head = event.seq, event.hash
    AUDIT_APPENDS.labels(entry.action).inc()


def append_user_event(s: Session, user: Any, at: datetime, entry: Entry) -> Event:
    """Append to the chain of `user` (anything with the user's `pk`). The caller holds the
    user's row lock (repo.lock_user). Every change of a user outside the session use cases comes
    through here (every state change is audited), and any of them may change what a decision
    depends on: so the user's facts version moves on with the chain's head."""
    chain, seq, head = audit_log.user_chain(s, user.pk)
    event = seal(chain, seq + 1, head, at, entry)
    audit_log.advance_user_chain(s, user.pk, event)
    AUDIT_APPENDS.labels(entry.action).inc()
    return event


def lock_system_chain(s: Session) -> None:
    """Hold the system chain's head until the transaction ends: system changes such as policy
    activations are serialised by it."""
    audit_log.lock_system_chain(s)


def append_system_event(s: Session, at: datetime, entry: Entry) -> Event:
    """Append to the system chain, holding its head row's lock until the transaction ends."""
    seq, head = audit_log.lock_system_chain(s)
    event = seal(SYSTEM_CHAIN, seq + 1, head, at, entry)
    audit_log.advance_system_chain(s, event)
    AUDIT_APPENDS.labels(entry.action).inc()
    return event
