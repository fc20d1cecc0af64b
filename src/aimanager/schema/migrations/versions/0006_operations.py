"""operations: partner time zone and settings, account health, orders in the stock pool, pushed card hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:45:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import aimanager.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "timezone", sa.String(length=64), server_default=sa.text("'Asia/Tashkent'"), nullable=False
            )
        )
        # Existing partners get empty settings (operator defaults); new rows get theirs from the model.
        batch_op.add_column(sa.Column("settings", _json(), server_default=sa.text("'{}'"), nullable=False))
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.alter_column("settings", server_default=None)

    with op.batch_alter_table("marketplace_integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_success_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_error_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("token_expires_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_pushed_hash", sa.String(length=64), nullable=True))

    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("marketplace_status", sa.String(length=64), nullable=True),
        sa.Column("ordered_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", aimanager.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_orders_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_orders_product_id_products"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("partner_id", "marketplace", "external_id", "sku", name="uq_orders_identity"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_product_state", ["product_id", "state"], unique=False)
        batch_op.create_index("ix_orders_partner_updated", ["partner_id", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_partner_updated")
        batch_op.drop_index("ix_orders_product_state")
    op.drop_table("orders")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("card_pushed_hash")
    with op.batch_alter_table("marketplace_integrations", schema=None) as batch_op:
        batch_op.drop_column("token_expires_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_error_at")
        batch_op.drop_column("last_success_at")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("settings")
        batch_op.drop_column("timezone")
