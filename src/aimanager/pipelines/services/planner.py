"""The planner: catalog + integrations → tasks → jobs grouped by batch key.

A *task* is what the user counts (partner × marketplace × SKU × capability); a *job* is what the engine
runs. Cards are generated once per product for all its marketplaces, so card jobs hold up to one LLM
pack of products (20) per partner; pricing is one job per partner × marketplace (one bulk push); stock
one job per partner (one pool split across marketplaces); analytics one job per partner; images one
``images.prepare`` job per 20 products of a partner, only for products with a photo that can be fetched
(``domain.images.fetchable``: a file, or an http(s) URL on a real host — the sample catalog's
placeholder URLs are not planned, and the run says how many products were left out). A request for a
few SKUs becomes small jobs at the priority asked (urgent single-SKU changes).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.db.models import Listing, MarketplaceIntegration, Partner, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.images import fetchable
from aimanager.jobs import Backend, EnqueueResult, JobSpec, Priority

CARD_PACK = 20
IMAGES_PER_JOB = 20  # products per images.prepare job (pipelines.capabilities.images)


@dataclass
class Plan:
    """Jobs to enqueue and the tasks they carry, per capability."""

    specs: list[JobSpec] = field(default_factory=list)
    tasks: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    # The same tasks per partner (a run queues some partners' jobs now and others' later).
    tasks_by_partner: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def count(self, partner_id: int, capability: Capability, n: int) -> None:
        """Add ``n`` tasks of ``capability`` for ``partner_id``."""
        self.tasks[capability.value] += n
        self.tasks_by_partner[partner_id][capability.value] += n


async def build_plan(
    sessions: async_sessionmaker[AsyncSession],
    capabilities: Sequence[Capability],
    *,
    partner_ids: Sequence[int] | None = None,
    skus: Sequence[str] | None = None,
    priority: Priority = Priority.MEDIUM,
    card_pack: int = CARD_PACK,
) -> Plan:
    """Plan jobs for ``capabilities`` over the active catalog (optionally some partners or SKUs)."""
    plan = Plan()
    async with sessions() as session:
        pq = select(Partner).where(Partner.is_active)
        if partner_ids:
            pq = pq.where(Partner.id.in_(list(partner_ids)))
        partners = (await session.execute(pq.order_by(Partner.id))).scalars().all()
        integrations = (
            (
                await session.execute(
                    select(MarketplaceIntegration).where(MarketplaceIntegration.active.is_(True))
                )
            )
            .scalars()
            .all()
        )
        lq = (
            select(Listing.id, Listing.partner_id, Listing.marketplace, Product.id)
            .join(Product, Product.id == Listing.product_id)
            .where(Product.is_active)
            .order_by(Product.id)
        )
        if partner_ids:
            lq = lq.where(Listing.partner_id.in_(list(partner_ids)))
        if skus:
            lq = lq.where(Product.sku.in_(list(skus)))
        listing_rows = (await session.execute(lq)).all()
        photos: set[int] = set()
        if Capability.IMAGES in capabilities:
            ids = sorted({row[3] for row in listing_rows})
            for i in range(0, len(ids), 1000):
                found = await session.execute(
                    select(Product.id, Product.images).where(Product.id.in_(ids[i : i + 1000]))
                )
                photos |= {pid for pid, images in found if any(fetchable(str(s)) for s in images or [])}
    connected = {(i.partner_id, Marketplace(i.marketplace)) for i in integrations}
    by_partner: dict[int, list[tuple[int, Marketplace, int]]] = defaultdict(list)
    for listing_id, partner_id, market, product_id in listing_rows:
        m = Marketplace(market)
        if (partner_id, m) in connected:
            by_partner[partner_id].append((listing_id, m, product_id))
        else:
            plan.skipped.append(f"partner {partner_id}: no active {m.value} integration")
    unplanned = 0  # products left out of images: no photo that can be fetched
    for partner in partners:
        rows = by_partner.get(partner.id, [])
        if not rows and Capability.ANALYTICS not in capabilities:
            continue
        _plan_partner(plan, partner.id, rows, capabilities, priority, card_pack, bool(skus))
        if Capability.IMAGES in capabilities:
            unplanned += _plan_images(plan, partner.id, rows, photos, priority, bool(skus))
    if unplanned:
        plan.skipped.append(
            f"images: {unplanned} product(s) have no photo that can be fetched "
            "(images column empty or placeholder URLs)"
        )
    return plan


def _plan_images(
    plan: Plan,
    partner_id: int,
    rows: list[tuple[int, Marketplace, int]],
    photos: set[int],
    priority: Priority,
    narrowed: bool,
) -> int:
    """The partner's ``images.prepare`` jobs (products with a fetchable photo); returns how many of
    its products were left out. Images are the lowest-priority work: a medium run queues them low."""
    products = list(dict.fromkeys(pid for _, _, pid in rows))
    chosen = [pid for pid in products if pid in photos]
    if tasks := sum(1 for _, _, pid in rows if pid in photos):
        plan.count(partner_id, Capability.IMAGES, tasks)
    for i in range(0, len(chosen), IMAGES_PER_JOB):
        plan.specs.append(
            JobSpec(
                "images.prepare",
                {"product_ids": chosen[i : i + IMAGES_PER_JOB]},
                partner_id=partner_id,
                priority=Priority.LOW if priority is Priority.MEDIUM else priority,
                batch_key=f"p{partner_id}:request" if narrowed else f"p{partner_id}:images",
            )
        )
    return len(products) - len(chosen)


def _plan_partner(
    plan: Plan,
    partner_id: int,
    rows: list[tuple[int, Marketplace, int]],
    capabilities: Sequence[Capability],
    priority: Priority,
    card_pack: int,
    narrowed: bool,
) -> None:
    products = list(dict.fromkeys(pid for _, _, pid in rows))

    def key(default: str) -> str:
        # A request for a few SKUs (an operator's urgent repricing) is one unit: its jobs share one
        # batch key, so a single claim starts all of them instead of one claim per marketplace.
        return f"p{partner_id}:request" if narrowed else default

    markets: dict[Marketplace, list[int]] = defaultdict(list)
    for listing_id, market, _ in rows:
        markets[market].append(listing_id)
    if Capability.CARDS in capabilities and products:
        plan.count(partner_id, Capability.CARDS, len(rows))
        for i in range(0, len(products), card_pack):
            plan.specs.append(
                JobSpec(
                    "cards.generate",
                    {"product_ids": products[i : i + card_pack]},
                    partner_id=partner_id,
                    priority=priority,
                    batch_key=key(f"p{partner_id}:cards:generate"),
                )
            )
    if Capability.PRICING in capabilities:
        for market, listing_ids in markets.items():
            plan.count(partner_id, Capability.PRICING, len(listing_ids))
            payload: dict[str, object] = {"marketplace": market.value}
            if narrowed:
                payload["listing_ids"] = listing_ids
            plan.specs.append(
                JobSpec(
                    "pricing.apply",
                    payload,
                    partner_id=partner_id,
                    priority=priority,
                    batch_key=key(f"p{partner_id}:{market.value}:pricing"),
                )
            )
    if Capability.STOCK in capabilities and rows:
        plan.count(partner_id, Capability.STOCK, len(rows))
        payload = {"product_ids": products} if narrowed else {}
        plan.specs.append(
            JobSpec(
                "stock.sync",
                payload,
                partner_id=partner_id,
                priority=priority,
                batch_key=key(f"p{partner_id}:stock"),
            )
        )
    if Capability.ANALYTICS in capabilities and not narrowed:
        plan.count(partner_id, Capability.ANALYTICS, 1)
        plan.specs.append(
            JobSpec(
                "analytics.report",
                {},
                partner_id=partner_id,
                priority=Priority.LOW if priority is Priority.MEDIUM else priority,
                batch_key=f"p{partner_id}:analytics",
            )
        )


async def enqueue_plan(backend: Backend, plan: Plan) -> EnqueueResult:
    """Queue the plan's jobs in bulk."""
    return await backend.enqueue_many(plan.specs)
