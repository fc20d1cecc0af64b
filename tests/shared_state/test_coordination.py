"""Cross-host coordination on one Redis: locks, the shared memo, and the two pipeline services built
on them (the price group commit and the order feeds), each "process" with its own Redis client."""

# Fixtures shared with tests/redis_cluster are imported by name (pytest finds them in the module):
# ruff: noqa: F811
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from aimanager.connectors.base import PriceUpdate, PushReport, SaleRecord
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.group_push import GroupPush
from aimanager.pipelines.services.orders import OrderFeeds
from aimanager.shared_state import RedisHandle, SharedLocks, SharedMemo
from tests.redis_cluster.conftest import own_redis  # noqa: F401  (a redis-server of the test's own)
from tests.redis_cluster.servers import OwnRedis

TODAY = datetime.now(UTC).date()


@pytest.fixture
async def handles(redis_url: str, redis_prefix: str) -> AsyncIterator[list[RedisHandle]]:
    """Three processes' clients of one Redis, keys under the test's prefix."""
    made = [RedisHandle(redis_url, redis_prefix) for _ in range(3)]
    yield made
    for handle in made:
        await handle.close()


async def test_a_lock_admits_one_holder_at_a_time(handles: list[RedisHandle]) -> None:
    inside: set[int] = set()
    overlaps = 0

    async def work(i: int, locks: SharedLocks) -> None:
        nonlocal overlaps
        for _ in range(10):
            async with locks.hold("acct") as hold:
                assert hold.held and hold.shared
                overlaps += bool(inside)
                inside.add(i)
                await asyncio.sleep(0.001)
                inside.discard(i)

    await asyncio.gather(*(work(i, SharedLocks(h, "t")) for i, h in enumerate(handles)))
    assert overlaps == 0


async def test_a_crashed_holders_lock_expires(handles: list[RedisHandle]) -> None:
    locks = SharedLocks(handles[0], "t", ttl_s=0.3)
    # A holder that died: its key is there, nobody renews it.
    await handles[1].client.set(locks.key("acct"), "dead-process", px=300)
    async with locks.hold("acct", wait=False) as hold:
        assert not hold.held
    async with locks.hold("acct") as hold:  # waits out the ttl
        assert hold.held and hold.shared
        assert await handles[1].client.get(locks.key("acct")) not in (None, b"dead-process")


async def test_a_held_lock_is_renewed_past_its_ttl(handles: list[RedisHandle]) -> None:
    locks, other = SharedLocks(handles[0], "t", ttl_s=1.0), SharedLocks(handles[1], "t", ttl_s=1.0)
    async with locks.hold("acct"):
        await asyncio.sleep(2.5)  # more than two ttls: renewed every third of one
        async with other.hold("acct", wait=False) as hold:
            assert not hold.held


async def test_locks_and_memo_go_ahead_alone_while_redis_is_down(own_redis: OwnRedis) -> None:
    handle = RedisHandle(own_redis.url, "t:")
    try:
        own_redis.stop()
        async with SharedLocks(handle, "t").hold("acct") as hold:
            assert hold.held and not hold.shared

        async def compute() -> str:
            return "v"

        assert await SharedMemo(handle, "m").get_or_compute("k", compute, ttl_s=5) == "v"
        assert handle.outage.outages == 1
    finally:
        await handle.close()


async def test_memo_serves_a_wider_copy_and_recomputes_for_a_wider_need(handles: list[RedisHandle]) -> None:
    one, two = SharedMemo(handles[0], "m"), SharedMemo(handles[1], "m")
    calls: list[str] = []

    def compute(value: str) -> Any:
        async def run() -> str:
            calls.append(value)
            return value

        return run

    assert await one.get_or_compute("k", compute("30"), ttl_s=5) == "30"
    assert await two.get_or_compute("k", compute("x"), ttl_s=5, accept=lambda v: int(v) >= 14) == "30"
    assert await two.get_or_compute("k", compute("60"), ttl_s=5, accept=lambda v: int(v) >= 60) == "60"
    assert calls == ["30", "60"] and two.shared_hits == 1


class Feed:
    """A connector twin: one order line a day for 60 days; counts reads; reads take a while."""

    def __init__(self) -> None:
        self.reads: list[tuple[date, date]] = []

    async def get(self, partner_id: int, marketplace: Marketplace) -> Any:
        return self

    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        self.reads.append((date_from, date_to))
        await asyncio.sleep(0.05)
        days = [TODAY - timedelta(days=i) for i in range(60)]
        return [
            SaleRecord(
                date=datetime(d.year, d.month, d.day, 12, tzinfo=UTC),
                offer_id="SKU-1",
                quantity=1,
                revenue=Decimal("99.90"),
                order_id=f"o-{d}",
            )
            for d in days
            if date_from <= d <= date_to
        ]


async def test_order_feeds_read_once_across_processes(handles: list[RedisHandle]) -> None:
    source = Feed()
    feeds = [OrderFeeds(source, days=31, shared=SharedMemo(h, "orders")) for h in handles]
    wb, since = Marketplace.WILDBERRIES, TODAY - timedelta(days=14)
    got = await asyncio.gather(*(f.read(1, wb, since, TODAY) for f in feeds))
    assert source.reads == [(TODAY - timedelta(days=31), TODAY)]  # one read for three processes
    assert all(g == got[0] for g in got) and len(got[0]) == 15
    assert got[0][0].revenue == Decimal("99.90") and got[0][0].date.tzinfo is not None
    # Another account is its own read; a window wider than the stored copy is read again.
    await feeds[0].read(2, wb, since, TODAY)
    await feeds[1].read(1, wb, TODAY - timedelta(days=45), TODAY)
    assert len(source.reads) == 3


async def test_price_pushes_of_one_account_take_turns_across_processes(handles: list[RedisHandle]) -> None:
    in_flight: dict[Hashable, int] = {}
    most: dict[Hashable, int] = {}
    calls: list[int] = []

    async def send(key: Hashable, items: list[PriceUpdate]) -> PushReport:
        in_flight[key] = in_flight.get(key, 0) + 1
        most[key] = max(most.get(key, 0), in_flight[key])
        calls.append(len(items))
        await asyncio.sleep(0.02)  # the marketplace call
        in_flight[key] -= 1
        return PushReport(accepted=[i.offer_id for i in items], requests=1)

    def group(handle: RedisHandle) -> GroupPush[str, PriceUpdate]:
        locks = SharedLocks(handle, "prices")
        return GroupPush(send, lambda u: u.offer_id, lambda key: locks.hold(key))

    groups = [group(h) for h in handles]
    pushes = [
        groups[i % 3].push(f"acct-{i % 2}", [PriceUpdate(offer_id=f"SKU-{i}", price=Decimal(i + 1))])
        for i in range(60)
    ]
    reports = await asyncio.gather(*pushes)
    assert [r.accepted for r in reports] == [[f"SKU-{i}"] for i in range(60)]
    assert most == {"acct-0": 1, "acct-1": 1}  # one call per account in flight, anywhere
    assert sum(calls) == 60 and len(calls) < 30  # and the waiting ones went out together
