"""Migrations produce exactly the models' schema on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import aimanager.jobs.backends.sql.tables  # noqa: F401  (the engine's tables, on the same Base)
from aimanager.db.models import Base

REQUIRED_INDEXES = {
    "ai_usage_logs": ["partner_id", "created_at"],
    "products": ["partner_id", "is_active"],
    "marketplace_integrations": ["partner_id", "active"],
}


async def test_upgrade_to_head_equals_models(migrated_engine) -> None:  # type: ignore[no-untyped-def]
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    def indexes(sync_conn):  # type: ignore[no-untyped-def]
        insp = inspect(sync_conn)
        return {t: [ix["column_names"] for ix in insp.get_indexes(t)] for t in REQUIRED_INDEXES}

    async with migrated_engine.connect() as conn:
        assert await conn.run_sync(diff) == []
        found = await conn.run_sync(indexes)
    for table, cols in REQUIRED_INDEXES.items():
        assert cols in found[table], f"{table} lacks the index on {cols}"
