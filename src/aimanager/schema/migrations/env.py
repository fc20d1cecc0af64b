"""Alembic environment: runs on a connection handed in by ``aimanager.schema.migrate`` or on the URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

# The schema is the store's tables plus the job engine's, declared on the same Base; this script is
# where the two are assembled for Alembic, which is why ``schema`` sits above both ``db`` and ``jobs``.
import aimanager.alerts.tables  # registers the alert tables on Base
import aimanager.jobs.backends.sql.tables  # noqa: F401  (registers jobs and job_keys on Base)
from aimanager.db.engine import make_engine
from aimanager.db.models import Base

config = context.config
target_metadata = Base.metadata  # the domain's tables and the job engine's: one schema


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async(config.get_main_option("sqlalchemy.url") or ""))
