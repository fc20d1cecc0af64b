"""Order intake: each marketplace's FBS order feed into the partner's stock pool (job kind ``orders.sync``).

One ``orders.sync`` job covers one partner. For every connected marketplace it reads the order lines
created since the oldest order still open there (or since its last read, with an overlap), then
stores them all in ONE transaction, each line by its identity (partner, marketplace, order id, SKU):

* a new line is inserted ``reserved`` (or as the feed says); its units stop being available to any
  marketplace at once (``available = Product.stock − reserved``);
* ``reserved → shipped`` takes the units off ``Product.stock``; ``reserved → released`` gives them back;
  the change of state is a conditional ``UPDATE … WHERE state = 'reserved'``, so two workers reading
  the same feed move a line once, and the stock changes in the same transaction as the state;
* reading the same feed again changes nothing (``domain.orders.move``).

A new line also lowers the listing's ``stock_pushed`` by its units: the marketplace took them off what
it shows, and the next stock push compares its allocation with what the marketplace now shows.

When any product's available units changed, the same transaction queues a ``stock.sync`` of those
products at high priority: the other marketplaces drop within one sync period. Uzum wants its new
orders confirmed (``ConfirmsOrders``): they are, after the commit. A line for an offer that is not in
the catalog is kept (product unknown) and its task says so (``needs_input``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.connectors.base import ConfirmsOrders, OrderEvent
from aimanager.db.models import Listing, MarketplaceIntegration, MarketplaceOrder, Product, StockPush
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.orders import OrderState, move
from aimanager.errors import AIManagerError
from aimanager.jobs import Job, JobSpec, Priority, Retry
from aimanager.logs import get_logger
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.tasks import TaskBook, bounded

log = get_logger(__name__)

ORDERS_KIND = "orders.sync"
# Re-read this much before the last read: a feed may list an order a little after its creation time.
OVERLAP = timedelta(minutes=30)
# The first read of an account looks back this far; open orders older than that are not followed.
FIRST_LOOKBACK = timedelta(days=3)
MAX_LOOKBACK = timedelta(days=30)
_CHUNK = 400


@dataclass
class Intake:
    """What one marketplace's lines did to the pool."""

    seen: int = 0
    new: int = 0
    shipped: int = 0
    released: int = 0
    products: set[int] = field(default_factory=set)  # whose available units changed
    to_confirm: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # Units of the new lines per SKU with the time they were ordered (stock read-backs use them).
    new_units: list[tuple[str, datetime, int]] = field(default_factory=list)


async def read_since(session: AsyncSession, partner_id: int, market: Marketplace, now: datetime) -> datetime:
    """Where the next read of ``market``'s feed starts: the oldest open order, or the last read minus
    the overlap, never further back than ``MAX_LOOKBACK``."""
    where = (MarketplaceOrder.partner_id == partner_id, MarketplaceOrder.marketplace == market.value)
    oldest_open, last = (
        await session.execute(
            select(
                func.min(MarketplaceOrder.ordered_at).filter(
                    MarketplaceOrder.state == OrderState.RESERVED.value
                ),
                func.max(MarketplaceOrder.updated_at),
            ).where(*where)
        )
    ).one()
    if last is None:
        return now - FIRST_LOOKBACK
    candidates = [last - OVERLAP] + ([oldest_open] if oldest_open is not None else [])
    return max(min(candidates), now - MAX_LOOKBACK)


def _merge(lines: list[OrderEvent]) -> dict[tuple[str, str], OrderEvent]:
    """One line per (order, SKU): a posting listing an offer twice is one line of their units."""
    out: dict[tuple[str, str], OrderEvent] = {}
    for line in lines:
        key = (line.order_id, line.offer_id)
        if key in out:
            line = line.model_copy(update={"quantity": out[key].quantity + line.quantity})
        out[key] = line
    return out


