"""The JSON shapes of the answers (and of the policy document), as pydantic models, one module
per resource. The OpenAPI document is generated from them and from the request models the views
validate with; tests validate real answers against them, so neither drifts. A class's docstring
and each field's docstring are the descriptions the document and /docs show."""
from governor.api.models.admin import (
    BandReport,
    ClockOut,
    ComplaintCounts,
    ErasedOut,
    GrantOut,
    GuardianGrantCounts,
    LockOut,
    PolicyVersionOut,
    PolicyVersionsOut,
    ReportOut,
    RevokedOut,
    SettingsOut,
    TimeRequestCounts,
    TokenRevokedOut,
    UserGrantOut,
    UserLockOut,
    UserOut,
    UserSessionOut,
    UserSettingsOut,
)
from governor.api.models.age import AgeOut, AgeSetOut, AgeSignalOut, AgeSignalSetOut, AgeSummaryOut
from governor.api.models.base import WINDOW_PATTERN, Band, Out, Window
from governor.api.models.decisions import (
    DayOut,
    DecisionOut,
    EndedOut,
    HeartbeatOut,
    PolicyRef,
    StartedOut,
    StatusOut,
    StatusVerificationOut,
    UsageOut,
    VerificationOut,
    VerifiedOut,
    WarningOut,
)
from governor.api.models.guardians import (
    ChildOut,
    ChildrenOut,
    ControlsOut,
    GuardianErasedOut,
    GuardianGrantAdded,
    GuardianGrantOut,
    GuardianOut,
    GuardiansOut,
    LinkOut,
    SummaryOut,
    TimeRequestOut,
    TimeRequestsCount,
    TimeRequestsOut,
    UnlinkedOut,
)
from governor.api.models.policy import BandRulesDoc, BandsDoc, PolicyIn, PolicyOut
from governor.api.models.problems import NotReady, ProblemError, ProblemOut, SessionEndedOut, StatusOk
from governor.api.models.records import (
    BadEventOut,
    ComplaintOut,
    ComplaintsPage,
    ComplaintStatusOut,
    EventOut,
    EventsPage,
    VerifyOut,
)

__all__ = [
    "WINDOW_PATTERN", "AgeOut", "AgeSetOut", "AgeSignalOut", "AgeSignalSetOut", "AgeSummaryOut",
    "BadEventOut", "Band", "BandReport", "BandRulesDoc", "BandsDoc", "ChildOut", "ChildrenOut",
    "ClockOut", "ComplaintCounts", "ComplaintOut", "ComplaintStatusOut", "ComplaintsPage", "ControlsOut", "DayOut",
    "DecisionOut", "EndedOut", "ErasedOut", "EventOut", "EventsPage", "GrantOut", "GuardianErasedOut",
    "GuardianGrantAdded", "GuardianGrantCounts", "GuardianGrantOut", "GuardianOut", "GuardiansOut",
    "HeartbeatOut", "LinkOut", "LockOut", "NotReady", "Out", "PolicyIn", "PolicyOut", "PolicyRef",
    "PolicyVersionOut", "PolicyVersionsOut", "ProblemError", "ProblemOut", "ReportOut", "RevokedOut",
    "SessionEndedOut", "SettingsOut", "StartedOut", "StatusOk", "StatusOut", "StatusVerificationOut",
    "SummaryOut", "TimeRequestCounts", "TimeRequestOut", "TimeRequestsCount", "TimeRequestsOut",
    "TokenRevokedOut", "UnlinkedOut", "UsageOut", "UserGrantOut", "UserLockOut", "UserOut", "UserSessionOut",
    "UserSettingsOut", "VerificationOut", "VerifiedOut", "VerifyOut", "WarningOut", "Window",
]
