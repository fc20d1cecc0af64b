"""Redis going away mid-run: the LLM cache misses and the limiter limits in process, at its local share,
and both use Redis again when it is back; cards generated meanwhile do not fail.

The test starts its own ``redis-server`` on a free loopback port (and stops and starts it again), so the
shared server is never touched.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aimanager.llm import CardRequest
from aimanager.llm.buckets import RedisBuckets
from aimanager.llm.cache import RedisCacheStore
from tests.llm.conftest import product

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


class OwnRedis:
    """A throwaway redis-server on a fixed loopback port, stoppable and restartable."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def until(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_cache_misses_while_redis_is_down_and_recovers(own_redis: OwnRedis) -> None:
    store = RedisCacheStore(own_redis.url, "t:cache:")
    try:
        await store.put_many([("a", "1", None)])
        assert await store.get_many(["a"]) == {"a": "1"}
        own_redis.stop()
        assert await store.get_many(["a"]) == {}  # a miss, not an error
        await store.put_many([("b", "2", None)])  # dropped, not an error
        await store.delete(["a"])
        assert store.outage.down_since is not None and store.skipped >= 2
        own_redis.start()

        async def back() -> bool:
            await store.put_many([("c", "3", None)])
            return await store.get_many(["c"]) == {"c": "3"}

        await until(back, "the cache to use Redis again")
        assert store.outage.down_since is None and store.outage.outages == 1
    finally:
        await store.close()


async def test_limiter_limits_locally_at_its_share_then_shares_again(own_redis: OwnRedis) -> None:
    buckets = RedisBuckets(own_redis.url, "t:bucket:", local_share=0.25)
    rate, capacity = 100.0, 100.0  # 6,000 per minute, a second of burst
    try:
        assert await buckets.reserve("m", [("rpm", 80.0, rate, capacity)]) == 0.0  # shared bucket
        own_redis.stop()
        # Locally a quarter of the bucket: 25 fits at once, the next 25 must wait.
        assert await buckets.reserve("m", [("rpm", 25.0, rate, capacity)]) == 0.0
        wait = await buckets.reserve("m", [("rpm", 25.0, rate, capacity)])
        assert wait > 0.5, wait  # refilling at a quarter of the rate: 25 / 25 per second
        assert buckets.outage.down_since is not None
        own_redis.start()

        async def shared_again() -> bool:
            await buckets.reserve("m", [("rpm", 1.0, rate, capacity)])
            return buckets.outage.down_since is None

        await until(shared_again, "the limiter to use Redis again")
        # The shared bucket is a fresh one in the restarted server: its full capacity is there again.
        assert await buckets.reserve("m", [("rpm", 90.0, rate, capacity)]) == 0.0
    finally:
        await buckets.close()


async def test_cards_do_not_fail_while_redis_is_down(
    own_redis: OwnRedis, make_gateway: Any, sandbox: Any
) -> None:
    _, state = sandbox
    gw = await make_gateway(
        cache_store="redis", redis_url=own_redis.url, redis_prefix="t:gw:", limiter_store="redis"
    )
    try:
        first = await gw.generate_cards([CardRequest(f"A{i}", 1, product(f"A{i}")) for i in range(4)])
        assert [r.error for r in first] == [None] * 4
        own_redis.stop()
        during = await gw.generate_cards([CardRequest(f"B{i}", 1, product(f"B{i}")) for i in range(4)])
        assert [r.error for r in during] == [None] * 4
        # A cached answer is unreachable while Redis is down: asked again, not failed.
        again = await gw.generate_cards([CardRequest("A0", 1, product("A0"))])
        assert again[0].error is None and again[0].path == "realtime"
        own_redis.start()
        calls = state.count("messages")

        async def cached_again() -> bool:
            res = await gw.generate_cards([CardRequest("C0", 1, product("C0"))])
            assert res[0].error is None
            hit = await gw.generate_cards([CardRequest("C0", 1, product("C0"))])
            return hit[0].path == "cache"

        await until(cached_again, "cache hits from Redis again")
        assert state.count("messages") > calls
    finally:
        await gw.close()
