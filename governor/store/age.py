"""Section 8's records: a user's age signals (one row per source, with provenance) and the
guardians' consent (on their links). Every write of signals also writes the user's row copy
(`users.age_signals`, domain/age.dumps) in the same transaction, so the hot paths read the
signals with the row and never need another statement."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from governor.domain import age
from governor.store.tables import AgeSignal, AuditEvent, GuardianLink, User


@dataclass(frozen=True)
class Stored:
    """A signal as recorded: what the decision reads (`signal`), the range as it was given, who
    sent it and when."""

    signal: age.Signal
    age_min: int
    age_max: int | None
    client: str
    set_at: datetime


def _stored(r: AgeSignal) -> Stored:
    return Stored(age.Signal(r.source, r.born_from, r.born_to, r.method, r.assurance, r.observed_at, r.expires_at,
                             r.parental_consent), r.age_min, r.age_max, r.client, r.set_at)


def signals(s: Session, user_pk: int | None) -> list[Stored]:
    if user_pk is None:
        return []
    rows = s.execute(select(AgeSignal).where(AgeSignal.user_pk == user_pk).order_by(AgeSignal.source)).scalars()
    return [_stored(r) for r in rows]


def put(s: Session, user_pk: int, stored: Stored) -> None:
    """Store the signal of its source, replacing the one there was, and the row's copy."""
    sig = stored.signal
    row = s.execute(select(AgeSignal).where(AgeSignal.user_pk == user_pk, AgeSignal.source == sig.source)).scalar()
    if row is None:
        row = AgeSignal(user_pk=user_pk, source=sig.source)
        s.add(row)
    row.age_min, row.age_max, row.born_from, row.born_to = stored.age_min, stored.age_max, sig.born_from, sig.born_to
    row.method, row.assurance, row.observed_at, row.expires_at = sig.method, sig.assurance, sig.observed_at, \
        sig.expires_at
    row.parental_consent, row.client, row.set_at = sig.parental_consent, stored.client, stored.set_at
    _copy(s, user_pk)


def withdraw(s: Session, user_pk: int, source: str) -> bool:
    """Remove the source's signal; False when there was none."""
    gone = s.execute(delete(AgeSignal).where(AgeSignal.user_pk == user_pk, AgeSignal.source == source)).rowcount
    if gone:
        _copy(s, user_pk)
    return bool(gone)


def _copy(s: Session, user_pk: int) -> None:
    s.flush()
    text = age.dumps(st.signal for st in signals(s, user_pk))
    s.execute(update(User).where(User.pk == user_pk).values(age_signals=text))


def delete_of_user(s: Session, user_pk: int) -> None:
    """Erasure: every signal of the user (their row, with its copy, goes with the erasure)."""
    s.execute(delete(AgeSignal).where(AgeSignal.user_pk == user_pk))


# -- guardians' consent -------------------------------------------------------------------------

def guardian_consents(s: Session, user_pk: int | None) -> list[tuple[datetime, str]]:
    """Each linked guardian's consent that was given or withdrawn: (when, granted | revoked)."""
    if user_pk is None:
        return []
    rows = s.execute(select(GuardianLink.consent_at, GuardianLink.consent).where(
        GuardianLink.user_pk == user_pk, GuardianLink.consent.is_not(None)))
    return [(at, consent) for at, consent in rows]


def link_consent(s: Session, link_id: str) -> str | None:
    return s.execute(select(GuardianLink.consent).where(GuardianLink.id == link_id)).scalar()


def set_guardian_consent(s: Session, link_id: str, consent: str, now: datetime) -> None:
    s.execute(update(GuardianLink).where(GuardianLink.id == link_id).values(consent=consent, consent_at=now))


# -- the daily report --------------------------------------------------------------------------

AGE_ACTIONS = ("age.signal_set", "age.signal_withdrawn", "consent.changed", "verification.changed")


def bases(s: Session, chains: Iterable[str], before: datetime) -> dict[str, list[str]]:
    """Per user chain, the sources that decided its band after its last age event before
    `before` (a verification's event: ["verification"], or none when it withdrew it); chains
    without one are left out. Reads the audit log, which names no user."""
    out: dict[str, list[str]] = {}
    chains = list(chains)
    for i in range(0, len(chains), 500):
        rows = s.execute(select(AuditEvent.chain, AuditEvent.action, AuditEvent.data).where(
            AuditEvent.chain.in_(chains[i:i + 500]), AuditEvent.action.in_(AGE_ACTIONS), AuditEvent.at < before)
            .order_by(AuditEvent.chain, AuditEvent.seq))
        for chain, action, data in rows:
            d = json.loads(data)
            if action == "verification.changed":
                out[chain] = [] if d.get("status") == "unverified" else ["verification"]
            else:
                out[chain] = list(d.get("basis") or [])
    return out
