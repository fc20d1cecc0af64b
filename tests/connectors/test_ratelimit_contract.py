"""One contract for the marketplace limiters, run against each implementation: the process-local
buckets and windows, the Redis store on one server, and the Redis store on a three-master Cluster.

A "view" is what one process has of an account: locally every connector of the process shares one
``LimiterSet``; with a store each view has its own Redis client, as separate processes (or hosts) do.
Waits are in marketplace seconds on a clock of scale 1.0. Time passes between the calls (a view's
first Redis call connects; on Cluster it also reads the slot map), and every second that passes pays
off a second of debt, so a wait is checked against what it should be at the first call, less the
time measured since then (``paced``): a bound from a measurement, not from a sleep.
"""

# Fixtures shared with tests/redis_cluster are imported by name (pytest finds them in the module):
from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from aimanager.connectors.ratelimit import (
    CLIENT_RATE_FACTOR,
    LimiterSet,
    LimitSpec,
    MarketClock,
    shared_limiters,
    using_store,
)
from aimanager.connectors.shared_limits import RedisLimitStore, SharedTokenBucket
from aimanager.shared_state import RedisHandle
from tests.redis_cluster.conftest import redis_cluster  # noqa: F401  (the session's cluster)
from tests.servers import REDIS_HOST, REDIS_PORT, require_server

SPECS = {"prices": LimitSpec(10, 6, burst=5), "bulk": LimitSpec(100, 1, burst=101)}
RATE = 10 / 6 * CLIENT_RATE_FACTOR  # the client runs at 90 % of the documented rate
View = Callable[[], LimiterSet]
SLACK = 0.005  # Redis's clock and ours, and float rounding in the scripts


class paced:
    """``wait == paced(expected, since)``: ``wait`` is ``expected`` less at most the seconds since
    ``since`` (a ``time.monotonic()`` taken before the first call of the sequence)."""

    def __init__(self, expected: float, since: float) -> None:
        self.expected, self.since = expected, since

    def __eq__(self, wait: object) -> bool:
        assert isinstance(wait, float)
        elapsed = time.monotonic() - self.since
        return self.expected - elapsed - SLACK <= wait <= self.expected + SLACK

    def __repr__(self) -> str:
        return f"{self.expected:.3f} less the time since the first call"


@pytest.fixture(params=["local", "redis", "cluster"])
async def views(request: pytest.FixtureRequest) -> AsyncIterator[View]:
    """A factory of views of one fresh account (see the module docstring)."""
    account = ("wildberries", uuid.uuid4().hex[:16], "contract")
    clock = MarketClock(1.0)
    handles: list[RedisHandle] = []
    if request.param == "local":
        yield lambda: shared_limiters(account, SPECS, clock)
        return
    if request.param == "redis":
        require_server("Redis", REDIS_HOST, REDIS_PORT)
        url = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
    else:
        url = request.getfixturevalue("redis_cluster").url
    prefix = f"aimtest:{uuid.uuid4().hex[:10]}:"

    def view() -> LimiterSet:
        handle = RedisHandle(url, prefix)
        handles.append(handle)
        with using_store(RedisLimitStore(handle)):
            return shared_limiters(account, SPECS, clock)

    try:
        yield view
    finally:
        for handle in handles:
            assert handle.outage.outages == 0, "Redis was unreachable during a contract test"
            await handle.close()


async def test_a_full_bucket_serves_its_burst_then_paces(views: View) -> None:
    t0 = time.monotonic()
    bucket = views().bucket("prices")
    waits = [await bucket.take() for _ in range(6)]
    assert waits[:4] == [0.0] * 4  # burst 5, one token kept spare
    assert waits[4] == paced(1 / RATE, t0)
    assert waits[5] == paced(2 / RATE, t0)


