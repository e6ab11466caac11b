"""The guardians part of a user's page: their guardian links, each guardian's controls of this
user and own parental consent, and the user's pending time requests, read through the same
services as the API's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from governor.service import guardians, time_requests


@dataclass(frozen=True)
class GuardianRow:
    guardian_id: str
    linked_at: Any
    controls: dict[str, Any]
    consent: str | None  # this guardian's own say (granted, revoked, denied); None: nothing yet
    consent_at: Any


@dataclass(frozen=True)
class GuardianSection:
    guardians: list[GuardianRow]
    pending: list[Any]  # time_requests.RequestView, newest first


def section(svc, user_id: str) -> GuardianSection:
    links = guardians.guardians_of(svc, user_id)
    rows = [GuardianRow(v.guardian_id, v.linked_at, guardians.get_controls(svc, v.guardian_id, user_id),
                        v.consent, v.consent_at) for v in links]
    pending: dict[str, Any] = {}
    for v in links:  # a request is seen by every guardian of the child: listed once
        for r in time_requests.of_guardian(svc, v.guardian_id, "pending"):
            if r.user_id == user_id:
                pending.setdefault(r.id, r)
    return GuardianSection(rows, sorted(pending.values(), key=lambda r: r.created_at, reverse=True))
