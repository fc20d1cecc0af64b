"""Rollback: put a card's or a price's previous version back on a marketplace.

A rollback writes the previous card as a new version (or the previous price as a new change) with
reason "rollback" and queues the normal push job in the same transaction (``review.push_specs``): the
history only grows, and what a marketplace holds is always the newest row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import CardVersion, Listing, PriceChange, Product
from aimanager.domain.enums import Marketplace
from aimanager.jobs import Backend
from aimanager.logs import get_logger
from aimanager.pipelines.services.review import ReviewError, money, push_specs

log = get_logger("aimanager.pipelines.services.review")


async def _listing(
    session: AsyncSession, partner_id: int, sku: str, market: Marketplace
) -> tuple[Listing, Product]:
    row = (
        await session.execute(
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .where(Product.partner_id == partner_id, Product.sku == sku, Listing.marketplace == market.value)
        )
    ).first()
    if row is None:
        raise ReviewError(f"partner {partner_id} has no {sku} on {market.value}")
    return row[0], row[1]


async def rollback_card(
    session: AsyncSession,
    backend: Backend,
    partner_id: int,
    sku: str,
    market: Marketplace,
    to_version: int | None,
) -> CardVersion:
    """The card the marketplace held before the live one (or version ``to_version``) as a new version,
    its push queued. Its input hash is the newest version's, so an unchanged catalog keeps it."""
    listing, product = await _listing(session, partner_id, sku, market)
    versions = (
        (
            await session.execute(
                select(CardVersion)
                .where(CardVersion.product_id == product.id, CardVersion.marketplace == market.value)
                .order_by(CardVersion.version.desc())
            )
        )
        .scalars()
        .all()
    )
    if not versions:
        raise ReviewError(f"{sku} has no card on {market.value}")
    if to_version is not None:
        target = next((v for v in versions if v.version == to_version), None)
        if target is None or not target.content.get("variant"):
            raise ReviewError(f"{sku} on {market.value} has no card version {to_version} to restore")
    else:
        live = next((v for v in versions if v.id == listing.card_version_id), None)
        was_live = [
            v
            for v in versions
            if v.status in ("pushed", "exported")
            and v.content.get("variant")
            and (live is None or v.version < live.version)
        ]
        if not was_live:
            raise ReviewError(f"{sku} on {market.value} has no earlier card that was live (try --to-version)")
        target = was_live[0]
    now = datetime.now(UTC)
    content = {k: v for k, v in target.content.items() if k != "review"}
    restored = CardVersion(
        partner_id=partner_id,
        product_id=product.id,
        marketplace=market.value,
        version=versions[0].version + 1,
        content={
            **content,
            "reason": f"rollback to version {target.version}",
            "rolled_back_at": now.isoformat(),
        },
        model=target.model,
        prompt_version=target.prompt_version,
        input_hash=versions[0].input_hash,
        status="validated",
        validation_errors=[],
    )
    session.add(restored)
    await session.flush()
    await backend.enqueue_many(
        push_specs({(partner_id, market.value): [restored.id]}, {}), conn=await session.connection()
    )
    log.info(
        "review.rollback.card", partner_id=partner_id, sku=sku, marketplace=market.value, to=target.version
    )
    return restored


async def rollback_price(
    session: AsyncSession,
    backend: Backend,
    partner_id: int,
    sku: str,
    market: Marketplace,
    to_change: int | None,
) -> PriceChange:
    """The price before the newest confirmed change (or the price change ``to_change`` set) as a new
    approved change, its push queued."""
    listing, _ = await _listing(session, partner_id, sku, market)
    if to_change is not None:
        target = await session.get(PriceChange, to_change)
        if target is None or target.listing_id != listing.id or target.status != "confirmed":
            raise ReviewError(
                f"price change {to_change} is not a confirmed change of {sku} on {market.value}"
            )
        price, floor = target.new_price, target.floor
        what = f"the price change {to_change} set"
    else:
        last = (
            await session.execute(
                select(PriceChange)
                .where(PriceChange.listing_id == listing.id, PriceChange.status == "confirmed")
                .order_by(PriceChange.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if last is None or last.old_price is None:
            raise ReviewError(f"{sku} on {market.value} has no earlier price to restore")
        price, floor = last.old_price, last.floor
        what = f"the price before change {last.id}"
    was = "—" if listing.price is None else money(listing.price)
    change = PriceChange(
        partner_id=partner_id,
        listing_id=listing.id,
        old_price=listing.price,
        new_price=price,
        floor=floor,
        reason=f"rollback: {was} → {money(price)} ({what})",
        status="approved",
    )
    session.add(change)
    await session.flush()
    await backend.enqueue_many(
        push_specs({}, {(partner_id, market.value): [listing.id]}), conn=await session.connection()
    )
    log.info("review.rollback.price", partner_id=partner_id, sku=sku, marketplace=market.value)
    return change
