"""The Redis limit store in use: connectors of one account in two "processes" (two Redis clients)
stay within the account's limit at the sandbox; while Redis is down each falls back on a local share
of the limit, and shares again when Redis is back."""

# Fixtures shared with tests/redis_cluster are imported by name (pytest finds them in the module):
# ruff: noqa: F811
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from aimanager.connectors.ratelimit import LimiterSet, LimitSpec, MarketClock, shared_limiters, using_store
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.connectors.shared_limits import RedisLimitStore, SharedTokenBucket, SharedWindow
from aimanager.connectors.wildberries import limits as wb_limits
from aimanager.shared_state import RedisHandle
from aimanager_sandbox import wildberries
from tests.connectors.conftest import Running, settings, start
from tests.redis_cluster.conftest import own_redis  # noqa: F401  (a redis-server of the test's own)
from tests.redis_cluster.servers import OwnRedis

SCALE = 0.05  # a WB "6 s" price window is 0.3 s of wall time: HTTP jitter stays far below a token


@pytest.fixture
def wb() -> Iterator[Running]:
    yield from start(wildberries.create_app, time_scale=SCALE)


async def _hammer(conns: list[Any], per_conn: int) -> None:
    async def reads(conn: Any) -> None:
        for _ in range(per_conn):
            await conn.http.json("GET", "/api/v2/history/tasks", group="prices", params={"uploadID": 1})

    await asyncio.gather(*(reads(c) for c in conns))


async def test_two_processes_share_an_accounts_limit_at_the_sandbox(
    wb: Running, token: str, redis_url: str, redis_prefix: str
) -> None:
    handles = [RedisHandle(redis_url, redis_prefix) for _ in range(2)]
    account = parse_account("wildberries", {"token": token}, settings(time_scale=SCALE))
    conns: list[Any] = [make_connector(account, wb.url, limit_store=RedisLimitStore(h)) for h in handles]
    try:
        assert all(isinstance(c.http.limiters.bucket("prices"), SharedTokenBucket) for c in conns)
        await _hammer(conns, 12)
    finally:
        for conn in conns:
            await conn.aclose()
        for handle in handles:
            await handle.close()
    assert wb.sandbox.count(group="prices") == 24
    assert wb.sandbox.rejections() == 0  # the account's limit held across both


async def test_without_a_shared_store_two_processes_overrun_the_account(wb: Running, token: str) -> None:
    # The control: the same traffic from two processes that each keep their own budget.
    account = parse_account("wildberries", {"token": token}, settings(time_scale=SCALE))
    conns: list[Any] = [make_connector(account, wb.url) for _ in range(2)]
    conns[1].http.limiters = LimiterSet(wb_limits.LIMITS, MarketClock(SCALE))  # another process's
    try:
        await _hammer(conns, 12)
    finally:
        for conn in conns:
            await conn.aclose()
    assert wb.sandbox.rejections() > 0


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_bucket_limits_at_its_local_share_while_redis_is_down(own_redis: OwnRedis) -> None:
    handle = RedisHandle(own_redis.url, "t:")
    clock = MarketClock(1.0)
    spec = {"bulk": LimitSpec(100, 1, burst=101)}  # client side: 90/s, 100 at once
    try:
        with using_store(RedisLimitStore(handle, local_share=0.25)):
            bucket = shared_limiters(("wb", uuid.uuid4().hex, "x"), spec, clock).bucket("bulk")
        assert [await bucket.take(10) for _ in range(9)] == [0.0] * 9  # 90 of the shared 100
        own_redis.stop()
        # Alone, this process takes a quarter: 25 at once, then a quarter of the rate.
        assert await bucket.take(25) == 0.0
        assert await bucket.take(1) == pytest.approx(1 / 22.5, abs=0.01)
        assert handle.outage.down_since is not None
        bucket.penalize(5)  # applied locally while Redis is away, not lost
        assert await bucket.level() < -5
        own_redis.start()

        async def shared_again() -> bool:
            await bucket.take(0)
            return handle.outage.down_since is None

        await until(shared_again, "the bucket to use Redis again")
        # The restarted Redis lost the bucket (nothing is saved): a full one is there again.
        assert await bucket.level() == pytest.approx(100, abs=1)
    finally:
        await handle.close()


async def test_a_window_keeps_its_cooldowns_locally_while_redis_is_down(own_redis: OwnRedis) -> None:
    handle = RedisHandle(own_redis.url, "t:")
    try:
        with using_store(RedisLimitStore(handle)):
            limiters = shared_limiters(("ozon", uuid.uuid4().hex, "x"), {}, MarketClock(1.0))
        window = limiters.window("stock_pair", 1, 30.0)
        assert isinstance(window, SharedWindow)
        assert await window.take(["a@1"]) == 0.0
        own_redis.stop()
        assert await window.take(["b@1"]) == 0.0
        assert await window.take(["b@1"]) > 29  # the local window holds the pair back
        assert window.wait_for("b@1") > 29
        window.confirm(["b@1"])
        await window.refresh(["b@1"])  # no error: Redis is down, the local window answers
        assert handle.outage.down_since is not None
    finally:
        await handle.close()
