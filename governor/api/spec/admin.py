"""The admin endpoints (scope `admin`): a user, grants, locks, settings, erasure, token
revocation, policies, complaints handling and the daily report. Each change is an audit event
naming the token's `sub`."""
from __future__ import annotations

from governor.api import models as m
from governor.api.admin import ComplaintPatch, GrantIn, LockIn, RevocationIn, SettingsIn, UnlockIn
from governor.api.spec.op import COMPLAINT, CURSOR, DATE, DECISION, LIMIT, POLICY, VERIFICATION, Op
from governor.service.complaints import STATUSES

GRANT = {"id": 41, "date": "2026-12-02", "extra_minutes": 15, "reason": "exam week", "client": "console-alice",
         "created_at": "2026-12-02T01:10:00+00:00"}
RULES = {"daily_limit_minutes": 60, "allowed_hours": ["06:00-22:00"], "continuous_limit_minutes": 30,
         "break_minutes": 15, "warn_before_minutes": 5, "guardian_grant_max_minutes": 60}
POLICY_DOC = {"name": "cn-minor-mode", "timezone": "Asia/Shanghai", "description": "China Minor Mode",
              "holidays": [], "bands": {"under_8": {**RULES, "daily_limit_minutes": 40}, "age_8_15": RULES,
                                        "age_16_17": {**RULES, "daily_limit_minutes": 120},
                                        "adult": {}, "unverified": {**RULES, "daily_limit_minutes": 40}},
              "adult_age": 18, "adult_min_assurance": "substantial", "age_signal_valid_days": 365}

