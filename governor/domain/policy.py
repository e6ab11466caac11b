"""Policies as data (DESIGN section 2): frozen values, parsed and validated from a plain mapping.

A policy document is what a TOML file or a JSON body holds. Every problem is reported as
`PolicyInvalid(field, problem)` naming the dotted field, so a bad file stops start-up with one
clear line and a bad admin PUT gets a 422 that says what to fix.
"""
from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from governor.domain import age as ages


class Band(enum.StrEnum):
    """The standard bands' names. A policy may name its own (DESIGN section 8): a band is a name
    (str); `adult` and `unverified` exist in every policy."""

    UNDER_8 = "under_8"
    AGE_8_15 = "age_8_15"
    AGE_16_17 = "age_16_17"
    ADULT = "adult"
    UNVERIFIED = "unverified"


WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_KEYS = ("default", "weekday", "weekend", "holiday") + WEEKDAY_KEYS
_MISSING = object()


class PolicyInvalid(ValueError):
    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}" if field else problem)


@dataclass(frozen=True)
class Window:
    """Allowed hours: minutes after the local midnight of the day it belongs to; `end` may pass
    1440 for a window that crosses midnight ("20:00-02:00" is 1200..1560)."""

    start: int
    end: int


@dataclass(frozen=True)
class ByDay:
    """A rule that may differ by day type. Lookup order: `holiday` (dates in the calendar), the
    weekday's own key (`fri`), `weekend`/`weekday`, then `default`."""

    values: tuple[tuple[str, Any], ...]

    def for_day(self, day: date, holiday: bool) -> Any:
        table = dict(self.values)
        keys = (("holiday",) if holiday else ()) + (
            WEEKDAY_KEYS[day.weekday()], "weekend" if day.weekday() >= 5 else "weekday", "default")
        for key in keys:
            if key in table:
                return table[key]
        return _MISSING


@dataclass(frozen=True)
class BandRules:
    daily_limit: ByDay | None = None  # minutes, or None inside = unlimited
    weekly_limit_minutes: int | None = None
    allowed_hours: ByDay | None = None  # tuples of Window; None = always allowed
    continuous_limit_minutes: int | None = None
    break_minutes: int | None = None
    max_concurrent_sessions: int | None = None
    warn_before_minutes: int = 0
    rest_reminder_minutes: int | None = None
    requires_verification: bool = False
    uncounted_minutes: tuple[tuple[str, int], ...] = ()  # purpose -> minutes a day kept out of the limits
    guardian_grant_max_minutes: int | None = None  # None: guardians may not grant
    min_age: int | None = None  # section 8: the band holds users from this age to the next band's
    requires_parental_consent: bool = False  # section 8: no chat until a parent's consent is granted

    def uncounted_for(self, purpose: str | None) -> int:
        """Minutes a local day that sessions of `purpose` may use without counting (0: they count)."""
        return dict(self.uncounted_minutes).get(purpose, 0) if purpose is not None else 0

    def daily_limit_minutes(self, day: date, holiday: bool) -> int | None:
        if self.daily_limit is None:
            return None
        value = self.daily_limit.for_day(day, holiday)
        return None if value is _MISSING else value

    def windows(self, day: date, holiday: bool) -> tuple[Window, ...] | None:
        """The day's allowed-hours windows, or None when the band has no hours rule."""
        if self.allowed_hours is None:
            return None
        value = self.allowed_hours.for_day(day, holiday)
        return None if value is _MISSING else value


