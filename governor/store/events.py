"""Audit events on the hot paths: storing one (governor/domain/audit_chain.py seals it)."""
from __future__ import annotations

from governor.domain.audit_chain import Event
from governor.store.sql import Tx

_INSERT = ("INSERT INTO audit_events (chain, seq, at, client, action, reason, policy_name, policy_version, data, "
           "prev_hash, hash) VALUES (:chain, :seq, :at, :client, :action, :reason, :policy_name, "
           ":policy_version, :data, :prev_hash, :hash)")


def insert(tx: Tx, e: Event) -> None:
    """Store a sealed event."""
    tx.run(_INSERT, {"chain": e.chain, "seq": e.seq, "at": tx.instant(e.at), "client": e.client, "action": e.action,
                     "reason": e.reason, "policy_name": e.policy_name, "policy_version": e.policy_version,
                     "data": e.data, "prev_hash": e.prev_hash, "hash": e.hash})
