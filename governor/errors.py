"""Errors that reach a client. Each carries its RFC 9457 problem `type` (stable, under
PROBLEM_BASE), its status and title; the API turns them into application/problem+json."""
from __future__ import annotations

from typing import Any

PROBLEM_BASE = "urn:governor:problem:"


class Problem(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"type": PROBLEM_BASE + self.type, "title": self.title, "status": self.status,
                "detail": self.detail, **self.extra}


class InvalidRequest(Problem):
    status, type, title = 422, "validation-error", "The request is not valid"


class LooserLimit(InvalidRequest):
    """A per-user or guardian daily limit that would loosen the band's: the 422 names the band's."""

    def __init__(self, minutes: int, band: str, band_limit: int, whose: str):
        super().__init__(f"daily_limit_minutes: {minutes} is looser than the {band} band's limit of {band_limit} "
                         f"minutes; {whose} can only be stricter",
                         errors=[{"field": "daily_limit_minutes", "message": f"above the band's {band_limit}"}],
                         band=band, band_daily_limit_minutes=band_limit)


class MalformedRequest(Problem):
    status, type, title = 400, "malformed-request", "The request body is not valid JSON"


class Unauthorized(Problem):
    status, type, title = 401, "unauthorized", "A valid bearer token is required"


class Forbidden(Problem):
    status, type, title = 403, "insufficient-scope", "The token's scopes do not allow this"


class NotFound(Problem):
    status, type, title = 404, "not-found", "Not found"


class SessionNotFound(NotFound):
    type, title = "session-not-found", "No such session"


class SessionEnded(Problem):
    status, type, title = 409, "session-ended", "The session has ended"


class TooManyRequests(Problem):
    status, type, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


RETRY_AFTER_SECONDS = 2  # what a 503 (the database away) asks a client to wait, the API's and the console's


class Unavailable(Problem):
    status, type, title = 503, "unavailable", "The service is temporarily unavailable"
