"""Section 8's answers: a user's age (band, today's combined span, the sources that decided, the
parental consent) and the signals it was derived from, each with its provenance."""
from __future__ import annotations

from typing import Literal

from governor.api.models.base import Band, Out

Consent = Literal["granted", "pending", "denied", "revoked"]


class AgeSummaryOut(Out):
    """The user's age as the decision uses it today (a status shows this, without the signals)."""
    band: Band
    age_min: int | None
    """the least the user's age can be today, after combining the signals that decided; null without any"""
    age_max: int | None
    """the most it can be today; null: no upper bound, or no signal"""
    basis: list[str]
    """the sources whose signals decided (empty: `unverified` for want of a signal that counts)"""
    parental_consent: Consent | None
    """the latest a signal or a linked guardian said; null: nobody has said anything"""


class AgeSignalOut(Out):
    """One source's signal as stored, with its provenance (never a birth date)."""
    source: str
    age_min: int
    """as given (for the source `verification`: the age on the day it was verified)"""
    age_max: int | None
    method: Literal["self_declared", "guardian_declared", "payment_checked", "id_checked", "estimated", "other"]
    assurance: Literal["low", "substantial", "high"]
    observed_at: str
    """when the range held, in UTC"""
    expires_at: str | None
    lapses_at: str | None
    """when it stops counting: `expires_at`, else the policy's `age_signal_valid_days` after `observed_at`"""
    current: bool
    """false once it has lapsed (it then counts for nothing)"""
    parental_consent: Consent | None
    client: str | None
    """the `sub` of the client that sent it (null for `verification`)"""
    set_at: str
    """when Governor received it, in UTC"""


class AgeOut(AgeSummaryOut):
    """A user's age with every signal it was derived from."""
    user_id: str
    signals: list[AgeSignalOut]


class AgeSetOut(AgeSummaryOut):
    """The user's age after the change."""
    user_id: str


class AgeSignalSetOut(Out):
    """The stored signal and the user's age after it."""
    signal: AgeSignalOut
    age: AgeSetOut
