"""The decision: may this user chat now, until when, and if not, why and when again.

`decide()` is pure: it is given the policy, the user's facts, their booked usage and `now`, and
returns a `Decision`. Everything a reader needs to know about why a child was refused is here.
"""
from __future__ import annotations

import enum
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from governor.domain import ledger
from governor.domain.controls import Controls
from governor.domain.policy import Band, BandRules, Policy

ZERO = timedelta(0)
IDLE_RESET = timedelta(minutes=15)  # ends continuous use (for rest reminders) in bands with no break rule
_SEARCH_DAYS = 400  # how far ahead an allowed-hours window is looked for before giving up


class Reason(enum.StrEnum):
    OK = "ok"
    DAILY_LIMIT = "daily_limit_reached"
    WEEKLY_LIMIT = "weekly_limit_reached"
    CURFEW = "curfew"
    QUIET_HOURS = "quiet_hours"
    COOLDOWN = "cooldown"
    LOCKED = "locked"
    VERIFICATION_REQUIRED = "verification_required"
    TOO_MANY_SESSIONS = "too_many_sessions"


# Ties between reasons whose retry_at is equally late go to the earlier one here.
_PRECEDENCE = [Reason.LOCKED, Reason.VERIFICATION_REQUIRED, Reason.WEEKLY_LIMIT, Reason.DAILY_LIMIT,
               Reason.CURFEW, Reason.QUIET_HOURS, Reason.COOLDOWN, Reason.TOO_MANY_SESSIONS]


@dataclass(frozen=True)
class Verification:
    status: str  # verified | self_declared | unverified
    birth_date: date | None = None
    method: str | None = None
    provider: str | None = None
    assurance: str | None = None
    expires_at: datetime | None = None
    verified_at: datetime | None = None

    def status_at(self, now: datetime) -> str:
        """The status as a reader should see it at `now`: `expired` once `expires_at` has passed
        (the band is then `unverified`), else the stored status."""
        return "expired" if self.expires_at is not None and self.expires_at <= now else self.status


@dataclass(frozen=True)
class Lock:
    until: datetime | None = None  # None: until an admin unlocks
    reason: str | None = None


@dataclass(frozen=True)
class UserFacts:
    user_id: str
    verification: Verification | None = None
    timezone: str | None = None
    daily_limit_minutes: int | None = None  # a guardian's limit; only ever tightens the band's
    lock: Lock | None = None
    grants: Mapping[date, int] = field(default_factory=dict)  # extra minutes per local day
    controls: Controls = Controls()  # the strictest of the guardians' controls (section 7)


@dataclass(frozen=True)
class Usage:
    """What has been booked: use per local day (at least every day of the current ISO week),
    the continuous-use streak, and the `ends_at` of the user's other active sessions, with what
    those sessions will still be credited (`pending`, ledger.pending_credit), which the run counts."""

    days: Mapping[date, timedelta] = field(default_factory=dict)
    streak_start: datetime | None = None
    last_active: datetime | None = None
    active_ends: tuple[datetime | None, ...] = ()
    # use that did not count toward the limits, per local day and purpose (part of `days`)
    uncounted: Mapping[date, Mapping[str, timedelta]] = field(default_factory=dict)
    pending: tuple[ledger.Interval, ...] = ()

    def counted(self, day: date) -> timedelta:
        """The day's use that counts toward daily and weekly limits."""
        return self.days.get(day, ZERO) - sum(self.uncounted.get(day, {}).values(), ZERO)


@dataclass(frozen=True)
class Warning:
    type: str  # time_running_out | break_soon | rest_reminder
    seconds_left: int | None
    number: int | None = None  # rest_reminder: which reminder of the continuous use this is


@dataclass(frozen=True)
class Outlook:
    """How an allowed decision moves while no fact changes (domain/fastpath.py): before
    `valid_until` only the time used moves it, by arithmetic. `fixed_end` is the earliest end that
    use does not move (the allowed window's end, the forced break), with its warning's type."""

    valid_until: datetime
    fixed_end: datetime | None
    fixed_kind: str | None


