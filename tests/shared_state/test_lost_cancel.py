"""A lock's renewer that outlives its cancel (issue 14: stock.sync jobs hung with Redis configured).

redis-py sends every command through ``asyncio.wait_for``; on Python 3.11 a cancel that arrives once
the answer is in, but before the waiting task resumes, is lost: ``wait_for`` returns the answer. A
holder leaving ``SharedLocks.hold`` cancels its renewer; when that cancel was lost, the renewer went
on renewing forever and the holder, waiting for it to end, never left the block: the lock stayed
held and renewed in Redis, the order feed it guarded never came back, and every ``stock.sync`` of
the account waited for it.

These tests lose the cancel on purpose (the renew call holds its answer until the holder leaves, then
returns it as ``wait_for`` does) against a real Redis: the holder must leave at once, release the
lock, and the renewer must stop by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.orders import OrderFeeds
from aimanager.shared_state import RedisHandle, SharedLocks, SharedMemo
from tests.shared_state.test_coordination import Feed

TODAY = datetime.now(UTC).date()
# A hang guard, not a timing assertion: a holder that leaves at all leaves in milliseconds.
HANG_S = 10.0


class CancelLosingRenew:
    """The renew script as redis-py runs it on 3.11 when the holder's cancel lands with the answer:
    the first renewal's answer (from the real Redis) is held until the renewer is cancelled, and then
    returned, the cancel lost. Later renewals go straight through."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0
        self.inside = asyncio.Event()  # the renewer is in its first renewal
        self.lost = 0  # cancels this call swallowed

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        answer = await self.real(**kwargs)
        if self.calls > 1:
            return answer
        self.inside.set()
        try:
            await asyncio.Event().wait()  # until the holder leaves and cancels the renewer
        except asyncio.CancelledError:
            self.lost += 1
        return answer


class LosingHandle(RedisHandle):
    """A process's real Redis handle whose lock-renew script loses its cancel (see above)."""

    renew: CancelLosingRenew | None = None

    def script(self, source: str) -> Any:
        registered = super().script(source)
        if "PEXPIRE" not in source:
            return registered
        self.renew = CancelLosingRenew(registered)
        return self.renew


@pytest.fixture
async def two(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[LosingHandle, RedisHandle]]:
    """Two processes' clients of one Redis; the first one's renewals lose their cancel."""
    first, second = LosingHandle(redis_url, redis_prefix), RedisHandle(redis_url, redis_prefix)
    yield first, second
    await first.close()
    await second.close()


async def test_a_holder_leaves_and_releases_when_its_renewer_loses_the_cancel(
    two: tuple[LosingHandle, RedisHandle],
) -> None:
    losing, other = two
    locks = SharedLocks(losing, "t", ttl_s=0.3)  # renewed every 0.1 s
    renew = losing.renew
    assert renew is not None

    async def hold_until_renewing() -> None:
        async with locks.hold("acct") as hold:
            assert hold.held and hold.shared
            await renew.inside.wait()  # leave while the renewer is in its Redis call

    holder = asyncio.create_task(hold_until_renewing())
    done, _ = await asyncio.wait({holder}, timeout=HANG_S)
    assert holder in done, "the holder waited for a renewer that lost its cancel"
    holder.result()
    assert renew.lost == 1  # the cancel was indeed lost
    # Released, and not renewed again: another process takes the lock at once.
    assert await other.client.get(locks.key("acct")) is None
    async with SharedLocks(other, "t", ttl_s=0.3).hold("acct", wait=False) as hold:
        assert hold.held and hold.shared
    # The renewer stopped by itself (it looks at its stop signal after each renewal).
    for _ in range(200):
        if not locks.renewers:
            break
        await asyncio.sleep(0.01)
    assert not locks.renewers


async def test_an_order_feed_read_comes_back_when_its_lock_renewer_loses_the_cancel(
    two: tuple[LosingHandle, RedisHandle],
) -> None:
    losing, other = two
    renew_started = asyncio.Event()

    class SlowFeed(Feed):
        """The read ends while the reader's lock is being renewed (the issue's timing)."""

        async def read_orders(self, date_from: Any, date_to: Any) -> Any:
            records = await super().read_orders(date_from, date_to)
            assert losing.renew is not None
            await losing.renew.inside.wait()
            renew_started.set()
            return records

    source = SlowFeed()
    memo = SharedMemo(losing, "orders", lock_ttl_s=0.3)
    first = OrderFeeds(source, days=31, shared=memo)
    second = OrderFeeds(source, days=31, shared=SharedMemo(other, "orders", lock_ttl_s=0.3))
    wb, since = Marketplace.WILDBERRIES, TODAY - timedelta(days=14)

    reader = asyncio.create_task(first.read(7, wb, since, TODAY))
    done, _ = await asyncio.wait({reader}, timeout=HANG_S)
    assert reader in done, "the order feed read never came back (its lock holder waited on its renewer)"
    assert len(reader.result()) == 15 and renew_started.is_set()
    assert losing.renew is not None and losing.renew.lost == 1
    # The other process is served the stored copy straight away: the lock is not held any more.
    assert await other.client.get(memo.locks.key("7:wildberries")) is None
    got = await asyncio.wait_for(second.read(7, wb, since, TODAY), HANG_S)
    assert got == reader.result() and len(source.reads) == 1