OPS = [
    Op("get", "/v1/admin/users/{user_id}", "getUser", "admin",
       "A user: verification, settings, lock, grants, active sessions", ("admin",),
       responses={200: m.UserOut, 404: m.ProblemOut},
       description="Everything an admin needs to answer a parent about one user: the band, the verification "
                   "with the birth date, the user's own settings, the lock, the grants of the last 14 local "
                   "days and ahead (each with the `id` that revokes it), the running sessions and the decision "
                   "for a start now.",
       errors={404: "An id never seen"},
       answer={"user_id": "pupil-12", "band": "age_8_15",
               "verification": {**VERIFICATION, "birth_date": "2014-03-01"},
               "settings": {"timezone": None, "daily_limit_minutes": None},
               "lock": {"locked": False, "until": None, "reason": None}, "grants": [GRANT],
               "active_sessions": [], "decision": DECISION}),
    Op("post", "/v1/admin/users/{user_id}/grants", "addGrant", "admin", "Extra minutes for a day", ("admin",),
       body=GrantIn, responses={201: m.GrantOut},
       description="Extra minutes for one local day of the user (`date`: today, the default, or up to a "
                   "year ahead). They add to the daily and weekly limits of that day; several grants add up. "
                   "Audited as `grant.added`.",
       errors={422: "Minutes outside 1..1440, or a date in the past or more than a year ahead"},
       example={"extra_minutes": 15, "date": "2026-12-02", "reason": "exam week"},
       answer={"user_id": "pupil-12", "date": "2026-12-02", "extra_minutes": 15, "reason": "exam week",
               "decision": {**DECISION, "remaining_seconds": 3870}}),
    Op("delete", "/v1/admin/users/{user_id}/grants/{grant_id}", "revokeGrant", "admin", "Revoke a grant",
       ("admin",), responses={200: m.RevokedOut, 404: m.ProblemOut},
       description="Take a grant back (audited as `grant.revoked`). Time already used stays used: the "
                   "remaining time may become zero, never negative.",
       errors={404: "No such grant of this user"},
       answer={"user_id": "pupil-12", "revoked": GRANT, "decision": DECISION}),
    Op("put", "/v1/admin/users/{user_id}/lock", "lockUser", "admin", "Lock (no body: until unlocked)", ("admin",),
       body=LockIn, body_required=False, responses={200: m.LockOut},
       description="No chat until `until` (an RFC 3339 time with offset, at most 10 years ahead) or, without "
                   "it, until unlocked: starts and heartbeats answer reason `locked`, and a running session "
                   "ends at its next heartbeat. Locking again replaces the lock. Audited as `user.locked`.",
       errors={422: "An `until` in the past, too far ahead, or without an offset"},
       example={"until": "2026-12-09T06:00:00+08:00", "reason": "parent's request"},
       answer={"user_id": "pupil-12", "locked": True, "until": "2026-12-08T22:00:00+00:00",
               "reason": "parent's request", "decision": {**DECISION, "allowed": False, "reason": "locked",
                                                          "ends_at": None,
                                                          "retry_at": "2026-12-09T06:00:00+08:00"}}),
    Op("delete", "/v1/admin/users/{user_id}/lock", "unlockUser", "admin", "Unlock", ("admin",), body=UnlockIn,
       body_required=False, responses={200: m.LockOut},
       description="Lift the lock (audited as `user.unlocked`, with the optional reason). Unlocking a user "
                   "who is not locked answers the same state.",
       example={"reason": "talked to the parent"},
       answer={"user_id": "pupil-12", "locked": False, "until": None, "reason": None, "decision": DECISION}),
    Op("put", "/v1/admin/users/{user_id}/settings", "changeSettings", "admin", "Per-user settings", ("admin",),
       body=SettingsIn, responses={200: m.SettingsOut},
       description="The user's own time zone (their local day and hours; null: the policy's) and a daily "
                   "limit stricter than the band's (null: the band's). A field left out stays as it is. "
                   "Audited as `settings.changed`.",
       errors={422: "An unknown time zone, or a daily limit looser than the band's (the problem names the "
                    "band's limit in `band_daily_limit_minutes`)"},
       example={"timezone": "Europe/Berlin", "daily_limit_minutes": 30},
       answer={"user_id": "pupil-12", "timezone": "Europe/Berlin", "daily_limit_minutes": 30,
               "decision": DECISION}),
    Op("delete", "/v1/admin/users/{user_id}", "eraseUser", "admin", "Erase a user", ("admin",),
       responses={200: m.ErasedOut, 404: m.ProblemOut},
       description="Erase the user's personal data: their row (with the link to their pseudonym), "
                   "verification, sessions, usage, settings, grants, guardian links and requests. Their audit "
                   "events stay, still verifiable, but can no longer be tied to anyone; a system event "
                   "records the erasure.",
       errors={404: "An id never seen (or already erased)"},
       answer={"user_id": "pupil-12", "erased": True, "audit_events_kept": 57}),
    Op("post", "/v1/admin/revocations", "revokeToken", "admin", "Revoke a token by its jti", ("admin",),
       body=RevocationIn, responses={201: m.TokenRevokedOut},
       description="Refuse every token carrying this `jti`, on every instance within two seconds, until "
                   "`until` (default: the longest a token may live). Audited.",
       example={"jti": "9f1c2e7a-console-alice"},
       answer={"jti": "9f1c2e7a-console-alice", "until": "2027-01-01T08:00:00+00:00",
               "revoked_at": "2026-12-02T08:00:00+00:00"}),
    Op("get", "/v1/admin/policy", "getPolicy", "admin", "The active policy", ("admin",),
       responses={200: m.PolicyOut},
       description="The active policy as JSON (the TOML document's fields), with its version and who "
                   "activated it. A PUT takes the same shape back.",
       answer={**POLICY_DOC, "version": 1, "activated_at": "2026-12-01T00:00:00+00:00",
               "activated_by": "governor-config"}),
    Op("put", "/v1/admin/policy", "activatePolicy", "admin", "Activate a new policy version", ("admin",),
       body=m.PolicyIn, responses={200: m.PolicyOut},
       description="Validate a policy document and activate it as the next version, at once on every "
                   "instance: new decisions use it, running sessions follow it from their next heartbeat. "
                   "`version`, `activated_at` and `activated_by` may be sent back and are ignored. Audited "
                   "as `policy.activated`.",
       errors={422: "The first problem of the document, naming the dotted field "
                    "(`bands.age_8_15.daily_limt_minutes: unknown field`)"},
       example=POLICY_DOC,
       answer={**POLICY_DOC, "version": 2, "activated_at": "2026-12-02T08:00:00+00:00",
               "activated_by": "console-alice"}),
    Op("get", "/v1/admin/policy/versions", "listPolicyVersions", "admin", "Every policy version", ("admin",),
       responses={200: m.PolicyVersionsOut},
       description="Every version ever activated, oldest first, with when, by whom and from where.",
       answer={"versions": [{"version": 1, "name": POLICY["name"], "activated_at": "2026-12-01T00:00:00+00:00",
                             "activated_by": "governor-config", "source": "file:cn-minor-mode.toml"}]}),
    Op("get", "/v1/admin/complaints", "listComplaints", "admin", "Complaints, paged", ("admin",),
       query={"status": {"type": "string", "enum": list(STATUSES), "description": "only those of this status"},
              "cursor": CURSOR, "limit": LIMIT},
       responses={200: m.ComplaintsPage},
       description="Complaints, oldest first, a page at a time (`limit`, default 100); follow `next_cursor`.",
       errors={422: "An unknown status, a bad cursor or a limit outside 1..500"},
       answer={"complaints": [COMPLAINT], "next_cursor": None}),
    Op("patch", "/v1/admin/complaints/{complaint_id}", "updateComplaint", "admin", "Assign or resolve", ("admin",),
       body=ComplaintPatch, responses={200: m.ComplaintOut, 404: m.ProblemOut, 409: m.ProblemOut},
       description="Assign a complaint, or close it as `resolved` or `rejected` (final; closing needs a "
                   "`resolution` note, which the user's frontend shows). Audited as `complaint.updated`.",
       errors={404: "No such complaint", 409: "The complaint is closed (problem `complaint-closed`)",
               422: "Closing without a resolution, or an invalid field"},
       example={"status": "resolved", "resolution": "The limit was explained to the parent."},
       answer={**COMPLAINT, "status": "resolved", "resolution": "The limit was explained to the parent.",
               "updated_at": "2026-12-02T10:00:00+00:00", "closed_at": "2026-12-02T10:00:00+00:00"}),
    Op("get", "/v1/admin/reports/daily", "dailyReport", "admin", "The day's aggregate for a regulator",
       ("admin",), query={"date": {**DATE, "description": "a day of the policy's zone (default: today)"}},
       responses={200: m.ReportOut},
       description="One local day (of the policy's zone) per band: users active, sessions, minutes, "
                   "refusals per reason, time requests and guardians' grants; complaints opened and closed. "
                   "It names no user.",
       errors={422: "A date that is not YYYY-MM-DD"},
       answer={"date": "2026-12-02", "timezone": "Asia/Shanghai",
               "bands": {"age_8_15": {"users_active": 120, "sessions": 310, "minutes": 5400.5,
                                      "refusals": {"curfew": 12, "daily_limit_reached": 30},
                                      "time_requests": {"requested": 9, "approved": 6, "denied": 2, "expired": 1},
                                      "guardian_grants": {"grants": 6, "minutes": 90},
                                      "users_by_basis": {"os_age_signal": 80, "verification": 40}}},
               "refusals": {"curfew": 12, "daily_limit_reached": 30}, "complaints": {"opened": 2, "closed": 1}}),
]
