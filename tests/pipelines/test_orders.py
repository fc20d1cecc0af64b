"""Order feeds: one marketplace read serves stock and analytics; failures are not remembered."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from aimanager.connectors.base import SaleRecord
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.orders import OrderFeeds

TODAY = datetime.now(UTC).date()


class CountingOrders:
    """A connector twin whose order feed has one sale per day for 60 days; counts the reads."""

    def __init__(self) -> None:
        self.reads: list[tuple[date, date]] = []
        self.fail_next = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def get(self, partner_id: int, marketplace: Marketplace) -> Any:
        return self

    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        self.reads.append((date_from, date_to))
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("finance API said 429")
        days = [TODAY - timedelta(days=i) for i in range(60)]
        return [
            SaleRecord(
                date=datetime(d.year, d.month, d.day, 12, tzinfo=UTC),
                offer_id="SKU-1",
                quantity=1,
                revenue=Decimal(100),
            )
            for d in days
            if date_from <= d <= date_to
        ]


async def test_one_read_serves_both_windows_and_concurrent_readers() -> None:
    source = CountingOrders()
    feeds = OrderFeeds(source, days=31)
    source.gate.clear()
    stock = asyncio.create_task(feeds.read(1, Marketplace.WILDBERRIES, TODAY - timedelta(days=14), TODAY))
    analytics = asyncio.create_task(feeds.read(1, Marketplace.WILDBERRIES, TODAY - timedelta(days=29), TODAY))
    await asyncio.sleep(0)
    source.gate.set()
    assert len(await stock) == 15 and len(await analytics) == 30
    assert source.reads == [(TODAY - timedelta(days=31), TODAY)]
    # Another partner, or the same partner on another marketplace, is a read of its own.
    await feeds.read(2, Marketplace.WILDBERRIES, TODAY, TODAY)
    await feeds.read(1, Marketplace.OZON, TODAY, TODAY)
    assert len(source.reads) == 3


async def test_a_wider_window_or_an_expired_entry_reads_again() -> None:
    now = [0.0]
    source = CountingOrders()
    feeds = OrderFeeds(source, days=31, ttl_s=600, clock=lambda: now[0])
    await feeds.read(1, Marketplace.OZON, TODAY - timedelta(days=7), TODAY)
    await feeds.read(1, Marketplace.OZON, TODAY - timedelta(days=45), TODAY)  # wider than cached
    assert len(source.reads) == 2
    now[0] = 601.0
    await feeds.read(1, Marketplace.OZON, TODAY - timedelta(days=7), TODAY)
    assert len(source.reads) == 3


async def test_expired_reads_are_forgotten_not_kept_for_every_account() -> None:
    now = [0.0]
    source = CountingOrders()
    feeds = OrderFeeds(source, days=31, ttl_s=600, clock=lambda: now[0])
    for partner in range(1, 4):
        await feeds.read(partner, Marketplace.OZON, TODAY, TODAY)
    assert len(feeds._entries) == 3
    now[0] = 601.0
    await feeds.read(9, Marketplace.OZON, TODAY, TODAY)
    assert list(feeds._entries) == [(9, Marketplace.OZON)]


async def test_a_failed_read_is_not_remembered() -> None:
    source = CountingOrders()
    feeds = OrderFeeds(source, days=31)
    source.fail_next = True
    with pytest.raises(RuntimeError, match="429"):
        await feeds.read(1, Marketplace.YANDEX, TODAY - timedelta(days=14), TODAY)
    assert len(await feeds.read(1, Marketplace.YANDEX, TODAY - timedelta(days=14), TODAY)) == 15
    assert len(source.reads) == 2
