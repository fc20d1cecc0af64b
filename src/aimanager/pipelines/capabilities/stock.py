"""Inventory sync: one stock pool per partner SKU, split across its marketplaces, pushed and verified.

Each ``stock.sync`` job covers one partner. Sales velocity per listing comes from the marketplaces'
own order feeds (last 14 days); ``domain.allocation.allocate`` sizes a buffer per marketplace from
velocity × sync delay and never publishes more than the pool. Quantities go out in one bulk call per
marketplace, are read back, and any difference is recorded on the push and reported.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from aimanager.connectors.base import StockUpdate
from aimanager.db.models import Listing, Product, StockPush
from aimanager.domain.allocation import Channel, StockPool, allocate, oversell_report
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Job, PermanentFailure, Retry
from aimanager.pipelines.services.runtime import Runtime, cooperatively, load_by_id
from aimanager.pipelines.services.tasks import TaskBook, bounded

# Minutes between our push and the marketplace showing it (plus our own sync period).
SYNC_DELAY_MINUTES = {
    Marketplace.WILDBERRIES: Decimal(15),
    Marketplace.OZON: Decimal(30),
    Marketplace.YANDEX: Decimal(15),
    Marketplace.UZUM: Decimal(30),
}
VELOCITY_DAYS = 14
# A read-back that disagrees with what was pushed is looked at again after this long (marketplaces
# apply stock asynchronously; a second disagreement after the retries ends the job failed).
MISMATCH_RETRY_S = 60.0


async def _velocities(
    rt: Runtime, partner_id: int, markets: set[Marketplace]
) -> dict[tuple[str, Marketplace], Decimal]:
    """Units sold per day per (sku, marketplace) over the last two weeks, from each order feed."""
    today = rt.now().date()
    out: dict[tuple[str, Marketplace], Decimal] = defaultdict(Decimal)
    for market in markets:
        for rec in await rt.orders.read(partner_id, market, today - timedelta(days=VELOCITY_DAYS), today):
            if rec.kind.value == "sale":
                out[(rec.offer_id, market)] += Decimal(rec.quantity) / VELOCITY_DAYS
    return out


async def sync(rt: Runtime, job: Job) -> dict[str, Any]:
    """Handler of ``stock.sync``: payload ``{"product_ids"?}`` (default: every active product)."""
    partner_id = int(job.partner_id or 0)
    only = job.payload.get("product_ids")

    book = TaskBook(partner_id, job.id, per_job=True)
    async with rt.sessions() as session:
        stmt = (
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .where(Listing.partner_id == partner_id, Product.is_active)
        )
        if only:
            stmt = stmt.where(Product.id.in_(only))
        rows = (await session.execute(stmt)).all()
    by_product: dict[int, list[Listing]] = defaultdict(list)
    products: dict[int, Product] = {}
    for listing, product in rows:
        by_product[product.id].append(listing)
        products[product.id] = product
    markets = {Marketplace(li.marketplace) for li, _ in rows}
    velocity = {} if rt.dry_run else await _velocities(rt, partner_id, markets)
    allocations = []
    pushes: list[StockPush] = []
    per_market: dict[Marketplace, list[StockUpdate]] = defaultdict(list)
    async for pid, listings in cooperatively(by_product.items()):
        product = products[pid]
        channels = [
            Channel(
                marketplace=Marketplace(li.marketplace),
                velocity_per_day=velocity.get((product.sku, Marketplace(li.marketplace)), Decimal(0)),
                sync_delay_minutes=SYNC_DELAY_MINUTES[Marketplace(li.marketplace)],
            )
            for li in listings
        ]
        alloc = allocate(StockPool(sku=product.sku, on_hand=max(0, product.stock)), channels)
        allocations.append(alloc)
        for li in listings:
            market = Marketplace(li.marketplace)
            qty = alloc.published[market]
            pushes.append(
                StockPush(
                    partner_id=partner_id,
                    listing_id=li.id,
                    pool=product.stock,
                    buffer=alloc.buffers[market],
                    quantity=qty,
                    status="planned",
                )
            )
            per_market[market].append(StockUpdate(offer_id=product.sku, quantity=qty))
    # (marketplace, sku) of every listing: the key of pushes, failures and read-back quantities.
    listing_key = {li.id: (Marketplace(li.marketplace), products[li.product_id].sku) for li, _ in rows}
    if rt.dry_run:
        for p in pushes:
            book.done(Capability.STOCK, *listing_key[p.listing_id])
    async with rt.sessions() as session, session.begin():
        session.add_all(pushes)
        if rt.dry_run:
            await book.write(session)
    risks = [f"{a.sku}@{r.marketplace.value}: {r.reason}" for a in allocations for r in a.risks]
    if rt.dry_run:
        book.publish(rt.progress)
        return {"planned": len(pushes), "oversell_risks": len(risks)}
    failed: dict[tuple[Marketplace, str], str] = {}
    confirmed: dict[tuple[Marketplace, str], int] = {}
    for market, updates in per_market.items():
        conn = await rt.connectors.get(partner_id, market)
        report = await conn.update_stocks(updates)
        for e in report.failed:
            failed[(market, e.offer_id)] = f"{e.code}: {e.message}"
        levels = await conn.read_stocks([u.offer_id for u in updates])
        for level in levels:
            key = (market, level.offer_id)
            confirmed[key] = confirmed.get(key, 0) + level.quantity
    mismatches = 0
    now = rt.now()
    products_of = {li.id: li.product_id for li, _ in rows}
    refused: dict[int, str] = {}  # product id → the marketplace's refusal
    unconfirmed: dict[int, str] = {}  # product id → what the read-back showed
    async with rt.sessions() as session, session.begin():
        stored_pushes = await load_by_id(session, StockPush, (p.id for p in pushes))
        live_listings = await load_by_id(session, Listing, (p.listing_id for p in pushes))
        for push in pushes:
            stored = stored_pushes.get(push.id)
            live = live_listings.get(push.listing_id)
            if stored is None or live is None:
                continue
            key = listing_key[push.listing_id]
            stored.pushed_at = now
            if key in failed:
                stored.status, stored.error = "failed", failed[key]
                book.failed(Capability.STOCK, *key, failed[key])
                refused[products_of[push.listing_id]] = f"{key[1]}@{key[0].value}: {failed[key]}"
                continue
            stored.confirmed_quantity = confirmed.get(key)
            if stored.confirmed_quantity == stored.quantity:
                stored.status = "confirmed"
                live.stock_pushed = stored.quantity
                book.done(Capability.STOCK, *key)
            else:
                mismatches += 1
                stored.status = "mismatch"
                stored.error = f"read back {stored.confirmed_quantity}, pushed {stored.quantity}"
                book.failed(Capability.STOCK, *key, stored.error)
                unconfirmed[products_of[push.listing_id]] = f"{key[1]}@{key[0].value}: {stored.error}"
        await book.write(session)
    book.publish(rt.progress)
    _raise_problems(job, refused, unconfirmed)
    return {
        "pushed": len(pushes) - len(failed),
        "failed": len(failed),
        "mismatches": mismatches,
        "oversell_risks": len(oversell_report(allocations)),
        "risk_examples": risks[:5],
    }


def _raise_problems(job: Job, refused: dict[int, str], unconfirmed: dict[int, str]) -> None:
    """Stock that did not land fails the job, naming the listings; its payload keeps only their
    products. A read-back that disagrees may be the marketplace catching up: retried after a minute.
    A refusal needs someone to look: the job ends failed."""
    if not refused and not unconfirmed:
        return
    reasons = [*refused.values(), *unconfirmed.values()]
    text = bounded(reasons)
    payload = {**job.payload, "product_ids": sorted({*refused, *unconfirmed})}
    message = f"{len(reasons)} stock update(s) not confirmed: {text}"
    if refused:
        raise PermanentFailure(message, payload=payload)
    raise Retry(message, delay=MISMATCH_RETRY_S, payload=payload)
