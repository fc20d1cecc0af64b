"""Backends for the engine's contract suite: memory, SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aimanager.db.engine import make_engine
from aimanager.jobs import MemoryBackend, SQLBackend
from aimanager.schema.migrate import upgrade
from tests.servers import create_pg_database, drop_pg_database


class FakeClock:
    """A clock tests move by hand: no sleeps, no timing flakiness."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def sql_backend_for(url: str, clock: FakeClock | None = None) -> SQLBackend:
    engine = make_engine(url)
    await upgrade(engine)
    kwargs = {"clock": clock} if clock is not None else {}
    return SQLBackend(engine, owns_engine=True, rng=random.Random(7), **kwargs)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> AsyncIterator[object]:
    """Each implementation of the Backend protocol in turn, on an empty store."""
    if request.param == "memory":
        yield MemoryBackend(clock=clock, rng=random.Random(7))
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}" if request.param == "sqlite" else None
    if url is None:
        url = await create_pg_database()
    be = await sql_backend_for(url, clock)
    await be.setup()
    try:
        yield be
    finally:
        await be.close()
        if request.param == "postgresql":
            await drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_backend(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[SQLBackend]:
    """The SQL implementations only (features the memory twin cannot have, like transactions)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}" if request.param == "sqlite" else None
    if url is None:
        url = await create_pg_database()
    be = await sql_backend_for(url, clock)
    await be.setup()
    try:
        yield be
    finally:
        await be.close()
        if request.param == "postgresql":
            await drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database URL of each SQL dialect (for subprocess tests)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = await create_pg_database()
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        if request.param == "postgresql":
            await drop_pg_database(url)
