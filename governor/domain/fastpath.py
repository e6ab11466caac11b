"""Deciding at events, not at every heartbeat.

A running session's decision changes shape only at instants the engine can name in advance (a
warning's start, midnight, an expiry, a rest reminder; `Outlook.valid_until`) or when a fact
changes (a grant, a lock, settings, verification, a new policy: the user's `facts_version` and the
policy's version). In between, a heartbeat only adds used time, and the answer moves by
arithmetic: used up, remaining down, and the end that the time left gives moves with them.

`advance()` gives that answer, or None when the full `decide()` must run. The rule that makes it
exact: every use that is booked after the snapshot was taken lies after the snapshot's instant
(a heartbeat whose interval began earlier, an end or a sweep goes the full way and takes a new
snapshot or drops it), so used time never grows faster than the clock and no warning can begin
before `valid_until`. tests/unit/test_fastpath.py checks the answers against `decide()`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from governor.domain.bands import band_name, next_change
from governor.domain.calendar import utc
from governor.domain.decision import Decision, Outlook, Reason, Usage, UserFacts, Warning
from governor.domain.engine import CLOCK, Context, earliest, first_end, reset_gap
from governor.domain.policy import BandRules, Policy

UTC = timezone.utc


@dataclass(frozen=True)
class Snapshot:
    """An allowed decision for a running session, taken at `at` under these versions."""

    decision: Decision
    at: datetime
    facts_version: int


def take(decision: Decision, at: datetime, facts_version: int) -> str | None:
    """The snapshot to store on the user's row, as text; None when there is nothing to keep."""
    o = decision.outlook
    if not decision.allowed or o is None or o.valid_until <= at:
        return None
    d = decision
    return json.dumps({
        "at": at.isoformat(), "facts_version": facts_version, "user_id": d.user_id, "band": d.band.value,
        "used_ms": _ms(d.used_today), "remaining_ms": None if d.remaining is None else _ms(d.remaining),
        "ends_at": _iso(d.ends_at), "warnings": [asdict(w) for w in d.warnings],
        "policy": [d.policy_name, d.policy_version],
        "valid_until": o.valid_until.isoformat(), "fixed_end": _iso(o.fixed_end), "fixed_kind": o.fixed_kind})


_LOADED: dict[tuple[str, str], Snapshot] = {}  # a stored snapshot serves many heartbeats: parse it once


def load(text: str | None, tz: ZoneInfo) -> Snapshot | None:
    if not text:
        return None
    snap = _LOADED.get((text, tz.key))
    if snap is None:
        if len(_LOADED) >= 10_000:
            _LOADED.clear()
        snap = _LOADED[(text, tz.key)] = _parse(text, tz)
    return snap


def _parse(text: str, tz: ZoneInfo) -> Snapshot:
    j = json.loads(text)
    outlook = Outlook(datetime.fromisoformat(j["valid_until"]), _time(j["fixed_end"]), j["fixed_kind"])
    decision = Decision(
        user_id=j["user_id"], allowed=True, reason=Reason.OK, band=band_name(j["band"]),
        used_today=timedelta(milliseconds=j["used_ms"]),
        remaining=None if j["remaining_ms"] is None else timedelta(milliseconds=j["remaining_ms"]),
        ends_at=None if j["ends_at"] is None else datetime.fromisoformat(j["ends_at"]).astimezone(tz),
        retry_at=None, warnings=tuple(Warning(**w) for w in j["warnings"]),
        policy_name=j["policy"][0], policy_version=j["policy"][1], outlook=outlook)
    return Snapshot(decision, datetime.fromisoformat(j["at"]), j["facts_version"])


def eligible(snap: Snapshot | None, *, facts_version: int, policy_version: int, booked_from: datetime | None,
             streak_kept: bool, session_ends_at: datetime | None, now: datetime, purpose: str | None = None) -> bool:
    """The fast-path rule, the one place it is written: a running session's answer at `now` is its
    user's stored decision moved on by arithmetic when that decision exists and was taken under the
    user's facts and the policy as they are (`facts_version`, `policy_version`), the time booked now
    (from `booked_from`; None: nothing, the clock went back) lies after the decision's instant and
    kept the continuous-use streak going (`streak_kept`), `now` is before its `valid_until` and the
    session's end, and the session has no purpose (its uncounted minutes move the decision in a way
    arithmetic does not follow). Else the full decision. store/sessions.py's one-statement heartbeat
    (_IN_ONE) is this rule's commonest case in SQL; tests/integration/test_in_one_property.py
    holds them equal."""
    if snap is None or booked_from is None or not streak_kept or purpose is not None:
        return False
    if snap.facts_version != facts_version or snap.decision.policy_version != policy_version:
        return False
    return (snap.at <= booked_from and now < snap.decision.outlook.valid_until
            and (session_ends_at is None or now < session_ends_at))


