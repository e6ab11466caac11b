"""Retention: old audit events go by chain prefix, old usage rows by day (docs/audit.md).

Each chain's new retention marker (the last removed seq and hash) is recorded in an
`audit.pruned` event on the system chain, in the same transaction that moves it; verification
accepts no other marker, so a prefix deleted by hand and disguised as retention shows. When the
system chain's own prefix goes, the markers that only the removed `audit.pruned` events recorded
are restated in the new one, so a record outlives the events it vouches for.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from governor.domain.audit_chain import PRUNED, SYSTEM_CHAIN, Entry, Head, pruned_data, recorded_markers
from governor.service.audit.record import append_system_event
from governor.service.context import Services
from governor.store import audit_log
from governor.store import guardians as guardian_store

BATCH = 100  # chains pruned in one transaction, under their owners' locks and the system chain's


def prune(svc: Services, retention_days: int, usage_retention_days: int, client: str = "governor-retention") -> int:
    """Remove audit events older than `retention_days` by chain prefix and usage rows older than
    `usage_retention_days`; the number of events removed. Idempotent."""
    now = svc.clock.now()
    cutoff = now - timedelta(days=retention_days)
    usage_cut = (now - timedelta(days=usage_retention_days)).date()
    with svc.db.read() as s:
        chains = sorted(audit_log.chains_with_events_before(s, cutoff), key=lambda c: (c != SYSTEM_CHAIN, c))
    batches = [chains[i:i + BATCH] for i in range(0, len(chains), BATCH)] or [[]]
    removed = 0
    for n, batch in enumerate(batches):
        with svc.db.write() as s:
            removed += _prune(s, batch, cutoff, now, client, usage_cut if n == len(batches) - 1 else None)
    return removed


def _prune(s: Session, chains: list[str], cutoff: datetime, now: datetime, client: str,
           usage_cut: date | None) -> int:
    """One transaction: these chains' prefixes (and the usage rows, in the last one), and the
    `audit.pruned` event that records what it did and every marker it set."""
    audit_log.lock_chain_owners(s, [c for c in chains if c != SYSTEM_CHAIN])
    audit_log.lock_system_chain(s)  # after the users' rows: the order every writer takes them in
    markers: dict[str, Head] = {}
    removed = 0
    for chain in chains:
        if chain == SYSTEM_CHAIN:
            n, marker = _prune_system_chain(s, cutoff, markers)
        else:
            n, marker = audit_log.prune_chain(s, chain, cutoff)
        if marker is not None:
            removed, markers[chain] = removed + n, marker
    usage_removed = 0
    if usage_cut is not None:
        usage_removed = audit_log.delete_usage_before(s, usage_cut)
        guardian_store.delete_uncounted_before(s, usage_cut)  # part of those usage days
    if removed or usage_removed:
        append_system_event(s, now, Entry(client=client, action=PRUNED, data=pruned_data(
            cutoff, removed, len(chains), usage_removed, markers)))
    return removed


def _prune_system_chain(s: Session, cutoff: datetime, markers: dict[str, Head]) -> tuple[int, Head | None]:
    """Prune the system chain; into `markers`, the marker records that only its removed prefix held."""
    before = recorded_markers(audit_log.pruned_events(s))
    n, marker = audit_log.prune_chain(s, SYSTEM_CHAIN, cutoff)
    if marker is not None:
        markers.update({chain: (seq, h) for chain, (seq, h, at) in before.items() if at <= marker[0]})
    return n, marker
