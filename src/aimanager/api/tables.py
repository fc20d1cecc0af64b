"""Access tables (API keys, console users, the audit log) on the product's one ``Base``; revision 0007.

* ``api_keys``: only the SHA-256 of a random 32-byte token is kept (the token is shown once, on
  creation); ``prefix`` (its first characters) names it in lists. A key has a role — admin, staff or
  partner — and a partner key carries its partner.
* ``users``: console logins, the password as an Argon2id hash, the same roles as keys.
* ``audit_log``: one row per write through the API or the console: who (key or user), what (method,
  route, target), when, from where (client address), and its outcome status.

Besides its own tables, revisions 0007 and 0010 add the indexes the console's list pages need (tasks by
time, AI usage by day): they are declared here on the existing tables so the models and the
migrated schema stay one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from aimanager.db.models import AIUsageLog, Base, BigId, CardVersion, PriceChange, TaskRecord, utcnow
from aimanager.db.types import JSONType, UTCDateTime

ROLES = ("admin", "staff", "partner")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the token: a leaked table does not give working keys.
    token_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True
    )
    language: Mapped[str] = mapped_column(String(8), default="ru")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created", "created_at"),
        Index("ix_audit_log_partner_created", "partner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(96))  # "key:3 ops-bot" | "user:alice"
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # whose data it touched
    action: Mapped[str] = mapped_column(String(128))  # "POST /v1/partners/{partner}/runs"
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# One partner's tasks newest first and every partner's by time (the console's task pages, the
# API's cursor): without these a task page sorts a million rows.
Index("ix_tasks_partner_updated", TaskRecord.partner_id, TaskRecord.updated_at, TaskRecord.id)
Index("ix_tasks_updated", TaskRecord.updated_at, TaskRecord.id)
# Spend today / per day across partners (the per-partner index already exists).
Index("ix_ai_usage_logs_created", AIUsageLog.created_at)
# Revision 0010. Tasks of one status newest first across partners (``/v1/tasks?status=failed``): the
# time index alone walks every row when the status is rare or absent.
Index("ix_tasks_status_updated", TaskRecord.status, TaskRecord.updated_at, TaskRecord.id)
# Card versions and price changes of one status newest first, and the review queue (and its count)
# as an index range of ``pending_approval``, not a walk of every version ever written.
Index("ix_card_versions_status", CardVersion.status, CardVersion.id)
# One partner's card versions newest first (``/v1/cards?partner=``): a keyset page, not a sort of its
# versions joined to every product.
Index("ix_card_versions_partner_newest", CardVersion.partner_id, CardVersion.id)
Index("ix_price_changes_status", PriceChange.status, PriceChange.id)
