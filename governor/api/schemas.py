"""Request models (pydantic: unknown fields, wrong types and bad values are 422s) and the JSON
shapes of the answers."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from flask import request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    field_validator,
    model_validator,
)
from werkzeug.exceptions import ClientDisconnected, RequestTimeout

from governor.api.models.base import Window  # noqa: F401  (request models type windows as answers do)
from governor.domain.decision import Decision, Verification, Warning
from governor.errors import InvalidRequest, MalformedRequest

USER_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
UserId = Annotated[str, StringConstraints(pattern=USER_ID.pattern)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # text with line breaks, no other controls
INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"  # RFC 3339
MAX_JSON_DEPTH = 32  # far more than any request needs; deeper nesting is refused before parsing
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=timezone.utc)
LAST_INSTANT = datetime(2200, 1, 1, tzinfo=timezone.utc)


def bounded(t: datetime) -> datetime:
    """An instant between 1970 and 2200: far enough for any real date, and far from the edges
    of the calendar where converting between zones overflows."""
    if not FIRST_INSTANT <= t <= LAST_INSTANT:
        raise ValueError("must be between 1970 and 2200")
    return t


Instant = Annotated[AwareDatetime, AfterValidator(bounded)]


def note(max_length: int):
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length, pattern=NOTE_PATTERN)]


class Model(BaseModel):
    """A request body: unknown fields, wrong types and bad values are 422s. The class's docstring and
    each field's are the descriptions of the OpenAPI document."""
    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


Purpose = Annotated[str, StringConstraints(min_length=1, max_length=64)]  # the policy names the known ones


class StartSession(Model):
    """Start a session for a user."""
    user_id: UserId
    """the user's opaque id, chosen by the frontend: 1-128 of A-Z a-z 0-9 . _ : @ -"""
    purpose: Purpose | None = None
    """a purpose the active policy names (e.g. `learning`), whose uncounted minutes may apply"""


class AgeVerification(Model):
    """What a verifier established about a user's age."""
    status: Literal["verified", "self_declared", "unverified"]
    """`verified` (checked), `self_declared` (believed only when it makes the user a minor), or
    `unverified` (withdraws a verification)"""
    birth_date: date | None = None
    """required unless `unverified`; from 1900"""
    method: Text | None = None
    """how it was checked, e.g. `id_document`"""
    provider: Text | None = None
    """who checked it"""
    assurance: Literal["low", "substantial", "high"] | None = None
    expires_at: Instant | None = None
    """when it stops counting (RFC 3339 with offset); absent: never"""

    @field_validator("birth_date")
    @classmethod
    def _plausible(cls, v: date | None) -> date | None:
        if v is not None and v < date(1900, 1, 1):
            raise ValueError("must be a real birth date, not before 1900")
        return v

    @model_validator(mode="after")
    def _needs_birth_date(self):
        if self.status != "unverified" and self.birth_date is None:
            raise ValueError(f"birth_date is required when status is {self.status!r}")
        return self

    def to_domain(self) -> Verification:
        return Verification(status=self.status, birth_date=self.birth_date, method=self.method,
                            provider=self.provider, assurance=self.assurance, expires_at=self.expires_at)


def raw_body() -> bytes:
    """The request body, read once; its nesting checked (the size is Flask's MAX_CONTENT_LENGTH,
    for chunked bodies too)."""
    try:
        raw = request.get_data(cache=False)
        if raw and request.content_length is None:
            # A chunked body stops at the cap without an error; reading on past it raises the 413.
            request.stream.read(1)
    except ClientDisconnected as e:  # Werkzeug's answer to any read error, the server's timeout included
        if isinstance(e.__context__, TimeoutError):
            raise RequestTimeout("the body stopped arriving before it was complete") from None
        raise
    if raw:
        check_depth(raw)
    return raw


def check_depth(raw: bytes) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (a parser's recursion is not a client's to
    exhaust). Counting brackets is enough for almost every body; only one with more brackets
    than the limit is scanned, outside its strings."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    depth = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if m[0] in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise InvalidRequest(f"the body is nested deeper than {MAX_JSON_DEPTH} levels",
                                 errors=[{"field": "(body)", "message": "nested too deeply"}])


def body(model: type[Model]) -> Any:
    """The request body validated by `model` (malformed JSON is a 400, the rest a 422)."""
    return model.model_validate_json(raw_body() or b"")


