"""A Python client for Governor, for chat frontends, their backends and parent apps.

It needs httpx and the standard library only: no Flask, no SQLAlchemy (a test proves it).

    client = GovernorClient("https://governor.internal", token)
    with client.session("u-123", on_warning=show_banner, on_end=show_break_screen) as s:
        if not s.decision.allowed:
            return show_refusal(s.decision)      # reason, retry_at
        chat(...)                                # heartbeats run in the background

A refusal is a `Decision` with `allowed=False`, never an exception. A problem answer (a bad token,
an unknown session, a bad user id) raises `GovernorError`; a server that cannot be reached, or keeps
answering 503, raises `GovernorUnavailable` once the retries (within `retry_within` seconds,
honouring `Retry-After`) are spent. The parent app's calls (children, week summaries, controls,
grants, time requests) and a child's requests for more time are methods of the same client, with a
token of the scope they need. See docs/integration.md.
"""
from governor_client.age import age_signal_from_apple, age_signal_from_google_play, age_signal_from_os_bracket
from governor_client.client import UNSET, GovernorClient
from governor_client.errors import GovernorError, GovernorUnavailable
from governor_client.models import (
    Age,
    Child,
    Controls,
    Day,
    Decision,
    Grant,
    GuardianGrant,
    ParentalConsent,
    TimeRequest,
    TimeRequestCounts,
    TimeRequestStatus,
    Warning,
    WeekSummary,
)
from governor_client.session import GovernorSession

__version__ = "0.2.0"
__all__ = ["UNSET", "Age", "Child", "Controls", "Day", "Decision", "GovernorClient", "GovernorError",
           "GovernorSession", "GovernorUnavailable", "Grant", "GuardianGrant", "ParentalConsent", "TimeRequest",
           "TimeRequestCounts", "TimeRequestStatus", "Warning", "WeekSummary", "age_signal_from_apple",
           "age_signal_from_google_play", "age_signal_from_os_bracket"]
