"""The limiter hands out tokens in the order they were asked for."""

from __future__ import annotations

import asyncio

from aimanager.llm.buckets import Limits
from aimanager.llm.limiter import RateLimiter


async def test_a_small_late_request_does_not_overtake_a_large_waiting_one() -> None:
    # 1,000 output tokens per second, one second of burst; the bucket starts drained.
    limiter = RateLimiter(defaults={"m": Limits(otpm=60_000)}, burst_seconds=1.0)
    await limiter.acquire("m", 0, 1000)
    order: list[str] = []

    async def ask(name: str, tokens: int) -> None:
        await limiter.acquire("m", 0, tokens)
        order.append(name)

    big = asyncio.create_task(ask("big", 900))  # waits ~0.9 s for its tokens
    await asyncio.sleep(0)
    small = asyncio.create_task(ask("small", 10))  # would fit after ~0.01 s if it could jump the queue
    await asyncio.gather(big, small)
    assert order == ["big", "small"]


async def test_requests_are_served_first_come_first_served() -> None:
    limiter = RateLimiter(defaults={"m": Limits(rpm=1200)}, burst_seconds=0.05)  # 20/s, one at a time
    order: list[int] = []

    async def ask(i: int) -> None:
        await limiter.acquire("m", 0, 0)
        order.append(i)

    tasks = []
    for i in range(8):
        tasks.append(asyncio.create_task(ask(i)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == list(range(8))


async def test_a_more_urgent_request_goes_first_among_waiters() -> None:
    limiter = RateLimiter(defaults={"m": Limits(rpm=1200)}, burst_seconds=0.05)
    await limiter.acquire("m", 0, 0)  # the bucket is empty now
    order: list[str] = []

    async def ask(name: str, priority: int) -> None:
        await limiter.acquire("m", 0, 0, priority=priority)
        order.append(name)

    tasks = []
    for name, priority in [("pack-1", 1), ("pack-2", 1), ("pack-3", 1), ("narrative", 0)]:
        tasks.append(asyncio.create_task(ask(name, priority)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    # pack-1 already holds the queue (waiting for its token); the narrative goes next.
    assert order == ["pack-1", "narrative", "pack-2", "pack-3"]


async def test_a_waiting_request_reserves_what_it_is_sized_at_when_its_turn_comes() -> None:
    # A pack built with a 30,000-token budget waits; meanwhile answers teach the gateway that 300
    # suffice. It must wait for (and reserve) 300, not 30,000 — which would take half a minute here.
    limiter = RateLimiter(defaults={"m": Limits(otpm=60_000)}, burst_seconds=1.0)
    await limiter.acquire("m", 0, 1000)  # the bucket is drained
    budget = {"output": 30_000}
    waiter = asyncio.create_task(
        limiter.acquire("m", 0, budget["output"], resize=lambda: (0, budget["output"]))
    )
    await asyncio.sleep(0)
    budget["output"] = 300  # learned while it waited
    reservation = await asyncio.wait_for(waiter, timeout=10)
    assert reservation.output_tokens == 300
