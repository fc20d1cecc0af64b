"""Pricing (no LLM): decide every listing's price from its unit economics, push the changes in bulk.

Each ``pricing.apply`` job covers one partner on one marketplace. Decisions come from
``domain.pricing.decide_price`` (floor from cost + commission + logistics + margin, ceiling,
competitor signal, change budget); every change is a ``price_changes`` row with its reason, pushed in
one bulk call, and confirmed from the marketplace's answer.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from aimanager.connectors.base import PriceUpdate
from aimanager.connectors.errors import CurrencyNotConfirmed
from aimanager.db.models import Listing, PriceChange, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.money import currency_for
from aimanager.domain.pricing import Fees, PricingInput, decide_price
from aimanager.jobs import Job, PermanentFailure
from aimanager.pipelines.services.runtime import Runtime, cooperatively, load_by_id
from aimanager.pipelines.services.tasks import TaskBook, bounded

DEFAULT_MARGIN = Decimal(10)


async def apply(rt: Runtime, job: Job) -> dict[str, int]:
    """Handler of ``pricing.apply``: payload ``{"marketplace", "listing_ids"?}``."""
    market = Marketplace(job.payload["marketplace"])
    partner_id = int(job.partner_id or 0)
    only = job.payload.get("listing_ids")
    since = rt.now() - timedelta(hours=24)

    book = TaskBook(partner_id, job.id, per_job=True)
    problems: dict[int, str] = {}  # listing id → why its price was not set (the job fails naming them)
    async with rt.sessions() as session:
        stmt = (
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .where(Listing.partner_id == partner_id, Listing.marketplace == market.value, Product.is_active)
        )
        if only:
            stmt = stmt.where(Listing.id.in_(only))
        rows = (await session.execute(stmt)).all()
        recent = (
            (
                await session.execute(
                    select(PriceChange.listing_id).where(
                        PriceChange.partner_id == partner_id,
                        PriceChange.created_at >= since,
                        PriceChange.status != "failed",
                    )
                )
            )
            .scalars()
            .all()
        )
        # Listings whose price the marketplace has confirmed at least once; the others get their
        # price pushed even when it does not change, so the marketplace and the database agree.
        synced = set(
            (
                await session.execute(
                    select(PriceChange.listing_id)
                    .where(PriceChange.partner_id == partner_id, PriceChange.status == "confirmed")
                    .distinct()
                )
            ).scalars()
        )
    changes_24h: dict[int, int] = {}
    for listing_id in recent:
        changes_24h[listing_id] = changes_24h.get(listing_id, 0) + 1
    # Decide outside any transaction (on SQLite an open write transaction holds the one write lock).
    planned: list[tuple[Listing, PriceChange]] = []
    held = broken = 0
    async for listing, product in cooperatively(rows):
        if product.cost_price is None:
            broken += 1
            book.failed(Capability.PRICING, market, product.sku, "needs input: cost price", "needs_input")
            problems[listing.id] = f"{product.sku}: needs input: cost price"
            continue
        decision = decide_price(
            PricingInput(
                cost=product.cost_price,
                fees=Fees(
                    commission_pct=listing.commission_pct or Decimal(0),
                    logistics=listing.logistics_cost or Decimal(0),
                ),
                currency=currency_for(market),
                min_margin_pct=listing.min_margin_pct
                if listing.min_margin_pct is not None
                else DEFAULT_MARGIN,
                current_price=listing.price,
                max_price=listing.max_price,
                competitor_price=listing.competitor_price,
                changes_last_24h=changes_24h.get(listing.id, 0),
            )
        )
        if decision.new_price is None or decision.floor is None:
            broken += 1
            book.failed(Capability.PRICING, market, product.sku, decision.reason)
            problems[listing.id] = f"{product.sku}: {decision.reason}"
            continue
        reason = decision.reason
        if not decision.changed:
            if listing.id in synced:
                held += 1
                book.done(Capability.PRICING, market, product.sku)
                continue
            reason = f"first push to {market.value}: {decision.reason}"
        change = PriceChange(
            partner_id=partner_id,
            listing_id=listing.id,
            old_price=listing.price,
            new_price=decision.new_price,
            floor=decision.floor,
            ceiling=decision.ceiling,
            reason=reason,
            status="planned",
        )
        planned.append((listing, change))
    products = {listing.id: product for listing, product in rows}
    if rt.dry_run or not planned:
        book.done(Capability.PRICING, market, *(products[li.id].sku for li, _ in planned))
    async with rt.sessions() as session, session.begin():
        session.add_all([change for _, change in planned])
        if rt.dry_run or not planned:
            await book.write(session)
    if rt.dry_run or not planned:
        book.publish(rt.progress)
        _raise_problems(job, market, problems)
        return {"changed": len(planned), "held": held, "broken": broken, "pushed": 0}
    currency = currency_for(market)
    updates = [
        PriceUpdate(offer_id=products[li.id].sku, price=ch.new_price, currency=currency) for li, ch in planned
    ]
    try:
        # Shared with any other push to this account in flight (urgent single-SKU requests): one call.
        report = await rt.price_pushes.push((partner_id, market), updates)
        failed = {e.offer_id: f"{e.code}: {e.message}" for e in report.failed}
    except CurrencyNotConfirmed as exc:
        # Nothing was sent: the number would have landed in the wrong money. Someone must say which
        # currency the account settles in (or reprice in it) before these prices can go out.
        failed = {u.offer_id: exc.reason for u in updates}
    now = rt.now()
    async with rt.sessions() as session, session.begin():
        stored_changes = await load_by_id(session, PriceChange, (c.id for _, c in planned))
        live_listings = await load_by_id(session, Listing, (li.id for li, _ in planned))
        for listing, change in planned:
            sku = products[listing.id].sku
            stored = stored_changes.get(change.id)
            live = live_listings.get(listing.id)
            if stored is None or live is None:
                continue
            stored.pushed_at = now
            if sku in failed:
                stored.status, stored.error = "failed", failed[sku]
                book.failed(Capability.PRICING, market, sku, failed[sku])
                problems[listing.id] = f"{sku}: {failed[sku]}"
            else:
                stored.status, stored.confirmed_at = "confirmed", now
                live.price = stored.new_price
                book.done(Capability.PRICING, market, sku)
        await book.write(session)
    book.publish(rt.progress)
    _raise_problems(job, market, problems)
    return {"changed": len(planned), "held": held, "broken": broken, "pushed": len(planned) - len(failed)}


def _raise_problems(job: Job, market: Marketplace, problems: dict[int, str]) -> None:
    """Prices that were not set fail the job, naming them; its payload keeps only their listings, so a
    retry once the cause is fixed redoes just those. The others' prices are stored already."""
    if problems:
        reasons = list(problems.values())
        text = bounded(reasons)
        raise PermanentFailure(
            f"{market.value}: {len(problems)} price(s) not set: {text}",
            payload={**job.payload, "listing_ids": sorted(problems)},
        )