@dataclass(frozen=True)
class Policy:
    name: str
    timezone: str
    holidays: frozenset[date]
    bands: Mapping[str, BandRules]
    document: Mapping[str, Any] = field(compare=False, repr=False)
    version: int = 0
    scale: ages.Scale = ages.STANDARD  # section 8: the bands' ages, `adult_min_assurance`, validity

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def zone(self, user_timezone: str | None) -> ZoneInfo:
        """The zone of a user's local day: their own if they have one, else the policy's."""
        return ZoneInfo(user_timezone) if user_timezone else self.tz

    @property
    def purposes(self) -> tuple[str, ...]:
        """Every purpose some band names (section 7): the purposes a session may declare."""
        return tuple(sorted({p for rules in self.bands.values() for p, _ in rules.uncounted_minutes}))

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays

    def with_version(self, version: int) -> Policy:
        return Policy(self.name, self.timezone, self.holidays, self.bands, self.document, version, self.scale)

    def age_fields(self) -> dict[str, Any]:
        """The section 8 settings as they apply, defaults included (what GET /v1/admin/policy shows)."""
        s = self.scale
        return {"adult_age": s.adult_age, "adult_min_assurance": s.adult_min_assurance,
                "age_signal_valid_days": s.valid_days}


# --- parsing -------------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_WINDOW = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RULE_KEYS = {f for f in BandRules.__dataclass_fields__ if f != "daily_limit"} | {"daily_limit_minutes"}
BAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
STANDARD_AGES = {"under_8": 0, "age_8_15": 8, "age_16_17": 16}  # a band of these names may omit min_age
_TOP_KEYS = {"name", "timezone", "holidays", "bands", "description", "adult_age", "adult_min_assurance",
             "age_signal_valid_days"}
PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def load_policy_file(path: str | Path) -> Policy:
    """Read and validate a TOML policy; errors name the file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise PolicyInvalid("", f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise PolicyInvalid("", f"{path}: not valid TOML: {e}") from None
    try:
        return parse_policy(doc)
    except PolicyInvalid as e:
        raise PolicyInvalid(e.field, f"{e.problem} (in {path})") from None


def parse_policy(doc: Mapping[str, Any]) -> Policy:
    if not isinstance(doc, Mapping):
        raise PolicyInvalid("", "a policy must be an object")
    _no_unknown(doc, _TOP_KEYS, "")
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PolicyInvalid("name", "required: 1-64 characters of letters, digits, '.', '_' or '-'")
    timezone = doc.get("timezone")
    if not isinstance(timezone, str) or not _valid_zone(timezone):
        raise PolicyInvalid("timezone", "required: an IANA time zone such as 'Asia/Shanghai'")
    description = doc.get("description", "")
    if not isinstance(description, str) or len(description) > 2000:
        raise PolicyInvalid("description", "must be text of at most 2000 characters")
    holidays = _holidays(doc.get("holidays", []))
    bands_doc = doc.get("bands")
    if not isinstance(bands_doc, Mapping):
        raise PolicyInvalid("bands", "required: a table with one entry per band")
    bands = {}
    for band, rules in bands_doc.items():
        if not isinstance(band, str) or not BAND_NAME.fullmatch(band):
            raise PolicyInvalid(f"bands.{band}", "a band's name is 1-32 characters of a-z, 0-9 or '_'")
        bands[band] = _band_rules(rules, f"bands.{band}")
    for band in (Band.ADULT.value, Band.UNVERIFIED.value):
        if band not in bands:
            raise PolicyInvalid(f"bands.{band}", "missing: every policy has this band (an empty table allows all)")
    bands, scale = _scale(doc, bands)
    normal = {"name": name, "timezone": timezone, "description": description,
              "holidays": sorted(d.isoformat() for d in holidays),
              "bands": {k: _jsonable(v) for k, v in bands_doc.items()}}
    normal.update({k: doc[k] for k in ("adult_age", "adult_min_assurance", "age_signal_valid_days") if k in doc})
    return Policy(name, timezone, frozenset(holidays), bands, normal, scale=scale)


def _scale(doc: Mapping[str, Any], bands: dict[str, BandRules]) -> tuple[dict[str, BandRules], ages.Scale]:
    """Section 8: each band but `unverified` holds users from its `min_age` (the standard bands'
    by default, `adult` at `adult_age`) to the next band's; the youngest starts at 0."""
    adult_age = _int(doc.get("adult_age", 18), "adult_age", 1)
    if adult_age is None or adult_age > ages.MAX_AGE:
        raise PolicyInvalid("adult_age", f"must be a whole number from 1 to {ages.MAX_AGE}")
    assurance = doc.get("adult_min_assurance", "substantial")
    if assurance not in ages.ASSURANCES:
        raise PolicyInvalid("adult_min_assurance", "must be one of " + ", ".join(ages.ASSURANCES))
    valid_days = _int(doc.get("age_signal_valid_days", 365), "age_signal_valid_days", 1)
    if valid_days is None:
        raise PolicyInvalid("age_signal_valid_days", "must be a whole number from 1 to 100000")
    out, lower, seen = {}, [], {}
    for name, rules in bands.items():
        where = f"bands.{name}.min_age"
        min_age = rules.min_age
        if name == Band.UNVERIFIED:
            if min_age is not None:
                raise PolicyInvalid(where, "unverified holds the users whose age is not established: no min_age")
        elif name == Band.ADULT:
            if min_age is not None and min_age != adult_age:
                raise PolicyInvalid(where, f"adult starts at adult_age ({adult_age})")
            if rules.requires_parental_consent:
                raise PolicyInvalid(f"bands.{name}.requires_parental_consent", "parental consent is for minors")
            min_age = adult_age
        else:
            if min_age is None:
                if name not in STANDARD_AGES:
                    raise PolicyInvalid(where, "required for a band not named under_8, age_8_15 or age_16_17")
                min_age = STANDARD_AGES[name]
            if min_age >= adult_age:
                raise PolicyInvalid(where, f"must be below adult_age ({adult_age}): adult holds every age above")
        if name != Band.UNVERIFIED:
            if min_age in seen:
                raise PolicyInvalid(where, f"{min_age} is also the min_age of {seen[min_age]}")
            seen[min_age] = name
            lower.append((name, min_age))
        out[name] = rules  # as written; the ages that apply are the scale's
    lower.sort(key=lambda b: b[1])
    if lower[0][1] != 0:
        raise PolicyInvalid(f"bands.{lower[0][0]}.min_age", "the youngest band must start at 0")
    return out, ages.Scale(tuple(lower), adult_age, assurance, valid_days)


