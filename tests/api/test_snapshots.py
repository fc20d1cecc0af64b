"""The live overview's fan-out: many streams, one computation per interval per process."""

from __future__ import annotations

import asyncio

import pytest

from aimanager.api.snapshots import Snapshots


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_many_callers_share_one_computation_per_interval() -> None:
    clock = Clock()
    shots = Snapshots(2.0, clock)
    release = asyncio.Event()
    runs = 0

    async def compute() -> int:
        nonlocal runs
        runs += 1
        await release.wait()  # still running while every other caller arrives
        return runs

    callers = [asyncio.create_task(shots.get("overview", compute)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*callers) == [1] * 100
    assert runs == 1
    clock.now = 1.9  # within the interval: the same value, no query
    assert await shots.get("overview", compute) == 1
    clock.now = 2.0  # the interval passed: computed again, once
    assert [await shots.get("overview", compute) for _ in range(3)] == [2, 2, 2]
    assert runs == 2 and shots.computed == 2
    # Another key (one partner's live page) is its own computation.
    assert await shots.get(("partner", 7), compute) == 3


async def test_a_failure_is_not_kept_and_a_leaving_caller_cancels_nothing() -> None:
    clock = Clock()
    shots = Snapshots(2.0, clock)
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError):
        await shots.get("k", broken)
    with pytest.raises(RuntimeError):
        await shots.get("k", broken)  # tried again at once, not an error served for 2 s
    assert calls == 2

    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "numbers"

    leaving = asyncio.create_task(shots.get("s", slow))
    staying = asyncio.create_task(shots.get("s", slow))
    await asyncio.sleep(0)
    leaving.cancel()  # a browser closed its stream
    gate.set()
    assert await staying == "numbers"
