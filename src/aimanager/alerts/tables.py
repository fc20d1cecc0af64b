"""The alert tables, on the product's one ``Base`` (``aimanager.db.models``), migrated by revision 0005.

* ``alert_channels``: where alerts go — a Telegram chat, e-mail recipients or a webhook — for the
  operator (``partner_id`` NULL: every partner's alerts and the operator-wide ones) or for one partner.
  Secrets (bot token, SMTP password, webhook signing key) are sealed with the ``CredentialBox`` like
  marketplace credentials; ``settings`` holds the rest. ``recent_sends`` are the epoch seconds of the
  messages sent in the last minute (the channel's rate limit), ``lease_until`` keeps two workers from
  dispatching one channel at the same time.
* ``alerts``: one row per *episode* of a condition: opened when a rule first finds it, ``count``-ed
  and ``last_seen`` while it lasts, ``cleared`` once it is gone; the partial unique index allows one
  active episode per ``dedup_key``, so a condition that comes back opens (and sends) a new one.
* ``alert_deliveries``: one row per episode × subscribed channel: pending until sent (alone or inside
  a digest), retried with backoff while the channel fails, ``failed`` only after every attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from aimanager.db.models import Base, BigId, utcnow
from aimanager.db.types import JSONType, UTCDateTime


class AlertChannel(Base):
    __tablename__ = "alert_channels"
    __table_args__ = (Index("ix_alert_channels_partner_active", "partner_id", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # telegram | email | webhook
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True
    )
    min_severity: Mapped[str] = mapped_column(String(16), default="info")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    secrets_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=20)
    recent_sends: Mapped[list[float]] = mapped_column(JSONType, default=list)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)  # messages sent (a digest is one)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed sends
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_active_key",
            "dedup_key",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_alerts_status_last_seen", "status", "last_seen"),
        Index("ix_alerts_partner_status", "partner_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(48))
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: operator-wide
    dedup_key: Mapped[str] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    message: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)  # the command that acts on it
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | cleared
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)  # checks that found the condition
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertDelivery(Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel_id"),
        Index("ix_alert_deliveries_due", "channel_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigId, ForeignKey("alerts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)  # sent inside a digest message
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
