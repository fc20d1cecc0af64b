"""Access tables (API keys, console users, the audit log) on the product's one ``Base``; revision 0007.

* ``api_keys``: only the SHA-256 of a random 32-byte token is kept (the token is shown once, on
  creation); ``prefix`` (its first characters) names it in lists. A key has a role — admin, staff or
  partner — and a partner key carries its partner.
* ``users``: console logins, the password as an Argon2id hash, the same roles as keys.
* ``audit_log``: one row per write through the API or the console: who (key or user), what (method,
  route, target), when, from where (client address), and its outcome status.

Besides its own tables, revision 0007 adds the indexes the console's list pages need (tasks by
time, AI usage by day): they are declared here on the existing tables so the models and the
migrated schema stay one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from aimanager.db.models import AIUsageLog, Base, BigId, TaskRecord, utcnow
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
