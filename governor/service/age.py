"""Age signals and parental consent (DESIGN section 8): one transaction per change under the
user's lock, audited on the user's chain (never a birth date), with the webhooks of a band or
consent that changed. The rule that derives a band is the domain's (domain/age.py, bands.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from governor.domain import age
from governor.domain.bands import age_today, signals_of
from governor.domain.decision import Verification, recorded
from governor.domain.policy import Policy
from governor.errors import InvalidRequest, NotFound
from governor.service.audit import Entry, append_user_event
from governor.service.context import Services
from governor.service.webhooks import outbox
from governor.store import age as store
from governor.store import guardians as guardian_store
from governor.store import repo
from governor.store.repo import UserRecord


class NoSignal(NotFound):
    type, title = "no-age-signal", "No such age signal"


@dataclass(frozen=True)
class SignalIn:
    """A signal as a client sends it (the API has checked each field's form)."""

    age_min: int
    age_max: int | None
    method: str
    assurance: str
    observed_at: datetime | None = None
    expires_at: datetime | None = None
    parental_consent: str | None = None


@dataclass(frozen=True)
class AgeView:
    user_id: str
    age: age.Age
    consent: str | None
    signals: list[dict[str, Any]]


def get(svc: Services, user_id: str) -> AgeView:
    with svc.db.read() as s:
        policy, user = svc.policy(s), repo.find_user(s, user_id)
        return _view(s, policy, user, user_id, svc.clock.now())


def put_signal(svc: Services, user_id: str, source: str, sig: SignalIn, client: str) -> tuple[dict, AgeView]:
    """Store `source`'s signal (replacing the one it had): 200 with it and the user's age."""
    if source == age.VERIFICATION:
        raise InvalidRequest("source: 'verification' is the birth date of PUT .../age-verification",
                             errors=[{"field": "source", "message": "reserved for PUT .../age-verification"}])
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        observed = sig.observed_at or now
        _check(sig, observed, now)
        user = repo.lock_user(s, user_id, now)
        before = _view(s, policy, user, user_id, now)
        born_from, born_to = age.span(sig.age_min, sig.age_max, observed.astimezone(_zone(policy, user)).date())
        signal = age.Signal(source, born_from, born_to, sig.method, sig.assurance, observed, sig.expires_at,
                            sig.parental_consent)
        store.put(s, user.pk, store.Stored(signal, sig.age_min, sig.age_max, client, now))
        after = _view(s, policy, user, user_id, now)
        _record(s, policy, user, now, client, "age.signal_set", before, after, {
            "source": source, "method": sig.method, "assurance": sig.assurance, "age_min": sig.age_min,
            "age_max": sig.age_max, "observed_at": observed.isoformat(),
            "expires_at": sig.expires_at and sig.expires_at.isoformat(), "parental_consent": sig.parental_consent})
        return next(x for x in after.signals if x["source"] == source), after


def withdraw_signal(svc: Services, user_id: str, source: str, client: str) -> AgeView:
    """Withdraw `source`'s signal (`verification`: the verification, as `status: unverified`)."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        if user is None:
            raise NoSignal(f"no age signal {source!r} of {user_id!r}")
        before = _view(s, policy, user, user_id, now)
        if source == age.VERIFICATION:
            v = user.facts.verification
            if v is None or v.status == "unverified":
                raise NoSignal(f"no age signal {source!r} of {user_id!r}")
            user = repo.set_verification(s, user, recorded(Verification("unverified"), now))
        elif not store.withdraw(s, user.pk, source):
            raise NoSignal(f"no age signal {source!r} of {user_id!r}")
        after = _view(s, policy, user, user_id, now)
        _record(s, policy, user, now, client, "age.signal_withdrawn", before, after, {"source": source})
        return after


def guardian_consent(svc: Services, guardian_id: str, user_id: str, granted: bool, client: str) -> AgeView:
    """A linked guardian gives (`granted`) or withdraws their consent; the same answer again
    changes and records nothing. Withdrawing consent never given is `denied`."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        lk = guardian_store.link(s, user.pk, guardian_id) if user is not None else None
        if user is None or lk is None:
            raise NotFound(f"no child {user_id!r}")
        had = store.link_consent(s, lk.id)
        said = "granted" if granted else ("revoked" if had == "granted" else "denied")
        if had == said:
            return _view(s, policy, user, user_id, now)
        before = _view(s, policy, user, user_id, now)
        store.set_guardian_consent(s, lk.id, said, now)
        after = _view(s, policy, user, user_id, now)
        _record(s, policy, user, now, client, "consent.changed", before, after,
                {"source": "guardian", "link_id": lk.id, "parental_consent": said})
        return after


# -- the steps --------------------------------------------------------------------------------

def _check(sig: SignalIn, observed: datetime, now: datetime) -> None:
    """What the model cannot say alone: the span's order and the instants' places in time."""
    if sig.age_max is not None and sig.age_max < sig.age_min:
        raise InvalidRequest(f"age_max: {sig.age_max} is below age_min {sig.age_min}",
                             errors=[{"field": "age_max", "message": "below age_min"}])
    if observed > now:
        raise InvalidRequest("observed_at: must not be in the future",
                             errors=[{"field": "observed_at", "message": "in the future"}])
    if sig.expires_at is not None and sig.expires_at <= max(observed, now):
        raise InvalidRequest("expires_at: must be after now and after observed_at",
                             errors=[{"field": "expires_at", "message": "already passed"}])


def _view(s: Session, policy: Policy, user: UserRecord | None, user_id: str, now: datetime) -> AgeView:
    stored = store.signals(s, user.pk if user is not None else None)
    facts = user.facts if user is not None else None
    signals = signals_of(facts, [st.signal for st in stored]) if facts is not None else ()
    guardians = store.guardian_consents(s, user.pk if user is not None else None)
    derived = age_today(policy, facts.timezone if facts else None, signals, now)
    consent = age.consent(signals, guardians, policy.scale, now)
    given = {st.signal.source: st for st in stored}
    tz = _zone(policy, user)
    listed = []
    for sig in signals:
        st = given.get(sig.source)
        observed_on = sig.observed_at.astimezone(tz).date()
        lapse = sig.lapses_at(policy.scale)
        listed.append({
            "source": sig.source,
            "age_min": st.age_min if st else age.age_on(sig.born_to, observed_on),
            "age_max": st.age_max if st else age.age_on(sig.born_to, observed_on),
            "method": sig.method, "assurance": sig.assurance, "observed_at": sig.observed_at,
            "expires_at": sig.expires_at, "lapses_at": lapse, "current": lapse is None or lapse > now,
            "parental_consent": sig.parental_consent,
            "client": st.client if st else None, "set_at": st.set_at if st else sig.observed_at})
    return AgeView(user_id, derived, consent, listed)


def _record(s: Session, policy: Policy, user: UserRecord, now: datetime, client: str, action: str,
            before: AgeView, after: AgeView, data: dict[str, Any]) -> None:
    """The audit event (which bumps the user's facts version: running sessions decide afresh at
    their next heartbeat) and the webhooks of what changed."""
    append_user_event(s, user, now, Entry(
        client=client, action=action, reason=None, policy_name=policy.name, policy_version=policy.version,
        data={**data, "band": after.age.band, "basis": list(after.age.basis), "consent": after.consent}))
    if after.consent != before.consent:
        outbox.emit(s, user, "consent.changed", now, {"parental_consent": after.consent,
                                                      "previous": before.consent, "band": after.age.band})
    if after.age.band != before.age.band:
        outbox.emit(s, user, "age.band_changed", now, {"band": after.age.band, "previous": before.age.band,
                                                       "basis": list(after.age.basis)})


def _zone(policy: Policy, user: UserRecord | None):
    return policy.zone(user.facts.timezone if user is not None else None)