@dataclass(frozen=True)
class Decision:
    user_id: str
    allowed: bool
    reason: Reason
    band: Band
    used_today: timedelta
    remaining: timedelta | None
    ends_at: datetime | None
    retry_at: datetime | None
    warnings: tuple[Warning, ...]
    policy_name: str
    policy_version: int
    outlook: Outlook | None = field(default=None, compare=False, repr=False)

    @property
    def used_today_seconds(self) -> int:
        """Whole seconds used (floored)."""
        return math.floor(self.used_today.total_seconds())

    @property
    def remaining_seconds(self) -> int | None:
        """Whole seconds left, rounded up: limits are whole minutes, so used (floored) and
        remaining (ceiled) add up to the allowance exactly, and a decision that allows a start
        never says 0 seconds remain."""
        return None if self.remaining is None else math.ceil(self.remaining.total_seconds())


def band_of(verification: Verification | None, today: date, now: datetime) -> Band:
    """The band a verification gives on the local date `today`. Expired counts as unverified;
    a self-declared age is believed only when it places the user in a minor band."""
    v = verification
    if v is None or v.status == "unverified" or v.birth_date is None:
        return Band.UNVERIFIED
    if v.status_at(now) == "expired":
        return Band.UNVERIFIED
    b = v.birth_date
    age = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
    band = (Band.UNDER_8 if age < 8 else Band.AGE_8_15 if age < 16
            else Band.AGE_16_17 if age < 18 else Band.ADULT)
    if v.status == "self_declared" and band is Band.ADULT:
        return Band.UNVERIFIED
    return band


def recorded(v: Verification, now: datetime) -> Verification:
    """What is kept of a verification given at `now`: an `unverified` status keeps no birth date
    (nothing is kept that is not needed)."""
    if v.status == "unverified":
        v = Verification(status="unverified", method=v.method, provider=v.provider, assurance=v.assurance)
    return replace(v, verified_at=now)


def looser_limit(policy: Policy, verification: Verification | None, day: date, now: datetime,
                 minutes: int | None) -> tuple[Band, int] | None:
    """A per-user daily limit may only tighten the band's: the band and its limit on local `day`
    when `minutes` would loosen it, else None."""
    band = band_of(verification, day, now)
    band_limit = policy.bands[band].daily_limit_minutes(day, policy.is_holiday(day))
    if minutes is not None and band_limit is not None and minutes > band_limit:
        return band, band_limit
    return None


def decide(policy: Policy, user: UserFacts, usage: Usage, now: datetime, *,
           continuing: bool = False, purpose: str | None = None) -> Decision:
    """The decision for starting a session at `now` or, with `continuing`, for keeping one alive
    (then `usage.active_ends` lists the user's other sessions, and their number is no limit).
    A session of a `purpose` with uncounted minutes in the band may also use what is left of them."""
    ctx = _Context(policy, user, usage, continuing, policy.zone(user.timezone), purpose)
    now = now.astimezone(ctx.tz)
    today = now.date()
    band, rules = ctx.rules_at(now)
    caps = ctx.caps(rules, today)
    remaining = max(min(left for _, left in caps), ZERO) if caps else None
    common = dict(user_id=user.user_id, band=band, used_today=usage.days.get(today, ZERO),
                  remaining=remaining, policy_name=policy.name, policy_version=policy.version)
    blockers = ctx.blockers(now)
    if blockers:
        reason = max(blockers, key=lambda b: (_latest(b[1]), -_PRECEDENCE.index(b[0])))[0]
        retry_at = ctx.earliest_admission(now)
        return Decision(allowed=False, reason=reason, ends_at=None, warnings=(),
                        retry_at=retry_at and retry_at.astimezone(ctx.tz), **common)
    ends = ctx.session_ends(now, rules, remaining)
    ends_at, warnings = first_end(ends, now, rules.warn_before_minutes)
    streak = ctx.streak_length(now)
    number = reminder_number(streak, (rules.rest_reminder_minutes, user.controls.rest_reminder_minutes))
    if number:
        warnings.append(Warning("rest_reminder", None, number))
    fixed = [e for e in ends if e[1] != "remaining"]
    fixed_end, fixed_kind = _earliest(fixed) if fixed else (None, None)
    outlook = Outlook(ctx.valid_until(now, rules, ends_at, streak), fixed_end, fixed_kind)
    return Decision(allowed=True, reason=Reason.OK, ends_at=ends_at and ends_at.astimezone(ctx.tz), retry_at=None,
                    warnings=tuple(warnings), outlook=outlook, **common)


