"""A chat frontend's calls (scope `sessions`): admission, heartbeats, end, status; and the
verifier's and auditor's per-user calls."""
from __future__ import annotations

from governor.api import models as m
from governor.api.schemas import AgeVerification, StartSession
from governor.api.spec.op import DATE, DECISION, EMPTY_OBJECT, JSON, PROBLEM, REFUSED, VERIFICATION, Op

SESSION_ID = "s2a_Yc2R7vLq0bTq8Xw3KdPm9Q"  # the shape the service issues: s<user key in hex>_<random>

OPS = [
    Op("post", "/v1/sessions", "startSession", "sessions", "Admission", ("sessions",), body=StartSession,
       responses={201: m.StartedOut, 403: {JSON: m.DecisionOut, PROBLEM: m.ProblemOut}},
       description="Ask whether the user may chat now and, if so, start a session. Call it when the chat "
                   "opens; then heartbeat every `heartbeat_interval_seconds` and end it when the chat closes. "
                   "An id never seen before is a new, `unverified` user. `purpose` (optional) names a purpose "
                   "of the active policy whose `uncounted_minutes` may keep the time off the daily limit.",
       errors={201: "Admitted: the decision, `session_id` and `heartbeat_interval_seconds`",
               403: "Refused: the decision (`application/json`, `allowed: false`, the reason and `retry_at`); "
                    "or, as a problem, a token without the `sessions` scope",
               422: "Invalid `user_id`, or a `purpose` that no band of the active policy names (the "
                    "problem lists the known ones)"},
       example={"user_id": "pupil-12", "purpose": "learning"},
       answer={**DECISION, "session_id": SESSION_ID, "heartbeat_interval_seconds": 60}),
    Op("post", "/v1/sessions/{session_id}/heartbeat", "heartbeat", "sessions", "Accrue and decide again",
       ("sessions",), body=EMPTY_OBJECT, body_required=False,
       responses={200: m.HeartbeatOut, 404: m.ProblemOut, 409: {PROBLEM: m.SessionEndedOut}},
       description="Once a minute (every `heartbeat_interval_seconds`) while the chat is open: books the time "
                   "since the last heartbeat (a gap longer than the grace counts only the grace) and decides "
                   "again. Show each new warning. When the answer says `allowed: false` the session has "
                   "already ended: stop the chat and show the reason and `retry_at`. No body, or `{}`.",
       errors={200: "The decision; `allowed: false` means the session has ended",
               404: "No such session (problem `session-not-found`)",
               409: "The session had already ended (problem `session-ended`, with its `end_reason`)"},
       answer={**DECISION, "session_id": SESSION_ID, "used_today_seconds": 3360, "remaining_seconds": 240,
               "ends_at": "2026-12-02T07:40:30+08:00",
               "warnings": [{"type": "time_running_out", "seconds_left": 240, "cause": "daily_limit"}]}),
    Op("post", "/v1/sessions/{session_id}/end", "endSession", "sessions", "End a session (idempotent)",
       ("sessions",), body=EMPTY_OBJECT, body_required=False, responses={200: m.EndedOut, 404: m.ProblemOut},
       description="When the chat closes. Books the time up to now and answers how long the session "
                   "counted, why it ended and the user's decision now. Ending an ended session answers the "
                   "same again. No body, or `{}`.",
       errors={404: "No such session (problem `session-not-found`)"},
       answer={**DECISION, "session_id": SESSION_ID, "duration_seconds": 1260, "end_reason": "client"}),
    Op("get", "/v1/users/{user_id}/status", "getStatus", "users", "The decision for a start now", ("sessions",),
       query={"purpose": {"type": "string", "minLength": 1, "maxLength": 64,
                          "description": "a purpose the active policy names"}},
       responses={200: m.StatusOut},
       description="What a start would answer now, without starting anything (no side effect, no audit "
                   "event): show it before the chat opens. Adds the verification (without the birth date) "
                   "and how many sessions are running.",
       errors={422: "Invalid `user_id`, an unknown `purpose`, or an unknown query parameter"},
       answer={**REFUSED, "verification": {k: v for k, v in VERIFICATION.items()}, "active_sessions": 0,
               "age": {"band": "age_8_15", "age_min": 12, "age_max": 12, "basis": ["verification"],
                       "parental_consent": None}}),
    Op("put", "/v1/users/{user_id}/age-verification", "setAgeVerification", "users", "Store an age verification",
       ("age", "admin"), body=AgeVerification, responses={200: m.VerifiedOut},
       description="A verifier (or an admin) says how old the user is. The band follows from the birth date "
                   "at the user's current local date, so it moves on the birthday by itself. A verification "
                   "whose `expires_at` has passed counts as `unverified`. A `self_declared` age is believed "
                   "only when it places the user in a minor band. `status: unverified` withdraws it.",
       errors={422: "Invalid field (a birth date before 1900, an `expires_at` without offset, a missing "
                    "`birth_date` for a verified or self-declared status, ...)"},
       example={"status": "verified", "birth_date": "2014-03-01", "method": "id_document", "provider": "kyc",
                "assurance": "high"},
       answer={"user_id": "pupil-12", **VERIFICATION, "birth_date": "2014-03-01", "band": "age_8_15"}),
    Op("get", "/v1/users/{user_id}/usage", "getUsage", "users", "Use per local day (default the last 7 days)",
       ("audit", "admin"), query={"from": {**DATE, "description": "the first local day (default: 6 days "
                                                                  "before `to`)"},
                                  "to": {**DATE, "description": "the last local day (default: today)"}},
       responses={200: m.UsageOut},
       description="Chat time per local day of the user, every day of the range (at most 366 days), with "
                   "the uncounted time of purposes and the sessions started.",
       errors={422: "Invalid `user_id`, a date that is not YYYY-MM-DD, `from` after `to`, or a range "
                    "longer than 366 days"},
       answer={"user_id": "pupil-12", "days": [
           {"date": "2026-12-01", "seconds": 3600, "uncounted_seconds": 0, "sessions": 3},
           {"date": "2026-12-02", "seconds": 630, "uncounted_seconds": 1200, "sessions": 2}]}),
]
