"""A Redis Cluster master stops and starts again while the product's Redis users keep working.

Everything that lives in Redis is exercised in a loop — the LLM cache and limiter, a marketplace
account's bucket and window, the price push lock (through ``GroupPush``) and the order-feed memo
(through ``OrderFeeds``) — while one of the three masters is killed and started again. No operation
may raise (a job would have failed); each must notice the outage, keep working locally, and be back
on the cluster once the master is.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aimanager.connectors.base import PriceUpdate, PushReport, SaleRecord
from aimanager.connectors.ratelimit import LimitSpec, MarketClock, shared_limiters, using_store
from aimanager.connectors.shared_limits import RedisLimitStore
from aimanager.domain.enums import Marketplace
from aimanager.llm.buckets import RedisBuckets
from aimanager.llm.cache import RedisCacheStore
from aimanager.pipelines.services.group_push import GroupPush
from aimanager.pipelines.services.orders import OrderFeeds
from aimanager.shared_state import RedisHandle, SharedLocks, SharedMemo
from tests.redis_cluster.servers import OwnCluster

TODAY = datetime.now(UTC).date()


class Feed:
    """A connector twin with a one-line order feed; counts its reads."""

    def __init__(self) -> None:
        self.reads = 0

    async def get(self, partner_id: int, marketplace: Marketplace) -> Any:
        return self

    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        self.reads += 1
        when = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
        return [SaleRecord(date=when, offer_id="A", quantity=1, revenue=Decimal(10))]


async def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_everything_degrades_and_recovers_across_a_master_restart(own_cluster: OwnCluster) -> None:
    prefix = f"aimtest:{uuid.uuid4().hex[:8]}:"
    url = own_cluster.url
    cache = RedisCacheStore(url, prefix + "cache:")
    llm = RedisBuckets(url, prefix + "bucket:")
    handle = RedisHandle(url, prefix)
    with using_store(RedisLimitStore(handle)):
        limiters = shared_limiters(
            ("wb", uuid.uuid4().hex, "failover"), {"g": LimitSpec(1e6, 1, burst=1000)}, MarketClock(1.0)
        )
    bucket, window = limiters.bucket("g"), limiters.window("pair", 1, 0.001)
    locks = SharedLocks(handle, "prices", ttl_s=2.0)
    sent: list[int] = []

    async def send(key: Any, items: list[PriceUpdate]) -> PushReport:
        sent.append(len(items))
        return PushReport(accepted=[i.offer_id for i in items], requests=1)

    pushes = GroupPush(send, lambda u: u.offer_id, lambda key: locks.hold(f"{key}"))
    source = Feed()
    # ttl 0.2 s: a fresh shared read is needed every few rounds, so the memo's path through Redis
    # is exercised all along, not served from the process-local entry.
    feeds = OrderFeeds(source, days=3, ttl_s=0.2, shared=SharedMemo(handle, "orders"))
    rounds = 0
    stop = asyncio.Event()

    async def one_round(i: int) -> None:
        await cache.put_many([(f"k{i % 50}", str(i), None)])
        await cache.get_many([f"k{j}" for j in range(50)])  # keys on every master
        await llm.reserve(f"model-{i % 7}", [("rpm", 1.0, 1e6, 1e6), ("otpm", 10.0, 1e6, 1e6)])
        await bucket.acquire()
        await window.acquire([f"o{i % 9}@1", f"o{(i + 1) % 9}@1"])
        window.confirm([f"o{i % 9}@1"])
        report = await pushes.push(f"acct-{i % 3}", [PriceUpdate(offer_id=f"o{i}", price=Decimal(i + 1))])
        assert report.accepted == [f"o{i}"]
        lines = await feeds.read(i % 4, Marketplace.WILDBERRIES, TODAY - timedelta(days=1), TODAY)
        assert [r.offer_id for r in lines] == ["A"]

    async def loop() -> None:
        nonlocal rounds
        while not stop.is_set():
            await one_round(rounds)  # an exception here is one a job would have died of
            rounds += 1
            await asyncio.sleep(0.005)

    runner = asyncio.create_task(loop())
    outages = (cache.outage, llm.outage, handle.outage)
    try:
        await wait_for(lambda: rounds >= 20 or runner.done(), "rounds on the healthy cluster")
        assert all(o.outages == 0 for o in outages)
        own_cluster.nodes[0].stop()
        await wait_for(lambda: all(o.outages >= 1 for o in outages) or runner.done(), "every user to notice")
        during = rounds
        await wait_for(lambda: rounds >= during + 20 or runner.done(), "rounds while the master is away")
        own_cluster.nodes[0].start()
        await asyncio.to_thread(own_cluster.wait_ok)
        await wait_for(
            lambda: all(o.down_since is None for o in outages) or runner.done(), "every user to be back"
        )
        after = rounds
        await wait_for(lambda: rounds >= after + 20 or runner.done(), "rounds on the recovered cluster")
        assert not runner.done(), runner.exception()
        # Back on the cluster for real: a write through one client is read through another.
        await cache.put_many([("after", "yes", None)])
        other = RedisCacheStore(url, prefix + "cache:")
        try:
            assert await other.get_many(["after"]) == {"after": "yes"}
        finally:
            await other.close()
        async with locks.hold("probe") as hold:
            assert hold.shared
    finally:
        stop.set()
        await runner
        await cache.close()
        await llm.close()
        await handle.close()
    assert all(o.down_since is None for o in outages)
    assert sum(sent) == rounds  # every price went out, Redis or not
