"""An admin's view of one user (verification, settings, lock, grants, sessions, in one answer),
the console's extras (recent sessions, audit trail, usage), and revoking a grant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from governor.domain.bands import local_day
from governor.domain.decision import Decision, Lock, Verification
from governor.errors import NotFound
from governor.service import sessions
from governor.service.audit import Entry, append_user_event, event_json
from governor.service.context import Services
from governor.store import repo, user_details
from governor.store.user_details import GrantView, SessionView

GRANT_DAYS = 14  # grants are listed from this many local days back on, future days included


@dataclass(frozen=True)
class UserOverview:
    user_id: str
    now: datetime
    zone: ZoneInfo  # the user's, or the policy's
    decision: Decision
    verification: Verification | None
    timezone: str | None
    daily_limit_minutes: int | None
    lock: Lock | None
    grants: list[GrantView]
    active_sessions: list[SessionView]


@dataclass(frozen=True)
class Revoked:
    user_id: str
    grant: GrantView
    decision: Decision


def overview(svc: Services, user_id: str) -> UserOverview:
    """Everything an admin acts on, for a user Governor has seen (404 otherwise)."""
    status = sessions.status(svc, user_id)
    with svc.db.read() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}: Governor has never seen this id")
        facts = user.facts
        zone = policy.zone(facts.timezone)
        today = local_day(policy, facts.timezone, now)
        grants = user_details.grants_from(s, user.pk, today - timedelta(days=GRANT_DAYS - 1))
        active = [c for c in user_details.recent_sessions(s, user.pk, 1000) if c.ended_at is None]
    return UserOverview(user_id, now, zone, status.decision, facts.verification, facts.timezone,
                        facts.daily_limit_minutes, facts.lock, grants, active)


def recent(svc: Services, user_id: str, sessions_limit: int = 20,
           events_limit: int = 50) -> tuple[list[SessionView], list[dict[str, Any]]]:
    """The user's latest sessions and audit events (newest first), for the console."""
    with svc.db.read() as s:
        user = repo.find_user(s, user_id)
        if user is None:
            return [], []
        return (user_details.recent_sessions(s, user.pk, sessions_limit),
                [event_json(e, user_id) for e in user_details.latest_events(s, user.pseudonym, events_limit)])


def search(svc: Services, prefix: str, limit: int = 20) -> list[str]:
    with svc.db.read() as s:
        return user_details.ids_starting_with(s, prefix, limit)


def revoke_grant(svc: Services, user_id: str, grant_id: int, client: str) -> Revoked:
    """Take back a grant (a mistaken one, or one a guardian withdrew); audited as grant.revoked.
    Time already used stays used: the decision after it may be a refusal."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        view = user_details.grant(s, user.pk, grant_id) if user is not None else None
        if view is None:
            raise NotFound(f"no grant {grant_id} for user {user_id!r}")
        user_details.delete_grant(s, view.id)
        append_user_event(s, user, now, Entry(
            client=client, action="grant.revoked", policy_name=policy.name, policy_version=policy.version,
            data={"grant_id": view.id, "date": view.date.isoformat(), "extra_minutes": view.extra_minutes}))
    return Revoked(user_id, view, sessions.status(svc, user_id).decision)