def advance(snap: Snapshot | None, *, facts_version: int, policy_version: int, booked_from: datetime | None,
            streak_kept: bool, session_ends_at: datetime | None, used_today: timedelta,
            now: datetime, purpose: str | None = None) -> Decision | None:
    """The decision for a running session at `now`, moved on from `snap` by arithmetic; None when
    the full decision is needed (`eligible`). `used_today` is the day's booked use after this
    heartbeat's booking."""
    if not eligible(snap, facts_version=facts_version, policy_version=policy_version, booked_from=booked_from,
                    streak_kept=streak_kept, session_ends_at=session_ends_at, now=now, purpose=purpose):
        return None
    d, o = snap.decision, snap.decision.outlook
    remaining = None if d.remaining is None else d.remaining - (used_today - d.used_today)
    ends = [] if o.fixed_end is None else [(o.fixed_end, o.fixed_kind)]
    if remaining is not None:
        ends.append((now.astimezone(UTC) + remaining, "remaining"))
    ends_at = earliest(ends)[0] if ends else None
    tz = d.ends_at.tzinfo if d.ends_at is not None else None
    return Decision(user_id=d.user_id, allowed=True, reason=Reason.OK, band=d.band, used_today=used_today,
                    remaining=remaining, ends_at=ends_at and (ends_at.astimezone(tz) if tz else ends_at),
                    retry_at=None, warnings=d.warnings, policy_name=d.policy_name,
                    policy_version=d.policy_version, outlook=o)


def for_start(snap: Snapshot | None, *, facts_version: int, policy_version: int, rules: BandRules,
              last_active: datetime | None, used_today: timedelta, now: datetime) -> Decision | None:
    """The decision for starting a session at `now` (a status), moved on from the running
    session's stored decision; None when the full decision is needed. It is the running
    session's own decision while the continuous-use streak goes on (it began before `now` and
    no break has reset it) and no limit on concurrent sessions could refuse the start."""
    if snap is None or last_active is None or rules.max_concurrent_sessions is not None:
        return None
    if now < snap.at or now - last_active >= reset_gap(rules):
        return None
    return advance(snap, facts_version=facts_version, policy_version=policy_version, booked_from=snap.at,
                   streak_kept=True, session_ends_at=None, used_today=used_today, now=now)


@dataclass(frozen=True)
class Idle:
    """A start's decision for a user with no session running and no continuous use going on,
    taken at `at`. Until `until` (the next local midnight, the next change of band or consent, the allowed
    window's end, the next quiet hours) only `now` moves it: the ends that begin with the session
    (the time left, the continuous-use limit) move with it, the others stay, and the warning
    follows the first of them. No rest reminder is due: continuous use would begin at the start."""

    decision: Decision
    at: datetime
    until: datetime
    ends: tuple[tuple[datetime, str], ...]  # as decide() found them at `at`
    warn_before_minutes: int


def idle(policy: Policy, user: UserFacts, usage: Usage, now: datetime, decision: Decision) -> Idle | None:
    """What `for_idle` needs to move `decision` (decide()'s, for a start at `now`, no purpose)
    on; None when it does not apply (refused, a session running, continuous use going on)."""
    if not decision.allowed or usage.active_ends:
        return None
    ctx = Context(policy, user, usage, False, policy.zone(user.timezone))
    now = now.astimezone(ctx.tz)
    _, rules = ctx.rules_at(now)
    if ctx.streak_length(now) is not None:
        return None
    ends = ctx.session_ends(now, rules, decision.remaining)
    until = [utc(ctx.cal.next_day(now))] + [utc(t) for t, kind in ends if kind in CLOCK]
    change = next_change(policy, user, ctx.tz, now)  # a birthday at a band's boundary, a signal's lapse
    if change is not None:
        until.append(utc(change))
    return Idle(decision, now, min(until), tuple(ends), rules.warn_before_minutes)


def for_idle(idle: Idle | None, now: datetime) -> Decision | None:
    """The decision for starting a session at `now`, moved on from `idle`; None when the full
    decision is needed. It carries no outlook: a status stores nothing."""
    if idle is None or not idle.at <= now < idle.until:
        return None
    shift = utc(now) - utc(idle.at)
    ends = [(t if kind in CLOCK else t + shift, kind) for t, kind in idle.ends]
    ends_at, warnings = first_end(ends, now, idle.warn_before_minutes)
    return replace(idle.decision, ends_at=ends_at and ends_at.astimezone(idle.at.tzinfo), warnings=tuple(warnings),
                   outlook=None)


def _ms(t: timedelta) -> int:
    return round(t / timedelta(milliseconds=1))


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _time(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)
