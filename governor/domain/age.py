"""A user's age from every signal about it (DESIGN section 8), pure.

A signal says that a user's age lay in `age_min..age_max` on the day it was observed. That is a
span of possible birth dates, which never moves: a user seen as 13-15 in March is 13-16 in
December, and their band changes on the right day without anyone sending the signal again. A
birth date (PUT .../age-verification) is a span of one day.

`derive()` is the rule a regulator reads, in one place:

1. Take the current signals (not lapsed). A `self_declared` or `estimated` one that alone would
   place the user in `adult` is ignored: saying "I am an adult" unlocks nothing.
2. Among the rest, keep those of the highest assurance.
3. Intersect their spans where they agree; where they contradict, the youngest span stands.
   The band is the youngest band that today's age span touches: when unsure, protect.
4. `adult` also needs at least the policy's `adult_min_assurance`; short of it, `unverified`.
   No signal at all: `unverified`.

`next_change()` names the instant at which the answer can next differ (a birthday of a span's
youngest birth date at a band's boundary, a signal's lapse), so a stored decision is valid until
then and no heartbeat or status derives the band again before it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

METHODS = ("self_declared", "guardian_declared", "payment_checked", "id_checked", "estimated", "other")
ASSURANCES = ("low", "substantial", "high")  # in rising order
CONSENTS = ("granted", "pending", "denied", "revoked")
WEAK = frozenset({"self_declared", "estimated"})  # never unlock `adult` (step 1)
VERIFICATION = "verification"  # the source of PUT .../age-verification
UNVERIFIED, ADULT = "unverified", "adult"
MAX_AGE = 150
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # when a verification of unknown time was made


@dataclass(frozen=True)
class Scale:
    """What a policy says about ages: its bands' lower bounds, youngest first (`adult` among them,
    at `adult_age`), the assurance that `adult` needs, and how long a signal without an
    `expires_at` holds."""

    bands: tuple[tuple[str, int], ...]
    adult_age: int = 18
    adult_min_assurance: str = "substantial"
    valid_days: int = 365

    def band_at(self, age: int) -> str:
        found = self.bands[0][0]
        for name, min_age in self.bands:
            if age >= min_age:
                found = name
        return found


STANDARD = Scale((("under_8", 0), ("age_8_15", 8), ("age_16_17", 16), (ADULT, 18)))


@dataclass(frozen=True)
class Signal:
    """One source's say about a user's age: born between `born_from` (None: no lower bound, the
    user may be any age above `age_min`) and `born_to`, inclusive, both local dates."""

    source: str
    born_from: date | None
    born_to: date
    method: str
    assurance: str
    observed_at: datetime
    expires_at: datetime | None = None
    parental_consent: str | None = None

    def lapses_at(self, scale: Scale) -> datetime | None:
        """When the signal stops counting: its `expires_at`, else the policy's validity after it
        was observed. A birth date from a verification lapses only at its own `expires_at`."""
        if self.expires_at is not None or self.source == VERIFICATION:
            return self.expires_at
        return self.observed_at + timedelta(days=scale.valid_days)


@dataclass(frozen=True)
class Age:
    """The user's age as the decision uses it, on a local day."""

    band: str
    age_min: int | None  # the combined span's, on that day; None without a signal that counts
    age_max: int | None  # None: no upper bound (or no signal)
    basis: tuple[str, ...]  # the sources that decided, in order of source name


# -- ages and birth dates ----------------------------------------------------------------------

def age_on(born: date, day: date) -> int:
    """Whole years on `day` of someone born on `born` (29 February counts from 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def latest_birth(day: date, age: int) -> date:
    """The latest birth date of someone at least `age` on `day`."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February in a year without one: born on the 28th, they are `age` today
        return date(day.year - age, 2, 28)


