"""ledger in flight: an index on (outcome, created_at) of ai_usage_logs for pending and lost rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Pending rows (calls in flight) are few among millions of booked ones: the sweep of lost rows and
    # the lost-row estimates beside spend read them through this index, never the whole ledger.
    with op.batch_alter_table("ai_usage_logs", schema=None) as batch_op:
        batch_op.create_index("ix_ai_usage_logs_outcome_created", ["outcome", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_usage_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_usage_logs_outcome_created")
