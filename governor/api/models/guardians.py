"""The guardian answers: links, controls, the parent app's views, grants and time requests.
Instants about a link are in UTC."""
from __future__ import annotations

from typing import Literal

from governor.api.models.age import AgeSummaryOut
from governor.api.models.base import Out, Window
from governor.api.models.decisions import DayOut, DecisionOut


class LinkOut(Out):
    """A link between a user (the child) and a guardian."""
    user_id: str
    guardian_id: str
    linked_at: str


class UnlinkedOut(LinkOut):
    """A removed link (the guardian's controls of this child go with it)."""
    unlinked: bool


class GuardianOut(Out):
    """One of a user's guardians."""
    guardian_id: str
    linked_at: str


class GuardiansOut(Out):
    """A user's guardians."""
    guardians: list[GuardianOut]


class GuardianErasedOut(Out):
    """An erased guardian: every link and control of theirs is gone."""
    guardian_id: str
    erased: bool
    links_removed: int


class ControlsOut(Out):
    """One guardian's controls of one child; each null when unset. They only tighten: with several
    guardians and the admin's settings, the strictest of each applies."""
    daily_limit_minutes: int | None
    """a daily limit at most the band's"""
    quiet_hours: list[Window] | None
    """windows in which the child may not chat (reason `quiet_hours`, `retry_at` their end)"""
    rest_reminder_minutes: int | None
    """extra rest reminders at this interval of continuous use (the band's stay)"""


class ChildOut(Out):
    """A linked child: the decision for a start now, this guardian's controls, and the child's age
    (band, span, basis and the parental consent in force, as a status shows it)."""
    user_id: str
    decision: DecisionOut
    controls: ControlsOut
    age: AgeSummaryOut
    """what the decision knows of the child's age; `parental_consent` is the latest said by any linked
    guardian or age signal (PUT .../consent changes this guardian's own)"""


class ChildrenOut(Out):
    """A guardian's linked children."""
    children: list[ChildOut]


class TimeRequestsCount(Out):
    """The week's time requests by status."""
    approved: int
    denied: int
    expired: int
    pending: int


class SummaryOut(Out):
    """A child's ISO week, Monday to Sunday (local days)."""
    user_id: str
    week: str
    """the ISO week, e.g. `2026-W49`"""
    band: str
    days: list[DayOut]
    total_seconds: int
    daily_average_seconds: int
    refusals: dict[str, int]
    """refused starts and heartbeats per reason"""
    time_requests: TimeRequestsCount


class GuardianGrantOut(Out):
    """A guardian's grant: extra minutes for the child's current local day."""
    date: str
    extra_minutes: int
    reason: str | None
    by: Literal["guardian"]


class GuardianGrantAdded(Out):
    """A guardian's grant and the child's decision with it."""
    grant: GuardianGrantOut
    decision: DecisionOut


class TimeRequestOut(Out):
    """A child's request for more time. A pending one expires at the end of the local day it was made
    on."""
    id: str
    user_id: str
    minutes: int
    """the minutes asked for"""
    note: str | None
    status: Literal["pending", "approved", "denied", "expired"]
    date: str
    """the local day the request is for"""
    created_at: str
    expires_at: str
    decided_at: str | None
    decided_minutes: int | None
    """the minutes granted by an approval (at most those asked)"""


class TimeRequestsOut(Out):
    """Time requests, newest first."""
    time_requests: list[TimeRequestOut]
