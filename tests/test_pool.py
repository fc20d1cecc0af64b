"""The priority pool: a returned connection goes to the most urgent waiter, FIFO among equals."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aimanager.db.engine import make_engine
from aimanager.db.pool import ENGINE, NORMAL, PriorityWaitQueue, db_priority


def waiters(engine) -> int:  # type: ignore[no-untyped-def]
    queue = engine.sync_engine.pool._pool
    assert isinstance(queue, PriorityWaitQueue)
    return sum(1 for *_, w in queue._waiters if not w.done())


async def until(cond) -> None:  # type: ignore[no-untyped-def]
    for _ in range(10_000):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def test_engine_checkouts_overtake_waiting_handlers(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)  # SQLite: one connection per process
    order: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await release.wait()

    async def use(name: str, level: int) -> None:
        with db_priority(level):
            async with engine.connect() as conn:
                order.append(name)
                await conn.execute(text("SELECT 1"))

    try:
        hold = asyncio.create_task(holder())
        await until(lambda: engine.sync_engine.pool.checkedout() == 1)
        tasks = []
        for name, level in [("handler-1", NORMAL), ("handler-2", NORMAL), ("claim", ENGINE)]:
            tasks.append(asyncio.create_task(use(name, level)))
            expected = len(tasks)
            await until(lambda n=expected: waiters(engine) == n)  # type: ignore[misc]
        release.set()
        await asyncio.gather(hold, *tasks)
        assert order == ["claim", "handler-1", "handler-2"]
    finally:
        await engine.dispose()


async def test_a_timed_out_or_cancelled_waiter_loses_nothing(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    engine.sync_engine.pool._timeout = 0.05  # type: ignore[attr-defined]
    release = asyncio.Event()

    async def holder() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await release.wait()

    try:
        hold = asyncio.create_task(holder())
        await until(lambda: engine.sync_engine.pool.checkedout() == 1)
        with pytest.raises(PoolTimeout):
            async with engine.connect():
                pass
        # A waiter cancelled while queued must not swallow the connection when it is returned.
        doomed = asyncio.create_task(engine.connect().__aenter__())
        await until(lambda: waiters(engine) == 1)
        doomed.cancel()
        release.set()
        await hold
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        assert engine.sync_engine.pool.checkedout() == 0
    finally:
        await engine.dispose()


def test_handover_to_a_cancelled_waiter_passes_the_item_on() -> None:
    async def body() -> None:
        queue = PriorityWaitQueue(maxsize=1)
        loop = asyncio.get_running_loop()
        first: asyncio.Future[object] = loop.create_future()
        second: asyncio.Future[object] = loop.create_future()
        queue._waiters = [(NORMAL, 0, first), (NORMAL, 1, second)]
        first.cancel()  # gave up before the hand-over: skipped
        queue.put_nowait("conn")
        assert second.result() == "conn" and queue.qsize() == 0
        queue.put_nowait("conn2")  # nobody waiting: kept
        assert queue.get_nowait() == "conn2"

    asyncio.run(body())
