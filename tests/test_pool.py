"""The priority pool: a returned connection goes to the most urgent waiter, FIFO among equals."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aimanager.db.engine import make_engine
from aimanager.db.pool import ENGINE, NORMAL, PriorityWaitQueue, db_priority
from aimanager.handoff import PriorityHandoff


def waiters(engine) -> int:  # type: ignore[no-untyped-def]
    queue = engine.sync_engine.pool._pool
    assert isinstance(queue, PriorityWaitQueue)
    return queue.waiters.waiting()


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


async def test_handover_skips_a_cancelled_waiter_and_a_late_cancel_gives_the_item_back() -> None:
    handoff: PriorityHandoff[str] = PriorityHandoff()
    given_back: list[str] = []
    first = asyncio.create_task(handoff.wait(NORMAL, given_back.append))
    second = asyncio.create_task(handoff.wait(NORMAL, given_back.append))
    await until(lambda: handoff.waiting() == 2)
    first.cancel()  # gave up before the hand-over: skipped
    await until(lambda: handoff.waiting() == 1)
    assert handoff.hand_over("conn")
    assert await second == "conn"
    assert not handoff.hand_over("conn2")  # nobody waiting: the caller keeps it
    # Cancelled in the same turn as the hand-over: the item must not vanish with the waiter.
    third = asyncio.create_task(handoff.wait(ENGINE, given_back.append))
    await until(lambda: handoff.waiting() == 1)
    assert handoff.hand_over("conn3")
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    assert given_back == ["conn3"]
