"""Age signals and parental consent (DESIGN section 8): signals (scope `age` or `admin`), the
user's age (`age`, `admin` or `audit`), and a linked guardian's consent (`guardian`)."""
from __future__ import annotations

from governor.api import models as m
from governor.api.age import SOURCE, AgeSignalIn, ConsentIn
from governor.api.spec.op import Op

SIGNAL = {"source": "os_age_signal", "age_min": 13, "age_max": 15, "method": "other", "assurance": "substantial",
          "observed_at": "2026-12-02T00:00:00+00:00", "expires_at": None, "lapses_at": "2027-12-02T00:00:00+00:00",
          "current": True, "parental_consent": None, "client": "chat-ios", "set_at": "2026-12-02T00:00:00+00:00"}
AGE = {"band": "age_8_15", "age_min": 13, "age_max": 15, "basis": ["os_age_signal"], "parental_consent": None}
PATH_PARAMS = {"source": {"type": "string", "pattern": SOURCE.pattern}}
PATH_TEXT = {"source": "who says it: 1-64 of a-z 0-9 _ . -, e.g. `apple_declared_age_range`, "
                       "`google_play_age_signals`, `os_age_signal`, `estimation`; `verification` is the "
                       "verification's"}
LINKED = "The user is not a linked child of this guardian (answered exactly as for an unknown id)"

OPS = [
    Op("put", "/v1/users/{user_id}/age-signals/{source}", "setAgeSignal", "users",
       "Store an age signal of one source", ("age", "admin"), body=AgeSignalIn,
       responses={200: m.AgeSignalSetOut},
       description="A phone's, an app store's or an estimator's say about the user's age, as a range (docs/"
                   "age-signals.md maps Apple's, Google Play's and the AB 1043 answers). One signal per "
                   "`source` (1-64 of `a-z 0-9 _ . -`); a new one replaces it. The range is kept as a span of "
                   "possible birth dates, so the band moves on the right birthday by itself. The band is "
                   "derived from every current signal: the highest assurance decides, spans that agree "
                   "narrow each other, where they contradict the youngest stands, and a self-declared or "
                   "estimated adult is `unverified`. Audited as `age.signal_set` (never a birth date); a "
                   "change of band or consent is sent as the webhooks `age.band_changed`, `consent.changed`.",
       errors={422: "A field that names itself in `errors`: an inverted span (`age_max` below `age_min`), a "
                    "negative or non-integer age, an unknown `method`, `assurance` or `parental_consent`, an "
                    "`observed_at` in the future, an `expires_at` already passed, a bad or reserved `source` "
                    "(`verification` is PUT .../age-verification's)"},
       example={"age_min": 13, "age_max": 15, "method": "other", "assurance": "substantial"},
       answer={"signal": SIGNAL, "age": {"user_id": "pupil-12", **AGE}}),
    Op("delete", "/v1/users/{user_id}/age-signals/{source}", "withdrawAgeSignal", "users",
       "Withdraw an age signal", ("age", "admin"), responses={200: m.AgeOut, 404: m.ProblemOut},
       description="The source withdraws its signal (the source `verification` withdraws the verification, "
                   "as `status: unverified` does). Audited as `age.signal_withdrawn`. No body.",
       errors={404: "The user has no signal of this source"},
       answer={"user_id": "pupil-12", **{**AGE, "band": "unverified", "age_min": None, "age_max": None,
                                        "basis": []}, "signals": []}),
    Op("get", "/v1/users/{user_id}/age", "getAge", "users", "A user's age and its signals",
       ("age", "admin", "audit"), responses={200: m.AgeOut},
       description="The band the user is in today, the span of their age after combining the signals that "
                   "decided (`basis`), the parental consent in force, and every signal with its provenance, "
                   "lapsed ones included (`current: false`). An id never seen is an unverified user.",
       answer={"user_id": "pupil-12", **AGE, "signals": [SIGNAL]}),
    Op("put", "/v1/guardians/{guardian_id}/children/{user_id}/consent", "setParentalConsent", "guardians",
       "Give or withdraw a parent's consent", ("guardian",), body=ConsentIn,
       responses={200: m.AgeSetOut, 404: m.ProblemOut},
       description="A linked guardian gives (`true`) or withdraws (`false`) consent; in a band with "
                   "`requires_parental_consent` the child may chat only while the latest consent said (by "
                   "a guardian or an age signal) is `granted`. Withdrawing ends a running session at its "
                   "next heartbeat (reason `consent_required`). Withdrawing consent never given records "
                   "`denied`. Audited as `consent.changed` by link id; the same answer again changes nothing.",
       errors={404: LINKED}, example={"granted": True},
       answer={"user_id": "pupil-12", **AGE, "parental_consent": "granted"}),
]
