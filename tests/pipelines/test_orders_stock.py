"""Orders move stock: intake is idempotent, a cancellation releases, a shipment consumes once, and an
order on one marketplace lowers what the others publish — checked in the sandboxes' own state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aimanager.db.models import Listing, MarketplaceOrder, Product, StockPush
from aimanager.domain.enums import Marketplace
from aimanager.jobs import Job, Priority
from aimanager.jobs.model import JobStatus
from aimanager.pipelines.capabilities import stock
from aimanager_lab.environment import SandboxWorld
from tests.pipelines.orders_world import OrderDesks, connected_partner, run_job

pytestmark = pytest.mark.slow
WB, OZ, YM, UZ = Marketplace.WILDBERRIES, Marketplace.OZON, Marketplace.YANDEX, Marketplace.UZUM


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


async def orders_table(rt) -> list[tuple[str, str, str, int, str]]:  # type: ignore[no-untyped-def]
    async with rt.sessions() as session:
        rows = await session.execute(
            select(
                MarketplaceOrder.marketplace,
                MarketplaceOrder.external_id,
                MarketplaceOrder.sku,
                MarketplaceOrder.quantity,
                MarketplaceOrder.state,
            ).order_by(MarketplaceOrder.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def stock_of(rt, sku: str) -> int:  # type: ignore[no-untyped-def]
    async with rt.sessions() as session:
        return int((await session.execute(select(Product.stock).where(Product.sku == sku))).scalar_one())


async def published(rt) -> dict[tuple[Marketplace, str], int | None]:  # type: ignore[no-untyped-def]
    async with rt.sessions() as session:
        rows = await session.execute(
            select(Listing.marketplace, Product.sku, Listing.stock_pushed).join(
                Product, Product.id == Listing.product_id
            )
        )
        return {(Marketplace(m), sku): q for m, sku, q in rows.all()}


async def test_orders_reserve_release_and_ship_once(db_url: str, tmp_path: Path, world: SandboxWorld) -> None:
    rt, keys = await connected_partner(db_url, tmp_path, world, skus=3, stock=8)
    desks = OrderDesks(world, keys)
    try:
        await run_job(rt, "stock.sync")
        before = await published(rt)
        sku = sorted({s for _, s in before})[0]
        shown = {m: desks.shown(m)[sku] for m in Marketplace}
        assert shown == {m: before[(m, sku)] for m in Marketplace}
        assert sum(q or 0 for q in shown.values()) <= 8 and shown[WB]

        # An order on WB: reserved at once, and the other marketplaces drop after one orders.sync
        # (which queues the stock push of that product).
        order = (await desks.place(WB, sku))["order"]
        await run_job(rt, "orders.sync")
        rows = await orders_table(rt)
        assert [(m, e, s, q, st) for m, e, s, q, st in rows if m == WB.value] == [
            (WB.value, str(order["id"]), sku, 1, "reserved")
        ]
        assert await stock_of(rt, sku) == 8  # still on the shelf: held, not gone
        after = await published(rt)
        now_shown = {m: desks.shown(m)[sku] for m in Marketplace}
        assert now_shown == {m: after[(m, sku)] for m in Marketplace}  # the database is the record
        assert sum(q or 0 for q in now_shown.values()) <= 8 - 1
        others = [OZ, YM, UZ]
        assert (
            sum(now_shown[m] or 0 for m in others) < sum(shown[m] or 0 for m in others)
            or shown[WB] - 1 < now_shown[WB]
        )

        # The same feed again: the same rows, no stock moved, nothing pushed.
        async with rt.sessions() as session:
            pushes = (await session.execute(select(func.count()).select_from(StockPush))).scalar()
        await run_job(rt, "orders.sync")
        assert await orders_table(rt) == rows
        async with rt.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(StockPush))).scalar() == pushes

        # Shipped: the unit leaves the stock exactly once, however often the feed is read.
        await desks.settle(WB, order["id"], "shipped")
        await run_job(rt, "orders.sync")
        await run_job(rt, "orders.sync")
        assert await stock_of(rt, sku) == 7
        assert [st for m, _, _, _, st in await orders_table(rt) if m == WB.value] == ["shipped"]

        # Cancelled (on whichever other marketplace shows the SKU): reserved, then released.
        market = next(m for m in (OZ, YM, UZ) if desks.shown(m)[sku])
        other = (await desks.place(market, sku))["order"]
        await run_job(rt, "orders.sync")
        await desks.settle(market, other["id"], "cancelled")
        await run_job(rt, "orders.sync")
        mine = [st for m, e, _, _, st in await orders_table(rt) if (m, e) == (market.value, str(other["id"]))]
        assert mine == ["released"]
        assert await stock_of(rt, sku) == 7
        final = {m: desks.shown(m)[sku] for m in Marketplace}
        assert final == {m: (await published(rt))[(m, sku)] for m in Marketplace}
        assert sum(q or 0 for q in final.values()) <= 7

        # Uzum wants its new orders confirmed: the intake does it.
        uz_sku = next(s for s, q in desks.shown(UZ).items() if q)
        uz_order = (await desks.place(UZ, uz_sku))["order"]
        await run_job(rt, "orders.sync")
        book = {o["id"]: o for o in (await desks.book(UZ))["orders"]}
        assert book[uz_order["id"]]["status"] == "confirmed"
    finally:
        await desks.aclose()
        await rt.aclose()
        await rt.engine.dispose()


class Killed(BaseException):
    """The worker process dying (not an exception a handler could catch and record)."""


class DiesAfterPush:
    """A real connector whose process dies right after the marketplace took the stock update."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def update_stocks(self, stocks: Any) -> Any:
        await self._conn.update_stocks(stocks)
        raise Killed


def stock_job() -> Job:
    return Job(1, "stock.sync", 1, "p1:stock", {}, Priority.HIGH, JobStatus.RUNNING, 0.0, 0.0, 0.0, 1, 3)


async def test_a_push_killed_before_its_record_is_read_back_then_decided(
    sqlite_url: str, tmp_path: Path, world: SandboxWorld
) -> None:
    rt, keys = await connected_partner(sqlite_url, tmp_path, world, skus=3, stock=8)
    desks = OrderDesks(world, keys)
    try:
        real = await rt.connectors.get(1, WB)
        rt.connectors._conns[(1, WB)] = DiesAfterPush(real)  # type: ignore[assignment]
        with pytest.raises(Killed):
            await stock.sync(rt, stock_job())
        async with rt.sessions() as session:
            left = (await session.execute(select(StockPush.status))).scalars().all()
        assert left and set(left) == {"pushing"}  # what a crash leaves: sent (maybe), not recorded
        rt.connectors._conns[(1, WB)] = real
        result = await stock.sync(rt, stock_job())  # the retry after the lease expired
        async with rt.sessions() as session:
            rows = (
                await session.execute(
                    select(StockPush.status, StockPush.error, Listing.marketplace).join(
                        Listing, Listing.id == StockPush.listing_id
                    )
                )
            ).all()
        statuses = [s for s, _, _ in rows]
        assert "pushing" not in statuses and "planned" not in statuses
        # WB's update landed before the "crash": read back and confirmed, not pushed again.
        settled = [(s, e) for s, e, m in rows if m == WB.value and e and "interrupted" in e]
        assert settled and all(s == "confirmed" for s, _ in settled)
        assert result.get("failed", 0) == 0
        db = await published(rt)
        for market in Marketplace:
            assert {sku: q for (m, sku), q in db.items() if m == market} == desks.shown(market), market
    finally:
        await desks.aclose()
        await rt.aclose()
        await rt.engine.dispose()