async def test_every_view_of_an_account_spends_one_budget(views: View) -> None:
    t0 = time.monotonic()
    one, two = views().bucket("prices"), views().bucket("prices")
    waits = [await (one if i % 2 else two).take() for i in range(6)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == paced(1 / RATE, t0)
    assert waits[5] == paced(2 / RATE, t0)
    # Method groups are separate buckets of the same account.
    assert await views().bucket("bulk").take() == 0.0


async def test_a_refused_request_is_charged_to_every_view(views: View) -> None:
    t0 = time.monotonic()
    one, two = views().bucket("prices"), views().bucket("prices")
    assert await one.take() == 0.0
    one.penalize(9)  # WB bills a stock 409 as ten requests: nine more than the one taken
    level = await one.level()
    assert 4 - 1 - 9 - SLACK <= level <= 4 - 1 - 9 + (time.monotonic() - t0) * RATE + SLACK
    # The other view waits for the debt and its own token: 7 tokens short.
    assert await two.take() == paced(7 / RATE, t0)


async def test_a_retry_after_holds_back_every_view(views: View) -> None:
    t0 = time.monotonic()
    one, two = views().bucket("prices"), views().bucket("prices")
    one.block_for(30.0)  # a 429 said: nothing for 30 s
    await one.level()  # the cool-down is in the store now (another process cannot see it sooner)
    assert await two.take() == paced(30.0, t0)
    assert await one.take() == paced(30.0 + 1 / RATE, t0)


async def test_tokens_come_back_with_time_up_to_the_capacity() -> None:
    # Lower bounds only: a sleep lasts at least what it was asked for.
    clock = MarketClock(0.01)  # a marketplace second is 10 ms
    account = ("wildberries", uuid.uuid4().hex[:16], "refill")
    bucket = shared_limiters(account, SPECS, clock).bucket("prices")
    for _ in range(4):
        await bucket.take()
    wait = await bucket.take()
    assert wait > 0
    await clock.sleep(wait)
    assert await bucket.level() >= -1e-6
    await clock.sleep(10)  # 15 tokens' worth
    assert await bucket.level() == pytest.approx(4.0)


async def test_refill_in_redis_follows_redis_time(redis_url: str, redis_prefix: str) -> None:
    clock = MarketClock(0.01)
    handle = RedisHandle(redis_url, redis_prefix)
    try:
        with using_store(RedisLimitStore(handle)):
            limiters = shared_limiters(("wildberries", uuid.uuid4().hex[:16], "refill"), SPECS, clock)
        bucket = limiters.bucket("prices")
        assert isinstance(bucket, SharedTokenBucket)
        for _ in range(4):
            await bucket.take()
        wait = await bucket.take()
        assert wait > 0
        await clock.sleep(wait)
        assert await bucket.level() >= -1e-6
        await clock.sleep(10)  # 15 tokens' worth
        assert await bucket.level() == pytest.approx(4.0)
    finally:
        await handle.close()


async def test_a_keyed_window_cools_each_key_for_every_view(views: View) -> None:
    t0 = time.monotonic()
    one, two = views().window("stock_pair", 1, 30.0), views().window("stock_pair", 1, 30.0)
    assert await one.take(["a@1", "b@1"]) == 0.0
    assert await two.take(["c@1"]) == 0.0
    # The window runs 5 % over its period (the server's clock starts when the request arrives).
    assert await two.take(["a@1"]) == paced(31.5, t0)
    await one.refresh(["c@1", "z@1"])
    assert one.wait_for("c@1") == paced(31.5, t0)
    assert one.wait_for("z@1") == 0.0
    # A batch waits for its slowest key.
    assert await one.take(["z@1", "b@1"]) == paced(31.5, t0)


async def test_a_window_allows_its_count_per_period(views: View) -> None:
    t0 = time.monotonic()
    one, two = views().window("price", 10, 3600.0), views().window("price", 10, 3600.0)
    waits = [await (one if i % 2 else two).take(["SKU-1"]) for i in range(10)]
    assert waits == [0.0] * 10
    assert await one.take(["SKU-1"]) == paced(3780.0, t0)
    await two.refresh(["SKU-1", "SKU-2"])
    assert two.wait_for("SKU-1") > 3700 and two.wait_for("SKU-2") == 0.0
