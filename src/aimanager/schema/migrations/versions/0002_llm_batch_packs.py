"""llm batch packs: provider batches durable from submission

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import aimanager.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_batch_packs",
        sa.Column("batch_id", sa.String(length=128), nullable=False),
        sa.Column("custom_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column(
            "item_keys",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "custom_id", name=op.f("pk_llm_batch_packs")),
    )
    with op.batch_alter_table("llm_batch_packs", schema=None) as batch_op:
        batch_op.create_index("ix_llm_batch_packs_open", ["settled_at", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("llm_batch_packs", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_batch_packs_open")
    op.drop_table("llm_batch_packs")
