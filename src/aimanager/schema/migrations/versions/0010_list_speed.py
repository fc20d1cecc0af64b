"""list speed at 1,000 partners: the daily spend rollup, status indexes for tasks, cards and prices

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aimanager.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled lazily by pipelines/services/spend.py, one closed UTC day at a time: nothing to backfill
    # here, and a migration never waits on summing a year of the ledger.
    op.create_table(
        "ai_usage_daily",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("task_kind", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=18, scale=8, asdecimal=True), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_usage_daily")),
    )
    with op.batch_alter_table("ai_usage_daily", schema=None) as batch_op:
        batch_op.create_index("ix_ai_usage_daily_day", ["day"], unique=False)
        batch_op.create_index("ix_ai_usage_daily_partner_day", ["partner_id", "day"], unique=False)
    op.create_table(
        "ai_usage_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_ai_usage_days")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_status_updated", ["status", "updated_at", "id"], unique=False)
    with op.batch_alter_table("card_versions", schema=None) as batch_op:
        batch_op.create_index("ix_card_versions_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_card_versions_partner_newest", ["partner_id", "id"], unique=False)
    with op.batch_alter_table("price_changes", schema=None) as batch_op:
        batch_op.create_index("ix_price_changes_status", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("price_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_price_changes_status")
    with op.batch_alter_table("card_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_card_versions_partner_newest")
        batch_op.drop_index("ix_card_versions_status")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_updated")
    op.drop_table("ai_usage_days")
    with op.batch_alter_table("ai_usage_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_usage_daily_partner_day")
        batch_op.drop_index("ix_ai_usage_daily_day")
    op.drop_table("ai_usage_daily")
