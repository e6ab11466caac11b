"""Guardians and time requests: links (scope `age` or `admin`), the parent app (scope
`guardian`), and the child's requests for more time (scope `sessions`)."""
from __future__ import annotations

from governor.api import models as m
from governor.api.guardians import STATUSES as REQUEST_STATUSES
from governor.api.guardians import ControlsIn, ControlsPatch, GuardianGrantIn, TimeDecisionIn, TimeRequestIn
from governor.api.spec.op import CONTROLS, DECISION, TIME_REQUEST, Op

LINK = {"user_id": "pupil-12", "guardian_id": "g-mum-7", "linked_at": "2026-11-20T10:00:00+00:00"}
CHILD_AGE = {"band": "age_8_15", "age_min": 12, "age_max": 12, "basis": ["verification"],
             "parental_consent": "granted"}
NOT_LINKED = "The user is not a linked child of this guardian (answered exactly as for an unknown id)"

OPS = [
    Op("put", "/v1/users/{user_id}/guardians/{guardian_id}", "linkGuardian", "guardians",
       "Link a guardian (idempotent)", ("age", "admin"), responses={200: m.LinkOut},
       description="Whoever established the relationship (the verifier, or an admin) links a guardian to a "
                   "child. A guardian id follows the rules of a user id; linking again changes nothing. "
                   "Audited as `guardian.linked` (by a random link id, never the guardian id). No body.",
       errors={422: "An invalid user or guardian id, or a body"}, answer=LINK),
    Op("delete", "/v1/users/{user_id}/guardians/{guardian_id}", "unlinkGuardian", "guardians", "Unlink a guardian",
       ("age", "admin"), responses={200: m.UnlinkedOut, 404: m.ProblemOut},
       description="Remove the link, and this guardian's controls of the child with it. Audited as "
                   "`guardian.unlinked`.",
       errors={404: "The two are not linked"}, answer={**LINK, "unlinked": True}),
    Op("get", "/v1/admin/users/{user_id}/guardians", "listGuardians", "admin", "A user's guardians", ("admin",),
       responses={200: m.GuardiansOut},
       description="The guardians linked to a user (an empty list for a user without any, or never seen).",
       answer={"guardians": [{"guardian_id": "g-mum-7", "linked_at": "2026-11-20T10:00:00+00:00"}]}),
    Op("delete", "/v1/admin/guardians/{guardian_id}", "eraseGuardian", "admin", "Erase a guardian", ("admin",),
       responses={200: m.GuardianErasedOut, 404: m.ProblemOut},
       description="Erase a guardian: every link and control of theirs; each child's audit chain records "
                   "the unlink by link id.",
       errors={404: "A guardian without any link"},
       answer={"guardian_id": "g-mum-7", "erased": True, "links_removed": 2}),
    Op("get", "/v1/guardians/{guardian_id}/children", "listChildren", "guardians", "A guardian's children",
       ("guardian",), responses={200: m.ChildrenOut},
       description="The parent app's home screen: each linked child with the decision for a start now, "
                   "this guardian's controls, and the child's `age` as a status shows it: the band, today's "
                   "span, the sources that decided (`basis`) and the parental consent in force (the latest "
                   "said by any linked guardian or age signal; in a band with `requires_parental_consent` "
                   "the child may chat only while it is `granted`). The signals themselves are not shown.",
       answer={"children": [{"user_id": "pupil-12", "decision": DECISION, "controls": CONTROLS,
                             "age": CHILD_AGE}]}),
    Op("get", "/v1/guardians/{guardian_id}/children/{user_id}/summary", "weekSummary", "guardians",
       "A child's ISO week (default the current one)", ("guardian",),
       query={"week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$",
                       "description": "an ISO week, e.g. `2026-W49` (default: the child's current one)"}},
       responses={200: m.SummaryOut, 404: m.ProblemOut},
       description="A child's week, Monday to Sunday in the child's zone: use per day, the total and the "
                   "daily average, refusals per reason, and time requests by outcome.",
       errors={404: NOT_LINKED, 422: "A week that is not `YYYY-Www`, or not a week of the calendar"},
       answer={"user_id": "pupil-12", "week": "2026-W49", "band": "age_8_15",
               "days": [{"date": f"2026-11-{30 + i}" if i == 0 else f"2026-12-0{i}", "seconds": 1800,
                         "uncounted_seconds": 0, "sessions": 2} for i in range(7)],
               "total_seconds": 12600, "daily_average_seconds": 1800, "refusals": {"daily_limit_reached": 1},
               "time_requests": {"approved": 1, "denied": 0, "expired": 0, "pending": 0}}),
    Op("get", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "getControls", "guardians",
       "This guardian's controls", ("guardian",), responses={200: m.ControlsOut, 404: m.ProblemOut},
       description="This guardian's controls of the child (each null when unset). Other guardians' and the "
                   "admin's settings are not shown; the strictest of all applies.",
       errors={404: NOT_LINKED}, answer=CONTROLS),
    Op("put", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "setControls", "guardians",
       "Set all of this guardian's controls (they only tighten)", ("guardian",), body=ControlsIn,
       responses={200: m.ControlsOut, 404: m.ProblemOut},
       description="Replace this guardian's controls: every field must be named, null to clear it. A daily "
                   "limit at most the band's; quiet hours (windows like `allowed_hours`, midnight may be "
                   "crossed: reason `quiet_hours`, `retry_at` their end); extra rest reminders. A change "
                   "reaches a running session at its next heartbeat. Audited as `controls.changed`.",
       errors={404: NOT_LINKED, 422: "A missing field (named), a daily limit looser than the band's (named in "
                                     "the problem), a window that is not a time of day, or an invalid field"},
       example=CONTROLS, answer=CONTROLS),
    Op("patch", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "changeControls", "guardians",
       "Change some of this guardian's controls", ("guardian",), body=ControlsPatch,
       responses={200: m.ControlsOut, 404: m.ProblemOut},
       description="Change only the controls named (null clears one); the others stay as they are, so a "
                   "parent app can save just what the parent edited. The same rules as the PUT; audited as "
                   "`controls.changed`.",
       errors={404: NOT_LINKED, 422: "A daily limit looser than the band's (named in the problem), a window "
                                     "that is not a time of day, or an invalid field"},
       example={"quiet_hours": ["21:00-07:00"]}, answer=CONTROLS),
    Op("post", "/v1/guardians/{guardian_id}/children/{user_id}/grants", "guardianGrant", "guardians",
       "Extra minutes for today, within the cap", ("guardian",), body=GuardianGrantIn,
       responses={201: m.GuardianGrantAdded, 404: m.ProblemOut},
       description="Extra minutes for the child's current local day. All guardians' grants of one day "
                   "together may not pass the band's `guardian_grant_max_minutes` (a band without it allows "
                   "no guardian grants). Audited as `grant.added` with `\"by\": \"guardian\"`.",
       errors={404: NOT_LINKED, 422: "Over the band's cap (named in the problem), or an invalid field"},
       example={"extra_minutes": 15, "reason": "homework"},
       answer={"grant": {"date": "2026-12-02", "extra_minutes": 15, "reason": "homework", "by": "guardian"},
               "decision": {**DECISION, "remaining_seconds": 3870}}),
    Op("post", "/v1/users/{user_id}/time-requests", "askForTime", "guardians", "Ask for more time", ("sessions",),
       body=TimeRequestIn, responses={201: m.TimeRequestOut, 409: m.ProblemOut},
       description="The child asks their guardians for more time today (1..240 minutes, with an optional "
                   "note). The frontend follows the answer with `GET /v1/time-requests/{request_id}`. A "
                   "pending request expires at the end of the child's local day. Audited as `time.requested`.",
       errors={409: "The child has no guardian (problem `no-guardian`), or a request is already pending "
                    "(problem `request-pending`)"},
       example={"minutes": 15, "note": "finishing my essay"}, answer=TIME_REQUEST),
    Op("get", "/v1/time-requests/{request_id}", "getTimeRequest", "guardians", "A time request", ("sessions",),
       responses={200: m.TimeRequestOut, 404: m.ProblemOut},
       description="A time request as it stands (`pending`, `approved` with `decided_minutes`, `denied` or "
                   "`expired`), for the child's frontend to show.",
       errors={404: "No such request"},
       answer={**TIME_REQUEST, "status": "approved", "decided_at": "2026-12-02T17:02:00+08:00",
               "decided_minutes": 15}),
    Op("get", "/v1/guardians/{guardian_id}/time-requests", "listTimeRequests", "guardians",
       "The requests of a guardian's children, newest first", ("guardian",),
       query={"status": {"type": "string", "enum": list(REQUEST_STATUSES), "description": "only those of this "
                                                                                           "status"}},
       responses={200: m.TimeRequestsOut},
       description="Every request of this guardian's children, newest first; `status=pending` for the ones "
                   "waiting for an answer.",
       errors={422: "An unknown status"},
       answer={"time_requests": [TIME_REQUEST]}),
    Op("patch", "/v1/guardians/{guardian_id}/time-requests/{request_id}", "decideTimeRequest", "guardians",
       "Approve or deny a request", ("guardian",), body=TimeDecisionIn,
       responses={200: m.TimeRequestOut, 404: m.ProblemOut, 409: m.ProblemOut},
       description="Approve (granting `minutes`, default those asked, never more, for the day the request was "
                   "made on, within the guardians' cap) or deny a pending request. Audited as `time.decided`.",
       errors={404: "No such request of this guardian's children",
               409: "The request was already decided or has expired (problem `request-decided`)",
               422: "More minutes than asked, over the cap, or an invalid field"},
       example={"status": "approved", "minutes": 10},
       answer={**TIME_REQUEST, "status": "approved", "decided_at": "2026-12-02T17:02:00+08:00",
               "decided_minutes": 10}),
]