def decide_heartbeat(policy: Policy, user: UserFacts, usage: Usage, now: datetime,
                     ends_at: datetime | None, purpose: str | None = None, *,
                     credited_until: datetime | None = None) -> Decision:
    """The decision for a running session whose last decision said it must end at `ends_at`.
    A heartbeat at or after `ends_at` ends a session that ran into it (DESIGN 3), even when what
    ended it has lifted meanwhile (the client slept through the break, the night, or midnight):
    the reason is the one that held at `ends_at`, and a new session may start at once. A session
    whose credited time (`credited_until`, after this heartbeat's booking) stopped before
    `ends_at` fell silent before its end and did not run into it: the decision now applies."""
    current = decide(policy, user, usage, now, continuing=True, purpose=purpose)
    if not current.allowed or ends_at is None or now < ends_at:
        return current
    if credited_until is not None and credited_until < ends_at:
        return current
    at_end = decide(policy, user, usage, ends_at, continuing=True, purpose=purpose)
    if at_end.allowed:  # what would have ended it has been lifted (a grant, an unlock, ...)
        return current
    start_now = decide(policy, user, usage, now, purpose=purpose)
    if not start_now.allowed:
        return start_now
    return replace(current, allowed=False, reason=at_end.reason, ends_at=None,
                   retry_at=now.astimezone(policy.zone(user.timezone)), warnings=(), outlook=None)


def first_end(ends: list[tuple[datetime, str]], now: datetime,
              warn_before_minutes: int) -> tuple[datetime | None, list[Warning]]:
    """The first of a session's `ends` and, when it is that near, its warning."""
    if not ends:
        return None, []
    ends_at, kind = _earliest(ends)
    left = _utc(ends_at) - _utc(now)
    return ends_at, [Warning(kind, int(left.total_seconds()))] if left <= timedelta(minutes=warn_before_minutes) else []


