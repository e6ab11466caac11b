"""The decision: may this user chat now, until when, and if not, why and when again.

`decide()` is pure: it is given the policy, the user's facts, their booked usage and `now`, and
returns a `Decision`. Everything a reader needs to know about why a child was refused is here;
the values it is made of are in domain/decision.py, the calendar it asks in domain/calendar.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from governor.domain import ledger
from governor.domain.bands import band_of, consent_of, next_change
from governor.domain.calendar import Calendar, utc
from governor.domain.decision import ZERO, Decision, Outlook, Reason, Usage, UserFacts, Warning
from governor.domain.policy import Band, BandRules, Policy

IDLE_RESET = timedelta(minutes=15)  # ends continuous use (for rest reminders) in bands with no break rule

# What ends a session, as the kind of each end: the cause its `time_running_out` warning names, or
# a forced break. The time left is of a limit, and use moves its end; the clock's ends stay.
LIMITS = {Reason.DAILY_LIMIT: "daily_limit", Reason.WEEKLY_LIMIT: "weekly_limit"}
CLOCK = ("allowed_hours", "quiet_hours")
BREAK = "break_soon"

# Ties between reasons whose retry_at is equally late go to the earlier one here.
_PRECEDENCE = [Reason.LOCKED, Reason.VERIFICATION_REQUIRED, Reason.CONSENT_REQUIRED, Reason.WEEKLY_LIMIT,
               Reason.DAILY_LIMIT, Reason.CURFEW, Reason.QUIET_HOURS, Reason.COOLDOWN, Reason.TOO_MANY_SESSIONS]


def decide(policy: Policy, user: UserFacts, usage: Usage, now: datetime, *,
           continuing: bool = False, purpose: str | None = None) -> Decision:
    """The decision for starting a session at `now` or, with `continuing`, for keeping one alive
    (then `usage.active_ends` lists the user's other sessions, and their number is no limit).
    A session of a `purpose` with uncounted minutes in the band may also use what is left of them."""
    ctx = Context(policy, user, usage, continuing, policy.zone(user.timezone), purpose)
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
    fixed = [e for e in ends if e[1] not in LIMITS.values()]
    fixed_end, fixed_kind = earliest(fixed) if fixed else (None, None)
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
    ends_at, kind = earliest(ends)
    left = utc(ends_at) - utc(now)
    if left > timedelta(minutes=warn_before_minutes):
        return ends_at, []
    seconds = int(left.total_seconds())
    return ends_at, [Warning(BREAK, seconds) if kind == BREAK else Warning("time_running_out", seconds, cause=kind)]


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


def earliest(ends: list[tuple[datetime, str]]) -> tuple[datetime, str]:
    """The first end and its kind; at a tie, a time limit (time_running_out) wins over a break,
    and among the limits the one listed first."""
    return min(ends, key=lambda e: (utc(e[0]), e[1] == BREAK))


def _latest(retry: datetime | None) -> float:
    return float("inf") if retry is None else retry.timestamp()


@dataclass(frozen=True)
class Context:
    """The questions one decision asks about a user at some time (`t` >= now, "if nothing else
    changes"), each answered once: their band's rules, what stands in the way, their limits, the
    continuous-use run and what ends a session."""

    policy: Policy
    user: UserFacts
    usage: Usage
    continuing: bool
    tz: ZoneInfo
    purpose: str | None = None
    memo: dict = field(default_factory=dict)  # one decision asks the same questions several times
    cal: Calendar = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "cal", Calendar(self.policy, self.tz, self.user.controls.quiet_hours))

    def rules_at(self, t: datetime) -> tuple[Band, BandRules]:
        key = ("rules", t)  # an instant: equal datetimes in other zones are the same key
        if key not in self.memo:
            t = t.astimezone(self.tz)
            band = band_of(self.policy, self.user, t.date(), t)
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
        if rules.requires_parental_consent and consent_of(self.policy, self.user, t) != "granted":
            found.append((Reason.CONSENT_REQUIRED, None))  # section 8: only a parent can lift it
        for reason, left in self.caps(rules, t.date()):
            if left <= ZERO:
                found.append((reason, self.cal.next_week(t) if reason is Reason.WEEKLY_LIMIT else self.cal.next_day(t)))
        if rules.allowed_hours is not None and self.cal.window_containing(rules, t) is None:
            found.append((Reason.CURFEW, self.cal.next_window_start(rules, t)))
        quiet = self.cal.quiet_period(t)
        if quiet is not None:
            found.append((Reason.QUIET_HOURS, quiet[1]))
        streak = self.streak_length(t)
        if rules.continuous_limit_minutes is not None and streak is not None \
                and streak >= timedelta(minutes=rules.continuous_limit_minutes):
            found.append((Reason.COOLDOWN, utc(self.run(rules)[1]) + timedelta(minutes=rules.break_minutes)))
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
        a birthday at a band's boundary (local midnight) or a signal's lapse (bands.next_change).
        The blockers found at `t` hold under the band at `t` only; another band may admit sooner."""
        band = self.rules_at(t.astimezone(self.tz))[0]
        change = next_change(self.policy, self.user, self.tz, t)
        while change is not None and change < until:
            if self.rules_at(change.astimezone(self.tz))[0] != band:
                return change
            change = next_change(self.policy, self.user, self.tz, change)
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
        if utc(t) - utc(last) >= reset_gap(rules):
            return None
        return max(utc(t) - utc(start), ZERO)

    def session_ends(self, now: datetime, rules: BandRules, remaining: timedelta | None):
        """What ends a session running from `now`, each end with its kind: the time left, of the
        limit with least left (LIMITS: the only ends that use moves), the end of the allowed hours
        and the start of quiet hours (CLOCK), the forced break (BREAK)."""
        ends: list[tuple[datetime, str]] = []
        if remaining is not None:
            ends.append((utc(now) + remaining, self.limit_left(rules, now)))
        window = self.cal.window_containing(rules, now) if rules.allowed_hours is not None else None
        if window is not None and window[1] is not None:
            ends.append((window[1], "allowed_hours"))
        quiet = self.cal.next_quiet_start(now)
        if quiet is not None:
            ends.append((quiet, "quiet_hours"))
        if rules.continuous_limit_minutes is not None:
            streak = self.streak_length(now)
            # the streak's own start, not now - streak (clamped at 0 when the clock stepped back)
            start = utc(now) if streak is None else utc(self.run(rules)[0])
            ends.append((start + timedelta(minutes=rules.continuous_limit_minutes), BREAK))
        return ends

    def limit_left(self, rules: BandRules, t: datetime) -> str:
        """The limit whose time left is the least at `t` (the daily one at a tie), as a kind of end."""
        return LIMITS[min(self.caps(rules, t.astimezone(self.tz).date()), key=lambda cap: cap[1])[0]]

    def valid_until(self, now: datetime, rules: BandRules, ends_at: datetime | None,
                    streak: timedelta | None) -> datetime:
        """Until when an allowed decision at `now` changes only by the time used, if no fact
        changes: before a warning could start, the next local midnight (day, week, day type),
        the next instant the band or consent can change (a birthday at a band's boundary, a
        signal's lapse: bands.next_change) and the next rest reminder."""
        until = [utc(self.cal.next_day(now))]
        if ends_at is not None:
            until.append(utc(ends_at) - timedelta(minutes=rules.warn_before_minutes))
        change = next_change(self.policy, self.user, self.tz, now)
        if change is not None:
            until.append(utc(change))
        for minutes in (rules.rest_reminder_minutes, self.user.controls.rest_reminder_minutes):
            if minutes is not None:
                every = timedelta(minutes=minutes)
                start = utc(now) if streak is None else utc(self.run(rules)[0])
                passed = 0 if streak is None else streak // every
                until.append(start + every * (passed + 1))
        return min(until)