def birthday(born: date, age: int) -> date:
    """The day on which someone born on `born` reaches `age`."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return date(born.year + age, 3, 1)


def span(age_min: int, age_max: int | None, observed_on: date) -> tuple[date | None, date]:
    """The birth dates of someone aged `age_min`..`age_max` on `observed_on`."""
    born_to = latest_birth(observed_on, age_min)
    born_from = None if age_max is None else latest_birth(observed_on, age_max + 1) + timedelta(days=1)
    return born_from, born_to


# -- the rule ----------------------------------------------------------------------------------

def current(signals: Iterable[Signal], scale: Scale, now: datetime) -> list[Signal]:
    """The signals that have not lapsed at `now`."""
    out = []
    for s in signals:
        lapse = s.lapses_at(scale)
        if lapse is None or lapse > now:
            out.append(s)
    return out


def derive(scale: Scale, signals: Iterable[Signal], today: date, now: datetime) -> Age:
    """The user's band on local date `today` at instant `now` from `signals` (steps 1-4 above)."""
    live = [s for s in current(signals, scale, now)
            if not (s.method in WEAK and age_on(s.born_to, today) >= scale.adult_age)]  # step 1
    if not live:
        return Age(UNVERIFIED, None, None, ())
    top = max(_rank(s.assurance) for s in live)
    best = sorted((s for s in live if _rank(s.assurance) == top),  # step 2, youngest first
                  key=lambda s: (s.born_to, s.born_from or date.min, s.source), reverse=True)
    lo, hi, basis = best[0].born_from, best[0].born_to, [best[0].source]
    for s in best[1:]:  # step 3: agreeing spans narrow it; a contradicting (older) one is outvoted
        new_lo = max(lo or date.min, s.born_from or date.min)
        new_hi = min(hi, s.born_to)
        if new_lo <= new_hi:
            lo, hi = (None if new_lo == date.min else new_lo), new_hi
            basis.append(s.source)
    youngest = age_on(hi, today)
    band = scale.band_at(youngest)
    if band == ADULT and top < _rank(scale.adult_min_assurance):  # step 4
        band = UNVERIFIED
    return Age(band, youngest, None if lo is None else age_on(lo, today), tuple(sorted(basis)))


def consent(signals: Iterable[Signal], guardians: Iterable[tuple[str, datetime]], scale: Scale,
            now: datetime) -> str | None:
    """The parental consent in force: the latest of the current signals that carry one (at their
    `observed_at`) and the linked guardians' own (at when they gave or withdrew it). At the same
    instant a refusal outranks a grant. None: nobody has said anything."""
    said = [(s.observed_at, s.parental_consent) for s in current(signals, scale, now) if s.parental_consent]
    said += list(guardians)
    if not said:
        return None
    return max(said, key=lambda c: (c[0], c[1] != "granted"))[1]


def next_change(scale: Scale, signals: Iterable[Signal], tz: ZoneInfo, now: datetime) -> datetime | None:
    """The first instant after `now` at which `derive()` or `consent()` can answer otherwise if no
    signal changes: a lapse, or the local midnight on which a span's youngest birth date reaches
    a band's lower bound or the age of majority. None: never."""
    found = []
    ages = sorted({a for _, a in scale.bands} | {scale.adult_age})
    for s in signals:
        lapse = s.lapses_at(scale)
        if lapse is not None and lapse > now:
            found.append(lapse)
        for a in ages:
            day = birthday(s.born_to, a)
            if day.year > 9998:
                continue
            at = datetime.combine(day, time(0), tzinfo=tz)
            if at > now:
                found.append(at)
                break  # later boundaries of this signal come after this one
    return min(found, default=None)


def _rank(assurance: str) -> int:
    return ASSURANCES.index(assurance)


# -- the copy kept on the user's row -----------------------------------------------------------

def dumps(signals: Iterable[Signal]) -> str | None:
    """The signals as the user's row keeps them (the hot paths read them with the row)."""
    out = [[s.source, s.born_from and s.born_from.isoformat(), s.born_to.isoformat(), s.method, s.assurance,
            s.observed_at.isoformat(), s.expires_at and s.expires_at.isoformat(), s.parental_consent]
           for s in sorted(signals, key=lambda s: s.source)]
    return json.dumps(out) if out else None


@lru_cache(maxsize=4096)
def loads(text: str | None) -> tuple[Signal, ...]:
    """The signals from the user's row's copy; parsed once per distinct text."""
    if not text:
        return ()
    return tuple(Signal(source, born_from and date.fromisoformat(born_from), date.fromisoformat(born_to), method,
                        assurance, datetime.fromisoformat(observed), expires and datetime.fromisoformat(expires),
                        consent)
                 for source, born_from, born_to, method, assurance, observed, expires, consent in json.loads(text))


def from_verification(status: str | None, born: date | None, assurance: str | None,
                      expires_at: datetime | None, verified_at: datetime | None) -> Signal | None:
    """The verification as a signal of source `verification` (DESIGN section 8): `verified`
    counts as `id_checked` at its assurance (default `substantial`), `self_declared` as
    `self_declared` (default `low`); `unverified`, or no birth date, is no signal."""
    if status not in ("verified", "self_declared") or born is None:
        return None
    method = "id_checked" if status == "verified" else "self_declared"
    default = "substantial" if status == "verified" else "low"
    return Signal(VERIFICATION, born, born, method, assurance if assurance in ASSURANCES else default,
                  verified_at or EPOCH, expires_at)
