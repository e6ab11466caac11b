"""Verifying every chain in one snapshot (docs/audit.md, Verification)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from governor.domain.audit_chain import Verification, Walk, recorded_markers
from governor.service.context import Services
from governor.store import audit_log

BATCH = 2000


@contextmanager
def snapshot(svc: Services) -> Iterator[Session]:
    """A read transaction that sees one state of the database throughout, so that events appended
    meanwhile are not taken for forgeries."""
    with svc.db.read() as s:
        if not svc.db.sqlite:  # SQLite's read transaction is a snapshot already
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield s


def verify_in(s: Session, batch: int = BATCH) -> Verification:
    """Walk every chain in order, in batches (constant memory in the events), against the known
    heads, the retention markers and the markers the system chain's `audit.pruned` events record."""
    walk = Walk(audit_log.known_heads(s), audit_log.markers(s), recorded_markers(audit_log.pruned_events(s)))
    for event in audit_log.walk(s, batch):
        walk.feed(event)
    return walk.finish()


def verify(svc: Services) -> Verification:
    with snapshot(svc) as s:
        return verify_in(s)
