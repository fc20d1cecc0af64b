"""Settling price pushes whose outcome was never recorded (the worker died between push and record).

``pricing.apply`` writes each change as ``pushed`` *before* it sends it, and records ``confirmed`` or
``failed`` from the marketplace's answer. A crash in between leaves a ``pushed`` row whose price the
marketplace may or may not hold. Before a job decides anything for a partner's marketplace it settles
those rows here: it reads the prices back (``read_prices``: WB's goods list, Ozon's v5 price read, YM's
business prices; Uzum through its product list) — the price is there: ``confirmed`` and the listing's
price follows; it is not and the push is older than ``IN_FLIGHT_S``: ``failed`` (not applied); younger:
left alone, another worker may still be sending it. A marketplace that keeps whole units (WB) shows the
price rounded half-up: that is the price applied. Where a connector has no price read, the same price is
sent again (a repeated price is a no-op on every marketplace; WB answers "already set") and recorded
from that answer. Only the newest unsettled
change of a listing is settled this way; older ones are ``failed`` as superseded. A ``planned`` row
(from before this protocol, never marked sent) is ``failed`` as not sent. No row stays open.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, select

from aimanager.connectors.base import PriceUpdate
from aimanager.connectors.errors import CurrencyNotConfirmed
from aimanager.db.models import Listing, PriceChange, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.money import currency_for
from aimanager.logs import get_logger
from aimanager.pipelines.services.runtime import Runtime, load_by_id
from aimanager.pipelines.services.tasks import TaskBook

log = get_logger("aimanager.pipelines.capabilities.price_reconcile")
# A push younger than this whose price is not on the marketplace yet may still be in flight in another
# worker (a bulk call waiting for its rate limit): left for a later look rather than called failed.
IN_FLIGHT_S = 120.0
# Dry runs record their decisions as planned rows with this error: they were never meant to be sent.
DRY_RUN_NOTE = "dry run: decided, not sent"


async def read_prices(conn: Any, offer_ids: Sequence[str]) -> dict[str, Decimal] | None:
    """The selling price the marketplace holds per offer, or None where the connector has no read.

    A connector that offers ``read_prices(offer_ids) -> {offer_id: Decimal}`` is used as is; Uzum's
    product list carries each SKU's selling price."""
    reader = getattr(conn, "read_prices", None)
    if callable(reader):
        return dict(await reader(list(offer_ids)))
    if callable(getattr(conn, "read_products", None)) and callable(getattr(conn, "offer_id_of", None)):
        wanted = set(offer_ids)
        seen: dict[str, Decimal] = {}
        for product in await conn.read_products():
            for sku in product.skuList:
                offer = conn.offer_id_of(sku)
                if offer in wanted and sku.price is not None:
                    seen[offer] = Decimal(sku.price)
        return seen
    return None


async def reconcile(
    rt: Runtime, partner_id: int, market: Marketplace, only: Sequence[int] | None, book: TaskBook
) -> set[int]:
    """Settle the partner's open price changes on ``market`` (optionally some listings); returns the
    listings whose change may still be in flight (the caller decides nothing for them now)."""
    async with rt.sessions() as session:
        stmt = (
            select(PriceChange, Listing, Product)
            .join(Listing, Listing.id == PriceChange.listing_id)
            .join(Product, Product.id == Listing.product_id)
            .where(
                PriceChange.partner_id == partner_id,
                Listing.marketplace == market.value,
                or_(
                    PriceChange.status == "pushed",
                    (PriceChange.status == "planned") & PriceChange.error.is_(None),
                ),
            )
            .order_by(PriceChange.id)
        )
        if only:
            stmt = stmt.where(PriceChange.listing_id.in_(list(only)))
        rows = (await session.execute(stmt)).all()
    if not rows:
        return set()
    now = rt.now()
    verdict: dict[int, tuple[str, str | None]] = {}  # change id → (status, error)
    newest: dict[int, tuple[PriceChange, Product]] = {}
    for change, listing, product in rows:
        if change.status == "planned":
            verdict[change.id] = ("failed", "not sent: the job stopped before its push")
            continue
        if listing.id in newest:
            verdict[newest[listing.id][0].id] = ("failed", f"superseded by change {change.id}")
        newest[listing.id] = (change, product)
    in_flight: set[int] = set()
    if newest and not rt.dry_run:
        conn = await rt.connectors.get(partner_id, market)
        seen = await read_prices(conn, [p.sku for _, p in newest.values()])
        if seen is None:
            verdict |= await _send_again(rt, partner_id, market, list(newest.values()))
        else:
            for listing_id, (change, product) in newest.items():
                held = seen.get(product.sku)
                age = (now - change.pushed_at).total_seconds() if change.pushed_at else IN_FLIGHT_S
                if held is not None and _applied(held, change.new_price):
                    verdict[change.id] = ("confirmed", None)
                elif age >= IN_FLIGHT_S:
                    shown = "no price" if held is None else f"{held.normalize():f}"
                    verdict[change.id] = (
                        "failed",
                        f"not applied: {market.value} shows {shown} after the push",
                    )
                else:
                    in_flight.add(listing_id)
    async with rt.sessions() as session, session.begin():
        stored = await load_by_id(session, PriceChange, verdict)
        listings = await load_by_id(session, Listing, (li.id for _, li, _ in rows))
        skus = {c.id: p.sku for c, _, p in rows}
        for change_id, (status, error) in verdict.items():
            row = stored.get(change_id)
            if row is None or row.status not in ("pushed", "planned"):
                continue  # settled meanwhile by the job that sent it
            row.status, row.error = status, error
            if status == "confirmed":
                row.confirmed_at = now
                if (live := listings.get(row.listing_id)) is not None:
                    live.price = row.new_price
                book.done(Capability.PRICING, market, skus[change_id])
    counts = {s: sum(1 for v in verdict.values() if v[0] == s) for s in ("confirmed", "failed")}
    log.info(
        "pricing.reconciled",
        partner_id=partner_id,
        marketplace=market.value,
        in_flight=len(in_flight),
        **counts,
    )
    return in_flight


def _applied(held: Decimal, sent: Decimal) -> bool:
    """The marketplace holds the price sent: exactly, or rounded to whole units (WB takes integers)."""
    return held == sent or held == sent.quantize(Decimal(1), ROUND_HALF_UP)


async def _send_again(
    rt: Runtime, partner_id: int, market: Marketplace, open_rows: list[tuple[PriceChange, Product]]
) -> dict[int, tuple[str, str | None]]:
    """No price read on this marketplace: the unsettled prices are sent again and recorded from the
    answer (setting a price it holds already changes nothing)."""
    currency = currency_for(market)
    updates = [PriceUpdate(offer_id=p.sku, price=c.new_price, currency=currency) for c, p in open_rows]
    try:
        report = await rt.price_pushes.push((partner_id, market), updates)
        failed = {e.offer_id: f"{e.code}: {e.message}" for e in report.failed}
    except CurrencyNotConfirmed as exc:
        failed = {u.offer_id: exc.reason for u in updates}
    return {c.id: ("failed", failed[p.sku]) if p.sku in failed else ("confirmed", None) for c, p in open_rows}
