"""The console's form fields, checked as strictly as the API's request models check JSON."""
from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from governor.domain.policy import _valid_zone
from governor.errors import InvalidRequest

USER_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def valid_user_id(value: str) -> bool:
    return bool(USER_ID.fullmatch(value))


def whole(raw: str, name: str, low: int, high: int) -> int:
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not low <= int(raw) <= high:
        raise InvalidRequest(f"{name}: a whole number from {low} to {high}")
    return int(raw)


def text(form, name: str, max_length: int) -> str | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    if len(value) > max_length or CONTROLS.search(value):
        raise InvalidRequest(f"{name}: at most {max_length} characters, without control characters")
    return value


def reason(form) -> str | None:
    return text(form, "reason", 500)


def day(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        d = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        d = None
    if d is None or not date(1900, 1, 1) <= d <= date(2200, 1, 1):
        raise InvalidRequest("date: a date, YYYY-MM-DD")
    return d


def grant(form) -> tuple[int, date | None, str | None]:
    return whole(form.get("minutes", ""), "minutes", 1, 1440), day(form.get("date", "")), reason(form)


def lock(form, zone: ZoneInfo, now: datetime) -> tuple[datetime | None, str | None]:
    """`until` comes from a datetime-local field: a wall time in the user's zone."""
    raw = form.get("until", "").strip()
    until = None
    if raw:
        try:
            until = datetime.fromisoformat(raw).replace(tzinfo=zone) if len(raw) <= 19 else None
        except ValueError:
            until = None
        if until is None or not 1970 <= until.year <= 2200:
            raise InvalidRequest("until: a local date and time, or empty to lock until unlocked")
    return until, reason(form)


def settings(form) -> tuple[str | None, int | None]:
    tz = form.get("timezone", "").strip() or None
    if tz is not None and (len(tz) > 64 or not _valid_zone(tz)):
        raise InvalidRequest("timezone: an IANA time zone such as 'Asia/Shanghai', or empty for the policy's")
    raw = form.get("daily_limit_minutes", "").strip()
    return tz, whole(raw, "daily_limit_minutes", 0, 1440) if raw else None


def complaint(form) -> tuple[str | None, str | None, str | None]:
    status = form.get("status", "").strip() or None
    if status not in (None, "assigned", "resolved", "rejected"):
        raise InvalidRequest("status: assigned, resolved or rejected")
    return status, text(form, "assignee", 64), text(form, "resolution", 2000)