def reminder_number(streak: timedelta | None, intervals: tuple[int | None, ...]) -> int:
    """How many rest reminders continuous use of length `streak` has passed: one at each multiple
    of each interval (the band's, a guardian's), a moment shared by both counted once."""
    steps = sorted({i for i in intervals if i is not None})
    if streak is None or not steps:
        return 0
    minutes = int(streak.total_seconds() // 60)
    if len(steps) == 1:
        return minutes // steps[0]
    a, b = steps[:2]
    return minutes // a + minutes // b - minutes // math.lcm(a, b)


def reset_gap(rules: BandRules) -> timedelta:
    """A pause this long ends continuous use: the band's break, or IDLE_RESET without one."""
    return timedelta(minutes=rules.break_minutes) if rules.break_minutes is not None else IDLE_RESET


def _birthday(birth: date, age: int) -> date:
    """The local date on which `age` is reached (29 February counts from 1 March in other years,
    as in band_of)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return date(birth.year + age, 3, 1)


def _earliest(ends: list[tuple[datetime, str]]) -> tuple[datetime, str]:
    """The first end; at a tie, the time limit's warning (time_running_out) wins over a break's."""
    at, kind = min(ends, key=lambda e: (_utc(e[0]), e[1] == "break_soon"))
    return at, "time_running_out" if kind == "remaining" else kind


def _latest(retry: datetime | None) -> float:
    return float("inf") if retry is None else retry.timestamp()


def _utc(t: datetime) -> datetime:
    """Elapsed time is computed in UTC: Python adds and subtracts datetimes of one zone in wall
    time, which is an hour off across a daylight-saving change."""
    return t.astimezone(timezone.utc)


@functools.lru_cache(maxsize=4096)
def _periods(rules: BandRules, holidays: frozenset[date], tz: ZoneInfo, day: date):
    """The allowed periods of the local days from the day before `day` to a week after it,
    adjacent windows merged. The calendar depends on the rules alone, so it is worked out once
    per band and day, not at every decision."""
    intervals = []
    for i in range(-1, 8):
        d = day + timedelta(days=i)
        midnight = datetime.combine(d, time(0), tzinfo=tz)
        for w in rules.windows(d, d in holidays) or ():
            intervals.append((midnight + timedelta(minutes=w.start), midnight + timedelta(minutes=w.end)))
    out: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


@dataclass(frozen=True)
class _Context:
    policy: Policy
    user: UserFacts
    usage: Usage
    continuing: bool
    tz: ZoneInfo
    purpose: str | None = None
    memo: dict = field(default_factory=dict)  # one decision asks the same questions several times

    def rules_at(self, t: datetime) -> tuple[Band, BandRules]:
        key = ("rules", t)  # an instant: equal datetimes in other zones are the same key
        if key not in self.memo:
            t = t.astimezone(self.tz)
            band = band_of(self.user.verification, t.date(), t)
            self.memo[key] = band, self.policy.bands[band]
        return self.memo[key]

    # -- what stands in the way at time t (t >= now; "if nothing else changes") -------------

    def blockers(self, t: datetime) -> list[tuple[Reason, datetime | None]]:
        """Each reason that refuses a start at `t`, with the time it alone would lift."""
        t = t.astimezone(self.tz)
        band, rules = self.rules_at(t)
        found: list[tuple[Reason, datetime | None]] = []
        lock = self.user.lock
        if lock is not None and (lock.until is None or t < lock.until):
            found.append((Reason.LOCKED, lock.until))
        if rules.requires_verification and band is Band.UNVERIFIED:
            found.append((Reason.VERIFICATION_REQUIRED, None))
        for reason, left in self.caps(rules, t.date()):
            if left <= ZERO:
                found.append((reason, self.next_week(t) if reason is Reason.WEEKLY_LIMIT else self.next_day(t)))
        if rules.allowed_hours is not None and self.window_containing(rules, t) is None:
            found.append((Reason.CURFEW, self.next_window_start(rules, t)))
        quiet = self.quiet_period(t)
        if quiet is not None:
            found.append((Reason.QUIET_HOURS, quiet[1]))
        streak = self.streak_length(t)
        if rules.continuous_limit_minutes is not None and streak is not None \
                and streak >= timedelta(minutes=rules.continuous_limit_minutes):
            found.append((Reason.COOLDOWN, _utc(self.run(rules)[1]) + timedelta(minutes=rules.break_minutes)))
        if not self.continuing and rules.max_concurrent_sessions is not None:
            running = [e for e in self.usage.active_ends if e is None or e > t]
            if len(running) >= rules.max_concurrent_sessions:
                ends = sorted(running, key=_latest)
                found.append((Reason.TOO_MANY_SESSIONS, ends[0]))
        return found

    def earliest_admission(self, now: datetime) -> datetime | None:
        """The first time at or after `now` with no blocker, or None if only an admin can help."""
        t = now
        for _ in range(64):
            found = self.blockers(t)
            if not found:
                return t
            retries = [r for _, r in found]
            if any(r is None for r in retries):
                return None
            later = max(retries)
            if later <= t:
                return None
            t = self.band_change(t, later) or later
        return None

    def band_change(self, t: datetime, until: datetime) -> datetime | None:
        """The first instant in (t, until) at which the user's band differs from the band at `t`:
        a birthday (local midnight) or the verification's expiry. The blockers found at `t` hold
        under the band at `t` only; another band may admit sooner."""
        band = self.rules_at(t.astimezone(self.tz))[0]
        v = self.user.verification
        changes = [] if v is None or v.expires_at is None else [v.expires_at]
        if v is not None and v.birth_date is not None:  # the birthdays on which the band changes
            for age in (8, 16, 18):
                changes.append(self.local(_birthday(v.birth_date, age)))
        for change in sorted(changes, key=_utc):
            if t < change < until and self.rules_at(change.astimezone(self.tz))[0] is not band:
                return change
        return None

    # -- limits ------------------------------------------------------------------------------

    def caps(self, rules: BandRules, day: date) -> list[tuple[Reason, timedelta]]:
        """What is left of each limit on local `day` (negative when overspent), grants added."""
        key = ("caps", id(rules), day)
        if key not in self.memo:
            self.memo[key] = self._caps(rules, day)
        return self.memo[key]

    def _caps(self, rules: BandRules, day: date) -> list[tuple[Reason, timedelta]]:
        counted = self.usage.counted
        grants = self.user.grants
        out = []
        daily = rules.daily_limit_minutes(day, self.policy.is_holiday(day))
        for stricter in (self.user.daily_limit_minutes, self.user.controls.daily_limit_minutes):
            if stricter is not None:
                daily = stricter if daily is None else min(daily, stricter)
        learning = self.uncounted_left(rules, day)
        if daily is not None:
            allowance = timedelta(minutes=daily + grants.get(day, 0))
            out.append((Reason.DAILY_LIMIT, allowance - counted(day) + learning))
        if rules.weekly_limit_minutes is not None:
            week = [day - timedelta(days=i) for i in range(day.weekday() + 1)]
            allowance = timedelta(minutes=rules.weekly_limit_minutes + sum(grants.get(d, 0) for d in week))
            out.append((Reason.WEEKLY_LIMIT, allowance - sum((counted(d) for d in week), ZERO) + learning))
        return out

    def uncounted_left(self, rules: BandRules, day: date) -> timedelta:
        """What is left on `day` of the uncounted minutes of this session's purpose (section 7)."""
        cap = timedelta(minutes=rules.uncounted_for(self.purpose))
        return max(cap - self.usage.uncounted.get(day, {}).get(self.purpose, ZERO), ZERO) if cap else ZERO

    def run(self, rules: BandRules) -> tuple[datetime | None, datetime | None]:
        """The current run (start, end of its latest use): the booked one, with what the user's
        open sessions will still be credited (ledger.run)."""
        key = ("run", reset_gap(rules))
        if key not in self.memo:
            u = self.usage
            self.memo[key] = ledger.run(u.streak_start, u.last_active, u.pending, key[1])
        return self.memo[key]

    def streak_length(self, t: datetime) -> timedelta | None:
        """Continuous use at `t`: wall time since the run began, unless a break has ended it.
        Pauses shorter than the break do not stop the clock: they are no rest."""
        _, rules = self.rules_at(t.astimezone(self.tz))
        start, last = self.run(rules)
        if start is None or last is None:
            return None
        if _utc(t) - _utc(last) >= reset_gap(rules):
            return None
        return max(_utc(t) - _utc(start), ZERO)

    def session_ends(self, now: datetime, rules: BandRules, remaining: timedelta | None):
        """What ends a session running from `now`: each end with its warning's type, the end that
        the time left gives typed "remaining" (it is the only one that use moves)."""
        ends: list[tuple[datetime, str]] = []
        if remaining is not None:
            ends.append((_utc(now) + remaining, "remaining"))
        window = self.window_containing(rules, now) if rules.allowed_hours is not None else None
        if window is not None and window[1] is not None:
            ends.append((window[1], "time_running_out"))
        quiet = self.next_quiet_start(now)
        if quiet is not None:
            ends.append((quiet, "time_running_out"))
        if rules.continuous_limit_minutes is not None:
            streak = self.streak_length(now)
            # the streak's own start, not now - streak (clamped at 0 when the clock stepped back)
            start = _utc(now) if streak is None else _utc(self.run(rules)[0])
            ends.append((start + timedelta(minutes=rules.continuous_limit_minutes), "break_soon"))
        return ends

    def valid_until(self, now: datetime, rules: BandRules, ends_at: datetime | None,
                    streak: timedelta | None) -> datetime:
        """Until when an allowed decision at `now` changes only by the time used, if no fact
        changes: before a warning could start, the next local midnight (day, week, day type,
        birthday), the verification's expiry and the next rest reminder."""
        until = [_utc(self.next_day(now))]
        if ends_at is not None:
            until.append(_utc(ends_at) - timedelta(minutes=rules.warn_before_minutes))
        v = self.user.verification
        if v is not None and v.expires_at is not None and v.expires_at > now:
            until.append(_utc(v.expires_at))
        for minutes in (rules.rest_reminder_minutes, self.user.controls.rest_reminder_minutes):
            if minutes is not None:
                every = timedelta(minutes=minutes)
                start = _utc(now) if streak is None else _utc(self.run(rules)[0])
                passed = 0 if streak is None else streak // every
                until.append(start + every * (passed + 1))
        return min(until)

    # -- calendar ----------------------------------------------------------------------------

    def local(self, day: date, minutes: int = 0) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz) + timedelta(minutes=minutes)

    def next_day(self, t: datetime) -> datetime:
        return self.local(t.astimezone(self.tz).date() + timedelta(days=1))

    def next_week(self, t: datetime) -> datetime:
        day = t.astimezone(self.tz).date()
        return self.local(day + timedelta(days=7 - day.weekday()))

    def intervals(self, rules: BandRules, first: date, days: int):
        """Allowed-hours intervals of the days from `first` on, in order of start."""
        for i in range(days):
            day = first + timedelta(days=i)
            windows = rules.windows(day, self.policy.is_holiday(day))
            if windows is None:
                windows = ()
            for w in windows:
                yield self.local(day, w.start), self.local(day, w.end)

    def window_containing(self, rules: BandRules, t: datetime):
        """(start, end) of the allowed period around `t`, adjacent windows merged; end None when
        it runs on for more than a week. None when `t` is outside every window."""
        key = ("window", id(rules), t)
        if key not in self.memo:
            self.memo[key] = self._window_containing(rules, t)
        return self.memo[key]

    def _window_containing(self, rules: BandRules, t: datetime):
        day = t.astimezone(self.tz).date()
        for start, end in _periods(rules, self.policy.holidays, self.tz, day):
            if start <= t < end:
                if end >= self.local(day + timedelta(days=7)):
                    return start, None
                return start, end
        return None

    def quiet_spans(self, t: datetime) -> list[tuple[datetime, datetime]]:
        """The guardians' quiet hours from the day before `t` to two days after, merged."""
        day = t.astimezone(self.tz).date()
        spans = sorted((self.local(day + timedelta(days=i), w.start), self.local(day + timedelta(days=i), w.end))
                       for i in range(-1, 3) for w in self.user.controls.quiet_hours)
        merged: list[list[datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(a, b) for a, b in merged]

    def quiet_period(self, t: datetime) -> tuple[datetime, datetime] | None:
        """The quiet hours around `t` (start, end), or None when `t` is not in quiet hours."""
        return next(((a, b) for a, b in self.quiet_spans(t) if a <= t < b), None)

    def next_quiet_start(self, t: datetime) -> datetime | None:
        return next((a for a, _ in self.quiet_spans(t) if a > t), None)

    def next_window_start(self, rules: BandRules, t: datetime) -> datetime | None:
        day = t.astimezone(self.tz).date()
        for start, _ in self.intervals(rules, day, _SEARCH_DAYS):
            if start > t:
                return start
        return None
