"""The webhook tables (DESIGN section 9), on the schema's declarative Base: endpoints that an
admin registers, the outbox of events written in the transaction of the change they report, one
delivery per event and subscribed endpoint, and each delivery's attempts.

An event names its user by `user_pk` (ON DELETE CASCADE): erasing the user removes their events,
deliveries and attempts, so an erased id is not left in an undelivered body."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from governor.store.base import Base, BigId, UTCDateTime


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[str] = mapped_column(Text)  # JSON list of event types
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(100))  # whsec_ + base64 of 32 random bytes
    previous_secret: Mapped[str | None] = mapped_column(String(100))  # still signed with until the time below
    previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEvent(Base):
    """The outbox: the body as it is sent, written with the change it reports."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_webhook_events_user", "user_pk"),)


class WebhookDelivery(Base):
    """One event to one endpoint. `id` is the `webhook-id` it is sent with, every time. A worker
    claims a due delivery by moving `next_attempt_at` past the longest send (its lease) under a
    fresh `claim`; a worker that dies leaves it due again when the lease ends."""

    __tablename__ = "webhook_deliveries"
    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # newest first: cursors
    id: Mapped[str] = mapped_column(String(40), unique=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.name", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # place in the retry schedule
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_endpoint", "endpoint", "pk"),
                      Index("ix_webhook_deliveries_event", "event_id"))


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_pk: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.pk", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_pk"),)