def _band_rules(doc: Any, where: str) -> BandRules:
    if not isinstance(doc, Mapping):
        raise PolicyInvalid(where, "must be a table of rules")
    _no_unknown(doc, _RULE_KEYS, where)
    opt = lambda key, lo: _int(doc.get(key), f"{where}.{key}", lo)  # noqa: E731
    continuous, pause = opt("continuous_limit_minutes", 1), opt("break_minutes", 1)
    if (continuous is None) != (pause is None):
        raise PolicyInvalid(f"{where}.break_minutes", "continuous_limit_minutes and break_minutes go together")
    requires = doc.get("requires_verification", False)
    if not isinstance(requires, bool):
        raise PolicyInvalid(f"{where}.requires_verification", "must be true or false")
    consent = doc.get("requires_parental_consent", False)
    if not isinstance(consent, bool):
        raise PolicyInvalid(f"{where}.requires_parental_consent", "must be true or false")
    min_age = opt("min_age", 0)
    if min_age is not None and min_age > ages.MAX_AGE:
        raise PolicyInvalid(f"{where}.min_age", f"must be a whole number from 0 to {ages.MAX_AGE}")
    daily = doc.get("daily_limit_minutes")
    return BandRules(
        daily_limit=None if daily is None else _by_day(daily, f"{where}.daily_limit_minutes",
                                                       lambda v, w: _int(v, w, 0)),
        weekly_limit_minutes=opt("weekly_limit_minutes", 0),
        allowed_hours=None if doc.get("allowed_hours") is None else _by_day(
            doc["allowed_hours"], f"{where}.allowed_hours", _windows),
        continuous_limit_minutes=continuous,
        break_minutes=pause,
        max_concurrent_sessions=opt("max_concurrent_sessions", 1),
        warn_before_minutes=opt("warn_before_minutes", 0) or 0,
        rest_reminder_minutes=opt("rest_reminder_minutes", 1),
        requires_verification=requires,
        uncounted_minutes=_uncounted(doc.get("uncounted_minutes"), f"{where}.uncounted_minutes"),
        guardian_grant_max_minutes=opt("guardian_grant_max_minutes", 0),
        min_age=min_age,
        requires_parental_consent=consent,
    )


