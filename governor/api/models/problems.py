"""Errors (RFC 9457 problems) and the ops endpoints' answers."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from governor.api.models.base import Out


class ProblemError(BaseModel):
    """One invalid field."""
    model_config = ConfigDict(use_attribute_docstrings=True)
    field: str
    """the field's dotted path, or `(body)`"""
    message: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details (`application/problem+json`); some types add members (`errors`,
    `end_reason`, `band_daily_limit_minutes`, ...)."""
    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)
    type: str
    """stable, e.g. `urn:governor:problem:validation-error`; branch on it, not on `detail`"""
    title: str
    status: int
    detail: str
    """what is wrong, for a person"""
    errors: list[ProblemError] | None = None
    """a 422's invalid fields"""


class SessionEndedOut(ProblemOut):
    """The 409 of a heartbeat to an ended session: why it ended."""
    end_reason: str


class StatusOk(Out):
    """Alive (`ok`) or ready (`ready`)."""
    status: str


class NotReady(Out):
    """Not ready: the database cannot be reached."""
    status: str
    database: str
