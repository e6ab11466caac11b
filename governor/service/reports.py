"""The daily report for a regulator, from the audit log (which outlives erasure): per band, the
users active, sessions started, minutes of the sessions that ended that day, refusals per
reason, time requests made and decided and guardians' grants (section 7); complaints opened and
closed; per band, the users active by the sources whose signals decided their band (section 8,
"none" for no signal). No user ids, no pseudonyms, no link ids."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from governor.service.context import Services
from governor.store import age as age_store
from governor.store import audit_log

ACTIONS = ("session.started", "session.refused", "session.ended", "complaint.filed", "complaint.updated",
           "time.requested", "time.decided", "grant.added")
REQUEST_KEYS = ("requested", "approved", "denied", "expired")
BATCH = 5000


def daily(svc: Services, day: date | None) -> dict[str, Any]:
    with svc.db.read() as s:
        policy = svc.policy(s)
        tz, policy_bands = policy.tz, policy.bands
    day = day or svc.clock.now().astimezone(tz).date()
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    users: dict[str, set[str]] = defaultdict(set)
    sessions, seconds, refusals = Counter(), Counter(), defaultdict(Counter)
    requests, grants, granted = defaultdict(Counter), Counter(), Counter()
    opened = closed = 0
    after = 0
    while True:
        with svc.db.read() as s:
            rows = audit_log.events_between(s, start, end, ACTIONS, after, BATCH)
        for _, chain, action, reason, raw in rows:
            data = json.loads(raw)
            band = data.get("band", "unknown")
            if action == "session.started":
                sessions[band] += 1
                users[band].add(chain)
            elif action == "session.ended":
                seconds[band] += int(data.get("duration_seconds") or 0)
                users[band].add(chain)
            elif action == "session.refused":
                refusals[band][reason] += 1
            elif action == "time.requested":
                requests[band]["requested"] += 1
            elif action == "time.decided":
                requests[band][data.get("status")] += 1
            elif action == "grant.added" and data.get("by") == "guardian":
                grants[band] += 1
                granted[band] += int(data.get("extra_minutes") or 0)
            elif action == "complaint.filed":
                opened += 1
            elif action == "complaint.updated" and data.get("status") in ("resolved", "rejected"):
                closed += 1
        if len(rows) < BATCH:
            break
        after = rows[-1][0]
    with svc.db.read() as s:  # section 8: which kind of signal decided each active user's band
        basis = age_store.bases(s, set().union(*users.values()), end)
    names = list(policy_bands) + sorted(set(users) - set(policy_bands))  # and any band of an earlier version
    bands = {b: {"users_active": len(users[b]), "sessions": sessions[b], "minutes": round(seconds[b] / 60, 1),
                 "refusals": dict(sorted(refusals[b].items())),
                 "time_requests": {k: requests[b][k] for k in REQUEST_KEYS},
                 "guardian_grants": {"grants": grants[b], "minutes": granted[b]},
                 "users_by_basis": dict(sorted(Counter("+".join(sorted(basis.get(c, []))) or "none"
                                                      for c in users[b]).items()))} for b in names}
    return {"date": day.isoformat(), "timezone": str(tz), "bands": bands,
            "refusals": dict(sorted(sum((refusals[b] for b in refusals), Counter()).items())),
            "complaints": {"opened": opened, "closed": closed}}