def _uncounted(value: Any, where: str) -> tuple[tuple[str, int], ...]:
    """`{learning = 60}`: purpose names (lower case, 1-32 of a-z 0-9 _ -) to minutes a day."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise PolicyInvalid(where, "must be a table of purpose = minutes, e.g. {learning = 60}")
    out = []
    for purpose, minutes in value.items():
        if not isinstance(purpose, str) or not PURPOSE.match(purpose):
            raise PolicyInvalid(f"{where}.{purpose}", "a purpose is 1-32 characters of a-z, 0-9, '_' or '-'")
        if minutes is None:
            raise PolicyInvalid(f"{where}.{purpose}", "must be a whole number from 0 to 100000")
        out.append((purpose, _int(minutes, f"{where}.{purpose}", 0)))
    return tuple(sorted(out))


def _by_day(value: Any, where: str, parse) -> ByDay:
    if not isinstance(value, Mapping):
        return ByDay((("default", parse(value, where)),))
    _no_unknown(value, set(DAY_KEYS), where)
    if "default" not in value and not {"weekday", "weekend"} <= value.keys():
        raise PolicyInvalid(where, "a table per day type needs 'default', or both 'weekday' and 'weekend'")
    return ByDay(tuple((k, parse(v, f"{where}.{k}")) for k, v in value.items()))


def _windows(value: Any, where: str) -> tuple[Window, ...]:
    if not isinstance(value, list):
        raise PolicyInvalid(where, 'must be a list of "HH:MM-HH:MM" windows')
    out = []
    for i, text in enumerate(value):
        m = _WINDOW.fullmatch(text) if isinstance(text, str) else None
        if not m:
            raise PolicyInvalid(f"{where}[{i}]", f'{text!r} is not "HH:MM-HH:MM"')
        h1, m1, h2, m2 = map(int, m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise PolicyInvalid(f"{where}[{i}]", f"{text!r} is not a time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end == start:
            raise PolicyInvalid(f"{where}[{i}]", f"{text!r} is empty")
        out.append(Window(start, end if end > start else end + 1440))
    return tuple(sorted(out, key=lambda w: w.start))


def parse_windows(value: Any, where: str) -> tuple[Window, ...]:
    """Windows written as `allowed_hours` are ("HH:MM-HH:MM", midnight may be crossed)."""
    return _windows(value, where)


def _int(value: Any, where: str, lo: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= 100_000:
        raise PolicyInvalid(where, f"must be a whole number from {lo} to 100000")
    return value


def _holidays(value: Any) -> set[date]:
    if not isinstance(value, list):
        raise PolicyInvalid("holidays", "must be a list of dates (YYYY-MM-DD)")
    out = set()
    for i, item in enumerate(value):
        try:  # a TOML date or "YYYY-MM-DD"; a TOML datetime is no day (it would never match one)
            out.add(item if type(item) is date else date.fromisoformat(_DATE.fullmatch(item)[0]))
        except (TypeError, ValueError):
            raise PolicyInvalid(f"holidays[{i}]", f"{item!r} is not a date (YYYY-MM-DD)") from None
    return out


def _no_unknown(doc: Mapping, allowed: set[str], where: str) -> None:
    for key in doc:
        if key not in allowed:
            raise PolicyInvalid(f"{where}.{key}" if where else str(key), "unknown field")


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
