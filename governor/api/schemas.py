"""Request models (pydantic: unknown fields, wrong types and bad values are 422s) and the JSON
shapes of the answers."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from flask import request
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

from governor.domain.engine import Decision, Verification
from governor.errors import InvalidRequest, MalformedRequest

USER_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
UserId = Annotated[str, StringConstraints(pattern=USER_ID.pattern)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StartSession(Model):
    user_id: UserId


class AgeVerification(Model):
    status: Literal["verified", "self_declared", "unverified"]
    birth_date: date | None = None
    method: Text | None = None
    provider: Text | None = None
    assurance: Literal["low", "substantial", "high"] | None = None
    expires_at: AwareDatetime | None = None

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


def body(model: type[Model]) -> Any:
    """The request body validated by `model` (malformed JSON is a 400, the rest a 422)."""
    return model.model_validate_json(request.get_data(cache=False) or b"")


def no_body() -> None:
    """Nothing, or an empty JSON object however it is spaced; malformed JSON is a 400 as elsewhere."""
    raw = request.get_data(cache=False)
    if not raw.strip():
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
        "used_today_seconds": int(d.used_today.total_seconds()),
        "remaining_seconds": None if d.remaining is None else int(d.remaining.total_seconds()),
        "ends_at": iso(d.ends_at), "retry_at": iso(d.retry_at),
        "warnings": [{"type": w.type, "seconds_left": w.seconds_left} for w in d.warnings],
        "policy": {"name": d.policy_name, "version": d.policy_version},
    }


def verification_json(v: Verification | None) -> dict[str, Any] | None:
    if v is None:
        return None
    # The stored instants, in UTC, as a read gives them back (not as the request spelled them).
    return {"status": v.status, "birth_date": v.birth_date and v.birth_date.isoformat(), "method": v.method,
            "provider": v.provider, "assurance": v.assurance, "expires_at": iso(_utc(v.expires_at)),
            "verified_at": iso(_utc(v.verified_at))}


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(timezone.utc)