async def record_lines(
    session: AsyncSession, partner_id: int, market: Marketplace, lines: list[OrderEvent], now: datetime
) -> Intake:
    """Store ``lines`` in the caller's transaction and move the stock they take (see the module doc)."""
    got = Intake()
    merged = _merge(lines)
    if not merged:
        return got
    skus = sorted({sku for _, sku in merged})
    products: dict[str, int] = {}
    listings: dict[int, Listing] = {}
    last_push: dict[int, datetime] = {}
    for start in range(0, len(skus), _CHUNK):
        rows = await session.execute(
            select(Product.sku, Product.id).where(
                Product.partner_id == partner_id, Product.sku.in_(skus[start : start + _CHUNK])
            )
        )
        products.update({sku: pid for sku, pid in rows.all()})
    if products:
        found = await session.execute(
            select(Listing).where(
                Listing.partner_id == partner_id,
                Listing.marketplace == market.value,
                Listing.product_id.in_(list(products.values())),
            )
        )
        listings = {li.product_id: li for li in found.scalars()}
        # When each listing's quantity was last confirmed: an order placed before that was already
        # overwritten by the push, and must not lower ``stock_pushed`` again.
        pushed = await session.execute(
            select(StockPush.listing_id, func.max(StockPush.pushed_at))
            .where(
                StockPush.listing_id.in_([li.id for li in listings.values()]), StockPush.status == "confirmed"
            )
            .group_by(StockPush.listing_id)
        )
        last_push = {lid: at for lid, at in pushed.all() if at is not None}
    first = (
        await session.execute(
            select(func.min(MarketplaceOrder.created_at)).where(
                MarketplaceOrder.partner_id == partner_id, MarketplaceOrder.marketplace == market.value
            )
        )
    ).scalar()
    # The first read of an account only learns its history: what shipped before is out of the
    # seller's count already, whatever dates the feed gives it.
    tracking_since = first if first is not None else datetime.max.replace(tzinfo=UTC)
    ids = sorted({oid for oid, _ in merged})
    stored: dict[tuple[str, str], MarketplaceOrder] = {}
    for start in range(0, len(ids), _CHUNK):
        found_orders = await session.execute(
            select(MarketplaceOrder).where(
                MarketplaceOrder.partner_id == partner_id,
                MarketplaceOrder.marketplace == market.value,
                MarketplaceOrder.external_id.in_(ids[start : start + _CHUNK]),
            )
        )
        stored.update({(o.external_id, o.sku): o for o in found_orders.scalars()})
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stock_moves: dict[int, int] = defaultdict(int)
    for (order_id, sku), line in merged.items():
        got.seen += 1
        product_id = products.get(sku)
        row = stored.get((order_id, sku))
        was = OrderState(row.state) if row is not None else None
        mv = move(was, line.state, line.quantity, ordered_at=line.ordered_at, tracking_since=tracking_since)
        if row is None:
            inserted = (
                await session.execute(
                    insert(MarketplaceOrder)
                    .values(
                        partner_id=partner_id,
                        marketplace=market.value,
                        external_id=order_id,
                        sku=sku,
                        product_id=product_id,
                        quantity=line.quantity,
                        state=mv.state.value,
                        marketplace_status=line.status[:64],
                        ordered_at=line.ordered_at,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(
                        index_elements=["partner_id", "marketplace", "external_id", "sku"]
                    )
                    .returning(MarketplaceOrder.id)
                )
            ).scalar()
            if inserted is None:
                continue  # another worker stored it a moment ago; the next read applies any change
            got.new += 1
            if product_id is None:
                got.unknown.append(sku)
            else:
                # Even a line cancelled before we saw it took its units off what the marketplace
                # shows when it was placed: the next push puts back what the pool allows.
                got.products.add(product_id)
                got.new_units.append((sku, line.ordered_at, line.quantity))
                listing = listings.get(product_id)
                if (
                    listing is not None
                    and listing.stock_pushed is not None
                    and line.ordered_at > last_push.get(listing.id, line.ordered_at - timedelta(seconds=1))
                ):
                    listing.stock_pushed = max(0, listing.stock_pushed - line.quantity)
            if mv.state is OrderState.RESERVED and line.status in CONFIRM_STATUSES:
                got.to_confirm.append(order_id)
        elif mv.changed:
            moved = await session.execute(
                update(MarketplaceOrder)
                .where(MarketplaceOrder.id == row.id, MarketplaceOrder.state == row.state)
                .values(state=mv.state.value, marketplace_status=line.status[:64], updated_at=now)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                continue  # moved by another worker in the meantime: once is enough
            if row.product_id is not None:
                got.products.add(row.product_id)
        else:
            if row.marketplace_status != line.status[:64]:
                row.marketplace_status, row.updated_at = line.status[:64], now
            if was is OrderState.RESERVED and line.status in CONFIRM_STATUSES:
                got.to_confirm.append(order_id)
            continue
        if mv.state is OrderState.SHIPPED:
            got.shipped += 1
        elif mv.state is OrderState.RELEASED:
            got.released += 1
        target = product_id if row is None else row.product_id
        if mv.stock_delta and target is not None:
            stock_moves[target] += mv.stock_delta
    for pid, delta in stock_moves.items():
        # Relative to the stored value: a catalog import or another line moved in parallel is kept.
        await session.execute(update(Product).where(Product.id == pid).values(stock=Product.stock + delta))
    return got


# Status words of an order the seller still has to confirm (Uzum's new FBS orders).
CONFIRM_STATUSES = frozenset({"CREATED"})


async def reserved_units(session: AsyncSession, product_ids: list[int]) -> dict[int, int]:
    """Units the open orders hold, per product."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(MarketplaceOrder.product_id, func.sum(MarketplaceOrder.quantity))
        .where(
            MarketplaceOrder.product_id.in_(product_ids),
            MarketplaceOrder.state == OrderState.RESERVED.value,
        )
        .group_by(MarketplaceOrder.product_id)
    )
    return {int(pid): int(units or 0) for pid, units in rows.all() if pid is not None}


async def intake_market(rt: Runtime, partner_id: int, market: Marketplace) -> Intake:
    """Read ``market``'s feed and store it in one transaction, with the stock push its changes need."""
    async with rt.sessions() as session:
        since = await read_since(session, partner_id, market, rt.now())
    conn = await rt.connectors.get(partner_id, market)
    lines = await conn.read_order_lines(since)
    async with rt.sessions() as session, session.begin():
        got = await record_lines(session, partner_id, market, lines, rt.now())
        if got.products and not rt.dry_run:
            await rt.backend.enqueue_many(
                [push_spec(partner_id, got.products)], conn=await session.connection()
            )
        return got


def push_spec(partner_id: int, product_ids: set[int] | list[int]) -> JobSpec:
    """The stock push of products whose available units changed (high priority: an order on one
    marketplace must lower the others within one sync period)."""
    return JobSpec(
        "stock.sync",
        {"product_ids": sorted(product_ids)},
        partner_id=partner_id,
        priority=Priority.HIGH,
        batch_key=f"p{partner_id}:stock",
    )


async def sync(rt: Runtime, job: Job) -> dict[str, Any]:
    """Handler of ``orders.sync``: payload ``{"marketplaces"?: [..], "push"?: bool}`` (default: every
    connected marketplace; queue the stock push)."""
    partner_id = int(job.partner_id or 0)
    wanted = job.payload.get("marketplaces")
    async with rt.sessions() as session:
        q = select(MarketplaceIntegration.marketplace).where(
            MarketplaceIntegration.partner_id == partner_id, MarketplaceIntegration.active.is_(True)
        )
        markets = [Marketplace(m) for m in (await session.execute(q)).scalars()]
        if wanted:
            markets = [m for m in markets if m.value in wanted]
        starts = {m: await read_since(session, partner_id, m, rt.now()) for m in markets}
    read: dict[Marketplace, list[OrderEvent]] = {}
    errors: list[str] = []
    for market in markets:
        try:
            conn = await rt.connectors.get(partner_id, market)
            read[market] = await conn.read_order_lines(starts[market])
        except AIManagerError as exc:  # one marketplace down must not hold up the others' orders
            errors.append(f"{market.value}: {type(exc).__name__}: {exc}")
    book = TaskBook(partner_id, job.id)
    results: dict[Marketplace, Intake] = {}
    async with rt.sessions() as session, session.begin():
        for market, lines in read.items():
            got = results[market] = await record_lines(session, partner_id, market, lines, rt.now())
            for sku in got.unknown:
                book.failed(
                    Capability.STOCK, market, sku, "an order names an offer not in the catalog", "needs_input"
                )
        changed = sorted(set().union(*(r.products for r in results.values())))
        if changed and job.payload.get("push", True) and not rt.dry_run:
            await rt.backend.enqueue_many([push_spec(partner_id, changed)], conn=await session.connection())
        await book.write(session)
    book.publish(rt.progress)
    confirmed = await _confirm(rt, partner_id, results, errors)
    summary = {
        "lines": sum(r.seen for r in results.values()),
        "new": sum(r.new for r in results.values()),
        "shipped": sum(r.shipped for r in results.values()),
        "released": sum(r.released for r in results.values()),
        "products_changed": len(changed),
        "confirmed": confirmed,
    }
    log.info("orders.synced", partner_id=partner_id, **summary)
    if errors:
        raise Retry(f"order feed not read: {bounded(errors)}")
    return summary


async def _confirm(
    rt: Runtime, partner_id: int, results: dict[Marketplace, Intake], errors: list[str]
) -> int:
    """Confirm the new orders of the marketplaces that want it (after the lines are stored: a crash
    in between is confirmed by the next read, which still sees them ``CREATED``)."""
    done = 0
    for market, got in results.items():
        if not got.to_confirm or rt.dry_run:
            continue
        conn = await rt.connectors.get(partner_id, market)
        if not isinstance(conn, ConfirmsOrders):
            continue
        try:
            report = await conn.confirm_orders(sorted(set(got.to_confirm)))
        except AIManagerError as exc:
            errors.append(f"{market.value} confirm: {type(exc).__name__}: {exc}")
            continue
        done += len(report.accepted)
        for e in report.failed:
            log.warning(
                "orders.confirm_refused", partner_id=partner_id, marketplace=market.value, order=e.offer_id
            )
    return done


def orders_spec(partner_id: int, priority: Priority = Priority.HIGH) -> JobSpec:
    """The ``orders.sync`` job of one partner (what a schedule or a webhook queues)."""
    return JobSpec(
        ORDERS_KIND, {}, partner_id=partner_id, priority=priority, batch_key=f"p{partner_id}:orders"
    )
