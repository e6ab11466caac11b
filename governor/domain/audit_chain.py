"""The audit log's hash chains (DESIGN section 5, docs/audit.md), pure: the canonical encoding,
the chaining, and the verification walk over events that the caller reads and feeds in order.

Each event's hash is SHA-256 over the previous hash and a canonical JSON encoding of the event
(sorted keys, no spaces, UTF-8, UTC timestamps to the microsecond). One chain per user, named by
the user's random pseudonym, plus the `system` chain, so concurrent users never share a chain head.
Retention removes a chain's oldest events as a prefix and leaves a marker (the last removed seq and
hash) where the chain now starts; the `audit.pruned` event that retention appends to the system
chain in the same transaction records each marker it set, so a marker nobody recorded is a prefix
deleted by someone else.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"
PRUNED = "audit.pruned"
ERASED = "user.erased"

Head = tuple[int, str]  # (seq, hash): a chain's head, or its retention marker (seq 0: none)
NO_MARKER: Head = (0, GENESIS)


@dataclass(frozen=True)
class Entry:
    """What happened, before it is chained."""

    client: str
    action: str
    reason: str | None = None
    policy_name: str | None = None
    policy_version: int | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Event:
    """An event of a chain, hashed (`id` is the database's, None before it is stored)."""

    chain: str
    seq: int
    at: datetime
    client: str
    action: str
    reason: str | None
    policy_name: str | None
    policy_version: int | None
    data: str  # canonical JSON of the entry's data
    prev_hash: str
    hash: str
    id: int | None = None


def timestamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_data(data: Mapping[str, Any] | None) -> str:
    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(chain: str, seq: int, at: datetime, client: str, action: str, reason: str | None,
              policy_name: str | None, policy_version: int | None, data: str) -> bytes:
    body = {"chain": chain, "seq": seq, "at": timestamp(at), "client": client, "action": action,
            "reason": reason, "policy": {"name": policy_name, "version": policy_version},
            "data": json.loads(data)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + encoded).hexdigest()


def event_hash(e: Any) -> str:
    """The hash an event (an Event, or anything with its fields) must have."""
    return chain_hash(e.prev_hash, canonical(e.chain, e.seq, e.at, e.client, e.action, e.reason,
                                             e.policy_name, e.policy_version, e.data))


def seal(chain: str, seq: int, prev_hash: str, at: datetime, entry: Entry) -> Event:
    """The next event of a chain whose head is (seq - 1, prev_hash), hashed."""
    data = encode_data(entry.data)
    h = chain_hash(prev_hash, canonical(chain, seq, at, entry.client, entry.action, entry.reason,
                                        entry.policy_name, entry.policy_version, data))
    return Event(chain, seq, at, entry.client, entry.action, entry.reason, entry.policy_name,
                 entry.policy_version, data, prev_hash, h)


# -- what the system chain records ------------------------------------------------------------

def erased_head(data: str) -> tuple[str, Head] | None:
    """The erased chain and its head, from a `user.erased` event's data."""
    d = json.loads(data)
    if isinstance(d.get("chain"), str) and isinstance(d.get("head_seq"), int):
        return d["chain"], (d["head_seq"], d.get("head_hash", ""))
    return None


def pruned_data(cutoff: datetime, removed: int, chains: int, usage_days_removed: int,
                markers: Mapping[str, Head]) -> dict[str, Any]:
    """An `audit.pruned` event's data: what retention removed, and the marker of every chain it
    names (`markers`: the chain's retention marker as of this event)."""
    return {"cutoff": timestamp(cutoff), "events_removed": removed, "chains": chains,
            "usage_days_removed": usage_days_removed,
            "markers": {chain: [seq, h] for chain, (seq, h) in sorted(markers.items())}}


def recorded_markers(pruned_events: Iterable[tuple[int, str]]) -> dict[str, tuple[int, str, int]]:
    """Each chain's marker as the `audit.pruned` events record it, from (seq, data) of those
    events in seq order: chain -> (marker seq, marker hash, seq of the recording event). A later
    record replaces an earlier one; events written before markers were recorded name none."""
    out: dict[str, tuple[int, str, int]] = {}
    for event_seq, data in pruned_events:
        markers = json.loads(data).get("markers")
        if not isinstance(markers, dict):
            continue
        for chain, value in markers.items():
            if isinstance(value, list) and len(value) == 2 and type(value[0]) is int and isinstance(value[1], str):
                out[chain] = (value[0], value[1], event_seq)
            else:  # a malformed record vouches for nothing: the chain's marker will not match
                out[chain] = (-1, "", event_seq)
    return out


# -- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BadEvent:
    id: int | None  # None when the problem is an event that is missing (no row to name)
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


UNRECORDED = "follows a pruned prefix that no audit.pruned event records (deleted outside retention)"


class Walk:
    """Verification of every chain, fed its events ordered by (chain, seq): each event's hash,
    its link to the previous one, gapless seqs from the chain's retention marker on, each chain
    reaching its recorded head, and each marker being the one the system chain's `audit.pruned`
    events record. Any edit, insertion, deletion or reordering, and any prefix deleted outside
    retention, shows. Memory: the heads and markers, not the events."""

    def __init__(self, heads: Mapping[str, Head], markers: Mapping[str, Head],
                 recorded: Mapping[str, tuple[int, str, int]]):
        self.heads = heads
        self.markers = markers
        self.recorded = {chain: (seq, h) for chain, (seq, h, _) in recorded.items()}
        self.bad: list[BadEvent] = []
        self.checked = 0
        self.seen: set[str] = set()
        self.chain: str | None = None
        self.broken = False
        self.expect: Head = NO_MARKER  # (seq, prev_hash) the next event must have
        self.last: tuple[int | None, int, str] = (None, 0, GENESIS)  # (id, seq, hash) of the last good event

    def marker_ok(self, chain: str) -> bool:
        return self.markers.get(chain, NO_MARKER) == self.recorded.get(chain, NO_MARKER)

    def feed(self, e: Any) -> None:
        self.checked += 1
        if e.chain != self.chain:
            self._close()
            self.chain, self.broken = e.chain, False
            self.seen.add(e.chain)
            start = self.markers.get(e.chain, NO_MARKER)
            self.expect, self.last = (start[0] + 1, start[1]), (None, start[0], start[1])
            if not self.marker_ok(e.chain):
                self._bad(e.id, e.chain, e.seq, UNRECORDED)
        if self.broken:
            return
        head = self.heads.get(e.chain)
        problem = None
        if e.seq != self.expect[0]:
            problem = f"sequence broken: expected seq {self.expect[0]}, found {e.seq} (deleted, inserted or reordered)"
        elif e.prev_hash != self.expect[1]:
            problem = "does not link to the previous event (deleted, inserted or reordered)"
        elif event_hash(e) != e.hash:
            problem = "content does not match its hash (edited)"
        elif head is not None and e.seq > head[0]:
            problem = "follows the chain's recorded head (inserted)"
        if problem:
            self._bad(e.id, e.chain, e.seq, problem)
            return
        self.expect, self.last = (e.seq + 1, e.hash), (e.id, e.seq, e.hash)

    def _bad(self, id: int | None, chain: str, seq: int, problem: str) -> None:
        self.bad.append(BadEvent(id, chain, seq, problem))
        self.broken = True

    def _close(self) -> None:
        """The chain being walked ends: it must reach its recorded head."""
        head = self.heads.get(self.chain) if self.chain is not None else None
        if head is None or self.broken:
            return
        last_id, last_seq, last_hash = self.last
        if last_seq < head[0]:
            self.bad.append(BadEvent(None, self.chain, last_seq + 1, "events are missing at the end of the chain"))
        elif last_seq == head[0] and last_hash != head[1]:
            self.bad.append(BadEvent(last_id, self.chain, last_seq,
                                     "the last event does not match the chain's head (edited)"))

    def finish(self) -> Verification:
        self._close()
        for name, head in self.heads.items():
            if name not in self.seen and self.markers.get(name, NO_MARKER) != head:
                self.bad.append(BadEvent(None, name, 1, "every event of the chain is missing"))
        for name in sorted((set(self.markers) | set(self.recorded)) - self.seen):
            if not self.marker_ok(name):
                marker = self.markers.get(name, NO_MARKER)
                self.bad.append(BadEvent(None, name, marker[0], "its retention marker is not the one an "
                                         "audit.pruned event records (events deleted outside retention)"))
        first = min(self.bad, key=lambda b: (b.id is None, b.id or 0)) if self.bad else None
        return Verification(ok=not self.bad, events_checked=self.checked, first_bad_event=first)
