"""job pauses: a kind or a partner whose queued jobs claims pass over until it is resumed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No index beyond the key: the table holds a handful of rows, read whole once a second per process.
    op.create_table(
        "job_pauses",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("paused_by", sa.String(length=96), nullable=True),
        sa.Column("paused_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "value", name=op.f("pk_job_pauses")),
    )


def downgrade() -> None:
    op.drop_table("job_pauses")
