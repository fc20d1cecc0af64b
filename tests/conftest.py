"""Shared fixtures: database URLs for both dialects, Redis, and a migrated engine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.servers import REDIS_HOST, REDIS_PORT, create_pg_database, drop_pg_database, require_server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each dialect in turn."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def migrated_engine(db_url: str):  # type: ignore[no-untyped-def]
    """An engine on a database upgraded to head (both dialects)."""
    from aimanager.db.engine import make_engine
    from aimanager.schema.migrate import upgrade

    engine = make_engine(db_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The local Redis; tests must namespace their keys with the ``redis_prefix`` fixture."""
    require_server("Redis", REDIS_HOST, REDIS_PORT)
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    import redis.asyncio as aioredis

    prefix = f"aimtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = aioredis.from_url(redis_url)
    async for key in client.scan_iter(match=prefix + "*"):
        await client.delete(key)
    await client.aclose()


# Tests that take a minute or more as a module (many CLI subprocesses, browsers, clusters, multi-process
# runs): `make test-long` runs them with the ones marked `long` in place, and CI runs both, so
# `make test` stays near a quarter of an hour on two cores.
LONG_MODULES = (
    "tests/test_cli_operator.py",
    "tests/test_cli_schedule.py",
    "tests/cli_e2e/",
    "tests/console/",
    "tests/api/test_query_plans.py",
    "tests/pipelines/test_orders_flow.py",
    "tests/redis_cluster/",
    "tests/jobs/test_processes.py",
    "tests/images/test_images_end_to_end.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(LONG_MODULES):
            item.add_marker(pytest.mark.long)
