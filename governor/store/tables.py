"""The schema. Alembic's migrations create exactly this; a test compares the two."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

# Base and the column types live in store/base.py: the webhook tables (store/webhook_tables.py)
# build on them too, and join this metadata at the end of this module.
from governor.store.base import Base, BigId, UTCDateTime

GENESIS = "0" * 64


class User(Base):
    """One row per user: the only link from `user_id` to the audit pseudonym, the user's
    verification and settings, and the small state that accrual needs."""

    __tablename__ = "users"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(128), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str | None] = mapped_column(String(64))
    daily_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    ver_status: Mapped[str | None] = mapped_column(String(16))
    ver_birth_date: Mapped[date | None] = mapped_column(Date)
    ver_method: Mapped[str | None] = mapped_column(String(64))
    ver_provider: Mapped[str | None] = mapped_column(String(64))
    ver_assurance: Mapped[str | None] = mapped_column(String(16))
    ver_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ver_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_reason: Mapped[str | None] = mapped_column(String(500))
    activity: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    streak_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_active: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    audit_head: Mapped[str] = mapped_column(String(64), default=GENESIS, server_default=GENESIS)
    facts_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # bumped by every fact change
    outlook: Mapped[str | None] = mapped_column(Text)  # a running session's stored decision (domain/fastpath.py)
    # section 7: uncounted intervals a counted session could still overlap, JSON [[a, b, purpose]]
    marked: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    # section 8: the age signals as the decision reads them (domain/age.dumps), kept with the row so
    # that the hot paths read them with it; written with the `age_signals` rows (store/age.py)
    age_signals: Mapped[str | None] = mapped_column(Text)


class ChatSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    client: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    counted_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    policy_version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_sessions_user_active", "user_pk", sqlite_where=text("ended_at IS NULL"),
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_sessions_user_started", "user_pk", "started_at"),
    )


class UsageDay(Base):
    """Booked chat time per user and local day, in milliseconds."""

    __tablename__ = "usage_days"
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sessions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Grant(Base):
    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))
    client: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    link_id: Mapped[str | None] = mapped_column(String(40))  # a guardian's grant: their link's random id

    __table_args__ = (Index("ix_grants_user_day", "user_pk", "day"),)


class UncountedDay(Base):
    """Use per user, local day and purpose that did not count toward the limits (section 7); it
    is part of the day's `usage_days.used_ms`, not in addition to it."""

    __tablename__ = "uncounted_days"
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class GuardianLink(Base):
    """A guardian of a user, and that guardian's controls. The random `id` is what audit events
    name: once the row is gone, nothing ties an event to the guardian."""

    __tablename__ = "guardian_links"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    guardian_id: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(128))
    daily_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    quiet_hours: Mapped[str | None] = mapped_column(Text)  # JSON list of "HH:MM-HH:MM"
    rest_reminder_minutes: Mapped[int | None] = mapped_column(Integer)
    consent: Mapped[str | None] = mapped_column(String(16))  # section 8: granted | revoked, or none given
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_pk", "guardian_id", name="uq_guardian_links_user_guardian"),
                      Index("ix_guardian_links_guardian", "guardian_id"))


class AgeSignal(Base):
    """One source's say about a user's age (section 8), with its provenance: the range as given,
    the span of birth dates it gives, who sent it and when."""

    __tablename__ = "age_signals"
    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    age_min: Mapped[int] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    born_from: Mapped[date | None] = mapped_column(Date)
    born_to: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32))
    assurance: Mapped[str] = mapped_column(String(16))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parental_consent: Mapped[str | None] = mapped_column(String(16))
    client: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_pk", "source", name="uq_age_signals_user_source"),)


class TimeRequest(Base):
    """A child's request for more time; pending until a guardian decides or its day ends."""

    __tablename__ = "time_requests"
    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)  # the child's local day it was made on
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_minutes: Mapped[int | None] = mapped_column(Integer)
    link_id: Mapped[str | None] = mapped_column(String(40))  # the deciding guardian's link
    client: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_time_requests_user_status", "user_pk", "status"),
                      Index("ix_time_requests_status_expires", "status", "expires_at"))


class PolicyVersion(Base):
    """Every activated policy; the highest version is the active one."""

    __tablename__ = "policies"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_by: Mapped[str] = mapped_column(String(128))


class AuditEvent(Base):
    """Hash-chained events: one chain per user (named by the user's pseudonym) plus `system`."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(40))
    policy_name: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"),
        Index("ix_audit_events_action", "action", "id"),
        Index("ix_audit_events_at", "at"),
    )


class AuditChain(Base):
    """The head of the system chain (user chains keep theirs on the user row, already locked),
    and the retention checkpoint of any chain: the last removed event's seq and hash."""

    __tablename__ = "audit_chains"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    head_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS, server_default=GENESIS)
    pruned_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pruned_hash: Mapped[str] = mapped_column(String(64), default=GENESIS, server_default=GENESIS)


class Complaint(Base):
    """A complaint filed for a user; erased with the user."""

    __tablename__ = "complaints"
    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # filing order: cursors
    id: Mapped[str] = mapped_column(String(40), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(128))
    resolution: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_complaints_status_pk", "status", "pk"),
                      Index("ix_complaints_user", "user_pk"))


class TokenRevocation(Base):
    """A revoked token id (`jti`): refused until `until`, after which the token has expired anyway."""

    __tablename__ = "token_revocations"
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_token_revocations_until", "until"),)


from governor.store import webhook_tables  # noqa: E402,F401  (section 9's tables join this metadata)