def optional_body(model: type[Model]) -> Any:
    """As `body`, but no body at all (zero bytes) means the model's defaults."""
    raw = raw_body()
    return model.model_validate_json(raw) if raw else model()


def json_body() -> Any:
    """The body as plain JSON (for documents that the domain validates)."""
    try:
        return json.loads(raw_body() or b"")
    except ValueError:
        raise MalformedRequest("the body must be a JSON object") from None


def no_body() -> None:
    """Nothing (zero bytes), or an empty JSON object however it is spaced; anything else that is
    not JSON (whitespace alone included) is a 400 as elsewhere."""
    raw = raw_body()
    if not raw:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        raise MalformedRequest("the body must be empty or a JSON object") from None
    if value != {}:
        raise InvalidRequest("this request takes no body (or an empty JSON object)")


def user_id(value: str) -> str:
    if not USER_ID.fullmatch(value):  # not match(): `$` would let a trailing newline through
        raise InvalidRequest("user_id must be 1-128 characters of A-Z a-z 0-9 . _ : @ -",
                             errors=[{"field": "user_id", "message": "invalid user id"}])
    return value


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="seconds")


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "user_id": d.user_id, "allowed": d.allowed, "reason": d.reason.value, "band": d.band.value,
        "used_today_seconds": d.used_today_seconds, "remaining_seconds": d.remaining_seconds,
        "ends_at": iso(d.ends_at), "retry_at": iso(d.retry_at),
        "warnings": [warning_json(w) for w in d.warnings],
        "policy": {"name": d.policy_name, "version": d.policy_version},
    }


def warning_json(w: Warning) -> dict[str, Any]:
    """A warning; `number` for a rest reminder, `cause` (what runs out) for time_running_out."""
    out: dict[str, Any] = {"type": w.type, "seconds_left": w.seconds_left}
    if w.type == "rest_reminder":
        out["number"] = w.number
    elif w.type == "time_running_out":
        out["cause"] = w.cause
    return out


def verification_json(v: Verification | None, now: datetime) -> dict[str, Any] | None:
    """The verification as of `now`: `status` reads `expired` once `expires_at` has passed."""
    if v is None:
        return None
    # The stored instants, in UTC, as a read gives them back (not as the request spelled them).
    return {"status": v.status_at(now), "birth_date": v.birth_date and v.birth_date.isoformat(), "method": v.method,
            "provider": v.provider, "assurance": v.assurance, "expires_at": iso(_utc(v.expires_at)),
            "verified_at": iso(_utc(v.verified_at))}


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(timezone.utc)


def query(*names: str) -> dict[str, str]:
    """The query parameters, when they are among `names` and each given once: a typo or a second
    value is a 422, not silently ignored."""
    for name, values in request.args.lists():
        if name not in names or len(values) > 1:
            problem = "unknown parameter" if name not in names else "given more than once"
            raise InvalidRequest(f"{name[:40]}: {problem}", errors=[{"field": name[:40], "message": problem}])
    return request.args.to_dict()


def instant_arg(name: str, value: str | None) -> datetime | None:
    """A query parameter holding an RFC 3339 time with its offset (1970-2200); absent is None,
    empty is invalid, as for every parameter."""
    if value is None:
        return None
    try:
        if not re.fullmatch(INSTANT_PATTERN, value, re.ASCII):  # RFC 3339: with its offset, never naive
            raise ValueError
        t = bounded(datetime.fromisoformat(value.upper().replace("Z", "+00:00")))
    except ValueError:
        raise InvalidRequest(f"{name}: an ISO 8601 time with its offset, e.g. 2026-12-02T07:00:00+08:00",
                             errors=[{"field": name, "message": "not a time with an offset"}]) from None
    return t


def date_arg(name: str, value: str | None) -> date | None:
    """A query parameter holding a date, YYYY-MM-DD, from 1900 to 2200."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):  # not the week dates fromisoformat takes
            raise ValueError
        d = date.fromisoformat(value)
        if not date(1900, 1, 1) <= d <= date(2200, 1, 1):
            raise ValueError
    except ValueError:
        raise InvalidRequest(f"{name}: a date, YYYY-MM-DD, from 1900 to 2200",
                             errors=[{"field": name, "message": "not a date"}]) from None
    return d
