"""engine guard rails: crashes counted apart from handler attempts; storage settings of the hot tables

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# PostgreSQL storage settings of the queue's hot tables (issue 14: dead-tuple bloat and autovacuum
# falling behind on a hot queue table). ``ALTER TABLE … SET`` takes a SHARE UPDATE EXCLUSIVE lock,
# which reads and writes do not wait for, so this runs safely on a live queue.
#
# jobs: every job is updated 2-4 times (claim, heartbeats, ack) and deleted by the prune; space left
# free on each page keeps the new row versions on the page. Autovacuum by default waits for 20 % of
# the table to be dead, which on a million-row queue is 200,000 dead rows the claim's index scans
# step over: vacuum at 2 % (or 1,000 rows), and analyse as often, so plans follow bulk enqueues.
# job_keys: one row per batch key, updated by every claim (no indexed column changes, so the
# updates are HOT and fit on the page with half of it free); vacuum it after 1,000 dead rows
# whatever its size, unthrottled, since it is tiny and read by every claim.
HOT_TABLES = {
    "jobs": {
        "fillfactor": "70",
        "autovacuum_vacuum_scale_factor": "0.02",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_analyze_scale_factor": "0.02",
        "autovacuum_analyze_threshold": "1000",
        "autovacuum_vacuum_cost_delay": "1",
    },
    "job_keys": {
        "fillfactor": "50",
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_analyze_scale_factor": "0.05",
        "autovacuum_vacuum_cost_delay": "0",
    },
}


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crashes", sa.Integer(), server_default=sa.text("0"), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        for table, options in HOT_TABLES.items():
            settings = ", ".join(f"{k} = {v}" for k, v in options.items())
            op.execute(f"ALTER TABLE {table} SET ({settings})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, options in HOT_TABLES.items():
            op.execute(f"ALTER TABLE {table} RESET ({', '.join(options)})")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("crashes")
