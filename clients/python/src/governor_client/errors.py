"""The two exceptions: a problem answer, and a Governor that cannot be reached."""
from __future__ import annotations

from typing import Any


class GovernorError(Exception):
    """A problem answer (RFC 9457): `status`, `type` (e.g. "urn:governor:problem:session-ended"),
    `detail`, and the whole body in `problem`."""

    def __init__(self, status: int, type: str, detail: str | None, problem: dict[str, Any] | None = None):
        super().__init__(f"{status} {type}: {detail}")
        self.status, self.type, self.detail, self.problem = status, type, detail, problem or {}


class GovernorUnavailable(GovernorError):
    """Governor could not be reached, or kept answering 502/503/504, for the whole retry budget
    (a 429 that outlasts it is a plain GovernorError)."""

    def __init__(self, detail: str, status: int = 0):
        super().__init__(status, "unavailable", detail)
