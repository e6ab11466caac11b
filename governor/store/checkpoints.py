"""The statements of signed checkpoints (governor/service/audit/checkpoints.py): the hashes of
the events at the seqs that checkpoints signed."""
from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from governor.store.tables import AuditEvent

BATCH = 500


def hashes_at(s: Session, points: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The hash of the event at each (chain, seq) that exists, looked up in batches."""
    found: dict[tuple[str, int], str] = {}
    for i in range(0, len(points), BATCH):
        found.update({(c, seq): h for c, seq, h in s.execute(
            select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash).where(
                tuple_(AuditEvent.chain, AuditEvent.seq).in_(points[i:i + BATCH])))})
    return found
