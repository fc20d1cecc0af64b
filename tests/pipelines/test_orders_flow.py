"""The sandboxes' buyers order for a while at compressed time, the product reads orders and pushes
stock as it does on its schedule, and at no moment does any marketplace show more units of a SKU than
the seller's pool holds (checked over the merged timelines of the four sandboxes, event by event).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimanager.domain.enums import Marketplace
from aimanager_lab.environment import SandboxWorld
from tests.pipelines.orders_world import OrderDesks, connected_partner, run_job
from tests.timeline import violations as replay

pytestmark = pytest.mark.slow
STOCK = 60
WALL_LIMIT_S = 60.0
ENOUGH_ORDERS = 150


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


def violations(books: dict[Marketplace, dict], stock: int) -> list[str]:  # type: ignore[type-arg]
    """Every offer's pool is ``stock`` less its open orders (``tests.timeline.violations``)."""
    offers = {offer for book in books.values() for _, offer, _, _ in book["timeline"]}
    return replay({("", market.value): book for market, book in books.items()}, dict.fromkeys(offers, stock))


async def test_no_marketplace_ever_shows_more_than_the_pool(
    sqlite_url: str, tmp_path: Path, world: SandboxWorld
) -> None:
    rt, keys = await connected_partner(sqlite_url, tmp_path, world, skus=4, stock=STOCK)
    desks = OrderDesks(world, keys)
    try:
        await run_job(rt, "stock.sync")
        for n, market in enumerate(Marketplace):
            # ~200 orders a listing a day at 200 marketplace seconds a wall second, 1 in 10 cancelled.
            await desks.flow(market, per_day=200.0, cancel_share=0.1, ship_after=3600.0, seed=100 + n)
        started = time.monotonic()
        placed = 0
        while placed < ENOUGH_ORDERS and time.monotonic() - started < WALL_LIMIT_S:
            await run_job(rt, "orders.sync")  # reads every feed, queues and runs the stock push
            books = {m: await desks.book(m) for m in Marketplace}
            placed = sum(len(b["orders"]) for b in books.values())
        for market in Marketplace:
            await desks.flow(market, per_day=0.0)
        books = {m: await desks.book(m) for m in Marketplace}
        placed = sum(len(b["orders"]) for b in books.values())
        assert placed >= ENOUGH_ORDERS, f"only {placed} orders in {WALL_LIMIT_S} s"
        assert violations(books, STOCK) == []
        # The check is not vacuous: showing the whole pool everywhere would have been caught.
        assert violations({m: {"timeline": [[0.0, "X", "shown", STOCK]]} for m in Marketplace}, STOCK) == []
        assert (
            violations(
                {
                    Marketplace.WILDBERRIES: {
                        "timeline": [[0.0, "X", "shown", STOCK], [1.0, "X", "order", 1]]
                    },
                    Marketplace.OZON: {"timeline": [[0.0, "X", "shown", STOCK]]},
                },
                STOCK,
            )
            != []
        )
    finally:
        await desks.aclose()
        await rt.aclose()
        await rt.engine.dispose()
