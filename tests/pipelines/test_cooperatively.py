"""``cooperatively``: a handler's CPU loop lets the worker's other tasks run between chunks."""

from __future__ import annotations

import asyncio

from aimanager.pipelines.services.runtime import cooperatively


async def test_other_tasks_run_between_chunks_and_every_item_comes_through() -> None:
    ticks: list[int] = []
    seen: list[int] = []

    async def other() -> None:  # an urgent claim or a heartbeat waiting for its turn
        while True:
            ticks.append(len(seen))
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    async for item in cooperatively(range(100), every=25):
        seen.append(item)  # no await of its own: only the helper hands the loop over
    task.cancel()
    assert seen == list(range(100))
    assert {0, 25, 50, 75} <= set(ticks)
