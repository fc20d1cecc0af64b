"""job schedules: the engine's cron

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_schedules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("batch_key", sa.String(length=200), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("every_s", sa.Double(), nullable=False),
        sa.Column("next_at", sa.Double(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_fired_at", sa.Double(), nullable=True),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_schedules")),
    )
    with op.batch_alter_table("job_schedules", schema=None) as batch_op:
        batch_op.create_index("ix_job_schedules_due", ["next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_job_schedules_due")
    op.drop_table("job_schedules")
