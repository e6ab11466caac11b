"""Audit events on the hot paths: appending one (the hashing is governor/audit.py's)."""
from __future__ import annotations

from datetime import datetime

from governor.store.sql import Tx

_INSERT = ("INSERT INTO audit_events (chain, seq, at, client, action, reason, policy_name, policy_version, data, "
           "prev_hash, hash) VALUES (:chain, :seq, :at, :client, :action, :reason, :policy_name, "
           ":policy_version, :data, :prev_hash, :hash)")


def insert(tx: Tx, chain: str, seq: int, at: datetime, client: str, action: str, reason: str | None,
           policy_name: str | None, policy_version: int | None, data: str, prev_hash: str, hash: str) -> None:
    tx.run(_INSERT, {"chain": chain, "seq": seq, "at": tx.instant(at), "client": client, "action": action,
                     "reason": reason, "policy_name": policy_name, "policy_version": policy_version, "data": data,
                     "prev_hash": prev_hash, "hash": hash})
