"""tasks: the latest outcome of every task, durable

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aimanager.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("capability", sa.String(length=16), nullable=False),
        sa.Column("marketplace", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("partner_id", "capability", "marketplace", "sku", name="uq_tasks_identity"),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_partner_status", ["partner_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_partner_status")
    op.drop_table("tasks")
