"""Inventory sync: one stock pool per partner SKU, split across its marketplaces, pushed and verified.

Each ``stock.sync`` job covers one partner. Sales velocity per listing comes from the marketplaces'
own order feeds (last 14 days); ``domain.allocation.allocate`` sizes a buffer per marketplace from
velocity × sync delay and never publishes more than the pool's *available* units — ``Product.stock``
less what open orders hold (``orders``, the ``orders`` table). Only quantities that differ from what the
marketplace shows (``Listing.stock_pushed``) are pushed: one bulk call per marketplace, read back, and
any difference recorded on the push and reported.

Crash safety: a push row is written ``pushing`` before the call and settled after the read-back. A
run that dies in between (a killed worker, a lost lease) leaves it ``pushing``; the next run of the
partner first reads those listings back from the marketplace and records what it finds —
``confirmed`` when the push landed, ``not_applied`` (with what the marketplace holds) when it did not —
and sets ``stock_pushed`` to the marketplace's figure, then decides what to push. No row stays
``pushing`` past the partner's next run; ``planned`` is left to dry runs.

A read-back lower than the push by exactly the units of orders placed since the push began is the
marketplace selling, not a failed push: the order feed is read to tell (``orders.intake_market``).

Buffers scale with the partner's ``stock_buffer_factor`` (the allocator's ``k``). A listing whose card
is not on its marketplace yet (``card_push.cards_not_live``) takes no share of the pool and gets no
push: its task ends ``skipped`` "waiting for its card (…)"; the first sync after the card lands
publishes it. Each marketplace call's outcome is recorded on the account (``account_health``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from aimanager.connectors.base import StockUpdate
from aimanager.db.models import Listing, Product, StockPush
from aimanager.domain.allocation import AllocationPolicy, Channel, StockPool, allocate, oversell_report
from aimanager.domain.enums import Capability, Marketplace
from aimanager.errors import AIManagerError, ConnectorError
from aimanager.jobs import Job, PermanentFailure, Retry
from aimanager.logs import get_logger
from aimanager.pipelines.capabilities.card_push import cards_not_live
from aimanager.pipelines.capabilities.orders import intake_market, reserved_units
from aimanager.pipelines.services.account_health import record_account_use
from aimanager.pipelines.services.partner_settings import stock_buffer_factor
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
# An item the marketplace turned away for pace, not for what it is (Ozon: one update per pair per
# 30 s): tried again after this, never a refusal someone has to look at. The Ozon connector itself
# resends such a pair after the window (``ozon.limits.STOCK_PACE_RESENDS``); one reaching here was
# refused that many times over, and the job's attempts bound the rest.
PACE_RETRY_S = 35.0
_PACE_CODES = ("TOO_MANY_REQUESTS", "RATE_LIMIT", "LIMIT_EXCEEDED")


def paced_out(code: str) -> bool:
    """A per-item error that says "too often", which waiting cures."""
    upper = code.upper()
    return any(c in upper for c in _PACE_CODES)


PUSHING = "pushing"

log = get_logger(__name__)


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
    if not rt.dry_run:
        await reconcile(rt, partner_id)
    async with rt.sessions() as session:
        stmt = (
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .where(Listing.partner_id == partner_id, Product.is_active)
        )
        if only:
            stmt = stmt.where(Product.id.in_(only))
        rows = (await session.execute(stmt)).all()
        held = await reserved_units(session, sorted({p.id for _, p in rows}))
        no_card = await cards_not_live(session, partner_id, rows)
        policy = AllocationPolicy(safety_factor=await stock_buffer_factor(session, partner_id, rt.settings))
    by_product: dict[int, list[Listing]] = defaultdict(list)
    products: dict[int, Product] = {}
    for listing, product in rows:
        by_product[product.id].append(listing)
        products[product.id] = product
    markets = {Marketplace(li.marketplace) for li, _ in rows}
    velocity = {} if rt.dry_run else await _velocities(rt, partner_id, markets)
    allocations = []
    unchanged: list[tuple[Marketplace, str]] = []
    pushes: list[StockPush] = []
    per_market: dict[Marketplace, list[StockUpdate]] = defaultdict(list)
    async for pid, listings in cooperatively(by_product.items()):
        product = products[pid]
        channels = [
            Channel(
                marketplace=Marketplace(li.marketplace),
                velocity_per_day=velocity.get((product.sku, Marketplace(li.marketplace)), Decimal(0)),
                sync_delay_minutes=SYNC_DELAY_MINUTES[Marketplace(li.marketplace)],
                enabled=li.id not in no_card,  # no card there yet: no share of the pool
            )
            for li in listings
        ]
        pool = StockPool(sku=product.sku, on_hand=max(0, product.stock), reserved=held.get(pid, 0))
        alloc = allocate(pool, channels, policy)
        allocations.append(alloc)
        for li in listings:
            market = Marketplace(li.marketplace)
            if li.id in no_card:
                book.failed(Capability.STOCK, market, product.sku, no_card[li.id], "skipped")
                continue
            qty = alloc.published[market]
            if li.stock_pushed == qty:
                unchanged.append((market, product.sku))  # the marketplace shows it already
                continue
            pushes.append(
                StockPush(
                    partner_id=partner_id,
                    listing_id=li.id,
                    pool=product.stock,
                    buffer=alloc.buffers[market],
                    quantity=qty,
                    status="planned" if rt.dry_run else PUSHING,
                    pushed_at=None if rt.dry_run else rt.now(),
                )
            )
            per_market[market].append(StockUpdate(offer_id=product.sku, quantity=qty))
    # (marketplace, sku) of every listing: the key of pushes, failures and read-back quantities.
    listing_key = {li.id: (Marketplace(li.marketplace), products[li.product_id].sku) for li, _ in rows}
    for key in unchanged:
        book.done(Capability.STOCK, *key)
    if rt.dry_run:
        for p in pushes:
            book.done(Capability.STOCK, *listing_key[p.listing_id])
    started = rt.now()
    async with rt.sessions() as session, session.begin():
        session.add_all(pushes)
        if rt.dry_run or not pushes:
            await book.write(session)
    risks = [f"{a.sku}@{r.marketplace.value}: {r.reason}" for a in allocations for r in a.risks]
    if rt.dry_run or not pushes:
        book.publish(rt.progress)
        label = "planned" if rt.dry_run else "pushed"
        return {label: len(pushes), "unchanged": len(unchanged), "oversell_risks": len(risks)}
    failed: dict[tuple[Marketplace, str], str] = {}
    confirmed: dict[tuple[Marketplace, str], int] = {}
    for market, updates in per_market.items():
        conn = await rt.connectors.get(partner_id, market)
        try:
            report = await conn.update_stocks(updates)
            levels = await conn.read_stocks([u.offer_id for u in updates])
        except ConnectorError as exc:  # the account shows it; the next run settles the rows (reconcile)
            async with rt.sessions() as session, session.begin():
                await record_account_use(session, partner_id, market, str(exc))
            raise
        for e in report.failed:
            failed[(market, e.offer_id)] = f"{e.code}: {e.message}"
        for level in levels:
            key = (market, level.offer_id)
            confirmed[key] = confirmed.get(key, 0) + level.quantity
    sold = await _sold_since(rt, partner_id, per_market, confirmed, started)
    mismatches = 0
    now = rt.now()
    products_of = {li.id: li.product_id for li, _ in rows}
    refused: dict[int, str] = {}  # product id → the marketplace's refusal
    paced: dict[int, str] = {}  # product id → turned away for pace (retried, not refused)
    unconfirmed: dict[int, str] = {}  # product id → what the read-back showed
    async with rt.sessions() as session, session.begin():
        for market in per_market:  # each answered (per-item refusals included): the account works
            await record_account_use(session, partner_id, market, None)
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
                target = paced if paced_out(failed[key].split(":", 1)[0]) else refused
                target[products_of[push.listing_id]] = f"{key[1]}@{key[0].value}: {failed[key]}"
                continue
            stored.confirmed_quantity = confirmed.get(key)
            if stored.confirmed_quantity == stored.quantity:
                stored.status = "confirmed"
                live.stock_pushed = stored.quantity
                book.done(Capability.STOCK, *key)
            elif stored.confirmed_quantity == stored.quantity - sold.get(key, 0):
                # Landed, then buyers took some (their orders are in the pool now).
                stored.status = "confirmed"
                stored.error = f"{sold[key]} sold since the push"
                live.stock_pushed = stored.confirmed_quantity
                book.done(Capability.STOCK, *key)
            else:
                mismatches += 1
                stored.status = "mismatch"
                stored.error = f"read back {stored.confirmed_quantity}, pushed {stored.quantity}"
                book.failed(Capability.STOCK, *key, stored.error)
                unconfirmed[products_of[push.listing_id]] = f"{key[1]}@{key[0].value}: {stored.error}"
        await book.write(session)
    book.publish(rt.progress)
    _raise_problems(job, refused, unconfirmed, paced)
    return {
        "unchanged": len(unchanged),
        "pushed": len(pushes) - len(failed),
        "failed": len(failed),
        "mismatches": mismatches,
        "oversell_risks": len(oversell_report(allocations)),
        "risk_examples": risks[:5],
    }


def _raise_problems(
    job: Job, refused: dict[int, str], unconfirmed: dict[int, str], paced: dict[int, str] | None = None
) -> None:
    """Stock that did not land fails the job, naming the listings; its payload keeps only their
    products. A read-back that disagrees may be the marketplace catching up, and an item turned away
    for pace needs only a wait: both are retried (the later of the two delays). A refusal needs someone
    to look: the job ends failed (with pace-limited items beside it, the job retries those and the
    refused ones stay failed tasks, each retryable with ``aimanager tasks retry``)."""
    paced = paced or {}
    if not refused and not unconfirmed and not paced:
        return
    if paced or (unconfirmed and not refused):
        later = {**unconfirmed, **paced}
        reasons = list(later.values())
        delay = PACE_RETRY_S if paced and not unconfirmed else MISMATCH_RETRY_S
        note = (
            f"; {len(refused)} refused (failed tasks): {bounded(list(refused.values()))}" if refused else ""
        )
        raise Retry(
            f"{len(reasons)} stock update(s) to try again: {bounded(reasons)}{note}",
            delay=delay,
            payload={**job.payload, "product_ids": sorted(later)},
        )
    reasons = [*refused.values(), *unconfirmed.values()]
    payload = {**job.payload, "product_ids": sorted({*refused, *unconfirmed})}
    raise PermanentFailure(
        f"{len(reasons)} stock update(s) not confirmed: {bounded(reasons)}", payload=payload
    )


async def _sold_since(
    rt: Runtime,
    partner_id: int,
    per_market: dict[Marketplace, list[StockUpdate]],
    confirmed: dict[tuple[Marketplace, str], int],
    started: datetime,
) -> dict[tuple[Marketplace, str], int]:
    """Units ordered since ``started`` per (marketplace, SKU), read from the order feed of each
    marketplace whose read-back came back lower than the push (and only those)."""
    short = {
        m
        for m, updates in per_market.items()
        for u in updates
        if confirmed.get((m, u.offer_id), 0) < u.quantity
    }
    out: dict[tuple[Marketplace, str], int] = defaultdict(int)
    for market in short:
        try:
            got = await intake_market(rt, partner_id, market)
        except AIManagerError as exc:  # the read-back then stands as it is: a mismatch, retried
            log.warning(
                "stock.sold_since_unknown", partner_id=partner_id, marketplace=market.value, error=str(exc)
            )
            continue
        for sku, ordered_at, units in got.new_units:
            if ordered_at >= started - timedelta(seconds=1):
                out[(market, sku)] += units
    return out


async def reconcile(rt: Runtime, partner_id: int) -> int:
    """Settle the partner's pushes an earlier run left ``pushing``: read each listing back and record
    what the marketplace holds (``confirmed`` or ``not_applied``); returns how many were settled."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(StockPush.id, Listing.marketplace, Product.sku)
                .join(Listing, Listing.id == StockPush.listing_id)
                .join(Product, Product.id == Listing.product_id)
                .where(StockPush.partner_id == partner_id, StockPush.status == PUSHING)
            )
        ).all()
    if not rows:
        return 0
    held: dict[tuple[Marketplace, str], int] = {}
    for market in {Marketplace(m) for _, m, _ in rows}:
        conn = await rt.connectors.get(partner_id, market)
        skus = sorted({sku for _, m, sku in rows if m == market.value})
        for level in await conn.read_stocks(skus):
            held[(market, level.offer_id)] = held.get((market, level.offer_id), 0) + level.quantity
    async with rt.sessions() as session, session.begin():
        pushes = await load_by_id(session, StockPush, (pid for pid, _, _ in rows))
        listings = await load_by_id(session, Listing, (p.listing_id for p in pushes.values()))
        where = {pid: (Marketplace(m), sku) for pid, m, sku in rows}
        for pid, push in pushes.items():
            if push.status != PUSHING:
                continue  # settled meanwhile by the run that made it
            found = held.get(where[pid], 0)
            push.confirmed_quantity = found
            if found == push.quantity:
                push.status, push.error = "confirmed", "settled after an interrupted run"
            else:
                push.status = "not_applied"
                push.error = f"interrupted run: the marketplace holds {found}, not {push.quantity}"
            listing = listings.get(push.listing_id)
            if listing is not None:
                listing.stock_pushed = found
    log.info("stock.reconciled", partner_id=partner_id, pushes=len(rows))
    return len(rows)
