"""access: API keys, console users, the audit log; indexes for the console's list pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# The access tables join Base wherever the migrations run (as 0005 does with the alert tables), so a
# comparison of the migrated schema with Base.metadata sees them and the indexes declared beside them.
import aimanager.api.tables
import aimanager.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def _when(name: str, nullable: bool) -> sa.Column[Any]:
    return sa.Column(name, aimanager.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        _when("created_at", False),
        _when("last_used_at", True),
        _when("revoked_at", True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_api_keys_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_keys_token_sha256")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at", False),
        _when("last_login_at", True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_users_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        _when("created_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_created", ["created_at"], unique=False)
        batch_op.create_index("ix_audit_log_partner_created", ["partner_id", "created_at"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_partner_updated", ["partner_id", "updated_at", "id"], unique=False)
        batch_op.create_index("ix_tasks_updated", ["updated_at", "id"], unique=False)
    with op.batch_alter_table("ai_usage_logs", schema=None) as batch_op:
        batch_op.create_index("ix_ai_usage_logs_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_usage_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_usage_logs_created")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_updated")
        batch_op.drop_index("ix_tasks_partner_updated")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_partner_created")
        batch_op.drop_index("ix_audit_log_created")
    op.drop_table("audit_log")
    op.drop_table("users")
    op.drop_table("api_keys")
